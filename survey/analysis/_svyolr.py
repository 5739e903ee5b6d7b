"""Design-based proportional-odds model (R ``survey::svyolr``).

The weighted log-likelihood ``sum w log(F(zeta_y - x b) - F(zeta_{y-1} - x b))`` in R's
parameters (b, theta) with zeta_1 = theta_1, zeta_k = zeta_{k-1} + exp(theta_k); the maximum
by BFGS with the analytic gradient (run to convergence); the Hessian as R's ``optim(hessian =
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


def _fit(X, y, w, q, start):
    """The weighted maximum likelihood by BFGS with the analytic gradient, to convergence."""
    from scipy.optimize import minimize

    res = minimize(_negll, start, args=(X, y, w, q), method="BFGS",
                   jac=lambda b, *_: _scores(b, X, y, w, q).sum(0),
                   options={"gtol": 1e-10, "maxiter": 10000})
    grad_ok = bool(np.abs(res.jac).max() < 1e-4 * max(1.0, abs(res.fun)))
    return res.x, bool(res.success) or grad_ok


def _coef(par: np.ndarray, p: int) -> np.ndarray:
    """R's reported coefficients: b, then the cut points zeta."""
    return np.concatenate([par[:p], _zeta(par[p:])])


def svyolr(design: Design, X: np.ndarray, y: np.ndarray, rows: np.ndarray,
           start: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Coefficients (b, zeta), their design covariance and convergence (rows: mask of the
    design's rows used; y: 0..q category index). Replicate-weight designs: the model refitted
    under every replicate's weights (from the full-sample fit) and R's ``svrVar`` of the
    replicate coefficients (b, zeta), as ``svyolr.svyrep.design``."""
    w = design.weights[rows]
    q = int(y.max())
    p = X.shape[1]
    par, converged = _fit(X, y, w, q, start)
    est = _coef(par, p)
    if design.replicate is not None:
        rep = design.replicate
        reps = np.empty((rep.n_replicates, len(est)))
        for r in range(rep.n_replicates):
            par_r, ok = _fit(X, y, rep.weights[rows, r], q, par)
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
