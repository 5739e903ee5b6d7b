"""No group test analyses a weighted Survey unweighted: anova, mann_whitney, kruskal,
prop_test and the paired t-test have design-based forms (R regTermTest on svyglm,
svyranktest, svyttest); the post-hoc tests and the signed-rank test refuse a weighted Survey.

R values are quoted beside each assertion; where no R output is available the check is an
independent computation (stated).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_design_reference import DESIGNS, close, load, results

import survey as sv
from survey.analysis._design_models import svyglm_vcov
from survey.core.design import Design
from survey.core.survey import Survey

BASED = results("design_based.json")


@pytest.fixture(scope="module")
def dclus2():
    # dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
    return Survey.from_frame(load("apiclus2"), psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])


def test_mann_whitney_is_svyranktest(dclus2):
    # svyranktest(enroll ~ comp.imp, dclus2, test = "wilcoxon")  (R survey 4.x, printed by
    # cardx's snapshot tests/testthat/_snaps/ard_survey_svyranktest.md, 7 significant digits):
    # t = -1.718689, df = 36, p-value = 0.09426084, difference in mean rank score -0.1060602
    r = sv.mann_whitney(dclus2, "enroll", "comp.imp")
    close(r.statistic, -1.718689, rtol=5e-7)
    close(r.p_value, 0.09426084, rtol=5e-7)
    close(r.estimate, -0.1060602, rtol=5e-7)
    assert r.df == 36
    assert "svyranktest" in r.method


@pytest.mark.parametrize("dn", ["dstrat", "dclus1", "dsrs"])
def test_two_group_anova_is_the_squared_svyttest(dn):
    # regTermTest(svyglm(api00 ~ sch.wide, <dn>), ~sch.wide) has F = t^2 on (1, degf - 1) of
    # svyttest(api00 ~ sch.wide, <dn>) (R values from svyttest)
    r = BASED[f"{dn}/svyttest/api00~sch.wide"]
    a = sv.anova(DESIGNS[dn](), "api00", "sch.wide")
    close(a.statistic, r["statistic"]["t"] ** 2)
    close(a.p_value, r["p_value"])
    assert (a.df, a.df_denom) == (1, r["parameter"]["df"])
    assert "regTermTest" in a.method


def _wald_f(s, y, g, k):
    """Independent: WLS of y on group dummies, the svyglm sandwich (tested against R in
    test_design_reference), Wald F on (k - 1, degf + 1 - k)."""
    ok = ~np.isnan(y) & (g >= 0)
    X = np.column_stack([np.ones(ok.sum())] + [(g[ok] == j).astype(float) for j in range(1, k)])
    w = s.weights[ok]
    beta = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * y[ok]))
    V, dfres = svyglm_vcov(s, X, y[ok], beta, X @ beta, rows=ok, family="gaussian")
    b = beta[1:]
    return float(b @ np.linalg.solve(V[1:, 1:], b)) / (k - 1), dfres


def test_anova_three_groups_is_the_wald_f_of_svyglm():
    s = DESIGNS["dclus1"]()
    g = s.data["stype"].cat.codes.to_numpy()
    F, dfres = _wald_f(s, s.data["api00"].to_numpy(float), g, 3)
    a = sv.anova(s, "api00", "stype")
    assert a.statistic == pytest.approx(F, rel=1e-10)
    assert (a.df, a.df_denom) == (2, dfres)


def test_kruskal_three_groups_is_multiranktest():
    # Independent: weighted mid-rank scores (cumsum(w) - w/2, ties averaged) / sum(w) by
    # pandas, then the Wald F of svyglm(score ~ g) on (k - 1, degf - (k - 1)).
    s = DESIGNS["dstrat"]()
    y = s.data["api00"].to_numpy(float)
    w = s.weights
    frame = pd.DataFrame({"y": y, "w": w}).sort_values("y", kind="stable")
    frame["r"] = frame["w"].cumsum() - frame["w"] / 2
    frame["r"] = frame.groupby("y")["r"].transform("mean")
    score = frame["r"].sort_index().to_numpy() / w.sum()
    g = s.data["comp.imp"].cat.codes.to_numpy()
    F_two, _ = _wald_f(s, score, g, 2)
    k2 = sv.kruskal(s, "api00", "comp.imp")
    assert k2.statistic ** 2 == pytest.approx(F_two, rel=1e-10)  # two groups: t^2 = F
    g3 = s.data["sch.wide"].cat.codes.to_numpy() + 2 * (s.data["awards"] == "Yes").to_numpy()
    data = s.data.assign(g3=pd.Categorical.from_codes(np.minimum(g3, 2), ["a", "b", "c"]))
    s3 = Survey.from_frame(data, strata="stype", weight="pw", fpc="fpc")
    F3, _ = _wald_f(s3, score, np.minimum(g3, 2), 3)
    k3 = sv.kruskal(s3, "api00", "g3")
    assert k3.statistic == pytest.approx(F3, rel=1e-10)
    assert (k3.df, k3.df_denom) == (2, Design.from_survey(s3).degf - 2)


def test_prop_test_on_a_design_is_svyttest_on_the_indicator():
    # svyttest(I(sch.wide == "Yes") ~ comp.imp, dclus1): checked against sv.ttest on the 0/1
    # column (a separate code path, itself tested against R's svyttest)
    s = DESIGNS["dclus1"]()
    p = sv.prop_test(s, "sch.wide", "comp.imp", success="Yes")
    ind = s.replace(data=s.data.assign(yes=(s.data["sch.wide"] == "Yes").astype(float)))
    t = sv.ttest(ind, "yes", "comp.imp")
    close([p.statistic, p.p_value, p.estimate, p.df], [t.statistic, t.p_value, t.estimate, t.df],
          rtol=1e-10)
    assert "svyttest" in p.method


def test_paired_ttest_on_a_design_is_the_one_sample_svyttest():
    # svyttest(I(api00 - api99) ~ 0, dclus1): mean / SE of the difference on degf - 1;
    # checked against sv.mean of the difference column (tested against R's svymean)
    s = DESIGNS["dclus1"]()
    r = sv.ttest(s, "api00", "api99", paired=True)
    diff = s.replace(data=s.data.assign(d=s.data["api00"] - s.data["api99"]))
    m = sv.mean(diff, "d")
    close([r.estimate, r.statistic], [m.estimate, m.estimate / m.se], rtol=1e-12)
    assert r.df == 13


@pytest.mark.parametrize("func,kw,hint", [
    (sv.tukey_hsd, {"var": "api00", "by": "stype"}, "sv.ttest"),
    (sv.games_howell, {"var": "api00", "by": "stype"}, "sv.ttest"),
    (sv.dunn, {"var": "api00", "by": "stype"}, "sv.mann_whitney"),
])
def test_tests_without_a_design_form_refuse_weights(func, kw, hint):
    s = DESIGNS["dsrs"]()
    with pytest.raises(sv.AnalysisError, match="no design-based form") as exc:
        func(s, **kw)
    assert hint in str(exc.value) and "survey.data" in str(exc.value)
    func(s.data, **kw)  # the plain frame is tested unweighted, on purpose


def test_signed_rank_refuses_weights():
    s = DESIGNS["dsrs"]()
    with pytest.raises(sv.AnalysisError, match="paired=True"):
        sv.mann_whitney(s, "api00", "api99", paired=True)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.5, 5), min_size=24, max_size=24), st.floats(0.1, 50))
def test_group_tests_use_the_weights(ws, c):
    # invariant: scaling every weight by c changes nothing; the weights do enter the test
    y = np.arange(24, dtype=float) % 7 + np.repeat([0.0, 1.0, 2.0], 8)
    g = np.repeat(["a", "b", "c"], 8)
    df = pd.DataFrame({"y": y, "g": g, "w": ws, "w2": np.asarray(ws) * c,
                       "b": pd.Categorical(np.where(y > 3, "hi", "lo"), ["lo", "hi"])})
    s1 = Survey.from_frame(df, weight="w")
    s2 = Survey.from_frame(df, weight="w2")
    two = df["g"] != "c"
    for f, var, where in ((sv.anova, "y", None), (sv.kruskal, "y", None),
                          (sv.mann_whitney, "y", two), (sv.prop_test, "b", two)):
        a, b = f(s1, var, "g", where=where), f(s2, var, "g", where=where)
        assert a.statistic == pytest.approx(b.statistic, rel=1e-8, abs=1e-10)
        assert "design" in a.method.lower()
