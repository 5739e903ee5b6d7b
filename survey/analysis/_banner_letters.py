"""Banner letters: the design-based covariance of every tested row's column estimates and
the vectorised significance tests (column proportions and means) that set the letters.

Cut from :mod:`survey.analysis.banner` along its seam: `banner` counts and lays out the
table, this module decides which cells differ, :class:`~survey.analysis.banner.Banner`
renders. Proportions: delta method on ``Design.cell_totals_vcov`` (Taylor) or per-replicate
re-estimation (replicate weights); means: linearised values; tests as R ``svycontrast``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import _banner_engine as eng
from . import _banner_fused as fused
from . import _banner_taylor as tay

if TYPE_CHECKING:  # pragma: no cover
    from ._banner_table import _Ctx, _Table

__all__ = ["_design_cov", "_run_tests", "delta_prop_covs", "replicate_prop_covs",
           "srs_prop_covs"]

#: Threads for the one-stage design-based letters (questions in parallel), and the number of
#: rows from which they are used.
THREADS = max(1, min(4, os.cpu_count() or 1))
THREADED_ROWS = 200_000
#: Rows from which the one-stage letters use the compiled pass of :mod:`._banner_fused`
#: (below it, compiling or loading the kernels would cost more than it saves).
FUSED_ROWS = 200_000


def _design_cov(ctx: _Ctx, tab: _Table, specs, items, s, layout, st, design, srs) -> dict:
    """Design-based covariance of the column estimates of every tested row.

    Returns ``{"prop": covs, "mean": covs}``: per by variable a (rows, K_b, K_b) array, the
    covariance of the row's estimates in the K_b columns of that by variable (rows in the
    order :func:`_run_tests` tests them). Proportions: delta method on the weighted cell
    totals of question x by variable and their covariance (``Design.cell_totals_vcov``,
    one call per question x by variable; rows missing either variable stay in the design
    with weight 0). For a weights-only design (``srs`` = its variance factor) the gradient
    is orthogonal to the totals, so the variance is ``srs * sum_j (1[j in row] - p)^2 W2_j /
    S^2`` from the per-cell sums of squared weights ``W2`` (no loop; columns of the same by
    variable are disjoint domains, so their covariance is 0).
    """
    groups = [np.flatnonzero(ctx.col_by == b) for b in range(ctx.n_by)]
    if design.replicate is not None:
        return _replicate_cov(tab, specs, items, s, layout, st, design, groups)
    out: dict = {}
    rows_p = tab.prop_rows
    with np.errstate(divide="ignore", invalid="ignore"):
        if rows_p.size:
            mem_a, starts = tab.mem
            R = rows_p.size
            if srs is not None:
                out["prop"] = srs_prop_covs(tab, st, srs, groups)
            elif not design.calibration and not design._rows_are_units:
                _, r_item, _, code_of = _prop_row_index(tab, st)
                ul = tay.unit_layout(design)
                cov_fn = (_cluster_prop_cov if ul is None
                          else functools.partial(_unit_prop_cov, ul))
                out["prop"] = cov_fn(design, groups, layout, items, mem_a, starts, r_item,
                                     code_of, R)
            else:
                out["prop"] = _delta_prop_covs_all(tab, st, items, layout, groups, design, R)
        covs = _mean_covs(tab, groups)
        for b, i, r, y, ok, bc in _mean_cells(tab, specs, items, s, layout, groups):
            ybar = np.nan_to_num(tab.value[r, groups[b]])
            vals = np.where(ok, y - ybar[np.where(ok, bc, 0)], 0.0)
            _, V = design.cell_totals_vcov(np.where(ok, bc, -1), groups[b].size, vals)
            S = tab.nw[r, groups[b]]
            covs[b][i] = V / np.outer(S, S)
        if covs is not None:
            out["mean"] = covs
    return out


def _delta_prop_covs_all(tab: _Table, st, items, layout, groups, design, R: int) -> list:
    """The delta method on ``Design.cell_totals_vcov`` for every question x banner variable
    (calibrated designs, several stages): on large data the pairs run on ``THREADS``
    threads (bincounts and BLAS release the GIL), a few cell codes built ahead at a time."""
    covs = [np.full((R, g.size, g.size), np.nan) for g in groups]

    def one(task):
        b, sel, M, cell, k, kb = task
        with np.errstate(divide="ignore", invalid="ignore"):  # errstate is per thread
            return b, sel, delta_prop_covs(*design.cell_totals_vcov(cell, k * kb), M)

    tasks = _prop_cells(tab, st, items, layout, groups)
    n_threads = THREADS if np.size(design.weights) >= THREADED_ROWS else 1
    if n_threads == 1:
        results = map(one, tasks)
    else:
        _ = design._calibration_unit_totals  # computed once, before the threads
        results = _bounded_map(one, tasks, n_threads)
    for b, sel, V in results:
        covs[b][sel] = V
    return covs


def _bounded_map(fn, tasks, n_threads: int):
    """``map(fn, tasks)`` in order on ``n_threads`` threads, with BLAS on one thread, at
    most ``2 * n_threads`` tasks drawn ahead (each holds a row-length array)."""
    from collections import deque

    with contextlib.ExitStack() as stack:
        pool = _thread_pool(stack, n_threads)
        pending: deque = deque()
        for task in tasks:
            pending.append(pool.submit(fn, task))
            if len(pending) >= 2 * n_threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _replicate_cov(tab: _Table, specs, items, s, layout, st, design, groups) -> dict:
    """`_design_cov` on a replicate-weight design: every column's proportion or mean is
    re-estimated under each replicate's weights and R's ``svrVar`` gives the covariance
    (as ``svycontrast(svyby(..., svymean, covmat = TRUE))`` on an ``svyrep.design``; the
    delta method on the replicate totals would differ from R for these ratios)."""
    rep = design.replicate
    out: dict = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if tab.prop_rows.size:
            covs = [np.full((tab.prop_rows.size, g.size, g.size), np.nan) for g in groups]
            for b, sel, M, cell, k, kb in _prop_cells(tab, st, items, layout, groups):
                covs[b][sel] = replicate_prop_covs(rep, *design.cell_totals_replicates(cell, k * kb),
                                                   M)
            out["prop"] = covs
        covs = _mean_covs(tab, groups)
        for b, i, _, y, ok, bc in _mean_cells(tab, specs, items, s, layout, groups):
            cell = np.where(ok, bc, -1)
            Y, Yr = design.cell_totals_replicates(cell, groups[b].size, np.where(ok, y, 0.0))
            W, Wr = design.cell_totals_replicates(cell, groups[b].size)
            covs[b][i] = rep.var(Yr / Wr, Y / W)
        if covs is not None:
            out["mean"] = covs
    return out


def srs_prop_covs(tab: _Table, st, srs: float, groups) -> list[np.ndarray]:
    """Per banner variable the (rows, kb, kb) covariance of the tested rows' column
    proportions under a weights-only design with variance factor ``srs``
    (`Design.srs_scale`), from the per-cell sums of squared weights alone (see
    `_design_cov`): diagonal, the columns of a banner variable being disjoint domains."""
    mem_a, starts = tab.mem
    rows_p = tab.prop_rows
    item_of = np.searchsorted(st.offs, mem_a, side="right") - 1
    P = tab.nw[rows_p] / (BW := tab.base_w[tab.q[rows_p]])
    W2in = np.add.reduceat(st.w2cells[mem_a], starts, axis=0)
    W2tot = st.w2[item_of[starts]]
    var = srs * (W2in * (1 - P) ** 2 + P**2 * (W2tot - W2in)) / BW**2
    return [_diag_cov(var[:, g]) for g in groups]


def delta_prop_covs(T: np.ndarray, V: np.ndarray, M: np.ndarray) -> np.ndarray:
    """(rows, kb, kb) covariance of the column proportions ``p_rj = (M T)_rj / S_j`` of the
    rows ``M`` (rows x k) by the delta method, from the weighted totals ``T`` of the k x kb
    cells (question category major) and their covariance ``V``."""
    k = M.shape[1]
    kb = T.size // k
    T4 = T.reshape(k, kb)
    S = T4.sum(0)
    Pl = (M @ T4) / S
    G = (M[:, None, :] - Pl[:, :, None]) / S[None, :, None]
    return np.einsum("raj,jalb,rbl->rab", G, V.reshape(k, kb, k, kb), G)


def replicate_prop_covs(rep, T: np.ndarray, Tr: np.ndarray, M: np.ndarray) -> np.ndarray:
    """(rows, kb, kb) covariance of the column proportions of the rows ``M`` re-estimated
    under each replicate (R ``svrVar`` by ``rep``), from the full-sample (k kb,) and the
    replicate (R, k kb) totals of the cells."""
    k = M.shape[1]
    kb = T.size // k
    T4, Tr4 = T.reshape(k, kb), Tr.reshape(len(Tr), k, kb)
    P = (M @ T4) / T4.sum(0)
    Pr = np.einsum("rc,Nck->Nrk", M, Tr4) / Tr4.sum(1)[:, None, :]
    return np.stack([rep.var(Pr[:, i, :], P[i]) for i in range(M.shape[0])])


def _prop_row_index(tab: _Table, st):
    """Tested proportion rows: count, question item of each row, and per member its row
    and category code."""
    mem_a, starts = tab.mem
    R = tab.prop_rows.size
    item_of = np.searchsorted(st.offs, mem_a, side="right") - 1
    code_of = mem_a - st.offs[item_of] - 1
    row_of = np.repeat(np.arange(R), np.diff(np.r_[starts, mem_a.size]))
    return R, item_of[starts], row_of, code_of


def _prop_cells(tab: _Table, st, items, layout, groups):
    """Per question x by variable: (b, tested rows, their membership, question x column
    cell code of every row (-1 = left out), k, kb)."""
    R, r_item, row_of, code_of = _prop_row_index(tab, st)
    for it in np.unique(r_item).tolist():
        codes, k = items[it]
        sel, M = _row_members(it, k, r_item, row_of, code_of, R)
        c64 = codes.astype(np.int64)
        for b, g in enumerate(groups):
            bc = layout.by_codes[b]
            yield b, sel, M, np.where((c64 >= 0) & (bc >= 0), c64 * g.size + bc, -1), k, g.size


def _mean_covs(tab: _Table, groups) -> list | None:
    rows_m = np.flatnonzero(np.asarray(tab.stat, dtype=object) == "mean")
    return [np.full((rows_m.size, g.size, g.size), np.nan) for g in groups] if rows_m.size else None


def _mean_cells(tab: _Table, specs, items, s, layout, groups):
    """Per tested mean row x by variable: (b, i, row, values, usable rows, column codes)."""
    rows_m = np.flatnonzero(np.asarray(tab.stat, dtype=object) == "mean")
    for i, r in enumerate(rows_m.tolist()):
        y = _mean_values(specs, items, tab, s, int(tab.q[r]))
        valid = np.isfinite(y)
        for b in range(len(groups)):
            bc = layout.by_codes[b]
            yield b, i, r, y, valid & (bc >= 0), bc


def _mean_values(specs, items, tab: _Table, s, qi: int) -> np.ndarray:
    """The values averaged in a mean row: a Likert item's positions 1..k, else the numbers."""
    var, info, kind = specs[qi][0], specs[qi][1], specs[qi][2]
    if kind == "likert":
        codes, _ = items[int(tab.qpos[qi])]
        return np.where(codes >= 0, codes + 1.0, np.nan)
    return pd.to_numeric(s.data[info.columns[0] if info.columns else var],
                         errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _row_members(it: int, k: int, r_item, row_of, code_of, R: int):
    """The tested rows of question ``it`` and their (rows x k) category membership."""
    sel = np.flatnonzero(r_item == it)
    pos = np.full(R, -1)
    pos[sel] = np.arange(sel.size)
    e = np.flatnonzero(r_item[row_of] == it)
    M = np.zeros((sel.size, k))
    M[pos[row_of[e]], code_of[e]] = 1.0
    return sel, M


def _unit_prop_cov(ul, design, groups, layout, items, mem_a, starts, r_item, code_of,
                   R: int) -> list[np.ndarray]:
    """`_cluster_prop_cov` on a one-stage design (``ul``: :func:`_banner_taylor.unit_layout`):
    per question x banner variable one scatter of the unit x category x column totals and
    the cross-products of all the question's rows (:func:`_banner_taylor.prop_covs`).

    Banner variable by banner variable (only its row keys are held, 4 bytes a row), the
    questions are independent and NumPy releases the GIL in every step (key arithmetic,
    ``add.at``, reductions, BLAS), so on large data they run on up to ``THREADS`` threads,
    each with its own scratch buffers; the result does not depend on the thread count.
    """
    covs = [np.full((R, g.size, g.size), np.nan) for g in groups]
    row_of = np.repeat(np.arange(R), np.diff(np.r_[starts, mem_a.size]))
    w = np.asarray(design.weights, dtype=float)
    questions = np.unique(r_item).tolist()
    members = {it: _row_members(it, items[it][1], r_item, row_of, code_of, R)
               for it in questions}
    if w.size >= FUSED_ROWS and fused.available():
        pl = fused.plan([items[it] for it in questions], [members[it][1] for it in questions],
                        [np.asarray(layout.by_codes[b]) for b in range(len(groups))],
                        [g.size for g in groups])
        if pl is not None:
            order, ustart = tay.design_unit_order(design, ul)
            with contextlib.ExitStack() as stack:
                if THREADS > 1:
                    from threadpoolctl import threadpool_limits

                    stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
                parts = fused.prop_covs_fused(ul, order, ustart, w, pl,
                                              threads=THREADS)
            sel = np.concatenate([members[it][0] for it in questions])
            for b, V in enumerate(parts):
                covs[b][sel] = V
            return covs
    ws = tay.design_scaled_weights(design, ul)
    eqs = {it: int(bool((items[it][0] < 0).any())) for it in questions}
    local = threading.local()

    def one(it: int, jb):
        sel, M = members[it]
        if not hasattr(local, "scratch"):
            local.scratch = {}
        with np.errstate(divide="ignore", invalid="ignore"):  # errstate is per thread
            return sel, tay.prop_covs(ul, w, items[it][0], items[it][1], [jb], M,
                                      local.scratch, ws=ws, eq=eqs[it])[0]

    n_threads = min(THREADS, len(questions)) if w.size >= THREADED_ROWS else 1
    with contextlib.ExitStack() as stack:
        pool = _thread_pool(stack, n_threads) if n_threads > 1 else None
        for b, g in enumerate(groups):  # one banner variable's row keys held at a time
            jb = (tay.shift_codes(np.asarray(layout.by_codes[b]), ul.unit, ul.n_units), g.size)
            task = functools.partial(one, jb=jb)
            for sel, V in (pool.map(task, questions) if pool else map(task, questions)):
                covs[b][sel] = V
    return covs


def _thread_pool(stack: contextlib.ExitStack, n_threads: int):
    """A pool of ``n_threads`` threads, with BLAS on one thread of its own while it lives:
    our threads already fill the cores, and BLAS threads on top of them spin against each
    other (1M-row banner bench: 549 ms with OpenBLAS's default threads, 335 ms with one)."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
    return stack.enter_context(ThreadPoolExecutor(n_threads))


def _cluster_prop_cov(design, groups, layout, items, mem_a, starts, r_item, code_of,
                      R: int) -> list[np.ndarray]:
    """`_design_cov` of the proportion rows for a clustered design without calibration.

    One ``bincount`` per question x by variable gives the unit x category x column totals
    ``T`` (the row keys ``(unit * k + category) * kb + column`` are sums of parts built once
    per by variable and once per question). Each tested row's linearised scores
    ``(T_row - p * T_col) / S`` (units x kb) go to `Design.vcov_units` with ``blocks=kb``:
    only each row's kb x kb covariance is formed, never the (k kb)^2 one. This equals the
    delta method on `Design.cell_totals_vcov` (the variance is bilinear in the scores).
    """
    covs = [np.full((R, g.size, g.size), np.nan) for g in groups]
    row_of = np.repeat(np.arange(R), np.diff(np.r_[starts, mem_a.size]))
    cl = design.stages[-1].row_cluster
    U = len(design.stages[-1].stratum)
    w = design.weights
    by_ok = [np.asarray(layout.by_codes[b]) >= 0 for b in range(len(groups))]
    by_w = [np.where(ok, w, 0.0) for ok in by_ok]
    base: dict = {}  # (b, k) -> cl * k * kb + column
    for it in np.unique(r_item).tolist():
        codes, k = items[it]
        sel, M = _row_members(it, k, r_item, row_of, code_of, R)
        single = bool((M.sum(1) == 1).all())
        cols = M.argmax(1)
        okq = codes >= 0
        all_q = bool(okq.all())
        cq = codes.astype(np.int64) if all_q else np.where(okq, codes, 0).astype(np.int64)
        for b, g in enumerate(groups):
            kb = g.size
            if (b, k) not in base:
                bc = np.asarray(layout.by_codes[b])
                base[(b, k)] = np.where(by_ok[b], cl * (k * kb) + bc, 0)
            x = by_w[b] if all_q else np.where(okq, by_w[b], 0.0)
            T = np.bincount(base[(b, k)] + cq * kb, weights=x,
                            minlength=U * k * kb).reshape(U, k, kb)
            tot = T.sum(0)  # (k, kb)
            S = tot.sum(0)
            P = (M @ tot) / S  # (rows, kb)
            B = T.sum(1)  # (units, kb): the column bases per unit
            if single and sel.size == k and (cols == np.arange(k)).all():
                Z = T  # the rows are the categories in order: T is the row totals
            else:
                Z = T[:, cols, :] if single else np.einsum("rc,uck->urk", M, T)
            for r in range(sel.size):
                Z[:, r, :] -= B * P[r]
            Z /= S
            covs[b][sel] = design.vcov_units(Z.reshape(U, sel.size * kb), blocks=kb)
    return covs


def _diag_cov(var: np.ndarray) -> np.ndarray:
    """(r, k) variances -> (r, k, k) diagonal covariance matrices."""
    out = np.zeros((*var.shape, var.shape[1]))
    idx = np.arange(var.shape[1])
    out[:, idx, idx] = var
    return out


def _run_tests(ctx: _Ctx, tab: _Table, dcov: dict | None = None) -> tuple[dict, ...]:
    """All significance tests of the banner at once, vectorised over every row of every
    question; fills ``tab.letters`` and ``tab.p_value`` and returns the raw pairwise
    results (expanded by :attr:`Banner.tests`)."""
    C = len(ctx.columns)
    if ctx.test == "none" or not len(tab.var):
        return ()
    out = []
    upper = [ctx.letter[c].upper() for c in range(C)]
    stat = np.asarray(tab.stat, dtype=object)
    for family in ("prop", "mean"):
        rows = tab.prop_rows if family == "prop" else np.flatnonzero(stat == "mean")
        if not rows.size:
            continue
        qr = tab.q[rows]
        NEFF, BASE = tab.base_eff[qr], tab.base_n[qr]
        if family == "prop":
            with np.errstate(divide="ignore", invalid="ignore"):
                bw = tab.base_w[qr]
                X = np.where(bw > 0, tab.nw[rows] / bw, np.nan)
        else:
            X, V = tab.value[rows], tab.mvar[rows]
        # correction family: question x (category rows | nets | mean), contiguous in rows
        FAM = 2 * qr + (stat[rows] == "net")
        R = X.shape[0]
        pmin = np.full((R, C), np.nan)
        if ctx.scope == "row":
            fam_len = np.ones(R, dtype=np.int64)
        else:
            fam_len = np.diff(np.r_[0, np.flatnonzero(np.diff(FAM)) + 1, R])
        # the pairs of columns of every by variable, tested together
        groups = [np.flatnonzero(ctx.col_by == b) for b in range(ctx.n_by)]
        bvars = [b for b, g in enumerate(groups) if g.size >= 2]
        groups = [groups[b] for b in bvars]
        pairs = [eng.pairs_of(g) for g in groups]
        if not pairs:
            tab.p_value[rows] = pmin
            continue
        ci = np.concatenate([pq[0] for pq in pairs])
        cj = np.concatenate([pq[1] for pq in pairs])
        cut = np.cumsum([len(pq[0]) for pq in pairs])[:-1]
        if dcov is not None and ctx.se == "design":
            from scipy.special import stdtr

            vd = []
            for b, g, (gi, gj) in zip(bvars, groups, pairs):
                cov = dcov[family][b]
                li, lj = np.searchsorted(g, gi), np.searchsorted(g, gj)
                vd.append(cov[:, li, li] + cov[:, lj, lj] - 2.0 * cov[:, li, lj])
            with np.errstate(divide="ignore", invalid="ignore"):
                stat_v = (X[:, ci] - X[:, cj]) / np.sqrt(np.hstack(vd))
            stat_v = np.where(np.isfinite(stat_v), stat_v, np.nan)
            df = float(ctx.degf) if ctx.degf and ctx.degf > 0 else np.nan
            df_v = np.full_like(stat_v, df)
            pv = np.where(np.isfinite(stat_v),
                          2.0 * stdtr(df, -np.abs(np.nan_to_num(stat_v))), np.nan)
        elif family == "prop":
            stat_v, pv = eng.prop_ztest(X, NEFF, ci, cj)
            df_v = np.full_like(pv, np.nan)
        else:
            stat_v, df_v, pv = eng.welch_ttest(X, V, NEFF, ci, cj)
        floor = max(ctx.min_base, 2)
        small = (BASE[:, ci] < floor) | (BASE[:, cj] < floor)
        pv[small] = np.nan
        stat_v[small] = np.nan
        # correction families, contiguous in each by variable's pv.ravel(): the rows of one
        # question and row kind (FAM is nondecreasing) x the pairs of this by variable, or
        # one row x those pairs
        pv_by = np.split(pv, cut, axis=1)
        flat_adj = eng.adjust_segments(np.concatenate([x.ravel() for x in pv_by]),
                                       np.concatenate([fam_len * x.shape[1] for x in pv_by]),
                                       ctx.correction)
        padj = np.hstack([a.reshape(x.shape) for a, x in
                          zip(np.split(flat_adj, np.cumsum([x.size for x in pv_by])[:-1]),
                              pv_by)])
        diff = X[:, ci] - X[:, cj]
        level = np.where(padj < ctx.alpha, 2 if ctx.alpha_strict is not None else 1, 0)
        if ctx.alpha_strict is not None:
            level = np.where(padj < ctx.alpha_strict, 1, level)
        level = level.astype(np.int8)  # per pair: 1 upper case letter, 2 lower case
        # smallest adjusted p of each column's comparisons: the pairs grouped by column
        ends = np.concatenate([ci, cj])
        by_col = np.argsort(ends, kind="stable")
        tested = ends[by_col]
        first = np.flatnonzero(np.r_[True, tested[1:] != tested[:-1]])
        pmin[:, tested[first]] = np.fmin.reduceat(np.hstack([padj, padj])[:, by_col], first,
                                                  axis=1)
        keys = tab.keys(rows)
        for (gi, gj), sl in zip(pairs, np.split(np.arange(ci.size), cut)):
            out.append({"keys": keys, "ci": gi, "cj": gj, "statistic": stat_v[:, sl],
                        "df": df_v[:, sl], "p_raw": pv[:, sl], "p_adjusted": padj[:, sl],
                        "diff": diff[:, sl]})
        # letters: only for cells with at least one win, in the order of the losing columns
        lett = np.full(R * C, "", dtype=object)
        r_i, p_i = np.nonzero(level * (diff != 0))
        if r_i.size:
            up = diff[r_i, p_i] > 0
            winner = np.where(up, ci[p_i], cj[p_i])
            loser = np.where(up, cj[p_i], ci[p_i])
            cell = r_i * C + winner
            o = np.argsort(cell * C + loser, kind="stable")
            cell, loser, lv = cell[o], loser[o], level[r_i, p_i][o]
            chars = [upper[b] if v == 1 else upper[b].lower() for b, v in zip(loser.tolist(),
                                                                             lv.tolist())]
            cut_c = np.flatnonzero(np.diff(cell)) + 1
            bounds = np.r_[0, cut_c, cell.size]
            lett[cell[bounds[:-1]]] = ["".join(chars[a:z]) for a, z in
                                       zip(bounds[:-1].tolist(), bounds[1:].tolist())]
        tab.letters[rows] = lett.reshape(R, C)
        tab.p_value[rows] = pmin
    return tuple(out)
