"""Building a `Design` from a frame: integer codes of strata and clusters per stage, the
fpc of each stage, lonely-PSU handling and the design df (R ``svydesign``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from . import _rows

if TYPE_CHECKING:  # pragma: no cover - design.py re-exports this module at its end
    from .design import Design, _Stage


def _codes(series: pd.Series, what: str, labels: list | None = None) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype):
        raw = series.cat.codes.to_numpy().astype(np.int64)
        present = np.unique(raw[raw >= 0])  # dense codes: unused categories are no strata
        codes = np.where(raw >= 0, np.searchsorted(present, raw), -1)
        uniq = [series.cat.categories[i] for i in present]
    else:
        codes, uniq = _sorted_codes(series.to_numpy()) if series.dtype.kind in "iub" else (None, None)
        if codes is None:
            codes, uniq = pd.factorize(series, sort=False)
            codes = codes.astype(np.int64, copy=False)
    if labels is not None:
        labels.extend(uniq)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise AnalysisError(
            f"{what} column '{series.name}' has a missing value (row {row}); every row needs "
            f"a {what}. Hint: fill it or drop the row before building the design."
        )
    return codes


def _sorted_codes(a: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``pd.factorize(a, sort=False)`` for a non-decreasing array (files are usually sorted
    by stratum and PSU): a new code wherever the value changes, so first appearance and
    sorted order agree; two comparisons and one ``repeat`` instead of a hash table.
    ``(None, None)`` when ``a`` is not sorted (the caller factorizes)."""
    if len(a) < 2:
        return None, None
    up = a[1:] >= a[:-1]
    if not up.all():
        return None, None
    starts = np.r_[0, np.flatnonzero(a[1:] != a[:-1]) + 1]
    lengths = np.diff(np.r_[starts, len(a)])
    return np.repeat(np.arange(len(starts), dtype=np.int64), lengths), a[starts].tolist()


def _nested(stratum_of_cluster: np.ndarray, cl: np.ndarray, s1: np.ndarray) -> bool:
    """Every row's stratum is its cluster's stratum (clusters nested in strata), checked a
    block of rows at a time (no n-length gather)."""
    for a in range(0, len(cl), _rows.BLOCK):
        b = a + _rows.BLOCK
        if not np.array_equal(np.take(stratum_of_cluster, cl[a:b]), s1[a:b]):
            return False
    return True


