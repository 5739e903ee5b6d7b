"""Replicate-weight designs (R svrepdesign / as.svrepdesign): variance from replicate
re-estimation, svrVar's scale/rscales/mse, weighting that re-calibrates every replicate.

R values: the survey package's tests/api.Rout.save (printed to 5 significant digits, so
compared at 5e-5); otherwise independent computations, stated beside each test.
"""

from __future__ import annotations

import hypothesis
import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as st
from test_design_reference import DESIGNS, load

import survey as sv
from survey.core.survey import Survey

POP = {"E": 4421, "H": 755, "M": 1018}


@pytest.fixture(scope="module")
def dclus1():
    return DESIGNS["dclus1"]()


@pytest.fixture(scope="module")
def rclus1(dclus1):
    # rclus1 <- as.svrepdesign(dclus1)   (JK1, 15 replicates)
    return sv.as_replicate(dclus1, "JK1")


def test_jk1_matches_r_api_example(rclus1):
    # survey tests/api.Rout.save:
    # svymean(~api00, rclus1): 644.17 SE 26.329; svytotal(~enroll, rclus1): 3404940 SE 932235
    m = sv.mean(rclus1, "api00")
    assert m.estimate == pytest.approx(644.17, abs=0.005)
    assert m.se == pytest.approx(26.329, rel=5e-5)
    t = sv.total(rclus1, "enroll")
    assert t.estimate == pytest.approx(3404940, rel=5e-7)
    assert t.se == pytest.approx(932235, rel=5e-6)
    assert rclus1.design_info().degf == 14


def test_poststratified_replicates_match_r(rclus1):
    # rclus1p <- postStratify(rclus1, ~stype, pop.types)  (api.Rout.save)
    # svymean(~api00, rclus1p): 642.31 SE 26.934; svytotal(~enroll, rclus1p): 3680893 SE 473431
    p = sv.poststratify(rclus1, by="stype", totals=POP)
    assert sv.mean(p, "api00").se == pytest.approx(26.934, rel=5e-5)
    t = sv.total(p, "enroll")
    assert (t.estimate, t.se) == (pytest.approx(3680893, rel=5e-7), pytest.approx(473431, rel=5e-6))


def test_jk1_total_equals_taylor_total(dclus1, rclus1):
    # identity (independent of R): for a one-stage unstratified cluster design the JK1
    # variance of a total, scale (n-1)/n (N-n)/N, equals the Taylor variance with fpc
    assert sv.total(rclus1, "api00").se == pytest.approx(sv.total(dclus1, "api00").se, rel=1e-12)


def _by_hand(df, wcols, y, scale, rscales, mse):
    full = (df["pw"] * df[y]).sum() / df["pw"].sum()
    reps = np.array([(df[c] * df[y]).sum() / df[c].sum() for c in wcols])
    centre = full if mse else reps.mean()
    return full, np.sqrt(scale * (rscales * (reps - centre) ** 2).sum())


@pytest.mark.parametrize("rtype,kw,scale", [
    ("BRR", {}, 1 / 8), ("Fay", {"rho": 0.3}, 1 / (8 * 0.7**2)), ("SDR", {}, 4 / 8),
    ("ACS", {}, 4 / 8), ("bootstrap", {}, 1 / 7), ("JK1", {}, 7 / 8),
    ("JKn", {"rscales": [0.5] * 8}, 1.0), ("other", {"scale": 0.3, "rscales": 2.0}, 0.3),
])
def test_from_frame_replicates_and_svrvar(rtype, kw, scale):
    # independent: the mean under every replicate by pandas, then
    # V = scale * sum rscales (theta_r - mean(theta_r))^2 (ACS: mse, centred on theta)
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"y": rng.normal(50, 10, 40), "pw": rng.uniform(1, 3, 40)})
    for r in range(8):
        df[f"repw{r + 1}"] = df["pw"] * rng.uniform(0, 2, 40)
    s = Survey.from_frame(df, weight="pw", replicate_weights="repw[0-9]+", replicate_type=rtype,
                          **kw)
    rep = s.design_info().replicate
    assert rep.scale == pytest.approx(scale, rel=1e-14)
    rs = np.broadcast_to(np.asarray(kw.get("rscales", 1.0), dtype=float), (8,))
    est, se = _by_hand(df, [f"repw{r + 1}" for r in range(8)], "y", scale, rs, rtype == "ACS")
    m = sv.mean(s, "y")
    assert m.estimate == pytest.approx(est, rel=1e-12)
    assert m.se == pytest.approx(se, rel=1e-10)
    m2 = sv.mean(Survey.from_frame(df, weight="pw", replicate_weights=[f"repw{r + 1}" for r in range(8)],
                                   replicate_type=rtype, mse=True, **kw), "y")
    assert m2.se == pytest.approx(_by_hand(df, [f"repw{r + 1}" for r in range(8)], "y", scale,
                                           rs, True)[1], rel=1e-10)


