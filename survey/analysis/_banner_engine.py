"""Counting and testing engine of :func:`survey.analysis.banner.banner` (private).

The hot path. Every banner column (Total, then each category of each ``by`` variable) is a
union of *joint banner cells*: the joint cell of a row is the mixed-radix number formed by
the codes of all ``by`` variables (missing = digit 0). It is computed once per banner. Each
question then needs one ``numpy.bincount`` over ``code * n_joint + joint`` (in row chunks, so
the int64 temporaries stay in cache); the (k x n_joint) tables of all questions are then
summed into the (k x n_columns) banner in one step. No ``pandas.crosstab``, no Python loop
over rows or cells. See ``research/performance.md`` §2-3 for the measurements behind this.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

CHUNK = 1 << 16  # rows per chunk: int64 temporaries of 512 KiB stay in L2
MAX_JOINT = 200_000  # above this many joint cells, count each by variable separately
SMALL = 4096  # up to this many rows: all questions x banner memberships in one bincount
SMALL_TEMP = 1 << 15  # elements per temporary array of the small-data path
THREADS = max(1, min(2, os.cpu_count() or 1))  # count_stacked: questions on two threads
THREADED_ROWS = 200_000  # ... from this many rows


@dataclasses.dataclass(frozen=True)
class Layout:
    """The columns of a banner and how rows map to them."""

    col_by: np.ndarray  # (n_cols,) index of the by variable, -1 for Total
    col_cat: np.ndarray  # (n_cols,) category index within its by variable, -1 for Total
    joint: np.ndarray | None  # (N,) int32 joint cell of each row (None: per-by fallback)
    n_joint: int
    by_codes: tuple[np.ndarray, ...]  # per by variable: int codes (-1 missing)
    by_sizes: tuple[int, ...]

    @property
    def n_cols(self) -> int:
        return len(self.col_by)


def make_layout(by_codes: list[np.ndarray], by_sizes: list[int], n: int) -> Layout:
    """Columns Total + every category of every by variable; the joint cell of every row."""
    col_by = [-1]
    col_cat = [-1]
    for b, k in enumerate(by_sizes):
        col_by += [b] * k
        col_cat += list(range(k))
    col_by_a = np.asarray(col_by, dtype=np.int64)
    col_cat_a = np.asarray(col_cat, dtype=np.int64)
    radix = [k + 1 for k in by_sizes]
    n_joint = int(np.prod(radix)) if radix else 1
    if n_joint > MAX_JOINT:
        return Layout(col_by_a, col_cat_a, None, n_joint, tuple(by_codes), tuple(by_sizes))
    joint = np.zeros(n, dtype=np.int32)  # n_joint <= MAX_JOINT: 4 bytes a row
    stride = 1
    for codes, r in zip(by_codes, radix):
        joint += (codes.astype(np.int32) + 1) * stride
        stride *= r
    return Layout(col_by_a, col_cat_a, joint, n_joint, tuple(by_codes), tuple(by_sizes))


@dataclasses.dataclass(frozen=True)
class Counts:
    """Counts of one coded variable in every banner column.

    ``nw`` (k + 1, n_cols): sums of weights; row 0 the rows where the variable is missing,
    rows 1..k its categories. ``n``: the same, unweighted (``None`` when not asked for).
    ``w2`` (n_cols,): sum of squared weights over the answering rows (Kish's effective base);
    ``n_base`` (n_cols,): unweighted number of answering rows.
    """

    n: np.ndarray | None
    nw: np.ndarray
    w2: np.ndarray
    n_base: np.ndarray


@dataclasses.dataclass(frozen=True)
class Stacked:
    """Counts of many coded variables, stacked: item ``i`` owns rows
    ``offs[i] .. offs[i] + k_i`` of ``nw`` / ``n`` (row ``offs[i]`` = its missing rows).

    ``nw`` (sum of k + 1, n_cols): sums of weights; ``n`` the same unweighted (``None`` when
    not asked for); ``w2`` and ``n_base`` (n_items, n_cols): sum of squared weights and
    unweighted number of the rows that answered each item.
    """

    n: np.ndarray | None
    nw: np.ndarray
    w2: np.ndarray
    n_base: np.ndarray
    offs: np.ndarray
    w2cells: np.ndarray | None = None  # like ``nw``, sums of squared weights (on request)


def count_stacked(
    items: list[tuple[np.ndarray, int]], layout: Layout, w: np.ndarray | None,
    *, cells: bool = True, w2cells: bool = False, threads: int | None = None,
) -> Stacked:
    """Counts of coded variables (codes 0..k-1, -1 missing) in every banner column, stacked.

    ``items`` is a list of ``(codes, k)``. With weights and ``cells=False`` the unweighted
    count of every cell is skipped (the bases are still counted): it is the second
    ``bincount`` per question and only displays need it, so `Banner` computes it lazily.

    ``w2cells=True`` also sums the squared weights of every cell (``Stacked.w2cells``): with
    them the design-based variance of column proportions under a weights-only design is
    closed-form (see :func:`survey.analysis._banner_letters._design_cov`); one more ``bincount``.

    Rows are processed in chunks (outer loop) so each chunk's joint cells and weights are
    read once for all questions; per question and chunk there is one int8 -> int64 add and
    one ``bincount`` (plus one over the few missing rows when weighted). Small data (one
    chunk) is counted for all questions in a single ``bincount``. From ``THREADED_ROWS``
    rows the two halves of the questions are counted on two threads (``threads``: 1 to
    stay on one; default ``THREADS``).
    """
    ks = np.array([k for _, k in items], dtype=np.int64)
    offs = np.r_[0, np.cumsum(ks + 1)[:-1]].astype(np.int64)
    if layout.joint is None:
        parts = [_count_codes_per_by(c, k, layout, w) for c, k in items]
        w2c = None
        if w2cells:
            w2c = (np.vstack([c.nw for c in parts]) if w is None else np.vstack(
                [_count_codes_per_by(c, k, layout, w * w).nw for c, k in items]))
        return Stacked(np.vstack([c.n for c in parts]), np.vstack([c.nw for c in parts]),
                       np.vstack([c.w2 for c in parts]), np.vstack([c.n_base for c in parts]),
                       offs, w2c)
    n = len(layout.joint)
    if n <= SMALL:
        st = _count_small(items, ks, offs, layout, w)
        return st if w2cells else dataclasses.replace(st, w2cells=None)
    if (THREADS if threads is None else threads) > 1 and n >= THREADED_ROWS and len(items) > 1:
        return _count_halves(items, layout, w, cells, w2cells)
    nj = layout.n_joint
    weighted = w is not None
    want_n = cells or not weighted
    sizes = nj * (ks + 1)
    boffs = np.r_[0, np.cumsum(sizes)[:-1]]
    total = int(sizes.sum())
    acc_n = np.zeros(total) if want_n else None
    acc_w = np.zeros(total) if weighted else None
    acc_w2 = np.zeros(total) if weighted and w2cells else None
    miss_w2 = np.zeros(len(items) * nj) if weighted else None
    miss_n = np.zeros(len(items) * nj) if weighted else None
    all_w2 = np.zeros(nj)
    all_n = np.zeros(nj)
    buf = np.empty(min(CHUNK, max(n, 1)), dtype=np.int64)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        m = stop - start
        j = layout.joint[start:stop]
        scaled: dict[int, np.ndarray] = {}
        if weighted:
            wc = w[start:stop]
            w2c = wc * wc
            all_w2 += np.bincount(j, weights=w2c, minlength=nj)
            all_n += np.bincount(j, minlength=nj)
        for i, (codes, k) in enumerate(items):
            jk = scaled.get(k)
            if jk is None:
                jk = j * np.int64(k + 1) + 1  # joint cell major, code + 1 minor (int64)
                scaled[k] = jk
            idx = buf[:m]
            qc = codes[start:stop]
            np.add(jk, qc, out=idx, casting="unsafe")
            sl = slice(boffs[i], boffs[i] + sizes[i])
            if want_n:
                acc_n[sl] += np.bincount(idx, minlength=sizes[i])
            if weighted:
                acc_w[sl] += np.bincount(idx, weights=wc, minlength=sizes[i])
                if acc_w2 is not None:
                    acc_w2[sl] += np.bincount(idx, weights=w2c, minlength=sizes[i])
                miss = np.flatnonzero(qc < 0)
                if miss.size:
                    jm = j[miss]
                    ms = slice(i * nj, (i + 1) * nj)
                    miss_w2[ms] += np.bincount(jm, weights=w2c[miss], minlength=nj)
                    miss_n[ms] += np.bincount(jm, minlength=nj)

    # marginalise every question at once: (sum of (k + 1), n_joint) -> (.., n_cols)
    def stack(acc):
        return np.vstack([acc[boffs[i] : boffs[i] + sizes[i]].reshape(nj, k + 1).T
                          for i, (_, k) in enumerate(items)])

    tn_all = marginalize(stack(acc_n), layout) if want_n else None
    if not weighted:
        answered = tn_all.copy()
        answered[offs] = 0.0
        base = np.add.reduceat(answered, offs, axis=0)
        return Stacked(tn_all, tn_all, base, base, offs, tn_all if w2cells else None)
    tw_all = marginalize(stack(acc_w), layout)
    w2_all = marginalize(all_w2[None, :] - miss_w2.reshape(len(items), nj), layout)
    nb_all = marginalize(all_n[None, :] - miss_n.reshape(len(items), nj), layout)
    w2c_all = marginalize(stack(acc_w2), layout) if acc_w2 is not None else None
    return Stacked(tn_all, tw_all, w2_all, nb_all, offs, w2c_all)


def _count_halves(items, layout: Layout, w, cells: bool, w2cells: bool) -> Stacked:
    """:func:`count_stacked` of the two halves of ``items`` on two threads (NumPy releases
    the GIL in the add and the ``bincount`` of every chunk), stacked back together: each
    item is counted exactly as it would be alone, so the result does not depend on it."""
    from concurrent.futures import ThreadPoolExecutor

    half = len(items) // 2
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda part: count_stacked(part, layout, w, cells=cells,
                                                   w2cells=w2cells, threads=1),
                        (items[:half], items[half:]))
    rows_a = a.nw.shape[0]

    def both(x, y):
        return None if x is None else np.vstack([x, y])

    return Stacked(both(a.n, b.n), both(a.nw, b.nw), both(a.w2, b.w2),
                   both(a.n_base, b.n_base), np.r_[a.offs, b.offs + rows_a],
                   both(a.w2cells, b.w2cells))


def marginalize(mat: np.ndarray, layout: Layout) -> np.ndarray:
    """Sum a (r, n_joint) table of joint banner cells into the (r, n_cols) banner columns.

    The joint cell is a mixed-radix number (digit of by variable 0 lowest), so the table
    reshapes to one axis per by variable; each by variable's columns are the sums over all
    other axes (plain numpy reductions: no BLAS call, which can stall on a busy machine).
    """
    r = mat.shape[0]
    radix = [k + 1 for k in layout.by_sizes]
    cube = mat.reshape((r, *radix[::-1]))  # last axis = by variable 0
    out = np.empty((r, layout.n_cols))
    out[:, 0] = mat.sum(axis=1)
    col = 1
    nb = len(radix)
    for b, k in enumerate(layout.by_sizes):
        axis_b = nb - b
        other = tuple(a for a in range(1, nb + 1) if a != axis_b)
        marg = cube.sum(axis=other) if other else cube
        out[:, col : col + k] = marg[:, 1:]
        col += k
    return out


def _count_small(items, ks, offs, layout: Layout, w) -> Stacked:
    """Small data (a few thousand rows): all questions x all banner columns in one
    ``bincount`` per quantity (count, sum of w, sum of w^2), far fewer numpy calls than the
    chunked path. (A 0/1 matrix product would do the same, but multithreaded BLAS stalls on
    a busy machine.)

    Each row belongs to the Total column and to one column per by variable; the index is
    (question offset + code + 1) * (n_cols + 1) + column over all memberships at once; the
    spare column collects rows missing in a by variable.
    """
    n_cols = layout.n_cols
    n = len(items[0][0])
    stride = n_cols + 1
    starts = np.r_[1, 1 + np.cumsum(layout.by_sizes)[:-1]] if layout.by_codes else []
    member = np.empty((len(layout.by_codes) + 1, n), dtype=np.int64)
    member[0] = 0
    for j, codes_b in enumerate(layout.by_codes):
        member[j + 1] = np.where(codes_b >= 0, codes_b + starts[j], n_cols)
    total = int((ks + 1).sum())
    # questions in groups whose temporaries (int64 index, weights) stay under ~256 KiB:
    # freshly mapped MiB-sized arrays cost more in page faults than the counting itself
    per = max(1, SMALL_TEMP // (member.shape[0] * max(n, 1)))
    parts: list[list[np.ndarray]] = [[], [], []]
    if w is not None:  # the same weights for every group of questions: laid out once
        wb_all = np.broadcast_to(w, (min(per, len(items)), member.shape[0], n)).ravel()
        w2_all = wb_all * wb_all
    for g0 in range(0, len(items), per):
        g1 = min(g0 + per, len(items))
        base_row = int(offs[g0])
        rows = int((ks[g0:g1] + 1).sum())
        codes = np.stack([c for c, _ in items[g0:g1]]).astype(np.int64)
        codes += (1 - base_row) + offs[g0:g1, None]
        codes *= stride
        flat = (codes[:, None, :] + member[None, :, :]).ravel()  # (q x (B + 1) x n)
        parts[0].append(np.bincount(flat, minlength=rows * stride).astype(float))
        if w is not None:
            parts[1].append(np.bincount(flat, weights=wb_all[: flat.size],
                                        minlength=rows * stride))
            parts[2].append(np.bincount(flat, weights=w2_all[: flat.size],
                                        minlength=rows * stride))
    mats = [np.concatenate(x) if len(x) > 1 else x[0] for x in parts if x]
    m = np.hstack([x.reshape(total, stride)[:, :n_cols] for x in mats])
    answered = m.copy()
    answered[offs] = 0.0  # drop each question's missing row
    base = np.add.reduceat(answered, offs, axis=0)  # (Q, n_cols or 3 n_cols)
    tn = m[:, :n_cols]
    if w is None:
        return Stacked(tn, tn, base, base, offs, tn)
    return Stacked(tn, m[:, n_cols : 2 * n_cols], base[:, 2 * n_cols :], base[:, :n_cols],
                   offs, m[:, 2 * n_cols :])


def _count_codes_per_by(codes, k, layout, w):
    """Fallback for banners with too many joint cells: one bincount per by variable."""
    n_cols = layout.n_cols
    outs = [np.zeros((k + 1, n_cols)) for _ in range(3)]
    c1 = codes.astype(np.int64) + 1
    wts = [None, w, None if w is None else w * w]
    for t, wt in enumerate(wts):
        tot = np.bincount(c1, weights=wt, minlength=k + 1)
        outs[t][:, 0] = tot
        col0 = 1
        for codes_b, kb in zip(layout.by_codes, layout.by_sizes):
            idx = c1 * (kb + 1) + codes_b.astype(np.int64) + 1
            tab = np.bincount(idx, weights=wt, minlength=(k + 1) * (kb + 1)).reshape(k + 1, kb + 1)
            outs[t][:, col0 : col0 + kb] = tab[:, 1:]
            col0 += kb
    base = outs[0][1:].sum(axis=0)
    if w is None:
        return Counts(outs[0], outs[0], base, base)
    return Counts(outs[0], outs[1], outs[2][1:].sum(axis=0), base)


def sum_by_column(values: list[np.ndarray], valid: np.ndarray, layout: Layout) -> list[np.ndarray]:
    """Column sums of each array in ``values`` over the rows where ``valid`` is true."""
    codes = valid.astype(np.int8) - 1  # valid -> 0, invalid -> -1
    out = []
    for v in values:
        if layout.joint is None:
            res = _count_codes_per_by(codes, 1, layout, v).nw
        else:
            nj = layout.n_joint
            idx = layout.joint + nj * valid.astype(np.int64)
            res = marginalize(np.bincount(idx, weights=v, minlength=2 * nj).reshape(2, nj),
                              layout)
        out.append(res[1])
    return out


# --- tests ------------------------------------------------------------------------------


def pairs_of(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (i < j) of the given column indices."""
    i, j = np.triu_indices(len(cols), k=1)
    return cols[i], cols[j]


def prop_ztest(p: np.ndarray, neff: np.ndarray, ci: np.ndarray, cj: np.ndarray):
    """Pooled two-proportion z-tests between columns ``ci`` and ``cj`` for every row of ``p``.

    ``p`` (r, n_cols) proportions, ``neff`` (r, n_cols) or (n_cols,) (effective) bases.
    Returns (z, p_value) of shape (r, n_pairs); NaN where the pooled proportion is 0 or 1.
    SE = sqrt(pooled * (1 - pooled) * (1/n1 + 1/n2)), as SPSS's column proportions test and
    ``statsmodels.stats.proportion.proportions_ztest``.
    """
    from scipy.special import ndtr

    neff = np.broadcast_to(neff, p.shape)
    n1 = neff[:, ci]
    n2 = neff[:, cj]
    p1 = p[:, ci]
    p2 = p[:, cj]
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
        z = (p1 - p2) / np.sqrt(var)
    z = np.where(var > 0, z, np.nan)
    pv = 2.0 * ndtr(-np.abs(z))
    return z, pv


def welch_ttest(mean, var, neff, ci, cj):
    """Welch t-tests between columns for every row: mean, var, neff of shape (r, n_cols).

    Returns (t, df, p_value), each (r, n_pairs); ``var`` is the (unbiased) variance and
    ``neff`` the (effective) base of each column.
    """
    from scipy.special import stdtr

    with np.errstate(divide="ignore", invalid="ignore"):
        a = var[:, ci] / neff[:, ci]
        b = var[:, cj] / neff[:, cj]
        se2 = a + b
        t = (mean[:, ci] - mean[:, cj]) / np.sqrt(se2)
        df = se2**2 / (a**2 / (neff[:, ci] - 1.0) + b**2 / (neff[:, cj] - 1.0))
    ok = np.isfinite(t) & np.isfinite(df) & (df > 0)
    t = np.where(ok, t, np.nan)
    pv = np.where(ok, 2.0 * stdtr(np.where(ok, df, 1.0), -np.abs(np.where(ok, t, 0.0))), np.nan)
    return t, df, pv


def adjust(p: np.ndarray, method: str, groups: np.ndarray | None = None) -> np.ndarray:
    """Adjust p-values as R's ``p.adjust`` separately within each family.

    ``groups`` (same shape as ``p``, ints) labels the family of each p-value (all of ``p``
    is one family when ``None``). NaN stays NaN and does not count as a test. One family
    goes to :func:`survey.analysis.padjust.adjust_pvalues`; many families (a banner has one
    per question x banner variable, hundreds) go through :func:`adjust_segments` -- the same
    formulas, tested equal to ``adjust_pvalues`` family by family.
    """
    from .padjust import adjust_pvalues

    shape = np.shape(p)
    p = np.asarray(p, dtype=float).ravel()
    if method == "none" or p.size == 0:
        return p.reshape(shape)
    if groups is None:
        return adjust_pvalues(p, method).reshape(shape)
    g = np.asarray(groups).ravel()
    order = np.argsort(g, kind="stable")  # families made contiguous
    gs = g[order]
    lengths = np.diff(np.r_[0, np.flatnonzero(gs[1:] != gs[:-1]) + 1, gs.size])
    out = np.empty_like(p)
    out[order] = adjust_segments(p[order], lengths, method)
    return out.reshape(shape)


def adjust_segments(p: np.ndarray, lengths: np.ndarray, method: str) -> np.ndarray:
    """``p.adjust`` within consecutive segments of ``p`` (families) of the given lengths.

    Vectorised over the families: they are laid out as the rows of a NaN-padded matrix,
    sorted along the rows, and R's formulas applied with running max (Holm) or running min
    from the largest p (BH) along each row. NaN p-values stay NaN and are not counted.
    Families of very different lengths (a banner's families are k x pairs long: from 2 to
    hundreds) go into a few matrices of similar widths, so little of the sorting is padding.
    """
    p = np.asarray(p, dtype=float)
    if method == "none" or p.size == 0:
        return p.copy()
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    out = np.empty_like(p)
    if lengths.size * int(lengths.max()) <= 2 * p.size:  # one matrix, at most half padding
        _adjust_padded(p, starts, lengths, method, out)
        return out
    # buckets of widths (2^(j-1), 2^j]: padding below half of each matrix
    bucket = np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64)
    for j in np.unique(bucket).tolist():
        sel = np.flatnonzero(bucket == j)
        _adjust_padded(p, starts[sel], lengths[sel], method, out)
    return out