def _pair_codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes of the pairs (a, b) and, per code, the value of ``a``."""
    nb = int(b.max()) + 1 if len(b) else 1
    key = a * nb + b
    codes, uniq = pd.factorize(key, sort=False)
    return codes.astype(np.int64), (uniq // nb).astype(np.int64)


def _first(values: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    out = np.empty(k, dtype=values.dtype)
    out[codes[::-1]] = values[::-1]  # first occurrence wins
    return out


def build_design(
    data: pd.DataFrame,
    *,
    weights: np.ndarray | None = None,
    strata: str | None = None,
    psu: tuple[str, ...] = (),
    fpc: tuple[str, ...] = (),
    nest: bool = False,
    lonely_psu: str = "fail",
    calibration: tuple = (),
) -> Design:
    """Build the numeric `Design` the way R's ``svydesign`` does (see the module docstring)."""
    from .design import LONELY_PSU_OPTIONS, Design, _Stage

    n = len(data)
    if lonely_psu not in LONELY_PSU_OPTIONS:
        raise AnalysisError(
            f"lonely_psu must be one of {', '.join(LONELY_PSU_OPTIONS)}; got {lonely_psu!r}"
        )
    if fpc and len(fpc) != max(len(psu), 1):
        raise AnalysisError(
            f"fpc names {len(fpc)} column(s) but the design has {max(len(psu), 1)} stage(s) "
            f"(psu {list(psu)}); give one fpc column per psu column, as R svydesign requires "
            "(a stage without fpc would silently drop out of the variance). Hint: to ignore the "
            "later stages, give only the first psu column."
        )
    strata_labels: list = []
    s1 = _codes(data[strata], "strata", strata_labels) if strata else np.zeros(n, dtype=np.int64)
    # row-level cluster codes per stage (nested: a stage-k cluster is the path of ids)
    n_stages = max(len(psu), 1)
    row_clusters: list[np.ndarray] = []
    prev = s1 if (nest and strata) else None
    for k in range(n_stages):
        if psu:
            raw = _codes(data[psu[k]], "psu")
        else:
            raw = np.arange(n, dtype=np.int64)
        if k == 0:
            if prev is not None:
                cl, _ = _pair_codes(prev, raw)
            else:
                cl = raw  # dense codes, in order of first appearance unless categorical
                if psu and isinstance(data[psu[0]].dtype, pd.CategoricalDtype):
                    cl = pd.factorize(raw, sort=False)[0].astype(np.int64)
        else:
            cl, _ = _pair_codes(row_clusters[-1], raw)
        row_clusters.append(cl)
    # stage-1 clusters must be nested in strata (R: check.strata unless nest=TRUE)
    n1 = int(row_clusters[0].max()) + 1 if n else 0
    stratum_of_cluster = np.empty(n1, dtype=s1.dtype)
    stratum_of_cluster[row_clusters[0]] = s1  # any row of the cluster: nesting is checked
    if strata and not nest and psu:
        if not _nested(stratum_of_cluster, row_clusters[0], s1):
            raise AnalysisError(
                f"PSU column '{psu[0]}' is not nested in strata '{strata}': the same PSU id "
                "occurs in several strata. Hint: pass nest=True if PSU ids are only unique "
                "within a stratum (R: svydesign(nest=TRUE))."
            )
    if psu and n1 == 1 and not (nest and strata):
        raise AnalysisError(
            f"the design has only one primary sampling unit (column '{psu[0]}'); a variance "
            "cannot be estimated. Hint: check the psu column."
        )
    # stage structures
    raw_fpc = []
    for col in fpc:
        f = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        if np.isnan(f).any():
            row = int(np.flatnonzero(np.isnan(f))[0])
            raise AnalysisError(
                f"fpc column '{col}' must hold numbers; row {row} holds {data[col].iloc[row]!r}"
            )
        raw_fpc.append(f)
    if raw_fpc:
        allf = np.concatenate(raw_fpc)
        is_count = bool((allf > 1).any())
        if is_count != bool((allf >= 1).all()):
            raise AnalysisError(
                "fpc must be all population counts (>= 1) or all sampling fractions (<= 1); "
                f"found values from {allf.min():g} to {allf.max():g}"
            )
    stages: list[_Stage] = []
    stratum_rows = s1
    popsizes: list[np.ndarray] = []
    sampsizes: list[np.ndarray] = []
    for k, cl in enumerate(row_clusters):
        C = int(cl.max()) + 1 if n else 0
        if k == 0:
            st_c = stratum_of_cluster
            H = int(s1.max()) + 1 if n else 0
            parent = None
        else:
            parent = _first(row_clusters[k - 1], cl, C)
            st_c = parent  # later-stage strata: the clusters of the stage above
            H = int(row_clusters[k - 1].max()) + 1
        nh = np.bincount(st_c, minlength=H).astype(float)
        n_psu_c = nh[st_c]
        if k < len(raw_fpc):
            n_psu_rows = n_psu_c[cl]
            f = raw_fpc[k]
            pop_rows = f if is_count else n_psu_rows / f
            if (pop_rows < n_psu_rows).any():
                row = int(np.flatnonzero(pop_rows < n_psu_rows)[0])
                raise AnalysisError(
                    f"fpc column '{fpc[k]}' implies more than 100% sampling at row {row}: "
                    f"population {pop_rows[row]:g}, sampled {n_psu_rows[row]:g} units. "
                    "Hint: fpc is the population size of the stratum (or the sampling fraction)."
                )
            pop_c = _first(pop_rows, cl, C)
            with np.errstate(divide="ignore", invalid="ignore"):
                fc = np.where(np.isinf(pop_c), 1.0, (pop_c - n_psu_c) / pop_c)
                ratio = np.where(np.isinf(pop_c), 0.0, n_psu_c / pop_c)
            popsizes.append(pop_rows)
            sampsizes.append(n_psu_rows)
        else:
            fc = np.ones(C)
            ratio = np.zeros(C)
        scale = np.where(n_psu_c > 1, fc * n_psu_c / np.maximum(n_psu_c - 1, 1), fc)
        fmax = np.full(H, -np.inf)
        np.maximum.at(fmax, st_c, fc)
        zero = fmax < 1e-7
        stages.append(_Stage(cl, st_c, H, parent, n_psu_c, scale, zero, ratio))
        if k + 1 >= max(len(raw_fpc), 1):
            break  # without fpc only the first stage counts (R: with replacement)
    if weights is None:
        if popsizes:
            w = np.ones(n)
            for pop, samp in zip(popsizes, sampsizes):
                w = w * pop / samp
        else:
            w = np.ones(n)
    else:
        w = np.asarray(weights, dtype=float)
    fpc1 = popsizes[0] if popsizes else None
    design = Design(
        weights=w,
        strata=s1,
        psu=row_clusters[0],
        fpc=fpc1,
        n_strata=stages[0].n_strata,
        n_psu=len(stages[0].stratum),
        stages=tuple(stages),
        lonely_psu=lonely_psu,
        calibration=tuple(calibration),
        _degf=_degf(stages[0], s1, w),
        _rows_are_units=not psu and len(stages) == 1,
        strata_labels=tuple(strata_labels),
    )
    del stratum_rows
    return design


def _degf(stage1: _Stage, s1: np.ndarray, w: np.ndarray) -> int:
    inset = w != 0
    if inset.all():
        return len(stage1.stratum) - int(stage1.n_strata)
    cl = stage1.row_cluster[inset]
    return len(np.unique(cl)) - len(np.unique(s1[inset]))


def fpc_weights(data: pd.DataFrame, *, strata=None, psu=(), fpc=(), nest=False) -> np.ndarray:
    """Weights implied by the fpc (R: ``svydesign`` without weights): prod_k N_k / n_k."""
    return build_design(data, strata=strata, psu=psu, fpc=fpc, nest=nest, lonely_psu="remove").weights