def test_replicate_arguments_are_checked():
    df = pd.DataFrame({"y": [1.0, 2, 3], "pw": [1.0, 1, 1], "r1": [2.0, 0, 1], "r2": [0.0, 2, 1],
                       "h": ["a", "a", "b"]})
    with pytest.raises(sv.AnalysisError, match="JKn' needs rscales"):
        Survey.from_frame(df, weight="pw", replicate_weights=["r1", "r2"], replicate_type="JKn")
    with pytest.raises(sv.AnalysisError, match="Fay' needs rho"):
        Survey.from_frame(df, weight="pw", replicate_weights=["r1", "r2"], replicate_type="Fay")
    with pytest.raises(sv.AnalysisError, match="matches no column"):
        Survey.from_frame(df, weight="pw", replicate_weights="rep[0-9]", replicate_type="BRR")
    with pytest.raises(sv.AnalysisError, match="strata/psu/fpc/probs describe a Taylor design"):
        Survey.from_frame(df, weight="pw", strata="h", replicate_weights=["r1", "r2"],
                          replicate_type="BRR")
    with pytest.raises(sv.AnalysisError, match="needs weight="):
        Survey.from_frame(df, replicate_weights=["r1", "r2"], replicate_type="BRR")
    with pytest.raises(sv.AnalysisError, match="replicate_type must be one of JK1"):
        Survey.from_frame(df, weight="pw", replicate_weights=["r1", "r2"], replicate_type="jk")


def test_as_replicate_jkn_equals_taylor_for_totals():
    # identity: JKn with rscales (n_h-1)/n_h (N_h-n_h)/N_h reproduces the stratified Taylor
    # variance of a total exactly (dstrat)
    d = DESIGNS["dstrat"]()
    r = sv.as_replicate(d, "JKn")
    assert sv.total(r, "enroll").se == pytest.approx(sv.total(d, "enroll").se, rel=1e-10)
    # rank(replicate weights) - 1: each stratum's columns sum to n_h x the full weights, so the
    # rank is 200 - (3 - 1) and the df equals the Taylor design's #PSU - #strata
    assert r.design_info().degf == 197


def test_every_analysis_runs_on_replicates(rclus1):
    # the group tests and models use replicate variances (checked against each other: the
    # design-based t-test on a 0/1 group equals the glm coefficient of that group)
    t = sv.ttest(rclus1, "api00", "sch.wide")
    g = sv.glm(rclus1, "api00 ~ sch.wide")
    assert g.to_frame().loc[1, "se"] == pytest.approx(abs(t.estimate / t.statistic), rel=1e-8)
    assert sv.anova(rclus1, "api00", "sch.wide").statistic == pytest.approx(t.statistic**2, rel=1e-8)
    for res in (sv.proportions(rclus1, "stype"), sv.ratio(rclus1, "api.stu", "enroll"),
                sv.quantile(rclus1, "api00", 0.5), sv.frequencies(rclus1, "stype")):
        assert np.isfinite(res.to_frame()["se"]).all()
    for res in (sv.mann_whitney(rclus1, "api00", "sch.wide"), sv.kruskal(rclus1, "api00", "stype"),
                sv.prop_test(rclus1, "sch.wide", "comp.imp")):
        assert 0 <= res.p_value <= 1 and "design" in res.method.lower()
    ct = sv.crosstab(rclus1, "sch.wide", by="stype")
    assert np.isfinite(ct.tests.loc["rao_scott_f", "p_value"])
    assert ct.tests.loc["rao_scott_f", "df_denom"] == pytest.approx(
        14 * ct.tests.loc["rao_scott_f", "df"], rel=1e-12)  # ddf = d0 * degf(design)
    assert np.isfinite(sv.logit(rclus1, "sch.wide ~ ell").to_frame()["se"]).all()


