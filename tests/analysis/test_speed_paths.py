"""The speed paths of issue 15 against their row-level definitions (hypothesis).

Each fast path is compared with an independent, direct computation of the same quantity
written here from its definition (no R value is involved; the R agreement of the public
functions is checked in test_design_reference.py and test_weighting_reference.py):

* raking residuals on joint cells  vs  R ``svyrecvar``'s row-level back-fitting loop;
* `_linearize_cells` (unit x cell totals)  vs  `_linearize` of the dense indicators;
* `_domain_degf` (one bincount)  vs  R ``degf(subset(design, ...))`` per domain;
* `vcov_units(blocks=m)`  vs  the diagonal blocks of the full covariance;
* the banner's per-row covariance  vs  the delta method on `cell_totals_vcov`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import survey as sv
from survey.analysis.estimates import (
    _domain_degf,
    _linearize,
    _linearize_cells,
    _subset_degf,
)
from survey.core.design import CalibrationStep, Design, build_design


def _rake_loop(w, codes, x):
    """R svyrecvar (survey 4.1), raking branch, row by row: 10 sweeps of
    ``zz <- x / w; x <- x - w * ave(zz, margin)`` with non-finite ``zz`` set to 0."""
    x = x.copy()
    for _ in range(10):
        for c in codes:
            with np.errstate(divide="ignore", invalid="ignore"):
                zz = x / w[:, None]
            zz[~np.isfinite(zz)] = 0.0
            for j in range(x.shape[1]):
                means = pd.Series(zz[:, j]).groupby(c).transform("mean").to_numpy()
                x[:, j] -= w * means
    return x


@settings(max_examples=30, deadline=None)
@given(n=st.integers(5, 80), m=st.integers(1, 3), k=st.integers(1, 3),
       zero=st.booleans(), seed=st.integers(0, 10_000))
def test_raking_residuals_on_joint_cells_equal_the_row_loop(n, m, k, zero, seed):
    rng = np.random.default_rng(seed)
    codes = tuple(rng.integers(0, rng.integers(1, 5), n) for _ in range(m))
    w = rng.lognormal(0, 0.5, n)
    if zero:
        w[rng.random(n) < 0.2] = 0.0
    x = rng.normal(size=(n, k)) * 3
    want = _rake_loop(w, codes, x)
    step = CalibrationStep("raking", w, w, codes=codes)  # joint cells derived lazily
    np.testing.assert_allclose(step.residualize(x), want, rtol=1e-9, atol=1e-9)


def _design(rng, n, kind):
    h = np.sort(np.arange(n) % 3)
    df = pd.DataFrame({"h": h, "w": rng.uniform(0.5, 3, n)})
    df["psu"] = h * 100 + rng.integers(0, 4, n)
    df["ssu"] = rng.integers(0, 3, n)
    df["N1"] = 50.0
    df["N2"] = 40.0
    if kind == "clusters":
        return build_design(df, weights=df["w"].to_numpy(), strata="h", psu=("psu",),
                            lonely_psu="adjust")
    if kind == "two_stage":
        return build_design(df, weights=df["w"].to_numpy(), strata="h", psu=("psu", "ssu"),
                            fpc=("N1", "N2"), lonely_psu="adjust")
    return build_design(df, weights=df["w"].to_numpy(), strata="h")


@settings(max_examples=40, deadline=None)
@given(n=st.integers(12, 90), K=st.integers(1, 5), D=st.integers(1, 4),
       kind=st.sampled_from(["clusters", "two_stage", "strata"]),
       zero=st.booleans(), seed=st.integers(0, 10_000))
def test_cells_path_equals_dense_indicator_linearisation(n, K, D, kind, zero, seed):
    rng = np.random.default_rng(seed)
    d = _design(rng, n, kind)
    if zero:
        d = d.with_weights(np.where(rng.random(n) < 0.2, 0.0, d.weights))
    codes = rng.integers(-1, K, n)
    dom = rng.integers(-1, D, n) if D > 1 else None
    valid = codes >= 0
    Y = np.zeros((n, K))
    Y[np.flatnonzero(valid), codes[valid]] = 1.0
    want = _linearize(d, Y, valid, dom, D, "mean")
    got = _linearize_cells(d, codes, K, dom, D)
    np.testing.assert_allclose(got.est, want.est, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.vcov, want.vcov, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(got.W, want.W, rtol=1e-12)
    np.testing.assert_array_equal(got.nobs, want.nobs)
    np.testing.assert_allclose(got.s2, want.s2, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(12, 90), D=st.integers(1, 4),
       kind=st.sampled_from(["clusters", "two_stage", "strata"]), seed=st.integers(0, 10_000))
def test_domain_degf_equals_subset_degf(n, D, kind, seed):
    rng = np.random.default_rng(seed)
    d = _design(rng, n, kind)
    if seed % 2:  # zero weights (rows that do not count), else all positive
        d = d.with_weights(np.where(rng.random(n) < 0.15, 0.0, d.weights))
    dom = rng.integers(-1, D, n)
    valid = rng.random(n) < 0.8
    want = [_subset_degf(d, valid & (dom == j)) for j in range(D)]
    np.testing.assert_array_equal(_domain_degf(d, dom, valid, D), want)
    # and from the unit x domain presence that _linearize returns
    y = rng.normal(size=n)
    lin = _linearize(d, np.where(valid, y, 0)[:, None], valid, dom, D, "mean")
    if lin.present is not None:
        np.testing.assert_array_equal(_domain_degf(d, dom, valid, D, lin.present), want)
    # and from the unit x domain x category totals of `_linearize_cells`
    codes = np.where(valid, rng.integers(0, 3, n), -1)
    cells = _linearize_cells(d, codes, 3, np.where(valid, dom, -1), D)
    if cells.present is not None:
        np.testing.assert_array_equal(_domain_degf(d, dom, valid, D, cells.present), want)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(12, 90), G=st.integers(1, 4), m=st.integers(1, 4),
       kind=st.sampled_from(["clusters", "two_stage"]), seed=st.integers(0, 10_000))
def test_vcov_units_blocks_are_the_diagonal_blocks(n, G, m, kind, seed):
    rng = np.random.default_rng(seed)
    d = _design(rng, n, kind)
    U = len(d.stages[-1].stratum)
    T = rng.normal(size=(U, G * m))
    full = d.vcov_units(T)
    blocks = d.vcov_units(T, blocks=m)
    for g in range(G):
        sl = slice(g * m, (g + 1) * m)
        np.testing.assert_allclose(blocks[g], full[sl, sl], rtol=1e-10, atol=1e-12)


def test_banner_row_covariance_equals_delta_method_on_cell_totals():
    """Design-based banner statistics on a clustered design, against the delta method on
    `Design.cell_totals_vcov` computed here for every row and pair of columns."""
    rng = np.random.default_rng(3)
    n = 600
    psu = rng.integers(0, 60, n)
    df = pd.DataFrame({
        "h": psu % 4, "psu": psu, "w": rng.uniform(0.5, 2, n),
        "q": pd.Categorical.from_codes(rng.integers(-1, 4, n), list("abcd")),
        "g": pd.Categorical.from_codes(rng.integers(0, 3, n), ["x", "y", "z"]),
    })
    s = sv.Survey.from_frame(df, weight="w", strata="h", psu="psu")
    b = sv.banner(s, rows=["q"], by=["g"], correction="none", min_base=1, suppress_below=0)
    d = Design.from_survey(s)
    qc, gc = df["q"].cat.codes.to_numpy(), df["g"].cat.codes.to_numpy()
    cell = np.where((qc >= 0) & (gc >= 0), qc * 3 + gc, -1)
    T, V = d.cell_totals_vcov(cell, 12)
    T4, V4 = T.reshape(4, 3), V.reshape(4, 3, 4, 3)
    S = T4.sum(0)
    tests = b.tests
    checked = 0
    for r, cat in enumerate("abcd"):
        P = T4[r] / S
        G = (np.eye(4)[r][None, :] - P[:, None]) / S[:, None]  # (columns, categories)
        C = np.einsum("aj,jalb,bl->ab", G, V4, G)
        for i in range(3):
            for j in range(i + 1, 3):
                se = np.sqrt(C[i, i] + C[j, j] - 2 * C[i, j])
                row = tests[(tests["category"] == cat) & (tests["col_a"] == ["x", "y", "z"][i])
                            & (tests["col_b"] == ["x", "y", "z"][j])]
                assert len(row) == 1
                np.testing.assert_allclose(row["statistic"].iloc[0], (P[i] - P[j]) / se,
                                           rtol=1e-9)
                checked += 1
    assert checked == 12


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 60), H=st.integers(1, 4), sort=st.booleans(),
       dtype=st.sampled_from(["int32", "int64", "uint8"]), seed=st.integers(0, 10_000))
def test_design_codes_of_integer_columns_equal_factorize(n, H, sort, dtype, seed):
    """`build_design` codes sorted integer columns without a hash table: the stratum and
    PSU codes (and the variance built on them) must be those of ``pd.factorize`` (first
    appearance), whether or not the file is sorted."""
    rng = np.random.default_rng(seed)
    strata = rng.integers(0, H, n)
    psu = strata * 100 + rng.integers(0, 4, n)
    assume(len(np.unique(psu)) > 1)  # one PSU: refused (tested elsewhere)
    if sort:
        order = np.lexsort((psu, strata))
        strata, psu = strata[order], psu[order]
    df = pd.DataFrame({"h": strata.astype(dtype), "c": psu.astype("int64"),
                       "y": rng.normal(size=n)})
    d = build_design(df, weights=np.ones(n), strata="h", psu=("c",), lonely_psu="adjust")
    want_h, labels_h = pd.factorize(strata)
    want_c = pd.factorize(psu)[0]
    np.testing.assert_array_equal(d.strata, want_h)
    np.testing.assert_array_equal(d.psu, want_c)
    assert list(d.strata_labels) == [int(v) for v in labels_h]
    assert all(type(v) is int for v in d.strata_labels)
    np.testing.assert_array_equal(d.stages[0].stratum, want_h[np.unique(want_c, return_index=True)[1]])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(12, 90), D=st.integers(1, 4), sort=st.booleans(), zero=st.booleans(),
       shift=st.sampled_from([0.0, 1e6]), kind=st.sampled_from(["clusters", "two_stage"]),
       seed=st.integers(0, 10_000))
def test_domain_means_equal_their_row_level_definition(n, D, sort, zero, shift, kind, seed):
    """`_linearize` (centred unit x domain sums; per-unit ``reduceat`` when the rows come
    sorted by unit) against the definition: per domain ``m_d = sum w y / W_d`` and the row
    scores ``w (y - m_d) / W_d``, summed per finest unit with pandas, then ``vcov_units``.
    ``shift`` puts the values far from 0 (the centring must not lose digits)."""
    rng = np.random.default_rng(seed)
    d = _design(rng, n, kind)
    if sort:  # rows grouped by finest unit, in code order
        order = np.argsort(d.stages[-1].row_cluster, kind="stable")
        cl = pd.factorize(d.stages[-1].row_cluster[order])[0]
        d = dataclasses.replace(d, weights=d.weights[order], stages=(dataclasses.replace(
            d.stages[0], row_cluster=cl),) if kind == "clusters" else d.stages)
    if zero:
        d = d.with_weights(np.where(rng.random(n) < 0.2, 0.0, d.weights))
    y = shift + rng.normal(size=n) * 3
    valid = rng.random(n) < 0.85
    dom = rng.integers(-1, D, n) if D > 1 else None
    lin = _linearize(d, np.where(valid, y, 0.0)[:, None], valid, dom, D, "mean")
    w = d.weights
    key = np.zeros(n, dtype=int) if dom is None else dom
    unit = d.stages[-1].row_cluster
    Z = np.zeros((len(d.stages[-1].stratum), D))
    for j in range(D):
        rows = valid & (key == j)
        Wd = w[rows].sum()
        m = (w[rows] * y[rows]).sum() / Wd if Wd > 0 else np.nan
        if Wd > 0:
            np.testing.assert_allclose(lin.est[j, 0], m, rtol=1e-12)
            z = pd.Series(np.where(rows, w * (y - m) / Wd, 0.0)).groupby(unit).sum()
            Z[z.index.to_numpy(), j] = z.to_numpy()
            nobs = int((rows & (w != 0)).sum())
            ss = (w[rows] * (y[rows] - m) ** 2).sum()
            if nobs > 1:
                np.testing.assert_allclose(lin.s2[j, 0], ss / Wd * nobs / (nobs - 1),
                                           rtol=1e-8, atol=1e-12)
    want = d.vcov_units(Z)
    # both sides round y (up to 1e6) to ~1e-10 before centring
    np.testing.assert_allclose(lin.vcov, want, rtol=1e-8, atol=1e-9 * max(1.0, abs(want).max()))


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 6), reps=st.integers(1, 400), x2=st.floats(0.5, 40),
       seed=st.integers(0, 10_000))
def test_saddlepoint_with_multiplicities_equals_the_repeated_weights(k, reps, x2, seed):
    """R's pFsum repeats the weight -X2/ddf ddf times; `_saddle` carries it once with its
    multiplicity. Same tail probability as the expanded vector (R's own layout)."""
    from survey.analysis._design_tests import _saddle

    a = np.random.default_rng(seed).uniform(0.2, 3.0, k)
    b = -x2 / reps
    full = _saddle(0.0, np.concatenate([a, np.repeat(b, reps)]))
    short = _saddle(0.0, np.concatenate([a, [b]]), np.concatenate([np.ones(k), [reps]]))
    if np.isnan(full):
        assert np.isnan(short)
    else:
        # the saddlepoint is a root found to tol 1e-8 (R's uniroot in saddle()); sums in a
        # different order move it within that tolerance: the tails agree to ~1e-8
        np.testing.assert_allclose(short, full, rtol=1e-6, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(40, 150), r=st.integers(2, 4), c=st.integers(2, 4),
       missing=st.booleans(), where=st.booleans(), seed=st.integers(0, 10_000))
def test_crosstab_cell_estimates_from_the_tests_totals_equal_a_fresh_pass(n, r, c, missing,
                                                                         where, seed):
    """`CrossTab.cell_estimates` reuses the PSU x cell totals the Rao-Scott tests summed;
    the result must equal the path that sums the rows again (design_context without them)."""
    rng = np.random.default_rng(seed)
    h = np.sort(rng.integers(0, 3, n))
    df = pd.DataFrame({
        "h": h, "psu": h * 100 + rng.integers(0, 6, n), "w": rng.lognormal(0, 0.5, n),
        "a": pd.Categorical(rng.integers(0, r, n).astype(str)),
        "b": pd.Categorical(rng.integers(0, c, n).astype(str)),
    })
    if missing:
        df.loc[rng.random(n) < 0.1, "a"] = np.nan
    s = sv.Survey.from_frame(df, weight="w", strata="h", psu="psu", lonely_psu="adjust")
    mask = (rng.random(n) < 0.8) if where else None
    try:
        ct = sv.crosstab(s, "a", by="b", where=mask)
    except sv.SurveyError:
        assume(False)  # e.g. a category left empty by the mask: not this test's subject
    assume(len(ct.design_context) > 4 and "unit_totals" in ct.design_context[4])
    fresh = dataclasses.replace(ct, design_context=ct.design_context[:4])
    for kind in ("column", "row", "total"):
        got, want = ct.cell_estimates(kind), fresh.cell_estimates(kind)
        for name in ("estimate", "se", "ci_low", "ci_high", "df"):
            np.testing.assert_allclose(got[name].to_numpy(float), want[name].to_numpy(float),
                                       rtol=1e-12, atol=1e-15, equal_nan=True)
