"""The numeric side of a sampling design: codes and weights for Taylor-linearised variances.

`Design.vcov_total(z)` is the one primitive every design-based statistic builds on: the
estimated covariance matrix of the weighted totals ``sum_i w_i z_i`` of the columns of ``z``
(R: ``survey:::svyrecvar``). Means, proportions, Rao-Scott tests and the sandwich of
``svyglm`` are all "linearise, then call vcov_total".

What is implemented, exactly as R's ``survey`` package (4.1) does it:

* single-stage stratified designs, one-stage and multi-stage cluster designs
  (``psu=["dnum", "snum"]``); later-stage strata are the clusters of the stage above, as
  ``svydesign`` builds them;
* ``fpc`` per stage as population counts or as sampling fractions; without ``fpc`` only the
  first stage enters (with-replacement, "ultimate cluster" variance); with ``fpc`` the
  stage-``k`` term is multiplied by the sampling fractions ``n/N`` of the stages above;
* lonely PSUs as ``options(survey.lonely.psu=)``: ``fail``, ``remove``, ``certainty``,
  ``adjust``, ``average``;
* calibration: when the `Survey` carries `CalibrationStep` objects (post-stratification,
  raking, GREG calibration), the weighted values are replaced by their calibration residuals
  first, in the order the steps were applied (``svyrecvar``'s ``postStrata`` loop).

The design is computed once per `Survey` and cached (the `Survey` is immutable).
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AnalysisError
from . import _rows
from ._calibration import CalibrationStep, _joint_codes, _safe_div, raking_zz, split_cell_keys

if TYPE_CHECKING:  # pragma: no cover
    from .replicates import Replicates
    from .survey import Survey


LONELY_PSU_OPTIONS = ("fail", "remove", "adjust", "average", "certainty")



@dataclasses.dataclass(frozen=True, eq=False)
class _Stage:
    """One sampling stage, at the level of its clusters (all arrays length n_clusters)."""

    row_cluster: np.ndarray  # (n,) cluster code of each row at this stage
    stratum: np.ndarray  # (C,) stratum code of each cluster
    n_strata: int
    parent: np.ndarray | None  # (C,) cluster of the stage above (None at stage 1)
    n_psu: np.ndarray  # (C,) clusters sampled in the cluster's stratum
    scale: np.ndarray  # (C,) f * n/(n-1) (f alone when n == 1)
    zero_stratum: np.ndarray  # (H,) True where every f < 1e-7 (stratum sampled completely)
    ratio: np.ndarray  # (C,) n/N of this stage (multiplies the variance of the next stage)


@dataclasses.dataclass(frozen=True, eq=False)
class Design:
    """Integer-coded design arrays (length n each) plus the per-stage structure.

    ``weights``, ``strata``, ``psu``, ``fpc`` describe the first stage (``psu`` codes are
    unique across strata; ``fpc`` is the stage-1 population size per row or ``None``).
    """

    weights: np.ndarray
    strata: np.ndarray  # int codes 0..H-1
    psu: np.ndarray  # int codes, unique across strata
    fpc: np.ndarray | None  # population size N_h per row (stage 1), or None
    n_strata: int
    n_psu: int
    stages: tuple[_Stage, ...] = ()
    lonely_psu: str = "fail"
    calibration: tuple[CalibrationStep, ...] = ()
    _degf: int | None = None
    _rows_are_units: bool = False
    strata_labels: tuple = ()
    replicate: Replicates | None = None  # replicate-weight design (R svrepdesign)

    @property
    def degf(self) -> int:
        """Design degrees of freedom: #PSU - #strata among rows with non-zero weight (R's ``degf``)."""
        if self._degf is not None:
            return self._degf
        return self.n_psu - self.n_strata

    @property
    def n(self) -> int:
        return len(self.weights)

    # ------------------------------------------------------------------------------------
    @classmethod
    def from_survey(cls, survey: Survey) -> Design:
        """Build (or fetch from the cache) the numeric design of ``survey``."""
        try:
            cached = _CACHE.get(survey)
        except TypeError:  # pragma: no cover - unhashable
            cached = None
        if cached is not None:
            return cached
        spec = survey.design
        data = survey.data
        weights = survey.weights if survey.weight is not None else None
        design = build_design(
            data,
            weights=weights,
            strata=spec.strata,
            psu=spec.psu,
            fpc=spec.fpc,
            nest=spec.nest,
            lonely_psu=spec.lonely_psu,
            calibration=() if spec.replicates is not None else tuple(survey.calibration),
        )
        if spec.replicates is not None:
            from .replicates import build_replicates

            rep = getattr(survey, "replicate_weights", None)
            rep = build_replicates(data, spec.replicates, design.weights) if rep is None else rep
            design = dataclasses.replace(design, replicate=rep, _degf=rep.degf())
        try:
            _CACHE[survey] = design
        except TypeError:  # pragma: no cover
            pass
        return design

    def with_weights(self, weights: np.ndarray, calibration: tuple = ()) -> Design:
        """The same sampling structure with other weights (and calibration steps)."""
        weights = np.asarray(weights, dtype=float)
        return dataclasses.replace(
            self, weights=weights, calibration=tuple(calibration),
            _degf=_degf(self.stages[0], self.strata, weights),
        )

    # ------------------------------------------------------------------------------------
    def unit_totals(self, values: np.ndarray, key: np.ndarray | None = None, k: int = 1) -> np.ndarray:
        """Sums of ``values`` (n,) over the finest sampling units used by the variance,
        split by ``key`` (n,) in 0..k-1 (rows with key < 0 are left out): (units x k)."""
        self._taylor_only("unit_totals")
        values = np.asarray(values, dtype=float)
        if key is None:
            return self.sum_by_unit(values)[:, None]
        return _unit_key_totals(self, values, np.asarray(key), k)

    def cell_totals_vcov(self, cell: np.ndarray, K: int, values: np.ndarray | None = None,
                         *, totals: np.ndarray | None = None,
                         keep: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Weighted totals of ``K`` mutually exclusive cells and their covariance.

        ``cell`` (n,) holds each row's cell code in 0..K-1 (-1 = left out: weight 0, design
        kept); ``values`` (n,) multiplies the weights (default 1). The result equals
        ``vcov_total`` of the K indicator columns (times ``values``) without building them:
        for a single-stage design whose rows are their own PSUs and no calibration, the
        variance is a sum over strata of ``scale_h * [sum_i T_i T_i' - ...]`` where every term
        is a ``bincount`` over stratum x cell (``T_i`` has one non-zero entry); otherwise the
        rows are first summed to PSU x cell totals with one ``bincount``.
        """
        cell = np.asarray(cell)
        if self.replicate is not None:
            T, Tr = self.cell_totals_replicates(cell.astype(np.int64, copy=False), K, values)
            return T, self.replicate.var(Tr, T)
        x = self.weights if values is None else self.weights * np.asarray(values, dtype=float)
        if not self.calibration and not (self._rows_are_units and len(self.stages) == 1):
            return self._unit_cells_vcov(x, cell, K, keep if values is None else None)
        cell = cell.astype(np.int64, copy=False)
        ok = cell >= 0
        all_ok = bool(ok.all())
        if not all_ok:
            x = np.where(ok, x, 0.0)
            cell = np.where(ok, cell, 0)
        if self.calibration:
            fast = self._calibrated_cells_vcov(x, cell, K)
            if fast is not None:
                return fast
            Z = np.zeros((len(cell), K))
            Z[np.arange(len(cell)), cell] = x
            totals = Z.sum(0)
            return totals, self.vcov_weighted(Z, calibrate=True)
        st = self.stages[0]
        if self._rows_are_units and len(self.stages) == 1:
            H = st.n_strata
            cnt = np.bincount(st.stratum, minlength=H)
            lonely = (cnt == 1) & ~st.zero_stratum
            if not lonely.any():
                scale = st.scale
                if st.zero_stratum.any():
                    scale = np.where(st.zero_stratum[st.stratum], 0.0, scale)
                if H == 1:
                    if totals is None:
                        totals = np.bincount(cell, weights=x, minlength=K)
                    if _constant(scale):  # sum_i s (T_i - m)(T_i - m)' with one scale s
                        s0 = float(scale[0])
                        A = s0 * np.bincount(cell, weights=x * x, minlength=K)
                        B = s0 * totals
                        c = s0 * len(x)
                    else:
                        sx = x * scale
                        A = np.bincount(cell, weights=sx * x, minlength=K)
                        B = np.bincount(cell, weights=sx, minlength=K)
                        c = float(scale.sum())
                    m = totals / len(x)
                    V = np.diag(A) - np.outer(m, B) - np.outer(B, m) + c * np.outer(m, m)
                    return totals, V
                key = st.stratum * K + cell
                sx = x * scale
                A = np.bincount(key, weights=sx * x, minlength=H * K).reshape(H, K)
                B = np.bincount(key, weights=sx, minlength=H * K).reshape(H, K)
                S = np.bincount(key, weights=x, minlength=H * K).reshape(H, K)
                c = np.bincount(st.stratum, weights=scale, minlength=H)
                m = S / cnt[:, None]
                V = (np.diag(A.sum(0)) - m.T @ B - B.T @ m + (m * c[:, None]).T @ m)
                return S.sum(0), V
        return self._unit_cells_vcov(x, cell, K, keep if values is None else None)

    def _calibrated_cells_vcov(self, x: np.ndarray, cell: np.ndarray, K: int):
        """:meth:`cell_totals_vcov` after one raking or post-stratification, without the
        (rows x K) table: the residuals of the K indicator columns are ``x 1[cell = c] - m
        shift[calibration cell, c]`` (:meth:`CalibrationStep.cell_shift`), so their unit
        totals are the unit x cell totals of ``x`` minus (unit x calibration cell totals of
        ``m``) @ shift. Equal to the row-by-row residuals (R ``svyrecvar``) up to rounding;
        ``None`` (the general path) for GREG, several steps, or rows as their own units."""
        PW = self._calibration_unit_totals  # (units x calibration cells), once per design
        if PW is None:
            return None
        shift = self.calibration[0].cell_shift(x, cell, K)
        XU = self.unit_totals(x, cell, K)
        return XU.sum(0), self.vcov_units(XU - PW @ shift)

    @functools.cached_property
    def _calibration_unit_totals(self) -> np.ndarray | None:
        """Per unit and calibration cell, the total of the shift multiplier of the (one)
        raking or post-stratification step: (units x cells), computed once per design."""
        step = self.calibration[0] if len(self.calibration) == 1 else None
        if step is None or step.kind not in ("raking", "poststrat") or self._rows_are_units:
            return None
        rcell, J = step.calibration_cells
        return self.unit_totals(step.shift_multiplier, rcell, J)

    def _unit_cells_vcov(self, x: np.ndarray, cell: np.ndarray, K: int, keep: dict | None):
        """Cell totals and covariance through the unit x cell totals (rows summed to the
        finest units a block at a time; cell codes of any integer type, -1 left out)."""
        T = self.unit_totals(x, cell, K)
        if keep is not None:  # (units x K) weight totals, for reuse
            keep["unit_totals"] = T
        return T.sum(0), self.vcov_units(T)

    def cell_totals_replicates(self, cell: np.ndarray, K: int,
                               values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Replicate designs: full-sample (K,) and replicate (R x K) weighted cell totals."""
        return self.replicate.cell_totals(self.weights, values, cell, K)

    def _taylor_only(self, what: str) -> None:
        if self.replicate is not None:
            raise AnalysisError(
                f"{what}: this analysis has no replicate-weight form yet; the Survey has "
                "replicate weights (it would need Taylor linearisation over strata and PSUs)."
            )

    def srs_scale(self) -> float | None:
        """The common variance factor ``s`` of a weights-only design, else ``None``.

        When the rows are their own PSUs in one stratum with one sampling fraction and no
        calibration, the covariance of weighted cell totals ``T`` is
        ``s * (diag(sum of x^2 per cell) - T T' / n)`` with ``s = (1 - f) n / (n - 1)``
        (the single-stratum case of :meth:`cell_totals_vcov`), so callers can work from
        per-cell sums of squared weights alone.
        """
        if (self.calibration or self.replicate is not None or len(self.stages) != 1
                or not self._rows_are_units):
            return None
        st = self.stages[0]
        if st.n_strata != 1 or st.zero_stratum.any() or len(st.scale) < 2:
            return None
        return float(st.scale[0]) if _constant(st.scale) else None

    def vcov_total(self, z: np.ndarray) -> np.ndarray:
        """Covariance matrix of the weighted totals of the columns of ``z`` (n x k).

        R: ``svyrecvar(z * weights, ...)``: calibration residuals first (if any), then the
        multi-stage between-cluster variance with ``n_h/(n_h-1)`` and ``(1 - n_h/N_h)``.
        """
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        if self.replicate is not None:  # totals under each replicate's weights (R svytotal)
            return self.replicate.var(self.replicate.weights.T @ z, self.weights @ z)
        return self.vcov_weighted(z * self.weights[:, None], calibrate=True)

    def vcov_weighted(self, x: np.ndarray, *, calibrate: bool = True) -> np.ndarray:
        """Like :meth:`vcov_total` for values already multiplied by the weights (R's
        ``svyrecvar(x, ...)``); ``calibrate=False`` skips the calibration residuals."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if self.replicate is not None:
            return self.vcov_total(_safe_div(x, self.weights[:, None]))
        if calibrate and self._calibration_unit_totals is not None:
            # one raking or post-stratification: the residuals' unit totals without the
            # (rows x k) residuals (they are x - m * shift[calibration cell])
            shift = self.calibration[0].column_shift(x)
            return self.vcov_units(self._unit_sums(x) - self._calibration_unit_totals @ shift)
        if calibrate:
            for step in self.calibration:
                x = step.residualize(x)
        return self.vcov_units(self._unit_sums(x))

    def _unit_sums(self, x: np.ndarray) -> np.ndarray:
        """(units x k) sums of the columns of ``x`` (n x k) per finest unit (``x`` itself
        when the rows are the units)."""
        n_units = len(self.stages[-1].stratum)
        if self._rows_are_units:
            return x
        T = np.empty((n_units, x.shape[1]))
        for j in range(x.shape[1]):
            T[:, j] = self.sum_by_unit(x[:, j])
        return T

    def vcov_units(self, T: np.ndarray, *, present: np.ndarray | None = None,
                   blocks: int | None = None) -> np.ndarray:
        """The multi-stage variance from totals ``T`` (units x k) at the finest stage used.

        ``present`` (bool per finest unit) marks the units of a domain (R ``subset()``): the
        lonely-PSU rule then looks only at the strata the domain reaches, as R does on a
        subset design (a lonely stratum outside the domain is not an error; ``average``
        scales by the domain's strata). ``None``: every stratum counts.

        ``blocks=m`` returns only the diagonal (m x m) blocks of the covariance, as an array
        (k / m, m, m): the covariance within each group of ``m`` consecutive columns, at
        ``k m`` instead of ``k^2`` products per unit.
        """
        self._taylor_only("vcov_units")
        T = np.asarray(T, dtype=float)
        if T.ndim == 1:
            T = T[:, None]
        k = T.shape[1]
        V = np.zeros((k, k)) if blocks is None else np.zeros((k // blocks, blocks, blocks))
        mult = None  # product of n/N of the stages above, per cluster of the current stage
        totals = [T]
        pres = [None if present is None else np.asarray(present, dtype=bool)]
        for st in reversed(self.stages[1:]):  # aggregate upwards
            up = np.zeros((int(st.parent.max()) + 1 if len(st.parent) else 0, k))
            Tk = totals[0]
            for j in range(k):
                up[:, j] = np.bincount(st.parent, weights=Tk[:, j], minlength=up.shape[0])
            totals.insert(0, up)
            if present is not None:
                pres.insert(0, np.bincount(st.parent, weights=pres[0].astype(float),
                                           minlength=up.shape[0]) > 0)
            else:
                pres.insert(0, None)
        for level, (st, Tk, pk) in enumerate(zip(self.stages, totals, pres)):
            if level > 0:
                prev = self.stages[level - 1]
                parent_mult = mult if mult is not None else np.ones(len(prev.stratum))
                mult = (parent_mult * prev.ratio)[st.parent]
            V += _stage_variance(st, Tk, mult, self.lonely_psu, level, self.strata_labels, pk,
                                 blocks)
        return V

    @functools.cached_property
    def _unit_starts(self) -> np.ndarray | None:
        """Where each finest sampling unit's rows start when the rows come grouped by unit in
        code order (files sorted by PSU), else ``None``: sums per unit are then one
        sequential ``np.add.reduceat`` instead of a scattered ``bincount``."""
        cl = self.stages[-1].row_cluster
        if len(cl) < 2 or cl[0] != 0:
            return None
        step = cl[1:] - cl[:-1]
        if not ((step == 0) | (step == 1)).all():
            return None
        return np.r_[0, np.flatnonzero(step) + 1]

    def unit_blocks(self, k: int = 1):
        """Blocks of rows for sums per finest unit (x ``k`` keys), in bounded memory: yields
        ``(rows, lo, hi, local)`` with ``rows`` a slice, the block's units in ``lo .. hi - 1``
        and ``local`` (a new int64 array) each row's unit minus ``lo``. When the rows come
        grouped by unit a block reaches only the units between its first and last row;
        otherwise every unit, and a block has at least ``units x k`` rows (``_rows.BLOCK``
        rows at least), so the per-block ``bincount`` of ``units x k`` bins never dominates."""
        cl = self.stages[-1].row_cluster
        n_units, n = len(self.stages[-1].stratum), len(cl)
        starts = self._unit_starts
        grouped = starts is not None and len(starts) == n_units
        step = _rows.BLOCK if grouped else max(_rows.BLOCK, n_units * k)
        for a in range(0, n, step):
            b = min(a + step, n)
            if not grouped:
                yield slice(a, b), 0, n_units, cl[a:b].copy()
                continue
            lo = int(cl[a])
            yield slice(a, b), lo, int(cl[b - 1]) + 1, cl[a:b] - lo

    def unit_segments(self):
        """Like `unit_blocks` with one key, for rows grouped by unit only (else ``None``):
        yields ``(rows, lo, hi, offsets)``, ``offsets`` where each unit ``lo .. hi - 1``
        starts within the block, so the block's sums per unit are one sequential
        ``np.add.reduceat(values, offsets)`` (no per-row unit codes are read)."""
        starts = self._unit_starts
        n_units, n = len(self.stages[-1].stratum), len(self.weights)
        if starts is None or len(starts) != n_units:
            return None

        def blocks():
            for a in range(0, n, _rows.BLOCK):
                b = min(a + _rows.BLOCK, n)
                lo = int(np.searchsorted(starts, a, "right")) - 1
                hi = int(np.searchsorted(starts, b - 1, "right"))
                off = starts[lo:hi] - a
                off[0] = 0  # the first unit may have begun in the block before
                yield slice(a, b), lo, hi, off

        return blocks()

    @functools.cached_property
    def weight_total(self) -> float:
        """Sum of the weights."""
        return float(self.weights.sum())

    def raked_unit_totals(self, scores, k: int) -> np.ndarray | None:
        """Unit totals (units x k) of the raking residuals of weighted values, without an
        n-length array: ``scores(rows, first)`` gives the (rows x k) weighted values of a
        slice of rows, twice per block (``first`` in the first pass). Pass 1 sums
        ``zz = x / w`` per joint cell; the back-fitting runs on the cells
        (`CalibrationStep.raking_shift`); pass 2 sums ``x - w * shift[cell]`` per unit - the
        residuals `vcov_weighted` would build row by row. ``None`` unless the design has
        exactly one calibration step, a raking, and clusters (not rows as units)."""
        if (len(self.calibration) != 1 or self.calibration[0].kind != "raking"
                or self._rows_are_units or self.replicate is not None):
            return None
        step = self.calibration[0]
        cell, J = step._raking_layout[:2]
        psw, n = step.weights, len(step.weights)
        S0 = np.zeros((J, k))
        for a in range(0, n, _rows.BLOCK):
            sl = slice(a, min(a + _rows.BLOCK, n))
            x = scores(sl, True)
            for j in range(k):
                S0[:, j] += np.bincount(cell[sl], raking_zz(x[:, j], psw[sl]), minlength=J)
        shift = step.raking_shift(S0)
        T = np.zeros((len(self.stages[-1].stratum), k))
        for sl, lo, hi, local in self.unit_blocks():
            x, c = scores(sl, False), cell[sl]
            for j in range(k):
                fit = np.take(shift[:, j], c, mode="clip")
                fit *= psw[sl]
                T[lo:hi, j] += np.bincount(local, x[:, j] - fit, minlength=hi - lo)
        return T

    def sum_by_unit(self, x: np.ndarray) -> np.ndarray:
        """Sums of ``x`` (n,) per finest sampling unit (units,)."""
        starts = self._unit_starts
        if starts is not None and len(starts) == len(self.stages[-1].stratum):
            return np.add.reduceat(x, starts)
        return np.bincount(self.stages[-1].row_cluster, weights=x,
                           minlength=len(self.stages[-1].stratum))

    @functools.cached_property
    def nonzero_weights(self) -> int:
        """Rows with a non-zero weight."""
        return int(np.count_nonzero(self.weights))

    @functools.cached_property
    def weights_positive(self) -> bool:
        """True when every weight is > 0 (a row then counts wherever it is in the base)."""
        return bool((self.weights > 0).all())

    @functools.cached_property
    def has_lonely(self) -> bool:
        """True when some stratum (at any stage used) has a single sampled PSU."""
        if self.replicate is not None:
            return False
        for st in self.stages:
            cnt = np.bincount(st.stratum, minlength=st.n_strata)
            if ((cnt == 1) & ~st.zero_stratum).any():
                return True
        return False

    def present_units(self, rows: np.ndarray) -> np.ndarray:
        """Finest units holding at least one of ``rows`` (bool per row): a domain's units."""
        cl = self.stages[-1].row_cluster
        return np.bincount(cl, weights=np.asarray(rows, dtype=float),
                           minlength=len(self.stages[-1].stratum)) > 0


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _unit_key_totals(design: Design, values: np.ndarray, key: np.ndarray, k: int) -> np.ndarray:
    """Sums of ``values`` per (finest unit, ``key``) as (units x k), rows with key < 0
    left out, a block of rows at a time (`Design.unit_blocks`): the ``unit * k + key``
    index is one block long whatever the number of rows (``key`` of any integer type)."""
    out = np.zeros(len(design.stages[-1].stratum) * k)
    for sl, lo, hi, idx in design.unit_blocks(k):
        kk = key[sl]
        v = values[sl]
        if kk.min() < 0:
            ok = kk >= 0
            v = np.where(ok, v, 0.0)
            kk = np.where(ok, kk, 0)
        idx *= k
        idx += kk
        out[lo * k:hi * k] += np.bincount(idx, weights=v, minlength=(hi - lo) * k)
    return out.reshape(-1, k)


def _constant(a: np.ndarray) -> bool:
    return len(a) > 0 and a[0] == a[-1] and bool((a == a[0]).all())

_LAYOUT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _strata_layout(st: _Stage):
    """Clusters grouped by stratum, computed once per stage: (order or None when already
    grouped, counts per stratum, start of each stratum in the grouped order)."""
    got = _LAYOUT.get(st)
    if got is None:
        s = st.stratum
        cnt = np.bincount(s, minlength=st.n_strata)
        order = None if bool((np.diff(s) >= 0).all()) else np.argsort(s, kind="stable")
        starts = np.r_[0, np.cumsum(cnt)[:-1]]
        got = (order, cnt, starts)
        _LAYOUT[st] = got
    return got


def _stage_variance(st: _Stage, T: np.ndarray, mult, lonely: str, level: int,
                    labels: tuple = (), present: np.ndarray | None = None,
                    blocks: int | None = None) -> np.ndarray:
    """``sum_h sum_i scale_i (T_i - mean_h)(T_i - mean_h)'`` over the clusters of one stage.

    The clusters are taken grouped by stratum (a cached permutation; none when already
    grouped), so the stratum means are one ``np.add.reduceat`` and the deviations one
    broadcast subtraction; the sum is permutation invariant.
    """
    H = st.n_strata
    order, cnt_i, starts = _strata_layout(st)
    if (cnt_i == 0).any():  # a stratum without clusters: no contiguous segments
        s = st.stratum if order is None else st.stratum[order]
        sums = np.stack([np.bincount(s, weights=c, minlength=H) for c in
                         (T if order is None else T[order]).T], axis=1)
    else:
        sums = None
    if order is not None:
        T = T[order]
    s = st.stratum if order is None else st.stratum[order]
    if sums is None:
        sums = np.add.reduceat(T, starts, axis=0)
    cnt = cnt_i.astype(float)
    means = sums / np.maximum(cnt, 1)[:, None]
    lonely_h = (cnt == 1) & ~st.zero_stratum
    if present is not None:  # a domain: only the strata it reaches count (R subset())
        reached = np.bincount(st.stratum, weights=present.astype(float), minlength=H) > 0
        lonely_h = lonely_h & reached
        H = int(reached.sum())
    dev = T.copy() if order is None else T  # T[order] is already a copy
    keep = lonely_h if lonely == "adjust" else np.zeros(len(cnt_i), dtype=bool)
    for h in np.flatnonzero((cnt_i > 0) & ~keep):  # centre each stratum's segment
        dev[starts[h]:starts[h] + cnt_i[h]] -= means[h]
    scale = st.scale.copy() if order is None else st.scale[order]
    scale[st.zero_stratum[s]] = 0.0
    if lonely_h.any():
        where = lonely_h[s]
        if lonely == "fail":
            h = int(np.flatnonzero(lonely_h)[0])
            name = repr(labels[h]) if level == 0 and h < len(labels) else str(h)
            raise AnalysisError(
                f"stratum {name} has only one PSU at stage {level + 1} (a 'lonely PSU'). "
                "Hint: pass lonely_psu='adjust', 'average', 'remove' or 'certainty' to "
                "Survey.from_frame (R: options(survey.lonely.psu=...)), or merge the stratum "
                "with a neighbour."
            )
        if lonely == "adjust":
            pass  # lonely strata left uncentred above: deviation from zero (as R)
        elif lonely in ("remove", "certainty"):
            scale[where] = 0.0
        elif lonely == "average":
            scale[where] = 0.0
    if mult is not None:
        scale = scale * (mult if order is None else mult[order])
    if blocks is None and bool((scale >= 0).all()):  # scaled in place: no second copy
        dev *= np.sqrt(scale)[:, None]
        V = dev.T @ dev
    elif blocks is None:  # an fpc below the sample size makes a scale negative
        V = dev.T @ (dev * scale[:, None])
    else:  # (groups, m, m): one small product per group of m columns
        dg = dev.reshape(len(dev), -1, blocks)
        V = np.zeros((dg.shape[1], blocks, blocks))
        for g in range(dg.shape[1]):
            V[g] = dg[:, g].T @ (dg[:, g] * scale[:, None])
    if lonely == "average" and lonely_h.any():
        if level == 0:
            nstrat = H
            nok = H - int(lonely_h.sum())
            V = V * nstrat / nok if nok else V * np.nan
        else:
            V = V * np.nan
    return V


# building a Design from a frame lives in ``_design_build`` (it needs the classes above)
from ._design_build import (  # noqa: E402
    _codes,
    _degf,
    _first,
    _pair_codes,
    _sorted_codes,
    build_design,
    fpc_weights,
)

__all__ = ["CalibrationStep", "Design", "LONELY_PSU_OPTIONS", "build_design", "fpc_weights",
           "split_cell_keys", "_codes", "_degf", "_first", "_joint_codes", "_pair_codes",
           "_sorted_codes"]
