"""Calibration to totals (GREG / raking / logit distance), as R ``survey::calibrate``."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..core.design import CalibrationStep
from ..core.survey import Survey
from ..errors import ConvergenceWarning, WeightingError, did_you_mean
from ._common import (
    WeightingReport,
    as_input,
    base_weights,
    extreme_cells,
    new_survey,
    parse_margin,
    replicate_aware,
    weight_summary,
)

__all__ = ["calibrate"]

_INTERCEPT = ("(Intercept)", "N", "_total")


def _calfun(method: str, bounds):
    lo, hi = bounds
    # derivatives exactly as R's cal.linear / cal.raking: non-zero where lo - 1 < u < hi - 1
    # (for raking R compares u, not exp(u), with the bounds - its Newton steps, hence its
    # convergence, depend on it)
    if method == "linear":
        def F(u):
            return np.clip(1 + u, lo, hi)

        def dF(u):
            return ((u < hi - 1) & (u > lo - 1)).astype(float)
    elif method == "raking":
        def F(u):
            return np.clip(np.exp(u), lo, hi)

        def dF(u):
            return np.where((u < hi - 1) & (u > lo - 1), np.exp(u), 0.0)
    elif method == "logit":
        if not (np.isfinite(lo) and np.isfinite(hi)) or not (lo < 1 < hi):
            raise WeightingError(
                "logit calibration needs finite bounds with lower < 1 < upper, e.g. "
                f"bounds=(0.5, 2); got {bounds}"
            )
        A = (hi - lo) / ((hi - 1) * (1 - lo))

        def F(u):
            e = np.exp(np.clip(A * u, -700, 700))
            return (lo * (hi - 1) + hi * (1 - lo) * e) / (hi - 1 + (1 - lo) * e)

        def dF(u):
            e = np.exp(np.clip(A * u, -700, 700))
            den = hi - 1 + (1 - lo) * e
            return A * e * (1 - lo) * (hi - 1) * (hi - lo) / den**2
    else:
        raise WeightingError(f"method must be 'linear', 'raking' or 'logit'; got {method!r}")
    return F, dF


def _model_matrix(s: Survey, totals: Mapping, language):
    """R-style model matrix (intercept + treatment dummies + numeric columns) and totals."""
    cols, names, pop = [], [], []
    n = len(s.data)
    N = None
    for key in _INTERCEPT:
        if key in totals:
            N = float(totals[key])
    cat_parts = []
    for var, spec in totals.items():
        if var in _INTERCEPT:
            continue
        if isinstance(spec, Mapping):
            m = parse_margin(s, var, dict(spec), language=language)
            cat_parts.append(m)
        else:
            if var not in s.data.columns:
                hint = did_you_mean(var, s.data.columns)
                raise WeightingError(f"calibration total for '{var}': no such column"
                                     + (f"; {hint}" if hint else ""))
            x = pd.to_numeric(s.data[var], errors="coerce").to_numpy(dtype=float)
            if np.isnan(x).any():
                raise WeightingError(
                    f"'{var}' is missing or not numeric for {int(np.isnan(x).sum())} rows; "
                    "calibration variables must be complete. Hint: impute or filter first."
                )
            try:
                t = float(spec)
            except (TypeError, ValueError):
                raise WeightingError(f"calibration total for '{var}': expected a number, "
                                     f"found {spec!r}") from None
            cols.append(x)
            names.append(var)
            pop.append(t)
    cat_cols, cat_names, cat_pop = [], [], []
    for m in cat_parts:
        tot = float(m.target.sum())
        if m.is_proportion:
            if N is None:
                raise WeightingError(
                    f"targets for '{m.var}' are proportions; give the population size as "
                    "totals['(Intercept)'] (or counts) for calibration"
                )
            m.target = m.target * N
            tot = N
        if N is None:
            N = tot
        elif abs(tot - N) > 1e-6 * N:
            raise WeightingError(
                f"calibration targets disagree on the population total: '{m.var}' sums to "
                f"{tot:g}, expected {N:g}. Hint: correct the targets."
            )
        for i in range(1, len(m.labels)):
            cat_cols.append((m.codes == i).astype(float))
            cat_names.append(f"{m.var}{m.labels[i]}")
            cat_pop.append(m.target[i])
    if N is None:
        X = np.column_stack(cols) if cols else np.zeros((n, 0))
        return X, names, np.array(pop, dtype=float), cat_parts
    X = np.column_stack([np.ones(n)] + cat_cols + cols)
    return X, ["(Intercept)"] + cat_names + names, np.array([N] + cat_pop + pop, dtype=float), cat_parts


@replicate_aware
def calibrate(survey: Survey | pd.DataFrame, totals: Mapping, *, method: str = "linear",
              bounds: tuple[float, float] | None = None, max_iter: int = 100,
              tol: float = 1e-10, weight_name: str = "weight", extreme_ratio: float = 3.0,
              language: str | None = None) -> Survey:
    """Calibrate the weights to known population totals (R ``calibrate``).

    Parameters
    ----------
    totals : ``{var: {category: count}}`` for categorical variables and ``{var: total}`` for
        numeric ones; ``"(Intercept)"`` gives the population size N when no categorical
        margin fixes it. The model is R's: intercept + treatment-coded categories + numeric
        columns.
    method : distance: ``"linear"`` (GREG, g = 1 + x'l), ``"raking"`` (g = exp(x'l)) or
        ``"logit"`` (bounded; needs ``bounds``).
    bounds : ``(lower, upper)`` limits of g = new weight / old weight.
    tol : Newton iterations stop when every |achieved - target| / (1 + |target|) < tol.

    Standard errors use the g-weighted residuals of the design-weighted regression of each
    variable on the calibration model (R ``svyrecvar``'s GREG branch).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"sex": ["m", "m", "m", "f"], "x": [1.0, 2.0, 3.0, 4.0]})
    >>> s = calibrate(df, {"sex": {"m": 50, "f": 50}, "x": 260.0})
    >>> round(float(s.weights.sum()), 6)
    100.0
    """
    s = as_input(survey)
    if not isinstance(totals, Mapping) or not totals:
        raise WeightingError("totals must be a non-empty mapping {var: total or {category: count}}")
    bnds = (-math.inf, math.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    F, dF = _calfun(method, bnds)
    w0 = base_weights(s)
    X, names, pop, cat_parts = _model_matrix(s, totals, language)
    if X.shape[1] == 0:
        raise WeightingError("no calibration variables given")
    # Newton iterations on the calibration equations sum(w0 g x) = pop (R grake)
    eta = np.zeros(X.shape[1])
    it = 0
    converged = False
    misfit = pop - X.T @ w0
    while True:
        u = X @ eta
        g = F(u)
        misfit = pop - X.T @ (w0 * g)
        rel = np.abs(misfit) / (1 + np.abs(pop))
        if (rel < tol).all():
            converged = True
            break
        if it >= max_iter:
            break
        d = dF(u)
        T = X.T @ (X * (w0 * d)[:, None])
        step = np.linalg.pinv(T, rcond=256 * np.finfo(float).eps) @ misfit  # R MASS::ginv
        eta = eta + step
        it += 1
    g = F(X @ eta)
    w = w0 * g
    maxdev = float(np.max(np.abs(pop - X.T @ w)) / (abs(pop[0]) if len(pop) else 1.0))
    notes = [f"Calibration ({method} distance, R survey::calibrate) to {len(names)} totals: "
             f"{', '.join(names)}.",
             "Standard errors use the calibration (GREG) residuals."]
    if bounds is not None:
        notes.append(f"g-weights bounded to [{bnds[0]:g}, {bnds[1]:g}].")
    if not converged:
        msg = (f"calibration did not converge in {it} iterations (largest relative misfit "
               f"{float(np.max(np.abs(misfit) / (1 + np.abs(pop)))):.3g}). Hint: widen the "
               "bounds or check that the totals are attainable.")
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        notes.append("NOT CONVERGED: " + msg)
    summary, deff, neff, eff = weight_summary(w)
    rows = []
    N = float(pop[0]) if names and names[0] == "(Intercept)" else float(w.sum())
    for m in cat_parts:
        k = len(m.labels)
        before = np.bincount(m.codes, weights=w0, minlength=k)
        after = np.bincount(m.codes, weights=w, minlength=k)
        for i in range(k):
            rows.append({"var": m.var, "category": m.labels[i], "target": m.target[i],
                         "before": before[i], "achieved": after[i],
                         "deviation": (after[i] - m.target[i]) / N})
    for j, nm in enumerate(names):
        if nm in [r["var"] for r in rows] or nm == "(Intercept)" or any(
                nm.startswith(m.var) for m in cat_parts):
            continue
        rows.append({"var": nm, "category": "total", "target": pop[j],
                     "before": float(X[:, j] @ w0), "achieved": float(X[:, j] @ w),
                     "deviation": (float(X[:, j] @ w) - pop[j]) / N})
    margins = pd.DataFrame(rows, columns=["var", "category", "target", "before", "achieved",
                                          "deviation"])
    cells = pd.DataFrame({"row": np.arange(len(w)), "weight": w, "factor": g})
    report = WeightingReport(
        method=f"calibrate ({method})", weight_name=weight_name, converged=converged,
        iterations=it, max_deviation=maxdev, tol=tol, margins=margins, weights=summary,
        deff_kish=deff, n=len(w), n_effective=neff, efficiency=eff,
        extreme=extreme_cells(cells, summary["mean"], extreme_ratio), notes=tuple(notes),
    )
    step = CalibrationStep(kind="greg", weights=w, base_weights=w0, X=X)
    return new_survey(s, w, weight_name, report, step)
