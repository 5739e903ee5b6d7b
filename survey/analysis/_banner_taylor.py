"""Design-based banner letters on a one-stage Taylor design, from PSU x cell totals.

The letters compare column proportions p_rj = A_rj / S_j of a row ``r`` (a category, or a
net of categories) across the columns ``j`` of one banner variable. Their covariance is the
design variance of the linearised scores ``Z_urj = (A_urj - p_rj B_uj) / S_j`` summed over
the sampling units ``u`` (A: the row's weighted total in the unit and column, B: the
column's), as R's ``svyby(~I(row == k), ~by, design, svymean, covmat=TRUE)``: ``V_r =
sum_h s_h sum_(u in h) (Z_ur - Zbar_hr)(Z_ur - Zbar_hr)'`` with ``s_h = (1 - f_h) n_h /
(n_h - 1)``.

Everything here comes from the unit x category x column totals ``T`` of one question and
one banner variable (the units numbered grouped by stratum, so every stratum is a
contiguous block): one scatter of the rows' weights (``np.add.at`` into a reused table, the
int64 keys built a cache-sized chunk of rows at a time), then the scores ``Z`` in place and
each row's kb x kb cross-products by matrix-vector products over the units. When no
stratum is sampled completely the weights are scaled by ``sqrt(s_h)`` once per design
(:func:`scaled_weights`), so the totals are born scaled and the stratum centring is a
kb x kb correction (:func:`_scaled_row_covs`); otherwise each stratum block is centred and
scaled (:func:`_row_covs`). The cost is one pass over the rows per question x banner
variable (reading the 1-byte codes, 4-byte column keys and the weights) plus a few over
the 50,000 x k x kb table. :func:`unit_totals` is the sufficient statistic on its own, the
seam at which a partitioned (Dask) backend can add the totals of its partitions before the
variance (:func:`covs_from_totals`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import weakref

import numpy as np

#: Rows per chunk of the scatter: its int64 keys (1 MiB) stay in the L2 cache.
CHUNK = 1 << 17

__all__ = ["UnitLayout", "unit_layout", "unit_totals", "covs_from_totals", "prop_covs",
           "scaled_weights", "design_scaled_weights"]


@dataclasses.dataclass(frozen=True)
class UnitLayout:
    """The sampling units of a one-stage design, renumbered grouped by stratum.

    ``unit`` (n,): each row's unit; ``starts`` / ``counts``: the block of every non-empty
    stratum among the units; ``sqrt_scale``: per such stratum, ``sqrt(s_h)`` (0 for a
    stratum sampled completely); ``n_units``: number of units.
    """

    unit: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    sqrt_scale: np.ndarray
    n_units: int


#: Per design (held weakly: dropped with the design), its :class:`UnitLayout` or ``None``
#: and the scaled weights: a banner asked again of the same design reuses them.
_LAYOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def unit_layout(design) -> UnitLayout | None:
    """The :class:`UnitLayout` of a Taylor design with one stage of clusters, or ``None``
    when the fast path does not apply (replicate weights, calibration, several stages, rows
    as units, a lonely PSU, or a variance factor that varies within a stratum): the caller
    then uses the general ``Design.vcov_units`` path. Computed once per design."""
    try:
        return _LAYOUTS[design][0]
    except (KeyError, TypeError):
        pass
    ul = _unit_layout(design)
    with contextlib.suppress(TypeError):
        _LAYOUTS[design] = (ul, {})
    return ul


def design_scaled_weights(design, ul: UnitLayout) -> np.ndarray | None:
    """:func:`scaled_weights` of the design's weights, computed once per design."""
    return _per_design(design, "ws",
                       lambda: scaled_weights(ul, np.asarray(design.weights, dtype=float)))


def design_unit_order(design, ul: UnitLayout):
    """:func:`._banner_fused.unit_order` of the design's units, computed once per design."""
    from ._banner_fused import unit_order

    return _per_design(design, "order", lambda: unit_order(ul.unit, ul.n_units))


