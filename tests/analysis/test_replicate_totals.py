"""Replicate totals without a pass per replicate (issue 15): `Replicates.totals` on grouped
replicate factors and on the plain n x R matrix, the rank (design df) from the small factor
matrix, and every replicate analysis equal on both paths.

Reference values: the definitions themselves, computed independently here (a dense one-hot
matrix times the replicate weights; numpy's SVD of the rows' replicate weights); the R values
of replicate designs are in test_replicates.py, which runs on the grouped path.
"""

from __future__ import annotations

import hypothesis
import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as st
from test_design_reference import DESIGNS

import survey as sv
from survey.core import replicates as rmod
from survey.core.design import Design
from survey.core.replicates import Replicates, _rank, find_groups
from survey.core.survey import Survey


def _ungrouped(monkeypatch):
    monkeypatch.setattr(rmod, "find_groups", lambda W, w: None)


def _paired(n_strata: int = 6, rows: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_strata * 2 * rows
    df = pd.DataFrame({
        "h": np.repeat(np.arange(n_strata), 2 * rows),
        "psu": np.repeat(np.arange(2 * n_strata), rows),
        "w": rng.uniform(1, 5, n),
        "y": rng.normal(10, 3, n),
        "x": rng.uniform(1, 2, n),
        "item": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        "grp": pd.Categorical(rng.choice(["x", "y"], n)),
    })
    df.loc[[3, 17], "y"] = np.nan
    df.loc[[5, 30], "item"] = np.nan
    return df


@pytest.fixture(scope="module")
def dclus1():
    return DESIGNS["dclus1"]()


def test_generated_replicates_are_grouped_exactly(dclus1):
    # as.svrepdesign's replicates are per-PSU factors: the groups are found and reproduce
    # every replicate weight
    paired = Survey.from_frame(_paired(), weight="w", strata="h", psu="psu")
    for base, r in ((dclus1, sv.as_replicate(dclus1, "JK1")), (paired, sv.as_replicate(paired, "JKn")),
                    (paired, sv.as_replicate(paired, "Fay", rho=0.5)),
                    (paired, sv.as_replicate(paired, "bootstrap", replicates=20, seed=3))):
        rep = Design.from_survey(r).replicate
        assert rep.factors is not None
        # one factor row per PSU (a row rounded across a hash cut may add a second code)
        assert len(rep.factors) <= 2 * Design.from_survey(base).n_psu
        np.testing.assert_allclose(rep.base[:, None] * rep.factors[rep.groups], rep.weights,
                                   rtol=1e-14, atol=0)


def test_groups_refused_when_weights_are_not_shared_factors():
    rng = np.random.default_rng(1)
    n, R = 400, 10
    w = rng.uniform(1, 3, n)
    f = rng.choice([0.5, 1.5], (20, R))
    g = rng.integers(0, 20, n)
    W = w[:, None] * f[g]
    found = find_groups(W, w)
    assert found is not None
    np.testing.assert_allclose(w[:, None] * found[1][found[0]], W, rtol=1e-14)
    assert len(found[1]) == 20
    one_off = W.copy()
    one_off[123, 4] *= 1 + 1e-9  # one row's factors differ: it becomes a group of its own
    g2, f2 = find_groups(one_off, w)
    assert len(f2) == 21 and (g2 == g2[123]).sum() == 1
    np.testing.assert_allclose(w[:, None] * f2[g2], one_off, rtol=1e-14, atol=0)
    # the row-by-row check refuses groups that merge different factor rows (a hash collision)
    merged = found[0].copy()
    merged[merged == 1] = 0
    assert not rmod._factors_match(W, w, merged, found[1])
    assert rmod._factors_match(W, w, found[0], found[1])
    # the same on a column-major matrix (a DataFrame's float block)
    WF = np.asfortranarray(W)
    assert not rmod._factors_match(WF, w, merged, found[1])
    gF, fF = find_groups(WF, w)
    np.testing.assert_array_equal(gF, found[0])
    np.testing.assert_array_equal(fF, found[1])
    assert find_groups(W * rng.uniform(0.9, 1.1, (n, R)), w) is None  # row-specific weights
    zero = w.copy()
    zero[7] = 0.0  # full-sample weight 0 but replicate weights not 0
    assert find_groups(W, zero) is None
    nan = W.copy()
    nan[9, 2] = np.nan
    assert find_groups(nan, w) is None
    W0, w0 = W.copy(), w.copy()
    W0[11], w0[11] = 0.0, 0.0  # a row with every weight 0 is allowed (it adds nothing)
    assert find_groups(W0, w0) is not None


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(seed=st.integers(0, 10**6), K=st.integers(1, 6), G=st.integers(1, 12),
                  R=st.integers(2, 9), with_x=st.booleans(), with_cell=st.booleans(),
                  block=st.sampled_from([3, 16, 1 << 16]))
def test_totals_equal_the_definition(seed, K, G, R, with_x, with_cell, block):
    # block: rows per block of the blocked passes (small ones: many blocks on small data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rmod, "_ROWS", block)
        mp.setattr(rmod, "_COLUMN_ROWS", block)
        _check_totals(seed, K, G, R, with_x, with_cell)


def _check_totals(seed, K, G, R, with_x, with_cell):
    rng = np.random.default_rng(seed)
    n = 8 * R + int(rng.integers(0, 60))
    w = rng.uniform(0.5, 4, n)
    groups = rng.integers(0, G, n)
    factors = rng.choice([0.0, 0.5, 1.5, 2.0], (G, R))
    W = np.ascontiguousarray(w[:, None] * factors[groups])
    x = rng.normal(size=n) if with_x else None
    cell = rng.integers(-1, K, n) if with_cell else None
    Kc = K if with_cell else 1
    # definition: one-hot (n x K) times the values, times the replicate weights
    Z = np.zeros((n, Kc))
    c = np.zeros(n, dtype=int) if cell is None else cell
    keep = c >= 0
    Z[np.flatnonzero(keep), c[keep]] = (np.ones(n) if x is None else x)[keep]
    expected = W.T @ Z
    plain = Replicates(weights=W, scale=1.0, rscales=np.ones(R), mse=False, type="other")
    # column-major, as a DataFrame's float block: per-column bincounts by block of rows
    plain_f = Replicates(weights=np.asfortranarray(W), scale=1.0, rscales=np.ones(R),
                         mse=False, type="other")
    grouped = Replicates(weights=W, scale=1.0, rscales=np.ones(R), mse=False, type="other",
                         groups=groups, factors=factors, base=w)
    tol = 1e-12 * np.abs(W).sum()
    for rep in (plain, plain_f, grouped):
        got = rep.totals(x, cell, Kc)
        assert got.shape == (R, Kc)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=tol)
        full, reps = rep.cell_totals(w, x, cell, Kc)  # with the full-sample totals
        np.testing.assert_allclose(reps, expected, rtol=1e-12, atol=tol)
        np.testing.assert_allclose(full, w @ Z, rtol=1e-12, atol=tol)
    np.testing.assert_allclose(grouped.column_totals, W.sum(0), rtol=1e-12)


