"""Fixtures for the statistics tests: reference values (from R, see tests/reference_r/) and data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from analysis_data import read_api

HERE = Path(__file__).parent


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


@pytest.fixture(scope="session")
def apisrs() -> pd.DataFrame:
    return read_api("apisrs")
