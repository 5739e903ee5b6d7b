"""Data helpers of the statistics tests (a module of its own: a test folder's ``conftest``
cannot be imported by name when pytest collects several folders that each have one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parent.parent / "data"
FACTORS = ["stype", "sch.wide", "comp.imp", "both", "awards", "yr.rnd"]


def read_api(name: str) -> pd.DataFrame:
    """An api*.csv as R reads it: factors with alphabetical levels."""
    df = pd.read_csv(DATA / f"{name}.csv", dtype={"cds": str})
    for c in FACTORS:
        if c in df.columns:
            df[c] = pd.Categorical(df[c], categories=sorted(df[c].dropna().unique()))
    return df


def table_frame(counts, *, ordered: bool = False, rows=None, cols=None) -> pd.DataFrame:
    """One row per respondent reproducing a table of counts (row variable 'r', column 'c')."""
    t = np.asarray(counts, dtype=int)
    rows = rows or [f"r{i + 1}" for i in range(t.shape[0])]
    cols = cols or [f"c{j + 1}" for j in range(t.shape[1])]
    ri, ci = np.indices(t.shape)
    r = np.repeat(ri.ravel(), t.ravel())
    c = np.repeat(ci.ravel(), t.ravel())
    return pd.DataFrame({
        "r": pd.Categorical.from_codes(r, categories=rows, ordered=ordered),
        "c": pd.Categorical.from_codes(c, categories=cols, ordered=ordered),
    })