def _per_design(design, key: str, compute):
    """``compute()``, kept beside the design's :class:`UnitLayout` (computed again when the
    design holds none)."""
    try:
        memo = _LAYOUTS[design][1]
    except (KeyError, TypeError):
        memo = {}
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _unit_layout(design) -> UnitLayout | None:
    if (design.replicate is not None or design.calibration or len(design.stages) != 1
            or design._rows_are_units or design.has_lonely):
        return None
    st = design.stages[0]
    scale = np.asarray(st.scale, dtype=float).copy()
    scale[np.asarray(st.zero_stratum)[st.stratum]] = 0.0
    order = np.argsort(st.stratum, kind="stable")
    n_units = int(order.size)
    rank = np.empty(n_units, dtype=np.int32 if n_units < 2**31 else np.int64)
    rank[order] = np.arange(n_units)  # int32: the row -> unit map is 4 bytes a row
    counts = np.bincount(st.stratum, minlength=st.n_strata)
    counts = counts[counts > 0]
    starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
    s_sorted = scale[order]
    first = s_sorted[starts]
    if not np.array_equal(np.repeat(first, counts), s_sorted):
        return None
    return UnitLayout(rank[np.asarray(st.row_cluster)], starts, counts, np.sqrt(first),
                      n_units)


def unit_totals(unit: np.ndarray, n_units: int, codes: np.ndarray, k: int,
                by_codes: np.ndarray, kb: int, w: np.ndarray) -> np.ndarray:
    """Weighted totals of every category x column x unit: ``(k, kb, n_units)``.

    ``codes`` (0..k-1) and ``by_codes`` (0..kb-1) are -1 where a row is left out (missing,
    or outside a domain): such rows weigh nothing. Totals of row subsets (partitions) add up
    to the totals of their union.
    """
    unit = np.asarray(unit, dtype=np.int64)
    T = _totals(_category_key(codes, k), n_units, k, shift_codes(by_codes, unit, n_units),
                kb, w)
    return np.ascontiguousarray(T[T.shape[0] - k:, T.shape[1] - kb:])


def shift_codes(by_codes: np.ndarray, unit: np.ndarray, n_units: int):
    """A banner variable's part of the row keys: ``(code + eb) * n_units + unit`` (int32 when
    it fits, else int64), ``eb`` = 1 when some codes are -1 (left-out rows then fall in
    column 0), and ``eb``."""
    eb = int(bool((by_codes < 0).any()))
    top = (int(by_codes.max(initial=0)) + eb + 1) * n_units
    key = by_codes.astype(np.int32 if top < 2**31 else np.int64)
    if eb:
        key += 1
    key *= n_units
    key += unit
    return key, eb


def _category_key(codes: np.ndarray, k: int, eq: int | None = None):
    """The question's part of the row keys: its codes, and ``eq`` (1 when some are -1: the
    left-out rows then fall in category 0; computed unless given)."""
    return codes, int(bool((codes < 0).any())) if eq is None else int(eq)


def _totals(qkey, n_units, k, by, kb, w, buf=None, out=None) -> np.ndarray:
    """``(k + eq, kb + eb, n_units)`` totals; category / column 0 collect the left-out rows
    when there are any (``eq`` / ``eb`` = 1), so no row needs to be filtered out. Each
    category x column is a contiguous slab of units. ``buf``: scratch int64 row keys (any
    length: the rows go through it ``len(buf)`` at a time); ``out``: scratch float64 totals
    (at least the size of the result), overwritten."""
    (c, eq), (jkey, eb) = qkey, by
    ke, kbe = k + eq, kb + eb
    stride = kbe * n_units
    size = ke * kbe * n_units
    n = np.shape(c)[0]
    buf = np.empty(min(n, CHUNK), dtype=np.int64) if buf is None else buf
    T = np.zeros(size) if out is None else out[:size]
    if out is not None:  # a reused buffer: no fresh pages to fault in for every question
        T.fill(0.0)
    # key = (code + eq) * stride + jkey, a chunk of rows at a time so the int64 keys stay
    # in cache: from memory only the 1-byte codes, the 4-byte jkey and the weights are read
    # (int64 keys because ``add.at`` is ~40% slower on int32 ones; widening the codes with
    # copyto then multiplying in place is ~3x faster than a multiply that casts)
    step = buf.size
    for a in range(0, n, step):
        z = min(a + step, n)
        key = buf[:z - a]
        np.copyto(key, c[a:z], casting="unsafe")
        if eq:
            key += 1
        key *= stride
        key += jkey[a:z]
        np.add.at(T, key, w[a:z])
    return T.reshape(ke, kbe, n_units)


