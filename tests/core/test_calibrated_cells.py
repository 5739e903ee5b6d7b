"""Cell totals and their covariance after raking or post-stratification, from unit totals
(``Design._calibrated_cells_vcov``), against the row-by-row calibration residuals it
replaces (``CalibrationStep.residualize``, R ``svyrecvar``'s post-stratification and raking
branches, checked against R in tests/weighting and tests/reference_r).

The residuals of the K indicator columns differ from them by a shift constant within each
calibration cell, so their unit totals are the unit x cell totals minus (unit x calibration
cell totals of the weights) @ shift: no (rows x K) table. Random clustered designs, cells
left out (-1), values or not, to 1e-10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survey as sv
from survey.core.design import Design


def _survey(seed: int, n_strata: int, zero_weights: bool):
    rng = np.random.default_rng(seed)
    n = 900
    psu = rng.integers(0, 12 * n_strata, n)
    w = rng.lognormal(0, 0.5, n)
    if zero_weights:
        w[rng.random(n) < 0.03] = 0.0
    df = pd.DataFrame({
        "psu": psu, "st": psu % n_strata, "w": w,
        "a": pd.Categorical.from_codes(rng.integers(0, 3, n), list("xyz")),
        "b": pd.Categorical.from_codes(rng.integers(0, 4, n), list("pqrs")),
        "c": pd.Categorical.from_codes(rng.integers(0, 2, n), list("mf")),
    })
    return sv.Survey.from_frame(df, weight="w", strata="st", psu="psu"), df, rng


def _calibrated(s, df, how: str):
    def totals(m, factor):
        return (df.groupby(m, observed=True)["w"].sum() * factor).to_dict()

    if how == "rake2":
        return sv.rake(s, {"a": totals("a", 1.1), "b": totals("b", 1.1)})
    if how == "rake3":
        return sv.rake(s, {"a": totals("a", 0.9), "b": totals("b", 0.9),
                           "c": totals("c", 0.9)})
    return sv.poststratify(s, "a", totals("a", 1.2))


def _general_path(design, *args):
    orig = Design._calibrated_cells_vcov
    Design._calibrated_cells_vcov = lambda self, *a: None
    try:
        return design.cell_totals_vcov(*args)
    finally:
        Design._calibrated_cells_vcov = orig


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_strata=st.integers(1, 4),
       how=st.sampled_from(["rake2", "rake3", "poststrat"]), left_out=st.booleans(),
       with_values=st.booleans(), zero_weights=st.booleans())
def test_unit_total_shortcut_equals_the_row_residuals(seed, n_strata, how, left_out,
                                                     with_values, zero_weights):
    s, df, rng = _survey(seed, n_strata, zero_weights)
    design = _calibrated(s, df, how).design_info()
    assert len(design.calibration) == 1
    K = 12
    cell = rng.integers(0, K, len(df))
    if left_out:
        cell[rng.random(len(df)) < 0.1] = -1
    values = rng.normal(1, 0.5, len(df)) if with_values else None
    assert design._calibrated_cells_vcov is not None
    T, V = design.cell_totals_vcov(cell, K, values)
    T0, V0 = _general_path(design, cell, K, values)
    np.testing.assert_allclose(T, T0, rtol=1e-12, atol=1e-9 * np.abs(T0).max())
    np.testing.assert_allclose(V, V0, rtol=1e-10, atol=1e-10 * np.abs(V0).max())


def test_the_shortcut_is_used_only_where_it_holds():
    """GREG calibration and two calibration steps keep the row-by-row residuals."""
    s, df, rng = _survey(1, 2, False)
    cell = rng.integers(0, 6, len(df))
    raked = _calibrated(s, df, "rake2")
    d = raked.design_info()
    assert d._calibrated_cells_vcov(d.weights, cell, 6) is not None
    twice = sv.poststratify(raked, "c", (df.groupby("c", observed=True)["w"].sum()).to_dict())
    d2 = twice.design_info()
    assert len(d2.calibration) == 2
    assert d2._calibrated_cells_vcov(d2.weights, cell, 6) is None
    T, V = d2.cell_totals_vcov(cell, 6)  # the general path still answers
    assert np.isfinite(V).all()


@pytest.mark.parametrize("how", ["rake2", "poststrat"])
def test_banner_letters_on_a_calibrated_design_are_unchanged(how):
    """The banner's design-based letters on a raked or post-stratified design go through
    cell_totals_vcov: the same statistics with and without the shortcut."""
    s, df, _ = _survey(4, 3, False)
    cal = _calibrated(s, df, how)
    kw = dict(rows=["b", "c"], by=["a", "c"], min_base=1, suppress_below=0)
    fast = sv.banner(cal, **kw).tests
    orig = Design._calibrated_cells_vcov
    Design._calibrated_cells_vcov = lambda self, *a: None
    try:
        slow = sv.banner(cal, **kw).tests
    finally:
        Design._calibrated_cells_vcov = orig
    np.testing.assert_allclose(fast["statistic"], slow["statistic"], rtol=1e-10)


def test_calibrated_banner_pairs_on_threads_equal_one_thread(monkeypatch):
    """On large data the question x banner-variable pairs of a calibrated design run on
    threads; each pair is computed alone, so the result is exactly that of one thread."""
    from survey.analysis import _banner_letters as bl

    s, df, _ = _survey(6, 2, False)
    cal = _calibrated(s, df, "rake3")
    kw = dict(rows=["b", "c", "a"], by=["a", "c"], min_base=1, suppress_below=0)
    monkeypatch.setattr(bl, "THREADED_ROWS", 0)
    monkeypatch.setattr(bl, "THREADS", 2)
    threaded = sv.banner(cal, **kw).tests
    monkeypatch.setattr(bl, "THREADS", 1)
    pd.testing.assert_frame_equal(threaded, sv.banner(cal, **kw).tests, check_exact=True)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_strata=st.integers(1, 4),
       how=st.sampled_from(["rake2", "rake3", "poststrat"]), k=st.integers(1, 4),
       zero_weights=st.booleans())
def test_any_weighted_values_take_the_same_shortcut(seed, n_strata, how, k, zero_weights):
    """``vcov_weighted`` of any weighted values (means, proportions, totals) after one
    raking or post-stratification: unit totals minus (unit x calibration-cell totals) @
    shift equal the unit totals of the row residuals."""
    s, df, rng = _survey(seed, n_strata, zero_weights)
    design = _calibrated(s, df, how).design_info()
    x = rng.normal(0, 2, (len(df), k)) * design.weights[:, None]
    got = design.vcov_weighted(x)
    step = design.calibration[0]
    want = design.vcov_units(design._unit_sums(step.residualize(x)))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())
