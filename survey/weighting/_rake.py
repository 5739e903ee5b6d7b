"""Raking (iterative proportional fitting) and post-stratification."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..core import _rows
from ..core._rows import bincount as row_bincount
from ..core._rows import combine_codes, small_int, take
from ..core.design import CalibrationStep, split_cell_keys
from ..core.distributed import is_dask
from ..core.survey import Survey
from ..errors import ConvergenceWarning, WeightingError
from ._common import (
    WeightingReport,
    WeightStats,
    as_input,
    base_weights,
    check_margin,
    extreme_cells,
    margins_frame,
    new_survey,
    parse_margin,
    replicate_aware,
    scale_margins,
    weight_summary,
)

__all__ = ["rake", "poststratify"]


def warn_not_converged(it: int, dev: float, tol: float, notes: list[str]) -> None:
    """Warn (ConvergenceWarning) and note that raking stopped short of its tolerance."""
    msg = (f"raking did not converge in {it} iterations: the largest margin deviation is "
           f"{dev:.3g} of the total (tol {tol:g}). Hint: check that the targets are "
           "consistent, relax bounds, or raise max_iter.")
    warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    notes.append("NOT CONVERGED: " + msg)


def _joint_cells(margins) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joint cell code of each row, per cell the code of each margin (cells x m) and the
    rows per cell.

    The mixed-radix key and the cell codes are built a block of rows at a time in the
    smallest integer type that holds them (one byte per row for up to 127 cells)."""
    sizes = [len(m.labels) for m in margins]
    key = combine_codes([m.codes for m in margins], sizes)
    prod = int(np.prod(sizes, dtype=np.float64))
    if prod <= max(4 * len(key), 1 << 20):  # dense: bincount over the key space
        n_key = row_bincount(key, minlength=prod)
        present = np.flatnonzero(n_key)
        if len(present) == prod:  # every joint cell occurs: the key is the cell
            return key, split_cell_keys(present, sizes), n_key
        remap = np.zeros(prod, dtype=small_int(len(present)))
        remap[present] = np.arange(len(present))
        return take(remap, key), split_cell_keys(present, sizes), n_key[present]
    cell, uniq = pd.factorize(key, sort=True)
    return cell.astype(np.int64), split_cell_keys(uniq, sizes), np.bincount(cell)


def _raked_weights(g: np.ndarray, cell: np.ndarray, w0: np.ndarray, cell_w: np.ndarray):
    """The new weights ``w0 * g[cell]`` and their `weight_summary`, in one pass a block at a
    time: each block gathered, multiplied and summarised while in cache (the total and the
    mean come from the cells, ``sum(g * cell_w)``)."""
    n = len(w0)
    total = float(g @ cell_w)
    stats = WeightStats(total / n if n else math.nan)
    w = np.empty(n)
    for a in range(0, n, _rows.BLOCK):
        b = w[a:a + _rows.BLOCK]
        np.take(g, cell[a:a + _rows.BLOCK], out=b, mode="clip")
        b *= w0[a:a + _rows.BLOCK]
        stats.add(b)
    return w, stats.summary(n, total)


def _ipf(cell_w: np.ndarray, cell_codes: np.ndarray, targets: list[np.ndarray], total: float,
         tol: float, max_iter: int, bounds: tuple[float, float] | None):
    """IPF on the table of joint cells. Returns (g per cell, iterations, max deviation)."""
    g = np.ones(len(cell_w))
    sizes = [len(t) for t in targets]
    inner = min(tol, 1e-10)  # keep sweeping (cheap) until the weights are settled

    def deviation(gg):
        cw = cell_w * gg
        return max(float(np.abs(np.bincount(cell_codes[:, j], weights=cw, minlength=sizes[j])
                                - targets[j]).max()) for j in range(len(targets))) / total

    it = 0
    dev = deviation(g)
    while it < max_iter and dev > inner:
        for j, t in enumerate(targets):
            cur = np.bincount(cell_codes[:, j], weights=cell_w * g, minlength=sizes[j])
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(cur > 0, t / cur, 1.0)
            g = g * f[cell_codes[:, j]]
        if bounds is not None:
            g = np.clip(g, bounds[0], bounds[1])
        it += 1
        dev = deviation(g)
    return g, it, dev


