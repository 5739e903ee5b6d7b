"""Design-based group comparisons, so no group test analyses a weighted Survey unweighted.

All three are Wald tests on a design-based regression of an outcome on the group dummies
(weighted least squares = weighted group means; covariance from the design sandwich, R
``svy.varcoef`` / ``svytotal`` of the influence functions):

* :func:`design_anova` - R ``regTermTest(svyglm(y ~ g, design), ~g)``: F = W / (k - 1) on
  (k - 1, degf + 1 - k), degf = #PSU - #strata of the rows used;
* :func:`design_ranktest` - R ``svyranktest(y ~ g, design)``: the outcome is the weighted
  mid-rank score ``(cumsum(w) - w/2) / sum(w)`` (ties averaged); two groups: t = difference in
  mean rank score / SE on degf - 1 df; more groups (R ``multiranktest``): F = W / (k - 1)
  on (k - 1, degf - (k - 1));
* :func:`design_two_group` - R ``svyttest(y ~ g, design)`` (used for proportions, with a 0/1
  outcome): t on degf - 1 df.

Rows outside ``use`` (missing values, where= filter) keep the design with weight 0; the
lonely-PSU rule looks at the strata the rows used reach (R ``subset()``).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.design import Design
from ..errors import AnalysisError
from ._common import solve_r

__all__ = ["design_anova", "design_ranktest", "design_two_group", "weighted_midranks"]


def _sandwich(design: Design, y: np.ndarray, g: np.ndarray, use: np.ndarray,
              k: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (intercept = group 0, then differences) and their design covariance."""
    from .estimates import _domain_vcov

    w = design.weights
    rows = np.flatnonzero(use)
    X = np.zeros((len(rows), k))
    X[:, 0] = 1.0
    gi = g[rows]
    for j in range(1, k):
        X[:, j] = gi == j
    wr = w[rows]
    A = X.T @ (X * wr[:, None])
    Ainv = np.linalg.inv(A)
    beta = Ainv @ (X.T @ (wr * y[rows]))
    infn = np.zeros((len(y), k))
    infn[rows] = (X * (y[rows] - X @ beta)[:, None]) @ Ainv
    if design.calibration or design.replicate is not None:
        return beta, design.vcov_total(infn)
    T = np.column_stack([design.unit_totals(w * infn[:, j])[:, 0] for j in range(k)])
    return beta, _domain_vcov(design, T, use, None, 1, k)


def _replicate_means(design: Design, y: np.ndarray, g: np.ndarray, use: np.ndarray,
                     k: int) -> tuple[np.ndarray, np.ndarray]:
    """Replicate designs (R ``svyglm`` on ``svrepdesign`` refits the model per replicate):
    the group-mean coefficients under every replicate's weights, variance by ``svrVar``."""
    rows = np.flatnonzero(use)
    M = np.zeros((len(rows), k))
    M[np.arange(len(rows)), g[rows]] = 1.0

    def coefs(w):  # (n_rows, m) weights -> (m, k): intercept = group 0, then differences
        means = (M.T @ (w * y[rows, None])) / (M.T @ w)
        return np.column_stack([means[0], (means[1:] - means[0]).T]) if k > 1 else means.T

    beta = coefs(design.weights[rows, None])[0]
    betas = coefs(design.replicate.weights[rows])
    return beta, design.replicate.var(betas, beta)


def _degf(design: Design, use: np.ndarray) -> int:
    from .estimates import _subset_degf

    return int(_subset_degf(design, use))


def _wald(beta: np.ndarray, V: np.ndarray) -> float:
    b = beta[1:]
    try:
        return float(b @ solve_r(V[1:, 1:], b))
    except np.linalg.LinAlgError:
        return math.nan


def _f_sf(F: float, d1: float, d2: float) -> float:
    from scipy.stats import f as fdist

    if not (np.isfinite(F) and d1 > 0 and d2 > 0):
        return math.nan
    return float(fdist.sf(F, d1, d2))