def test_raking_recalibrates_every_replicate(rclus1):
    # each replicate's weights reproduce the raking targets (R rake on an svrepdesign)
    targets = {"stype": POP, "sch.wide": {"No": 1072, "Yes": 5122}}
    r = sv.rake(rclus1, targets=targets)
    rep = r.design_info().replicate
    for j in range(rep.n_replicates):
        wr = rep.weights[:, j]
        got = pd.Series(wr).groupby(r.data["stype"].to_numpy(), observed=True).sum()
        assert got.to_dict() == pytest.approx(POP, rel=1e-5)
    assert sv.mean(r, "api00").se != pytest.approx(sv.mean(rclus1, "api00").se, rel=1e-3)


def test_quantile_interval_from_replicate_quantiles(rclus1):
    # R svyquantile(~api00, rclus1, 0.5, interval.type = "quantile") (repCI): the median under
    # each replicate's weights, svrVar, estimate +/- t(degf) SE; checked by hand here
    from scipy.stats import t as tdist

    from survey.analysis._intervals import qrule

    rep = rclus1.design_info().replicate
    y = rclus1.data["api00"].to_numpy(float)
    reps = np.array([qrule(y, rep.weights[:, r], 0.5) for r in range(rep.n_replicates)])
    se = np.sqrt(rep.scale * ((reps - reps.mean()) ** 2).sum())
    e = sv.quantile(rclus1, "api00", 0.5, interval_type="quantile")
    assert e.ci_high - e.estimate == pytest.approx(tdist.ppf(0.975, 14) * se, rel=1e-12)
    assert e.se == pytest.approx(se, rel=1e-12)
    with pytest.raises(sv.AnalysisError, match="needs a replicate-weight design"):
        sv.quantile(DESIGNS["dsrs"](), "api00", 0.5, interval_type="quantile")


def _paired_design(n_strata: int, seed: int = 0, rows: int = 3) -> pd.DataFrame:
    """``n_strata`` strata of two PSUs (``rows`` rows each), strata labelled out of order."""
    rng = np.random.default_rng(seed)
    h = np.repeat(np.arange(n_strata), 2 * rows)
    return pd.DataFrame({
        "h": [f"s{n_strata - 1 - k:02d}" for k in h],  # reversed: sorted order differs
        "psu": np.repeat(np.arange(2 * n_strata), rows),
        "w": rng.uniform(1, 4, 2 * rows * n_strata),
        "y": rng.normal(10, 3, 2 * rows * n_strata),
        "x": rng.uniform(1, 2, 2 * rows * n_strata),
    })


@hypothesis.settings(max_examples=15, deadline=None)
@hypothesis.given(n_strata=st.integers(1, 9), rho=st.sampled_from([None, 0.3, 0.5]),
                  seed=st.integers(0, 1000))
