"""Replicate-weight designs (R ``svrepdesign`` / ``as.svrepdesign``).

A replicate design carries, besides the full-sample weights, R columns of replicate weights.
Every statistic is recomputed with each replicate's weights and its variance is

    V = scale * sum_r rscales_r (theta_r - theta_bar)(theta_r - theta_bar)'

with ``theta_bar`` the mean of the replicates (R's default ``mse = FALSE``) or the full-sample
estimate (``mse = True``), exactly R's ``svrVar``. Default ``scale``/``rscales`` per type as R
``svrepdesign``: BRR 1/R; Fay 1/(R (1 - rho)^2); JK1 (R - 1)/R (R: "guessing n = number of
replicates"); JKn scale 1 with ``rscales`` required; bootstrap 1/(R - 1); SDR and ACS 4/R (ACS
uses ``mse = True``); ``other`` needs both. The design df is ``rank(replicate weights) - 1``
(R ``degf.svyrep.design``).
"""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np
import pandas as pd

from ..errors import AnalysisError

REPLICATE_TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR", "ACS", "other")

__all__ = ["ReplicateSpec", "Replicates", "REPLICATE_TYPES", "replicate_spec", "as_replicate"]


@dataclasses.dataclass(frozen=True)
class ReplicateSpec:
    """How the replicate weights are given (by column name) and combined into a variance."""

    columns: tuple[str, ...]
    type: str
    scale: float
    rscales: tuple[float, ...]
    mse: bool = False
    rho: float | None = None
    combined_weights: bool = True  # columns are full replicate weights (else multipliers)
    hadamard: str | None = None  # BRR/Fay built here: which Hadamard matrix chose the halves