def _t_two_sided(t: float, df: float) -> float:
    from scipy.stats import t as tdist

    if not (np.isfinite(t) and df > 0):
        return math.nan
    return float(2 * tdist.sf(abs(t), df))


def _check_groups(g: np.ndarray, use: np.ndarray, k: int, func: str) -> None:
    counts = np.bincount(g[use], minlength=k)
    if (counts == 0).any() or k < 2:
        raise AnalysisError(f"{func}: every group needs at least one row with data; found "
                            f"{counts.tolist()}")


def design_anova(design: Design, y: np.ndarray, g: np.ndarray, use: np.ndarray, k: int) -> dict:
    """Wald F that all k group means are equal (R ``regTermTest`` on ``svyglm(y ~ g)``)."""
    _check_groups(g, use, k, "anova")
    if design.replicate is not None:
        beta, V = _replicate_means(design, y, g, use, k)
    else:
        beta, V = _sandwich(design, y, g, use, k)
    W = _wald(beta, V)
    d1, d2 = float(k - 1), float(_degf(design, use) + 1 - k)
    F = W / d1
    return {"statistic": F, "df": d1, "df_denom": d2, "p_value": _f_sf(F, d1, d2),
            "beta": beta, "vcov": V}


def weighted_midranks(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """R ``svyranktest``'s ranks: ``cumsum(w) - w/2`` in the order of y, averaged over ties
    (unweighted mean within a tie, as R's ``ave``)."""
    order = np.argsort(y, kind="stable")
    cw = np.cumsum(w[order]) - w[order] / 2
    _, inv = np.unique(y[order], return_inverse=True)
    avg = np.bincount(inv, weights=cw) / np.bincount(inv)
    out = np.empty(len(y))
    out[order] = avg[inv]
    return out


def design_ranktest(design: Design, y: np.ndarray, g: np.ndarray, use: np.ndarray,
                    k: int) -> dict:
    """R ``svyranktest(y ~ g, design, test = "wilcoxon")`` (k = 2) / ``"KruskalWallis"``."""
    _check_groups(g, use, k, "rank test")
    rows = np.flatnonzero(use)
    w = design.weights[rows]
    score = np.zeros(len(y))
    score[rows] = weighted_midranks(y[rows], w) / w.sum()
    beta, V = _sandwich(design, score, g, use, k)
    degf = _degf(design, use)
    if k == 2:
        se = math.sqrt(max(V[1, 1], 0.0))
        t = beta[1] / se if se > 0 else math.nan
        df = float(degf - 1)
        return {"statistic": t, "df": df, "df_denom": math.nan,
                "p_value": _t_two_sided(t, df), "estimate": float(beta[1]), "se": se}
    W = _wald(beta, V)
    d1, d2 = float(k - 1), float(degf - (k - 1))
    F = W / d1
    return {"statistic": F, "df": d1, "df_denom": d2, "p_value": _f_sf(F, d1, d2),
            "chisq": W, "estimate": math.nan}


def design_two_group(design: Design, y: np.ndarray, g: np.ndarray, use: np.ndarray,
                     confidence: float = 0.95) -> dict:
    """R ``svyttest(y ~ g, design)``: estimate = mean(group 1) - mean(group 0)."""
    from scipy.stats import t as tdist

    _check_groups(g, use, 2, "two-group test")
    if design.replicate is not None:
        beta, V = _replicate_means(design, y, g, use, 2)
    else:
        beta, V = _sandwich(design, y, g, use, 2)
    se = math.sqrt(max(V[1, 1], 0.0))
    df = float(_degf(design, use) - 1)
    t = beta[1] / se if se > 0 else math.nan
    q = float(tdist.ppf(0.5 + confidence / 2, df)) if df > 0 else math.nan
    return {"statistic": t, "df": df, "p_value": _t_two_sided(t, df),
            "estimate": float(beta[1]), "se": se, "ci_low": beta[1] - q * se,
            "ci_high": beta[1] + q * se, "means": (float(beta[0]), float(beta[0] + beta[1]))}
