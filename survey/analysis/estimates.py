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
import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core._rows import bincount as row_bincount
from ..core.design import Design, _strata_layout
from ..core.distributed import is_dask
from ..core.result import Result
from ..core.survey import Survey, as_survey, category_codes
from ..errors import AnalysisError
from ._common import where_mask

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
@functools.lru_cache(maxsize=64)
def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


@functools.lru_cache(maxsize=256)
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


def _groups(survey: Survey, by: str | None, language: str | None,
            narrow: bool = False) -> tuple[np.ndarray, list, int]:
    """Domain codes (-1 = missing) and labels (``narrow``: a categorical's codes in their
    own small integer type, read-only; see `category_codes`)."""
    n = len(survey.data)
    if by is None:
        return np.zeros(n, dtype=np.int64), [None], 1
    codes, info = category_codes(survey, by, language=language, narrow=narrow)
    labels = list(info.categories)
    if not labels:  # numeric or free text: sorted distinct values
        col = survey.data[by]
        codes, uniq = pd.factorize(col, sort=True)
        labels = list(uniq)
    return codes if narrow else codes.astype(np.int64, copy=False), labels, len(labels)


def _subset_degf(design: Design, use: np.ndarray) -> int:
    """R ``degf(design[use, ])``: PSUs minus strata among rows with non-zero weight
    (replicate designs: rank of the rows' replicate weights - 1)."""
    if design.replicate is not None:  # every row: the design's df, computed once
        return design.degf if bool(np.all(use)) else design.replicate.degf(use)
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
    present: np.ndarray | None = None  # (units, D) True where a unit has a row of the domain


def _linearize(design: Design, Y: np.ndarray, valid: np.ndarray, dom: np.ndarray, D: int,
               kind: str) -> _Lin:
    """Means or totals of the columns of ``Y`` in each domain, with their covariance.

    One pass per column builds the weighted deviations ``w (y - mean_d)`` (mean) or ``w y``
    (total); they give the weighted variance for deff and, summed per sampling unit with one
    ``bincount``, the linearised scores (divided by the domain's weight afterwards).
    """
    if design.replicate is not None:
        return _replicate_linearize(design, Y, valid,
                                    None if dom is None else dom.astype(np.int64, copy=False),
                                    D, kind)
    one = D == 1
    inkey = valid if (one and dom is None) else valid & (dom >= 0)
    all_in = bool(inkey.all())
    Y0 = Y if all_in else np.where(inkey[:, None], Y, 0.0)
    wk = design.weights if all_in else design.weights * inkey
    kk = None if one else (dom if all_in else np.where(inkey, dom, 0))
    if design.calibration:
        return _linearize_calibrated(design, Y0, inkey, wk, kk, D, kind)
    if kind == "mean":  # one pass over the rows, a block at a time
        est, s2, Z, W, nobs, present = _mean_pass(design, Y0, wk, kk, inkey, all_in, D)
    else:
        units = _UnitIndex(design, kk, D)
        W, nobs, Tw, present = _domain_bases(design, units, wk, kk, inkey, all_in, D)
        n, k = Y0.shape
        est, s2 = np.empty((D, k)), np.empty((D, k))
        Z = np.empty((units.size, D, k))
        for j in range(k):
            est[:, j], s2[:, j], Z[:, :, j] = _total_scores(Y0[:, j], wk, kk, units, W, nobs, Tw)
    k = Y0.shape[1]
    Z = Z.reshape(len(Z), D * k)
    lonely_key = None if one or not design.has_lonely else np.where(inkey, dom, -1)
    V = _domain_vcov(design, Z, inkey, lonely_key, D, k)
    return _Lin(est, V, W, nobs, s2, present)


def _domain_bases(design: Design, units: _UnitIndex, wk, kk, inkey, all_in: bool, D: int):
    """Weighted size ``W`` (D,), rows with non-zero weight ``nobs`` (D,), the weights per
    unit x domain ``Tw`` (units, D; None for one domain) and the units each domain reaches
    (units, D; None for one domain). With positive weights a unit is reached where its
    weight total is > 0, so no separate count over the rows is needed."""
    if D == 1 and kk is None:
        nz = design.nonzero_weights if all_in else int(np.count_nonzero(wk))
        return np.array([wk.sum()]), np.array([float(nz)]), None, None
    Tw = units.totals(wk)
    if design.weights_positive:
        nobs = np.bincount(kk if all_in else kk[inkey], minlength=D).astype(float)
        return Tw.sum(0), nobs, Tw, Tw > 0
    cnt = units.totals((wk != 0).astype(float))
    return Tw.sum(0), cnt.sum(0), Tw, cnt > 0