def _as_margin_dict(targets) -> dict:
    if not isinstance(targets, Mapping) or not targets:
        raise WeightingError(
            "targets must be a mapping {variable: {category: count or proportion}}, e.g. "
            "{'sex': {'male': 0.49, 'female': 0.51}}"
        )
    return dict(targets)


@replicate_aware
def rake(survey: Survey | pd.DataFrame, targets: Mapping, *, max_iter: int = 100,
         tol: float = 1e-6, bounds: tuple[float, float] | None = None,
         weight_name: str = "weight", extreme_ratio: float = 3.0,
         language: str | None = None) -> Survey:
    """Rake the weights to marginal targets (iterative proportional fitting, R ``rake``).

    Parameters
    ----------
    survey : Survey or DataFrame (its current weights are the starting weights).
    targets : ``{var: {category: target}}``; categories by label (any language of the
        template) or by code; targets as counts or as proportions (summing to 1; then the
        total is that of the count margins, or the current weighted total).
    max_iter : maximum number of full sweeps over the margins.
    tol : convergence criterion: the largest absolute difference between an achieved and a
        target margin, as a fraction of the total. The sweeps continue (cheaply) until the
        weights are settled to 1e-10; convergence is judged against ``tol``.
    bounds : optional ``(lower, upper)`` limits of the adjustment factor (new / old weight),
        applied after each sweep (bounded raking).
    weight_name : name of the new weight column.

    Returns
    -------
    A new Survey with the raked weights in ``weight_name``, ``weighting`` = `WeightingReport`
    and the raking recorded in ``calibration`` so that standard errors use the raking
    residuals (as R: ``svyrecvar``'s raking branch).

    The margins are collapsed to their joint cells, the small table is raked and the cell
    factors are mapped back to the rows (the factors depend on the cell only).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sex": ["m", "m", "f", "f"], "age": ["y", "o", "y", "y"]})
    >>> s = rake(df, {"sex": {"m": 0.5, "f": 0.5}, "age": {"y": 0.6, "o": 0.4}})
    >>> s.weighting.converged, [round(float(w), 6) for w in s.weights]
    (True, [0.4, 1.6, 1.0, 1.0])
    """
    spec = _as_margin_dict(targets)
    if max_iter < 1:
        raise WeightingError(f"max_iter must be at least 1; got {max_iter}")
    if not tol > 0:
        raise WeightingError(f"tol must be positive; got {tol}")
    if bounds is not None:
        lo, hi = float(bounds[0]), float(bounds[1])
        if not (0 <= lo <= 1 <= hi):
            raise WeightingError(f"bounds must satisfy 0 <= lower <= 1 <= upper; got {bounds}")
        bounds = (lo, hi)
    if is_dask(survey):
        from ._dask_rake import rake as dask_rake

        return dask_rake(survey, spec, max_iter=max_iter, tol=tol, bounds=bounds,
                         weight_name=weight_name, language=language)
    s = as_input(survey)
    w0 = base_weights(s, copy=False)  # read-only; kept by the calibration step
    margins = [parse_margin(s, var, sp, language=language, narrow=True, check=False)
               for var, sp in spec.items()]
    cell, cell_codes, n_cell = _joint_cells(margins)
    # the targets checked against the respondents per category, summed over the joint cells
    margins = [check_margin(m, np.bincount(cell_codes[:, j], weights=n_cell,
                                           minlength=len(m.labels)))
               for j, m in enumerate(margins)]
    total = scale_margins(margins, float(w0.sum()))
    cell_w = row_bincount(cell, w0, minlength=len(cell_codes))
    g, it, dev = _ipf(cell_w, cell_codes, [m.target for m in margins], total, tol, max_iter,
                      bounds)
    w, summary_parts = _raked_weights(g, cell, w0, cell_w)
    converged = dev <= tol
    notes = [
        f"Raking (iterative proportional fitting) on {len(margins)} margins "
        f"({', '.join(m.var for m in margins)}) over {len(cell_codes)} joint cells; "
        f"tol = {tol:g} of the total ({total:g}).",
        "Standard errors use the raking residuals (R survey::rake / svyrecvar).",
    ]
    if bounds is not None:
        notes.append(f"Adjustment factors bounded to [{bounds[0]:g}, {bounds[1]:g}].")
    if not converged:
        warn_not_converged(it, dev, tol, notes)
    summary, deff, neff, eff = summary_parts
    cells = pd.DataFrame({m.var: [m.labels[c] for c in cell_codes[:, j]]
                          for j, m in enumerate(margins)})
    cells["n"] = n_cell
    cells["weight"] = (cell_w * g) / np.maximum(cells["n"].to_numpy(), 1)  # mean weight
    cells["factor"] = g
    report = WeightingReport(
        method="rake", weight_name=weight_name, converged=bool(converged), iterations=it,
        max_deviation=float(dev), tol=tol,  # margins before and after from the joint cells
        margins=margins_frame([dataclasses.replace(m, codes=cell_codes[:, j])
                               for j, m in enumerate(margins)], cell_w, cell_w * g, total),
        weights=summary, deff_kish=deff, n=len(w), n_effective=neff, efficiency=eff,
        extreme=extreme_cells(cells, summary["mean"], extreme_ratio), notes=tuple(notes),
    )
    step = CalibrationStep(kind="raking", weights=w, base_weights=w0,
                           codes=tuple(m.codes for m in margins), cells=(cell, cell_codes))
    return new_survey(s, w, weight_name, report, step)


