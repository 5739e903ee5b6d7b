"""A `Survey` whose rows live in a Dask DataFrame: estimates from per-partition statistics.

`DaskSurvey` holds a Dask DataFrame and the design by column name. Nothing here ever
collects the rows: every statistic is a sum over rows, computed per partition with
``map_partitions`` and combined on the client (sums, or Chan's pairwise update for centred
second moments). What comes back is small: per category, per domain, per stratum, per PSU
(the PSU totals of the linearised scores are what a Taylor variance needs, R ``svyrecvar``),
or per joint raking cell.

The variance follows `Design` exactly:

* designs with PSUs: the PSU totals of the weighted scores go through `Design.vcov_units`
  of a design built on one row per PSU (strata, lonely-PSU rule and degrees of freedom as
  in memory);
* rows as their own units (weights, optionally strata, no PSU column): per stratum the
  centred cross-products of the scores, ``n_h / (n_h - 1) * sum (x - xbar_h)(x - xbar_h)'``;
* raking: the scores are replaced by their raking residuals first (R's 10 back-fitting
  sweeps, on the table of joint cells, as `CalibrationStep` does in memory).

``dask`` is imported only inside the functions (``import survey`` never imports it).
fpc and multi-stage designs: the units are the distinct (stratum, PSU, SSU, ...) of the
stages used and carry their fpc; rows as units with an fpc: the fpc per stratum.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from .survey import DesignSpec

SUPPORTED = ("mean", "total", "proportions", "crosstab", "frequencies", "multi_response", "banner",
             "rake")


@dataclasses.dataclass(frozen=True, eq=False)
class RakeStep:
    """One raking applied on Dask: margins (column, categories), the IPF factor per joint
    cell (dense over the joint key space ``((c0 * k1) + c1) * k2 ...``)."""

    columns: tuple[str, ...]
    categories: tuple[tuple, ...]
    factor: np.ndarray  # (prod of sizes,) weight factor of each joint key

    def keys(self, part: pd.DataFrame) -> np.ndarray:
        key = np.zeros(len(part), dtype=np.int64)
        for col, cats in zip(self.columns, self.categories):
            codes = codes_of(part[col], cats)
            if (codes < 0).any():
                raise AnalysisError(f"raking margin '{col}' has a missing or unknown value; "
                                    "every row needs a category of each margin")
            key = key * len(cats) + codes
        return key


@dataclasses.dataclass(frozen=True, eq=False)
class DaskSurvey:
    """Responses in a Dask DataFrame, with weight, design and raking steps by name.

    Built by `Survey.from_dask` or by `read_responses` on a partitioned Parquet dataset.
    Supported: ``sv.mean``, ``sv.total``, ``sv.proportions`` (``by=``), ``sv.crosstab``
    (weighted counts and the Rao-Scott tests), ``sv.frequencies``, ``sv.multi_response``,
    ``sv.banner`` (single-choice, Likert and multiple-response rows), ``sv.rake``; Taylor designs with strata, PSUs, fpc and several stages, or replicate
    weights; see docs/scale.md.
    """

    ddf: Any
    weight: str | None = None
    design: DesignSpec = DesignSpec()
    questionnaire: Any = None
    raking: tuple[RakeStep, ...] = ()
    weighting: Any = None
    language: str | None = None
    base_weight: str | None = None  # raked: the column the raking factors multiply

    @property
    def weight_column(self) -> str | None:
        """The column read for the weights before any raking (``weight`` names the final
        weights: after `rake` that is the new weight's name, as in memory, and the raking
        factors multiply ``base_weight``)."""
        return self.base_weight if self.raking else self.weight

    @property
    def weights(self):
        """The final weight of every row, a lazy Dask Series (base weight x raking factors)."""
        meta = pd.Series(dtype=float, name=self.weight)
        return self.ddf.map_partitions(
            lambda part: pd.Series(self.part_weights(part), index=part.index, name=self.weight),
            meta=meta)

    @property
    def columns(self) -> list[str]:
        return list(self.ddf.columns)

    @property
    def has_design(self) -> bool:
        return self.weight is not None or self.design.is_complex or bool(self.raking)

    @property
    def calibration(self) -> tuple:
        return self.raking

    def __len__(self) -> int:
        return int(self.ddf.map_partitions(len).sum().compute())

    def __repr__(self) -> str:
        d = self.design
        parts = [f"{self.ddf.npartitions} partitions", f"weight={self.weight!r}"]
        if d.strata:
            parts.append(f"strata={d.strata!r}")
        if d.psu:
            parts.append(f"psu={d.psu[0]!r}")
        if self.raking:
            parts.append(f"{len(self.raking)} raking step(s)")
        return "DaskSurvey(" + ", ".join(parts) + ")"

    def _repr_html_(self) -> str:
        import html

        return f"<p><b>Survey on Dask</b>: {html.escape(repr(self))}</p>"

    # --- row-level arrays of one partition --------------------------------------------
    def part_weights(self, part: pd.DataFrame) -> np.ndarray:
        """Final weights of the rows of one partition (base weight x raking factors)."""
        return self.step_weights(part, len(self.raking))

    def step_weights(self, part: pd.DataFrame, upto: int) -> np.ndarray:
        """Weights after the first ``upto`` raking steps (0 = base weights)."""
        col = self.weight_column
        w = (np.ones(len(part)) if col is None
             else pd.to_numeric(part[col], errors="coerce").to_numpy(dtype=float))
        for step in self.raking[:upto]:
            w = w * step.factor[step.keys(part)]
        return w

    def part_replicates(self, part: pd.DataFrame, w: np.ndarray) -> np.ndarray:
        """Replicate weights (rows x R) of one partition; ``w`` its full-sample weights
        (they multiply the columns when ``combined_weights=False``)."""
        spec = self.design.replicates
        W = np.empty((len(part), len(spec.columns)))
        for r, c in enumerate(spec.columns):
            W[:, r] = pd.to_numeric(part[c], errors="coerce").to_numpy(dtype=float)
            bad = np.flatnonzero(~(W[:, r] >= 0))
            if len(bad):
                raise AnalysisError(
                    f"replicate weight column '{c}' must hold non-negative numbers; row "
                    f"{part.index[bad[0]]!r} of a partition holds {part[c].iloc[bad[0]]!r}. "
                    "Hint: fill or drop the row before Survey.from_dask.")
        if not spec.combined_weights:
            W *= w[:, None]
        return W

    def replicate_rule(self):
        """The `Replicates` variance rule (R ``svrVar``); it holds no rows."""
        from .replicates import Replicates

        spec = self.design.replicates
        return Replicates(weights=np.empty((0, len(spec.columns))), scale=spec.scale,
                          rscales=np.asarray(spec.rscales, dtype=float), mse=spec.mse,
                          type=spec.type)

    def replace(self, **changes: Any) -> DaskSurvey:
        return dataclasses.replace(self, **changes)


def is_dask(obj: Any) -> bool:
    return isinstance(obj, DaskSurvey)


def from_dask(ddf, *, weight=None, strata=None, psu=None, fpc=None, nest=False,
              lonely_psu="fail", questionnaire=None, language=None, replicate_weights=None,
              replicate_type=None, **replicate_options) -> DaskSurvey:
    """A `DaskSurvey` over ``ddf`` (a ``dask.dataframe.DataFrame``); see `Survey.from_dask`."""
    from .survey import _as_tuple

    if not hasattr(ddf, "map_partitions") or not hasattr(ddf, "npartitions"):
        raise AnalysisError(
            f"Survey.from_dask needs a dask DataFrame; got {type(ddf).__name__}. Hint: "
            "dask.dataframe.read_parquet('folder/') or dask.dataframe.from_pandas(df, npartitions=8)."
        )
    if replicate_weights is not None:
        return _replicate_from_dask(ddf, weight=weight, taylor=(strata, psu, fpc),
                                    replicate_weights=replicate_weights,
                                    replicate_type=replicate_type, questionnaire=questionnaire,
                                    language=language, **replicate_options)
    if replicate_type is not None or any(replicate_options.get(k) is not None
                                         for k in ("rho", "scale", "rscales", "mse")):
        raise AnalysisError("Survey.from_dask: replicate_type=, rho=, scale=, rscales= and "
                            "mse= need replicate_weights= (the replicate weight columns)")
    psu_t, fpc_t = _as_tuple(psu), _as_tuple(fpc)
    if fpc_t and len(fpc_t) != max(len(psu_t), 1):
        raise AnalysisError(
            f"Survey.from_dask: fpc names {len(fpc_t)} column(s) but the design has "
            f"{max(len(psu_t), 1)} stage(s) (psu {list(psu_t)}); give one fpc column per psu "
            "column, as R svydesign requires. Hint: to ignore the later stages, give only the "
            "first psu column.")
    if fpc_t and weight is None:
        raise AnalysisError(
            "Survey.from_dask: fpc= needs weight= on Dask (in memory the weights follow from "
            "the fpc, which needs the number of sampled units per stratum before any row is "
            "weighted). Hint: compute the weight column (population / sampled units) first.")
    cols = set(ddf.columns)
    roles = (("weight", weight), ("strata", strata), *(("psu", c) for c in psu_t),
             *(("fpc", c) for c in fpc_t))
    for role, col in roles:
        if col is not None and col not in cols:
            raise AnalysisError(f"Survey.from_dask: {role} column '{col}' is not a column of "
                                f"the data (columns: {', '.join(map(str, list(cols)[:12]))})")
    spec = DesignSpec(strata=strata, psu=psu_t, fpc=fpc_t, nest=nest, lonely_psu=lonely_psu)
    return DaskSurvey(ddf=ddf, weight=weight, design=spec, questionnaire=questionnaire,
                      language=language)


def _replicate_from_dask(ddf, *, weight, taylor, replicate_weights, replicate_type,
                         questionnaire, language, **options) -> DaskSurvey:
    """A replicate-weight `DaskSurvey` (R ``svrepdesign``): the columns are checked by name
    here and their values partition by partition when a statistic reads them."""
    from .replicates import replicate_spec

    if any(v is not None for v in taylor):
        raise AnalysisError(
            "Survey.from_dask: a replicate-weight design takes the weight and the replicate "
            "weights only; strata/psu/fpc describe a Taylor design. Hint: drop them (the "
            "replicate weights already carry the design).")
    if weight is None or weight not in ddf.columns:
        raise AnalysisError("Survey.from_dask: a replicate-weight design needs weight= (the "
                            "full-sample weight column of the data) beside replicate_weights=")
    names_only = pd.DataFrame(columns=list(ddf.columns))
    if options.get("combined_weights") is None:
        options.pop("combined_weights", None)
    spec = replicate_spec(names_only, replicate_weights, type=replicate_type, **options)
    return DaskSurvey(ddf=ddf, weight=weight, design=DesignSpec(replicates=spec),
                      questionnaire=questionnaire, language=language)


# --------------------------------------------------------------------------------------
def codes_of(series: pd.Series, categories: Sequence) -> np.ndarray:
    """Integer codes of ``series`` in ``categories`` (-1 = missing or not listed)."""
    if isinstance(series.dtype, pd.CategoricalDtype) and tuple(series.cat.categories) == tuple(
            categories):
        return series.cat.codes.to_numpy().astype(np.int64)
    idx = pd.Index(list(categories))
    vals = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
    return idx.get_indexer(vals).astype(np.int64)


def categories(ds: DaskSurvey, var: str) -> tuple:
    """The categories of ``var``: a known categorical's own order, else the sorted distinct
    values (what ``pd.factorize(sort=True)`` gives in memory)."""
    if var not in ds.ddf.columns:
        raise AnalysisError(f"variable '{var}' is not a column of the data")
    col = ds.ddf[var]
    if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.known:
        return tuple(col.cat.categories)
    def distinct(part):  # per partition: its distinct values (no shuffle)
        return set(pd.unique(part[var].dropna()).tolist())

    return tuple(sorted(map_reduce(ds, distinct, lambda r: set().union(*r), [var])))


def map_reduce(ds: DaskSurvey, fn: Callable[[pd.DataFrame], Any],
               combine: Callable[[list], Any], columns: Sequence[str]) -> Any:
    """``combine([fn(partition) for each partition])``, computed by the Dask scheduler in
    use; only ``columns`` are read and only ``fn``'s small results travel.

    ``fn`` runs inside the partition's own task (``map_partitions``, fused with the read):
    a partition is read, reduced and dropped in one step, so a worker never holds more
    than the partitions it is working on (a separate task per partition, as with
    ``to_delayed``, lets the scheduler read ahead and spill whole partitions to disk)."""
    cols = [c for c in dict.fromkeys(columns) if c is not None]
    task = _PartitionTask(fn)
    results = ds.ddf[cols].map_partitions(task, meta=pd.Series(dtype=object)).compute()
    return combine(results.tolist())


class _PartitionTask:
    """``fn(partition)`` boxed as a one-element object Series (whatever ``fn`` returns:
    tuple, dict, array), with a token of its own.

    Dask names a task by tokenizing its function; a closure is tokenized by pickling it
    with everything it holds (cloudpickle), which took about half of each estimate's time
    on a small Dask frame. Each pass is computed once, right away, so a fresh random token
    serves: no two passes ever share a name, and nothing is pickled to make one."""

    __slots__ = ("fn", "token")

    def __init__(self, fn: Callable[[pd.DataFrame], Any]):
        import uuid

        self.fn, self.token = fn, uuid.uuid4().hex

    def __call__(self, part: pd.DataFrame) -> pd.Series:
        box = np.empty(1, dtype=object)
        box[0] = self.fn(part)
        return pd.Series(box)

    def __dask_tokenize__(self) -> str:
        return self.token


def design_columns(ds: DaskSurvey) -> list[str]:
    """The columns every pass reads: weight, strata, PSUs, fpc, raking margins (not the
    replicate weights: only `replicate_totals` reads those)."""
    cols = [ds.weight_column, ds.design.strata, *ds.design.psu, *ds.design.fpc]
    for step in ds.raking:
        cols.extend(step.columns)
    return [c for c in cols if c is not None]


# --------------------------------------------------------------------------------------
def _chan(parts: list[tuple[float, np.ndarray, np.ndarray]]):
    """Combine (n, mean, centred cross-products) of disjoint row sets (Chan et al.)."""
    n, mean, M = 0.0, None, None
    for nb, mb, Mb in parts:
        if nb == 0:
            continue
        if mean is None:
            n, mean, M = nb, mb.copy(), Mb.copy()
            continue
        delta = mb - mean
        tot = n + nb
        M = M + Mb + np.outer(delta, delta) * (n * nb / tot)
        mean = mean + delta * (nb / tot)
        n = tot
    return n, mean, M


def score_vcov(ds: DaskSurvey, score: Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]],
               k: int, columns: Sequence[str],
               domain: Callable[[pd.DataFrame], np.ndarray] | None = None, D: int = 1,
               transform: Callable[[np.ndarray], np.ndarray] | None = None,
               matrix: bool = False, whole: str = "all") -> tuple[np.ndarray, np.ndarray, float]:
    """Covariance of the totals of the weighted scores, as `Design.vcov_weighted` with
    calibration, the design df per domain and the df of the whole design (#PSU - #strata;
    ``whole="nonzero"``: among the rows of non-zero weight, R ``degf``).

    ``score(part)`` gives each row's one non-zero score column and value ``(col, val)``
    (``col`` -1: none), or (rows x m) arrays for m distinct non-zero columns per row; the
    scores of a row are ``transform`` (linear, on a matrix of rows) of that one-hot row, so
    PSU totals are one ``bincount`` then ``transform``.
    ``domain(part)`` (codes, -1 = outside) gives each row's domain for the df (R
    ``degf(subset(...))``: PSUs minus strata among the domain's rows with non-zero weight).
    ``matrix=True``: ``score(part)`` gives the rows' scores as a (rows x k) matrix instead.
    """
    if ds.design.replicates is not None:  # callers take `replicate_totals` instead
        raise AnalysisError("internal: Taylor variance asked of a replicate-weight design")
    cols = list(columns) + design_columns(ds)

    def dense(part):
        if matrix:
            return score(part)
        col, val = _flat_scores(*score(part))
        x = np.zeros((len(part), k))
        ok = col >= 0
        x[np.repeat(np.arange(len(part)), col.size // max(len(part), 1))[ok], col[ok]] = val[ok]
        return x if transform is None else transform(x)

    resid = _raking_shifts(ds, dense, k, cols)

    def final(part):
        x = dense(part)
        for i, (step, (shift, _)) in enumerate(zip(ds.raking, resid)):
            psw = ds.step_weights(part, i + 1)
            x = x - psw[:, None] * shift[_cell_index(step, part, resid[i][1])]
        return x

    spec = ds.design
    if spec.psu:
        sparse = None if ds.raking or matrix else score
        return _psu_vcov(ds, final, k, cols, domain, D, sparse, transform, whole)
    return _row_unit_vcov(ds, final, k, cols, domain, D, whole)


def _flat_scores(col: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A row's score columns and values, flat in row order: ``score`` gives one (rows,) pair
    of arrays, or (rows, m) arrays when a row has m non-zero score columns (distinct)."""
    col, val = np.asarray(col), np.asarray(val, dtype=float)
    return col.reshape(-1).astype(np.int64, copy=False), val.reshape(-1)