def test_brr_and_fay_total_variance_equals_taylor(n_strata, rho, seed):
    # identity (R brrweights with a Hadamard matrix of order > #strata): with two PSUs per
    # stratum and no fpc the BRR (and Fay) variance of a linear total is the Taylor
    # variance sum_h (t_h1 - t_h2)^2 exactly; the replicates average to the full-sample total
    # (full orthogonal balance)
    df = _paired_design(n_strata, seed)
    d = Survey.from_frame(df, weight="w", strata="h", psu="psu")
    r = sv.as_replicate(d, "BRR" if rho is None else "Fay", rho=rho)
    rep = r.design_info().replicate
    R = rep.n_replicates
    assert R == 1 << n_strata.bit_length() and R > n_strata  # Sylvester order above #strata
    assert sv.total(r, "y").se == pytest.approx(sv.total(d, "y").se, rel=1e-10)
    t_h = df.assign(t=df.w * df.y).groupby("psu").t.sum().to_numpy().reshape(-1, 2)
    assert sv.total(r, "y").se ** 2 == pytest.approx(((t_h[:, 0] - t_h[:, 1]) ** 2).sum(),
                                                     rel=1e-10)
    reps = rep.weights.T @ df.y.to_numpy()
    assert reps.mean() == pytest.approx(float(df.w @ df.y), rel=1e-12)
    mult = np.unique(np.round(rep.weights / df.w.to_numpy()[:, None], 12))
    f = 0.0 if rho is None else rho
    np.testing.assert_allclose(mult, sorted({f, 2 - f}))
    assert rep.scale == pytest.approx(1 / (R * (1 - f) ** 2))


def test_brr_half_samples_follow_r_brrweights():
    # R brrweights: strata sorted as text, PSUs in order of appearance; replicate i keeps
    # the first PSU of the k-th stratum where row k + 1 of the 0/1 Hadamard matrix is 1
    from survey.core.replicates import sylvester_hadamard

    df = _paired_design(3, rows=1)  # strata labels s00, s01, s02 in data order s00, s01, s02
    df["h"] = ["s02", "s02", "s00", "s00", "s01", "s01"]
    r = sv.as_replicate(Survey.from_frame(df, weight="w", strata="h", psu="psu"), "BRR")
    kept = r.design_info().replicate.weights > 0  # (6 rows = PSUs) x 4 replicates
    H = sylvester_hadamard(4)
    rank = {"s00": 0, "s01": 1, "s02": 2}
    for j, lab in enumerate(df.h):
        first = j % 2 == 0
        np.testing.assert_array_equal(kept[j], (H[1 + rank[lab]] == 1) == first)
    # every stratum has one PSU per replicate, each PSU in half the replicates
    assert (kept.reshape(3, 2, 4).sum(1) == 1).all() and (kept.sum(1) == 2).all()
    # ratio: replicate re-estimation (svrVar with scale 1/R), checked by hand
    rr = sv.ratio(r, "y", "x")
    W = r.design_info().replicate.weights
    th = (W.T @ df.y) / (W.T @ df.x)
    assert rr.se ** 2 == pytest.approx(((th - th.mean()) ** 2).sum() / 4, rel=1e-10)


def test_brr_refusals():
    df = _paired_design(2)
    d = Survey.from_frame(df, weight="w", strata="h", psu="psu")
    with pytest.raises(sv.AnalysisError, match="type='Fay' needs rho= in \\(0, 1\\)"):
        sv.as_replicate(d, "Fay")
    with pytest.raises(sv.AnalysisError, match="type='BRR' has rho = 0; use type='Fay'"):
        sv.as_replicate(d, "BRR", rho=0.5)
    with pytest.raises(sv.AnalysisError, match="rho= is Fay's coefficient"):
        sv.as_replicate(d, "JKn", rho=0.5)
    three = pd.concat([df, df.iloc[:3].assign(psu=99)], ignore_index=True)
    with pytest.raises(sv.AnalysisError, match="exactly two PSUs per stratum; stratum 's01' has 3"):
        sv.as_replicate(Survey.from_frame(three, weight="w", strata="h", psu="psu"), "BRR")
    with pytest.raises(sv.AnalysisError, match="BRR has no finite population correction"):
        sv.as_replicate(Survey.from_frame(df.assign(N=10), weight="w", strata="h", psu="psu",
                                          fpc="N"), "BRR")


