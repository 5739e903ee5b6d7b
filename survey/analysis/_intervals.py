"""Confidence intervals for design-based proportions and quantile rules (R ``survey`` 4.x).

* :func:`prop_ci` - R ``svyciprop(method=)``: ``logit``/``xlogit`` (Wald on the logit scale),
  ``mean`` (Wald), ``asin`` (Wald on ``asin(sqrt(p))``), ``beta`` (Korn-Graubard: Clopper-Pearson
  with the effective sample size ``p(1-p)/var`` times ``(t(n-1)/t(df))^2``), ``likelihood``
  (Rao-Scott scaled profile likelihood of the intercept-only quasi-binomial model, computed
  step by step as R does, profile grid and spline included: :func:`likelihood_ci_r`).
* :func:`qrule` - R ``svyquantile(qrule=)``: ``math``/``hf1``, ``school``/``hf2``, ``hf3`` ...
  ``hf9``, ``shahvaish``.

At an estimate of exactly 0 or 1 the design variance is 0 and R's formulas give a degenerate
or undefined (NaN) interval; there every method returns the Clopper-Pearson interval for the
rows used (``n`` successes or failures out of ``n``), which is the Korn-Graubard interval
with the effective sample size set to ``n``, and the result's notes say so.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import AnalysisError

CI_METHODS = ("logit", "likelihood", "asin", "beta", "mean", "xlogit")
QRULES = ("math", "school", "shahvaish", "hf1", "hf2", "hf3", "hf4", "hf5", "hf6", "hf7",
          "hf8", "hf9")
INTERVAL_TYPES = ("mean", "beta", "xlogit", "asin", "score")


def check_ci_method(method: str, func: str) -> str:
    if method not in CI_METHODS:
        raise AnalysisError(
            f"{func}: ci_method must be one of {', '.join(CI_METHODS)} (R svyciprop's "
            f"methods); got {method!r}"
        )
    return method


@functools.lru_cache(maxsize=256)
def _tq(level: float, df: float) -> float:
    """Upper ``level`` quantile of t(df) (normal when df is infinite); cached: a table of
    shares asks for the same quantile once per cell."""
    from scipy.stats import norm
    from scipy.stats import t as tdist

    if df is None or not np.isfinite(df):
        return float(norm.ppf(level))
    if df <= 0:
        return math.nan
    return float(tdist.ppf(level, df))


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def wald_p_interval(p: float, se: float, *, method: str, q: float,
                    clip_asin: bool = True) -> tuple[float, float]:
    """Wald-type interval for a proportion on the scale of ``method`` (mean, xlogit, asin)
    with critical value ``q`` (R ``confint(svycontrast(...), df=)``)."""
    if not (np.isfinite(p) and np.isfinite(se) and np.isfinite(q)):
        return math.nan, math.nan
    if method == "mean":
        return p - q * se, p + q * se
    if method in ("xlogit", "logit"):
        if p <= 0 or p >= 1:
            return math.nan, math.nan
        half = q * se / (p * (1 - p))
        lg = math.log(p / (1 - p))
        return _expit(lg - half), _expit(lg + half)
    if method == "asin":
        if p <= 0 or p >= 1:
            return math.nan, math.nan
        half = q * se / (2 * math.sqrt(p * (1 - p)))
        a = math.asin(math.sqrt(p))
        lo, hi = a - half, a + half
        if clip_asin:  # beyond the range sin^2 folds back (R does not clip): 0 and 1 are the limits
            lo, hi = max(lo, 0.0), min(hi, math.pi / 2)
        return math.sin(lo) ** 2, math.sin(hi) ** 2
    raise AnalysisError(f"unknown interval method {method!r}")


def korn_graubard(p: float, se: float, *, n: int, degf: float,
                  confidence: float) -> tuple[float, float]:
    """R ``svyciprop(method="beta")``: Clopper-Pearson with the effective sample size
    ``p (1 - p) / se^2 * (t_{n-1} / t_{degf})^2`` (Korn and Graubard 1998)."""
    from scipy.stats import beta as bdist

    alpha = 1 - confidence
    if not (np.isfinite(p) and np.isfinite(se)) or se <= 0:
        return math.nan, math.nan
    neff = p * (1 - p) / se**2
    neff *= (_tq(alpha / 2, n - 1) / _tq(alpha / 2, degf)) ** 2
    lo = float(bdist.ppf(alpha / 2, neff * p, neff * (1 - p) + 1))
    hi = float(bdist.ppf(1 - alpha / 2, neff * p + 1, neff * (1 - p)))
    return lo, hi


def clopper_pearson(x: float, n: float, confidence: float) -> tuple[float, float]:
    from scipy.stats import beta as bdist

    alpha = 1 - confidence
    if n <= 0:
        return math.nan, math.nan
    lo = 0.0 if x <= 0 else float(bdist.ppf(alpha / 2, x, n - x + 1))
    hi = 1.0 if x >= n else float(bdist.ppf(1 - alpha / 2, x + 1, n - x))
    return lo, hi


def prop_ci(p: float, se: float, *, method: str, df: float, n: int, degf: float,
            confidence: float) -> tuple[float, float]:
    """Interval for a design-based proportion ``p`` with SE ``se`` (R ``svyciprop``).

    ``df`` is the degrees of freedom of the t quantile (R ``df=degf(design)``), ``n`` the rows
    used (R ``nrow(design)``, for ``beta``), ``degf`` the design df (``beta``).
    """
    if not np.isfinite(p):
        return math.nan, math.nan
    if p <= 0 or p >= 1:
        return clopper_pearson(p * n, n, confidence)
    level = 0.5 + confidence / 2
    if method == "beta":
        return korn_graubard(p, se, n=n, degf=degf, confidence=confidence)
    if method == "likelihood":
        raise AnalysisError("internal: the likelihood interval needs the data (likelihood_ci_r)")
    return wald_p_interval(p, se, method=method, q=_tq(level, df))


# --------------------------------------------------------------------------------------------
def _sorted(x: np.ndarray, w: np.ndarray):
    keep = w != 0
    x, w = x[keep], w[keep]
    order = np.argsort(x, kind="stable")
    return x[order], w[order]


def _qs(x, w, p):
    """R ``qs``: the last position with cumulative weight <= p * total (first if none)."""
    # R: cumsum and sum accumulate in long double but return doubles; p * sum(w) in double
    cw = np.cumsum(w.astype(np.longdouble)).astype(float)
    W = float(np.cumsum(w.astype(np.longdouble))[-1])  # sequential, as R's sum (not pairwise)
    below = np.flatnonzero(cw <= p * W)
    pos = int(below[-1]) if len(below) else 0
    nxt = pos if pos == len(x) - 1 else pos + 1
    return x[pos], x[nxt], pos, float(p - cw[pos] / W), float(cw[nxt] / W - p)


def qrule(x: np.ndarray, w: np.ndarray, p: float, rule: str = "math") -> float:
    """The weighted ``p`` quantile of ``x`` by R ``svyquantile``'s ``qrule``."""
    if not np.isfinite(p):
        return math.nan
    x, w = _sorted(np.asarray(x, dtype=float), np.asarray(w, dtype=float))
    n = len(x)
    if n == 0:
        return math.nan
    if rule in ("math", "hf1", "school", "hf2", "hf3", "hf4"):
        if rule == "hf3":
            ux, inv = np.unique(x, return_inverse=True)
            x, w = ux, np.bincount(inv, weights=w)
        qlow, qup, ilow, wlow, wup = _qs(x, w, p)
        if rule in ("math", "hf1"):
            return float(qlow if wlow == 0 else qup)
        if rule in ("school", "hf2"):
            return float((qlow + qup) / 2 if wlow == 0 else qup)
        if rule == "hf3":
            return float(qlow if (wlow == 0 and (ilow + 1) % 2 == 0) else qup)
        gamma = wlow / (wup + wlow)
        return float(qlow * (1 - gamma) + qup * gamma)
    if n == 1:
        return float(x[0])
    cw = np.cumsum(w.astype(np.longdouble))
    prev = np.concatenate([[0.0], cw[:-1]])
    if rule == "hf5":
        pk = (cw - w / 2) / cw[-1]
    elif rule == "hf6":
        pk = cw / (cw[-1] + w[-1])
    elif rule == "hf7":
        pk = prev / cw[-2]
    elif rule == "hf8":
        pk = (prev / 3 + cw * 2 / 3) / (cw[-1] + w[-1] / 3)
    elif rule == "hf9":
        pk = (prev * 3 / 8 + cw * 5 / 8) / (cw[-1] + w[-1] / 4)
    elif rule == "shahvaish":
        wbar = w / w.mean()
        pk = ((np.cumsum(wbar.astype(np.longdouble)) + 0.5 - w / 2) / (n + 1)).astype(float)
        # R approx(method="constant", f=0, rule=2) orders the points by pk and averages ties
        pk, inv = np.unique(pk, return_inverse=True)
        xv = np.bincount(inv, weights=x) / np.bincount(inv)
        i = int(np.searchsorted(pk, p, side="right")) - 1
        return float(xv[min(max(i, 0), len(pk) - 1)])
    else:
        raise AnalysisError(f"qrule must be one of {', '.join(QRULES)}; got {rule!r}")
    return float(np.interp(p, pk.astype(float), x))