def _cell_index(step: RakeStep, part: pd.DataFrame, present: np.ndarray) -> np.ndarray:
    return np.searchsorted(present, step.keys(part))


def _raking_shifts(ds, score, k, cols):
    """Per raking step: the shift per joint cell of R's back-fitting (see
    `CalibrationStep.column_shift`) and the joint keys present."""
    out = []
    for i, step in enumerate(ds.raking):
        done = list(out)

        def stats(part, i=i, step=step, done=done):
            x = score(part)
            for j, (sh, pres) in enumerate(done):
                psw_j = ds.step_weights(part, j + 1)
                x = x - psw_j[:, None] * sh[_cell_index(ds.raking[j], part, pres)]
            psw = ds.step_weights(part, i + 1)
            pos = psw != 0
            with np.errstate(divide="ignore", invalid="ignore"):
                zz = np.where(pos[:, None], x / np.where(pos, psw, 1.0)[:, None], 0.0)
            zz[~np.isfinite(zz)] = 0.0
            key = step.keys(part)
            frame = pd.DataFrame(zz, columns=range(k))
            frame["_n"] = 1.0
            frame["_pos"] = pos.astype(float)
            return frame.groupby(key).sum()

        tab = map_reduce(ds, stats, lambda r: pd.concat(r).groupby(level=0).sum(), cols)
        tab = tab.sort_index()
        present = tab.index.to_numpy().astype(np.int64)
        sizes = [len(c) for c in step.categories]
        from ._calibration import raking_sweeps
        from .design import split_cell_keys

        cell_codes = split_cell_keys(present, sizes)
        S0 = tab[list(range(k))].to_numpy()
        n_cell, n_pos = tab["_n"].to_numpy(), tab["_pos"].to_numpy()
        levels = [cell_codes[:, m] for m in range(cell_codes.shape[1])]
        counts = [np.bincount(lev, weights=n_cell) for lev in levels]
        out.append((raking_sweeps(S0, n_pos, levels, counts), present))
    return out


