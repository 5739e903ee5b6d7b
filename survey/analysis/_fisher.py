"""Fisher's exact test for r x c tables (R's ``fisher.test``), exact where it is feasible.

The p-value is the total probability (under fixed margins, multivariate hypergeometric) of
every table whose probability is at most the observed one times ``1 + 1e-7`` (R's relative
tolerance). Tables are enumerated column by column in the spirit of Mehta & Patel's network
algorithm, all states of a stage at once with numpy:

* a *state* is the vector of remaining row totals plus the log "past" of the cells filled;
* at a column boundary the sum over all completions is closed form
  (``N! / (prod R_i! prod C_j!)``); bounds on the most and least probable completion decide
  whether all completions count (added in closed form) or none does (dropped);
* the last two columns are not enumerated: after the first ``r - 2`` cells of the
  second-to-last column the rest is a 2 x 2 table with one free cell, hypergeometric; the
  tables that count are its two tails, found by bisection and summed term by term outwards
  (the terms fall off geometrically; slow tails are summed exactly);
* when the remaining-row vectors repeat a lot (small tables), the last two columns are done
  by memoisation instead: the completions of each distinct remaining-row vector are
  enumerated once, sorted and cumulated, and each state reads its counted mass off at its own
  threshold (dynamic programming over columns with memoisation);
* states whose total mass is below ``1e-16`` times the observed table's probability are
  dropped (the dropped mass is bounded and far below the 1e-6 relative tolerance).

Beyond ``max_states`` kept states (or ``max_seconds``) the exact computation is abandoned and a seeded Monte Carlo p-value is
returned as R's ``simulate.p.value = TRUE`` does (random tables by Patefield's algorithm).
"""

from __future__ import annotations

import math

import numpy as np

_REL_ERR = 1 + 1e-7
_NEGLIGIBLE = math.log(1e-16)


class TooLarge(Exception):
    """Raised when exact enumeration would exceed the state budget."""


#: Nominal expansion rate used to turn a time budget into a work budget (states expanded per
#: second on the project's 2-core reference machine, unloaded).
STATES_PER_SECOND = 1_000_000


class _Work:
    """A budget of expanded states; `TooLarge` once it is spent."""

    def __init__(self, limit: float):
        self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise TooLarge


def _even_k(x: np.ndarray, k: int, lf: np.ndarray) -> np.ndarray:
    """Smallest sum of log-factorials of k non-negative integers summing to x (even split)."""
    q, rem = np.divmod(x, k)
    return rem * lf[q + 1] + (k - rem) * lf[q]


def _expand_cell(R, kp, colrem, i, lf):
    """Every admissible value of cell (row i) of the current column, for every state."""
    below = R[:, i + 1 :].sum(axis=1)
    lo = np.maximum(0, colrem - below)
    hi = np.minimum(R[:, i], colrem)
    cnt = hi - lo + 1
    total = int(cnt.sum())
    idx = np.repeat(np.arange(len(cnt)), cnt)
    starts = np.cumsum(cnt) - cnt
    v = lo[idx] + (np.arange(total) - starts[idx])
    R = R[idx].copy()
    R[:, i] -= v
    return R, kp[idx] + lf[v], colrem[idx] - v


def _expand_rows(R, kp, colrem, n_rows, lf, chunk):
    """Expand cells 0..n_rows-1 of the current column, yielding chunks of bounded size."""
    stack = [(R, kp, colrem, 0)]
    while stack:
        R, kp, colrem, i = stack.pop()
        if i == n_rows:
            yield R, kp, colrem
            continue
        below = R[:, i + 1 :].sum(axis=1)
        cnt = np.minimum(R[:, i], colrem) - np.maximum(0, colrem - below) + 1
        if int(cnt.sum()) > chunk and len(R) > 1:
            h = len(R) // 2
            stack.append((R[h:], kp[h:], colrem[h:], i))
            stack.append((R[:h], kp[:h], colrem[:h], i))
            continue
        stack.append((*_expand_cell(R, kp, colrem, i, lf), i + 1))


