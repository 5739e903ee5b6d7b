"""Reference values printed by R itself, found in public R output (package test ``.Rout.save``
files, rendered package documentation): each test names its source and compares at the
precision R printed (stated beside each assertion).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analysis_data import read_api

import survey as sv
from survey.analysis._optim import bfgs_r


def dclus1() -> sv.Survey:
    # dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
    return sv.Survey.from_frame(read_api("apiclus1"), psu="dnum", weight="pw", fpc="fpc")


def test_optim_bfgs_follows_r_step_for_step():
    # R's ?optim example, printed output (R Markdown notes reproducing it, "## $counts"):
    #   optim(c(-1.2,1), fr, grr, method = "BFGS")
    #   $par 1 1; $value 9.594956e-18; $counts function 110 gradient 43; $convergence 0
    # The counts are exact integers: the same path to the last line search.
    def fr(x):
        return 100 * (x[1] - x[0] * x[0]) ** 2 + (1 - x[0]) ** 2

    def grr(x):
        return np.array([-400 * x[0] * (x[1] - x[0] * x[0]) - 2 * (1 - x[0]),
                         200 * (x[1] - x[0] * x[0])])

    par, value, converged, counts = bfgs_r(fr, grr, np.array([-1.2, 1.0]))
    assert counts == (110, 43) and converged
    np.testing.assert_allclose(par, [1, 1], atol=5e-7)  # printed "1 1"
    # a value of 1e-17 is round-off: its last printed digit differs in the 7th place
    assert value == pytest.approx(9.594956e-18, rel=2e-7)


def test_svyolr_matches_r_printed_output():
    # broom reference page for tidy.svyolr (broom.tidymodels.org/dev/reference/tidy.svyolr),
    # R output of:
    #   dclus1 <- update(dclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
    #   m <- svyolr(mealcat ~ avg.ed + mobility + stype, design = dclus1); m
    #   Coefficients: avg.ed -2.6999217 mobility 0.0325042 stypeH -1.7574715 stypeM -0.6191463
    #   Intercepts: (0,25]|(25,50] -8.857919 (25,50]|(50,75] -6.586464 (50,75]|(75,100] -4.924938
    #   tidy(m): std.error 1.13 0.0207 0.700 0.310 3.69 3.11 2.86 (3 significant digits)
    # R stops optim's BFGS at its default reltol, ~6e-6 relative short of the exact optimum:
    # only following R's path (starting values, steps, stopping rule) gives these digits.
    s = dclus1()
    s = s.replace(data=s.data.assign(mealcat=pd.cut(s.data["meals"], [0, 25, 50, 75, 100])))
    t = sv.ordinal_logit(s, "mealcat ~ avg.ed + mobility + C(stype)").to_frame().set_index("term")
    coef = {"avg.ed": -2.6999217, "mobility": 0.0325042, "C(stype)[T.H]": -1.7574715,
            "C(stype)[T.M]": -0.6191463}
    for term, value in coef.items():  # printed to 7 decimals
        assert t.loc[term, "estimate"] == pytest.approx(value, abs=5e-8), term
    cuts = {"(0, 25]|(25, 50]": -8.857919, "(25, 50]|(50, 75]": -6.586464,
            "(50, 75]|(75, 100]": -4.924938}
    for term, value in cuts.items():  # printed to 6 decimals
        assert t.loc[term, "estimate"] == pytest.approx(value, abs=5e-7), term
    se = {"avg.ed": 1.13, "mobility": 0.0207, "C(stype)[T.H]": 0.700, "C(stype)[T.M]": 0.310,
          "(0, 25]|(25, 50]": 3.69, "(25, 50]|(50, 75]": 3.11, "(50, 75]|(75, 100]": 2.86}
    for term, value in se.items():  # 3 significant digits
        assert t.loc[term, "se"] == pytest.approx(value, rel=5e-3), term


def test_bounded_linear_calibration_matches_r_caleg():
    # survey package tests/caleg.Rout.save ("bounded weights"):
    #   pop <- colSums(cbind(1, apipop$enroll), na.rm = TRUE)    # 6194, 3811472
    #   dclus1g <- calibrate(dclus1, ~enroll, pop)
    #   range(weights(dclus1g)/weights(dclus1))   -> 0.7906782 1.7891164
    #   dclus1gb <- calibrate(dclus1, ~enroll, pop, bounds = c(.6, 1.5))
    #   range(weights(dclus1gb)/weights(dclus1))  -> 0.7198751 1.5000000
    # (the population column sums are the inputs, from apipop: N = 6194, sum(enroll) 3811472)
    s = dclus1()
    pop = {"(Intercept)": 6194.0, "enroll": 3811472.0}
    g = sv.calibrate(s, pop).weights / s.weights
    assert (g.min(), g.max()) == (pytest.approx(0.7906782, abs=5e-8),
                                  pytest.approx(1.7891164, abs=5e-8))
    gb = sv.calibrate(s, pop, bounds=(0.6, 1.5)).weights / s.weights
    assert (gb.min(), gb.max()) == (pytest.approx(0.7198751, abs=5e-8),
                                    pytest.approx(1.5, abs=5e-8))


def test_gamma_glm_matches_r_printed_summary():
    # R's ?glm clotting example, summary printed in stats.stackexchange.com/questions/362439:
    #   summary(glm(lot1 ~ log(u), data = clotting, family = Gamma))
    #   (Intercept) -0.0165544 0.0009275 -17.85 4.28e-07; log(u) 0.0153431 0.0004150 36.98 2.75e-09
    df = pd.DataFrame({"u": [5, 10, 15, 20, 30, 40, 60, 80, 100],
                       "lot1": [118, 58, 42, 35, 27, 25, 21, 19, 18]})
    df["log_u"] = np.log(df["u"])
    t = sv.glm(df, "lot1 ~ log_u", family="Gamma", tol=1e-8).to_frame()  # R's default epsilon
    np.testing.assert_allclose(t["estimate"], [-0.0165544, 0.0153431], atol=5e-8)
    np.testing.assert_allclose(t["se"], [0.0009275, 0.0004150], atol=5e-8)
    # t: printCoefmat rounds it to 3 decimals (36.975) before printing 4 digits ("36.98")
    np.testing.assert_allclose(t["statistic"], [-17.847, 36.975], atol=5e-4)
    np.testing.assert_allclose(t["p_value"], [4.28e-07, 2.75e-09], rtol=2e-3)
    # svyglm with equal weights has glm's coefficients (the same weighted score equations)
    s = sv.Survey.from_frame(df.assign(w=1.0), weight="w")
    g = sv.glm(s, "lot1 ~ log_u", family="Gamma").to_frame()
    np.testing.assert_allclose(g["estimate"], [-0.0165544, 0.0153431], atol=5e-8)


HW = pd.DataFrame({"x": [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1],
                   "y": [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]})


@pytest.mark.parametrize("alternative,p,lo,hi", [
    # R ?cor.test data (Hollander & Wolfe); printed output reproduced e.g. at
    # abcdr.guyader.pro (comment-mesurer-le-coefficient-de-correlation...-cor-test) and in
    # R course notes: cor.test(x, y[, alternative = ...]):
    #   t = 1.8411, df = 7; cor 0.5711816
    ("two-sided", 0.1082, -0.1497426, 0.8955795),
    ("greater", 0.05409, -0.02223023, 1.0),
    ("less", 0.9459, -1.0, 0.8669786),
])
def test_pearson_cor_test_matches_r(alternative, p, lo, hi):
    r = sv.cor_test(HW, "x", "y", alternative=alternative)
    assert r.statistic == pytest.approx(1.8411, abs=5e-5) and r.df == 7
    assert r.estimate == pytest.approx(0.5711816, abs=5e-8)
    assert r.p_value == pytest.approx(p, rel=5e-4)
    assert (r.ci_low, r.ci_high) == (pytest.approx(lo, abs=5e-8), pytest.approx(hi, abs=5e-8))


def test_rank_cor_tests_match_r():
    # same source: cor.test(x, y, method = "kendall"): T = 26, p-value = 0.1194, tau 0.4444444
    #              cor.test(x, y, method = "spearm"):  S = 48, p-value = 0.0968, rho 0.6
    # (n = 9 without ties: R's exact permutation distribution, algorithm AS 89)
    k = sv.cor_test(HW, "x", "y", method="kendall")
    assert (k.estimate, k.p_value) == (pytest.approx(0.4444444, abs=5e-8),
                                       pytest.approx(0.1194, abs=5e-5))
    sp = sv.cor_test(HW, "x", "y", method="spearman")
    assert (sp.statistic, sp.estimate) == (pytest.approx(48), pytest.approx(0.6))
    assert sp.p_value == pytest.approx(0.0968, abs=5e-5)
    assert "AS 89" in " ".join(sp.notes)
    # with ties R uses the t approximation (sullystats.com 15.6, R output):
    #   cor.test(mpg, dist, method = "spearman"): S = 6.0666, p-value = 0.0008915, rho 0.9277782
    df = pd.DataFrame({"mpg": [100, 102, 103, 101, 105, 100, 99, 105],
                       "dist": [257, 264, 274, 266, 277, 263, 258, 275]})
    t = sv.cor_test(df, "mpg", "dist", method="spearman")
    assert (t.statistic, t.p_value, t.estimate) == (
        pytest.approx(6.0666, abs=5e-5), pytest.approx(0.0008915, abs=5e-8),
        pytest.approx(0.9277782, abs=5e-8))


def test_spearman_edgeworth_branch_is_close_to_the_exact_distribution():
    # n >= 10: R uses AS 89's Edgeworth series (no R-printed value found for this branch);
    # independent check: it approximates the exact permutation distribution (enumerated here
    # by brute force over 10! orders of a small S grid is too slow, so by the DP of _spearman)
    from survey.analysis._spearman import _prho, _s_counts

    n = 10
    counts = np.asarray(_s_counts(n), float)
    for s in (40, 80, 120):
        exact_upper = counts[s:].sum() / counts.sum()
        assert _prho(n, s, lower=False) == pytest.approx(exact_upper, abs=5e-3)


def test_pairwise_ttest_and_oneway_match_r_on_airquality():
    # R datasets::airquality (tests/data/airquality.csv). Printed R output:
    #   pairwise.t.test(Ozone, Month)  (pooled SD, holm) - "Advanced R" exercise solutions:
    #       May     Jun     Jul     Aug
    #   Jun 1.00000 -       -       -
    #   Jul 0.00026 0.05113 -       -
    #   Aug 0.00019 0.04987 1.00000 -
    #   Sep 1.00000 1.00000 0.00488 0.00388
    #   oneway.test(Ozone ~ month, var.equal = TRUE): F = 8.5356, 4 and 111 df, p 4.827e-06
    #   oneway.test(Ozone ~ month): F = 8.0267, num df = 4.000, denom df = 42.668, p 6.439e-05
    aq = pd.read_csv(Path(__file__).parents[1] / "data" / "airquality.csv")
    aq["month"] = pd.Categorical.from_codes(aq["Month"] - 5, ["May", "Jun", "Jul", "Aug", "Sep"])
    t = sv.pairwise_ttest(aq, "Ozone", by="month").to_frame()
    got = {(a, b): p for a, b, p in zip(t["group1"], t["group2"], t["p_value"])}
    want = {("May", "Jun"): 1.0, ("May", "Jul"): 0.00026, ("May", "Aug"): 0.00019,
            ("May", "Sep"): 1.0, ("Jun", "Jul"): 0.05113, ("Jun", "Aug"): 0.04987,
            ("Jun", "Sep"): 1.0, ("Jul", "Aug"): 1.0, ("Jul", "Sep"): 0.00488,
            ("Aug", "Sep"): 0.00388}
    for pair, p in want.items():  # printed to 5 decimals
        assert got[pair] == pytest.approx(p, abs=5e-6), pair
    classic = sv.anova(aq, "Ozone", by="month", welch=False)
    assert (classic.statistic, classic.df, classic.df_denom) == (
        pytest.approx(8.5356, abs=5e-5), 4, 111)
    assert classic.p_value == pytest.approx(4.827e-06, abs=5e-10)
    welch = sv.anova(aq, "Ozone", by="month")
    assert (welch.statistic, welch.df_denom) == (pytest.approx(8.0267, abs=5e-5),
                                                 pytest.approx(42.668, abs=5e-4))
    assert welch.p_value == pytest.approx(6.439e-05, abs=5e-9)


def _pairs(table) -> pd.DataFrame:
    """Rows of paired answers (first, second) from a 2 x 2 table of counts."""
    t = np.asarray(table)
    rows = [(i, j) for i in range(2) for j in range(2) for _ in range(int(t[i, j]))]
    lab = np.array(["no", "yes"])
    a, b = np.array(rows).T
    return pd.DataFrame({"first": pd.Categorical(lab[a], categories=lab),
                         "second": pd.Categorical(lab[b], categories=lab)})


@pytest.mark.parametrize("table,correct,stat,p", [
    # R Markdown course notes (printed output):
    #   vote <- cbind(c(682, 22), c(86, 810)); mcnemar.test(vote, correct = T)
    #   McNemar's chi-squared = 36.75, df = 1, p-value = 1.343e-09
    ([[682, 86], [22, 810]], True, 36.75, 1.343e-09),
    #   x <- matrix(c(21, 9, 2, 12), 2, 2); mcnemar.test(x): 3.2727, p-value = 0.07044
    #   mcnemar.test(x, correct = FALSE): 4.4545, p-value = 0.03481
    ([[21, 2], [9, 12]], True, 3.2727, 0.07044),
    ([[21, 2], [9, 12]], False, 4.4545, 0.03481),
])
def test_mcnemar_matches_r(table, correct, stat, p):
    r = sv.mcnemar(_pairs(table), "first", "second", correct=correct)
    assert r.statistic == pytest.approx(stat, abs=5e-5) and r.df == 1
    assert r.p_value == pytest.approx(p, rel=5e-4)


# data(fpc) of the survey package, as tests/fpc.Rout.save prints it
FPC = pd.DataFrame({"stratid": [1] * 5 + [2] * 3, "psuid": [1, 2, 3, 4, 5, 1, 2, 3],
                    "weight": [3.0] * 5 + [4.0] * 3, "nh": [5] * 5 + [3] * 3,
                    "Nh": [15] * 5 + [12] * 3, "x": [2.8, 4.1, 6.8, 6.8, 9.2, 3.7, 6.6, 4.2]})


def test_fpc_forms_match_r_fpc_rout():
    # survey package tests/fpc.Rout.save (example(fpc)):
    #   svymean(~x, svydesign(weights = ~weight, ids = ~psuid, strata = ~stratid, data = fpc,
    #           nest = TRUE))                                   -> 5.4481, SE 0.7413
    #   ... fpc = ~Nh; fpc = ~I(nh/Nh); no weights with fpc = ~Nh or ~I(nh/Nh) -> SE 0.616
    frac = FPC.assign(f=FPC["nh"] / FPC["Nh"])
    kw = {"strata": "stratid", "psu": "psuid", "nest": True}
    m = sv.mean(sv.Survey.from_frame(FPC, weight="weight", **kw), "x")
    assert (m.estimate, m.se) == (pytest.approx(5.4481, abs=5e-5), pytest.approx(0.7413, abs=5e-5))
    for s in (sv.Survey.from_frame(FPC, weight="weight", fpc="Nh", **kw),
              sv.Survey.from_frame(frac, weight="weight", fpc="f", **kw),
              sv.Survey.from_frame(FPC, fpc="Nh", **kw),
              sv.Survey.from_frame(frac, fpc="f", **kw)):
        m = sv.mean(s, "x")
        assert (m.estimate, m.se) == (pytest.approx(5.4481, abs=5e-5),
                                      pytest.approx(0.616, abs=5e-4))


def test_domain_estimates_match_r_domain_rout():
    # survey package tests/domain.Rout.save, data(fpc) (8 rows; its weighted domain means
    # 6.195 and 3.314286 below are R's and pin the data down):
    #   dfpc <- svydesign(id = ~psuid, strat = ~stratid, weight = ~weight, data = fpc, nest = TRUE)
    #   svymean(~x, subset(dfpc, x > 4))                -> 6.195, SE 0.7555
    #   svyby(~x, ~I(x > 4), dfpc, svymean)             -> 3.314286 (SE 0.3117042), 6.195 (0.7555129)
    #   svyratio(~I(x*(x>4)), ~as.numeric(x>4), dfpc)   -> 6.195, SE 0.7555129
    #   summary(svyglm(x ~ I(x > 4) + 0, dfpc)): t 10.63, 8.20; p 0.000127, 0.000439;
    #   dispersion 2.557379
    fpc = FPC.copy()
    fpc["gt4"] = pd.Categorical(np.where(fpc["x"] > 4, "TRUE", "FALSE"),
                                categories=["FALSE", "TRUE"])
    fpc["num"], fpc["den"] = fpc["x"] * (fpc["x"] > 4), (fpc["x"] > 4).astype(float)
    s = sv.Survey.from_frame(fpc, weight="weight", strata="stratid", psu="psuid", nest=True)
    d = sv.mean(s, "x", where=fpc["x"] > 4)
    assert (d.estimate, d.se) == (pytest.approx(6.195, abs=5e-7), pytest.approx(0.7555129, abs=5e-8))
    b = sv.mean(s, "x", by="gt4").to_frame()
    np.testing.assert_allclose(b["estimate"], [3.314286, 6.195], atol=5e-7)
    np.testing.assert_allclose(b["se"], [0.3117042, 0.7555129], atol=5e-8)
    r = sv.ratio(s, "num", "den")
    assert (r.estimate, r.se) == (pytest.approx(6.195), pytest.approx(0.7555129, abs=5e-8))
    m = sv.glm(s, "x ~ C(gt4) - 1")
    t = m.to_frame()
    np.testing.assert_allclose(t["statistic"], [10.63, 8.20], atol=5e-3)
    np.testing.assert_allclose(t["p_value"], [0.000127, 0.000439], atol=5e-7)
    assert m.dispersion == pytest.approx(2.557379, abs=5e-7) and m.df_resid == 5


def test_deff_matches_r_deff_rout():
    # survey package tests/deff.Rout.save (kigyo data, printed):
    #   svymean(~uriage, svydesign(ids = ~1, weights = ~srs.w, data = kigyo), deff = TRUE)
    #       113.700 SE 35.626 DEff 1.0101;  svytotal: 113700 SE 35626 DEff 1.0101
    #   des.pps (weights ~pps.w): svymean(..., deff = "replace") 243.914 SE 48.752 DEff 1.9741
    #                             svytotal(..., deff = "replace") 305136 SE 184965 DEff 18.157
    k = pd.DataFrame({"uriage": [15, 143, 21, 51, 337, 50, 274, 145, 15, 86],
                      "srs_w": [100.0] * 10, "pps_w": [20, 200, 11, 25, 550, 30, 250, 100, 10, 55]})
    srs, pps = (sv.Survey.from_frame(k, weight=w) for w in ("srs_w", "pps_w"))
    cases = [(sv.mean(srs, "uriage"), 113.700, 35.626, 1.0101),
             (sv.total(srs, "uriage"), 113700, 35626, 1.0101),
             (sv.mean(pps, "uriage", deff="replace"), 243.914, 48.752, 1.9741),
             (sv.total(pps, "uriage", deff="replace"), 305136, 184965, 18.157)]
    for e, est, se, deff in cases:  # 5-6 significant digits as printed
        assert (e.estimate, e.se, e.deff) == (pytest.approx(est, rel=5e-6),
                                              pytest.approx(se, rel=5e-5),
                                              pytest.approx(deff, rel=5e-5))


@pytest.mark.parametrize("kw,est,se", [
    # survey package tests/check.Rout.save, svymean(~x, a) for designs a on data(fpc):
    ({"weight": "weight", "strata": "stratid"}, 5.4481, 0.7413),  # ids=~0, strata, weights
    ({"strata": "stratid"}, 5.525, 0.7796),  # no weights (equal probability)
    ({"strata": "stratid", "psu": "psuid", "nest": True}, 5.525, 0.7796),
    ({"psu": "psuid"}, 5.525, 0.838),  # ids=~psuid, no strata: 5 clusters
    ({"psu": "psuid", "weight": "weight"}, 5.4481, 0.7938),
    ({"psu": ["stratid", "psuid"], "weight": "weight"}, 5.4481, 0.5465),  # 2 stages, no fpc
    # exactly 0.51875, printed "0.5188"
    ({"psu": ["stratid", "psuid"]}, 5.525, 0.51875),
    ({"psu": "psuid", "weight": "weight", "fpc": "N"}, 5.4481, 0.7165),  # fpc = rep(27, 8)
])
def test_design_forms_match_r_check_rout(kw, est, se):
    m = sv.mean(sv.Survey.from_frame(FPC.assign(N=27), **kw), "x")
    assert (m.estimate, m.se) == (pytest.approx(est, abs=5e-5), pytest.approx(se, abs=5e-5))


@pytest.mark.parametrize("lonely", ["fail", "remove", "certainty", "adjust", "average"])
def test_lonely_psu_in_a_domain_matches_r(lonely):
    # survey package tests/lonely.psu.Rout.save, "lonely PSUs after subsetting":
    #   ds <- svydesign(id = ~1, weights = ~pw, strata = ~dnum, data = subset(apiclus1, dnum != 413))
    #   ds1 <- ds[-31, ]     # stratum 406 keeps one of its two PSUs in the domain
    #   options(survey.lonely.psu = <lonely>); svymean(~api00, ds1) -> 645.14, SE 5.8909 for
    #   every rule (R's default survey.adjust.domain.lonely = FALSE: the design has 2 PSUs there)
    d = read_api("apiclus1")
    d = d[d["dnum"] != 413].reset_index(drop=True)
    keep = np.ones(len(d), dtype=bool)
    keep[30] = False
    s = sv.Survey.from_frame(d, weight="pw", strata="dnum", lonely_psu=lonely)
    m = sv.mean(s, "api00", where=keep)
    assert (m.estimate, m.se) == (pytest.approx(645.14, abs=5e-3), pytest.approx(5.8909, abs=5e-5))
