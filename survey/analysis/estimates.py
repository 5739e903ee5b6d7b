"""Design-based estimates: mean, total, ratio, quantile, proportions (R's ``survey`` package).

Every estimate linearises the statistic and asks the `Design` for the covariance of weighted
totals (Taylor linearisation, R ``svyrecvar``), so strata, clusters (any number of stages),
fpc, lonely-PSU rules and calibration (post-stratification, raking, GREG) are all honoured.

Conventions (all as R ``survey`` 4.x; see the notes of each result):

* means are ratio (Hajek) means ``sum(w y) / sum(w)``;
* domains (``by=``) and missing values keep the full design: rows outside the domain or with
  a missing value get weight 0 but still count in the design (R ``svyby``, ``na.rm=TRUE``);
* ``ci_low``/``ci_high`` of means, totals and ratios use the normal quantile (R
  ``confint()`` on ``svymean``/``svytotal``, df = Inf); proportions (``svyciprop``, logit
  method) and quantiles (``svyquantile``, Woodruff) use Student t with the design's degrees
  of freedom (#PSU - #strata among the rows used);
* ``deff`` is relative to simple random sampling *without* replacement of the same size
  (R ``deff=TRUE``); when the weights sum to no more than n (no population scale, e.g.
  unweighted data) it is relative to sampling with replacement (R ``deff="replace"``);
  ``n_effective = n / deff``;
* a plain DataFrame without weights is analysed as R's ``svydesign(id=~1, data=df)``: each row
  its own PSU, weight 1, no fpc (with-replacement variance, ``df = n - 1``).

>>> import pandas as pd, survey as sv
>>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "g": ["a", "a", "b", "b"]})
>>> round(sv.mean(df, "x").se, 6)
0.645497
>>> sv.mean(df, "x", by="g").to_frame()[["by_category", "estimate"]].values.tolist()
[['a', 1.5], ['b', 3.5]]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.design import Design
from ..core.result import Result
from ..core.survey import Survey, as_survey, category_codes
from ..errors import AnalysisError

__all__ = ["Estimate", "mean", "total", "ratio", "quantile", "proportions", "design_summary"]


# ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, repr=False)
class Estimate(Result):
    """A design-based estimate (one row) or a set of them (one row per domain/category).

    Attributes ``estimate, se, ci_low, ci_high, df, deff, n, n_effective`` are floats for a
    single estimate and pandas Series (indexed by domain/category) otherwise; ``to_frame()``
    always gives the tidy table.
    """

    statistic: str
    var: str
    table: pd.DataFrame
    by: str | None = None
    confidence: float = 0.95
    vcov: Any = None
    notes: tuple[str, ...] = ()

    # --- attribute access ------------------------------------------------------------
    def _col(self, name: str):
        col = self.table[name]
        if len(self.table) == 1:
            v = col.iloc[0]
            return float(v) if v is not None else math.nan
        keys = [c for c in ("by_category", "category", "quantile") if c in self.table.columns]
        if len(keys) == 1:
            idx = pd.Index(self.table[keys[0]])
        else:
            idx = pd.MultiIndex.from_frame(self.table[keys])
        return pd.Series(col.to_numpy(), index=idx, name=name)

    @property
    def estimate(self):
        return self._col("estimate")

    @property
    def se(self):
        return self._col("se")

    @property
    def ci_low(self):
        return self._col("ci_low")

    @property
    def ci_high(self):
        return self._col("ci_high")

    @property
    def df(self):
        return self._col("df")

    @property
    def deff(self):
        return self._col("deff")

    @property
    def n(self):
        return self._col("n")

    @property
    def n_effective(self):
        return self._col("n_effective")

    # --- Result protocol ---------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    @property
    def title(self) -> str:
        what = {"mean": "Mean", "total": "Total", "ratio": "Ratio", "quantile": "Quantile",
                "proportion": "Proportions"}.get(self.statistic, self.statistic)
        return f"{what} of {self.var}" + (f" by {self.by}" if self.by else "")

    def _summary(self) -> str:
        if len(self.table) == 1:
            r = self.table.iloc[0]
            return (f"{self.statistic} of {self.var} = {r['estimate']:.6g} "
                    f"(SE {r['se']:.4g}, {self.confidence:.0%} CI {r['ci_low']:.6g} to {r['ci_high']:.6g})")
        return f"{self.statistic} of {self.var}: {len(self.table)} rows"

    def _display_frame(self) -> pd.DataFrame:
        keys = [c for c in ("by_category", "category", "quantile") if c in self.table.columns]
        cols = ["estimate", "se", "ci_low", "ci_high", "deff", "n"]
        frame = self.table[keys + cols].copy()
        if keys:
            frame = frame.set_index(keys)
        else:
            frame.index = pd.Index([self.var])
        return frame


# ---------------------------------------------------------------------------------------
def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


def _t(confidence: float, df: float) -> float:
    from scipy.stats import t as tdist

    if not np.isfinite(df):
        return _z(confidence)
    if df <= 0:
        return math.nan
    return float(tdist.ppf(0.5 + confidence / 2, df))


def _check_confidence(confidence: float) -> None:
    if not (0 < confidence < 1):
        raise AnalysisError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence!r}")


def _numeric(survey: Survey, var: str) -> np.ndarray:
    if var not in survey.data.columns:
        survey.var_info(var)  # raises a clear error with a hint
        raise AnalysisError(f"variable '{var}' is not a column of the data")
    s = survey.data[var]
    if isinstance(s.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
    ):
        raise AnalysisError(
            f"variable '{var}' is not numeric (dtype {s.dtype}); expected numbers. "
            "Hint: use sv.proportions() for a categorical question."
        )
    if s.dtype == np.float64:
        return s.to_numpy()
    return pd.to_numeric(s, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _groups(survey: Survey, by: str | None, language: str | None) -> tuple[np.ndarray, list, int]:
    """Domain codes (-1 = missing) and labels."""
    n = len(survey.data)
    if by is None:
        return np.zeros(n, dtype=np.int64), [None], 1
    codes, info = category_codes(survey, by, language=language)
    labels = list(info.categories)
    if not labels:  # numeric or free text: sorted distinct values
        col = survey.data[by]
        codes, uniq = pd.factorize(col, sort=True)
        labels = list(uniq)
    return codes.astype(np.int64), labels, len(labels)


def _subset_degf(design: Design, use: np.ndarray) -> int:
    """R ``degf(design[use, ])``: PSUs minus strata among rows with non-zero weight."""
    inset = use & (design.weights != 0)
    if inset.all():
        return design.n_psu - design.n_strata
    if not inset.any():
        return 0
    st1 = design.stages[0]
    present = np.bincount(st1.row_cluster[inset], minlength=len(st1.stratum)) > 0
    n_strata = int((np.bincount(st1.stratum[present], minlength=st1.n_strata) > 0).sum())
    return int(present.sum()) - n_strata


@dataclasses.dataclass
class _Lin:
    est: np.ndarray  # (D, k)
    vcov: np.ndarray  # (D*k, D*k), domain-major
    W: np.ndarray  # (D,) weighted n
    nobs: np.ndarray  # (D,) rows with non-zero weight
    s2: np.ndarray  # (D, k) weighted variance * n/(n-1) (for deff)


def _linearize(design: Design, Y: np.ndarray, valid: np.ndarray, dom: np.ndarray, D: int,
               kind: str) -> _Lin:
    """Means or totals of the columns of ``Y`` in each domain, with their covariance."""
    n, k = Y.shape
    w = design.weights
    one = D == 1
    inkey = valid if (one and dom is None) else valid & (dom >= 0)
    key = None if one else np.where(inkey, dom, -1)
    all_in = bool(inkey.all())
    Y0 = Y if all_in else np.where(inkey[:, None], Y, 0.0)
    wk = w if all_in else w * inkey
    kk = None if one else np.where(inkey, key, 0)
    if one:
        W = np.array([wk.sum()])
        nobs = np.array([float(np.count_nonzero(wk))])
        sums = (wk @ Y0)[None, :]
    else:
        W = np.bincount(kk, weights=wk, minlength=D)
        nobs = np.bincount(kk, weights=(wk != 0).astype(float), minlength=D)
        sums = np.empty((D, k))
        for j in range(k):
            sums[:, j] = np.bincount(kk, weights=wk * Y0[:, j], minlength=D)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / W[:, None]
    # weighted variance within domain (for deff), R svyvar: * n/(n-1)
    s2 = np.empty((D, k))
    for j in range(k):
        mj = np.nan_to_num(means[:, j])
        dev = Y0[:, j] - (mj[0] if one else mj[kk])
        wdd = wk * dev * dev
        ss = np.array([wdd.sum()]) if one else np.bincount(kk, weights=wdd, minlength=D)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2[:, j] = ss / W * nobs / (nobs - 1)
    est = means if kind == "mean" else sums
    if design.calibration:
        Z = np.zeros((n, D * k))
        for d in range(D):
            rows = inkey if one else key == d
            for j in range(k):
                if kind == "mean":
                    Z[rows, d * k + j] = (Y0[rows, j] - means[d, j]) / W[d] if W[d] else 0.0
                else:
                    Z[rows, d * k + j] = Y0[rows, j]
        V = design.vcov_total(Z)
    else:
        Tw = design.unit_totals(wk, key, D)
        U = Tw.shape[0]
        Z = np.empty((U, D * k))
        for j in range(k):
            Ty = design.unit_totals(wk * Y0[:, j], key, D)
            if kind == "mean":
                with np.errstate(divide="ignore", invalid="ignore"):
                    Zj = (Ty - np.nan_to_num(means[:, j])[None, :] * Tw) / np.where(W > 0, W, 1)[None, :]
            else:
                Zj = Ty
            Z[:, j::k] = Zj
        V = design.vcov_units(Z)
    return _Lin(est, V, W, nobs, s2)


def _deff(lin: _Lin, kind: str) -> np.ndarray:
    W = lin.W[:, None]
    nobs = lin.nobs[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        # R deff=TRUE: vs SRS without replacement; when the weights carry no population
        # scale (sum(w) <= n, e.g. unweighted data) R gives Inf/NA: use deff="replace" then
        vsrs = np.where(W > nobs, lin.s2 * (W - nobs) / (W * nobs), lin.s2 / nobs)
        if kind == "total":
            vsrs = vsrs * W**2
        var = np.diag(lin.vcov).reshape(lin.est.shape)
        out = var / vsrs
    return out


def design_summary(survey: Survey, design: Design | None = None) -> str:
    """One sentence describing the design, for notes."""
    design = design or Design.from_survey(survey)
    spec = survey.design
    parts = []
    if spec.strata:
        parts.append(f"{design.n_strata} strata ('{spec.strata}')")
    if spec.psu:
        stages = " > ".join(f"'{p}'" for p in spec.psu)
        parts.append(f"{len(spec.psu)}-stage cluster sample ({design.n_psu} PSUs; {stages})")
    else:
        parts.append("each row its own PSU")
    parts.append("fpc " + ", ".join(f"'{f}'" for f in spec.fpc) if spec.fpc else
                 "no fpc (with-replacement variance)")
    if survey.weight:
        parts.append(f"weight '{survey.weight}'")
    else:
        parts.append("unweighted" if not spec.fpc else "weights from the fpc")
    if survey.calibration:
        kinds = ", ".join(getattr(c, "kind", "?") for c in survey.calibration)
        parts.append(f"variance uses calibration residuals ({kinds})")
    if design.lonely_psu != "fail":
        parts.append(f"lonely PSUs: {design.lonely_psu}")
    return "Design: " + "; ".join(parts) + f"; design df = {design.degf}."


def _finish(statistic: str, var: str, rows: list[dict], *, by: str | None, confidence: float,
            vcov, notes: list[str]) -> Estimate:
    table = pd.DataFrame(rows)
    front = ["var"] + [c for c in ("by", "by_category", "category", "quantile") if c in table.columns]
    rest = ["estimate", "se", "ci_low", "ci_high", "df", "deff", "n", "n_weighted", "n_effective"]
    table = table[front + [c for c in rest if c in table.columns]]
    return Estimate(statistic=statistic, var=var, table=table.reset_index(drop=True), by=by,
                    confidence=confidence, vcov=vcov, notes=tuple(notes))


def _prepare(survey, var_cols: Sequence[np.ndarray], by, language, na_rm):
    s = as_survey(survey)
    design = Design.from_survey(s)
    dom, labels, D = _groups(s, by, language)
    return s, design, dom, labels, D


def _moment(kind: str, survey, var: str, *, by, confidence, na_rm, language) -> Estimate:
    _check_confidence(confidence)
    s = as_survey(survey)
    y = _numeric(s, var)
    design = Design.from_survey(s)
    dom, labels, D = _groups(s, by, language)
    valid = ~np.isnan(y)
    missing = int((~valid).sum())
    lin = _linearize(design, (y if valid.all() else np.where(valid, y, 0.0))[:, None], valid,
                     None if by is None else dom, D, kind)
    deff = _deff(lin, kind)
    se = np.sqrt(np.clip(np.diag(lin.vcov), 0, None))
    z = _z(confidence)
    rows = []
    for d in range(D):
        est = lin.est[d, 0]
        if missing and not na_rm:
            est = math.nan
        use = valid if by is None else valid & (dom == d)
        row = {"var": var}
        if by is not None:
            row.update(by=by, by_category=labels[d])
        row.update(
            estimate=est, se=se[d], ci_low=est - z * se[d], ci_high=est + z * se[d],
            df=float(_subset_degf(design, use)), deff=deff[d, 0], n=int(use.sum()),
            n_weighted=lin.W[d],
        )
        row["n_effective"] = row["n"] / row["deff"] if row["deff"] and np.isfinite(row["deff"]) else math.nan
        rows.append(row)
    notes = [
        f"{'Hajek (ratio) mean' if kind == 'mean' else 'Weighted total'} with Taylor-linearised "
        f"SE, as R survey::{'svymean' if kind == 'mean' else 'svytotal'}"
        + (" (domains via svyby: full design kept)" if by else "") + ".",
        f"{confidence:.0%} CI uses the normal quantile, as R confint() on svystat (df = Inf); "
        "df is the design's #PSU - #strata.",
        "deff is relative to simple random sampling without replacement; n_effective = n / deff.",
        design_summary(s, design),
    ]
    if missing:
        notes.append(f"{missing} rows with a missing '{var}' are excluded (weight 0, design kept)."
                     if na_rm else f"'{var}' has {missing} missing values and na_rm=False: estimate is NaN.")
    return _finish(kind, var, rows, by=by, confidence=confidence, vcov=lin.vcov, notes=notes)


def mean(survey: Survey | pd.DataFrame, var: str, *, by: str | None = None,
         confidence: float = 0.95, na_rm: bool = True, language: str | None = None) -> Estimate:
    """Design-based mean of a numeric variable (R ``svymean``; with ``by=``, ``svyby``).

    Parameters
    ----------
    survey : Survey or DataFrame
    var : numeric column.
    by : optional grouping column: one row per domain (no total row).
    confidence : level of the (normal) confidence interval.
    na_rm : drop missing values (weight 0, design kept), as ``svymean(na.rm=TRUE)``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [2.0, 4.0, 6.0, 8.0], "w": [1.0, 1.0, 2.0, 2.0]})
    >>> s = Survey.from_frame(df, weight="w")
    >>> mean(s, "y").estimate
    5.666666666666667
    """
    return _moment("mean", survey, var, by=by, confidence=confidence, na_rm=na_rm, language=language)


def total(survey: Survey | pd.DataFrame, var: str, *, by: str | None = None,
          confidence: float = 0.95, na_rm: bool = True, language: str | None = None) -> Estimate:
    """Design-based total ``sum(w y)`` (R ``svytotal``; with ``by=``, ``svyby``).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [2.0, 4.0, 6.0, 8.0], "w": [1.0, 1.0, 2.0, 2.0]})
    >>> total(Survey.from_frame(df, weight="w"), "y").estimate
    34.0
    """
    return _moment("total", survey, var, by=by, confidence=confidence, na_rm=na_rm, language=language)


def ratio(survey: Survey | pd.DataFrame, numerator: str, denominator: str, *,
          by: str | None = None, confidence: float = 0.95, na_rm: bool = True,
          language: str | None = None) -> Estimate:
    """Ratio of two totals ``sum(w y) / sum(w x)`` with linearised SE (R ``svyratio``).

    Rows where either variable is missing are dropped (weight 0, design kept).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [2.0, 2.0, 2.0]})
    >>> ratio(df, "y", "x").estimate
    1.0
    """
    _check_confidence(confidence)
    s = as_survey(survey)
    y = _numeric(s, numerator)
    x = _numeric(s, denominator)
    design = Design.from_survey(s)
    dom, labels, D = _groups(s, by, language)
    valid = ~np.isnan(y) & ~np.isnan(x)
    w = design.weights
    y0, x0 = np.where(valid, y, 0.0), np.where(valid, x, 0.0)
    z = _z(confidence)
    rows, Zcols = [], []
    ests = []
    for d in range(D):
        use = valid & (dom == d)
        wd = np.where(use, w, 0.0)
        tx, ty = float((wd * x0).sum()), float((wd * y0).sum())
        r = ty / tx if tx else math.nan
        ests.append(r)
        Zcols.append(np.where(use, (y0 - r * x0) / tx if tx else 0.0, 0.0))
    V = design.vcov_total(np.column_stack(Zcols))
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    for d in range(D):
        use = valid & (dom == d)
        r = ests[d] if (na_rm or valid.all()) else math.nan
        row = {"var": f"{numerator}/{denominator}"}
        if by is not None:
            row.update(by=by, by_category=labels[d])
        row.update(estimate=r, se=se[d], ci_low=r - z * se[d], ci_high=r + z * se[d],
                   df=float(_subset_degf(design, use)), deff=math.nan, n=int(use.sum()),
                   n_weighted=float(np.where(use, w, 0).sum()), n_effective=math.nan)
        rows.append(row)
    notes = [
        "Ratio of weighted totals with Taylor-linearised SE, as R survey::svyratio.",
        f"{confidence:.0%} CI uses the normal quantile (R confint default, df = Inf).",
        design_summary(s, design),
    ]
    return _finish("ratio", f"{numerator}/{denominator}", rows, by=by, confidence=confidence,
                   vcov=V, notes=notes)


def proportions(survey: Survey | pd.DataFrame, var: str, *, by: str | None = None,
                confidence: float = 0.95, na_rm: bool = True,
                language: str | None = None) -> Estimate:
    """Share of every category of ``var`` (R ``svymean(~factor)``), CI by the logit method
    with t(design df) as R ``svyciprop(method="logit")``.

    With ``by=`` the shares are within each domain (R ``svyby(~var, ~by, svymean)``).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": pd.Categorical(["x", "y", "y", "y"])})
    >>> proportions(df, "a").estimate.round(2).tolist()
    [0.25, 0.75]
    """
    _check_confidence(confidence)
    s = as_survey(survey)
    codes, info = category_codes(s, var, language=language)
    labels = list(info.categories)
    if not labels:
        col = s.data[var]
        codes, uniq = pd.factorize(col, sort=True)
        labels = [str(u) for u in uniq]
    K = len(labels)
    if K == 0:
        raise AnalysisError(f"variable '{var}' has no categories to count")
    design = Design.from_survey(s)
    dom, blabels, D = _groups(s, by, language)
    valid = codes >= 0
    Y = np.zeros((len(codes), K))
    if valid.any():
        Y[np.flatnonzero(valid), codes[valid]] = 1.0
    lin = _linearize(design, Y, valid, dom, D, "mean")
    deff = _deff(lin, "mean")
    se = np.sqrt(np.clip(np.diag(lin.vcov), 0, None)).reshape(D, K)
    rows = []
    for d in range(D):
        use = valid & (dom == d)
        df = float(_subset_degf(design, use))
        t = _t(confidence, df)
        for j in range(K):
            p = lin.est[d, j]
            if not na_rm and not valid.all():
                p = math.nan
            lo, hi = _logit_ci(p, se[d, j], t)
            row = {"var": var}
            if by is not None:
                row.update(by=by, by_category=blabels[d])
            row.update(category=labels[j], estimate=p, se=se[d, j], ci_low=lo, ci_high=hi, df=df,
                       deff=deff[d, j], n=int((use & (codes == j)).sum()),
                       n_weighted=float(lin.est[d, j] * lin.W[d]))
            de = row["deff"]
            row["n_effective"] = int(use.sum()) / de if de and np.isfinite(de) else math.nan
            rows.append(row)
    notes = [
        "Proportions are design-based means of category indicators (R survey::svymean)"
        + (", within domains (svyby)" if by else "") + ".",
        f"{confidence:.0%} CI by the logit method with t(design df), as R "
        "svyciprop(method='logit'): expit(logit(p) +/- t * SE / (p (1 - p))).",
        "deff is relative to simple random sampling without replacement; "
        "n_effective = base n / deff.",
        design_summary(s, design),
    ]
    missing = int((~valid).sum())
    if missing:
        notes.append(f"{missing} rows with a missing '{var}' are excluded from the base "
                     "(weight 0, design kept).")
    return _finish("proportion", var, rows, by=by, confidence=confidence, vcov=lin.vcov, notes=notes)


def _logit_ci(p: float, se: float, t: float) -> tuple[float, float]:
    if not np.isfinite(p) or not np.isfinite(t):
        return math.nan, math.nan
    if p <= 0 or p >= 1:
        return p, p  # R: the logit is infinite; the interval collapses to the estimate
    half = t * se / (p * (1 - p))
    lg = math.log(p / (1 - p))
    return 1 / (1 + math.exp(-(lg - half))), 1 / (1 + math.exp(-(lg + half)))


# ---------------------------------------------------------------------------------------
def _qrule_math(x_sorted: np.ndarray, cumw: np.ndarray, total_w: float, p: float) -> float:
    """R ``qrule_math``: the smallest x with F(x) >= p (inverse weighted ECDF)."""
    n = len(x_sorted)
    if n == 0 or not np.isfinite(p):
        return math.nan
    pos = int(np.searchsorted(cumw, p * total_w, side="right")) - 1
    if pos < 0:
        return float(x_sorted[0])
    if p - cumw[pos] / total_w == 0:
        return float(x_sorted[pos])
    return float(x_sorted[min(pos + 1, n - 1)])


def quantile(survey: Survey | pd.DataFrame, var: str, q: float | Sequence[float] = 0.5, *,
             by: str | None = None, confidence: float = 0.95, na_rm: bool = True,
             language: str | None = None) -> Estimate:
    """Design-based quantiles (R ``svyquantile``, survey >= 4 defaults).

    The estimate is the inverse of the weighted empirical CDF (``qrule="math"``: the smallest
    value with F(x) >= q). The interval is Woodruff's (``interval.type="mean"``): a Wald
    interval with t(design df) for F at the estimated quantile, mapped back through the same
    rule; ``se = (ci_high - ci_low) / (2 t)``.

    >>> import pandas as pd
    >>> quantile(pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 5.0]}), "y").estimate
    3.0
    """
    _check_confidence(confidence)
    qs = [float(q)] if np.isscalar(q) else [float(v) for v in q]
    for p in qs:
        if not 0 <= p <= 1:
            raise AnalysisError(f"quantile q must be between 0 and 1; got {p}")
    s = as_survey(survey)
    y = _numeric(s, var)
    design = Design.from_survey(s)
    dom, labels, D = _groups(s, by, language)
    valid = ~np.isnan(y)
    w = design.weights
    alpha = 1 - confidence
    rows = []
    for d in range(D):
        use = valid & (dom == d)
        df = float(_subset_degf(design, use))
        t = _t(confidence, df)
        keep = use & (w != 0)
        order = np.argsort(y[keep], kind="stable")
        xs = y[keep][order]
        # R's cumsum()/sum() accumulate in long double; ties at p * W depend on it
        cw = np.cumsum(w[keep][order].astype(np.longdouble)).astype(float)
        W = float(np.sum(w[keep].astype(np.longdouble))) if len(cw) else 0.0
        for p in qs:
            qhat = _qrule_math(xs, cw, W, p)
            # Woodruff: svymean(x <= qhat) on the domain, CI with t(df), mapped back
            ind = np.where(use, (np.nan_to_num(y) <= qhat).astype(float), 0.0)
            lin = _linearize(design, ind[:, None], use, np.zeros(len(y), dtype=np.int64), 1, "mean")
            pm, sep = float(lin.est[0, 0]), float(math.sqrt(max(lin.vcov[0, 0], 0.0)))
            lo_p, hi_p = pm - t * sep, pm + t * sep
            lo = math.nan if (not np.isfinite(lo_p) or lo_p < 0) else _qrule_math(xs, cw, W, lo_p)
            hi = math.nan if (not np.isfinite(hi_p) or hi_p > 1) else _qrule_math(xs, cw, W, hi_p)
            if not na_rm and not valid.all():
                qhat = lo = hi = math.nan
            row = {"var": var}
            if by is not None:
                row.update(by=by, by_category=labels[d])
            row.update(quantile=p, estimate=qhat, se=(hi - lo) / (2 * t), ci_low=lo, ci_high=hi,
                       df=df, deff=math.nan, n=int(use.sum()), n_weighted=W, n_effective=math.nan)
            rows.append(row)
    notes = [
        "Quantile = inverse of the weighted empirical CDF (R svyquantile qrule='math').",
        f"{confidence:.0%} CI by Woodruff's method with t(design df) (interval.type='mean'); "
        "se = CI width / (2 t), as R svyquantile.",
        design_summary(s, design),
    ]
    _ = alpha
    return _finish("quantile", var, rows, by=by, confidence=confidence, vcov=None, notes=notes)