def covs_from_totals(ul: UnitLayout, T: np.ndarray, M: np.ndarray) -> np.ndarray:
    """The (rows, kb, kb) covariance of the column proportions of the rows ``M`` (rows x k)
    from unit totals ``T`` (k, kb, units) numbered as ``ul.unit`` numbers them, e.g. the
    sum of :func:`unit_totals` over the partitions of the data. ``T`` is overwritten."""
    k, kb = T.shape[:2]
    single = bool((M.sum(1) == 1).all())
    cols = M.argmax(1)
    plain = single and M.shape[0] == k and bool((cols == np.arange(k)).all())
    return _row_covs(ul, T, k, kb, M, plain, single, cols)


def scaled_weights(ul: UnitLayout, w: np.ndarray) -> np.ndarray | None:
    """Each row's weight times ``sqrt(s_h)`` of its stratum (one pass, once per banner), or
    ``None`` when a stratum is sampled completely (``s_h`` = 0: its rows must still count
    in the proportions, so :func:`prop_covs` then scales the unit totals instead)."""
    if not (ul.sqrt_scale > 0).all():
        return None
    ws = np.take(np.repeat(ul.sqrt_scale, ul.counts), ul.unit)  # no row-sized temporary
    ws *= w
    return ws


def prop_covs(ul: UnitLayout, w: np.ndarray, codes: np.ndarray, k: int,
              by: list, M: np.ndarray, scratch: dict | None = None, *,
              ws: np.ndarray | None = None, eq: int | None = None) -> list[np.ndarray]:
    """Per banner variable, the (rows, kb, kb) covariance of the column proportions of the
    rows ``M`` (rows x k membership of the question's categories) of one question.

    ``by``: per banner variable ``(shift_codes(codes, ul.unit, ul.n_units), kb)``;
    ``scratch``: a dict kept across the questions of one banner for the reused buffers;
    ``ws``: :func:`scaled_weights` of ``w`` (computed once per banner): the unit totals are
    then born scaled and the stratum centring is done on the small cross-products
    (:func:`_scaled_row_covs`) instead of on every unit total; ``eq``: whether some codes
    are -1 (1) or none (0), when the caller knows it.
    """
    qkey = _category_key(codes, k, eq)
    scratch = {} if scratch is None else scratch
    n = np.shape(codes)[0]
    size = (k + qkey[1]) * max(kb + jb[1] for jb, kb in by) * ul.n_units
    if scratch.get("key") is None:
        scratch["key"] = np.empty(max(1, min(n, CHUNK)), dtype=np.int64)
    if scratch.get("T") is None or scratch["T"].size < size:
        scratch["T"] = np.empty(size)
    buf, out = scratch["key"], scratch["T"]
    single = bool((M.sum(1) == 1).all())
    cols = M.argmax(1)
    plain = single and M.shape[0] == k and bool((cols == np.arange(k)).all())
    if ws is None:
        return [_row_covs(ul, _totals(qkey, ul.n_units, k, jb, kb, w, buf, out), k, kb, M,
                          plain, single, cols) for jb, kb in by]
    return [_scaled_row_covs(ul, _totals(qkey, ul.n_units, k, jb, kb, ws, buf, out), k, kb,
                             M, plain, single, cols) for jb, kb in by]


