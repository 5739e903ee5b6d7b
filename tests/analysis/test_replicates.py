"""Replicate-weight designs (R svrepdesign / as.svrepdesign): variance from replicate
re-estimation, svrVar's scale/rscales/mse, weighting that re-calibrates every replicate.

R values: the survey package's tests/api.Rout.save (printed to 5 significant digits, so
compared at 5e-5); otherwise independent computations, stated beside each test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_design_reference import DESIGNS

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