def test_paley_is_r_survey_construction():
    # R survey ?paley: M <- paley(11); is.hadamard(M) -> TRUE; H <- 2*M - 1; H %*% t(H)
    # printed as 12 on the diagonal and 0 elsewhere. Construction (R's paley.R): cell (i, j)
    # of the core is 0 when (i + j) mod p is a quadratic residue or 0, else 1; border of 1s.
    from survey.core._hadamard import paley

    M = paley(11)
    H = 2 * M.astype(int) - 1
    np.testing.assert_array_equal(H @ H.T, 12 * np.eye(12))
    assert (M[0] == 1).all() and (M[:, 0] == 1).all()  # full orthogonal balance
    residues = {1, 3, 4, 5, 9}  # squares mod 11
    for i, j in [(0, 0), (1, 2), (3, 7), (5, 6), (10, 10)]:
        assert M[1 + i, 1 + j] == (0 if (i + j) % 11 in residues | {0} else 1)
    assert paley(20).shape == (24, 24) and paley(24).shape == (32, 32)  # p = 23, p = 31


def test_brr_with_user_hadamard_follows_r_brrweights():
    # R brrweights(..., hadamard.matrix = H): H <- ifelse(H == values[1], 0, 1) with values[1]
    # the first value in column-major order (so paley(11), whose [1,1] is 1, is used as
    # 1 - paley(11)); replicate i keeps the first PSU of the k-th sorted stratum where row
    # k + 1 of that matrix is 1; R = ncol(H) replicates. Five strata (not 2^k - 1).
    from survey.core._hadamard import paley

    df = _paired_design(5, rows=1)
    d = Survey.from_frame(df, weight="w", strata="h", psu="psu")
    r = sv.as_replicate(d, "BRR", hadamard=paley(11))
    W = r.design_info().replicate.weights
    assert W.shape == (10, 12)
    used = 1 - paley(11)
    kept = W > 0
    for j in range(10):  # rows are the PSUs: the first of its stratum when j is even; the
        k = 4 - j // 2  # strata are labelled in reverse, so row j's is the (4 - j//2)-th sorted
        np.testing.assert_array_equal(kept[j], (used[1 + k] == 1) == (j % 2 == 0))
    # whatever the coding (0/1, +-1, either sign) the first value is read as 0: same halves
    for coded in (2 * paley(11).astype(int) - 1, 1 - 2 * paley(11).astype(int)):
        r2 = sv.as_replicate(d, "BRR", hadamard=coded)
        np.testing.assert_array_equal(r2.design_info().replicate.weights > 0, kept)
    # totals: any Hadamard matrix gives the Taylor variance (R: linear statistics)
    assert sv.total(r, "y").se == pytest.approx(sv.total(d, "y").se, rel=1e-10)
    assert any("user-supplied, order 12" in n for n in sv.mean(r, "y").notes)
    assert any("Sylvester, order 8" in n for n in sv.mean(sv.as_replicate(d, "BRR"), "y").notes)


def test_brr_user_hadamard_refusals():
    from survey.core._hadamard import paley

    d = Survey.from_frame(_paired_design(5, rows=1), weight="w", strata="h", psu="psu")
    with pytest.raises(sv.AnalysisError, match="has 4 rows; the design has 5 strata"):
        sv.as_replicate(d, "BRR", hadamard=paley(3))
    bad = paley(11).copy()
    bad[3, 4] = 1 - bad[3, 4]
    with pytest.raises(sv.AnalysisError, match="is not a Hadamard matrix"):
        sv.as_replicate(d, "BRR", hadamard=bad)
    with pytest.raises(sv.AnalysisError, match="exactly two values"):
        sv.as_replicate(d, "BRR", hadamard=np.arange(144).reshape(12, 12))
    with pytest.raises(sv.AnalysisError, match="square matrix"):
        sv.as_replicate(d, "BRR", hadamard=np.ones((12, 8)))
    with pytest.raises(sv.AnalysisError, match="hadamard= is for type='BRR' or 'Fay'"):
        sv.as_replicate(d, "JKn", hadamard=paley(11))