def _scaled_row_covs(ul, T, k, kb, M, plain, single, cols) -> np.ndarray:
    """:func:`_row_covs` from totals of the scaled weights (``T_u`` = ``sqrt(s_h) A_u``).

    With ``Z_u = sqrt(s_h) (A_u - p B_u)`` and its stratum sums ``z_h``, ``V = sum_u Z_u
    Z_u' - sum_h z_h z_h' / n_h`` (the stratum centring moved onto the kb x kb products).
    The scores' grand total is 0 by construction (p = A / B), so the correction stays of
    the order of the between-strata spread and loses no significant digits in practice
    (tested against the centred path to 1e-10). ``T`` is overwritten by the scores.
    """
    ke, kbe, U = T.shape
    eq, eb = ke - k, kbe - kb
    T2 = T.reshape(ke * kbe, U)
    sums = np.add.reduceat(T2, ul.starts, axis=1).reshape(ke, kbe, -1)[eq:, eb:]  # (k, kb, H)
    tot = (sums / ul.sqrt_scale).sum(2)  # unscaled totals (every s_h > 0 here)
    S = tot.sum(0)
    P = (M @ tot) / S  # (rows, kb)
    D = T[eq:, eb:]
    Z = _scores(D, M, P, plain, single, cols)
    zs = np.tensordot(M, sums, axes=1) - P[:, :, None] * sums.sum(0)  # (rows, kb, H)
    V = _grams(Z) - np.einsum("rih,rjh->rij", zs / ul.counts, zs)
    return V / np.outer(S, S)


def _row_covs(ul, T, k, kb, M, plain, single, cols) -> np.ndarray:
    """The rows' covariances from the totals ``T`` (overwritten: centred, scaled, then the
    scores ``Z``); no temporary as large as ``T`` except the rows of a net."""
    ke, kbe, U = T.shape
    eq, eb = ke - k, kbe - kb
    T2 = T.reshape(ke * kbe, U)
    sums = np.add.reduceat(T2, ul.starts, axis=1)  # (cells, strata)
    tot = sums.sum(1).reshape(ke, kbe)[eq:, eb:]
    S = tot.sum(0)
    P = (M @ tot) / S  # (rows, kb)
    means = sums / ul.counts
    for h, (a, n) in enumerate(zip(ul.starts.tolist(), ul.counts.tolist())):
        blk = T2[:, a:a + n]
        blk -= means[:, h:h + 1]
        blk *= ul.sqrt_scale[h]
    D = T[eq:, eb:]  # (k, kb, U), centred and scaled
    Z = _scores(D, M, P, plain, single, cols)
    return _grams(Z) / np.outer(S, S)


def _scores(D, M, P, plain, single, cols) -> np.ndarray:
    """The rows' scores ``Z_r = A_r - p_r B`` (rows, kb, units) from the category totals
    ``D`` (k, kb, units), ``B`` = their sum; in place in ``D`` when the rows are the
    categories in order (a copy only for the rows of a net)."""
    B = D.sum(0)  # (kb, U)
    if plain:
        Z = D
    else:
        Z = D[cols] if single else np.tensordot(M, D, axes=1)
    tmp = np.empty_like(B)
    for r in range(Z.shape[0]):
        np.multiply(B, P[r][:, None], out=tmp)
        Z[r] -= tmp
    return Z


def _grams(Z: np.ndarray) -> np.ndarray:
    """``Z[r] @ Z[r].T`` for every ``r`` of ``Z`` (rows, kb, units): per row and column
    ``i`` one matrix-vector product ``Z[r, i:] @ Z[r, i]`` over the units, mirrored. With
    a handful of columns and tens of thousands of units this is ~3x faster than a batched
    ``matmul`` (BLAS's small-matrix kernels handle kb x kb outputs poorly)."""
    R, kb, _ = Z.shape
    V = np.empty((R, kb, kb))
    for r in range(R):
        Zr = Z[r]
        for i in range(kb):
            V[r, i, i:] = Zr[i:] @ Zr[i]
    below, above = np.tril_indices(kb, -1)  # (row, column) under the diagonal
    V[:, below, above] = V[:, above, below]
    return V
