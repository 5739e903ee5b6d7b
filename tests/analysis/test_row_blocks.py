"""Row passes a block at a time (issue 15, peak memory): ``survey.core._rows`` and the
Taylor paths that use it give the results of the one-pass computations.

The block size is patched down (``_rows.BLOCK``) so that small data cross many block
boundaries. The helpers are checked against NumPy's own ``bincount`` / ``take`` and the
mixed-radix formula; the estimates (proportions, domain means, crosstab tests and cell
SEs, raking and the mean on the raked design) against the same calls with one block, whose
agreement with R is checked in test_design_reference.py and test_weighting_reference.py;
the unit x cell totals against a pandas ``groupby`` sum. No R value is involved here.
A last test bounds the peak allocation (``tracemalloc``) by twice the columns read.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import survey as sv
from survey.core import _rows
from survey.core.design import Design
from survey.core.survey import category_codes

DTYPES = [np.int8, np.int16, np.int32, np.int64]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 120), top=st.integers(0, 40), block=st.integers(1, 17),
       dtype=st.sampled_from(DTYPES), weighted=st.booleans(), minlength=st.integers(0, 50),
       seed=st.integers(0, 10_000))
def test_blocked_bincount_and_take_equal_numpy(n, top, block, dtype, weighted, minlength, seed):
    rng = np.random.default_rng(seed)
    key = rng.integers(0, top + 1, n).astype(dtype)
    w = rng.normal(size=n) if weighted else None
    table = rng.normal(size=top + 1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_rows, "BLOCK", block)
        got = _rows.bincount(key, w, minlength=minlength)
        gathered = _rows.take(table, key)
    want = np.bincount(key.astype(np.int64), w, minlength=minlength)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(gathered, table[key.astype(np.int64)])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 90), sizes=st.lists(st.integers(1, 9), min_size=1, max_size=4),
       shift=st.sampled_from([0, 1]), block=st.integers(1, 13), seed=st.integers(0, 10_000))
def test_combined_codes_are_the_mixed_radix_key_in_a_small_type(n, sizes, shift, block, seed):
    rng = np.random.default_rng(seed)
    codes = [rng.integers(-shift, k - shift, n).astype(np.int8) for k in sizes]
    want = np.zeros(n, dtype=np.int64)
    for c, k in zip(codes, sizes):
        want = want * k + (c.astype(np.int64) + shift)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_rows, "BLOCK", block)
        got = _rows.combine_codes(codes, sizes, shift=shift)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == _rows.small_int(int(np.prod(sizes)) - 1)
    assert _rows.small_int(127) == np.int8 and _rows.small_int(128) == np.int16


def _frame(rng, n, n_psu, sort, zero=False):
    psu = rng.integers(0, n_psu, n)
    if sort:
        psu = np.sort(psu)
    item = rng.integers(0, 5, n).astype(float)
    item[rng.random(n) < 0.1] = np.nan  # missing answers: code -1
    w = rng.lognormal(0, 0.5, n)
    y = rng.normal(50, 10, n)
    if zero:  # some weights 0 (the non-positive paths), some y missing
        w[rng.random(n) < 0.05] = 0.0
        y[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "strata": psu * 4 // n_psu, "psu": psu, "w": w, "y": y,
        "item": pd.Categorical.from_codes(np.nan_to_num(item, nan=-1).astype(int), list("abcde")),
        "grp": pd.Categorical.from_codes(rng.integers(0, 4, n), list("PQRS")),
        "ma": pd.Categorical.from_codes(rng.integers(0, 3, n), list("xyz")),
        "mb": pd.Categorical.from_codes(rng.integers(0, 2, n), list("uv")),
    })


def _everything(df):
    s = sv.Survey.from_frame(df, weight="w", strata="strata", psu="psu")
    p = sv.proportions(s, "item")
    m = sv.mean(s, "y")
    d = sv.mean(s, "y", by="grp")
    ct = sv.crosstab(s, "item", by="grp")
    cells = ct.cell_estimates("column")
    tot = float(df["w"].sum())
    r = sv.rake(s, targets={"ma": {"x": 0.2, "y": 0.3, "z": 0.5}, "mb": {"u": 0.4, "v": 0.6}},
                tol=1e-10, max_iter=200)
    rm = sv.mean(r, "y")
    rp = sv.proportions(r, "item")
    return {
        "prop": np.r_[p.estimate, p.se], "mean": [m.estimate, m.se, m.deff],
        "dom": np.r_[d.estimate, d.se, d.deff, d.df, d.to_frame()["n"]],
        "tests": ct.tests[["statistic", "p_value"]].to_numpy().ravel(),
        "cells": np.r_[cells["estimate"].to_numpy().ravel(), cells["se"].to_numpy().ravel()],
        "counts": ct.counts.to_numpy().ravel(), "raked_w": r.weights / tot,
        "raked": np.r_[rm.estimate, rm.se, rp.estimate, rp.se],
    }


@pytest.mark.parametrize("zero", [False, True], ids=["positive weights", "zero weights, NaN"])
@pytest.mark.parametrize("sort", [True, False], ids=["rows sorted by PSU", "PSUs scattered"])
def test_estimates_in_blocks_equal_one_pass(sort, zero):
    rng = np.random.default_rng(3 if sort else 4)
    df = _frame(rng, 3000, 60, sort, zero)
    one = _everything(df)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_rows, "BLOCK", 37)  # 82 blocks; scattered PSUs: 60 x 20 cells per block
        blocks = _everything(df)
    for key, want in one.items():
        np.testing.assert_allclose(blocks[key], want, rtol=1e-10, atol=1e-13, err_msg=key)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 200), units=st.integers(1, 12), k=st.integers(1, 6),
       sort=st.booleans(), block=st.integers(1, 9), seed=st.integers(0, 10_000))
def test_unit_totals_equal_a_groupby_sum(n, units, k, sort, block, seed):
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, units, n)
    psu = np.sort(psu) if sort else psu
    df = pd.DataFrame({"psu": psu, "w": rng.lognormal(size=n)})
    if df["psu"].nunique() < 2:
        return
    design = Design.from_survey(sv.Survey.from_frame(df, weight="w", psu="psu"))
    key = rng.integers(-1, k, n).astype(np.int8)  # -1: left out
    x = rng.normal(size=n)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_rows, "BLOCK", block)
        got = design.unit_totals(x, key, k)
    cl = design.stages[-1].row_cluster
    keep = key >= 0
    want = np.zeros((len(design.stages[-1].stratum), k))
    sums = pd.Series(x[keep]).groupby([cl[keep], key[keep]]).sum()
    for (u, c), v in sums.items():
        want[u, c] = v
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_narrow_category_codes_are_a_read_only_view_of_the_same_codes():
    df = pd.DataFrame({"a": pd.Categorical(["x", None, "y", "x"])})
    s = sv.Survey.from_frame(df)
    wide, _ = category_codes(s, "a")
    small, _ = category_codes(s, "a", narrow=True)
    assert wide.dtype == np.int64 and small.dtype == np.int8
    np.testing.assert_array_equal(small, wide)
    with pytest.raises(ValueError, match="read-only"):
        small[0] = 1


def _peak(fn):
    fn()  # warm-up: the design and its caches are built once, as in bench_svy.py
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        res = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del res
    return peak


def test_peak_memory_below_twice_the_columns_read():
    """Proportions, the crosstab with cell SEs and tests, and raking allocate less than twice
    the bytes of the columns they read (int32 strata and PSU, float64 weight, 1-byte
    category codes), beyond the data and the cached design (issue 15's measure)."""
    rng = np.random.default_rng(5)
    n, n_psu = 600_000, 2_000
    psu = np.sort(rng.integers(0, n_psu, n)).astype(np.int32)
    df = pd.DataFrame({"strata": (psu * 10 // n_psu).astype(np.int32), "psu": psu,
                       "w": rng.lognormal(0, 0.5, n)})
    for name, k in (("item", 5), ("grp", 4), ("ma", 3), ("mb", 4), ("mc", 5)):
        df[name] = pd.Categorical.from_codes(rng.integers(0, k, n).astype(np.int8), range(k))
    s = sv.Survey.from_frame(df, weight="w", strata="strata", psu="psu")
    design_bytes = 4 * n + 4 * n + 8 * n
    tot = float(df["w"].sum())
    targets = {m: {i: tot / k for i in range(k)} for m, k in (("ma", 3), ("mb", 4), ("mc", 5))}

    def xtab():
        ct = sv.crosstab(s, "item", by="grp")
        return ct, ct.tests, ct.cell_estimates("column")

    tasks = {
        "proportions": (lambda: sv.proportions(s, "item"), design_bytes + n),
        "crosstab": (xtab, design_bytes + 2 * n),
        "rake": (lambda: sv.rake(s, targets=targets, tol=1e-10), design_bytes + 3 * n),
    }
    for name, (fn, cols) in tasks.items():
        peak = _peak(fn)
        assert peak < 2 * cols, f"{name}: peak {peak / 2**20:.1f} MiB >= 2 x {cols / 2**20:.1f} MiB"


@settings(max_examples=25, deadline=None)
@given(n=st.integers(30, 160), n_psu=st.integers(4, 20), zero=st.booleans(),
       block=st.integers(3, 40), seed=st.integers(0, 10_000))
def test_raked_mean_and_total_blockwise_equal_the_row_level_residuals(n, n_psu, zero, block,
                                                                      seed):
    """SE of a mean and a total on a raked clustered design (`Design.raked_unit_totals`, a
    block at a time) vs `vcov_weighted` of the row-level scores, whose raking residuals
    test_speed_paths checks against R's back-fitting loop."""
    rng = np.random.default_rng(seed)
    df = _frame(rng, n, n_psu, sort=bool(seed % 2), zero=zero)
    if df["psu"].nunique() < 2 or df["ma"].nunique() < 3 or df["mb"].nunique() < 2:
        return
    s = sv.Survey.from_frame(df, weight="w", psu="psu")
    r = sv.rake(s, targets={"ma": {"x": 0.2, "y": 0.3, "z": 0.5}, "mb": {"u": 0.4, "v": 0.6}})
    design = Design.from_survey(r)
    y = df["y"].to_numpy()
    ok = ~np.isnan(y)
    w = design.weights * ok
    y0 = np.where(ok, y, 0.0)
    W = w.sum()
    m = (w @ y0) / W
    want_mean = np.sqrt(design.vcov_weighted((w * (y0 - m) / W)[:, None])[0, 0])
    want_total = np.sqrt(design.vcov_weighted((w * y0)[:, None])[0, 0])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_rows, "BLOCK", block)
        got_mean, got_total = sv.mean(r, "y"), sv.total(r, "y")
    np.testing.assert_allclose([got_mean.estimate, got_mean.se], [m, want_mean], rtol=1e-9)
    np.testing.assert_allclose([got_total.estimate, got_total.se], [w @ y0, want_total],
                               rtol=1e-9)


def test_psus_not_nested_in_strata_are_refused_in_any_block():
    """The nesting check runs a block at a time: a PSU that changes stratum in the last
    block is still found (and a nested design still builds)."""
    df = pd.DataFrame({"st": np.repeat([0, 1], 50), "psu": np.repeat(np.arange(10), 10),
                       "w": 1.0})
    bad = df.copy()
    bad.loc[99, "psu"] = 0  # PSU 0 (stratum 0) also in stratum 1, in the last block
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_rows, "BLOCK", 16)
        Design.from_survey(sv.Survey.from_frame(df, weight="w", strata="st", psu="psu"))
        with pytest.raises(sv.SurveyError, match="not nested in strata"):
            Design.from_survey(sv.Survey.from_frame(bad, weight="w", strata="st", psu="psu"))