@hypothesis.settings(max_examples=30, deadline=None)
@hypothesis.given(seed=st.integers(0, 10**6), G=st.integers(2, 30), R=st.integers(2, 12),
                  block=st.sampled_from([7, 1 << 16]))
def test_degf_from_factors_equals_rank_of_rows(seed, G, R, block):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rmod, "_ROWS", block)
        _check_degf(seed, G, R)


def _check_degf(seed, G, R):
    rng = np.random.default_rng(seed)
    n = 10 * R + 40
    w = rng.uniform(0.5, 4, n)
    groups = rng.integers(0, G, n)
    factors = rng.choice([0.0, 1.0, 2.0], (G, R))
    if R > 3:
        factors[:, 3] = factors[:, 1]  # a repeated replicate lowers the rank
    W = w[:, None] * factors[groups]
    grouped = Replicates(weights=W, scale=1.0, rscales=np.ones(R), mse=False, type="other",
                         groups=groups, factors=factors, base=w)
    plain = Replicates(weights=W, scale=1.0, rscales=np.ones(R), mse=False, type="other")


    rows = rng.random(n) < 0.4
    for sub in (None, rows):
        expected = by_svd(W if sub is None else W[sub])
        assert grouped.degf(sub) == expected
        assert plain.degf(sub) == expected
    dom = rng.integers(-1, 3, n)  # three domains, -1 in none
    expected = [by_svd(W[dom == d]) if (dom == d).any() else 0 for d in range(3)]
    assert grouped.degf_by(dom, 3).tolist() == expected
    assert plain.degf_by(dom, 3).tolist() == expected