def _adjust_padded(p, starts, lengths, method, out) -> None:
    """Adjust the families ``p[starts[i] : starts[i] + lengths[i]]`` into ``out``."""
    width = int(lengths.max())
    col = np.arange(width)
    inside = col[None, :] < lengths[:, None]
    pos = np.where(inside, starts[:, None] + col[None, :], 0)
    mat = np.where(inside, p[pos], np.nan)
    m = np.isfinite(mat).sum(axis=1, keepdims=True).astype(float)  # tests per family
    if method == "bonferroni":
        adj = np.minimum(1.0, mat * m)
    else:
        order = np.argsort(mat, axis=1)  # NaN last; order among ties does not matter
        srt = np.take_along_axis(mat, order, axis=1)
        if method == "holm":
            v = np.fmax.accumulate(np.minimum(1.0, (m - col[None, :]) * srt), axis=1)
        elif method == "bh":
            v = np.minimum(1.0, m / (col[None, :] + 1.0) * srt)
            v = np.fmin.accumulate(v[:, ::-1], axis=1)[:, ::-1]  # NaNs (at the end) skipped
        else:  # pragma: no cover - validated by the caller
            raise ValueError(method)
        v = np.where(np.isfinite(srt), v, np.nan)
        adj = np.empty_like(v)
        np.put_along_axis(adj, order, v, axis=1)
    out[pos[inside]] = adj[inside]


def wilson(p: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for proportion(s) ``p`` with (effective) base ``n``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def weighted_median(x: np.ndarray, w: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Weighted median of ``x`` within each group 0..n_groups-1 (group -1 ignored).

    With equal weights this is the ordinary median (mean of the two middle values when the
    count is even).
    """
    out = np.full(n_groups, np.nan)
    keep = group >= 0
    x, w, g = x[keep], w[keep], group[keep]
    if x.size == 0:
        return out
    order = np.lexsort((x, g))
    x, w, g = x[order], w[order], g[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], g.size]
    cw = np.cumsum(w)
    base = np.r_[0.0, cw][starts]
    tot = cw[ends - 1] - base
    target = base + tot / 2.0
    # first index in each group where the running weight reaches half the group's weight
    pos = np.searchsorted(cw, target * (1 - 1e-12), side="left")
    pos = np.clip(pos, starts, ends - 1)
    val = x[pos]
    exact = np.isclose(cw[pos], target, rtol=1e-12, atol=0) & (pos + 1 < ends)
    nxt = x[np.minimum(pos + 1, x.size - 1)]
    val = np.where(exact, (val + nxt) / 2.0, val)
    out[g[starts]] = val
    return out
