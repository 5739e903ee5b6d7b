"""Calibration steps kept for variance estimation (R ``svyrecvar``'s ``postStrata`` loop).

A `CalibrationStep` records one post-stratification, raking or GREG calibration of the
weights; `Design` replaces the weighted values by their calibration residuals, step by step,
before the stage variances (``survey.core.design``).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from . import _rows


@dataclasses.dataclass(frozen=True, eq=False)
class CalibrationStep:
    """One calibration applied to the weights, kept for variance estimation.

    ``kind`` is ``"poststrat"`` (R ``postStratify``), ``"raking"`` (R ``rake``) or ``"greg"``
    (R ``calibrate``). ``weights`` are the weights after the step, ``base_weights`` before it.
    ``codes`` holds the integer cell code of each row (one array for post-stratification, one
    per margin for raking); ``X`` the calibration model matrix (GREG).
    """

    kind: str
    weights: np.ndarray
    base_weights: np.ndarray
    codes: tuple[np.ndarray, ...] = ()
    X: np.ndarray | None = None
    cells: tuple[np.ndarray, np.ndarray] | None = None  # raking: joint cell per row, margins per cell

    def residualize(self, x: np.ndarray) -> np.ndarray:
        """Replace weighted values ``x`` (n x k, already multiplied by the weights) by the
        calibration residuals (R ``svyrecvar``'s post-stratification branch): for raking
        and post-stratification ``x - m * shift[calibration cell]`` (:meth:`column_shift`,
        ``m`` = :attr:`shift_multiplier`), for GREG the weighted least-squares residuals."""
        if self.kind == "greg":
            whalf = np.sqrt(self.base_weights)
            g = _safe_div(self.weights, self.base_weights)
            w = g * whalf
            A = self.X * whalf[:, None]
            v = _safe_div(x, w[:, None])
            coef, *_ = np.linalg.lstsq(A, v, rcond=None)
            return (v - A @ coef) * w[:, None]
        shift = self.column_shift(x)
        cell, m = self.calibration_cells[0], self.shift_multiplier
        out = np.empty_like(x, dtype=float)
        for j in range(x.shape[1]):  # x - m * shift[cell], one temporary per column
            tmp = _rows.take(shift[:, j], cell)
            tmp *= m
            np.subtract(x[:, j], tmp, out=out[:, j])
        return out

    @property
    def calibration_cells(self) -> tuple[np.ndarray, int]:
        """(each row's calibration cell, the number of cells): the joint cell of the raking
        margins, or the post-stratum."""
        if self.kind == "raking":
            return self._raking_layout[0], self._raking_layout[1]
        if self.kind == "poststrat":
            codes = self.codes[0]
            return codes, int(codes.max()) + 1 if len(codes) else 0
        raise AnalysisError(f"a {self.kind!r} calibration has no calibration cells")

    def column_shift(self, x: np.ndarray) -> np.ndarray:
        """(calibration cells x k) shift of the raking or post-stratification residuals of
        the weighted values ``x`` (n x k): the residuals are ``x - m * shift[cell]``. It
        depends on the rows only through per-cell sums (one ``bincount`` per column).

        Raking (R ``svyrecvar``'s raking branch): 10 back-fitting sweeps over the margins of
        ``zz = x / w`` (``zz -= mean of zz within the margin level``); every shift is
        constant within a joint cell of the margins, so the sweeps run on the (cells x k)
        table of per-cell sums of ``zz`` (:meth:`raking_shift`). Rows with weight 0 keep
        ``zz = 0`` (R's ``x / w`` is non-finite there and set to 0) but count in the level
        sizes, as in R. Post-stratification: the post-stratum means of ``x * w0 / m``."""
        k = x.shape[1]
        cell, J = self.calibration_cells
        S = np.empty((J, k))
        for j in range(k):
            S[:, j] = _rows.bincount(cell, self._summand(x[:, j]), minlength=J)
        return self._shift_from_sums(S)

    def cell_shift(self, x: np.ndarray, cell: np.ndarray, K: int) -> np.ndarray | None:
        """For weighted values ``x`` (n,) of K mutually exclusive cells (``cell`` (n,) in
        0..K-1): the (calibration cells x K) shift with which :meth:`residualize` of the K
        indicator columns ``x * 1[cell == c]`` is ``x * 1[cell == c] - m * shift[calibration
        cell, c]`` per row, ``m`` the row's multiplier (:meth:`shift_multiplier`); ``None``
        for GREG (no per-cell shift).

        The shift depends on the rows only through per-cell sums, so it comes from one
        ``bincount`` over calibration cell x cell instead of K row-length columns.
        """
        if self.kind == "greg":
            return None
        rcell, J = self.calibration_cells
        S = _rows.bincount(rcell.astype(np.int64) * K + cell, self._summand(x),
                           minlength=J * K)
        return self._shift_from_sums(S.reshape(J, K))

    def _summand(self, x: np.ndarray) -> np.ndarray:
        """The per-row values (of weighted values ``x``, n,) whose per-calibration-cell sums
        give the shift: ``x / w`` (0 where not finite) for raking, ``x * w0 / m`` for
        post-stratification."""
        if self.kind == "raking":
            return raking_zz(x, self.weights)
        return _safe_div(x * self.base_weights, self.shift_multiplier)

    def _shift_from_sums(self, S: np.ndarray) -> np.ndarray:
        """The shift from the (calibration cells x k) sums of :meth:`_summand`: R's raking
        sweeps, or the post-stratum means (sums over the post-stratum's base weight)."""
        if self.kind == "raking":
            return self.raking_shift(S)
        cell, J = self.calibration_cells
        return _safe_div(S, np.bincount(cell, weights=self.base_weights, minlength=J)[:, None])

    @functools.cached_property
    def shift_multiplier(self) -> np.ndarray:
        """The per-row factor of the shift in the residuals: the calibrated weights (for
        post-stratification, 1 where both the weight and the base weight are 0, as R)."""
        psw = self.weights
        if self.kind == "poststrat":
            psw = psw.copy()
            psw[(psw == 0) & (self.base_weights == 0)] = 1.0
        return psw

    @functools.cached_property
    def _raking_layout(self):
        """What the raking residuals need that is fixed per step: the joint cell of each
        row, the margin levels of each cell, the rows and rows with non-zero weight per
        cell, the rows per margin level (computed once, not on every variance)."""
        psw = self.weights
        cell, cell_codes = self.cells if self.cells is not None else _joint_codes(self.codes)
        J = len(cell_codes)
        n_cell = _rows.bincount(cell, minlength=J).astype(float)  # cell: any integer type
        n_pos = n_cell - _rows.bincount(cell[psw == 0], minlength=J)
        levels = [cell_codes[:, m] for m in range(cell_codes.shape[1])]
        counts = [np.bincount(lev, weights=n_cell) for lev in levels]
        return cell, J, n_pos, levels, counts

    def raking_shift(self, S0: np.ndarray) -> np.ndarray:
        """R ``svyrecvar``'s 10 back-fitting sweeps on the joint cells: from the per-cell sums
        ``S0`` (cells x k) of ``zz = x / w``, the fitted value of each cell (cells x k); the
        raking residuals are then ``x - w * shift[cell]``."""
        _, J, n_pos, levels, counts = self._raking_layout
        return raking_sweeps(S0, n_pos, levels, counts, self._raking_levels)

    @functools.cached_property
    def _raking_levels(self) -> list[np.ndarray]:
        """:func:`level_indicators` of the step's margins (fixed per step)."""
        _, J, _, levels, counts = self._raking_layout
        return level_indicators(levels, counts, J)


def raking_sweeps(S0: np.ndarray, n_pos: np.ndarray, levels: list, counts: list,
                  onehots: list | None = None) -> np.ndarray:
    """R ``svyrecvar``'s 10 back-fitting sweeps over the margins, on the (cells x k) table
    ``S0`` of per-joint-cell sums of ``zz = x / w``: the fitted shift of each cell (cells x
    k). ``n_pos`` the rows of non-zero weight per cell, ``levels`` per margin each cell's
    level, ``counts`` per margin the rows per level, ``onehots`` their
    :func:`level_indicators` (built here when not given). In memory and on Dask alike."""
    J, k = S0.shape
    if onehots is None:
        onehots = level_indicators(levels, counts, J)
    shift = np.zeros((J, k))
    for _ in range(10):  # survey uses 10 fixed back-fitting sweeps
        for lev, cnt, onehot in zip(levels, counts, onehots):
            rest = S0 - n_pos[:, None] * shift
            # per level of the margin, the sum of ``rest`` over its cells, every column at
            # once (a levels x cells indicator product, not one bincount per column)
            shift += _safe_div(onehot @ rest, cnt[:, None])[lev]
    return shift


def level_indicators(levels: list, counts: list, J: int) -> list[np.ndarray]:
    """Per margin, the (levels x joint cells) indicator of the cells in each level."""
    out = []
    for lev, cnt in zip(levels, counts):
        onehot = np.zeros((len(cnt), J))
        onehot[lev, np.arange(J)] = 1.0
        out.append(onehot)
    return out


def raking_zz(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x / w`` with non-finite values (weight 0) set to 0, as R's raking residuals do."""
    with np.errstate(divide="ignore", invalid="ignore"):
        zz = x / w
    bad = ~np.isfinite(zz)
    if bad.any():
        zz[bad] = 0.0
    return zz


def _joint_codes(codes: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Dense joint-cell code of each row and, per joint cell, each margin's code."""
    sizes = [int(c.max()) + 1 if len(c) else 1 for c in codes]
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c, k in zip(codes, sizes):
        key = key * k + c
    cell, uniq = pd.factorize(key, sort=True)
    return cell.astype(np.int64), split_cell_keys(uniq, sizes)


def split_cell_keys(keys: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Mixed-radix joint keys ``((c0 * k1 + c1) * k2 + c2) ...`` -> (cells x margins) codes."""
    out = np.empty((len(keys), len(sizes)), dtype=np.int64)
    rest = np.asarray(keys, dtype=np.int64)
    for j in range(len(sizes) - 1, -1, -1):
        out[:, j] = rest % sizes[j]
        rest = rest // sizes[j]
    return out


def _safe_div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.true_divide(a, b)
    return np.where(np.isfinite(out), out, 0.0) if np.ndim(out) else (out if np.isfinite(out) else 0.0)