@pytest.mark.parametrize("lonely,taylor,jkn", [
    # survey package tests/lonely.psu.Rout.save (printed to 5 significant digits):
    #   ds <- svydesign(id = ~1, weights = ~pw, strata = ~dnum, data = apiclus1)  # 413: 1 PSU
    #   options(survey.lonely.psu = <lonely>); svymean(~api00, ds);
    #   svymean(~api00, as.svrepdesign(ds))
    ("remove", 5.8058, 5.8058), ("certainty", 5.8058, 5.8058), ("adjust", 5.8281, 5.8267),
    ("average", 6.0096, 5.8217),
])
def test_jkn_lonely_psu_matches_r(lonely, taylor, jkn):
    d = load("apiclus1")
    s = Survey.from_frame(d, weight="pw", strata="dnum", lonely_psu=lonely)
    assert sv.mean(s, "api00").se == pytest.approx(taylor, rel=5e-5)
    assert sv.mean(sv.as_replicate(s, "JKn"), "api00").se == pytest.approx(jkn, rel=5e-5)


def test_jkn_certainty_stratum_by_fpc_matches_r():
    # same file: fpc <- ifelse(apiclus1$dnum == 413, 1, 1000)  (413 sampled exhaustively)
    #   svymean(~api00, as.svrepdesign(ds)): 5.7344 under "fail", 5.7501 under "average";
    #   rs <- as.svrepdesign(ds) ("average"): svytotal(~api00, rs) SE 35616;
    #   SE(svytotal(~api00, subset(rs, dnum == 413))) == 0
    d = load("apiclus1").assign(f=lambda x: np.where(x["dnum"] == 413, 1, 1000))
    for lonely, se in (("fail", 5.7344), ("average", 5.7501)):
        s = Survey.from_frame(d, weight="pw", strata="dnum", fpc="f", lonely_psu=lonely)
        rs = sv.as_replicate(s, "JKn")
        assert sv.mean(rs, "api00").se == pytest.approx(se, rel=5e-5)
    assert sv.total(rs, "api00").se == pytest.approx(35616, rel=5e-5)
    assert sv.total(rs, "api00", where=d["dnum"] == 413).se == 0
    # no replicate for the exhaustive stratum (R's survey.drop.replicates): 14 strata left
    assert rs.design_info().replicate.n_replicates == len(d) - 1
    with pytest.raises(sv.AnalysisError, match="stratum 413 has one PSU. Hint: set lonely_psu="):
        sv.as_replicate(Survey.from_frame(d, weight="pw", strata="dnum"), "JKn")


def test_raking_calibration_matches_r_rakecheck(dclus1, rclus1):
    # survey package tests/rakecheck.Rout.save (printed to 5 significant digits):
    #   poptotals <- colSums(model.matrix(~stype + sch.wide, apipop))
    #   rclus1g <- calibrate(rclus1, ~stype + sch.wide, poptotals, calfun = "raking")
    #   svymean(~api00, rclus1g): 641.23 SE 26.874; svytotal(~enroll, rclus1g): 3647280 SE 463582
    #   dclus1g (same on dclus1): 641.23 SE 23.704; 3647280 SE 400603 (rake(dclus1, ...) too)
    # (R's rake() on rclus1 printed 26.873 / 463511: its default control stops at a 1-unit
    # change of the cell totals, before the calibrate() fixed point that sv.rake reaches)
    T = {"stype": POP, "sch.wide": {"No": 1072, "Yes": 5122}}
    for s, se_m, se_t in ((sv.calibrate(rclus1, T, method="raking"), 26.874, 463582),
                          (sv.rake(rclus1, T), 26.874, 463582),
                          (sv.calibrate(dclus1, T, method="raking"), 23.704, 400603),
                          (sv.rake(dclus1, T), 23.704, 400603)):
        m, t = sv.mean(s, "api00"), sv.total(s, "enroll")
        assert (m.estimate, m.se) == (pytest.approx(641.23, abs=5e-3), pytest.approx(se_m, rel=5e-5))
        assert (t.estimate, t.se) == (pytest.approx(3647280, rel=5e-7), pytest.approx(se_t, rel=5e-6))
