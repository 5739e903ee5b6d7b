"""Design-based proportional-odds model (R ``survey::svyolr``).

The weighted log-likelihood ``sum w log(F(zeta_y - x b) - F(zeta_{y-1} - x b))`` in R's
parameters (b, theta) with zeta_1 = theta_1, zeta_k = zeta_{k-1} + exp(theta_k); the maximum
by R's BFGS (``optim``'s variable-metric steps, stopping where R stops, from R's starting
values; see ``_optim``); the Hessian as R's ``optim(hessian =
TRUE)`` computes it (central differences of the gradient, step 1e-3, symmetrised); the
covariance ``svyrecvar(scores %*% solve(H))`` of the design, thresholds by the delta method
(R ``summary.svyolr``). Outer cut points are +-100 as in R.
"""

from __future__ import annotations

import numpy as np

from ..core.design import Design

__all__ = ["svyolr"]


def _zeta(theta: np.ndarray) -> np.ndarray:
    return np.cumsum(np.concatenate([[theta[0]], np.exp(theta[1:])]))


def _jacobian(theta: np.ndarray) -> np.ndarray:
    k = len(theta)
    J = np.zeros((k, k))
    J[:, 0] = 1.0
    for i in range(1, k):
        J[i:, i] = np.exp(theta[i])
    return J


def _parts(par, X, y, q):
    p = X.shape[1]
    beta, theta = par[:p], par[p:]
    gam = np.concatenate([[-100.0], _zeta(theta), [100.0]])
    eta = X @ beta if p else np.zeros(len(y))
    up, lo = gam[y + 1] - eta, gam[y] - eta
    F_up, F_lo = 1 / (1 + np.exp(-up)), 1 / (1 + np.exp(-lo))
    return beta, theta, up, lo, F_up - F_lo, F_up * (1 - F_up), F_lo * (1 - F_lo)


def _negll(par, X, y, w, q):
    with np.errstate(over="ignore"):  # a trial step of R's line search may overflow: +Inf
        *_, pr, _, _ = _parts(par, X, y, q)
    if (pr <= 0).any():
        return np.inf
    return -float((w * np.log(pr)).sum())


def _scores(par, X, y, w, q):
    """Per-row gradient of the weighted negative log-likelihood (R ``gmini``)."""
    beta, theta, up, lo, pr, d_up, d_lo = _parts(par, X, y, q)
    g_beta = X * (w * (d_up - d_lo) / pr)[:, None]
    G = np.zeros((len(y), q + 2))
    rows = np.arange(len(y))
    G[rows, y + 1] -= w * d_up / pr
    G[rows, y] += w * d_lo / pr
    g_theta = G[:, 1:q + 1] @ _jacobian(theta)
    return np.hstack([g_beta, g_theta])


def _fit(X, y, w, q, start, reltol=None):
    """R's maximum: ``optim(start, fmin, gmin, method = "BFGS")`` step for step (its default
    relative tolerance stops short of the exact optimum by ~1e-5; matching R means stopping
    where it does)."""
    from ._optim import R_RELTOL, bfgs_r

    par, _, converged, _ = bfgs_r(lambda b: _negll(b, X, y, w, q),
                                  lambda b: _scores(b, X, y, w, q).sum(0), start,
                                  reltol=R_RELTOL if reltol is None else reltol)
    return par, converged


def r_start(X: np.ndarray, y: np.ndarray, w: np.ndarray, q: int, *, polr: bool = False):
    """R's starting values: a logit GLM of 1{y > q1} (q1 = (q + 1) %/% 2 levels), cut points
    spread as logit(k / (q + 1)) around its intercept. ``svyolr`` divides that spacing by 1.7
    (its test ``method != "logit"`` is always true); ``MASS::polr`` (used by
    ``svyolr.svyrep.design``) does not. Returns (b, theta) in the fitting parameters."""
    from ._optim import glm_logit_irls

    q1 = (q + 1) // 2
    y1 = (y + 1 > q1).astype(float)  # y is 0-based here, R's is 1-based
    X1 = np.column_stack([np.ones(len(y)), X])
    coefs, ok = glm_logit_irls(X1, y1, w if polr else w / w.mean())
    if not ok:
        raise np.linalg.LinAlgError("attempt to find suitable starting values failed")
    k = np.arange(1, q + 1)
    spacing = np.log(k / (q + 1) / (1 - k / (q + 1)))
    if not polr:
        spacing = spacing / 1.7
    gammas = -coefs[0] + spacing - spacing[q1 - 1]
    return np.concatenate([coefs[1:], [gammas[0]], np.log(np.diff(gammas))])


def _coef(par: np.ndarray, p: int) -> np.ndarray:
    """R's reported coefficients: b, then the cut points zeta."""
    return np.concatenate([par[:p], _zeta(par[p:])])


def svyolr(design: Design, X: np.ndarray, y: np.ndarray, rows: np.ndarray,
           start: np.ndarray, *, reltol: float | None = None
           ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Coefficients (b, zeta), their design covariance and convergence (rows: mask of the
    design's rows used; y: 0..q category index). Replicate-weight designs: the model refitted
    under every replicate's weights (from the full-sample fit) and R's ``svrVar`` of the
    replicate coefficients (b, zeta), as ``svyolr.svyrep.design``."""
    w = design.weights[rows]
    q = int(y.max())
    p = X.shape[1]
    try:
        start = r_start(X, y, w, q, polr=design.replicate is not None)
    except np.linalg.LinAlgError:
        pass  # keep the caller's start (R would stop here)
    par, converged = _fit(X, y, w, q, start, reltol)
    est = _coef(par, p)
    if design.replicate is not None:
        rep = design.replicate
        reps = np.empty((rep.n_replicates, len(est)))
        for r in range(rep.n_replicates):
            par_r, ok = _fit(X, y, rep.weights[rows, r], q, par, reltol)
            reps[r] = _coef(par_r, p)
            converged = converged and ok
        return est, rep.var(reps, est), converged
    k = len(par)
    H = np.empty((k, k))
    for i in range(k):  # R optimhess: central differences of the gradient, ndeps = 1e-3
        e = np.zeros(k)
        e[i] = 1e-3
        H[i] = (_scores(par + e, X, y, w, q).sum(0) - _scores(par - e, X, y, w, q).sum(0)) / 2e-3
    H = (H + H.T) / 2
    inf = np.zeros((len(rows), k))
    inf[rows] = _scores(par, X, y, w, q) @ np.linalg.inv(H)
    V = design.vcov_weighted(inf, calibrate=True)
    T = np.eye(k)
    T[p:, p:] = _jacobian(par[p:])
    return est, T @ V @ T.T, converged