def _mean_pass(design: Design, Y0: np.ndarray, wk: np.ndarray, kk, inkey, all_in: bool,
               D: int):
    """Domain means of the columns of ``Y0``, their weighted variances (deff) and the scores
    per unit x domain (units, D, k), with ``W``, ``nobs`` and the units each domain reaches
    (`_domain_bases`), from one pass over the rows a block at a time (`Design.unit_blocks`:
    every row value is read once and its temporaries stay one block long).

    Each column is centred on its overall weighted mean ``c`` (one dot product first); per
    unit x domain the score is ``T(w (y - c)) - (mean_d - c) T(w)``, per domain
    ``sum w (y - mean_d)^2 = sum w (y - c)^2 - (mean_d - c) sum w (y - c)``: no per-row
    gather of the domain means, no cancellation beyond that of the data around ``c``."""
    n, k = Y0.shape
    one = kk is None
    n_units = len(design.stages[-1].stratum)
    Wt = design.weight_total if all_in else float(wk.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        c = (wk @ Y0) / Wt if Wt != 0 else np.zeros(k)
    Twy = np.zeros((k, n_units * D))
    ss = np.zeros((k, D))
    Tw = None if one else np.zeros(n_units * D)
    positive = design.weights_positive
    cnt = np.zeros(D) if positive or one else np.zeros(n_units * D)
    segments = design.unit_segments() if one else None  # rows grouped by PSU: reduceat
    for sl, lo, hi, idx in design.unit_blocks(D) if segments is None else segments:
        w = wk[sl]
        size = (hi - lo) * D
        if not one:
            kb = kk[sl]
            idx *= D
            idx += kb
            Tw[lo * D:hi * D] += np.bincount(idx, weights=w, minlength=size)
            if positive:  # rows in the base per domain (weight > 0 there)
                cnt += np.bincount(kb if all_in else kb[inkey[sl]], minlength=D)
            else:
                cnt[lo * D:hi * D] += np.bincount(idx, weights=(w != 0).astype(float),
                                                  minlength=size)
        for j in range(k):
            yc = Y0[sl, j] - c[j]
            wy = w * yc
            Twy[j, lo * D:hi * D] += (np.bincount(idx, weights=wy, minlength=size)
                                      if segments is None else np.add.reduceat(wy, idx))
            if one:
                ss[j, 0] += wy @ yc
            else:
                ss[j] += np.bincount(kb, weights=np.multiply(wy, yc, out=yc), minlength=D)
    if one:
        nz = design.nonzero_weights if all_in else int(np.count_nonzero(wk))
        W, nobs, present = np.array([Wt]), np.array([float(nz)]), None
    else:
        Tw = Tw.reshape(n_units, D)
        W = Tw.sum(0)
        if positive:
            nobs, present = cnt, Tw > 0
        else:
            cnt = cnt.reshape(n_units, D)
            nobs, present = cnt.sum(0), cnt > 0
    WD = np.where(W > 0, W, 1.0)
    est, s2, Z = np.empty((D, k)), np.empty((D, k)), np.empty((n_units, D, k))
    for j in range(k):
        T = Twy[j].reshape(n_units, D)
        if one:  # c is the mean, the deviations are exact
            est[0, j] = c[j] if Wt != 0 else np.nan
            s2[:, j] = _s2(ss[j], W, nobs)
            Z[:, 0, j] = T[:, 0] / WD[0]
            continue
        sums_c = T.sum(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            dm = sums_c / W
        dmz = np.nan_to_num(dm)
        sj = ss[j] - dmz * sums_c
        sj = np.where(nobs <= 1, 0.0, np.maximum(sj, 0.0))  # one row: no spread (exactly)
        est[:, j], s2[:, j] = c[j] + dm, _s2(sj, W, nobs)
        Z[:, :, j] = (T - dmz[None, :] * Tw) / WD[None, :]
    return est, s2, Z, W, nobs, present


def _s2(ss, W, nobs):
    with np.errstate(divide="ignore", invalid="ignore"):
        return ss / W * nobs / (nobs - 1)


def _total_scores(y, wk, kk, units: _UnitIndex, W, nobs, Tw):
    """Domain totals of ``y``, the weighted variance (deff) and the unit totals ``T(w y)``."""
    x = wk * y
    Tx = units.totals(x)
    sums = Tx.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mj = np.nan_to_num(sums / W)
    dev = y - (mj[0] if kk is None else mj[kk])
    wd = wk * dev
    ss = np.array([wd @ dev]) if kk is None else np.bincount(kk, weights=wd * dev,
                                                              minlength=len(W))
    return sums, _s2(ss, W, nobs), Tx


def _linearize_calibrated(design: Design, Y0, inkey, wk, kk, D: int, kind: str) -> _Lin:
    """`_linearize` on a calibrated design: the weighted scores per row (rows outside the
    domain are 0) go through the calibration residuals (R ``svyrecvar``)."""
    n, k = Y0.shape
    one = kk is None
    if one:
        every = wk is design.weights  # every row in: the design's cached total and count
        W = np.array([design.weight_total if every else wk.sum()])
        nobs = np.array([float(design.nonzero_weights if every else np.count_nonzero(wk))])
        sums = (wk @ Y0)[None, :]
        got = _raked_one_domain(design, Y0, wk, W, nobs, sums, kind)
        if got is not None:
            return got
    else:
        W = np.bincount(kk, weights=wk, minlength=D)
        nobs = np.bincount(kk, weights=(wk != 0).astype(float), minlength=D)
        sums = np.empty((D, k))
        for j in range(k):
            sums[:, j] = np.bincount(kk, weights=wk * Y0[:, j], minlength=D)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / W[:, None]
    WD = np.where(W > 0, W, 1.0) if kind == "mean" else np.ones(D)
    Z = np.empty((n, D, k)) if one else np.zeros((n, D, k))
    s2 = np.empty((D, k))
    for j in range(k):
        mj = np.nan_to_num(means[:, j])
        dev = Y0[:, j] - (mj[0] if one else mj[kk])
        wd = wk * dev
        ss = np.array([wd @ dev]) if one else np.bincount(kk, weights=wd * dev, minlength=D)
        del dev  # n floats fewer at the peak (the residuals below need their own)
        s2[:, j] = _s2(ss, W, nobs)
        x = wd if kind == "mean" else wk * Y0[:, j]
        if one:
            np.divide(x, WD[0], out=Z[:, 0, j])
        else:
            Z[np.arange(n), kk, j] = x / WD[kk]
    est = means if kind == "mean" else sums
    V = design.vcov_weighted(Z.reshape(n, D * k), calibrate=True)
    return _Lin(est, V, W, nobs, s2)


def _raked_one_domain(design: Design, Y0, wk, W, nobs, sums, kind: str) -> _Lin | None:
    """`_linearize_calibrated` for one domain on a raked design, a block of rows at a time
    (`Design.raked_unit_totals`): the same scores ``w (y - mean) / W`` (mean) or ``w y``
    (total) and weighted variances, without the n-length scores, deviations and residuals.
    ``None`` where that path does not apply."""
    k = Y0.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / W[:, None]
    m = np.nan_to_num(means[0])
    WD = (W[0] if W[0] > 0 else 1.0) if kind == "mean" else 1.0
    ss = np.zeros(k)

    def scores(sl, first):
        x = np.empty((sl.stop - sl.start, k))
        w = wk[sl]
        for j in range(k):
            dev = Y0[sl, j] - m[j]
            wd = w * dev
            if first:
                ss[j] += wd @ dev
            np.divide(wd if kind == "mean" else w * Y0[sl, j], WD, out=x[:, j])
        return x

    T = design.raked_unit_totals(scores, k)
    if T is None:
        return None
    s2 = _s2(ss, W, nobs)[None, :]
    return _Lin(means if kind == "mean" else sums, design.vcov_units(T), W, nobs, s2)


def _replicate_linearize(design: Design, Y: np.ndarray, valid: np.ndarray, dom, D: int,
                         kind: str) -> _Lin:
    """Replicate designs: the means or totals recomputed with every replicate's weights and
    combined by R's ``svrVar`` (no linearisation). The replicate totals come from
    `Replicates.totals` (one pass per column; the replicate weight totals of a whole-sample
    mean are cached with the design)."""
    n, k = Y.shape
    rep = design.replicate
    inkey = valid if dom is None else valid & (dom >= 0)
    all_in = bool(inkey.all())
    one = dom is None  # one domain: dot products instead of bincounts
    key = None if one else np.where(inkey, dom, 0)
    cell = (None if all_in else np.where(inkey, 0, -1)) if one else np.where(inkey, key, -1)
    wk = design.weights if all_in else design.weights * inkey

    def per_domain(x):
        return np.array([wk @ x]) if one else np.bincount(key, weights=wk * x, minlength=D)

    Y0 = Y if all_in else np.where(inkey[:, None], Y, 0.0)
    W = np.array([wk.sum()]) if one else np.bincount(key, weights=wk, minlength=D)
    Wrep = rep.column_totals[None, :] if cell is None else rep.totals(None, cell, D).T  # (D, R)
    sums = np.stack([per_domain(Y0[:, j]) for j in range(k)], axis=1)  # (D, k)
    sums_r = np.stack([rep.totals(Y0[:, j], cell, D).T for j in range(k)], axis=1)  # (D, k, R)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / W[:, None]
        est_r = sums_r / Wrep[:, None, :] if kind == "mean" else sums_r
    est = means if kind == "mean" else sums
    V = rep.var(est_r.reshape(D * k, -1).T, est.reshape(-1))
    nobs = (np.array([float(np.count_nonzero(wk))]) if one
            else np.bincount(key, weights=(wk != 0).astype(float), minlength=D))
    s2 = np.empty((D, k))
    for j in range(k):
        mj = np.nan_to_num(means[:, j])
        dev = Y0[:, j] - (mj[0] if one else mj[key])
        np.multiply(dev, dev, out=dev)  # in place: one temporary of n values
        s2[:, j] = _s2(per_domain(dev), W, nobs)
    return _Lin(est, V, W, nobs, s2)


def _replicate_cells(design: Design, codes: np.ndarray, K: int, dom: np.ndarray | None,
                     D: int) -> _Lin:
    """`_linearize_cells` on a replicate design: the D x K cell totals under every replicate
    from one `Replicates.totals` call (domain x category codes), shares per replicate, R's
    ``svrVar``; the weighted variance of an indicator is ``p (1 - p)`` (deff)."""
    ok = codes >= 0 if dom is None else (codes >= 0) & (dom >= 0)
    cell = np.where(ok, codes if dom is None else dom * K + codes, -1)
    wk = design.weights * ok
    sums, sums_r = design.replicate.cell_totals(design.weights, None, cell, D * K)
    nobs = np.bincount((np.zeros(len(codes), dtype=np.int64) if dom is None
                        else np.where(ok, dom, 0)), weights=(wk != 0).astype(float), minlength=D)
    return replicate_shares(design, sums.reshape(D, K), sums_r.T.reshape(D, K, -1), nobs)


def replicate_shares(design: Design, sums: np.ndarray, sums_r: np.ndarray,
                     nobs: np.ndarray) -> _Lin:
    """Shares of K categories in D domains from their full-sample (D, K) and replicate
    (D, K, R) weighted totals, with R's ``svrVar`` covariance; ``nobs`` (D,) rows with a
    non-zero weight per domain."""
    D, K = sums.shape
    W = sums.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        P = sums / W[:, None]
        P_r = sums_r / sums_r.sum(1, keepdims=True)
        s2 = P * (1 - P) * (nobs / (nobs - 1))[:, None]
    V = design.replicate.var(P_r.reshape(D * K, -1).T, P.reshape(-1))
    return _Lin(P, V, W, nobs, s2)


class _UnitIndex:
    """Sums of row values per (sampling unit, domain), with the combined index built once."""

    def __init__(self, design: Design, kk: np.ndarray | None, D: int):
        self.design = design
        self.size = len(design.stages[-1].stratum)
        self.D = D
        self.idx = None if kk is None else design.stages[-1].row_cluster * D
        if self.idx is not None:
            self.idx += kk  # in place: one n-length index

    def totals(self, x: np.ndarray) -> np.ndarray:
        if self.idx is None:
            return self.design.sum_by_unit(x)[:, None]
        return np.bincount(self.idx, weights=x, minlength=self.size * self.D).reshape(
            self.size, self.D)


def _linearize_cells(design: Design, codes: np.ndarray, K: int, dom: np.ndarray | None,
                     D: int) -> _Lin:
    """`_linearize` of the K category indicators of ``codes`` (-1 = missing) as means within
    ``D`` domains, without the n x K indicator matrix when the design has clusters.

    One ``bincount`` over unit x domain x category gives the unit totals ``T``; the scores
    are ``(T - p * T_w) / W_d`` per unit (the same arithmetic as `_linearize`, no
    cancellation), and the weighted variance of an indicator is ``p (1 - p)`` (deff). Rows
    that are their own units, and calibrated designs, take the row-level path.
    """
    codes = np.asarray(codes)  # any integer type: the unit totals go a block at a time
    if design.replicate is not None:
        return _replicate_cells(design, codes.astype(np.int64, copy=False), K, dom, D)
    if design.calibration or design._rows_are_units:
        codes = codes.astype(np.int64, copy=False)
        valid = codes >= 0
        Y = np.zeros((len(codes), K))
        if valid.any():
            Y[np.flatnonzero(valid), codes[valid]] = 1.0
        dd = np.zeros(len(codes), dtype=np.int64) if dom is None else dom
        return _linearize(design, Y, valid, dd if D > 1 or dom is not None else None, D, "mean")
    ok = codes >= 0 if dom is None else (codes >= 0) & (dom >= 0)
    cell = codes if dom is None else np.where(ok, dom * K + codes, -1)  # codes: -1 = missing
    T = design.unit_totals(design.weights, cell, D * K).reshape(-1, D, K)
    nz = ok if design.weights_positive else ok & (design.weights != 0)
    nobs = (np.array([float(np.count_nonzero(nz))]) if dom is None
            else np.bincount(dom[nz], minlength=D).astype(float))
    lonely_key = None if dom is None or not design.has_lonely else np.where(ok, dom, -1)
    return _cells_lin(design, T, nobs, (ok, lonely_key), dom is not None)


def _cells_lin(design: Design, T: np.ndarray, nobs: np.ndarray, lonely, domains: bool) -> _Lin:
    """The shares and their covariance from the unit x domain x category weight totals
    ``T`` (units, D, K) and the rows with non-zero weight per domain. ``lonely``: (rows in
    a domain, domain per row or None) for R's per-domain lonely-PSU strata; ``None`` only
    when the design has no lonely PSU."""
    D, K = T.shape[1], T.shape[2]
    sums = T.sum(0)
    W = sums.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        P = sums / W[:, None]
        Z = (T - np.nan_to_num(P)[None] * T.sum(2)[:, :, None]) / np.where(W > 0, W, 1)[None, :, None]
        s2 = P * (1 - P) * (nobs / (nobs - 1))[:, None]
    Z = Z.reshape(len(Z), D * K)
    V = design.vcov_units(Z) if lonely is None else _domain_vcov(design, Z, *lonely, D, K)
    # with positive weights a unit reaches a domain where its weight total there is > 0
    present = T.sum(2) > 0 if domains and design.weights_positive else None
    return _Lin(P, V, W, nobs, s2, present)


def _domain_degf(design: Design, dom: np.ndarray | None, use: np.ndarray, D: int,
                 present: np.ndarray | None = None) -> np.ndarray:
    """R ``degf(subset(design, domain == d))`` for every domain at once: PSUs minus strata
    among the domain's rows with non-zero weight (one ``bincount`` over domain x PSU).

    ``present`` (units x D, units of the finest stage) may come from `_linearize`, which
    counts the rows of each unit and domain anyway.
    """
    if design.replicate is not None:
        inset = use if dom is None else use & (dom >= 0)
        if D == 1 and bool(np.all(inset)):  # every row: the design's df, computed once
            return np.array([float(design.degf)])
        return design.replicate.degf_by(np.where(inset, 0 if dom is None else dom, -1), D)
    st1 = design.stages[0]
    C = len(st1.stratum)
    if D == 1 and dom is None and design.weights_positive and bool(np.all(use)):
        return np.array([float(design.n_psu - design.n_strata)])  # every row counts
    if present is None:
        inset = use & (design.weights != 0)
        if dom is not None:
            inset &= dom >= 0
        if D == 1 and inset.all():
            return np.array([float(design.n_psu - design.n_strata)])
        d = np.zeros(int(inset.sum()), dtype=np.int64) if dom is None else dom[inset]
        present = np.bincount(d * C + st1.row_cluster[inset], minlength=D * C).reshape(D, C) > 0
    elif len(design.stages) == 1:  # the finest units are the PSUs
        present = present.T
    else:
        up = np.arange(present.shape[0])
        for st in reversed(design.stages[1:]):  # finest units -> stage-1 clusters
            up = st.parent[up]
        uu, dd = np.nonzero(present)
        present = np.bincount(dd * C + up[uu], minlength=D * C).reshape(D, C) > 0
    H = st1.n_strata
    order, cnt, starts = _strata_layout(st1)
    if (cnt > 0).all():  # PSUs grouped by stratum: a stratum is reached if one PSU is
        grouped = present if order is None else present[:, order]
        reached = np.logical_or.reduceat(grouped, starts, axis=1)
        return (present.sum(1) - reached.sum(1)).astype(float)
    dd, cc = np.nonzero(present)
    strata = np.bincount(dd * H + st1.stratum[cc], minlength=D * H).reshape(D, H) > 0
    return (present.sum(1) - strata.sum(1)).astype(float)


def _domain_vcov(design: Design, Z: np.ndarray, inkey: np.ndarray, key, D: int,
                 k: int) -> np.ndarray:
    """``vcov_units(Z)`` with R's subset() semantics for lonely PSUs: each domain's block
    sees only the strata the domain reaches (rows in ``inkey``; ``key`` the domain of each
    row); cross-domain blocks use the strata all domains reach together."""
    if not design.has_lonely:
        return design.vcov_units(Z)
    V = design.vcov_units(Z, present=design.present_units(inkey))
    if D > 1:
        for d in range(D):
            sl = slice(d * k, (d + 1) * k)
            V[sl, sl] = design.vcov_units(Z[:, sl], present=design.present_units(key == d))
    return V


def _deff(lin: _Lin, kind: str, replace: bool = False) -> np.ndarray:
    W = lin.W[:, None]
    nobs = lin.nobs[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        # R deff=TRUE: vs SRS without replacement; when the weights carry no population
        # scale (sum(w) <= n, e.g. unweighted data) R gives Inf/NA: use deff="replace" then.
        # deff="replace" (R): vs SRS with replacement, s^2 / n.
        wor = (W > nobs) & (not replace)
        vsrs = np.where(wor, lin.s2 * (W - nobs) / (W * nobs), lin.s2 / nobs)
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
    rep = spec.replicates
    if rep is not None:  # the variance comes from the replicates, not a linearisation
        parts.append(f"{len(rep.columns)} {rep.type} replicate weights (R svrepdesign: SEs "
                     "from the replicate re-estimates, not Taylor linearisation)"
                     + (f"; half-samples from a Hadamard matrix: {rep.hadamard}"
                        if rep.hadamard else ""))
    if spec.strata:
        parts.append(f"{design.n_strata} strata ('{spec.strata}')")
    if spec.psu:
        stages = " > ".join(f"'{p}'" for p in spec.psu)
        parts.append(f"{len(spec.psu)}-stage cluster sample ({design.n_psu} PSUs; {stages})")
    elif rep is None:
        parts.append("each row its own PSU")
    if rep is None:
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
    keys = dict.fromkeys(k for r in rows for k in r)  # columns in order, built once
    front = ["var"] + [c for c in ("by", "by_category", "category", "quantile") if c in keys]
    rest = ["estimate", "se", "ci_low", "ci_high", "df", "deff", "n", "n_weighted", "n_effective"]
    table = pd.DataFrame({c: [r.get(c, np.nan) for r in rows]
                          for c in front + [c for c in rest if c in keys]})
    return Estimate(statistic=statistic, var=var, table=table, by=by,
                    confidence=confidence, vcov=vcov, notes=tuple(notes))


def _prepare(survey, var_cols: Sequence[np.ndarray], by, language, na_rm):
    s = as_survey(survey)
    design = Design.from_survey(s)
    dom, labels, D = _groups(s, by, language)
    return s, design, dom, labels, D


def _df_option(df, func: str):
    """``df=``: None (normal quantile, R ``confint()`` default), ``"design"`` (t with the
    domain's design df, R ``confint(df = degf(design))``) or a positive number."""
    if df is None or df == "design":
        return df
    if isinstance(df, (int, float)) and not isinstance(df, bool) and df > 0:
        return float(df)
    raise AnalysisError(f"{func}: df must be None, 'design' or a positive number; got {df!r}")


def _quantile_for(confidence: float, df_opt, design_df: float) -> float:
    if df_opt is None:
        return _z(confidence)
    return _t(confidence, design_df if df_opt == "design" else df_opt)


def _domain(s: Survey, where, func: str) -> np.ndarray | None:
    """``where=`` as a row mask (R ``subset(design, ...)``: the rows outside keep the design
    with weight 0; strata the domain does not reach do not count for lonely PSUs)."""
    return where_mask(s, where, func=func)


def _where_note(mask) -> list[str]:
    if mask is None:
        return []
    return [f"Domain where=: {int(mask.sum())} of {len(mask)} rows; the full design is kept "
            "for the variance (R subset()), df from the domain's PSUs."]


def _deff_option(deff) -> bool:
    """``deff=``: True (R ``deff=TRUE``, vs SRS without replacement) or "replace"."""
    if deff is True or deff == "replace":
        return deff == "replace"
    raise AnalysisError(f"deff must be True (vs SRS without replacement, R deff=TRUE) or "
                        f"'replace' (with replacement, R deff='replace'); got {deff!r}")


def _moment(kind: str, survey, var: str, *, by, confidence, na_rm, language, where=None,
            df=None, deff=True) -> Estimate:
    replace = _deff_option(deff)
    if is_dask(survey) and replace:
        raise AnalysisError(f"{kind}: deff='replace' is not available for Dask-backed data")
    if is_dask(survey):
        from . import _dask

        return _dask.moment(kind, survey, var, by=by, confidence=confidence, na_rm=na_rm,
                            language=language, where=where, df=df)
    _check_confidence(confidence)
    df_opt = _df_option(df, kind)
    s = as_survey(survey)
    y = _numeric(s, var)
    valid = ~np.isnan(y)
    if not len(y) or (na_rm and not valid.any()):
        raise AnalysisError(f"{kind}: '{var}' has no valid values ({len(y)} rows, none with a "
                            "number). Hint: check the data were read (s.rejected, s.validation)")
    design = Design.from_survey(s)
    # no domain array for the whole sample; 1-byte codes for a categorical by=
    dom, labels, D = (None, [None], 1) if by is None else _groups(s, by, language, narrow=True)
    mask = _domain(s, where, kind)
    missing = int((~valid if mask is None else ~valid & mask).sum())
    if mask is not None:
        valid &= mask
    lin = _linearize(design, (y if valid.all() else np.where(valid, y, 0.0))[:, None], valid,
                     None if by is None else dom, D, kind)
    if by is None:
        dfs = _domain_degf(design, None, valid, D, lin.present)
    else:  # R confint(svyby(...), df = degf(design)): one df, the analysed design's
        dfs = np.repeat(_domain_degf(design, None, np.ones(len(valid), dtype=bool) if mask is None
                                     else mask, 1), D)
    if by is None:
        ns = np.array([int(valid.sum())])
    elif design.weights_positive:  # rows per domain = rows with non-zero weight: counted
        ns = lin.nobs.astype(np.int64)
    else:
        ns = np.bincount(dom if valid.all() and dom.min() >= 0 else dom[valid & (dom >= 0)],
                         minlength=D)
    return _moment_result(kind, var, by, labels, lin, dfs, ns, missing=missing, na_rm=na_rm,
                          confidence=confidence, df_opt=df_opt,
                          context=[design_summary(s, design), *_where_note(mask)],
                          replace=replace)


def _moment_result(kind: str, var: str, by, labels, lin: _Lin, dfs, ns, *, missing: int,
                   na_rm: bool, confidence: float, df_opt, context: list[str],
                   replace: bool = False) -> Estimate:
    """The `Estimate` of a mean or total from its linearisation (shared by the in-memory
    and the Dask paths)."""
    deff = _deff(lin, kind, replace)
    se = np.sqrt(np.clip(np.diag(lin.vcov), 0, None))
    rows = []
    for d in range(len(lin.W)):
        est = lin.est[d, 0]
        if missing and not na_rm:
            est = math.nan
        row = {"var": var}
        if by is not None:
            row.update(by=by, by_category=labels[d])
        ddf = float(dfs[d])
        z = _quantile_for(confidence, df_opt, ddf)
        row.update(
            estimate=est, se=se[d], ci_low=est - z * se[d], ci_high=est + z * se[d],
            df=ddf, deff=deff[d, 0], n=int(ns[d]), n_weighted=lin.W[d],
        )
        row["n_effective"] = row["n"] / row["deff"] if row["deff"] and np.isfinite(row["deff"]) else math.nan
        rows.append(row)
    notes = [
        f"{'Hajek (ratio) mean' if kind == 'mean' else 'Weighted total'} with Taylor-linearised "
        f"SE, as R survey::{'svymean' if kind == 'mean' else 'svytotal'}"
        + (" (domains via svyby: full design kept)" if by else "") + ".",
        (f"{confidence:.0%} CI uses the normal quantile, as R confint() on svystat (df = Inf); "
         "df is the design's #PSU - #strata." if df_opt is None else
         f"{confidence:.0%} CI uses Student t with "
         + ("the design df (#PSU - #strata of the rows used), as R confint(df = degf(design))."
            if df_opt == "design" else f"df = {df_opt:g}, as R confint(df = {df_opt:g}).")),
        "deff is relative to simple random sampling "
        + ("with replacement (R deff='replace')" if replace else "without replacement")
        + "; n_effective = n / deff.",
        *context,
    ]
    if missing:
        notes.append(f"{missing} rows with a missing '{var}' are excluded (weight 0, design kept)."
                     if na_rm else f"'{var}' has {missing} missing values and na_rm=False: estimate is NaN.")
    return _finish(kind, var, rows, by=by, confidence=confidence, vcov=lin.vcov, notes=notes)


def mean(survey: Survey | pd.DataFrame, var: str, *, by: str | None = None,
         confidence: float = 0.95, na_rm: bool = True, language: str | None = None,
         where=None, df=None, deff: bool | str = True) -> Estimate:
    """Design-based mean of a numeric variable (R ``svymean``; with ``by=``, ``svyby``).

    Parameters
    ----------
    survey : Survey or DataFrame
    var : numeric column.
    by : optional grouping column: one row per domain (no total row).
    confidence : level of the confidence interval.
    na_rm : drop missing values (weight 0, design kept), as ``svymean(na.rm=TRUE)``.
    where : boolean row mask: a domain with R ``subset()`` semantics (full design for the
        variance, the domain's df).
    df : ``None`` (normal quantile, R ``confint()``), ``"design"`` (t with the design df, R
        ``confint(df = degf(design))``) or a number.
    deff : ``True`` (vs simple random sampling without replacement, R ``deff=TRUE``) or
        ``"replace"`` (with replacement, R ``deff="replace"``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [2.0, 4.0, 6.0, 8.0], "w": [1.0, 1.0, 2.0, 2.0]})
    >>> s = Survey.from_frame(df, weight="w")
    >>> mean(s, "y").estimate
    5.666666666666667
    """
    return _moment("mean", survey, var, by=by, confidence=confidence, na_rm=na_rm,
                   language=language, where=where, df=df, deff=deff)


def total(survey: Survey | pd.DataFrame, var: str, *, by: str | None = None,
          confidence: float = 0.95, na_rm: bool = True, language: str | None = None,
          where=None, df=None, deff: bool | str = True) -> Estimate:
    """Design-based total ``sum(w y)`` (R ``svytotal``; with ``by=``, ``svyby``).

    ``where=``, ``df=`` and ``deff=`` as in :func:`mean`.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [2.0, 4.0, 6.0, 8.0], "w": [1.0, 1.0, 2.0, 2.0]})
    >>> total(Survey.from_frame(df, weight="w"), "y").estimate
    34.0
    """
    return _moment("total", survey, var, by=by, confidence=confidence, na_rm=na_rm,
                   language=language, where=where, df=df, deff=deff)


def ratio(survey: Survey | pd.DataFrame, numerator: str, denominator: str, *,
          by: str | None = None, confidence: float = 0.95, na_rm: bool = True,
          language: str | None = None, where=None, df=None) -> Estimate:
    """Ratio of two totals ``sum(w y) / sum(w x)`` with linearised SE (R ``svyratio``).

    Rows where either variable is missing are dropped (weight 0, design kept); ``where=``
    and ``df=`` as in :func:`mean`.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [2.0, 2.0, 2.0]})
    >>> ratio(df, "y", "x").estimate
    1.0
    """
    _check_confidence(confidence)
    s = as_survey(survey)
    y = _numeric(s, numerator)
    x = _numeric(s, denominator)
    df_opt = _df_option(df, "ratio")
    design = Design.from_survey(s)
    dom, labels, D = _groups(s, by, language)
    mask = _domain(s, where, "ratio")
    valid = ~np.isnan(y) & ~np.isnan(x)
    all_valid = bool(valid.all()) if mask is None else bool(valid[mask].all())
    if mask is not None:
        valid &= mask
    w = design.weights
    y0, x0 = np.where(valid, y, 0.0), np.where(valid, x, 0.0)
    rows, Zcols = [], []
    ests = []
    for d in range(D):
        use = valid & (dom == d)
        wd = np.where(use, w, 0.0)
        tx, ty = float((wd * x0).sum()), float((wd * y0).sum())
        r = ty / tx if tx else math.nan
        ests.append(r)
        Zcols.append(np.where(use, (y0 - r * x0) / tx if tx else 0.0, 0.0))
    Zm = np.column_stack(Zcols)
    if design.replicate is not None:  # R svyratio on svrepdesign: the ratio per replicate
        cell = np.where(valid & (dom >= 0), dom, -1)  # replicate totals of every domain at once
        with np.errstate(divide="ignore", invalid="ignore"):
            reps = design.replicate.totals(y0, cell, D) / design.replicate.totals(x0, cell, D)
        V = design.replicate.var(reps, np.asarray(ests))
    elif design.calibration:
        V = design.vcov_total(Zm)
    else:
        T = np.column_stack([design.unit_totals(w * Zm[:, d])[:, 0] for d in range(D)])
        V = _domain_vcov(design, T, valid, np.where(valid, dom, -1), D, 1)
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    for d in range(D):
        use = valid & (dom == d)
        r = ests[d] if (na_rm or all_valid) else math.nan
        row = {"var": f"{numerator}/{denominator}"}
        if by is not None:
            row.update(by=by, by_category=labels[d])
        ddf = float(_subset_degf(design, use))
        z = _quantile_for(confidence, df_opt, ddf)
        row.update(estimate=r, se=se[d], ci_low=r - z * se[d], ci_high=r + z * se[d],
                   df=ddf, deff=math.nan, n=int(use.sum()),
                   n_weighted=float(np.where(use, w, 0).sum()), n_effective=math.nan)
        rows.append(row)
    notes = [
        "Ratio of weighted totals with Taylor-linearised SE, as R survey::svyratio.",
        f"{confidence:.0%} CI uses the normal quantile (R confint default, df = Inf)."
        if df_opt is None else f"{confidence:.0%} CI uses Student t (df={df_opt}).",
        design_summary(s, design),
        *_where_note(mask),
    ]
    return _finish("ratio", f"{numerator}/{denominator}", rows, by=by, confidence=confidence,
                   vcov=V, notes=notes)


def proportions(survey: Survey | pd.DataFrame, var: str, *, by: str | None = None,
                confidence: float = 0.95, na_rm: bool = True,
                language: str | None = None, where=None, ci_method: str = "logit",
                df=None) -> Estimate:
    """Share of every category of ``var`` (R ``svymean(~factor)``), with the interval of R
    ``svyciprop(method=ci_method)`` for each category's indicator.

    ``ci_method``: ``logit`` (default; = ``xlogit``), ``likelihood``, ``asin``, ``beta``
    (Korn-Graubard), ``mean`` (Wald), ``xlogit``; t quantile with the design df of the rows
    used (``df=`` a number to override). At an estimate of 0 or 1 every method gives the
    Clopper-Pearson interval of the rows used (R gives a degenerate or NaN interval there).
    With ``by=`` the shares are within each domain (R ``svyby(~var, ~by, svymean)``);
    ``where=`` restricts to a domain with R ``subset()`` semantics.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": pd.Categorical(["x", "y", "y", "y"])})
    >>> proportions(df, "a").estimate.round(2).tolist()
    [0.25, 0.75]
    """
    if is_dask(survey):
        from . import _dask

        return _dask.proportions(survey, var, by=by, confidence=confidence, na_rm=na_rm,
                                 language=language, where=where, ci_method=ci_method, df=df)
    _check_confidence(confidence)
    from ._intervals import check_ci_method

    check_ci_method(ci_method, "proportions")
    df_user = _df_option(df, "proportions")
    s = as_survey(survey)
    codes, info = category_codes(s, var, language=language, narrow=True)  # no 8-byte copy
    labels = list(info.categories)
    if not labels:
        col = s.data[var]
        codes, uniq = pd.factorize(col, sort=True)
        labels = [str(u) for u in uniq]
    K = len(labels)
    if K == 0:
        raise AnalysisError(f"variable '{var}' has no categories to count")
    design = Design.from_survey(s)
    dom, blabels, D = (None, [None], 1) if by is None else _groups(s, by, language)
    mask = _domain(s, where, "proportions")
    valid = codes >= 0
    all_valid = bool(valid.all()) if mask is None else bool(valid[mask].all())
    missing = int((~valid).sum()) if mask is None else int((~valid & mask).sum())
    if mask is not None:
        valid &= mask
    if mask is not None:  # -1 where missing already
        codes = np.where(valid, codes, -1)
    lin = _linearize_cells(design, codes, K, dom, D)
    dfs = _domain_degf(design, dom, valid, D, lin.present)
    if by is None:  # every row is in the one domain
        n_dom = np.array([int(np.count_nonzero(valid))])
        n_cell = row_bincount(codes if n_dom[0] == len(codes) else codes[valid],
                              minlength=K).reshape(1, K)
    else:
        use_all = valid & (dom >= 0)
        n_dom = np.bincount(dom[use_all], minlength=D)
        n_cell = np.bincount(dom[use_all] * K + codes[use_all], minlength=D * K).reshape(D, K)
    likelihood = None
    if ci_method == "likelihood":
        from ._intervals import likelihood_ci_r

        def likelihood(d, j, n_rows, tdf):  # R svyciprop(method = "likelihood") on the rows
            ind = np.ones(len(codes), dtype=bool) if dom is None else dom == d
            use = valid & ind
            rows = (np.ones(len(codes), dtype=bool) if design.calibration
                    else ind if mask is None else ind & mask)
            return likelihood_ci_r((codes == j).astype(float), design.weights, use,
                                   float(design.weights[rows].mean()), design.vcov_weighted,
                                   n_rows=n_rows, df=tdf, confidence=confidence)
    return _proportions_result(
        var, by, blabels, labels, lin, dfs, n_dom, n_cell, na_rm=na_rm, all_valid=all_valid,
        missing=missing, ci_method=ci_method, df_user=df_user, confidence=confidence,
        n_all=len(codes) if design.calibration else None,
        context=[design_summary(s, design), *_where_note(mask)], likelihood=likelihood)


def _proportions_result(var, by, blabels, labels, lin: _Lin, dfs, n_dom, n_cell, *,
                        na_rm: bool, all_valid: bool, missing: int, ci_method: str, df_user,
                        confidence: float, n_all: int | None, context: list[str],
                        likelihood=None) -> Estimate:
    """The `Estimate` of category shares from their linearisation (shared by the in-memory
    and the Dask paths); ``n_all``: rows of a calibrated design (R nrow of the design);
    ``likelihood(d, j, n_rows, df)``: the likelihood interval, which needs the rows."""
    from ._intervals import prop_ci

    D, K = lin.est.shape
    deff = _deff(lin, "mean")
    se = np.sqrt(np.clip(np.diag(lin.vcov), 0, None)).reshape(D, K)
    rows = []
    for d in range(D):
        ddf = float(dfs[d])
        tdf = ddf if df_user in (None, "design") else df_user
        n_rows = n_all if n_all is not None else int(n_dom[d])  # R nrow(subset design)
        for j in range(K):
            p = lin.est[d, j]
            if not na_rm and not all_valid:
                p = math.nan
            if ci_method == "likelihood" and 0 < p < 1:
                if likelihood is None:
                    raise AnalysisError("proportions: ci_method='likelihood' is not available "
                                        "for Dask-backed data; use 'logit' or 'beta'")
                lo, hi = likelihood(d, j, n_rows, tdf)
            else:
                lo, hi = prop_ci(p, se[d, j], method=ci_method, df=tdf, n=n_rows, degf=ddf,
                                 confidence=confidence)
            row = {"var": var}
            if by is not None:
                row.update(by=by, by_category=blabels[d])
            row.update(category=labels[j], estimate=p, se=se[d, j], ci_low=lo, ci_high=hi,
                       df=ddf, deff=deff[d, j], n=int(n_cell[d, j]),
                       n_weighted=float(lin.est[d, j] * lin.W[d]))
            de = row["deff"]
            row["n_effective"] = int(n_dom[d]) / de if de and np.isfinite(de) else math.nan
            rows.append(row)
    notes = [
        "Proportions are design-based means of category indicators (R survey::svymean)"
        + (", within domains (svyby)" if by else "") + ".",
        f"{confidence:.0%} CI by the {ci_method} method with t(design df), as R "
        f"svyciprop(method='{ci_method}'); at an estimate of 0 or 1 the Clopper-Pearson "
        "interval of the rows used.",
        "deff is relative to simple random sampling without replacement; "
        "n_effective = base n / deff.",
        *context,
    ]
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
def _quantile_row(var, by, labels, d, p, qhat, lo, hi, t, ddf, use, W, na_rm, all_valid) -> dict:
    if not na_rm and not all_valid:
        qhat = lo = hi = math.nan
    row = {"var": var}
    if by is not None:
        row.update(by=by, by_category=labels[d])
    row.update(quantile=p, estimate=qhat, se=(hi - lo) / (2 * t), ci_low=lo, ci_high=hi,
               df=ddf, deff=math.nan, n=int(use.sum()), n_weighted=W, n_effective=math.nan)
    return row


def _quantile_interval(kind, design, y, use, xs, ws, p, qhat, rule, tdf, confidence, n_rows):
    """R ``ffullerCI`` (score) and ``repCI`` (replicate quantiles)."""
    from ._intervals import qrule as apply_rule
    from ._intervals import zeroin

    t = _t(confidence, tdf)
    if kind == "quantile":
        if design.replicate is None:
            raise AnalysisError("quantile: interval_type='quantile' needs a replicate-weight "
                                "design (R repCI); use 'mean' or 'score' here")
        reps = np.array([apply_rule(xs, design.replicate.weights[use, r], p, rule)
                         for r in range(design.replicate.n_replicates)])
        v = float(design.replicate.var(reps[:, None], np.array([qhat]))[0, 0])
        return qhat - t * math.sqrt(v), qhat + t * math.sqrt(v)
    yy = np.nan_to_num(y)
    zeros = np.zeros(len(y), dtype=np.int64)

    def score(theta, qlimit):
        u = np.where(use, (yy > theta).astype(float) - (1 - p), 0.0)
        lin = _linearize(design, u[:, None], use, zeros, 1, "mean")
        return float(lin.est[0, 0]) / math.sqrt(max(float(lin.vcov[0, 0]), 0.0)) - qlimit

    q75, q25 = np.quantile(xs, [0.75, 0.25])
    iqr = q75 - q25
    lower, upper = xs.min() + iqr / 100, xs.max() - iqr / 100
    tol = 1 / (100 * math.sqrt(n_rows))
    qlow = zeroin(lambda th: score(th, t), lower, upper, tol=tol)
    qup = zeroin(lambda th: score(th, -t), lower, upper, tol=tol)
    return (apply_rule(xs, ws, float(np.mean(xs <= qlow)), rule),
            apply_rule(xs, ws, float(np.mean(xs <= qup)), rule))


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
             language: str | None = None, where=None, qrule: str = "math",
             interval_type: str = "mean", df=None) -> Estimate:
    """Design-based quantiles (R ``svyquantile``, survey >= 4).

    ``qrule``: ``math`` (default: the inverse of the weighted empirical CDF, the smallest value
    with F(x) >= q; = ``hf1``), ``school`` (= ``hf2``), ``hf3`` ... ``hf9``, ``shahvaish``.
    ``interval_type``: Woodruff's interval - a confidence interval for F at the estimated
    quantile, mapped back through the same rule - with that interval computed by ``mean``
    (Wald, default), ``beta`` (Korn-Graubard), ``xlogit`` or ``asin`` (R ``interval.type``);
    a limit whose probability falls outside [0, 1] is NaN, as in R. t quantile with the design
    df (``df=`` a number to override); ``se = (ci_high - ci_low) / (2 t)``.

    >>> import pandas as pd
    >>> quantile(pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 5.0]}), "y").estimate
    3.0
    """
    from ._intervals import INTERVAL_TYPES, QRULES, korn_graubard, wald_p_interval
    from ._intervals import qrule as apply_rule

    _check_confidence(confidence)
    if qrule not in QRULES:
        raise AnalysisError(f"quantile: qrule must be one of {', '.join(QRULES)}; got {qrule!r}")
    if interval_type not in INTERVAL_TYPES + ("quantile",):
        raise AnalysisError(
            "quantile: interval_type must be one of mean, beta, xlogit, asin, score, quantile "
            f"(R svyquantile's interval.type); got {interval_type!r}"
        )
    df_user = _df_option(df, "quantile")
    qs = [float(q)] if np.isscalar(q) else [float(v) for v in q]
    for p in qs:
        if not 0 <= p <= 1:
            raise AnalysisError(f"quantile q must be between 0 and 1; got {p}")
    s = as_survey(survey)
    y = _numeric(s, var)
    design = Design.from_survey(s)
    dom, labels, D = _groups(s, by, language)
    mask = _domain(s, where, "quantile")
    valid = ~np.isnan(y)
    all_valid = bool(valid.all()) if mask is None else bool(valid[mask].all())
    if mask is not None:
        valid &= mask
    w = design.weights
    alpha = 1 - confidence
    rows = []
    for d in range(D):
        use = valid & (dom == d)
        ddf = float(_subset_degf(design, use))
        tdf = ddf if df_user in (None, "design") else df_user
        t = _t(confidence, tdf)
        n_rows = len(y) if design.calibration else int(use.sum())
        xs, ws = y[use], w[use]
        W = float(ws.sum())
        for p in qs:
            qhat = apply_rule(xs, ws, p, qrule)
            if interval_type in ("score", "quantile"):
                lo, hi = _quantile_interval(interval_type, design, y, use, xs, ws, p, qhat,
                                            qrule, tdf, confidence, n_rows)
                rows.append(_quantile_row(var, by, labels, d, p, qhat, lo, hi, t, ddf, use, W,
                                          na_rm, all_valid))
                continue
            # Woodruff: svymean(x <= qhat) on the domain, an interval for it, mapped back
            ind = np.where(use, (np.nan_to_num(y) <= qhat).astype(float), 0.0)
            lin = _linearize(design, ind[:, None], use, np.zeros(len(y), dtype=np.int64), 1, "mean")
            pm, sep = float(lin.est[0, 0]), float(math.sqrt(max(lin.vcov[0, 0], 0.0)))
            if interval_type == "beta":
                lo_p, hi_p = korn_graubard(pm, sep, n=n_rows, degf=ddf, confidence=confidence)
            else:
                lo_p, hi_p = wald_p_interval(pm, sep, method=interval_type, q=t, clip_asin=False)
            lo = math.nan if (not np.isfinite(lo_p) or lo_p < 0) else apply_rule(xs, ws, lo_p, qrule)
            hi = math.nan if (not np.isfinite(hi_p) or hi_p > 1) else apply_rule(xs, ws, hi_p, qrule)
            rows.append(_quantile_row(var, by, labels, d, p, qhat, lo, hi, t, ddf, use, W,
                                      na_rm, all_valid))
    notes = [
        f"Quantile by R svyquantile qrule='{qrule}'"
        + (" (inverse of the weighted empirical CDF)." if qrule in ("math", "hf1") else "."),
        (f"{confidence:.0%} CI by Woodruff's method, interval for F by '{interval_type}' with "
         "t(design df) (R interval.type); se = CI width / (2 t), as R svyquantile."
         if interval_type not in ("score", "quantile") else
         f"{confidence:.0%} CI by inverting the design-based score test (R interval.type="
         "'score', Binder/Francisco-Fuller; roots by R's uniroot steps)."
         if interval_type == "score" else
         f"{confidence:.0%} CI from the replicate quantiles (R interval.type='quantile'): "
         "estimate +/- t * replicate SE."),
        design_summary(s, design),
        *_where_note(mask),
    ]
    _ = alpha
    return _finish("quantile", var, rows, by=by, confidence=confidence, vcov=None, notes=notes)