def by_svd(M):  # R degf: numerical rank (tolerance 1e-5) minus one
    s = np.linalg.svd(M, compute_uv=False)
    return int((s > 1e-5 * s[0]).sum()) - 1 if len(s) and s[0] > 0 else 0


def test_rank_near_the_tolerance_uses_the_svd():
    rng = np.random.default_rng(5)
    U = np.linalg.qr(rng.normal(size=(500, 6)))[0]
    V = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    for s_small, rank in ((2e-5, 6), (5e-6, 5), (1e-9, 5), (0.0, 5)):
        M = U @ np.diag([1, 0.5, 0.2, 0.1, 0.01, s_small]) @ V
        assert _rank(M) == rank


def _compare(a, b):
    fa, fb = a.to_frame(), b.to_frame()
    num = [c for c in fa.columns if pd.api.types.is_float_dtype(fa[c])]
    np.testing.assert_allclose(fa[num].to_numpy(float), fb[num].to_numpy(float), rtol=1e-10)


@pytest.mark.parametrize("kind", ["JK1", "Fay"])
def test_analyses_equal_on_grouped_and_plain_replicates(kind, dclus1, monkeypatch):
    def build():
        if kind == "JK1":
            return sv.as_replicate(dclus1, "JK1"), "api00", "stype", "sch.wide", "api99"
        s = Survey.from_frame(_paired(), weight="w", strata="h", psu="psu")
        return sv.as_replicate(s, "Fay", rho=0.5), "y", "item", "grp", "x"

    fast, y, cat, by, x = build()
    assert Design.from_survey(fast).replicate.factors is not None
    _ungrouped(monkeypatch)
    slow = build()[0]
    assert Design.from_survey(slow).replicate.factors is None
    assert fast.design_info().degf == slow.design_info().degf
    for f in (lambda s: sv.mean(s, y), lambda s: sv.total(s, y),
              lambda s: sv.mean(s, y, by=by), lambda s: sv.proportions(s, cat),
              lambda s: sv.proportions(s, cat, by=by), lambda s: sv.ratio(s, y, x, by=by)):
        _compare(f(fast), f(slow))
    a, b = sv.crosstab(fast, cat, by=by), sv.crosstab(slow, cat, by=by)
    np.testing.assert_allclose(a.tests[["statistic", "p_value"]].to_numpy(float),
                               b.tests[["statistic", "p_value"]].to_numpy(float), rtol=1e-9)
    ca, cb = a.cell_estimates("column"), b.cell_estimates("column")
    np.testing.assert_allclose(ca["se"].to_numpy(float), cb["se"].to_numpy(float), rtol=1e-10)


def test_mean_with_missing_values_matches_replicate_definition(monkeypatch):
    # svymean on an svrepdesign: the Hajek mean under each replicate's weights over the rows
    # with a value, svrVar with Fay's scale 1 / (R (1 - rho)^2)
    df = _paired()
    r = sv.as_replicate(Survey.from_frame(df, weight="w", strata="h", psu="psu"), "Fay",
                        rho=0.5)
    W = Design.from_survey(r).replicate.weights
    ok = df["y"].notna().to_numpy()
    y = df["y"].to_numpy()
    thetas = (W[ok] * y[ok, None]).sum(0) / W[ok].sum(0)
    theta = np.average(y[ok], weights=df["w"].to_numpy()[ok])
    R = W.shape[1]
    se = np.sqrt(((thetas - thetas.mean()) ** 2).sum() / (R * 0.25))
    m = sv.mean(r, "y")
    assert m.estimate == pytest.approx(theta, rel=1e-12)
    assert m.se == pytest.approx(se, rel=1e-10)