@dataclasses.dataclass(frozen=True, eq=False)
class Replicates:
    """Numeric replicate weights (n x R, analysis weights) and the variance rule.

    When every row's replicate weights are its full-sample weight times the factors of a
    group of rows (``weights[i] == base[i] * factors[groups[i]]``: replicates built per PSU,
    as JK, BRR, Fay and bootstrap replicates are), `build_replicates` finds the groups and
    `totals` works on the (groups x R) factors instead of reading the n x R matrix.
    """

    weights: np.ndarray
    scale: float
    rscales: np.ndarray
    mse: bool
    type: str
    groups: np.ndarray | None = None  # (n,) group code of each row
    factors: np.ndarray | None = None  # (G x R) replicate factor of each group
    base: np.ndarray | None = None  # (n,) full-sample weights the factors multiply

    @property
    def n_replicates(self) -> int:
        return self.weights.shape[1]

    @functools.cached_property
    def column_totals(self) -> np.ndarray:
        """(R,) sum of each replicate's weights over all rows (cached)."""
        return self.totals()[:, 0]

    def totals(self, x: np.ndarray | None = None, cell: np.ndarray | None = None,
               K: int = 1) -> np.ndarray:
        """(R x K) replicate totals ``sum_i W[i, r] x_i [cell_i == c]``: ``x`` (n,) values
        (default 1), ``cell`` (n,) codes in 0..K-1 (-1 = left out; default all 0).

        One pass over the rows: group x cell sums and a (G x R)' (G x K) product when the
        replicates are grouped; otherwise one pass over the n x R matrix (`_plain_totals`)."""
        if self.factors is not None:
            return self.factors.T @ self._group_sums(x, cell, K)
        return self._plain_totals(*_masked(x, cell), K)

    def cell_totals(self, weights: np.ndarray, x: np.ndarray | None = None,
                    cell: np.ndarray | None = None, K: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The full-sample totals ``sum_i weights_i x_i [cell_i == c]`` (K,) and `totals`
        (R x K); grouped, both come from the same group x cell sums (one pass over the rows;
        ``weights`` must then be the full-sample weights the factors multiply)."""
        if self.factors is not None:
            A = self._group_sums(x, cell, K)
            return A.sum(0), self.factors.T @ A
        x, cell = _masked(x, cell)
        v = weights if x is None else weights * x
        full = np.array([v.sum()]) if cell is None else np.bincount(cell, weights=v, minlength=K)
        return full, self._plain_totals(x, cell, K)

    def cell_totals_norms(self, weights: np.ndarray, cell: np.ndarray, K: int
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """`cell_totals` of the weights by cell and, when the replicates are grouped, the
        (G x K) sums of squared full-sample weights per group and cell from the same pass
        (else ``None``): summed over the cells of a domain they give its df
        (`degf_from_norms`) without another pass over the rows."""
        if self.factors is None:
            return (*self.cell_totals(weights, None, cell, K), None)
        A, norms = self._group_cell_sums(cell, K, squares=True)
        return A.sum(0), self.factors.T @ A, norms

    def _group_sums(self, x, cell, K: int) -> np.ndarray:
        """(G x K) sums of ``base * x`` per group and cell (cells -1 left out)."""
        return self._group_cell_sums(cell, K, x)[0]

    def _group_cell_sums(self, cell, K: int, x=None, *, plain: bool = True,
                         squares: bool = False) -> list[np.ndarray]:
        """(G x K) sums per group and cell of ``base * x`` (``plain``) and of ``base ** 2``
        (``squares``: what `degf` needs), rows with cell -1 left out. One pass over the rows
        in blocks of `_ROWS`: the blocks' temporaries stay in cache and their memory is
        reused, where whole-column temporaries would be fresh pages (page faults, huge-page
        compaction) on every call at 10M rows. ``np.add.at`` adds in row order, as
        ``bincount`` does (the same sums to the last bit)."""
        G = self.factors.shape[0]
        cell = None if cell is None else np.asarray(cell)
        accs = [np.zeros(G * K) for _ in range(plain + squares)]
        for a in range(0, len(self.groups), _ROWS):
            rows = slice(a, a + _ROWS)
            key = self.groups[rows] if cell is None and K == 1 else self.groups[rows] * K
            b = self.base[rows]
            vals = ([b if x is None else b * x[rows]] if plain else []) + ([b * b] if squares
                                                                        else [])
            if cell is not None:
                c = cell[rows]
                ok = c >= 0
                if not ok.all():
                    c = np.where(ok, c, 0)
                    vals = [np.where(ok, v, 0.0) for v in vals]
                key += c
            for acc, v in zip(accs, vals):
                np.add.at(acc, key, v)
        return [acc.reshape(G, K) for acc in accs]

    def _plain_totals(self, x, cell, K: int) -> np.ndarray:
        """(R x K) totals read straight from the n x R matrix (never a copy of it): one
        matrix-vector product per cell for K <= 3; otherwise, column-major (a DataFrame's
        float block), per block of `_COLUMN_ROWS` rows one ``bincount`` per replicate column
        (the block's codes stay in cache), and row-major one sparse (K x n) one-hot product."""
        W = self.weights
        n, R = W.shape
        if K == 1:  # cells -1 already zeroed in x by _masked
            return (W.sum(0) if x is None else x @ W)[:, None]
        if cell is None:
            cell = np.zeros(n, dtype=np.int64)
        if K <= 3:
            ones = np.ones(n) if x is None else x
            return np.column_stack([np.where(cell == k, ones, 0.0) @ W for k in range(K)])
        if W.flags.c_contiguous:
            from scipy import sparse

            data = np.ones(n) if x is None else np.asarray(x, dtype=float)
            S = sparse.csc_matrix((data, cell, np.arange(n + 1)), shape=(K, n))
            return np.asarray(S @ W).T
        out = np.zeros((R, K))
        for a in range(0, n, _COLUMN_ROWS):
            rows = slice(a, a + _COLUMN_ROWS)
            c, xb = cell[rows], None if x is None else x[rows]
            for r in range(R):
                col = W[rows, r]
                out[r] += np.bincount(c, weights=col if xb is None else col * xb, minlength=K)
        return out

    def var(self, thetas: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """R ``svrVar``: ``thetas`` (R x k) replicate estimates, ``theta`` (k,) full sample."""
        thetas = np.asarray(thetas, dtype=float)
        if thetas.ndim == 1:
            thetas = thetas[:, None]
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        ok = ~np.isnan(thetas).any(axis=1)
        th, rs = thetas[ok], self.rscales[ok]
        if not len(th):
            return np.full((thetas.shape[1], thetas.shape[1]), np.nan)
        centre = theta if self.mse else th[rs > 0].mean(axis=0)
        dev = (th - centre) * np.sqrt(rs)[:, None]
        return self.scale * dev.T @ dev

    def degf(self, rows: np.ndarray | None = None) -> int:
        """R ``degf``: rank of the replicate weights (of ``rows``) minus one.

        Grouped replicates: the singular values of the rows' weights are those of the
        (G x R) factors scaled by each group's root sum of squared weights (the rows of a
        group are orthogonal), so the rank comes from the small matrix. Full column rank is
        settled on a spread subset of 4 R rows when its smallest singular value clears the
        tolerance times the Frobenius norm of all the rows (singular values only grow as rows
        are added, and the largest is at most that norm); otherwise the whole matrix."""
        if self.factors is not None:
            w2 = self.base * self.base
            if rows is not None:
                w2 = np.where(np.asarray(rows, dtype=bool), w2, 0.0)
            return self._grouped_degf(np.bincount(self.groups, weights=w2,
                                                  minlength=len(self.factors)))
        keep = (np.arange(self.weights.shape[0]) if rows is None
                else np.flatnonzero(np.asarray(rows, dtype=bool)))

        def block(i):
            return self.weights[keep[i]]

        return _degf_of(block, len(keep), float(self._row_sq[keep].sum()), self.weights.shape[1])

    def degf_by(self, dom: np.ndarray, D: int) -> np.ndarray:
        """`degf` of the rows of each domain ``dom == d`` (d < D; -1 = in none), from the
        group x domain sums of squared weights (one blocked pass) when the replicates are
        grouped."""
        dom = np.asarray(dom)
        if self.factors is None:
            return np.array([float(self.degf(dom == d)) for d in range(D)])
        norms = self._group_cell_sums(dom, D, plain=False, squares=True)[0]
        return np.array([float(self.degf_from_norms(norms[:, d])) for d in range(D)])

    def degf_from_norms(self, norm2: np.ndarray) -> int:
        """`degf` of the rows whose squared full-sample weights sum to ``norm2`` (G,) per
        group (grouped replicates: see `cell_totals_norms`)."""
        return self._grouped_degf(np.asarray(norm2, dtype=float))

    def _grouped_degf(self, norm2: np.ndarray) -> int:
        """`degf` of the rows whose squared weights sum to ``norm2`` (G,) per group."""
        keep = np.flatnonzero(norm2 > 0)

        def block(i):
            return self.factors[keep[i]] * np.sqrt(norm2[keep[i]])[:, None]

        return _degf_of(block, len(keep), float(norm2[keep] @ self._factor_sq[keep]),
                        self.weights.shape[1])

    @functools.cached_property
    def _row_sq(self) -> np.ndarray:
        return np.einsum("ij,ij->i", self.weights, self.weights)

    @functools.cached_property
    def _factor_sq(self) -> np.ndarray:
        return np.einsum("ij,ij->i", self.factors, self.factors)


def _masked(x, cell):
    """``cell`` as int64 codes >= 0 and ``x`` zero where the cell was -1 (left out)."""
    if cell is not None:
        cell = np.asarray(cell, dtype=np.int64)
        ok = cell >= 0
        if not ok.all():
            x = np.where(ok, 1.0 if x is None else x, 0.0)
            cell = np.where(ok, cell, 0)
    return x, cell


def _degf_of(block, m: int, fro2: float, R: int) -> int:
    """Rank minus one of the (m x R) matrix whose rows ``block(index)`` gives, with squared
    Frobenius norm ``fro2``: full rank proved on 4 R spread rows when possible."""
    if m == 0 or fro2 == 0:
        return 0
    if m > 8 * R:
        s = np.linalg.svd(block(np.unique(np.linspace(0, m - 1, 4 * R).astype(np.int64))),
                          compute_uv=False)
        if len(s) == R and s[-1] > 1.01e-5 * np.sqrt(fro2):
            return R - 1
    return max(_rank(block(slice(None))) - 1, 0)


def _rank(W: np.ndarray, tol: float = 1e-5) -> int:
    """Number of singular values of ``W`` above ``tol`` times the largest (0 if all zero).

    Tall matrices: eigenvalues of ``W'W`` (one symmetric product over the rows); the SVD of
    ``W`` itself only when an eigenvalue falls near the threshold, where the squared
    condition could misjudge it."""
    if W.shape[0] > 4 * W.shape[1]:
        ev = np.linalg.eigvalsh(W.T @ W)
        top = ev[-1]
        if top <= 0:
            return 0
        ratio = ev / top
        t2 = tol * tol
        if not ((ratio > t2 * 1e-3) & (ratio < t2 * 1e3)).any():
            return int((ratio > t2).sum())
    s = np.linalg.svd(W, compute_uv=False)
    return int((s > tol * s[0]).sum()) if len(s) and s[0] > 0 else 0


def _columns(df: pd.DataFrame, replicate_weights) -> tuple[str, ...]:
    if isinstance(replicate_weights, str):
        try:
            rx = re.compile(replicate_weights)
        except re.error as exc:
            raise AnalysisError(f"replicate_weights={replicate_weights!r} is not a valid regular "
                                f"expression ({exc})") from exc
        cols = tuple(str(c) for c in df.columns if rx.search(str(c)))
        if not cols:
            raise AnalysisError(
                f"replicate_weights={replicate_weights!r} matches no column; columns are "
                f"{list(df.columns)[:12]}. Hint: give a regular expression such as 'repwt[0-9]+' "
                "or a list of column names")
        return cols
    cols = tuple(replicate_weights)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise AnalysisError(f"replicate weight columns {missing[:5]} are not in the data")
    if len(cols) < 2:
        raise AnalysisError("a replicate design needs at least two replicate weight columns")
    return cols


def replicate_spec(df: pd.DataFrame, replicate_weights, *, type: str | None, rho=None,
                   scale=None, rscales=None, mse=None, combined_weights: bool = True
                   ) -> ReplicateSpec:
    """Validate ``Survey.from_frame``'s replicate arguments and fill R's defaults."""
    if type not in REPLICATE_TYPES:
        raise AnalysisError(f"replicate_type must be one of {', '.join(REPLICATE_TYPES)}; got "
                            f"{type!r}")
    cols = _columns(df, replicate_weights)
    R = len(cols)
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any() or (v < 0).any():
            bad = int((v.isna() | (v < 0)).to_numpy().argmax())
            raise AnalysisError(f"replicate weight column '{c}' must hold non-negative numbers; "
                                f"row {bad} holds {df[c].iloc[bad]!r}")
    if rscales is not None:
        rs = np.atleast_1d(np.asarray(rscales, dtype=float))
        if len(rs) == 1:
            rs = np.repeat(rs, R)
        if len(rs) != R:
            raise AnalysisError(f"rscales has {len(rs)} values but there are {R} replicate "
                                "weight columns (one per replicate)")
    else:
        rs = None
    if type == "Fay" and rho is None:
        raise AnalysisError("replicate_type='Fay' needs rho= (Fay's coefficient, e.g. 0.5)")
    if type in ("BRR", "Fay", "SDR", "ACS") and scale is not None:
        raise AnalysisError(f"replicate_type={type!r} fixes scale (R svrepdesign); drop scale= "
                            "or use replicate_type='other'")
    if type == "BRR":
        scale = 1.0 / R
    elif type == "Fay":
        if not 0 <= rho < 1:
            raise AnalysisError(f"rho must be in [0, 1); got {rho!r}")
        scale = 1.0 / (R * (1 - rho) ** 2)
    elif type in ("SDR", "ACS"):
        scale = 4.0 / R
        if type == "ACS" and mse is None:
            mse = True
    elif type == "bootstrap" and scale is None:
        scale = 1.0 / (R - 1)
    elif type == "JK1" and scale is None:
        scale = (R - 1) / R
    elif type == "JKn":
        if rs is None:
            raise AnalysisError("replicate_type='JKn' needs rscales= ((n_h - 1)/n_h of the "
                                "stratum each replicate drops a PSU from), as R svrepdesign")
        if scale is None:
            scale = 1.0
    elif type == "other" and (scale is None or rs is None):
        raise AnalysisError("replicate_type='other' needs both scale= and rscales=")
    if rs is None:
        rs = np.ones(R)
    return ReplicateSpec(columns=cols, type=type, scale=float(scale), rscales=tuple(rs.tolist()),
                         mse=bool(mse) if mse is not None else False, rho=rho,
                         combined_weights=combined_weights)


def build_replicates(data: pd.DataFrame, spec: ReplicateSpec, weights: np.ndarray) -> Replicates:
    block = data[list(spec.columns)]
    if not all(dt == np.float64 for dt in block.dtypes):
        block = block.apply(pd.to_numeric)
    W = block.to_numpy(dtype=float)  # (n x R); no copy when the frame holds one float block
    if not spec.combined_weights:
        W = W * weights[:, None]
    found = find_groups(W, weights)
    extra = {} if found is None else dict(groups=found[0], factors=found[1], base=weights)
    return Replicates(weights=W, scale=spec.scale, rscales=np.asarray(spec.rscales, dtype=float),
                      mse=spec.mse, type=spec.type, **extra)


_ROWS = 1 << 16  # rows per block of a blocked pass over the rows (temporaries of 512 kB)
_COLUMN_ROWS = 1 << 18  # rows per block of the per-column bincounts (codes of 2 MB, reused)
_GROUP_TOL = 1e-14  # relative: a few units in the last place of each replicate weight
_BLOCK = 2048  # rows per block when checking the n x R matrix (temporaries stay in cache)


def find_groups(W: np.ndarray, w: np.ndarray, *, seed: int = 20261203
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """Rows whose replicate weights are their full-sample weight times a shared factor row.

    Returns ``(groups, factors)`` with ``W[i] == w[i] * factors[groups[i]]`` to a relative
    ``1e-14`` for every row and column (checked), or ``None`` when the rows do not group
    into at most n / 4 factor rows (replicate weights re-calibrated row by row, say) or
    the check fails. Rows with ``w == 0`` must have all-zero replicate weights (they add
    nothing). Candidate groups: equal values of ``(W_i . p) / w_i`` for a random positive
    ``p`` (one matrix-vector product), compared with the last 8 bits of the mantissa dropped
    so that rounding in the last place does not split a group (a value near a cut may
    still do so: the group then has two codes, which is harmless). A second random ``p`` is
    tried once if two different rows collided.
    """
    n, R = W.shape
    w = np.asarray(w, dtype=float)
    if n < 4 * R or len(w) != n or not (w >= 0).all():
        return None
    at = np.flatnonzero(w > 0)
    if not len(at) or (len(at) < n and (W[w <= 0] != 0).any()):
        return None
    for attempt in range(2):
        probe = np.random.default_rng(seed + attempt).uniform(1.0, 2.0, R)
        h = (W[at] @ probe if len(at) < n else W @ probe) / w[at]
        codes, uniq = pd.factorize(h.view(np.int64) >> 8)
        if len(uniq) > n // 4:
            return None
        # codes number the groups in order of first appearance: first rows where the max grows
        first = at[np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)]
        factors = np.ascontiguousarray(W[first] / w[first, None])
        groups = np.zeros(n, dtype=np.int64)  # rows with w == 0 (all-zero W) in group 0
        groups[at] = codes
        if _factors_match(W, w, groups, factors):
            return groups, factors
    return None


def _factors_match(W: np.ndarray, w: np.ndarray, groups: np.ndarray, factors: np.ndarray) -> bool:
    """``W[i] == w[i] * factors[groups[i]]`` to ``_GROUP_TOL`` (relative) for every row,
    block by block in the memory order of ``W`` (columns of a DataFrame are column-major)."""
    cols = W.flags.f_contiguous and not W.flags.c_contiguous
    Wt, Ft = (W.T, np.ascontiguousarray(factors.T)) if cols else (W, factors)
    for a in range(0, len(w), _BLOCK):
        b = min(len(w), a + _BLOCK)
        if cols:  # (R x block), contiguous along the rows
            Wb, rec = Wt[:, a:b], Ft[:, groups[a:b]] * w[a:b]
        else:
            Wb, rec = Wt[a:b], Ft[groups[a:b]] * w[a:b, None]
        err = np.abs(Wb - rec)
        if not (err <= _GROUP_TOL * Wb).all():  # W >= 0; NaN fails too
            return False
    return True


# --------------------------------------------------------------------------------------------
def as_replicate(survey, type: str = "JK1", *, replicates: int = 50, seed: int | None = None,
                 mse: bool = False, rho: float | None = None, hadamard=None):
    """A replicate-weight version of a Taylor design (R ``as.svrepdesign``).

    ``type``: ``JK1`` (one replicate per PSU, the rest reweighted by n/(n-1); unstratified
    designs; scale ``(n - 1)/n`` times the fpc ``(N - n)/N``), ``JKn`` (one replicate per PSU,
    reweighted by n_h/(n_h - 1) within its stratum; rscales ``(n_h - 1)/n_h`` times the
    stratum's fpc), ``bootstrap`` (Rao-Wu rescaled bootstrap, ``replicates`` resamples of
    n_h - 1 PSUs per stratum, seeded: not R's random numbers, so only the method matches R),
    ``BRR`` and ``Fay`` (``rho=``; exactly two PSUs per stratum, R ``brrweights``): replicate r
    takes, in stratum h (strata in R's sorted order), the PSU chosen by row h + 1 of a 0/1
    Hadamard matrix (column r) with multiplier ``2 - rho`` and the other with ``rho`` (BRR:
    rho = 0); scale ``1 / (R (1 - rho)^2)``. ``hadamard=``: the 0/1 (or -1/+1) matrix, read as
    R ``brrweights(hadamard.matrix = )`` reads it (the first value in column-major order means
    0; at least #strata + 1 rows; R = its number of columns) - pass R's ``hadamard(n)`` or
    ``paley(p)`` (``survey.core._hadamard.paley`` is R's construction) to get R's half-samples
    exactly. Without it the matrix is Sylvester's, of order the smallest power of two above
    the number of strata: R's ``hadamard()`` takes several sizes from matrices stored in its
    binary package data, so for non-linear statistics (means, ratios) its half-samples - and
    SEs - can differ; linear statistics (totals) get the same variance with any Hadamard
    matrix, and the notes say which matrix was used. A design with an fpc is refused for
    BRR/Fay (R drops the fpc with a warning).
    Calibrated (raked, post-stratified) Surveys are refused: calibrate the replicate design.

    >>> import pandas as pd, survey as sv
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4], "c": [1, 1, 2, 3], "w": [2.0, 2, 2, 2]})
    >>> r = as_replicate(sv.Survey.from_frame(df, weight="w", psu="c"), "JK1")
    >>> r.design.replicates.type, len(r.design.replicates.columns)
    ('JK1', 3)
    """
    from .design import Design
    from .survey import as_survey

    s = as_survey(survey)
    if s.design.replicates is not None:
        raise AnalysisError("as_replicate: the Survey already has replicate weights")
    if s.calibration:
        raise AnalysisError("as_replicate: the Survey is calibrated (raked or post-stratified); "
                            "build the replicate design first, then calibrate it")
    d = Design.from_survey(s)
    if len(d.stages) > 1:
        raise AnalysisError("as_replicate: only the first stage is replicated (R does the same "
                            "for JK1/JKn); drop the later stages' psu/fpc columns first")
    st = d.stages[0]
    psu, w = d.psu, d.weights
    f = 1.0 - st.ratio  # per PSU: (N - n)/N (1 without fpc)
    C = len(st.stratum)
    if type == "JK1":
        if d.n_strata > 1:
            raise AnalysisError("as_replicate: JK1 is for unstratified designs; use type='JKn'")
        n = C
        M = np.full((len(w), n), n / (n - 1))
        M[np.arange(len(w)), psu] = 0.0
        scale, rscales = float(f[0]) * (n - 1) / n, np.ones(n)
    elif type == "JKn":
        M, rscales, scale = _jkn_multipliers(d, f)
    elif type == "bootstrap":
        rng = np.random.default_rng(seed)
        nh = np.bincount(st.stratum, minlength=d.n_strata)
        if (nh < 2).any():
            raise AnalysisError("as_replicate: the bootstrap needs two PSUs per stratum")
        M = np.empty((len(w), replicates))
        for r in range(replicates):
            mult = np.empty(C)
            for h in range(d.n_strata):
                ps = np.flatnonzero(st.stratum == h)
                draws = np.bincount(rng.integers(0, len(ps), size=nh[h] - 1), minlength=len(ps))
                mult[ps] = draws * nh[h] / (nh[h] - 1)
            M[:, r] = mult[psu]
        scale, rscales = 1.0 / (replicates - 1), np.ones(replicates)
    elif type in ("BRR", "Fay"):
        rho = _fay_rho(type, rho)
        if d.fpc is not None:
            raise AnalysisError(f"as_replicate: {type} has no finite population correction (R "
                                "drops the fpc with a warning); drop fpc= or use type='JKn'")
        M = _brr_multipliers(d, rho, hadamard)[st.row_cluster]
        scale, rscales = 1.0 / (M.shape[1] * (1 - rho) ** 2), np.ones(M.shape[1])
    else:
        raise AnalysisError("as_replicate: type must be JK1, JKn, BRR, Fay or bootstrap; got "
                            f"{type!r}")
    if hadamard is not None and type not in ("BRR", "Fay"):
        raise AnalysisError(f"as_replicate: hadamard= is for type='BRR' or 'Fay'; got {type!r}")
    if rho is not None and type not in ("BRR", "Fay"):
        raise AnalysisError(f"as_replicate: rho= is Fay's coefficient; type={type!r} takes none")
    R = M.shape[1]
    names = [f"_repw{i + 1}" for i in range(R)]
    rep = pd.DataFrame(M * w[:, None], columns=names, index=s.data.index)
    data = pd.concat([s.data, rep], axis=1)
    weight = s.weight
    if weight is None:
        weight = "_design_weight"
        data[weight] = w
    spec = ReplicateSpec(columns=tuple(names), type=type, scale=float(scale),
                         rscales=tuple(float(x) for x in rscales), mse=mse,
                         rho=rho if type == "Fay" else None,
                         hadamard=None if type not in ("BRR", "Fay") else (
                             f"Sylvester, order {R} (R's hadamard() may pick another matrix: "
                             "the same SEs for totals, possibly others for ratios)"
                             if hadamard is None else f"user-supplied, order {R}"))
    new = dataclasses.replace(s.design, strata=None, psu=(), fpc=(), nest=False,
                              replicates=spec)
    return s.replace(data=data, weight=weight, design=new)


def _jkn_multipliers(d, f: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(rows x R) JKn multipliers, rscales and scale as R ``jknweights``: per stratum one
    replicate per PSU dropping it (the stratum's others x n_h/(n_h - 1)), rscale
    (n_h - 1)/n_h times the fpc (N - n)/N. A fully sampled stratum (fpc 0) gets no replicate
    (R's ``survey.drop.replicates``). A stratum with one PSU follows the design's
    ``lonely_psu``: fail refuses; remove, certainty and average give it no replicate (average
    then scales the variance by #PSU / #replicates); adjust gives one replicate that drops
    it and weights every other PSU by H/(H - 1) (H strata), rscale (H - 1)/H."""
    st = d.stages[0]
    H = d.n_strata
    nh = np.bincount(st.stratum, minlength=H)
    cols, rscales = [], []
    for h in range(H):
        members = np.flatnonzero(st.stratum == h)
        fh = float(f[members[0]])
        if fh == 0:
            continue
        if nh[h] == 1:
            label = d.strata_labels[h] if d.strata_labels else h
            if d.lonely_psu == "adjust":
                m = np.full(len(st.stratum), H / (H - 1))
                m[members] = 0.0
                cols.append(m)
                rscales.append((H - 1) / H)
            elif d.lonely_psu not in ("remove", "certainty", "average"):
                raise AnalysisError(
                    f"as_replicate: JKn: stratum {label!r} has one PSU. Hint: set lonely_psu= "
                    "('remove', 'certainty', 'average' or 'adjust', as R's survey.lonely.psu) "
                    "or merge the stratum with a neighbour")
            continue
        for c in members:
            m = np.ones(len(st.stratum))
            m[members] = nh[h] / (nh[h] - 1)
            m[c] = 0.0
            cols.append(m)
            rscales.append((nh[h] - 1) / nh[h] * fh)
    if not cols:
        raise AnalysisError("as_replicate: JKn: every stratum was sampled exhaustively (or has "
                            "one PSU removed): there is no sampling variance to replicate")
    scale = len(st.stratum) / len(cols) if (d.lonely_psu == "average"
                                           and len(cols) < len(st.stratum)) else 1.0
    return np.column_stack(cols)[st.row_cluster], np.asarray(rscales), float(scale)


def _fay_rho(type: str, rho) -> float:
    if type == "BRR":
        if rho not in (None, 0):
            raise AnalysisError("as_replicate: type='BRR' has rho = 0; use type='Fay' with rho=")
        return 0.0
    if rho is None or not 0 < float(rho) < 1:
        raise AnalysisError(f"as_replicate: type='Fay' needs rho= in (0, 1) (e.g. 0.5); got {rho!r}")
    return float(rho)


def sylvester_hadamard(order: int) -> np.ndarray:
    """The Sylvester Hadamard matrix of ``order`` (a power of two) in 0/1 form (1 = +1)."""
    from ._hadamard import sylvester

    return sylvester(order)


def _brr_multipliers(d, rho: float, hadamard=None) -> np.ndarray:
    """(PSUs x R) BRR/Fay multipliers as R ``brrweights``: strata sorted as text, the PSUs
    of a stratum in order of first appearance; row h + 1 of the Hadamard matrix picks, per
    replicate, which PSU of stratum h is kept (multiplier 2 - rho; the other rho)."""
    st = d.stages[0]
    C, H = len(st.stratum), st.n_strata
    nh = np.bincount(st.stratum, minlength=H)
    if (nh != 2).any():
        bad = int(np.flatnonzero(nh != 2)[0])
        label = d.strata_labels[bad] if d.strata_labels else bad
        raise AnalysisError(
            f"as_replicate: BRR/Fay need exactly two PSUs per stratum; stratum {label!r} has "
            f"{int(nh[bad])}. Hint: use type='JKn' or 'bootstrap', or pair the PSUs into "
            "strata of two first.")
    labels = [str(x) for x in d.strata_labels] if d.strata_labels else [str(h) for h in range(H)]
    rank = np.empty(H, dtype=np.int64)
    rank[sorted(range(H), key=lambda h: labels[h])] = np.arange(H)
    first = np.full(C, len(st.row_cluster))
    np.minimum.at(first, st.row_cluster, np.arange(len(st.row_cluster)))
    order = np.lexsort((first, st.stratum))  # PSUs by stratum, then first appearance
    is_second = np.zeros(C, dtype=bool)
    is_second[order[1::2]] = True
    if hadamard is None:
        Had = sylvester_hadamard(1 << int(H).bit_length())  # the smallest power of two > H
    else:
        from ._hadamard import brr_matrix

        Had = brr_matrix(hadamard, H)
    pick_first = Had[1 + rank[st.stratum]] == 1  # (PSUs x R): row h + 1 == 1 keeps the first
    keep = np.where(is_second[:, None], ~pick_first, pick_first)
    return np.where(keep, 2.0 - rho, rho)
