"""The compiled one-pass banner letters (survey.analysis._banner_fused) against the NumPy path
they replace from 200,000 rows (survey.analysis._banner_taylor.prop_covs, itself checked
against the textbook variance and R in test_banner_taylor.py / test_banner_design.py).

Random small clustered designs: several questions (with nets) and banner variables, answers
and banner codes missing, rows in any order (units not contiguous), strata sampled
completely (s_h = 0), one or two threads; to 1e-10 of the variances involved.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survey as sv
from survey.analysis import _banner_fused as fu
from survey.analysis import _banner_letters as bl
from survey.analysis import _banner_taylor as tay


def _frame(seed: int, n_strata: int, missing: float, shuffled: bool, complete: bool):
    rng = np.random.default_rng(seed)
    n_psu = 5 * n_strata + 2
    n = 40 * n_psu
    psu = rng.integers(0, n_psu, n)
    stratum = psu % n_strata
    effect = rng.normal(0, 0.8, n_psu)[psu]
    cols = {"psu": psu, "st": stratum, "w": rng.lognormal(0, 0.5, n)}
    for i, k in enumerate((2, 4, 5)):
        q = np.clip(np.round(k / 2 + effect + rng.normal(0, 1, n)), 0, k - 1).astype(np.int8)
        q[rng.random(n) < missing] = -1
        cols[f"q{i}"] = q
    for i, kb in enumerate((2, 3, 4)):
        g = rng.integers(0, kb, n).astype(np.int8)
        g[rng.random(n) < missing] = -1
        cols[f"g{i}"] = g
    df = pd.DataFrame(cols)
    n_psu_0 = df.loc[df["st"] == 0, "psu"].nunique()
    df["fpc"] = np.where(df["st"] == 0, float(n_psu_0) if complete else 80.0, 150.0)
    if not shuffled:  # grouped by stratum then PSU, as the units are numbered
        df = df.sort_values(["st", "psu"], kind="stable").reset_index(drop=True)
    return df


QUESTIONS = {"q0": 2, "q1": 4, "q2": 5}
BANNERS = {"g0": 2, "g1": 3, "g2": 4}


def _members(k: int, net: bool) -> np.ndarray:
    M = np.eye(k)
    if net and k > 2:
        M = np.vstack([M, np.r_[1.0, 1.0, np.zeros(k - 2)]])  # a top-2 style net
    return M


def _assert_close(a: np.ndarray, b: np.ndarray):
    """Equal to 1e-10 of the geometric mean of the two columns' variances (a covariance
    may be ~0), NaN (an empty column) in the same places."""
    ok = np.isfinite(b)
    assert (np.isfinite(a) == ok).all()
    scale = np.sqrt(np.abs(np.einsum("rii->ri", np.nan_to_num(b))))
    tol = 1e-10 * np.maximum(scale[:, :, None] * scale[:, None, :], 1e-300)
    assert (np.abs(a - b)[ok] <= tol[ok]).all()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_strata=st.integers(1, 4),
       missing=st.sampled_from([0.0, 0.1]), shuffled=st.booleans(), fpc=st.booleans(),
       complete=st.booleans(), net=st.booleans(), threads=st.sampled_from([1, 2, 3]))
def test_fused_pass_equals_the_numpy_path(seed, n_strata, missing, shuffled, fpc, complete,
                                          net, threads):
    df = _frame(seed, n_strata, missing, shuffled, complete and fpc)
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu",
                             fpc="fpc" if fpc else None)
    design = s.design_info()
    ul = tay.unit_layout(design)
    if ul is None:  # a lonely PSU: neither path applies
        return
    w = np.asarray(design.weights, dtype=float)
    questions = [(df[q].to_numpy(), k) for q, k in QUESTIONS.items()]
    members = [_members(k, net) for k in QUESTIONS.values()]
    by = [df[g].to_numpy() for g in BANNERS]
    pl = fu.plan(questions, members, by, list(BANNERS.values()))
    order, ustart = fu.unit_order(ul.unit, ul.n_units)
    assert (order is None) == bool((np.diff(ul.unit) >= 0).all())  # rows already by unit
    with np.errstate(divide="ignore", invalid="ignore"):
        got = fu.prop_covs_fused(ul, order, ustart, w, pl, threads=threads)
        for qi, ((codes, k), M) in enumerate(zip(questions, members)):
            jbs = [(tay.shift_codes(g, ul.unit, ul.n_units), kb)
                   for g, kb in zip(by, BANNERS.values())]
            want = tay.prop_covs(ul, w, codes, k, jbs, M)  # the centred NumPy path
            for b, V in enumerate(want):
                _assert_close(got[b][pl.roff[qi]:pl.roff[qi + 1]], V)


def test_totals_without_the_joint_pattern_are_the_same(monkeypatch):
    """Many banner columns: the totals are counted per banner variable instead of through
    the joint pattern of a row's codes; both give the same covariances."""
    df = _frame(3, 3, 0.1, True, False)
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu", fpc="fpc")
    design = s.design_info()
    ul = tay.unit_layout(design)
    w = np.asarray(design.weights, dtype=float)
    pl = fu.plan([(df[q].to_numpy(), k) for q, k in QUESTIONS.items()],
                 [_members(k, True) for k in QUESTIONS.values()],
                 [df[g].to_numpy() for g in BANNERS], list(BANNERS.values()))
    order, ustart = fu.unit_order(ul.unit, ul.n_units)
    pattern = fu.prop_covs_fused(ul, order, ustart, w, pl)
    monkeypatch.setattr(fu, "MAX_PATTERNS", 0)
    direct = fu.prop_covs_fused(ul, order, ustart, w, pl)
    for a, b in zip(pattern, direct):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)


