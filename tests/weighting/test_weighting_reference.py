"""Weighting against R's survey package: rake, postStratify, calibrate (1e-6 relative).

References: tests/data/reference/weighting.json (dsrs) and design_multistage.json (cluster
designs, tests/reference_r/design_multistage.R). The R call is quoted beside each assertion.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import survey as sv
from survey.analysis._design_tests import rao_scott_tests
from survey.core.survey import Survey, category_codes

DATA = Path(__file__).resolve().parents[1] / "data" / "reference"
FACTORS = ["stype", "sch.wide", "comp.imp", "both", "awards", "yr.rnd"]
# pop.types / pop.schwide from apipop
TYPES = {"stype": {"E": 4421, "H": 755, "M": 1018}}
SCHWIDE = {"sch.wide": {"No": 1072, "Yes": 5122}}


def load(name):
    d = pd.read_csv(DATA / f"{name}.csv", dtype={"cds": str})
    for c in FACTORS:
        d[c] = pd.Categorical(d[c], categories=sorted(d[c].dropna().unique()))
    return d


def results(name):
    return {r["id"]: r["values"] for r in json.loads((DATA / name).read_text())["results"]}


def _flat(x):
    if isinstance(x, dict):
        x = list(x.values())
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in np.ravel(_flat(item))]
    return x


def close(a, e, rtol=1e-6, atol=0.0):
    a, e = np.asarray(_flat(a), float), np.asarray(_flat(e), float)
    np.testing.assert_allclose(a, e.reshape(a.shape) if a.size == e.size else e, rtol=rtol,
                               atol=atol)


def dsrs():
    # dsrs = svydesign(id = ~1, weights = ~pw, data = apisrs, fpc = ~fpc)
    return Survey.from_frame(load("apisrs"), weight="pw", fpc="fpc")


def dclus1():
    # dclus1 = svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
    return Survey.from_frame(load("apiclus1"), psu="dnum", weight="pw", fpc="fpc")


def dclus2():
    # dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
    return Survey.from_frame(load("apiclus2"), psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])


SRS_CASES = {
    # d <- rake(dsrs, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
    #           control = list(maxit = 1000, epsilon = 1e-13))
    "dsrs/rake/stype+sch.wide/converged": lambda: sv.rake(dsrs(), {**TYPES, **SCHWIDE}),
    # d <- postStratify(dsrs, ~stype, pop.types)
    "dsrs/postStratify/stype": lambda: sv.poststratify(dsrs(), "stype", TYPES["stype"]),
    # d <- calibrate(dsrs, ~stype + sch.wide, population = c(`(Intercept)` = 6194,
    #                stypeH = 755, stypeM = 1018, sch.wideYes = 5122), calfun = "linear")
    "dsrs/calibrate/linear/stype+sch.wide": lambda: sv.calibrate(dsrs(), {**TYPES, **SCHWIDE}),
    # d <- calibrate(dsrs, ~stype + sch.wide, population = c(...), calfun = "raking",
    #                epsilon = 1e-12, maxit = 100)
    "dsrs/calibrate/raking/stype+sch.wide": lambda: sv.calibrate(
        dsrs(), {**TYPES, **SCHWIDE}, method="raking"),
    # d <- calibrate(dsrs, ~stype, population = c(`(Intercept)` = 6194, stypeH = 755,
    #                stypeM = 1018), calfun = "linear")
    "dsrs/calibrate/linear/stype": lambda: sv.calibrate(dsrs(), TYPES),
}


@pytest.mark.parametrize("case", list(SRS_CASES))
def test_srs_weighting_matches_r(case):
    r = results("weighting.json")[case]
    s = SRS_CASES[case]()
    # svymean(~api00, d)
    m = sv.mean(s, "api00")
    close([m.estimate, m.se], [r["svymean_api00"]["estimate"], r["svymean_api00"]["se"]])
    # svytotal(~enroll, d)
    t = sv.total(s, "enroll")
    close([t.estimate, t.se], [r["svytotal_enroll"]["estimate"], r["svytotal_enroll"]["se"]])
    # svymean(~stype, d): stype is calibrated, so its SE is 0 (up to rounding)
    p = sv.proportions(s, "stype")
    close(p.estimate.to_numpy(), list(r["svymean_stype"]["estimate"].values()))
    close(p.se.to_numpy(), 0.0, atol=1e-10)
    # summary(weights(d)); sum, min, max of the weights
    close([s.weights.sum(), s.weights.min(), s.weights.max()],
          [r["weights_sum"], r["weights_min"], r["weights_max"]])


CLUSTER_CASES = {
    "rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = list("
    "maxit = 1000, epsilon = 1e-13))": lambda: sv.rake(dclus1(), {**TYPES, **SCHWIDE}),
    "rake(dclus2, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = list("
    "maxit = 1000, epsilon = 1e-13))": lambda: sv.rake(dclus2(), {**TYPES, **SCHWIDE}),
    "postStratify(dclus1, ~stype, pop.types)": lambda: sv.poststratify(dclus1(), "stype",
                                                                       TYPES["stype"]),
    "postStratify(dclus2, ~stype, pop.types)": lambda: sv.poststratify(dclus2(), "stype",
                                                                       TYPES["stype"]),
    "calibrate(dclus1, ~stype + api99, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, "
    "api99 = 3914069))": lambda: sv.calibrate(dclus1(), {**TYPES, "api99": 3914069}),
    "calibrate(dclus2, ~stype + sch.wide, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018,"
    " sch.wideYes = 5122), calfun = 'raking', epsilon = 1e-12, maxit = 100)":
        lambda: sv.calibrate(dclus2(), {**TYPES, **SCHWIDE}, method="raking"),
    "calibrate(dclus1, ~stype, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018), calfun = "
    "'logit', bounds = c(0.5, 2), epsilon = 1e-12, maxit = 100)":
        lambda: sv.calibrate(dclus1(), TYPES, method="logit", bounds=(0.5, 2)),
    "calibrate(dclus1, ~stype + api99, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, "
    "api99 = 3914069), bounds = c(0.7, 1.7), epsilon = 1e-12, maxit = 200)":
        lambda: sv.calibrate(dclus1(), {**TYPES, "api99": 3914069}, bounds=(0.7, 1.7)),
}


@pytest.mark.parametrize("call", list(CLUSTER_CASES))
def test_cluster_weighting_matches_r(call):
    r = results("design_multistage.json")[call]
    s = CLUSTER_CASES[call]()
    # weights(d)
    close(s.weights, r["weights"], rtol=1e-8)
    # svymean(~api00, d); svytotal(~enroll, d, na.rm = TRUE)
    m, t = sv.mean(s, "api00"), sv.total(s, "enroll")
    close([m.estimate, m.se], [r["svymean_api00"]["estimate"], r["svymean_api00"]["se"]])
    close([t.estimate, t.se], [r["svytotal_enroll"]["estimate"], r["svytotal_enroll"]["se"]])
    # svymean(~sch.wide, d)  (near 0 when sch.wide is a calibration margin)
    p = sv.proportions(s, "sch.wide")
    close(p.estimate.to_numpy(), r["svymean_schwide"]["estimate"])
    close(p.se.to_numpy(), r["svymean_schwide"]["se"], atol=1e-9)
    # svychisq(~comp.imp + stype, d)
    a, _ = category_codes(s, "comp.imp")
    b, _ = category_codes(s, "stype")
    q = rao_scott_tests(s, a, b, 2, 3).loc["rao_scott_f"]
    rr = r["svychisq_F"]
    close([q.statistic, q.df, q.df_denom, q.p_value],
          [rr["statistic"], rr["parameter"]["ndf"], rr["parameter"]["ddf"], rr["p_value"]])


def test_rake_report_and_margins():
    s = sv.rake(dsrs(), {**TYPES, **SCHWIDE})
    rep = s.weighting
    assert rep.converged and rep.max_deviation <= 1e-6
    m = rep.margins.set_index(["var", "category"])
    close(m["achieved"], m["target"], rtol=1e-9)
    # the unadjusted weighted counts: svytable(~stype, dsrs) = 4397.74, 774.25, 1022.01
    close(m.loc["stype", "before"], [4397.74, 774.25, 1022.01])
    w = s.weights
    close(rep.deff_kish, len(w) * (w**2).sum() / w.sum() ** 2)
    close(rep.n_effective, w.sum() ** 2 / (w**2).sum())
    assert s.weight == "weight" and "weight" in s.data and len(s.calibration) == 1
    assert "Weighting report (rake)" in rep._repr_html_()


def test_unadjusted_srs_matches_r():
    # d <- dsrs (weighting.json "dsrs/unadjusted"): the base design the weighting starts from
    r = results("weighting.json")["dsrs/unadjusted"]
    s = dsrs()
    m, t = sv.mean(s, "api00"), sv.total(s, "enroll")  # svymean(~api00, d); svytotal(~enroll, d)
    close([m.estimate, m.se], [r["svymean_api00"]["estimate"], r["svymean_api00"]["se"]])
    close([t.estimate, t.se], [r["svytotal_enroll"]["estimate"], r["svytotal_enroll"]["se"]])
    p = sv.proportions(s, "stype")  # svymean(~stype, d)
    close(p.estimate.to_numpy(), list(r["svymean_stype"]["estimate"].values()))
    close(p.se.to_numpy(), list(r["svymean_stype"]["se"].values()))
    close([s.weights.sum(), s.weights.min(), s.weights.max()],
          [r["weights_sum"], r["weights_min"], r["weights_max"]])


def _kalton():
    # survey package tests/kalton.Rout.save:
    #   ab <- expand.grid(a = factor(1:4), b = factor(1:3))
    #   kaltonsample <- ab[rep(1:12, c(20,50,100,30,40,140,50,100,40,310,50,70)), ]
    #   kaltonpop <- ab[rep(1:12, c(80,60,170,55,40,150,60,165,55,340,200,125)), ]
    #   dkalton <- svydesign(id = ~1, data = kaltonsample)
    a, b = np.tile([1, 2, 3, 4], 3), np.repeat([1, 2, 3], 4)
    ns = [20, 50, 100, 30, 40, 140, 50, 100, 40, 310, 50, 70]
    pop = [80, 60, 170, 55, 40, 150, 60, 165, 55, 340, 200, 125]
    d = pd.DataFrame({"an": np.repeat(a, ns), "bn": np.repeat(b, ns), "w": 1.0})
    d["a"], d["b"] = pd.Categorical(d["an"].astype(str)), pd.Categorical(d["bn"].astype(str))
    na = np.bincount(a, weights=pop)[1:]
    nb = np.bincount(b, weights=pop)[1:]
    margins = {"a": {str(k + 1): float(v) for k, v in enumerate(na)},
               "b": {str(k + 1): float(v) for k, v in enumerate(nb)}}
    greg = {"(Intercept)": float(sum(pop)), "an": float(a @ pop), "bn": float(b @ pop)}
    return Survey.from_frame(d, weight="w"), margins, greg


KALTON = {  # round(svytable(~a+b, d)/xtabs(~a+b, kaltonsample), 2): rows a = 1..4, cols b
    # table B: rake(dkalton, list(~a, ~b), ..., control = list(epsilon = 0.0001)) and
    #          calibrate(dkalton, ~a+b, marginalpop, calfun = "raking")
    "rake": [[1.81, 1.45, 2.02], [1.08, 0.87, 1.21], [2.20, 1.76, 2.45], [1.83, 1.47, 2.04]],
    "raking": [[1.81, 1.45, 2.02], [1.08, 0.87, 1.21], [2.20, 1.76, 2.45], [1.83, 1.47, 2.04]],
    # table C: calibrate(dkalton, ~a+b, marginalpop)
    "linear": [[1.82, 1.50, 1.97], [1.09, 0.78, 1.24], [2.19, 1.88, 2.34], [1.83, 1.52, 1.98]],
    # table D: calibrate(dkalton, ~as.numeric(a)+as.numeric(b), gregpop)
    "greg": [[1.21, 1.17, 1.14], [1.43, 1.40, 1.36], [1.66, 1.62, 1.59], [1.88, 1.85, 1.81]],
    # table G: calibrate(dkalton, ~a+b, marginalpop, bounds = c(0.5, 2.2), calfun = "logit")
    "logit": [[1.87, 1.46, 1.98], [1.08, 0.74, 1.27], [2.17, 2.09, 2.18], [1.89, 1.49, 1.99]],
    # table G: calibrate(dkalton, ~a+b, marginalpop, bounds = c(0.5, 2.2))
    "trunclinear": [[1.81, 1.48, 1.99], [1.08, 0.75, 1.26], [2.20, 2.00, 2.20],
                    [1.83, 1.50, 2.00]],
}


@pytest.mark.parametrize("kind", list(KALTON))
def test_kalton_calibration_tables_match_r(kind):
    s, margins, greg = _kalton()
    out = {"rake": lambda: sv.rake(s, margins),
           "raking": lambda: sv.calibrate(s, margins, method="raking"),
           "linear": lambda: sv.calibrate(s, margins),
           "greg": lambda: sv.calibrate(s, greg),
           "logit": lambda: sv.calibrate(s, margins, method="logit", bounds=(0.5, 2.2)),
           "trunclinear": lambda: sv.calibrate(s, margins, bounds=(0.5, 2.2))}[kind]()
    g = out.data.assign(g=out.weights / s.weights).groupby(["a", "b"], observed=True)["g"]
    assert (g.max() - g.min()).max() < 1e-9  # one g-weight per cell
    table = g.first().unstack().to_numpy()
    np.testing.assert_allclose(table, KALTON[kind], atol=0.005 + 1e-12)  # printed to 2 decimals
