"""Design-based estimates and tests against R's survey package (4.1.1), 1e-6 relative.

Reference values: tests/data/reference/{design_based,svychisq,svyglm}.json (R scripts in the
shared reference set) and design_multistage.json (tests/reference_r/design_multistage.R).
Each assertion quotes the R call it reproduces.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import survey as sv
from survey.analysis._design_models import svyglm_vcov
from survey.analysis._design_tests import design_ttest, rao_scott_tests
from survey.core.survey import Survey, category_codes

DATA = Path(__file__).resolve().parents[1] / "data" / "reference"
RTOL = 1e-6
FACTORS = ["stype", "sch.wide", "comp.imp", "both", "awards", "yr.rnd"]


def load(name: str) -> pd.DataFrame:
    d = pd.read_csv(DATA / f"{name}.csv", dtype={"cds": str})
    for c in FACTORS:
        d[c] = pd.Categorical(d[c], categories=sorted(d[c].dropna().unique()))
    return d


def results(name: str) -> dict:
    return {r["id"]: r["values"] for r in json.loads((DATA / name).read_text())["results"]}


def _vals(x):
    return list(x.values()) if isinstance(x, dict) else x


def close(actual, expected, rtol=RTOL, atol=0.0):
    actual, expected = _vals(actual), _vals(expected)
    a, e = np.asarray(actual, float), np.asarray(expected, float)
    if a.size == e.size:
        e = e.reshape(a.shape)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


DESIGNS = {
    # dstrat = svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)
    "dstrat": lambda: Survey.from_frame(load("apistrat"), strata="stype", weight="pw", fpc="fpc"),
    # dclus1 = svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)
    "dclus1": lambda: Survey.from_frame(load("apiclus1"), psu="dnum", weight="pw", fpc="fpc"),
    # dsrs = svydesign(id=~1, weights=~pw, data=apisrs, fpc=~fpc)
    "dsrs": lambda: Survey.from_frame(load("apisrs"), weight="pw", fpc="fpc"),
}


def _clus2f():
    d = load("apiclus2")
    d["f1"] = 40 / d["fpc1"]
    d["f2"] = d.groupby("dnum")["dnum"].transform("size") / d["fpc2"]
    return d


MULTI = {
    # dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
    "dclus2": lambda: Survey.from_frame(load("apiclus2"), psu=["dnum", "snum"],
                                        fpc=["fpc1", "fpc2"]),
    # dclus2w <- svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2, data = apiclus2)
    "dclus2w": lambda: Survey.from_frame(load("apiclus2"), psu=["dnum", "snum"],
                                         fpc=["fpc1", "fpc2"], weight="pw"),
    # dclus2_nofpc <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
    "dclus2_nofpc": lambda: Survey.from_frame(load("apiclus2"), psu=["dnum", "snum"], weight="pw"),
    # dclus2_frac <- svydesign(id = ~dnum + snum, fpc = ~f1 + f2, data = apiclus2f)  (fractions)
    "dclus2_frac": lambda: Survey.from_frame(_clus2f(), psu=["dnum", "snum"], fpc=["f1", "f2"]),
    # dstrat_nest <- svydesign(id = ~dnum, strata = ~stype, weights = ~pw, data = apistrat, nest = TRUE)
    "dstrat_nest": lambda: Survey.from_frame(load("apistrat"), psu="dnum", strata="stype",
                                             weight="pw", nest=True),
}


@pytest.fixture(scope="module")
def based():
    return results("design_based.json")


@pytest.fixture(scope="module")
def multi():
    return results("design_multistage.json")


# --- single-stage designs (design_based.json) -------------------------------------------
@pytest.mark.parametrize("dn", list(DESIGNS))
@pytest.mark.parametrize("var", ["api00", "enroll"])
def test_mean_total_match_r(based, dn, var):
    s = DESIGNS[dn]()
    # svymean(~api00, dstrat, deff = TRUE)  /  confint(svymean(...))  (normal quantile)
    r = based[f"{dn}/svymean/{var}"]
    e = sv.mean(s, var)
    close(e.estimate, r["estimate"][var])
    close(e.se, r["se"])
    close(e.deff, r["deff"][var])
    close([e.ci_low, e.ci_high], r["confint_normal_95"]["values"][0])
    # svytotal(~api00, dstrat, deff = TRUE)
    r = based[f"{dn}/svytotal/{var}"]
    e = sv.total(s, var)
    close(e.estimate, r["estimate"][var])
    close(e.se, r["se"])
    close(e.deff, r["deff"][var])
    close([e.ci_low, e.ci_high], r["confint_normal_95"]["values"][0])


@pytest.mark.parametrize("dn", list(DESIGNS))
def test_design_df(dn):
    # degf(dstrat) = 197, degf(dclus1) = 14, degf(dsrs) = 199
    assert sv.mean(DESIGNS[dn](), "api00").df == {"dstrat": 197, "dclus1": 14, "dsrs": 199}[dn]


@pytest.mark.parametrize("dn", list(DESIGNS))
def test_proportions_match_svymean_factor(based, dn):
    s = DESIGNS[dn]()
    # svymean(~stype, dclus1)
    r = based[f"{dn}/svymean/stype"]
    e = sv.proportions(s, "stype")
    assert list(e.to_frame()["category"]) == ["E", "H", "M"]
    close(e.estimate.to_numpy(), list(r["estimate"].values()))
    close(e.se.to_numpy(), list(r["se"].values()), atol=1e-12)  # dstrat: SE 0 by design
    close(e.vcov, r["vcov"]["values"], atol=1e-14)
    # svytotal(~stype, dclus1): totals are the weighted counts
    rt = based[f"{dn}/svytotal/stype"]
    close(e.to_frame()["n_weighted"], list(rt["estimate"].values()))


@pytest.mark.parametrize("dn", list(DESIGNS))
@pytest.mark.parametrize("stat", ["svymean", "svytotal"])
def test_domains_match_svyby(based, dn, stat):
    s = DESIGNS[dn]()
    # svyby(~api00, ~stype, dclus1, svymean, deff = TRUE, covmat = TRUE)
    r = based[f"{dn}/svyby/api00_by_stype/{stat}"]
    e = (sv.mean if stat == "svymean" else sv.total)(s, "api00", by="stype")
    f = e.to_frame()
    assert list(f["by_category"]) == r["by"]
    close(f["estimate"], r["estimate"])
    close(f["se"], r["se"])
    close(f["deff"], r["deff"])
    close(e.vcov, r["vcov"]["values"], atol=1e-9 * np.abs(r["vcov"]["values"]).max())


@pytest.mark.parametrize("dn", list(DESIGNS))
def test_ratio_matches_svyratio(based, dn):
    # svyratio(~api.stu, ~enroll, dstrat)
    r = based[f"{dn}/svyratio/api.stu_over_enroll"]
    e = sv.ratio(DESIGNS[dn](), "api.stu", "enroll")
    close([e.estimate, e.se], [r["estimate"], r["se"]])


@pytest.mark.parametrize("dn", list(DESIGNS))
def test_proportion_ci_matches_svyciprop_logit(based, dn):
    # svyciprop(~I(sch.wide == "Yes"), dclus1, method = "logit")   (t with degf)
    r = based[f"{dn}/svyciprop/sch.wide_yes/logit"]
    row = sv.proportions(DESIGNS[dn](), "sch.wide").to_frame().iloc[1]
    assert row["category"] == "Yes"
    # R's estimate comes from an IRLS fit (~1e-9, README §3); the SE and CI are closed form
    close([row["estimate"], row["se"]], [r["estimate"], r["se"]])
    close([row["ci_low"], row["ci_high"]], r["ci_95"])
    assert row["df"] == r["df_used"]


@pytest.mark.parametrize("dn", list(DESIGNS))
def test_quantile_matches_svyquantile(based, dn):
    # svyquantile(~api00, dsrs, quantiles = c(0.25, 0.5, 0.75), qrule = "math",
    #             interval.type = "mean", ci = TRUE, se = TRUE)
    r = based[f"{dn}/svyquantile/api00/qrule=math/interval=mean"]
    f = sv.quantile(DESIGNS[dn](), "api00", q=[0.25, 0.5, 0.75]).to_frame()
    close(f["estimate"], r["estimate"])
    close(f["ci_low"], r["ci_lower"])
    close(f["ci_high"], r["ci_upper"])
    close(f["se"], r["se"])
    assert (f["df"] == r["df_used"]).all()


@pytest.mark.parametrize("dn", list(DESIGNS))
def test_design_ttest_matches_svyttest(based, dn):
    # svyttest(api00 ~ sch.wide, dclus1)
    r = based[f"{dn}/svyttest/api00~sch.wide"]
    t = design_ttest(DESIGNS[dn](), "api00", "sch.wide")
    close([t["statistic"], t["p_value"], t["estimate"]],
          [r["statistic"]["t"], r["p_value"], r["estimate"]["difference in mean"]])
    close([t["ci_low"], t["ci_high"]], r["conf_int"])
    assert t["df"] == r["parameter"]["df"]


# --- svychisq ------------------------------------------------------------------------------
@pytest.mark.parametrize("dn", ["dstrat", "dsrs"])
@pytest.mark.parametrize("col", ["stype", "comp.imp"])
def test_rao_scott_matches_svychisq(dn, col):
    ref = results("svychisq.json")
    s = DESIGNS[dn]()
    a, ia = category_codes(s, "sch.wide")
    b, ib = category_codes(s, col)
    t = rao_scott_tests(s, a, b, len(ia.categories), len(ib.categories))
    assert list(t.columns) == ["statistic", "df", "df_denom", "p_value"]
    # svychisq(~sch.wide + stype, dstrat, statistic = "F")
    r = ref[f"{dn}/svychisq/~sch.wide + {col}/F"]
    close(t.loc["rao_scott_f", ["statistic", "df", "df_denom", "p_value"]],
          [r["statistic"]["F"], r["parameter"]["ndf"], r["parameter"]["ddf"], r["p_value"]])
    # svychisq(~sch.wide + stype, dstrat, statistic = "Chisq")
    r = ref[f"{dn}/svychisq/~sch.wide + {col}/Chisq"]
    close(t.loc["rao_scott_chisq", ["statistic", "df", "p_value"]],
          [r["statistic"]["X-squared"], r["parameter"]["df"], r["p_value"]])
    # svychisq(..., statistic = "Wald") and statistic = "adjWald"
    for name, st in [("wald", "Wald"), ("adj_wald", "adjWald")]:
        r = ref[f"{dn}/svychisq/~sch.wide + {col}/{st}"]
        close(t.loc[name, ["statistic", "df", "df_denom", "p_value"]],
              [r["statistic"]["F"], r["parameter"]["ndf"], r["parameter"]["ddf"], r["p_value"]])


def test_rao_scott_missing_codes_keep_design():
    s = DESIGNS["dstrat"]()
    a, _ = category_codes(s, "sch.wide")
    b, _ = category_codes(s, "stype")
    b2 = b.copy()
    b2[:10] = -1  # missing: excluded like na.rm, design kept
    t1 = rao_scott_tests(s, a, b, 2, 3)
    t2 = rao_scott_tests(s, a, b2, 2, 3)
    assert t2.loc["rao_scott_f", "df_denom"] / t2.loc["rao_scott_f", "df"] == 197
    assert t1.loc["rao_scott_f", "statistic"] != t2.loc["rao_scott_f", "statistic"]


# --- svyglm sandwich ------------------------------------------------------------------------
def _fit_logit(s, formula_terms):
    import statsmodels.api as smapi

    d = s.data
    X = np.column_stack([np.ones(len(d))] + [d[t].to_numpy(float) for t in formula_terms])
    y = (d["sch.wide"] == "Yes").to_numpy(float)
    w = s.weights / s.weights.mean()
    fit = smapi.GLM(y, X, family=smapi.families.Binomial(), var_weights=w).fit(tol=1e-14,
                                                                               maxiter=100)
    return X, y, fit


def test_svyglm_vcov_matches_converged_svyglm():
    # svyglm(sch.wide ~ ell + meals, design = dstrat, family = quasibinomial(),
    #        control = glm.control(epsilon = 1e-14, maxit = 100))
    r = results("svyglm.json")["dstrat/svyglm/logit/sch.wide~ell+meals"]
    s = DESIGNS["dstrat"]()
    X, y, fit = _fit_logit(s, ["ell", "meals"])
    V, df = svyglm_vcov(s, X, y, fit.params, fit.fittedvalues)
    close(fit.params, r["coefficients"], rtol=1e-8)
    close(np.sqrt(np.diag(V)), r["se"])
    close(V, r["vcov"]["values"])
    assert df == r["df_residual"] == 195


@pytest.mark.parametrize("dn", ["dclus2", "dclus2_nofpc", "dstrat_nest"])
def test_svyglm_vcov_multistage(multi, dn):
    # svyglm(sch.wide ~ ell + meals, design = dclus2, family = quasibinomial(),
    #        control = glm.control(epsilon = 1e-14, maxit = 100))
    r = multi[f"svyglm(sch.wide ~ ell + meals, design = {dn}, family = quasibinomial(), "
              "control = glm.control(epsilon = 1e-14, maxit = 100))"]
    s = MULTI[dn]()
    X, y, fit = _fit_logit(s, ["ell", "meals"])
    V, df = svyglm_vcov(s, X, y, fit.params, fit.fittedvalues)
    close(fit.params, r["coefficients"], rtol=1e-8)
    close(np.sqrt(np.diag(V)), r["se"])
    assert df == r["df_residual"]


# --- multi-stage, fractions, nest (design_multistage.json) ----------------------------------
@pytest.mark.parametrize("dn", list(MULTI))
def test_multistage_mean_total(multi, dn):
    s = MULTI[dn]()
    for stat, fn, var, extra in [("svymean", sv.mean, "api00", ""),
                                 ("svytotal", sv.total, "api00", ""),
                                 ("svymean", sv.mean, "enroll", ", na.rm = TRUE"),
                                 ("svytotal", sv.total, "enroll", ", na.rm = TRUE")]:
        # e.g. svymean(~enroll, dclus2, na.rm = TRUE, deff = TRUE)
        r = multi[f"{stat}(~{var}, {dn}{extra}, deff = TRUE)"]
        e = fn(s, var)
        close([e.estimate, e.se], [r["estimate"][var], r["se"][0]])
        close(e.deff, r["deff"][var])


def test_multistage_degf_and_fpc_weights(multi):
    # degf(dclus2) = 39; sum(weights(dclus2)) = 5128.675 (weights from fpc1 * fpc2 / (n1 n2))
    s = MULTI["dclus2"]()
    d = s.design_info()
    assert d.degf == multi_degf(multi, "dclus2") == 39
    close(s.weights.sum(), 5128.675)
    close(s.weights, load("apiclus2")["pw"].to_numpy())


@pytest.mark.parametrize("dn", list(MULTI))
def test_multistage_domains_props_ratio(multi, dn):
    s = MULTI[dn]()
    # svymean(~stype, dclus2, deff = TRUE)
    r = multi[f"svymean(~stype, {dn}, deff = TRUE)"]
    e = sv.proportions(s, "stype")
    close(e.estimate.to_numpy(), list(r["estimate"].values()))
    close(e.se.to_numpy(), r["se"])
    close(e.deff.to_numpy(), list(r["deff"].values()))
    # svyratio(~api.stu, ~enroll, dclus2, na.rm = TRUE)
    r = multi[f"svyratio(~api.stu, ~enroll, {dn}, na.rm = TRUE)"]
    e = sv.ratio(s, "api.stu", "enroll")
    close([e.estimate, e.se], [r["estimate"]["api.stu/enroll"], r["se"]["api.stu/enroll"]])
    # svyby(~api00, ~stype, dclus2, svymean, deff = TRUE, covmat = TRUE)
    r = multi[f"svyby(~api00, ~stype, {dn}, svymean, deff = TRUE, covmat = TRUE)"]
    e = sv.mean(s, "api00", by="stype")
    close(e.estimate.to_numpy(), r["estimate"])
    close(e.se.to_numpy(), r["se"])
    close(e.deff.to_numpy(), r["deff"])
    close(e.vcov, r["vcov"]["values"])
    # svyby(~enroll, ~stype, dclus2, svytotal, na.rm = TRUE, deff = TRUE)
    r = multi[f"svyby(~enroll, ~stype, {dn}, svytotal, na.rm = TRUE, deff = TRUE)"]
    e = sv.total(s, "enroll", by="stype")
    close(e.estimate.to_numpy(), r["estimate"])
    close(e.se.to_numpy(), r["se"])
    close(e.deff.to_numpy(), r["deff"])


@pytest.mark.parametrize("dn", list(MULTI))
def test_multistage_ciprop_quantile_ttest(multi, dn):
    s = MULTI[dn]()
    # svyciprop(~I(sch.wide == "Yes"), dclus2, method = "logit")
    r = multi[f'svyciprop(~I(sch.wide == "Yes"), {dn}, method = "logit")']
    row = sv.proportions(s, "sch.wide").to_frame().iloc[1]
    close([row["estimate"], row["se"], row["ci_low"], row["ci_high"]],
          [r["estimate"], r["se"], *r["ci"]])
    # svyquantile(~api00, dclus2, quantiles = c(0.25, 0.5, 0.75), ci = TRUE, se = TRUE)
    r = multi[f"svyquantile(~api00, {dn}, quantiles = c(0.25, 0.5, 0.75), ci = TRUE, se = TRUE)"]
    f = sv.quantile(s, "api00", q=[0.25, 0.5, 0.75]).to_frame()
    close(f["estimate"], r["estimate"])
    close(f["ci_low"], r["ci_lower"])
    close(f["ci_high"], r["ci_upper"])
    close(f["se"], r["se"])
    # svyttest(api00 ~ sch.wide, dclus2)
    r = multi[f"svyttest(api00 ~ sch.wide, {dn})"]
    t = design_ttest(s, "api00", "sch.wide")
    close([t["statistic"], t["df"], t["p_value"], t["estimate"], t["ci_low"], t["ci_high"]],
          [r["statistic"], r["df"], r["p_value"], r["estimate"], *r["conf_int"]])


@pytest.mark.parametrize("dn", list(MULTI))
def test_multistage_svychisq(multi, dn):
    s = MULTI[dn]()
    a, _ = category_codes(s, "sch.wide")
    b, _ = category_codes(s, "stype")
    t = rao_scott_tests(s, a, b, 2, 3)
    for name, st in [("rao_scott_f", "F"), ("rao_scott_chisq", "Chisq"), ("wald", "Wald"),
                     ("adj_wald", "adjWald")]:
        # svychisq(~sch.wide + stype, dclus2, statistic = "F")
        r = multi[f'svychisq(~sch.wide + stype, {dn}, statistic = "{st}")']
        close([t.loc[name, "statistic"], t.loc[name, "p_value"]], [r["statistic"], r["p_value"]])
        par = r["parameter"]
        close(t.loc[name, "df"], par.get("ndf", par.get("df")))
        if "ddf" in par:
            close(t.loc[name, "df_denom"], par["ddf"])


@pytest.mark.parametrize("opt", ["adjust", "average", "remove", "certainty"])
def test_lonely_psu_options(multi, opt):
    # options(survey.lonely.psu = 'adjust'); d <- svydesign(id = ~1, strata = ~stype,
    #   weights = ~pw, data = lonely); svymean(~api00, d); svytotal(~enroll, d)
    r = multi[f"lonely/{opt}"]
    s = Survey.from_frame(load("apistrat_lonely"), strata="stype", weight="pw", lonely_psu=opt)
    m, t = sv.mean(s, "api00"), sv.total(s, "enroll")
    close([m.estimate, m.se, t.estimate, t.se],
          [r["mean"], r["mean_se"][0][0], r["total"], r["total_se"][0][0]])
    assert m.df == r["degf"]


def test_lonely_psu_fail_names_stratum():
    s = Survey.from_frame(load("apistrat_lonely"), strata="stype", weight="pw")
    with pytest.raises(sv.AnalysisError, match=r"stratum 'H' has only one PSU at stage 1"):
        sv.mean(s, "api00")


def multi_degf(multi, name):
    meta = json.loads((DATA / "design_multistage.json").read_text())
    return meta["designs"][name]["degf"]


@pytest.mark.parametrize("dn", ["dstrat", "dsrs"])
@pytest.mark.parametrize("col", ["stype", "comp.imp"])
def test_svytable_through_crosstab(dn, col):
    # svytable(~sch.wide + <col>, <dn>): weighted cell totals; their shares of the grand total
    # (svychisq.json "proportions") - through the public crosstab
    r = results("svychisq.json")[f"{dn}/svytable/~sch.wide + {col}"]
    ct = sv.crosstab(DESIGNS[dn](), "sch.wide", by=col)
    close(ct.counts.to_numpy(), r["counts"]["values"])
    assert list(ct.counts.columns) == r["counts"]["colnames"]
    close(ct.percent("total").to_numpy() / 100, r["proportions"]["values"])
