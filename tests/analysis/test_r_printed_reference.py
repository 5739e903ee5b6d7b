"""Reference values printed by R itself, found in public R output (package test ``.Rout.save``
files, rendered package documentation): each test names its source and compares at the
precision R printed (stated beside each assertion).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import read_api

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
