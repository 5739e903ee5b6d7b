"""Design-based banner letters on large one-stage designs: one fused, compiled pass.

The same covariances as :func:`survey.analysis._banner_taylor.prop_covs` (the variance of
the linearised scores ``Z_urj = A_urj - p_rj B_uj`` of every tested row ``r`` summed over
the sampling units ``u``, centred within strata, ``s_h = (1 - f_h) n_h / (n_h - 1)``; the
result divided by ``S_j S_l``), computed for every question x banner variable in one pass
over the rows instead of one NumPy pass per question x banner variable:

1. the column totals (hence the proportions ``p``) of all questions, through the joint
   pattern of a row's banner codes: one update per row and question;
2. the rows sorted by unit (a permutation kept per design), each unit's category x column
   totals of every question and banner variable accumulated in a table that stays in the L1
   cache (one update per row, question and banner variable), copied into a block of units;
3. per block of units, the scores of every tested row and their cross-products and sums,
   vectorised over the units of the block.

Work is split across threads by ranges of units holding about as many rows each; a thread
centres the strata its range holds whole (``- s_h z_h z_h' / n_h`` from their score sums
``z_h``) and returns the score sums of the (at most two) strata its range cuts, which are
added across threads and centred after them. Threads change only the order of additions
(results equal to rounding). The kernels are compiled by numba (cached on disk after the
first use); :func:`available` says whether numba can be imported, and the banner falls back
to the NumPy path when it cannot. Tested against that path to 1e-10.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

#: Units per block of the vectorised score pass (its tables stay in the L2 cache).
BLOCK = 32
#: Largest joint pattern count of the banner codes for the one-update totals (else one
#: update per banner variable).
MAX_PATTERNS = 4096
#: Cells of one unit's table (all questions x all banner columns) beyond which the fused
#: pass is not used (the per-unit table would leave the L1/L2 caches).
MAX_CELLS = 16384

__all__ = ["available", "Plan", "plan", "prop_covs_fused"]


@functools.cache
def available() -> bool:
    """Whether numba can be imported (the fused pass needs it)."""
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency; a stripped install
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Plan:
    """The questions and tested rows of one banner, flattened for the kernels.

    ``Q`` (questions, n) codes (-1: left out); ``ks`` categories per question; ``qoff`` each
    question's first cell in a unit's table (``qoff[q] + c * W + column``); ``roff`` each
    question's first tested row; ``M`` (rows, kmax) membership of every tested row in its
    question's categories, ``cols`` its single category (-1 for a net); ``jc`` (banner
    variables, n) column codes (-1: left out), ``kbs`` / ``offs`` their column counts and
    offsets among the ``W`` banner columns.
    """

    Q: np.ndarray
    ks: np.ndarray
    qoff: np.ndarray
    roff: np.ndarray
    M: np.ndarray
    cols: np.ndarray
    jc: np.ndarray
    kbs: np.ndarray
    offs: np.ndarray
    W: int


def plan(questions: list, members: list, by_codes: list, kbs: list) -> Plan | None:
    """A :class:`Plan` from per question its codes and ``k`` (``questions``) and the (rows,
    k) membership of its tested rows (``members``), and per banner variable its codes and
    column count; ``None`` when a unit's table would not fit the caches, or when a code is
    outside -1 .. k - 1 (the compiled kernels do not check their indices)."""
    ks = np.array([k for _, k in questions], dtype=np.int64)
    kbs_a = np.asarray(kbs, dtype=np.int64)
    W = int(kbs_a.sum())
    if int(ks.sum()) * W > MAX_CELLS:
        return None
    code_t = np.int8 if max(int(ks.max()), int(kbs_a.max())) < 127 else np.int32
    Q = np.stack([np.asarray(c).astype(code_t, copy=False) for c, _ in questions])
    jc = np.stack([np.asarray(c).astype(code_t, copy=False) for c in by_codes])
    if not (_in_range(Q, ks) and _in_range(jc, kbs_a)):  # the kernels index without checks
        return None
    kmax = int(ks.max())
    R = sum(m.shape[0] for m in members)
    M = np.zeros((R, kmax))
    cols = np.full(R, -1, dtype=np.int64)
    roff = np.zeros(len(members) + 1, dtype=np.int64)
    for i, m in enumerate(members):
        a = roff[i]
        roff[i + 1] = a + m.shape[0]
        M[a:a + m.shape[0], :m.shape[1]] = m
        single = (m.sum(1) == 1) & ((m == 0) | (m == 1)).all(1)
        cols[a:a + m.shape[0]] = np.where(single, m.argmax(1), -1)
    qoff = np.r_[0, np.cumsum(ks * W)[:-1]].astype(np.int64)
    offs = np.r_[0, np.cumsum(kbs_a)[:-1]].astype(np.int64)
    return Plan(Q, ks, qoff, roff, M, cols, jc, kbs_a, offs, W)


def _in_range(codes: np.ndarray, k: np.ndarray) -> bool:
    """Every row of ``codes`` within -1 .. k - 1 of its own ``k``."""
    return bool((codes.min(axis=1) >= -1).all() and (codes.max(axis=1) < k).all())


def unit_order(unit: np.ndarray, n_units: int) -> tuple[np.ndarray | None, np.ndarray]:
    """(the rows sorted by unit, or ``None`` when they already are; each unit's first row
    in that order, ``n_units + 1`` values)."""
    counts = np.bincount(unit, minlength=n_units)
    ustart = np.zeros(n_units + 1, dtype=np.int64)
    np.cumsum(counts, out=ustart[1:])
    if unit.size < 2 or bool((unit[1:] >= unit[:-1]).all()):
        return None, ustart
    return np.argsort(unit, kind="stable"), ustart


def prop_covs_fused(ul, order, ustart, w: np.ndarray, pl: Plan, *,
                    threads: int = 1) -> list[np.ndarray]:
    """Per banner variable the (rows, kb, kb) covariance of the column proportions of every
    tested row of :class:`Plan` ``pl`` (rows in the plan's order), on the one-stage design
    of :class:`~survey.analysis._banner_taylor.UnitLayout` ``ul`` with weights ``w``;
    ``order`` / ``ustart``: :func:`unit_order`. As ``_banner_taylor.prop_covs``."""
    kern = _kernels()
    hstart = np.r_[ul.starts, ul.n_units].astype(np.int64)
    s2 = np.asarray(ul.sqrt_scale, dtype=float) ** 2
    use_order = order is not None
    order_a = order if use_order else np.zeros(1, dtype=np.int64)
    tot = _totals(kern, pl, w, threads)  # (sum k, W)
    R = pl.M.shape[0]
    P = np.zeros((R, pl.W))
    S = np.zeros((len(pl.ks), pl.W))
    for i, k in enumerate(pl.ks.tolist()):
        t = tot[pl.qoff[i] // pl.W:pl.qoff[i] // pl.W + k]
        S[i] = t.sum(0)
        a, b = pl.roff[i], pl.roff[i + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            P[a:b] = (pl.M[a:b, :k] @ t) / S[i]
    KB = int(pl.kbs.max())
    bounds = _unit_ranges(ustart, threads)

    def part(rng):
        G = np.zeros((R, len(pl.kbs), KB, KB))
        ZE = np.zeros((2, R, pl.W))  # score sums of the strata this range holds in part
        kern.scores(order_a, use_order, ustart, hstart, s2, rng[0], rng[1], pl.Q, pl.ks,
                    pl.qoff, pl.W, pl.jc, pl.kbs, pl.offs, w, pl.roff, pl.M, pl.cols, P,
                    BLOCK, G, ZE)
        return G, ZE

    parts = _run(part, bounds, threads)
    G = sum(g for g, _ in parts)
    split: dict[int, np.ndarray] = {}  # a stratum cut between ranges: its summed scores
    for (u0, u1), (_, ZE) in zip(bounds, parts):
        for slot, h in enumerate(_partial_strata(hstart, u0, u1)):
            if h is not None:
                split[h] = split.get(h, 0.0) + ZE[slot]
    out = []
    qrow = np.repeat(np.arange(len(pl.ks)), np.diff(pl.roff))
    for b, kb in enumerate(pl.kbs.tolist()):
        o = int(pl.offs[b])
        V = G[:, b, :kb, :kb].copy()
        for h, zs in split.items():  # the centring of the cut strata (the others: in G)
            zb = zs[:, o:o + kb]
            V -= (s2[h] / (hstart[h + 1] - hstart[h])) * zb[:, :, None] * zb[:, None, :]
        V = np.triu(V) + np.swapaxes(np.triu(V, 1), 1, 2)
        Sb = S[qrow, o:o + kb]  # (R, kb)
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(V / (Sb[:, :, None] * Sb[:, None, :]))
    return out


def _partial_strata(hstart: np.ndarray, u0: int, u1: int) -> tuple:
    """(the stratum holding unit ``u0``, the one holding ``u1 - 1``), each ``None`` when the
    range ``[u0, u1)`` holds all of it (slot 0 when both are the same stratum)."""
    h0 = int(np.searchsorted(hstart, u0, side="right")) - 1
    h1 = int(np.searchsorted(hstart, u1 - 1, side="right")) - 1

    def cut(h):
        return hstart[h] < u0 or hstart[h + 1] > u1

    first = h0 if cut(h0) else None
    last = h1 if h1 != h0 and cut(h1) else None
    return first, last


def _unit_ranges(ustart: np.ndarray, threads: int) -> list[tuple[int, int]]:
    """``threads`` contiguous unit ranges holding about as many rows each."""
    U = ustart.size - 1
    if threads <= 1 or U < 2 * threads:
        return [(0, U)]
    cuts = np.searchsorted(ustart, np.linspace(0, ustart[-1], threads + 1)[1:-1])
    edges = [0, *sorted({int(min(max(c, 1), U - 1)) for c in cuts}), U]
    return list(zip(edges[:-1], edges[1:]))


def _run(fn, items: list, threads: int) -> list:
    if threads <= 1 or len(items) == 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(threads, len(items))) as ex:
        return list(ex.map(fn, items))


def _totals(kern, pl: Plan, w: np.ndarray, threads: int) -> np.ndarray:
    """(sum of k, W) weighted totals of every question category x banner column."""
    nb = len(pl.kbs)
    rad = pl.kbs + 1
    npat = math.prod(int(r) for r in rad)  # Python ints: no overflow with many variables
    n = w.size
    kmax = int(pl.ks.max())
    edges = np.linspace(0, n, max(threads, 1) + 1).astype(np.int64).tolist()
    cut = list(zip(edges[:-1], edges[1:]))  # row ranges, one per thread
    if npat <= MAX_PATTERNS:
        jp = np.zeros(n, dtype=np.int32)
        for b in range(nb):
            jp *= int(rad[b])
            jp += pl.jc[b]
            jp += 1
        tp = sum(_run(lambda r: kern.pattern_totals(pl.Q, jp, npat, kmax, w, r[0], r[1]),
                      cut, threads))  # (questions, kmax, npat)
        codes = np.empty((npat, nb), dtype=np.int64)
        idx = np.arange(npat)
        for b in range(nb - 1, -1, -1):
            codes[:, b] = idx % rad[b] - 1
            idx //= rad[b]
        to_cols = np.zeros((npat, pl.W))
        for b in range(nb):
            ok = codes[:, b] >= 0
            to_cols[np.flatnonzero(ok), pl.offs[b] + codes[ok, b]] = 1.0
        full = tp @ to_cols  # (questions, kmax, W)
    else:
        full = sum(_run(lambda r: kern.direct_totals(pl.Q, pl.jc, pl.offs, pl.W, kmax, w,
                                                     r[0], r[1]), cut, threads))
    return np.concatenate([full[i, :k] for i, k in enumerate(pl.ks.tolist())])


@dataclasses.dataclass(frozen=True)
class _Kernels:
    pattern_totals: object
    direct_totals: object
    scores: object


@functools.cache
def _kernels():
    """Compile (or load from numba's on-disk cache) the kernels; numba is imported here only.

    Without a writable cache location (a read-only install and home directory) numba refuses
    ``cache=True``; the kernels are then compiled for this process only.
    """
    import numba as nb

    try:
        return _compile(nb, cache=True)
    except RuntimeError as exc:
        if "cannot cache" not in str(exc):
            raise
        return _compile(nb, cache=False)


def _compile(nb, *, cache: bool) -> _Kernels:
    jit = functools.partial(nb.njit, cache=cache, nogil=True, error_model="numpy")
    fast = functools.partial(jit, fastmath={"reassoc", "contract", "nsz"})

    @jit
    def pattern_totals(Q, jp, npat, kmax, w, r0, r1):
        nq = Q.shape[0]
        tp = np.zeros((nq, kmax, npat))
        for p in range(r0, r1):
            wi = w[p]
            t = jp[p]
            for q in range(nq):
                c = Q[q, p]
                if c >= 0:
                    tp[q, c, t] += wi
        return tp

    @jit
    def direct_totals(Q, jc, offs, W, kmax, w, r0, r1):
        nq = Q.shape[0]
        nb_ = jc.shape[0]
        out = np.zeros((nq, kmax, W))
        for p in range(r0, r1):
            wi = w[p]
            for q in range(nq):
                c = Q[q, p]
                if c < 0:
                    continue
                for b in range(nb_):
                    j = jc[b, p]
                    if j >= 0:
                        out[q, c, offs[b] + j] += wi
        return out

    @fast
    def scores(order, use_order, ustart, hstart, s2, u0, u1, Q, ks, qoff, W, jc, kbs, offs,
               w, roff, M, cols, P, blk, G, ZE):
        nq = Q.shape[0]
        nb_ = jc.shape[0]
        ncell = qoff[nq - 1] + ks[nq - 1] * W
        L = np.zeros(ncell)  # one unit's table, unit-major
        jj = np.zeros(nb_, dtype=np.int64)
        Lb = np.zeros((ncell, blk))  # a block of units, unit-minor
        Bb = np.zeros((W, blk))
        Zb = np.zeros((W, blk))
        R = M.shape[0]
        zs = np.zeros((R, W))  # the current stratum's score sums
        H = hstart.size - 1
        first = True
        for h in range(H):
            a_h = max(hstart[h], u0)
            z_h = min(hstart[h + 1], u1)
            if a_h >= z_h:
                continue
            sh = s2[h]
            zs[:] = 0.0
            for a0 in range(a_h, z_h, blk):
                a1 = min(a0 + blk, z_h)
                nu = a1 - a0
                for u in range(a0, a1):
                    for pp in range(ustart[u], ustart[u + 1]):
                        p = order[pp] if use_order else pp
                        wi = w[p]
                        nj = 0  # the row's banner columns, looked up once for all questions
                        for b in range(nb_):
                            j = jc[b, p]
                            if j >= 0:
                                jj[nj] = offs[b] + j
                                nj += 1
                        for q in range(nq):
                            c = Q[q, p]
                            if c < 0:
                                continue
                            base = qoff[q] + c * W
                            for x in range(nj):
                                L[base + jj[x]] += wi
                    iu = u - a0
                    for x in range(ncell):
                        Lb[x, iu] = L[x]
                        L[x] = 0.0
                for q in range(nq):
                    k = ks[q]
                    base = qoff[q]
                    for j in range(W):
                        for t in range(nu):
                            Bb[j, t] = 0.0
                        for c in range(k):
                            for t in range(nu):
                                Bb[j, t] += Lb[base + c * W + j, t]
                    for r in range(roff[q], roff[q + 1]):
                        cr = cols[r]
                        for j in range(W):
                            pr = P[r, j]
                            if cr >= 0:
                                for t in range(nu):
                                    Zb[j, t] = Lb[base + cr * W + j, t] - pr * Bb[j, t]
                            else:
                                for t in range(nu):
                                    Zb[j, t] = -pr * Bb[j, t]
                                for c in range(k):
                                    mc = M[r, c]
                                    if mc != 0.0:
                                        for t in range(nu):
                                            Zb[j, t] += mc * Lb[base + c * W + j, t]
                            acc = 0.0
                            for t in range(nu):
                                acc += Zb[j, t]
                            zs[r, j] += acc
                        if sh == 0.0:
                            continue
                        for b in range(nb_):
                            o = offs[b]
                            kb = kbs[b]
                            for i in range(kb):
                                for j in range(i, kb):
                                    acc = 0.0
                                    for t in range(nu):
                                        acc += Zb[o + i, t] * Zb[o + j, t]
                                    G[r, b, i, j] += sh * acc
            if hstart[h] >= u0 and hstart[h + 1] <= u1:  # all of the stratum: centre here
                f = sh / (hstart[h + 1] - hstart[h])
                for r in range(R):
                    for b in range(nb_):
                        o = offs[b]
                        for i in range(kbs[b]):
                            for j in range(i, kbs[b]):
                                G[r, b, i, j] -= f * zs[r, o + i] * zs[r, o + j]
            else:  # cut by the range: the caller adds the parts, then centres
                slot = 0 if first else 1
                for r in range(R):
                    for j in range(W):
                        ZE[slot, r, j] = zs[r, j]
            first = False

    return _Kernels(pattern_totals, direct_totals, scores)