def fisher_exact_rxc(table: np.ndarray, *, max_states: int = 4_000_000,
                     max_seconds: float = 10.0, chunk: int = 200_000) -> float:
    """Exact two-sided Fisher p-value of an r x c table of counts (R's ``fisher.test``).

    Raises `TooLarge` when the enumeration would keep more than ``max_states`` states at a
    column boundary or expand more than ``max_seconds * STATES_PER_SECOND`` states; states are
    expanded in chunks of at most ``chunk`` rows, which bounds the memory used. The budget is
    counted in work, not read off a clock, so whether a table is computed exactly does not depend
    on how busy the machine is (a report built twice quotes the same p-value).

    >>> round(fisher_exact_rxc(np.array([[3, 1, 0, 5], [0, 4, 2, 1]])), 10)
    0.0252622378
    """
    from scipy.special import logsumexp

    budget = _Work(max_seconds * STATES_PER_SECOND)
    t = np.asarray(table, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return 1.0
    if t.shape[0] > t.shape[1]:
        t = t.T
    rows = np.sort(t.sum(axis=1))[::-1]
    cols = np.sort(t.sum(axis=0))  # small columns first: the last two are handled analytically
    n = int(t.sum())
    r, c = len(rows), len(cols)
    lf = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 2, dtype=float)))])
    const = lf[rows].sum() + lf[cols].sum() - lf[n]
    k_obs = lf[t].sum()
    thr = k_obs - math.log(_REL_ERR)
    log_pobs = const - k_obs
    cut = log_pobs + _NEGLIGIBLE

    parts: list[np.ndarray] = []
    R = rows[None, :].copy()
    kp = np.zeros(1)
    for j in range(c - 2):
        rest = cols[j + 1 :]
        n_rem = int(rest.sum())
        lf_rest = lf[rest].sum()
        even_rest = _even_k(rest, r, lf).sum()
        keep_R, keep_kp, kept = [], [], 0
        colrem0 = np.full(len(R), cols[j], dtype=np.int64)
        for Rc, kpc, colrem in _expand_rows(R, kp, colrem0, r - 1, lf, chunk):
            budget.spend(len(Rc))
            Rc[:, r - 1] -= colrem
            kpc = kpc + lf[colrem]
            # column boundary: closed-form mass and bounds on the best / worst completion
            lfR = lf[Rc].sum(axis=1)
            log_mass = lf[n_rem] - lfR - lf_rest
            lmin = np.maximum(even_rest, _even_k(Rc, len(rest), lf).sum(axis=1))
            umax = np.minimum(lf_rest, lfR)
            log_tot = const - kpc + log_mass
            all_count = kpc + lmin >= thr
            if all_count.any():
                parts.append(logsumexp(log_tot[all_count]))
            keep = ~all_count & (kpc + umax >= thr) & (log_tot >= cut)
            kept += int(keep.sum())
            if kept > max_states:
                raise TooLarge
            keep_R.append(Rc[keep])
            keep_kp.append(kpc[keep])
        R = np.concatenate(keep_R) if keep_R else np.empty((0, r), dtype=np.int64)
        kp = np.concatenate(keep_kp) if keep_kp else np.empty(0)
        if not len(R):
            break
    if len(R) and _memo_is_cheaper(R, cols[c - 2], r):
        parts.extend(_last_two_columns_memo(R, kp, cols[c - 2], lf, const, thr))
    elif len(R):
        colrem0 = np.full(len(R), cols[c - 2], dtype=np.int64)
        for Rc, kpc, colrem in _expand_rows(R, kp, colrem0, r - 2, lf, chunk):
            budget.spend(len(Rc))
            parts.extend(logsumexp(x) for x in
                         _last_two_columns(Rc, kpc, colrem, r, lf, const, thr, cut)
                         if len(x))
    if not parts:
        return 0.0
    p = float(np.exp(logsumexp(np.asarray(parts, dtype=float))))
    return min(1.0, p)


def _ranges(R: np.ndarray, col: int) -> np.ndarray:
    """Number of admissible values of the first cell of a column of size ``col``."""
    below = R[:, 1:].sum(axis=1)
    return np.minimum(R[:, 0], col) - np.maximum(0, col - below) + 1


_MEMO_MAX = 4_000_000


def _memo_is_cheaper(R: np.ndarray, col: int, r: int) -> bool:
    """Whether enumerating the completions once per distinct R beats per-state work."""
    uniq = np.unique(R, axis=0)
    per_group = _ranges(uniq, col).astype(float) ** (r - 1)  # upper bound on completions
    memo = float(per_group.sum())
    padded = float(per_group.max()) * len(uniq)  # the 2-D tables are groups x widest group
    direct = float((_ranges(R, col).astype(float) ** max(r - 2, 1)).sum()) * 30
    return memo <= _MEMO_MAX and padded <= 3 * _MEMO_MAX and memo < direct


