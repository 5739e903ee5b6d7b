"""adjust_pvalues against R's p.adjust, NaN handling included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import survey as sv
from survey.errors import AnalysisError

METHODS = ["holm", "hochberg", "hommel", "bonferroni", "BH", "BY"]


@pytest.mark.parametrize("method", METHODS)
def test_matches_r(classics, method):
    # R: p.adjust(c(1e-04, 0.004, 0.012, 0.019, 0.03, 0.03, 0.041, 0.2, 0.45, 0.9), method = method)
    v = classics[f"classic/p.adjust/{method}"]
    np.testing.assert_allclose(sv.adjust_pvalues(v["p"], method=method), v["adjusted"], rtol=1e-12)
    np.testing.assert_allclose(sv.adjust_pvalues(v["p"], method=method.upper()), v["adjusted"], rtol=1e-12)


@pytest.mark.parametrize("method", ["holm", "BH", "bonferroni"])
def test_nan_as_r(classics, method):
    # R: p.adjust(c(0.01, NA, 0.04, 0.03, 0.2), method = method)  -- n counts non-NA values
    v = classics[f"classic/p.adjust/with_NA/{method}"]
    p = [np.nan if x is None else x for x in v["p"]]
    want = [np.nan if x is None else x for x in v["adjusted"]]
    np.testing.assert_allclose(sv.adjust_pvalues(p, method=method), want, rtol=1e-12)


def test_unknown_method():
    with pytest.raises(AnalysisError, match="unknown method 'sidak'; expected one of holm"):
        sv.adjust_pvalues([0.1], method="sidak")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=25), st.sampled_from(METHODS))
def test_monotone_and_not_below_raw(p, method):
    p = np.array(p)
    adj = sv.adjust_pvalues(p, method=method)
    assert (adj >= p - 1e-15).all() and (adj <= 1).all()
    order = np.argsort(p, kind="stable")
    assert (np.diff(adj[order]) >= -1e-12).all()
