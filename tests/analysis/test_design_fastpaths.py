"""The bincount fast path of `Design.cell_totals_vcov` against the generic definition.

`cell_totals_vcov(cell, K)` must equal `vcov_total` of the K cell-indicator columns (the
definition, R ``svyrecvar`` on the indicators); the R agreement of the generic path is checked
in test_design_reference.py (svychisq on dsrs / dstrat / dclus1 / multi-stage designs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.core.design import build_design


def _indicators(cell, K, values=None):
    Z = np.zeros((len(cell), K))
    ok = cell >= 0
    Z[np.flatnonzero(ok), cell[ok]] = 1.0 if values is None else values[ok]
    return Z


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(8, 60),
    K=st.integers(1, 6),
    H=st.integers(1, 4),
    kind=st.sampled_from(["weights", "strata", "strata_fpc", "clusters"]),
    seed=st.integers(0, 10_000),
)
def test_fast_path_equals_indicator_vcov(n, K, H, kind, seed):
    rng = np.random.default_rng(seed)
    h = np.sort(np.arange(n) % H)  # every stratum has >= 2 rows when n >= 2H
    df = pd.DataFrame({"h": h, "w": rng.uniform(0.5, 3, n), "c": rng.integers(0, 4, n)})
    df["N"] = 3 * np.bincount(h)[h] + rng.integers(0, 2, n) * 0  # population per stratum
    kw = {"weights": df["w"].to_numpy()}
    if kind in ("strata", "strata_fpc", "clusters"):
        kw["strata"] = "h"
    if kind == "strata_fpc":
        kw["fpc"] = ("N",)
    if kind == "clusters":
        df["psu"] = df["h"] * 10 + df["c"]
        kw["psu"] = ("psu",)
        kw["lonely_psu"] = "adjust"
    d = build_design(df, **kw)
    cell = rng.integers(-1, K, n)
    values = rng.normal(size=n)
    for v in (None, values):
        tot, V = d.cell_totals_vcov(cell, K, v)
        Z = _indicators(cell, K, v)
        np.testing.assert_allclose(tot, (Z * d.weights[:, None]).sum(0), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(V, d.vcov_total(Z), rtol=1e-9, atol=1e-9)


def test_fast_path_with_unequal_scale_and_certainty_stratum():
    # fpc varying within the single stratum (non-constant scale) and a stratum sampled
    # completely (fpc = n_h: zero variance contribution)
    w = np.array([1.0, 2, 3, 1, 2, 1, 1, 1])
    cell = np.array([0, 1, 1, 2, 0, 1, 2, 2])
    one = pd.DataFrame({"N": [10, 10, 12, 12, 12, 9, 9, 9]})
    two = pd.DataFrame({"h": [0] * 5 + [1] * 3, "N": [10, 10, 12, 12, 12, 3, 3, 3]})
    for df, kw in ((one, {}), (two, {"strata": "h"})):
        d = build_design(df, weights=w, fpc=("N",), **kw)
        assert d._rows_are_units
        tot, V = d.cell_totals_vcov(cell, 3)
        np.testing.assert_allclose(V, d.vcov_total(_indicators(cell, 3)), rtol=1e-10, atol=1e-12)