def _last_two_columns_memo(R, kp, col, lf, const, thr):
    """Final two columns by memoisation: the completions of each distinct remaining-row vector
    R are enumerated once, sorted by probability and cumulated (log-sum-exp), and every state
    with that R reads its counted mass off at its own threshold with a binary search."""
    from scipy.special import logsumexp

    r = R.shape[1]
    uniq, inv = np.unique(R, axis=0, return_inverse=True)
    inv = inv.ravel()
    D = len(uniq)
    # enumerate x (the second-to-last column) for every distinct R, carrying the group id
    Rg, gid, past = uniq.copy(), np.arange(D), np.zeros(D)
    colrem = np.full(D, col, dtype=np.int64)
    for i in range(r - 1):
        below = Rg[:, i + 1 :].sum(axis=1)
        lo = np.maximum(0, colrem - below)
        cnt = np.minimum(Rg[:, i], colrem) - lo + 1
        idx = np.repeat(np.arange(len(cnt)), cnt)
        starts = np.cumsum(cnt) - cnt
        v = lo[idx] + (np.arange(int(cnt.sum())) - starts[idx])
        Rg = Rg[idx].copy()
        Rg[:, i] -= v
        gid, past, colrem = gid[idx], past[idx] + lf[v], colrem[idx] - v
    Rg[:, r - 1] -= colrem
    kf = past + lf[colrem] + lf[Rg].sum(axis=1)  # future log-factorial sum of each completion
    # per group: K sorted descending (terms ascending), cumulative log-sum-exp of -K
    order = np.lexsort((-kf, gid))
    gid, kf = gid[order], kf[order]
    counts = np.bincount(gid, minlength=D)
    starts = np.cumsum(counts) - counts
    pos = np.arange(len(gid)) - starts[gid]
    width = int(counts.max())
    K2 = np.full((D, width), -np.inf)
    K2[gid, pos] = kf
    T2 = np.full((D, width), -np.inf)
    T2[gid, pos] = -kf
    LC = np.logaddexp.accumulate(T2, axis=1)
    # for each state: m = number of completions with K >= thr - kp (K2 rows are descending)
    tt = thr - kp
    lo = np.zeros(len(kp), dtype=np.int64)
    hi = counts[inv].astype(np.int64)
    while True:
        active = lo < hi
        if not active.any():
            break
        mid = (lo + hi) // 2
        ge = K2[inv, np.minimum(mid, width - 1)] >= tt
        lo = np.where(active & ge, mid + 1, lo)
        hi = np.where(active & ~ge, mid, hi)
    has = lo > 0
    if not has.any():
        return []
    vals = const - kp[has] + LC[inv[has], lo[has] - 1]
    return [float(logsumexp(vals))]


