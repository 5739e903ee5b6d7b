"""Generalised linear models (R ``glm`` / survey's ``svyglm``) and Wald tests of model terms
(R ``regTermTest``).

``glm(survey, formula, family=...)`` fits gaussian, binomial, quasibinomial, poisson,
quasipoisson and Gamma models by R's own ``glm.fit`` iterations (`_glm_r`: same start, same
stopping rule, last-iteration covariance; statsmodels' families supply the replicate refits):

* unweighted (a plain DataFrame or an unweighted Survey without design): R ``glm``; the
  dispersion is 1 for binomial and poisson (z tests) and Pearson X^2 / (n - p) otherwise
  (t tests on n - p df);
* with weights or a design: R ``svyglm`` - weights rescaled to mean 1, the coefficient
  covariance is the design sandwich ``A^-1 B A^-1`` (``B`` from `Design.vcov_weighted` of the
  score contributions ``w x (y - mu) (dmu/deta) / V(mu)``), t tests on ``degf + 1 - p`` df, and
  the reported dispersion is R's ``svyvar`` of the Pearson residuals.

``wald_test(model, terms)`` is R ``regTermTest(model, ~terms)`` with ``method = "Wald"``:
F = b' V^-1 b / q on (q, df_resid) (chi-square when df_resid is infinite).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.result import Result
from ..errors import AnalysisError, ConvergenceWarning
from ._common import solve_r, weighting_note
from .models import Model, _unquote, model_rows

__all__ = ["glm", "wald_test", "WaldTest", "FAMILIES"]

FAMILIES = ("gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson", "Gamma")
_DEFAULT_LINK = {"gaussian": "identity", "binomial": "logit", "quasibinomial": "logit",
                 "poisson": "log", "quasipoisson": "log", "Gamma": "inverse"}
LINKS = ("identity", "log", "logit", "inverse", "probit", "cloglog", "sqrt")


def _sm_family(family: str, link: str):
    import statsmodels.api as sm

    L = sm.families.links
    lk = {"identity": L.Identity, "log": L.Log, "logit": L.Logit, "inverse": L.InversePower,
          "probit": L.Probit, "cloglog": L.CLogLog, "sqrt": L.Sqrt}[link]()
    if family == "gaussian":
        return sm.families.Gaussian(lk)
    if family in ("binomial", "quasibinomial"):
        return sm.families.Binomial(lk)
    if family in ("poisson", "quasipoisson"):
        return sm.families.Poisson(lk)
    return sm.families.Gamma(lk)


def _response(col: pd.Series, name: str, family: str) -> tuple[np.ndarray, str]:
    if family in ("binomial", "quasibinomial"):
        from .models import _binary_response

        return _binary_response(col, name)
    if isinstance(col.dtype, pd.CategoricalDtype):
        raise AnalysisError(f"glm: the response '{name}' is categorical; family={family!r} "
                            "needs numbers. Hint: family='binomial' for a two-level response")
    y = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = y[~np.isnan(y)]
    if family in ("poisson", "quasipoisson") and (ok < 0).any():
        raise AnalysisError(f"glm: family={family!r} needs a response >= 0; '{name}' has "
                            f"{ok.min():g}")
    if family == "Gamma" and (ok <= 0).any():
        raise AnalysisError(f"glm: family='Gamma' needs a response > 0; '{name}' has {ok.min():g}")
    return y, f"E({name})"


def glm(survey, formula: str, *, family: str = "gaussian", link: str | None = None,
        confidence: float = 0.95, where=None, language: str | None = None,
        tol: float = 1e-14, max_iter: int = 100) -> Model:
    """Generalised linear model (R ``glm``; with weights or a design, R ``svyglm``).

    Parameters
    ----------
    family : gaussian, binomial, quasibinomial, poisson, quasipoisson or Gamma.
    link : default the family's canonical link as R (Gamma: inverse); or identity, log,
        logit, inverse, probit, cloglog, sqrt.
    tol : R ``glm.control(epsilon = )``: IRLS stops when the deviance changes by less than
        ``tol`` relative, and the fit follows R's ``glm.fit`` step for step (its starting
        values; covariance, dispersion and sandwich from the last iteration), so ``tol=1e-8``
        gives R's default output (design SEs up to ~5e-6 off the converged values) and the
        default 1e-12 R's converged one (``epsilon = 1e-14`` to ~1e-10).
    where : a domain (R ``subset()``: design kept for the variance).

    ``to_frame()``: ``term, estimate, se, statistic, p_value, ci_low, ci_high`` (Wald CI of the
    coefficient, normal quantile as R ``confint.default``), plus ``odds_ratio`` (logit link) or
    ``rate_ratio`` (log link). ``vcov``, ``df_resid``, ``dispersion``, ``converged``,
    ``iterations`` on the result.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 3, 2, 5, 4, 6], "x": [1.0, 2, 3, 4, 5, 6]})
    >>> round(float(glm(df, "y ~ x").to_frame().loc[1, "estimate"]), 6)
    0.885714
    """
    from scipy.stats import norm
    from scipy.stats import t as tdist

    if family not in FAMILIES:
        raise AnalysisError(f"glm: family must be one of {', '.join(FAMILIES)}; got {family!r}")
    link = link or _DEFAULT_LINK[family]
    if link not in LINKS:
        raise AnalysisError(f"glm: link must be one of {', '.join(LINKS)}; got {link!r}")
    if not 0 < confidence < 1:
        raise AnalysisError(f"glm: confidence must lie between 0 and 1, found {confidence!r}")
    s, mask, lhs, X, y, frame, terms, what = model_rows(
        survey, formula, where, language, "glm", lambda col, name: _response(col, name, family))
    p = X.shape[1]
    if len(y) <= p:
        raise AnalysisError(f"glm: {len(y)} complete rows for {p} terms; too few")
    fam = _sm_family(family, link)
    design = s.has_design
    rows = np.zeros(len(s.data), dtype=bool)
    rows[s.data.index.get_indexer(X.index)] = True
    w = s.weights[rows] if design else np.ones(len(y))
    w = w / w.mean()
    res, converged, iters = _fit(X.to_numpy(), y, family, link, w, tol, max_iter, formula)
    beta = np.asarray(res.params)
    mu = np.asarray(res.mu)
    notes = [f"Model: {family} ({link} link) for {what}; {len(y)} complete rows used of "
             f"{len(frame)}" + (" within the where= filter" if mask is not None else "") + "."]
    if design:
        from ._design_models import svyglm_vcov

        vcov, df_resid = svyglm_vcov(s, X.to_numpy(), y, beta, mu, rows=rows, family=family,
                                     sm_family=fam, work_weights=res.work_weights,
                                     work_resid=res.work_resid)
        dispersion = _svyvar_pearson(s, rows, (y - mu) / np.sqrt(fam.variance(mu)))
        se = np.sqrt(np.diag(vcov))
        stat = beta / se
        pval = 2 * tdist.sf(np.abs(stat), df_resid)
        method = f"Survey-weighted GLM (R svyglm, family {family}, {link} link)"
        notes.append(f"Design-based sandwich SEs; t tests on {df_resid} residual df (design df "
                     f"+ 1 - p); dispersion = svyvar of the Pearson residuals (R summary.svyglm).")
    else:
        df_resid = float(len(y) - p)
        if family in ("binomial", "poisson"):
            dispersion = 1.0
        else:
            dispersion = float(res.pearson_chi2 / df_resid)
        vcov = res.cov_unscaled * dispersion
        se = np.sqrt(np.diag(vcov))
        stat = beta / se
        if family in ("binomial", "poisson"):
            pval = 2 * norm.sf(np.abs(stat))
            df_resid = math.inf
        else:
            pval = 2 * tdist.sf(np.abs(stat), df_resid)
        method = f"GLM (R glm, family {family}, {link} link)"
        notes.append("Model-based SEs; " + ("z tests (dispersion 1)." if not np.isfinite(df_resid)
                     else f"t tests on {df_resid:g} df; dispersion = Pearson X^2 / (n - p)."))
    z = norm.ppf((1 + confidence) / 2)
    names = [_unquote(str(c)) for c in X.columns]
    table = pd.DataFrame({"term": names, "estimate": beta, "se": se, "statistic": stat,
                          "p_value": pval, "ci_low": beta - z * se, "ci_high": beta + z * se})
    if link in ("logit", "log"):
        with np.errstate(over="ignore"):
            table.insert(5, "odds_ratio" if link == "logit" else "rate_ratio", np.exp(beta))
        notes.append(f"{confidence:.0%} Wald CI of the coefficient (exponentiate for the "
                     f"{'odds' if link == 'logit' else 'rate'} ratio).")
    if not converged:
        notes.append(f"Warning: IRLS did not converge in {max_iter} iterations (tol {tol:g}).")
    notes.append(weighting_note(s))
    return Model(kind="glm", formula=formula, response=lhs, table=table, n=len(y), method=method,
                 confidence=confidence, converged=converged, deviance=float(res.deviance),
                 notes=tuple(notes), vcov=pd.DataFrame(vcov, index=names, columns=names),
                 df_resid=float(df_resid), dispersion=float(dispersion), family=family, link=link,
                 iterations=iters, tol=tol, term_columns=terms)


def _fit(X, y, family, link, w, tol, max_iter, formula):
    """R ``glm.fit`` step for step (`_glm_r`): ``tol`` is its ``epsilon``."""
    from ._glm_r import glm_fit_r

    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            res = glm_fit_r(X, y, w, family, link, epsilon=tol, maxit=max_iter)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise AnalysisError(f"glm {formula!r}: the model cannot be fitted ({exc}). Hint: "
                            "check for collinear terms or empty categories") from exc
    if not res.converged:
        warnings.warn(f"glm {formula!r} did not converge", ConvergenceWarning, stacklevel=3)
    return res, res.converged, res.iterations


def _svyvar_pearson(s, rows: np.ndarray, r: np.ndarray) -> float:
    """R ``svyvar(resid(model, "pearson"), design, na.rm = TRUE)``: weighted variance with
    ``n / (n - 1)``."""
    w = s.weights[rows]
    W = w.sum()
    m = (w * r).sum() / W
    n = np.count_nonzero(w)
    return float((w * (r - m) ** 2).sum() / W * n / (n - 1))


# ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class WaldTest(Result):
    """Wald test that the coefficients of some model terms are all zero (R ``regTermTest``)."""

    terms: tuple[str, ...]
    formula: str
    statistic: float
    df: float
    df_denom: float
    p_value: float
    chisq: float
    method: str
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Wald test of {', '.join(self.terms)} in {self.formula}"

    def _summary(self) -> str:
        return (f"Wald test of {', '.join(self.terms)}: F = {self.statistic:.4g} on "
                f"{self.df:g} and {self.df_denom:g} df, p = {self.p_value:.4g}")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"terms": [" + ".join(self.terms)], "statistic": [self.statistic],
                             "df": [self.df], "df_denom": [self.df_denom],
                             "p_value": [self.p_value], "chisq": [self.chisq]})

    def _display_frame(self) -> pd.DataFrame:
        return self.to_frame().set_index("terms")


def wald_test(model: Model, terms: str | Sequence[str], *, null: Sequence[float] | None = None,
              df: float | None = None) -> WaldTest:
    """Wald test that all coefficients of ``terms`` are zero (R ``regTermTest(model, ~terms)``).

    ``terms`` are model terms as written in the formula (``"C(stype)"``, ``"ell"``) or
    coefficient names (``"C(stype)[T.H]"``). F = b' V^-1 b / q on (q, ``df``) with ``df``
    the model's residual df (R's default); with an infinite df a chi-square test (statistic
    = chisq / q, ``df_denom`` = inf).
    """
    from scipy.stats import chi2
    from scipy.stats import f as fdist

    if not isinstance(model, Model) or model.vcov is None:
        raise AnalysisError("wald_test: expected a model from sv.glm or sv.logit with a "
                            "coefficient covariance")
    wanted = [terms] if isinstance(terms, str) else list(terms)
    names = list(model.vcov.index)
    slices = dict(model.term_columns)
    idx: list[int] = []
    for t in wanted:
        key = _unquote(str(t)).strip()
        if key in slices:
            a, b = slices[key]
            idx.extend(range(a, b))
        elif key in names:
            idx.append(names.index(key))
        else:
            raise AnalysisError(
                f"wald_test: {t!r} is not a term of {model.formula!r}; terms are "
                f"{[k for k, _ in model.term_columns]}, coefficients {names}")
    idx = sorted(set(idx))
    beta = model.table["estimate"].to_numpy()[idx]
    if null is not None:
        null = np.asarray(null, dtype=float)
        if null.shape != beta.shape:
            raise AnalysisError(f"wald_test: null= needs {len(beta)} values, got {null.size}")
        beta = beta - null
    V = model.vcov.to_numpy()[np.ix_(idx, idx)]
    try:
        W = float(beta @ solve_r(V, beta))
    except np.linalg.LinAlgError as exc:
        raise AnalysisError("wald_test: the covariance of these coefficients is singular") from exc
    q = len(idx)
    ddf = model.df_resid if df is None else float(df)
    if np.isfinite(ddf):
        F = W / q
        p = float(fdist.sf(F, q, ddf))
    else:
        F, p = W / q, float(chi2.sf(W, q))
    return WaldTest(
        terms=tuple(str(t) for t in wanted), formula=model.formula, statistic=F, df=float(q),
        df_denom=float(ddf), p_value=p, chisq=W,
        method="Wald test (R regTermTest, method = 'Wald')",
        notes=(f"Coefficients tested: {', '.join(names[i] for i in idx)}.",
               f"F = chisq / {q} on ({q}, {ddf:g}) df" if np.isfinite(ddf)
               else f"chi-square on {q} df (infinite residual df)."),
    )
