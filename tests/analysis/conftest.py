"""Fixtures for the statistics tests: reference values (from R, see tests/reference_r/) and data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).parent
DATA = HERE.parent / "data"
FACTORS = ["stype", "sch.wide", "comp.imp", "both", "awards", "yr.rnd"]


def _load(name: str) -> dict:
    doc = json.loads((HERE / "reference" / name).read_text(encoding="utf-8"))
    return {r["id"]: r for r in doc["results"]}


@pytest.fixture(scope="session")
def classics() -> dict:
    """tests/analysis/reference/classics.json (copied from the shared R reference set)."""
    return {k: v["values"] for k, v in _load("classics.json").items()}


@pytest.fixture(scope="session")
def extra() -> dict:
    """tests/analysis/reference/analysis_extra.json (tests/reference_r/analysis_reference.R)."""
    return {k: v["values"] for k, v in _load("analysis_extra.json").items()}


@pytest.fixture(scope="session")
def svyglm_ref() -> dict:
    return {k: v["values"] for k, v in _load("svyglm.json").items()}


def read_api(name: str) -> pd.DataFrame:
    """An api*.csv as R reads it: factors with alphabetical levels."""
    df = pd.read_csv(DATA / f"{name}.csv", dtype={"cds": str})
    for c in FACTORS:
        if c in df.columns:
            df[c] = pd.Categorical(df[c], categories=sorted(df[c].dropna().unique()))
    return df


@pytest.fixture(scope="session")
def apisrs() -> pd.DataFrame:
    return read_api("apisrs")


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