def _last_two_columns(R, kp, a, r, lf, const, thr, cut):
    """The rest is a 2 x 2 table with one free cell v: hypergeometric; count its two tails."""
    out = []
    k0 = kp + lf[R[:, : r - 2]].sum(axis=1)
    b, r1 = R[:, r - 2], R[:, r - 1]
    m = b + r1
    lo = np.maximum(0, a - r1)
    hi = np.minimum(a, b)
    log_mass2 = lf[m] - lf[b] - lf[r1] - lf[a] - lf[m - a]
    log_tot = const - k0 + log_mass2

    def g(v, sel=slice(None)):
        return lf[v] + lf[a[sel] - v] + lf[b[sel] - v] + lf[r1[sel] - a[sel] + v]

    mode = np.clip((a + 1) * (b + 1) // (m + 2), lo, hi)
    gmin = g(mode)
    gmax = np.maximum(g(lo), g(hi))
    all_count = k0 + gmin >= thr
    if all_count.any():
        out.append(log_tot[all_count])
    s = np.flatnonzero(~all_count & (k0 + gmax >= thr) & (log_tot >= cut))
    if len(s):
        tt = thr - k0[s]
        # L: smallest v in [lo, mode] with g(v) < tt (g is convex, g(mode) < tt)
        left, right = lo[s].copy(), mode[s].copy()
        while True:
            active = left < right
            if not active.any():
                break
            mid = (left + right) // 2
            below_thr = g(mid, s) < tt
            right = np.where(active & below_thr, mid, right)
            left = np.where(active & ~below_thr, mid + 1, left)
        low_end = left
        left, right = mode[s].copy(), hi[s].copy()
        while True:
            active = left < right
            if not active.any():
                break
            mid = (left + right + 1) // 2
            below_thr = g(mid, s) < tt
            left = np.where(active & below_thr, mid, left)
            right = np.where(active & ~below_thr, mid - 1, right)
        high_end = left
        log_l = _tail(low_end - 1, lo[s], -1, a[s], b[s], r1[s], g, s, lf)
        log_u = _tail(high_end + 1, hi[s], +1, a[s], b[s], r1[s], g, s, lf)
        # contributions: exp(const - k0) * sum of exp(-g(v)) over both tails
        both = np.logaddexp(log_l, log_u)
        ok = np.isfinite(both)
        out.append((const - k0[s] + both)[ok])
    return out


def _tail(start, stop, step, a, b, r1, g, sel, lf, max_terms: int = 80):
    """log Σ exp(-g(v)) for v from ``start`` towards ``stop`` (inclusive) in direction ``step``.

    Terms decrease away from the mode (log-concave), so the sum is accumulated with the
    hypergeometric term ratio until the next term is below 1e-18 of the sum; the few states
    that need more than ``max_terms`` terms are summed exactly with log-factorials.
    """
    n_states = len(start)
    out = np.full(n_states, -np.inf)
    has = (start >= stop) if step < 0 else (start <= stop)
    if not has.any():
        return out
    idx = np.flatnonzero(has)
    v = start[idx].astype(np.int64)
    end = stop[idx]
    aa, bb, rr = a[idx], b[idx], r1[idx]
    first = -g(v, sel[idx])
    total = np.ones(len(idx))
    term = np.ones(len(idx))
    active = np.ones(len(idx), dtype=bool)
    for _ in range(max_terms):
        if step < 0:
            active &= v > end
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = v * (rr - aa + v) / ((aa - v + 1.0) * (bb - v + 1.0))
        else:
            active &= v < end
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = (aa - v) * (bb - v) / ((v + 1.0) * (rr - aa + v + 1.0))
        term = np.where(active, term * ratio, 0.0)
        total += term
        v = np.where(active, v + step, v)
        active &= term > 1e-18 * total
        if not active.any():
            break
    res = first + np.log(total)
    slow = np.flatnonzero(active)
    for k in slow:  # rare: tails that decay slowly; sum them exactly
        i = idx[k]
        vs = np.arange(min(start[i], stop[i]), max(start[i], stop[i]) + 1)
        terms = -(lf[vs] + lf[a[i] - vs] + lf[b[i] - vs] + lf[r1[i] - a[i] + vs])
        mx = terms.max()
        res[k] = mx + math.log(np.exp(terms - mx).sum())
    out[idx] = res
    return out


def fisher_monte_carlo(table: np.ndarray, *, B: int = 2000, seed: int = 20240101) -> float:
    """Monte Carlo p-value as R's ``fisher.test(simulate.p.value = TRUE, B = B)``."""
    from scipy.special import gammaln
    from scipy.stats import random_table

    t = np.asarray(table, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    statistic = -gammaln(t + 1.0).sum()
    sims = random_table(t.sum(axis=1), t.sum(axis=0), seed=seed).rvs(size=B)
    tmp = -gammaln(sims + 1.0).sum(axis=(1, 2))
    almost_1 = 1 + 64 * np.finfo(float).eps
    return float((1 + np.sum(tmp <= statistic / almost_1)) / (B + 1))


def chisq_monte_carlo(table: np.ndarray, *, B: int = 2000, seed: int = 20240101) -> float:
    """Monte Carlo p-value of Pearson's X^2 as R's ``chisq.test(simulate.p.value = TRUE, B = B)``:
    B tables with the observed margins (scipy ``random_table``, seeded: not R's random
    numbers), p = (1 + #{X^2_sim >= (1 - 64 eps) X^2}) / (B + 1)."""
    from scipy.stats import random_table

    t = np.asarray(table, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    E = np.outer(t.sum(1), t.sum(0)) / t.sum()
    statistic = float(((t - E) ** 2 / E).sum())
    sims = random_table(t.sum(axis=1), t.sum(axis=0), seed=seed).rvs(size=B)
    stats = ((sims - E) ** 2 / E).sum(axis=(1, 2))
    almost_1 = 1 - 64 * np.finfo(float).eps
    return float((1 + np.sum(stats >= almost_1 * statistic)) / (B + 1))