def _banner(s, df, where=None):
    return sv.banner(s, rows=list(QUESTIONS), by=list(BANNERS), correction="holm", min_base=1,
                     likert=False, nets={"q2": {"top2": [3, 4]}}, where=where)


@pytest.fixture()
def survey_frame():
    df = _frame(7, 3, 0.05, True, False)
    for q, k in {**QUESTIONS, **BANNERS}.items():
        df[q] = pd.Categorical.from_codes(df[q], list(range(k)))
    return sv.Survey.from_frame(df, weight="w", strata="st", psu="psu", fpc="fpc"), df


@pytest.mark.parametrize("domain", [False, True])
def test_the_banner_gives_the_same_letters_on_either_path(monkeypatch, survey_frame, domain):
    """sv.banner end to end, on all rows and on a domain (``where=``): the fused pass (forced
    on small data) and the NumPy path give the same statistics to 1e-10 and the same
    letters."""
    s, df = survey_frame
    where = (df["g1"] != 2).to_numpy() if domain else None
    monkeypatch.setattr(bl, "FUSED_ROWS", 0)
    calls = []
    real = fu.prop_covs_fused
    monkeypatch.setattr(fu, "prop_covs_fused", lambda *a, **k: calls.append(1) or real(*a, **k))
    fused = _banner(s, df, where)
    assert calls  # the fused pass was the one used
    monkeypatch.setattr(bl, "FUSED_ROWS", 10**12)
    numpy_path = _banner(s, df, where)
    a, b = fused.tests, numpy_path.tests
    assert len(a) == len(b) > 0
    np.testing.assert_allclose(a["statistic"], b["statistic"], rtol=1e-10, atol=0)
    np.testing.assert_allclose(a["p_adjusted"], b["p_adjusted"], rtol=1e-9, atol=1e-300)
    assert (fused.to_frame()["sig_letters"] == numpy_path.to_frame()["sig_letters"]).all()


def test_a_table_too_large_for_the_caches_uses_the_numpy_path(monkeypatch, survey_frame):
    s, df = survey_frame
    monkeypatch.setattr(bl, "FUSED_ROWS", 0)
    monkeypatch.setattr(fu, "MAX_CELLS", 1)
    monkeypatch.setattr(fu, "prop_covs_fused", lambda *a, **k: pytest.fail("fused pass used"))
    small = _banner(s, df)
    monkeypatch.setattr(bl, "FUSED_ROWS", 10**12)
    pd.testing.assert_frame_equal(small.tests, _banner(s, df).tests, check_exact=True)


def test_unit_order_sorts_rows_by_unit_stably():
    unit = np.array([2, 0, 2, 1, 0, 2])
    order, ustart = fu.unit_order(unit, 4)
    assert order.tolist() == [1, 4, 3, 0, 2, 5]
    assert ustart.tolist() == [0, 2, 3, 6, 6]  # unit 3 has no row
    assert fu.unit_order(np.sort(unit), 3)[0] is None  # already sorted: no permutation