@replicate_aware
def poststratify(survey: Survey | pd.DataFrame, by: str | Sequence[str], totals: Mapping, *,
                 weight_name: str = "weight", extreme_ratio: float = 3.0,
                 language: str | None = None, partial: bool = False) -> Survey:
    """Post-stratify: weights become ``w * N_h / sum_h(w)`` in each cell (R ``postStratify``).

    A population cell with no respondent is an error (its count cannot be reached), unless
    ``partial=True`` (R ``postStratify(partial = TRUE)``): such cells are ignored and the
    notes name them; the weights then sum to the totals of the cells present.

    Parameters
    ----------
    by : the post-stratification variable (categorical).
    totals : ``{category: count or proportion}`` (labels in any language, or codes).

    Standard errors use the post-stratification residuals under the base design (R).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"sex": ["m", "m", "m", "f"]})
    >>> poststratify(df, "sex", {"m": 50, "f": 50}).weights.tolist()
    [16.666666666666668, 16.666666666666668, 16.666666666666668, 50.0]
    """
    s = as_input(survey)
    if not isinstance(by, str):
        by = list(by)
        if len(by) != 1:
            raise WeightingError(
                "poststratify takes one variable; for joint cells of several variables "
                "make one combined column first (or use rake for margins)"
            )
        by = by[0]
    w0 = base_weights(s)
    m = parse_margin(s, by, dict(totals), language=language, allow_empty=partial)
    total = scale_margins([m], float(w0.sum()))
    k = len(m.labels)
    cur = np.bincount(m.codes, weights=w0, minlength=k)
    absent = [str(m.labels[j]) for j in np.flatnonzero((cur <= 0) & (m.target > 0))]
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(cur > 0, m.target / cur, 0.0)
    w = w0 * f[m.codes]
    summary, deff, neff, eff = weight_summary(w)
    cells = pd.DataFrame({by: m.labels, "n": np.bincount(m.codes, minlength=k)})
    cells["weight"] = np.bincount(m.codes, weights=w, minlength=k) / np.maximum(cells["n"], 1)
    cells["factor"] = f
    report = WeightingReport(
        method="poststratify", weight_name=weight_name, converged=True, iterations=1,
        max_deviation=0.0, tol=0.0, margins=margins_frame([m], w0, w, total), weights=summary,
        deff_kish=deff, n=len(w), n_effective=neff, efficiency=eff,
        extreme=extreme_cells(cells, summary["mean"], extreme_ratio),
        notes=(f"Post-stratified on '{by}' to a total of {total:g} (R survey::postStratify); "
               "standard errors use the post-stratification residuals.",
               *((f"partial=True: population cell(s) {absent} have no respondent and were "
                  f"ignored; the weights sum to {float(w.sum()):g}.",) if absent else ())),
    )
    step = CalibrationStep(kind="poststrat", weights=w, base_weights=w0, codes=(m.codes,))
    return new_survey(s, w, weight_name, report, step)
