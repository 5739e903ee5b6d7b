"""Multiple-comparison adjustment of p-values, exactly as R's ``p.adjust``.

NaN-safe as R: missing p-values stay missing and ``n`` counts only the non-missing ones
(statsmodels' ``multipletests`` gives wrong values when NaNs are present).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import AnalysisError

_METHODS = {
    "holm": "holm",
    "hochberg": "hochberg",
    "simes-hochberg": "hochberg",
    "hommel": "hommel",
    "bonferroni": "bonferroni",
    "bh": "BH",
    "fdr": "BH",
    "fdr_bh": "BH",
    "by": "BY",
    "fdr_by": "BY",
    "none": "none",
}

__all__ = ["adjust_pvalues"]


def _method_name(method: str) -> str:
    key = str(method).strip().lower()
    if key not in _METHODS:
        raise AnalysisError(
            f"adjust_pvalues: unknown method {method!r}; expected one of holm, hochberg, hommel, "
            "bonferroni, BH, BY (R's p.adjust names, case-insensitive) or none"
        )
    return _METHODS[key]


def adjust_pvalues(p: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons (R's ``p.adjust``).

    Parameters
    ----------
    p : sequence of float
        Raw p-values; NaN marks a missing value (kept as NaN, not counted in ``n``).
    method : {"holm", "hochberg", "hommel", "bonferroni", "BH", "BY", "none"}
        R's method names, case-insensitive. Default ``"holm"`` (R's default).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.

    Examples
    --------
    >>> adjust_pvalues([0.01, float("nan"), 0.04, 0.03, 0.2], method="holm").round(4).tolist()
    [0.04, nan, 0.09, 0.09, 0.2]
    >>> adjust_pvalues([0.01, 0.02, 0.03], method="BH").round(4).tolist()
    [0.03, 0.03, 0.03]
    """
    name = _method_name(method)
    try:
        p0 = np.array(p, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"adjust_pvalues: expected numbers, found {p!r}") from exc
    ok = ~np.isnan(p0)
    x = p0[ok]
    if ((x < 0) | (x > 1)).any():
        raise AnalysisError("adjust_pvalues: p-values must lie in [0, 1]; found "
                            f"{x[(x < 0) | (x > 1)][:3].tolist()}")
    n = x.size
    out = p0.copy()
    if n <= 1 or name == "none":
        return out
    if n == 2 and name == "hommel":
        name = "hochberg"
    if name == "bonferroni":
        adj = np.minimum(1.0, n * x)
    elif name == "holm":
        o = np.argsort(x, kind="stable")
        i = np.arange(1, n + 1)
        adj = np.empty(n)
        adj[o] = np.minimum(1.0, np.maximum.accumulate((n + 1 - i) * x[o]))
    elif name in ("hochberg", "BH", "BY"):
        o = np.argsort(-x, kind="stable")
        i = np.arange(n, 0, -1)
        if name == "hochberg":
            f = (n + 1 - i) * x[o]
        elif name == "BH":
            f = n / i * x[o]
        else:
            q = np.sum(1.0 / np.arange(1, n + 1))
            f = q * n / i * x[o]
        adj = np.empty(n)
        adj[o] = np.minimum(1.0, np.minimum.accumulate(f))
    else:  # hommel
        o = np.argsort(x, kind="stable")
        ps = x[o]
        i = np.arange(1, n + 1)
        q = np.full(n, np.min(n * ps / i))
        pa = q.copy()
        for m in range(n - 1, 1, -1):
            i1 = np.arange(0, n - m + 1)
            i2 = np.arange(n - m + 1, n)
            q1 = np.min(m * ps[i2] / np.arange(2, m + 1))
            q[i1] = np.minimum(m * ps[i1], q1)
            q[i2] = q[n - m]
            pa = np.maximum(pa, q)
        adj = np.empty(n)
        adj[o] = np.maximum(pa, ps)
    out[ok] = adj
    return out