def test_many_banner_variables_count_their_totals_directly():
    """16 banner variables of 15 categories: 16**16 = 2**64 joint patterns (0 in int64
    arithmetic), so the totals are counted per banner variable; the covariances still equal
    the NumPy path."""
    df = _frame(5, 2, 0.05, True, False)
    rng = np.random.default_rng(0)
    by = [np.where(rng.random(len(df)) < 0.05, -1, rng.integers(0, 15, len(df))).astype(np.int8)
          for _ in range(16)]
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu", fpc="fpc")
    design = s.design_info()
    ul = tay.unit_layout(design)
    w = np.asarray(design.weights, dtype=float)
    questions = [(df[q].to_numpy(), k) for q, k in QUESTIONS.items()]
    pl = fu.plan(questions, [np.eye(k) for k in QUESTIONS.values()], by, [15] * 16)
    order, ustart = fu.unit_order(ul.unit, ul.n_units)
    with np.errstate(divide="ignore", invalid="ignore"):
        got = fu.prop_covs_fused(ul, order, ustart, w, pl, threads=2)
        for qi, (codes, k) in enumerate(questions):
            jbs = [(tay.shift_codes(g, ul.unit, ul.n_units), 15) for g in by]
            for b, V in enumerate(tay.prop_covs(ul, w, codes, k, jbs, np.eye(k))):
                _assert_close(got[b][pl.roff[qi]:pl.roff[qi + 1]], V)


def test_codes_out_of_range_are_refused_before_the_unchecked_kernels():
    codes = np.array([0, 1, 2, -1], dtype=np.int8)
    by = np.array([0, 1, 0, 1], dtype=np.int8)
    assert fu.plan([(codes, 3)], [np.eye(3)], [by], [2]) is not None
    assert fu.plan([(codes, 2)], [np.eye(2)], [by], [2]) is None  # code 2 of k = 2
    assert fu.plan([(codes, 3)], [np.eye(3)], [by - 2], [2]) is None  # code -2


def test_kernels_compile_without_a_writable_cache_location(tmp_path):
    """A read-only install and home: numba refuses cache=True ("cannot cache function");
    the kernels are compiled for the process instead, and give the same numbers."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = """
import numpy as np
import numba.core.caching as caching
caching.CacheImpl._locator_classes = []  # no writable place, as on a read-only install
from survey.analysis import _banner_fused as fu
k = fu._kernels()
Q = np.array([[0, 1, 1, -1]], dtype=np.int8)
jp = np.array([1, 2, 1, 2], dtype=np.int32)
print(k.pattern_totals(Q, jp, 3, 2, np.ones(4), 0, 4).sum())
"""
    root = Path(fu.__file__).parents[2]  # the checkout holding this survey package
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=str(tmp_path),
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3.0"


def test_an_empty_banner_column_is_untested_on_either_path(monkeypatch):
    """A banner category nobody answered (and a banner variable half missing): its pairs get
    no statistic (NaN) on both paths, the other pairs the same statistics."""
    rng = np.random.default_rng(1)
    n = 3000
    psu = rng.integers(0, 60, n)
    df = pd.DataFrame({
        "psu": psu, "st": psu % 3, "w": rng.lognormal(0, 0.5, n),
        "q": pd.Categorical.from_codes(rng.integers(0, 4, n), list("abcd")),
        "g": pd.Categorical.from_codes(rng.integers(0, 2, n), ["x", "y", "nobody"]),
        "h": pd.Categorical.from_codes(np.where(rng.random(n) < 0.5, -1,
                                                rng.integers(0, 3, n)), ["u", "v", "z"])})
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu")
    tests = {}
    for path, rows in (("fused", 0), ("numpy", 10**12)):
        monkeypatch.setattr(bl, "FUSED_ROWS", rows)
        tests[path] = sv.banner(s, rows=["q"], by=["g", "h"], min_base=1,
                                suppress_below=0).tests
    a, b = tests["fused"], tests["numpy"]
    empty = (a["col_b"] == "nobody").to_numpy()
    assert empty.any() and a["statistic"][empty].isna().all()
    assert b["statistic"][empty].isna().all()
    np.testing.assert_allclose(a["statistic"][~empty], b["statistic"][~empty], rtol=1e-10)
