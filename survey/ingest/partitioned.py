"""`read_responses` of a partitioned Parquet dataset: a Dask-backed Survey (issue 15).

A folder of ``.parquet`` files (or a glob such as ``"parts/*.parquet"``) is opened with
``dask.dataframe.read_parquet``; nothing is read into memory. The single-choice columns
that the questionnaire knows are mapped, partition by partition, from their stored codes
(choice names, compared as text) to the choice labels, as categoricals in template order,
exactly the categories the in-memory reader gives. A stored code that is not a choice
becomes missing, and `read_responses` counts such cells and says so in a warning (the
full validation report needs the rows in memory: use `read_responses` on one file for
that). The design options are those of `Survey.from_dask`.
"""

from __future__ import annotations

import glob
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import IngestError

DESIGN_KEYS = ("weight", "strata", "psu", "fpc", "nest", "lonely_psu", "language")


def is_partitioned_parquet(path: Any) -> bool:
    """A folder holding ``.parquet`` files, or a glob pattern of ``.parquet`` files."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    text = os.fspath(path)
    if any(ch in text for ch in "*?[") and text.endswith(".parquet"):
        return True
    p = Path(text)
    return p.is_dir() and any(p.rglob("*.parquet"))


def read_partitioned(path, questionnaire: Any, **options: Any):
    import dask.dataframe as dd

    from ..core.distributed import from_dask

    unknown = set(options) - set(DESIGN_KEYS)
    if unknown:
        raise IngestError(
            f"read_responses on a partitioned Parquet dataset ({os.fspath(path)}): option "
            f"{sorted(unknown)[0]!r} does not apply; the options here are "
            f"{', '.join(DESIGN_KEYS)}. Hint: the file-reading options are for single files.")
    text = os.fspath(path)
    if any(ch in text for ch in "*?[") and not glob.glob(text):
        raise IngestError(f"read_responses: no file matches {text!r}")
    ddf = dd.read_parquet(text)
    language = options.get("language")
    maps = _choice_maps(questionnaire, list(ddf.columns), language)
    if maps:
        meta = ddf._meta.copy()
        for col, (_codes, labels) in maps.items():
            meta[col] = pd.Categorical([], categories=labels)
        bad = ddf.map_partitions(_count_unknown, maps, meta=(None, "int64")).sum().compute()
        ddf = ddf.map_partitions(_apply_labels, maps, meta=meta)
        if int(bad):
            warnings.warn(f"{int(bad)} cells of single-choice questions in {text} hold a code "
                          "that is not one of the question's choices; they are missing in the "
                          "analysis. Hint: read one part with read_responses for the full "
                          "validation report.", stacklevel=3)
    return from_dask(ddf, weight=options.get("weight"), strata=options.get("strata"),
                     psu=options.get("psu"), fpc=options.get("fpc"),
                     nest=bool(options.get("nest", False)),
                     lonely_psu=options.get("lonely_psu", "fail"),
                     questionnaire=questionnaire, language=language)


def _choice_maps(q: Any, columns: list[str], language) -> dict:
    out = {}
    if q is None or not hasattr(q, "var_info"):
        return out
    for col in columns:
        try:
            info = q.var_info(col, language=language)
        except Exception:  # noqa: BLE001 - a column the template does not describe
            info = None
        if info is not None and info.kind == "single" and info.categories:
            out[col] = (tuple(str(c) for c in info.codes), tuple(info.categories))
    return out


def _text(series: pd.Series) -> pd.Series:
    """Stored codes as text, as the file reader compares them (2.0 -> "2")."""
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype(str)
    if pd.api.types.is_float_dtype(series.dtype):
        return series.map(lambda v: v if v != v else (str(int(v)) if float(v).is_integer()
                                                      else str(v)))
    return series.astype(object).map(lambda v: v if v is None or v != v else str(v))


def _apply_labels(part: pd.DataFrame, maps: dict) -> pd.DataFrame:
    part = part.copy()
    for col, (codes, labels) in maps.items():
        idx = pd.Index(codes).get_indexer(_text(part[col]))
        part[col] = pd.Categorical.from_codes(idx, categories=list(labels))
    return part


def _count_unknown(part: pd.DataFrame, maps: dict) -> int:
    bad = 0
    for col, (codes, _labels) in maps.items():
        raw = part[col]
        idx = pd.Index(codes).get_indexer(_text(raw))
        bad += int(((idx < 0) & raw.notna().to_numpy()).sum())
    return bad