def _psu_vcov(ds, final, k, cols, domain, D, sparse=None, transform=None, whole="all"):
    from .design import build_design

    spec = ds.design
    keys = unit_keys(spec)
    carried = keys + [c for c in spec.fpc if c not in keys]

    def stats(part):
        x = final(part) if sparse is None else None
        w = ds.part_weights(part)
        d = np.zeros(len(part), dtype=np.int64) if domain is None else domain(part)
        nz = (w != 0) & (d >= 0)
        unit, first = unit_codes(part, keys)
        uniq = part.iloc[first][carried].reset_index(drop=True)
        U = len(uniq)
        sums = np.empty((U, k + D + 1))
        if sparse is not None:  # one bincount over unit x score column
            col, val = _flat_scores(*sparse(part))
            ok = col >= 0
            un = np.repeat(unit, col.size // max(len(part), 1))[ok]
            sums[:, :k] = np.bincount(un * k + col[ok], weights=val[ok],
                                      minlength=U * k).reshape(U, k)
        else:
            for j in range(k):
                sums[:, j] = np.bincount(unit, weights=x[:, j], minlength=U)
        cnt = np.bincount(unit[nz] * D + d[nz], minlength=U * D).reshape(U, D)
        sums[:, k:k + D] = cnt
        sums[:, -1] = np.bincount(unit[w != 0], minlength=U)  # in any domain
        return uniq, sums

    def combine(results):
        uniq = pd.concat([r[0] for r in results], ignore_index=True)
        code, first = unit_codes(uniq, keys)
        out = np.zeros((len(first), k + D + 1))
        np.add.at(out, code, np.concatenate([r[1] for r in results]))
        return uniq.iloc[first].reset_index(drop=True), out

    psu_frame, tab = map_reduce(ds, stats, combine, cols + list(spec.fpc))
    try:
        design = build_design(psu_frame, weights=np.ones(len(psu_frame)), strata=spec.strata,
                              psu=spec.psu[:max(len(spec.fpc), 1)], fpc=spec.fpc, nest=spec.nest, lonely_psu=spec.lonely_psu)
    except AnalysisError as exc:
        raise AnalysisError(f"{exc} (on Dask the rows are the sampling units of the last "
                            f"stage used, one per distinct {' x '.join(keys)}; each unit "
                            "takes the fpc of its first row)") from exc
    T = tab[:, :k]
    if sparse is not None and transform is not None:
        T = transform(T)
    present = tab[:, k:] > 0  # per domain, and (last) any row of non-zero weight
    V = _domain_psu_vcov(design, T, present[:, :D], D, k)
    st = design.stages[0]
    up = np.arange(len(T))
    for later in reversed(design.stages[1:]):  # units of the last stage -> stage-1 PSUs
        up = later.parent[up]
    dfs = np.empty(D + 1)
    for j in range(D + 1):
        c1 = np.unique(up[present[:, j]])
        dfs[j] = float(len(c1) - len(np.unique(st.stratum[c1])))
    return V, dfs[:D], dfs[D] if whole == "nonzero" else float(design.n_psu - design.n_strata)


def unit_keys(spec: DesignSpec) -> list[str]:
    """Columns whose distinct combinations are the units of the variance: strata and the
    PSU columns of the stages used (all stages with an fpc, else the first: R's
    with-replacement variance needs only the first-stage totals)."""
    stages = spec.psu[:max(len(spec.fpc), 1)]
    return [c for c in (spec.strata, *stages) if c is not None]


def unit_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Dense code of each row's combination of ``keys`` (in order of appearance) and the
    position of the first row of each combination."""
    code = np.zeros(len(frame), dtype=np.int64)
    for key in keys:
        c, u = pd.factorize(frame[key], sort=False)
        code = pd.factorize(code * max(len(u), 1) + c, sort=False)[0].astype(np.int64)
    _, first = np.unique(code, return_index=True)
    return code, first


def _domain_psu_vcov(design, T, present, D, k):
    """`vcov_units` with R subset() semantics for lonely PSUs (as `_domain_vcov` in memory)."""
    if not design.has_lonely:
        return design.vcov_units(T)
    V = design.vcov_units(T, present=present.any(1))
    if D > 1 and k % D == 0:
        kk = k // D
        for d in range(D):
            sl = slice(d * kk, (d + 1) * kk)
            V[sl, sl] = design.vcov_units(T[:, sl], present=present[:, d])
    return V


def _row_unit_vcov(ds, final, k, cols, domain, D, whole="all"):
    """Rows as their own units: per stratum ``(1 - n_h/N_h) n_h/(n_h-1)`` times the centred
    cross-products (``N_h`` from the fpc, one value per stratum; no fpc: the factor is 1)."""
    strata = ds.design.strata
    fpc = ds.design.fpc[0] if ds.design.fpc else None

    def stats(part):
        x = final(part)
        w = ds.part_weights(part)
        s = (np.zeros(len(part), dtype=object) if strata is None else part[strata].to_numpy())
        d = np.zeros(len(part), dtype=np.int64) if domain is None else domain(part)
        nz = w != 0
        f = (np.full(len(part), np.nan) if fpc is None
             else pd.to_numeric(part[fpc], errors="coerce").to_numpy(dtype=float))
        out = {}
        for key, idx in pd.Series(np.arange(len(part))).groupby(s).groups.items():
            idx = np.asarray(idx)
            xi = x[idx]
            m = xi.mean(0)
            dev = xi - m
            nd = np.bincount(d[idx][nz[idx] & (d[idx] >= 0)], minlength=D)
            out[key] = (float(len(xi)), m, dev.T @ dev, nd, f[idx].min(), f[idx].max(),
                        float(np.count_nonzero(nz[idx])))
        return out

    def combine(results):
        groups: dict = {}
        for r in results:
            for key, val in r.items():
                groups.setdefault(key, []).append(val)
        return groups

    groups = map_reduce(ds, stats, combine, cols)
    fcs = _stratum_fpc(groups, fpc)
    lonely = ds.design.lonely_psu
    V = np.zeros((k, k))
    n_units = np.zeros(D)
    n_strata = np.zeros(D)
    n_rows = n_nonzero = strata_nonzero = 0.0
    for key, vals in groups.items():
        n, mean, M = _chan([(v[0], v[1], v[2]) for v in vals])
        n_rows += n
        nzh = sum(v[6] for v in vals)
        n_nonzero += nzh
        strata_nonzero += nzh > 0
        nd = sum(v[3] for v in vals)
        n_units += nd
        n_strata += nd > 0
        fc = fcs[key]
        if fc < 1e-7:  # a stratum taken whole: no variance (and not a lonely PSU)
            continue
        if n == 1:
            if lonely == "fail":
                raise AnalysisError(
                    f"stratum {key!r} has only one unit (a 'lonely PSU'). Hint: pass "
                    "lonely_psu='adjust', 'remove' or 'certainty' to Survey.from_dask.")
            if lonely == "adjust":
                V += fc * np.outer(mean, mean)
            elif lonely not in ("remove", "certainty"):
                raise AnalysisError(f"lonely_psu={lonely!r} is not supported on Dask for "
                                    "rows as units; use 'adjust', 'remove' or 'certainty'.")
            continue
        V += M * (fc * n / (n - 1))
    all_df = n_nonzero - strata_nonzero if whole == "nonzero" else n_rows - len(groups)
    return V, (n_units - n_strata).astype(float), float(all_df)


def _stratum_fpc(groups: dict, col: str | None) -> dict:
    """``1 - n_h / N_h`` per stratum (1 without an fpc), as `build_design` computes it for
    rows as units; the fpc must be one value per stratum (checked across partitions)."""
    n = {key: sum(v[0] for v in vals) for key, vals in groups.items()}
    if col is None:
        return dict.fromkeys(groups, 1.0)
    lo = {key: min(v[4] for v in vals) for key, vals in groups.items()}
    hi = {key: max(v[5] for v in vals) for key, vals in groups.items()}
    fmin, fmax = min(lo.values()), max(hi.values())
    is_count = fmax > 1
    if is_count != (fmin >= 1):
        raise AnalysisError("fpc must be all population counts (>= 1) or all sampling "
                            f"fractions (<= 1); found values from {fmin:g} to {fmax:g}")
    out = {}
    for key in groups:
        if lo[key] != hi[key]:
            raise AnalysisError(
                f"fpc column '{col}' varies within stratum {key!r} ({lo[key]:g} to "
                f"{hi[key]:g}); with rows as their own units on Dask it must be one value per "
                "stratum (the stratum's population size or sampling fraction, as R expects).")
        with np.errstate(divide="ignore"):
            pop = lo[key] if is_count else n[key] / lo[key]
        if pop < n[key]:
            raise AnalysisError(
                f"fpc column '{col}' implies more than 100% sampling in stratum {key!r}: "
                f"population {pop:g}, sampled {n[key]:g} rows. Hint: fpc is the population "
                "size of the stratum (or the sampling fraction).")
        out[key] = 1.0 if np.isinf(pop) else (pop - n[key]) / pop
    return out


# --------------------------------------------------------------------------------------
ROW_BLOCK = 131_072  # rows per block of a partition when R replicate columns are expanded


def replicate_totals(ds: DaskSurvey, cell: Callable[[pd.DataFrame], np.ndarray], K: int,
                     columns: Sequence[str], *,
                     values: Callable[[pd.DataFrame], np.ndarray] | None = None,
                     domain: Callable[[pd.DataFrame], np.ndarray] | None = None, D: int = 1,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replicate-weight designs: weighted totals of ``K`` cells, full sample ``(K, m)`` and
    per replicate ``(R, K, m)``, and per domain the Gram matrix ``Wr' Wr`` (R x R) of the
    replicate weights of the domain's rows, then (index ``D``) of all rows: ``(D + 1, R,
    R)``; its rank gives R ``degf``.

    ``cell(part)``: each row's cell (-1 = none), or (rows x m) cells of m disjoint
    groups of cells (a row then counts once in each); ``values(part)`` (rows x m) multiply the
    weights (default one column of ones); ``domain(part)``: each row's domain for the df
    (-1 = outside; default every row in domain 0). Per partition that is ``R'`` times the
    cell indicators (one ``bincount`` per replicate and value column), summed over
    partitions: the replicate estimates (ratios of these totals) are then exactly those of
    R ``svrVar`` in memory.
    """
    R = len(ds.design.replicates.columns)
    cols = list(columns) + design_columns(ds) + list(ds.design.replicates.columns)

    def stats(part):  # in blocks of rows: the (rows x R) temporaries stay small
        out = [block(part.iloc[a:a + ROW_BLOCK]) for a in range(0, max(len(part), 1), ROW_BLOCK)]
        return tuple(sum(o[i] for o in out) for i in range(3))

    def block(part):
        w = ds.part_weights(part)
        Wr = ds.part_replicates(part, w)
        c = np.asarray(cell(part), dtype=np.int64).reshape(len(part), -1)
        ok = c.ravel() >= 0  # a row may be in several cells (one per column of ``c``)
        ri = np.repeat(np.arange(len(part)), c.shape[1])[ok]
        v = np.ones((len(part), 1)) if values is None else np.asarray(values(part), float)
        cc, m = c.ravel()[ok], v.shape[1]
        T, Tr = np.empty((K, m)), np.empty((R, K, m))
        for j in range(m):
            vj = v[ri, j]
            T[:, j] = np.bincount(cc, weights=w[ri] * vj, minlength=K)
            for r in range(R):
                Tr[r, :, j] = np.bincount(cc, weights=Wr[ri, r] * vj, minlength=K)
        G = np.empty((D + 1, R, R))
        G[D] = Wr.T @ Wr
        if domain is None and D == 1:
            G[0] = G[D]
        else:
            d = domain(part)
            for j in range(D):
                sel = Wr[d == j]
                G[j] = sel.T @ sel
        return T, Tr, G

    return map_reduce(ds, stats, lambda res: tuple(sum(r[i] for r in res) for i in range(3)),
                      cols)


def gram_degf(G: np.ndarray) -> int:
    """R ``degf`` of a replicate design from the Gram matrix of its replicate weights: the
    rank (singular values above 1e-5 of the largest, as `Replicates.degf`) minus one."""
    ev = np.linalg.eigvalsh(G)[::-1]
    s = np.sqrt(np.clip(ev, 0.0, None))
    return int((s > 1e-5 * s[0]).sum()) - 1 if s[0] > 0 else 0
