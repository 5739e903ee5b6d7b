"""logit / ordinal_logit against R glm, svyglm and MASS::polr; safe formula rewriting."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from analysis_data import read_api

import survey as sv
from survey.analysis.models import rewrite_formula
from survey.errors import AnalysisError

REL = 1e-6


def test_unweighted_glm_matches_r(svyglm_ref):
    # R: glm(sch.wide ~ ell + meals, data = apiclus1, family = binomial(),
    #        control = glm.control(epsilon = 1e-14, maxit = 100))
    v = svyglm_ref["unweighted/glm/logit/sch.wide~ell+meals"]
    m = sv.logit(read_api("apiclus1"), "sch.wide ~ ell + meals")
    t = m.to_frame()
    assert list(t.columns) == ["term", "estimate", "se", "statistic", "p_value", "odds_ratio",
                               "ci_low", "ci_high"]
    np.testing.assert_allclose(t["estimate"], v["coefficients"], rtol=REL)
    np.testing.assert_allclose(t["se"], v["se"], rtol=REL)
    np.testing.assert_allclose(t["statistic"], v["z_value"], rtol=REL)
    np.testing.assert_allclose(t["p_value"], v["p_value"], rtol=REL)
    np.testing.assert_allclose(t["odds_ratio"], np.exp(v["coefficients"]), rtol=REL)
    assert "P(sch.wide = Yes)" in m.notes[0]


def test_glm_with_factor(apisrs, extra):
    # R: glm(sch.wide ~ stype + api00, data = apisrs, family = binomial(), control = glm.control(epsilon = 1e-14))
    v = extra["glm/apisrs/sch.wide~stype+api00"]
    t = sv.logit(apisrs, "sch.wide ~ stype + api00").to_frame()
    assert t["term"].tolist() == ["Intercept", "stype[T.H]", "stype[T.M]", "api00"]
    np.testing.assert_allclose(t["estimate"], v["estimate"], rtol=REL)
    np.testing.assert_allclose(t["se"], v["se"], rtol=REL)
    np.testing.assert_allclose(t["p_value"], v["p"], rtol=REL)


def test_svyglm_design_based_se(svyglm_ref):
    # R: svyglm(sch.wide ~ ell + meals, design = dstrat, family = quasibinomial(),
    #           control = glm.control(epsilon = 1e-14, maxit = 100))
    v = svyglm_ref["dstrat/svyglm/logit/sch.wide~ell+meals"]
    df = read_api("apistrat")
    s = sv.Survey.from_frame(df, weight="pw", strata="stype", fpc="fpc")
    t = sv.logit(s, "sch.wide ~ ell + meals").to_frame()
    np.testing.assert_allclose(t["estimate"], v["coefficients"], rtol=REL)
    np.testing.assert_allclose(t["se"], v["se"], rtol=REL)
    np.testing.assert_allclose(t["statistic"], v["t_value"], rtol=REL)
    np.testing.assert_allclose(t["p_value"], v["p_value"], rtol=REL)


def test_polr(apisrs, extra):
    # R: polr(size ~ api00 + meals, data = apisrs, Hess = TRUE) with
    #    size <- cut(enroll, c(0, 300, 600, 1000, 10000), ordered_result = TRUE); SEs from the
    #    rescaled refit polr(size ~ I(api00/100) + I(meals/10)) (polr's own Hessian is poor here)
    v = extra["polr/apisrs/size~api00+meals/rescaled"]
    df = apisrs.assign(size=pd.cut(apisrs["enroll"], [0, 300, 600, 1000, 10000], ordered=True))
    t = sv.ordinal_logit(df, "size ~ api00 + meals").to_frame()
    assert t["term"].tolist()[:2] == ["api00", "meals"]
    assert t["term"].iloc[2] == "(0, 300]|(300, 600]"
    # numerical optimisation and Hessians on both sides: 1e-5
    np.testing.assert_allclose(t["estimate"], v["estimate"], rtol=1e-5)
    np.testing.assert_allclose(t["se"], v["se"], rtol=1e-5)
    assert t["odds_ratio"].iloc[2:].isna().all()


def test_formula_names_with_dots_and_chinese():
    rng = np.random.default_rng(5)
    n = 300
    rank = pd.Categorical(rng.choice(["科級", "副縣處級", "縣處級"], n), categories=["科級", "副縣處級", "縣處級"])
    x = rng.normal(size=n)
    eta = -0.3 + 0.8 * x + np.where(rank == "副縣處級", 0.7, 0.0)
    y = rng.random(n) < 1 / (1 + np.exp(-eta))
    df = pd.DataFrame({"needs.it": pd.Categorical(np.where(y, "是", "否"), categories=["否", "是"]),
                       "年齡 z": x, "職級": rank})
    m = sv.logit(df, "needs.it ~ C(職級) + 年齡 z")
    terms = m.to_frame()["term"].tolist()
    assert terms == ["Intercept", "C(職級)[T.副縣處級]", "C(職級)[T.縣處級]", "年齡 z"]
    assert "P(needs.it = 是)" in m.notes[0]


def test_rewrite_formula_is_textual():
    cols = ["sch.wide", "a.b", "x"]
    assert rewrite_formula("sch.wide ~ a.b + x", cols) == 'Q("sch.wide") ~ Q("a.b") + x'
    # names inside string literals are not touched; nothing is evaluated
    assert rewrite_formula("x ~ C(x, Treatment('a.b'))", cols) == "x ~ C(x, Treatment('a.b'))"
    assert rewrite_formula('y ~ Q("a.b")', cols) == 'y ~ Q("a.b")'


def test_errors(apisrs):
    with pytest.raises(AnalysisError, match="response 'sch.wid' is not in the data"):
        sv.logit(apisrs, "sch.wid ~ api00")
    with pytest.raises(AnalysisError, match="must have two categories; found 3"):
        sv.logit(apisrs, "stype ~ api00")
    with pytest.raises(AnalysisError, match="formula must look like 'response ~ term"):
        sv.logit(apisrs, "sch.wide api00")


def test_labels_in_requested_language():
    class Q:
        def var_info(self, name, language=None):
            if name != "rank":
                return None
            cats = ("科級", "處級") if language != "en" else ("Section", "Division")
            return sv.VarInfo(name="rank", label="職級", kind="single", categories=cats,
                              codes=("s", "d"), columns=("rank",))

    rng = np.random.default_rng(2)
    n = 200
    rank = pd.Categorical(rng.choice(["科級", "處級"], n), categories=["科級", "處級"])
    x = rng.normal(size=n)
    y = pd.Categorical(np.where(rng.random(n) < 0.5, "b", "a"), categories=["a", "b"])
    z = pd.Categorical(rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"], ordered=True)
    s = sv.Survey(data=pd.DataFrame({"y": y, "z": z, "rank": rank, "x": x}), questionnaire=Q())
    assert sv.logit(s, "y ~ C(rank) + x").to_frame()["term"][1] == "C(rank)[T.處級]"
    assert sv.logit(s, "y ~ C(rank) + x", language="en").to_frame()["term"][1] == "C(rank)[T.Division]"
    o = sv.ordinal_logit(s, "z ~ C(rank) + x", language="en").to_frame()["term"].tolist()
    assert o == ["C(rank)[T.Division]", "x", "lo|mid", "mid|hi"]


def test_svyolr_point_estimates_and_sandwich(apisrs, extra):
    # R: svyolr(size ~ api00 + meals, dsrs): dsrs has equal weights, so the coefficients are
    # polr's (R values: polr(size ~ api00 + meals, data = apisrs)); the covariance is the
    # design sandwich - checked against statsmodels' HC0 sandwich of the unweighted fit times
    # n/(n-1) (1 - n/N) (independent; 2% because R's Hessian is a finite difference, step 1e-3).
    # svyolr runs optim's BFGS with its default reltol, which stops short of the optimum that
    # polr(control = list(reltol = 1e-14)) reaches: here (api00 ~ 600, unscaled) by up to 1e-4
    # relative - R's own behaviour, which ordinal_logit reproduces (exact R values:
    # tests/analysis/test_r_printed_reference.py::test_svyolr_matches_r_printed_output).
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    v = extra["polr/apisrs/size~api00+meals"]
    df = apisrs.assign(size=pd.cut(apisrs["enroll"], [0, 300, 600, 1000, 10000], ordered=True))
    s = sv.Survey.from_frame(df, weight="pw", fpc="fpc")
    t = sv.ordinal_logit(s, "size ~ api00 + meals").to_frame()
    np.testing.assert_allclose(t["estimate"], v["estimate"], rtol=2e-4)
    # tol = optim's reltol: 1e-14 runs R's path on to polr(reltol = 1e-14)'s optimum
    t14 = sv.ordinal_logit(s, "size ~ api00 + meals", tol=1e-14).to_frame()
    np.testing.assert_allclose(t14["estimate"], v["estimate"], rtol=1e-6)
    y = df["size"].cat.codes.to_numpy()
    res = OrderedModel(y, df[["api00", "meals"]].to_numpy(), distr="logit").fit(
        method="bfgs", disp=False, maxiter=5000, cov_type="HC0")
    n, N = len(df), float(df["fpc"].iloc[0])
    hc0 = np.sqrt(np.diag(res.cov_params())[:2] * n / (n - 1) * (1 - n / N))
    np.testing.assert_allclose(t["se"].iloc[:2], hc0, rtol=2e-2)
    assert "svyolr" in sv.ordinal_logit(s, "size ~ api00 + meals").method


def test_svyolr_weights_are_frequency_weights_for_the_estimates(apisrs):
    # integer weights w: the weighted MLE equals the unweighted fit on rows repeated w times
    rng = np.random.default_rng(8)
    df = apisrs.assign(size=pd.cut(apisrs["enroll"], [0, 300, 600, 1000, 10000], ordered=True),
                       w=rng.integers(1, 4, len(apisrs)).astype(float))
    s = sv.Survey.from_frame(df, weight="w")
    t = sv.ordinal_logit(s, "size ~ I(api00 / 100) + I(meals / 10)").to_frame()
    # (both fitted along R svyolr's path: same objective, same start, so the same stopping point)
    big = df.loc[df.index.repeat(df["w"].astype(int))].reset_index(drop=True).assign(w=1.0)
    u = sv.ordinal_logit(sv.Survey.from_frame(big, weight="w"),
                         "size ~ I(api00 / 100) + I(meals / 10)").to_frame()
    np.testing.assert_allclose(t["estimate"], u["estimate"], rtol=1e-7)


def test_svyolr_on_replicate_weights_refits_every_replicate():
    # R svyolr.svyrep.design: polr refitted under each replicate's weights, svrVar of (b, zeta).
    # Independent check: a bootstrap replicate of an equally weighted sample weighs each row
    # by (its draw count) x n/(n-1), so its fit is statsmodels OrderedModel (R polr's
    # parameterisation) on the rows repeated by their draw counts; variance 1/(R-1) sum (.)^2
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    rng = np.random.default_rng(5)
    n = 80
    x = rng.normal(size=n)
    y = np.digitize(0.9 * x + rng.logistic(size=n), [-0.8, 0.7])
    df = pd.DataFrame({"y": pd.Categorical.from_codes(y, list("abc"), ordered=True), "x": x,
                       "w": 1.0})
    rep = sv.as_replicate(sv.Survey.from_frame(df, weight="w"), "bootstrap", replicates=12,
                          seed=3)
    got = sv.ordinal_logit(rep, "y ~ x")
    W = rep.design_info().replicate.weights
    draws = np.rint(W * (n - 1) / n).astype(int)

    def polr(counts):
        m = OrderedModel(np.repeat(y, counts), np.repeat(x, counts)[:, None], distr="logit")
        with warnings.catch_warnings():  # statsmodels' own flag; the score is checked instead
            warnings.simplefilter("ignore")
            fit = m.fit(method="newton", disp=False, maxiter=100, tol=1e-10)
        assert np.abs(m.score(fit.params)).max() < 1e-7  # at the maximum
        p = np.asarray(fit.params)
        return np.concatenate([p[:1], np.cumsum([p[1], np.exp(p[2])])])

    full = polr(np.ones(n, int))
    reps = np.array([polr(draws[:, r]) for r in range(W.shape[1])])
    V = (reps - reps.mean(0)).T @ (reps - reps.mean(0)) / (W.shape[1] - 1)
    t = got.to_frame()
    # R's polr stops at optim's default reltol, ~1e-5 short of the exact maxima used here
    np.testing.assert_allclose(t.estimate, full, rtol=1e-4)
    np.testing.assert_allclose(t.se, np.sqrt(np.diag(V)), rtol=1e-3)
    assert got.converged and any("refitted under each replicate" in s for s in got.notes)


def test_ordinal_logit_tol_is_for_the_design_fit(apisrs):
    df = apisrs.assign(size=pd.cut(apisrs["enroll"], [0, 300, 600, 1000, 10000], ordered=True))
    with pytest.raises(sv.AnalysisError, match="tol= is the reltol of R svyolr's optimiser"):
        sv.ordinal_logit(df, "size ~ api00 + meals", tol=1e-10)