def zeroin(f, lower: float, upper: float, *, tol: float, maxiter: int = 1000) -> float:
    """R ``uniroot``: Brent's root finder exactly as R's ``R_zeroin2`` (same steps, so a
    root of a step function lands where R's does)."""
    eps = np.finfo(float).eps
    a, b = float(lower), float(upper)
    fa, fb = f(a), f(b)
    if fa * fb > 0:
        raise AnalysisError("quantile: the score interval's end points do not bracket a root "
                            "(R uniroot fails too); use interval_type='mean'")
    c, fc = a, fa
    if fa == 0:
        return a
    if fb == 0:
        return b
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _fmm_spline(x: np.ndarray, y: np.ndarray):
    """Coefficients of R's ``spline(method = "fmm")`` (Forsythe, Malcolm and Moler)."""
    n = len(x)
    b, c, d = np.zeros(n), np.zeros(n), np.zeros(n)
    if n < 3:
        b[:] = (y[1] - y[0]) / (x[1] - x[0])
        return b, c, d
    d[0] = x[1] - x[0]
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, n - 1):
        d[i] = x[i + 1] - x[i]
        b[i] = 2.0 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0], b[n - 1] = -d[0], -d[n - 2]
    c[0] = c[n - 1] = 0.0
    if n > 3:
        c0 = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
        cn = c[n - 2] / (x[n - 1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
        c[0] = c0 * d[0] * d[0] / (x[3] - x[0])
        c[n - 1] = -cn * d[n - 2] * d[n - 2] / (x[n - 1] - x[n - 4])
    for i in range(1, n):
        t = d[i - 1] / b[i - 1]
        b[i] -= t * d[i - 1]
        c[i] -= t * c[i - 1]
    c[n - 1] /= b[n - 1]
    for i in range(n - 2, -1, -1):
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[n - 1] = (y[n - 1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[n - 1])
    for i in range(n - 1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] = 3.0 * c[i]
    c[n - 1] = 3.0 * c[n - 1]
    d[n - 1] = d[n - 2]
    return b, c, d


def r_spline(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R ``spline(x, y)``: the fmm spline at ``3 length(x)`` equally spaced points."""
    b, c, d = _fmm_spline(x, y)
    u = np.linspace(x[0], x[-1], 3 * len(x))
    i = np.clip(np.searchsorted(x, u, side="right") - 1, 0, len(x) - 1)
    dx = u - x[i]
    return u, y[i] + dx * (b[i] + dx * (c[i] + dx * d[i]))


def _glm_fit_intercept(y: np.ndarray, wt: np.ndarray, epsilon: float = 1e-8, maxit: int = 25):
    """R ``glm.fit`` for an intercept-only binomial model (default control): the final
    coefficient and the working weights of the last iteration (which R's svyglm sandwich and
    ``summary`` use)."""
    mu = (wt * y + 0.5) / (wt + 1)
    eta = np.log(mu / (1 - mu))
    devold = -2 * float((wt * (y * np.log(np.where(y > 0, y / mu, 1)) + (1 - y)
                               * np.log(np.where(y < 1, (1 - y) / (1 - mu), 1)))).sum())
    W = None
    for _ in range(maxit):
        mu_eta = mu * (1 - mu)
        z = eta + (y - mu) / mu_eta
        W = wt * mu_eta  # w^2 of glm.fit: prior * mu.eta^2 / V(mu)
        b = float((W * z).sum() / W.sum())
        eta = np.full_like(y, b)
        mu = 1 / (1 + np.exp(-eta))
        dev = -2 * float((wt * (y * np.log(np.where(y > 0, y / mu, 1)) + (1 - y)
                                * np.log(np.where(y < 1, (1 - y) / (1 - mu), 1)))).sum())
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            break
        devold = dev
    return b, mu, W


def likelihood_ci_r(y: np.ndarray, w: np.ndarray, use: np.ndarray, mean_w: float,
                    vcov_weighted, *, n_rows: int, df: float,
                    confidence: float) -> tuple[float, float]:
    """R ``svyciprop(method = "likelihood")`` step by step: the intercept-only quasi-binomial
    ``svyglm`` (prior weights w / mean(w), R's IRLS with its default tolerance; the sandwich
    from the last iteration's working weights), ``confint.svyglm(method = "likelihood")``
    (level rescaled by lambda = design / model variance of the logit), MASS ``profile.glm``
    (the deviance at B0 +/- steps of zmax/5 SEs over the dispersion, R ``summary.svyglm``'s
    svyvar of the Pearson residuals = n/(n-1)), and ``confint.profile.glm`` (an fmm spline
    through the profile, inverted by linear interpolation)."""
    from scipy.stats import f as fdist
    from scipy.stats import norm

    yy, wt = y[use], w[use] / mean_w
    p = float((wt * yy).sum() / wt.sum())
    if not 0 < p < 1:
        return math.nan, math.nan
    b0, mu, W = _glm_fit_intercept(yy, wt)
    ainv = 1.0 / W.sum()
    est = np.zeros(len(y))
    est[use] = (yy - mu) / (mu * (1 - mu)) * W * ainv
    var_b = float(vcov_weighted(est[:, None])[0, 0])
    if not var_b > 0:
        return math.nan, math.nan
    se_b = math.sqrt(var_b)
    lam = var_b / ainv
    alpha_in = 1 - confidence
    level = 1 - 2 * norm.cdf(_tq(alpha_in / 2, df) * math.sqrt(lam))
    n_pos = int(np.count_nonzero(wt))
    phi = n_pos / (n_pos - 1)
    s1, s0 = float((wt * yy).sum()), float((wt * (1 - yy)).sum())

    def dev(beta):  # binomial deviance (up to a constant) of the intercept-only model
        return 2 * (s1 * float(np.logaddexp(0.0, -beta)) + s0 * float(np.logaddexp(0.0, beta)))

    d0 = dev(b0)
    zmax = math.sqrt(fdist.ppf(1 - (1 - level) / 4, 1, n_rows - 1))
    step_size = zmax / 5 * se_b
    zs, bs = [0.0], [b0]
    for sgn in (-1, 1):
        z, step = 0.0, 0
        while (step := step + 1) < 10 and abs(z) < zmax:
            bi = b0 + sgn * step * step_size
            zz = (dev(bi) - d0) / phi
            zz = max(zz, 0.0) if zz > -1e-3 else zz
            z = sgn * math.sqrt(zz)
            zs.append(z)
            bs.append(bi)
    order = np.argsort(zs, kind="stable")
    sx, sy = r_spline(np.asarray(bs)[order], np.asarray(zs)[order])
    cut = norm.ppf([(1 - level) / 2, 1 - (1 - level) / 2])
    o = np.argsort(sy, kind="stable")
    lo, hi = np.interp(cut, sy[o], sx[o], left=math.nan, right=math.nan)
    return (float(_expit(lo)) if np.isfinite(lo) else math.nan,
            float(_expit(hi)) if np.isfinite(hi) else math.nan)