def test_ratio_by_domain_matches_replicate_definition():
    # svyratio(~y, ~x, rep design) within domains (svyby): the ratio of the replicate totals
    # of each domain's rows, svrVar with Fay's scale 1 / (R (1 - rho)^2)
    df = _paired()
    r = sv.as_replicate(Survey.from_frame(df, weight="w", strata="h", psu="psu"), "Fay",
                        rho=0.5)
    W = Design.from_survey(r).replicate.weights
    R = W.shape[1]
    est = sv.ratio(r, "y", "x", by="grp")
    for i, g in enumerate(["x", "y"]):
        use = (df["grp"] == g).to_numpy() & df["y"].notna().to_numpy()
        y, x, w = df["y"].to_numpy()[use], df["x"].to_numpy()[use], df["w"].to_numpy()[use]
        thetas = (W[use] * y[:, None]).sum(0) / (W[use] * x[:, None]).sum(0)
        se = np.sqrt(((thetas - thetas.mean()) ** 2).sum() / (R * 0.25))
        assert est.estimate.iloc[i] == pytest.approx((w * y).sum() / (w * x).sum(), rel=1e-12)
        assert est.se.iloc[i] == pytest.approx(se, rel=1e-10)


@pytest.mark.parametrize("kind", ["column", "row", "total"])
def test_crosstab_cell_shares_from_the_tests_totals_equal_a_fresh_pass(kind):
    # the cell SEs reuse the replicate cell totals the Rao-Scott tests computed; without
    # them (design_context cut to its first four items) they come from a new pass over rows
    import dataclasses

    r = sv.as_replicate(Survey.from_frame(_paired(), weight="w", strata="h", psu="psu"),
                        "Fay", rho=0.5)
    ct = sv.crosstab(r, "item", by="grp")
    assert "replicate_totals" in ct.design_context[4]
    fresh = dataclasses.replace(ct, design_context=ct.design_context[:4])
    a, b = ct.cell_estimates(kind), fresh.cell_estimates(kind)
    for name in ("estimate", "se", "ci_low", "ci_high", "df"):
        np.testing.assert_allclose(a[name].to_numpy(float), b[name].to_numpy(float),
                                   rtol=1e-12)


@hypothesis.settings(max_examples=20, deadline=None)
@hypothesis.given(seed=st.integers(0, 10**6), kind=st.sampled_from(["column", "row", "total"]),
                  rtype=st.sampled_from(["JKn", "Fay"]), block=st.sampled_from([5, 1 << 16]))
def test_crosstab_cell_dfs_equal_the_rank_of_each_domains_replicate_weights(seed, kind, rtype,
                                                                             block):
    # cell_estimates' df per domain comes from the group x cell sums of squared weights the
    # tests kept (no pass of its own); R: degf(subset(design, domain)) = rank of the domain's
    # replicate weights - 1, here numpy's SVD of those rows. A category confined to two
    # strata gives a JKn domain a lower rank than the design's.
    rng = np.random.default_rng(seed)
    df = _paired(seed=seed)
    df["grp"] = pd.Categorical(np.where(df["h"] < 2, rng.choice(["x", "z"], len(df)),
                                        df["grp"].astype(object)), categories=["x", "y", "z"])
    df.loc[rng.choice(len(df), 6, replace=False), "grp"] = np.nan
    where = rng.random(len(df)) < 0.9
    r = sv.as_replicate(Survey.from_frame(df, weight="w", strata="h", psu="psu"), rtype,
                        **({"rho": 0.5} if rtype == "Fay" else {}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rmod, "_ROWS", block)
        ct = sv.crosstab(r, "item", by="grp", where=where)
        assert ct.design_context[4]["replicate_norms"] is not None
        got = ct.cell_estimates(kind)["df"]
    W = Design.from_survey(r).replicate.weights
    valid = where & df["item"].notna().to_numpy() & df["grp"].notna().to_numpy()
    if kind == "total":
        assert set(got.to_numpy().ravel()) == {by_svd(W[valid])}
        return
    var, labels = ("grp", got.columns) if kind == "column" else ("item", got.index)
    for label in labels:
        rows = valid & (df[var] == label).to_numpy()
        values = got[label] if kind == "column" else got.loc[label]
        assert set(values) == {by_svd(W[rows])}, (kind, label)
