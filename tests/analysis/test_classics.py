"""cor_test, mcnemar, pairwise_ttest (R cor.test, mcnemar.test, pairwise.t.test).

No R output for these is in the reference set yet (R check pending); each test uses an
independent computation of R's documented formula, stated beside it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_design_reference import DESIGNS, load

import survey as sv


@pytest.fixture(scope="module")
def srs():
    return load("apisrs")


def test_pearson_is_r_formula(srs):
    # R cor.test(~api00 + api99): t = r sqrt(n-2)/sqrt(1-r^2) on n-2 df; CI tanh(atanh r -+ z/sqrt(n-3))
    r = sv.cor_test(srs, "api00", "meals")
    x, y = srs["api00"].to_numpy(float), srs["meals"].to_numpy(float)
    rr = np.corrcoef(x, y)[0, 1]
    n = len(x)
    assert r.estimate == pytest.approx(rr, rel=1e-12)
    assert r.statistic == pytest.approx(rr * math.sqrt(n - 2) / math.sqrt(1 - rr**2), rel=1e-10)
    assert r.p_value == pytest.approx(2 * stats.t.sf(abs(r.statistic), n - 2), rel=1e-8)
    z = stats.norm.ppf(0.975) / math.sqrt(n - 3)
    assert (r.ci_low, r.ci_high) == (pytest.approx(math.tanh(math.atanh(rr) - z), rel=1e-10),
                                     pytest.approx(math.tanh(math.atanh(rr) + z), rel=1e-10))


def test_spearman_and_kendall(srs):
    sp = sv.cor_test(srs, "api00", "meals", method="spearman")
    rho = stats.spearmanr(srs["api00"], srs["meals"]).statistic
    n = len(srs)
    assert sp.estimate == pytest.approx(rho, rel=1e-12)
    assert sp.statistic == pytest.approx((n**3 - n) * (1 - rho) / 6, rel=1e-12)  # R's S
    t = rho * math.sqrt((n - 2) / (1 - rho**2))
    assert sp.p_value == pytest.approx(2 * stats.t.sf(abs(t), n - 2), rel=1e-10)
    kd = sv.cor_test(srs, "api00", "meals", method="kendall")
    assert kd.estimate == pytest.approx(stats.kendalltau(srs["api00"], srs["meals"]).statistic)
    with pytest.raises(sv.AnalysisError, match="method must be one of pearson"):
        sv.cor_test(srs, "api00", "meals", method="distance")
    # one-sided (ties in api00/meals: R's t approximation): its lower tail
    lo = sv.cor_test(srs, "api00", "meals", method="spearman", alternative="less")
    assert lo.p_value == pytest.approx(stats.t.cdf(t, n - 2), rel=1e-10)
    assert "t approximation" in " ".join(sp.notes)


def test_kendall_exact_p_without_ties():
    # exact null distribution: perfect concordance of n = 5 has probability 1/5!, so the
    # two-sided p is 2/120 (R cor.test(1:5, 1:5, method = "kendall"): p-value = 0.01667)
    df = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 3, 5, 7, 11]})
    kd = sv.cor_test(df, "a", "b", method="kendall")
    assert kd.estimate == pytest.approx(1.0) and kd.p_value == pytest.approx(2 / 120, rel=1e-12)
    assert sv.cor_test(df, "a", "b", method="kendall",
                       alternative="greater").p_value == pytest.approx(1 / 120, rel=1e-12)


def test_mcnemar_2x2_and_bowker():
    # 2 x 2: (|b - c| - 1)^2 / (b + c); 3 x 3: Bowker sum (statsmodels' symmetry test)
    from statsmodels.stats.contingency_tables import SquareTable

    df = pd.DataFrame({"a": ["y"] * 30 + ["n"] * 20 + ["y"] * 5,
                       "b": ["y"] * 20 + ["n"] * 30 + ["n"] * 5})
    r = sv.mcnemar(df, "a", "b")
    t = pd.crosstab(df["a"], df["b"]).to_numpy()
    assert r.statistic == pytest.approx((abs(t[0, 1] - t[1, 0]) - 1) ** 2 / (t[0, 1] + t[1, 0]))
    rng = np.random.default_rng(1)
    cats = pd.Categorical.from_codes(rng.integers(0, 3, 90), ["x", "y", "z"])
    cats2 = pd.Categorical.from_codes(rng.integers(0, 3, 90), ["x", "y", "z"])
    d3 = pd.DataFrame({"a": cats, "b": cats2})
    r3 = sv.mcnemar(d3, "a", "b")
    sym = SquareTable(pd.crosstab(d3["a"], d3["b"]).to_numpy(), shift_zeros=False).symmetry()
    assert r3.statistic == pytest.approx(sym.statistic, rel=1e-12) and r3.df == 3


def test_pairwise_ttest_pooled_sd(srs):
    # R pairwise.t.test(api00, stype): pooled SD over all groups, df = N - k, holm
    r = sv.pairwise_ttest(srs, "api00", "stype").to_frame()
    g = {k: v.to_numpy(float) for k, v in srs.groupby("stype", observed=True)["api00"]}
    n = sum(len(v) for v in g.values())
    sp = math.sqrt(sum(((v - v.mean()) ** 2).sum() for v in g.values()) / (n - 3))
    raw = []
    for a, b in (("E", "H"), ("E", "M"), ("H", "M")):
        t = (g[b].mean() - g[a].mean()) / (sp * math.sqrt(1 / len(g[a]) + 1 / len(g[b])))
        raw.append(2 * stats.t.sf(abs(t), n - 3))
    assert r["p_unadjusted"].to_numpy() == pytest.approx(raw, rel=1e-10)
    assert r["p_value"].to_numpy() == pytest.approx(
        np.asarray(sv.adjust_pvalues(raw, method="holm")), rel=1e-12)
    w = sv.pairwise_ttest(srs, "api00", "stype", pool_sd=False, adjust="none").to_frame()
    assert w.loc[0, "p_value"] == pytest.approx(
        stats.ttest_ind(g["H"], g["E"], equal_var=False).pvalue, rel=1e-12)


@pytest.mark.parametrize("call", [
    lambda s: sv.cor_test(s, "api00", "meals"),
    lambda s: sv.mcnemar(s, "sch.wide", "comp.imp"),
    lambda s: sv.pairwise_ttest(s, "api00", "stype"),
])
def test_weighted_survey_is_refused(call):
    with pytest.raises(sv.AnalysisError, match="no design-based form"):
        call(DESIGNS["dsrs"]())


def test_pearson_monte_carlo_p_value(srs):
    # R chisq.test(table, simulate.p.value = TRUE, B = 2000): p = (1 + #{X2_sim >= X2}) /
    # (B + 1) over tables with the observed margins; seeded numpy draws (not R's), so checked
    # against the asymptotic p-value within Monte Carlo error and by reproducibility
    ct = sv.crosstab(srs, "stype", by="sch.wide", simulate=True, simulate_b=4000, seed=3)
    t = ct.tests
    p_mc, p_asy = t.loc["pearson_monte_carlo", "p_value"], t.loc["pearson", "p_value"]
    assert t.loc["pearson_monte_carlo", "statistic"] == t.loc["pearson", "statistic"]
    assert abs(p_mc - p_asy) < 4 * math.sqrt(p_asy * (1 - p_asy) / 4000) + 1 / 4001
    again = sv.crosstab(srs, "stype", by="sch.wide", simulate=True, simulate_b=4000, seed=3)
    assert again.tests.loc["pearson_monte_carlo", "p_value"] == p_mc
    assert "pearson_monte_carlo" not in sv.crosstab(srs, "stype", by="sch.wide").tests.index
