"""`rake` of a `DaskSurvey`: IPF on the table of joint margin cells, read per partition.

One pass sums the current weights (and counts, and sums of squared weights, min and max)
per joint cell of the margins; IPF then runs on that small table exactly as in memory
(`_ipf`), and the new weights are ``w * factor[joint cell]``, applied lazily to every
partition (a `RakeStep` on the survey). Variances use the raking residuals.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..core.distributed import (
    DaskSurvey,
    RakeStep,
    categories,
    codes_of,
    design_columns,
    map_reduce,
)
from ..core.survey import Survey
from ..errors import WeightingError
from ._common import WeightingReport, margins_frame, parse_margin, scale_margins


def rake(ds: DaskSurvey, spec: dict, *, max_iter: int, tol: float, bounds, weight_name: str,
         language) -> DaskSurvey:
    from ._rake import _ipf, warn_not_converged

    if ds.design.replicates is not None:
        raise WeightingError(
            "rake: raking a replicate-weight design on Dask is not supported (each replicate "
            "would be raked too, as in memory). Hint: rake the full-sample weights before "
            "writing the replicate weights, or rake in memory with Survey.from_frame.")
    variables = list(spec)
    for var in variables:
        if var not in ds.ddf.columns:
            raise WeightingError(f"targets name the variable '{var}', which is not in the data")
    cats = [categories(ds, var) for var in variables]
    sizes = [len(c) for c in cats]
    J = int(np.prod(sizes, dtype=np.float64))
    if J > 50_000_000:
        raise WeightingError(f"the margins have {J:,} joint cells; too many to rake on Dask")

    def stats(part):
        w = ds.part_weights(part)
        key = np.zeros(len(part), dtype=np.int64)
        missing = {}
        for var, c in zip(variables, cats):
            codes = codes_of(part[var], c)
            missing[var] = int((codes < 0).sum())
            key = key * len(c) + np.maximum(codes, 0)
        bad = np.zeros(len(part), dtype=bool)
        for var, c in zip(variables, cats):
            bad |= codes_of(part[var], c) < 0
        key = key[~bad]
        wk = w[~bad]
        mn = np.full(J, np.inf)
        mx = np.full(J, -np.inf)
        np.minimum.at(mn, key, wk)
        np.maximum.at(mx, key, wk)
        return (np.bincount(key, weights=wk, minlength=J), np.bincount(key, minlength=J),
                np.bincount(key, weights=wk * wk, minlength=J), mn, mx, missing)

    def combine(results):
        out = [sum(r[i] for r in results) for i in range(3)]
        out.append(np.minimum.reduce([r[3] for r in results]))
        out.append(np.maximum.reduce([r[4] for r in results]))
        out.append({v: sum(r[5][v] for r in results) for v in variables})
        return out

    cw_all, n_all, w2_all, mn_all, mx_all, missing = map_reduce(
        ds, stats, combine, variables + design_columns(ds))
    for var, nmiss in missing.items():
        if nmiss:
            raise WeightingError(
                f"'{var}' is missing for {nmiss} respondents; every respondent needs a category "
                "to be weighted on it. Hint: impute the value, add a category for 'missing' "
                "with its own target, or filter those rows first.")
    present = np.flatnonzero(n_all > 0)
    from ..core.design import split_cell_keys

    cell_codes = split_cell_keys(present, sizes)
    proxy = pd.DataFrame({var: pd.Categorical.from_codes(cell_codes[:, j], list(cats[j]))
                          for j, var in enumerate(variables)})
    psurvey = Survey.from_frame(proxy)
    margins = [parse_margin(psurvey, var, spec[var], language=language) for var in variables]
    cell_w = cw_all[present]
    total = scale_margins(margins, float(cell_w.sum()))
    g, it, dev = _ipf(cell_w, cell_codes, [m.target for m in margins], total, tol, max_iter,
                      bounds)
    converged = dev <= tol
    notes = [
        f"Raking (iterative proportional fitting) on Dask: {len(margins)} margins "
        f"({', '.join(variables)}) over {len(present)} joint cells; tol = {tol:g} of the total "
        f"({total:g}).",
        "Standard errors use the raking residuals (R survey::rake / svyrecvar).",
    ]
    if not converged:
        warn_not_converged(it, dev, tol, notes)
    factor = np.zeros(J)
    factor[present] = g
    n = float(n_all.sum())
    sw = float((cell_w * g).sum())
    sw2 = float((w2_all[present] * g * g).sum())
    mean = sw / n
    sd = math.sqrt(max(sw2 / n - mean * mean, 0.0))
    summary = {"min": float((mn_all[present] * g).min()), "max": float((mx_all[present] * g).max()),
               "mean": mean, "sum": sw, "cv": sd / mean if mean else math.nan}
    deff = n * sw2 / sw**2 if sw else math.nan
    cell_before = cell_w
    report = WeightingReport(
        method="rake", weight_name=weight_name, converged=bool(converged), iterations=it,
        max_deviation=float(dev), tol=tol,
        margins=margins_frame(margins, cell_before, cell_before * g, total),
        weights=summary, deff_kish=deff, n=int(n), n_effective=n / deff if deff else math.nan,
        efficiency=1 / deff if deff else math.nan, extreme=pd.DataFrame(), notes=tuple(notes))
    step = RakeStep(columns=tuple(variables), categories=tuple(tuple(c) for c in cats),
                    factor=factor)
    # the raked weights go by ``weight_name``, as in memory; the factors multiply the base
    return ds.replace(raking=ds.raking + (step,), weighting=report, weight=weight_name,
                      base_weight=ds.weight_column)
