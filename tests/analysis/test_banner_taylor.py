"""The one-stage fast path of the design-based banner letters (survey.analysis._banner_taylor)
against an independent textbook computation and against the general path it replaces.

No R value exists for these designs; the reference here is computed in the test from the
definitions (linearised scores of each column proportion, PSU totals, stratum centring,
``(1 - f_h) n_h / (n_h - 1)``), which is what R's ``svycontrast(svyby(~I(q == k), ~g,
design, svymean, covmat = TRUE), c(1, -1))`` computes (tests/analysis/test_banner_design.py
checks the banner against R itself on apiclus1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import survey as sv
from survey.analysis import _banner_taylor as tay


def _data(seed=11, n=900, n_psu=60, n_strata=4, missing=0.05):
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, n_psu, n)
    stratum = psu % n_strata
    effect = rng.normal(0, 0.8, n_psu)[psu]
    q = np.clip(np.round(1.5 + effect + rng.normal(0, 1, n)), 0, 3).astype(int)
    q[rng.random(n) < missing] = -1
    g = rng.integers(0, 3, n)
    g[rng.random(n) < missing] = -1
    return pd.DataFrame({
        "q": pd.Categorical.from_codes(q, ["a", "b", "c", "d"]),
        "g": pd.Categorical.from_codes(g, ["x", "y", "z"]),
        "psu": psu, "st": stratum, "w": rng.lognormal(0, 0.5, n),
        "fpc": np.where(stratum == 1, 40.0, 200.0),
    })


def _reference(df, rows_of, col_a, col_b):
    """(statistic, p) of p_a - p_b for the row ``rows_of`` (set of q categories), from the
    definitions: rows missing q or g stay in the design with weight 0."""
    qv = df["q"].astype(object)
    ans = qv.notna().to_numpy()
    y = qv.isin(rows_of).to_numpy().astype(float)
    w = df["w"].to_numpy()
    z = np.zeros(len(df))
    est = []
    for col, sign in ((col_a, 1.0), (col_b, -1.0)):
        inc = ans & (df["g"] == col).to_numpy()
        S = np.sum(w[inc])
        p = np.sum(w[inc] * y[inc]) / S
        est.append(p)
        z += sign * np.where(inc, w * (y - p) / S, 0.0)
    var = 0.0
    for _, grp in df.assign(z=z).groupby("st"):
        tot = grp.groupby("psu")["z"].sum().to_numpy()
        n_h = len(tot)
        f = n_h / grp["fpc"].iloc[0]
        var += (1 - f) * n_h / (n_h - 1) * np.sum((tot - tot.mean()) ** 2)
    stat = (est[0] - est[1]) / np.sqrt(var)
    degf = df["psu"].nunique() - df["st"].nunique()
    return stat, 2 * stats.t.sf(abs(stat), degf)


def test_fast_path_equals_the_textbook_variance():
    df = _data()
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu", fpc="fpc")
    assert tay.unit_layout(s.design_info()) is not None  # the fast path is the one tested
    b = sv.banner(s, rows=["q"], by=["g"], correction="none", min_base=1, likert=False,
                  nets={"q": {"ab": ["a", "b"]}})
    t = b.tests
    checked = 0
    for _, r in t.iterrows():
        members = ["a", "b"] if r["category"] == "ab" else [r["category"]]
        stat, p = _reference(df, members, r["col_a"], r["col_b"])
        assert r["statistic"] == pytest.approx(stat, rel=1e-12)
        assert r["p_raw"] == pytest.approx(p, rel=1e-10)
        checked += 1
    assert checked == 5 * 3  # 4 categories + 1 net, 3 pairs of columns


def _both_paths(s, **kw):
    fast = sv.banner(s, **kw)
    orig = tay.unit_layout
    tay.unit_layout = lambda design: None  # the general Design.vcov_units path
    try:
        slow = sv.banner(s, **kw)
    finally:
        tay.unit_layout = orig
    return fast, slow


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_strata=st.integers(1, 5), missing=st.sampled_from(
    [0.0, 0.1]), domain=st.booleans(), fpc=st.booleans())
def test_fast_path_equals_the_general_path(seed, n_strata, missing, domain, fpc):
    df = _data(seed=seed, n=400, n_psu=30, n_strata=n_strata, missing=missing)
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu",
                             fpc="fpc" if fpc else None)
    kw = dict(rows=["q"], by=["g"], correction="holm", min_base=1, likert=True,
              where=(df["g"] != "z").to_numpy() if domain else None)
    fast, slow = _both_paths(s, **kw)
    a, b = fast.tests, slow.tests
    np.testing.assert_allclose(a["statistic"], b["statistic"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(a["p_adjusted"], b["p_adjusted"], rtol=1e-11, atol=1e-300)
    assert (a["higher"] == b["higher"]).all()
    assert (fast.to_frame()["sig_letters"] == slow.to_frame()["sig_letters"]).all()


def test_fast_path_steps_aside_where_it_does_not_apply():
    df = _data()
    # a variance factor that varies inside a stratum (fpc differs between its PSUs)
    varying = df.assign(fpc=np.where(df["psu"] % 8 == 1, 300.0, 200.0))
    s = sv.Survey.from_frame(varying, weight="w", strata="st", psu="psu", fpc="fpc")
    assert tay.unit_layout(s.design_info()) is None
    two_stage = sv.Survey.from_frame(df.assign(ssu=np.arange(len(df)) // 3, fpc2=500.0),
                                     weight="w", strata="st", psu=["psu", "ssu"],
                                     fpc=["fpc", "fpc2"])  # with fpc: a second stage
    assert tay.unit_layout(two_stage.design_info()) is None
    b = sv.banner(s, rows=["q"], by=["g"], correction="none", min_base=1)
    r = b.tests.iloc[0]
    assert np.isfinite(r["statistic"])


def test_unit_totals_of_partitions_add_up():
    """The sufficient statistic a partitioned backend would combine: totals of row subsets
    add up to the totals of all rows, and equal a direct groupby sum."""
    df = _data(missing=0.1)
    unit = df["psu"].to_numpy()
    q, g = df["q"].cat.codes.to_numpy(), df["g"].cat.codes.to_numpy()
    w = df["w"].to_numpy()
    whole = tay.unit_totals(unit, 60, q, 4, g, 3, w)
    parts = sum(tay.unit_totals(unit[i::3], 60, q[i::3], 4, g[i::3], 3, w[i::3])
                for i in range(3))
    np.testing.assert_allclose(parts, whole, rtol=1e-13)
    ok = (q >= 0) & (g >= 0)
    direct = df[ok].groupby([q[ok], g[ok], unit[ok]])["w"].sum()
    for (c, j, u), v in direct.items():
        assert whole[c, j, u] == pytest.approx(v, rel=1e-13)
    assert whole.sum() == pytest.approx(w[ok].sum(), rel=1e-13)


def test_threads_do_not_change_the_result(monkeypatch):
    from survey.analysis import _banner_letters

    df = _data(seed=5, n=3000, n_psu=90, missing=0.05)
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu", fpc="fpc")
    kw = dict(rows=["q", "g"], by=["g", "q"], correction="holm", min_base=1, likert=True)
    monkeypatch.setattr(_banner_letters, "THREADED_ROWS", 0)
    monkeypatch.setattr(_banner_letters, "THREADS", 3)
    threaded = sv.banner(s, **kw).tests
    monkeypatch.setattr(_banner_letters, "THREADS", 1)
    serial = sv.banner(s, **kw).tests
    pd.testing.assert_frame_equal(threaded, serial, check_exact=True)


def test_threaded_letters_hold_blas_to_one_thread_and_give_it_back(monkeypatch):
    """While our threads fill the cores BLAS runs on one thread (its own threads on top spun
    against ours: 520 -> 333 ms for the 1M-row bench banner); afterwards the caller's BLAS
    threads are as they were."""
    from threadpoolctl import threadpool_info

    from survey.analysis import _banner_letters

    seen = []
    grams = tay._grams
    monkeypatch.setattr(tay, "_grams", lambda Z: (seen.append(_blas_threads()), grams(Z))[1])

    def _blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    df = _data(seed=5, n=3000, n_psu=90, missing=0.05)
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu", fpc="fpc")
    before = _blas_threads()
    monkeypatch.setattr(_banner_letters, "THREADED_ROWS", 0)
    monkeypatch.setattr(_banner_letters, "THREADS", 2)
    sv.banner(s, rows=["q", "g"], by=["g", "q"], min_base=1)
    assert seen and all(t == [1] * len(before) for t in seen)
    assert _blas_threads() == before


def test_covariances_from_partition_totals_equal_the_whole():
    """The seam for a partitioned backend: per-partition unit totals, added, then the
    covariances, equal the one-pass result on all rows."""
    df = _data(seed=8, missing=0.1)
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu", fpc="fpc")
    design = s.design_info()
    ul = tay.unit_layout(design)
    q, g = df["q"].cat.codes.to_numpy(), df["g"].cat.codes.to_numpy()
    w = np.asarray(design.weights, dtype=float)
    M = np.vstack([np.eye(4), [1, 1, 0, 0]])
    whole = tay.prop_covs(ul, w, q, 4, [(tay.shift_codes(g, ul.unit, ul.n_units), 3)], M)[0]
    parts = [slice(0, 300), slice(300, 650), slice(650, None)]
    T = sum(tay.unit_totals(ul.unit[p], ul.n_units, q[p], 4, g[p], 3, w[p]) for p in parts)
    np.testing.assert_allclose(tay.covs_from_totals(ul, T, M), whole, rtol=1e-12, atol=0)


def _strong_strata(seed, n_strata, n_psu, n):
    """Clustered data whose categories differ sharply between strata (the between-strata
    spread of the scores dwarfs the within-stratum one): the hard case for moving the
    stratum centring onto the cross-products."""
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, n_psu, n)
    stratum = psu % n_strata
    level = np.linspace(0.2, 3.2, n_strata)[stratum]
    q = np.clip(np.round(level + rng.normal(0, 0.3, n)), 0, 3).astype(np.int8)
    g = rng.integers(0, 3, n).astype(np.int8)
    return psu, stratum, q, g, rng.lognormal(0, 0.5, n)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_strata=st.integers(1, 6), strong=st.booleans(),
       missing=st.sampled_from([0.0, 0.15]), fpc=st.booleans(), net=st.booleans())
def test_scaled_weights_path_equals_the_centred_path(seed, n_strata, strong, missing, fpc,
                                                     net):
    """The fast path (unit totals of sqrt(s_h)-scaled weights, centring on the kb x kb
    products) against the centred path it replaces (unit totals centred and scaled one by
    one), on random small clustered designs, to 1e-10."""
    if strong:
        psu, stratum, q, g, w = _strong_strata(seed, n_strata, 8 * n_strata, 60 * n_strata)
    else:
        df = _data(seed=seed, n=300, n_psu=6 * n_strata + 3, n_strata=n_strata)
        psu, stratum = df["psu"].to_numpy(), df["st"].to_numpy()
        q, g = df["q"].cat.codes.to_numpy(), df["g"].cat.codes.to_numpy()
        w = df["w"].to_numpy()
    rng = np.random.default_rng(seed + 1)
    q = np.where(rng.random(q.size) < missing, -1, q).astype(np.int8)
    g = np.where(rng.random(g.size) < missing, -1, g).astype(np.int8)
    frame = pd.DataFrame({"psu": psu, "st": stratum, "w": w,
                          "fpc": 50.0 + 10 * stratum})
    s = sv.Survey.from_frame(frame, weight="w", strata="st", psu="psu",
                             fpc="fpc" if fpc else None)
    design = s.design_info()
    ul = tay.unit_layout(design)
    if ul is None:  # a lonely PSU: the general path; nothing to compare here
        return
    wd = np.asarray(design.weights, dtype=float)
    ws = tay.scaled_weights(ul, wd)
    assert ws is not None
    M = np.vstack([np.eye(4), [1, 1, 0, 0]]) if net else np.eye(4)
    by = [(tay.shift_codes(g, ul.unit, ul.n_units), 3), (tay.shift_codes(q, ul.unit,
                                                                          ul.n_units), 4)]
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty column: NaN in both
        fast = tay.prop_covs(ul, wd, q, 4, by, M, ws=ws)
        centred = tay.prop_covs(ul, wd, q, 4, by, M)
    for a, b in zip(fast, centred):
        scale = np.sqrt(np.abs(np.einsum("rii->ri", b)))
        ok = np.isfinite(b)
        # relative to the variances of the two columns involved (covariances may be ~0)
        tol = 1e-10 * np.maximum(scale[:, :, None] * scale[:, None, :], 1e-300)
        assert (np.isfinite(a) == ok).all()
        assert (np.abs(a - b)[ok] <= tol[ok]).all()


def test_a_stratum_sampled_completely_keeps_its_rows_in_the_proportions():
    """fpc equal to a stratum's number of PSUs (s_h = 0): no scaled weights; the stratum
    adds nothing to the variance but its rows still count in p (textbook reference)."""
    df = _data(seed=3, missing=0.05)
    n_psu_1 = df.loc[df["st"] == 1, "psu"].nunique()
    df = df.assign(fpc=np.where(df["st"] == 1, float(n_psu_1), 200.0))
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu", fpc="fpc")
    design = s.design_info()
    ul = tay.unit_layout(design)
    assert ul is not None and tay.scaled_weights(ul, design.weights) is None
    b = sv.banner(s, rows=["q"], by=["g"], correction="none", min_base=1, likert=False)
    for _, r in b.tests.iterrows():
        stat, p = _reference(df, [r["category"]], r["col_a"], r["col_b"])
        assert r["statistic"] == pytest.approx(stat, rel=1e-12)
        assert r["p_raw"] == pytest.approx(p, rel=1e-10)


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("cells,w2cells", [(False, False), (True, True)])
def test_counting_on_two_threads_equals_one(monkeypatch, weighted, cells, w2cells):
    """count_stacked splits the questions over two threads on large data: every count,
    base and offset is exactly what one thread gives."""
    from survey.analysis import _banner_engine as eng

    rng = np.random.default_rng(4)
    n = 6000  # above the single-bincount small-data path
    items = [(np.where(rng.random(n) < 0.1, -1, rng.integers(0, k, n)).astype(np.int8), k)
             for k in (2, 5, 3, 7, 4)]
    by = [np.where(rng.random(n) < 0.05, -1, rng.integers(0, 3, n)).astype(np.int8),
          rng.integers(0, 4, n).astype(np.int8)]
    layout = eng.make_layout(by, [3, 4], n)
    w = rng.lognormal(0, 0.5, n) if weighted else None
    one = eng.count_stacked(items, layout, w, cells=cells, w2cells=w2cells, threads=1)
    monkeypatch.setattr(eng, "THREADED_ROWS", 0)
    two = eng.count_stacked(items, layout, w, cells=cells, w2cells=w2cells, threads=2)
    for f in ("n", "nw", "w2", "n_base", "offs", "w2cells"):
        a, b = getattr(one, f), getattr(two, f)
        assert (a is None) == (b is None), f
        if a is not None:
            np.testing.assert_array_equal(a, b, err_msg=f)


def test_unit_layout_is_kept_per_design_and_not_shared():
    df = _data(seed=2)
    s = sv.Survey.from_frame(df, weight="w", strata="st", psu="psu", fpc="fpc")
    d = s.design_info()
    ul = tay.unit_layout(d)
    assert tay.unit_layout(d) is ul
    ws = tay.design_scaled_weights(d, ul)
    assert tay.design_scaled_weights(d, ul) is ws
    np.testing.assert_allclose(ws, tay.scaled_weights(ul, d.weights), rtol=0, atol=0)
    other = sv.Survey.from_frame(df.assign(w=df["w"] * 2), weight="w", strata="st",
                                 psu="psu", fpc="fpc").design_info()
    np.testing.assert_allclose(tay.design_scaled_weights(other, tay.unit_layout(other)),
                               2 * ws, rtol=1e-15)
