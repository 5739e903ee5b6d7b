"""Design-based variance of GLM coefficients (R ``svyglm``'s sandwich, ``svy.varcoef``).

The model is fitted elsewhere (statsmodels, weights = design weights); this module gives the
coefficient covariance ``A^-1 B A^-1`` where ``A = X' W_glm X`` (the unscaled information of
the weighted fit) and ``B`` is the design covariance of the weighted score totals
``sum_i w_i x_i (y_i - mu_i)`` (R: ``svyrecvar(estfun %*% Ainv, ...)``), and the residual
degrees of freedom ``degf + 1 - p`` of R. The dispersion plays no part; rescaling the weights
(R rescales them to mean 1) does not change the result.
"""

from __future__ import annotations

import numpy as np

from ..core.design import Design
from ..core.survey import Survey, as_survey
from ..errors import AnalysisError

__all__ = ["svyglm_vcov"]


def svyglm_vcov(survey: Survey, X: np.ndarray, y: np.ndarray, beta: np.ndarray, mu: np.ndarray,
                *, rows: np.ndarray | None = None, family: str = "binomial",
                dmu_deta: np.ndarray | None = None,
                variance: np.ndarray | None = None, sm_family=None,
                work_weights: np.ndarray | None = None,
                work_resid: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Sandwich covariance of ``beta`` for ``svyglm`` and the residual df.

    Parameters
    ----------
    survey : the Survey (its design and weights).
    X : model matrix (m x p) of the rows used.
    y : response (0/1 for the logit) of the rows used.
    beta : fitted coefficients (kept for the signature; the sandwich needs only ``mu``).
    mu : fitted means of the rows used.
    rows : boolean mask (length n of the survey) of the rows used (complete cases); default
        all rows (then ``m == n``). Rows left out keep the design with weight 0, as R.
    family : ``"binomial"`` (logit link), ``"gaussian"`` (identity) or ``"poisson"`` (log),
        canonical links; any other family/link via ``dmu_deta`` and ``variance`` (arrays at
        the fitted values): working weight ``(dmu/deta)^2 / V``, score ``(y - mu) dmu/deta / V``.

    Returns
    -------
    (vcov, df_resid) with df_resid = #PSU - #strata (rows used) + 1 - p.
    """
    s = as_survey(survey)
    design = Design.from_survey(s)
    n = len(design.weights)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    if rows is None:
        rows = np.ones(n, dtype=bool)
    rows = np.asarray(rows, dtype=bool)
    if X.shape[0] != int(rows.sum()):
        raise AnalysisError(
            f"model matrix has {X.shape[0]} rows but {int(rows.sum())} survey rows are marked "
            "as used; pass rows= (a boolean mask over the survey rows)"
        )
    w = design.weights[rows]
    if design.replicate is not None:
        return _replicate_refits(design, X, y, beta, rows, family, sm_family)
    if work_weights is not None and work_resid is not None:
        # R svy.varcoef: Ainv = summary(glm)$cov.unscaled (last IRLS weights), estfun =
        # X * working residual * working weight (weights already include the sampling weights)
        ww = np.asarray(work_weights, dtype=float)
        A = X.T @ (X * ww[:, None])
        est = X * (ww * np.asarray(work_resid, dtype=float))[:, None]
        return _sandwich(design, A, est, rows, n)
    if dmu_deta is not None and variance is not None:
        d = np.asarray(dmu_deta, dtype=float)
        v = np.asarray(variance, dtype=float)
        A = X.T @ (X * (w * d * d / v)[:, None])
        est = X * (w * (y - mu) * d / v)[:, None]
        return _sandwich(design, A, est, rows, n)
    if family == "binomial":
        var = mu * (1 - mu)  # working weight factor (logit link: dmu/deta = var)
    elif family == "gaussian":
        var = np.ones_like(mu)
    elif family == "poisson":
        var = mu
    else:
        raise AnalysisError(f"family must be binomial, gaussian or poisson; got {family!r}")
    A = X.T @ (X * (w * var)[:, None])
    est = X * (w * (y - mu))[:, None]  # estfun: x * working residual * working weight
    return _sandwich(design, A, est, rows, n)


def _sandwich(design: Design, A: np.ndarray, est: np.ndarray, rows: np.ndarray,
              n: int) -> tuple[np.ndarray, int]:
    Ainv = np.linalg.inv(A)
    k = est.shape[1]
    full = np.zeros((n, k))
    full[rows] = est @ Ainv
    if design.has_lonely and not design.calibration:  # R subset(): strata the rows reach
        T = np.column_stack([design.unit_totals(full[:, j])[:, 0] for j in range(k)])
        V = design.vcov_units(T, present=design.present_units(rows))
    else:
        V = design.vcov_weighted(full, calibrate=True)
    inset = rows & (design.weights != 0)
    cl = design.stages[0].row_cluster[inset]
    degf = len(np.unique(cl)) - len(np.unique(design.strata[inset]))
    return V, int(degf + 1 - k)


def _replicate_refits(design: Design, X, y, beta, rows, family, sm_family) -> tuple[np.ndarray, int]:
    """R ``svyglm`` on a replicate design (``svrepglm``): the model refitted with every
    replicate's weights from the full-sample coefficients; variance by ``svrVar``; residual
    df = degf + 1 - p of the full design."""
    import warnings

    import statsmodels.api as sm

    fam = sm_family
    if fam is None:
        fam = {"binomial": sm.families.Binomial, "gaussian": sm.families.Gaussian,
               "poisson": sm.families.Poisson}[family]()
    Wr = design.replicate.weights[rows]
    betas = np.empty((Wr.shape[1], X.shape[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(Wr.shape[1]):
            wr = Wr[:, r]
            keep = wr > 0
            res = sm.GLM(y[keep], X[keep], family=fam, var_weights=wr[keep] / wr[keep].mean()).fit(
                start_params=beta, tol=1e-12, maxiter=100)
            betas[r] = res.params
    return design.replicate.var(betas, beta), int(design.degf + 1 - X.shape[1])
