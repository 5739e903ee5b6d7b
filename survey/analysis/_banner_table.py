"""Banner cells and bases: every row of every question computed at once from the stacked
counts (percentages, nets, Likert and numeric means with SEs and CIs, the three bases), held
in one :class:`_Table` whose per-question views are the :class:`_Block` of a banner.

Cut from :mod:`survey.analysis.banner` along its seam: counting is
:mod:`~survey.analysis._banner_engine`, letters :mod:`~survey.analysis._banner_letters`.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import pandas as pd

from . import _banner_engine as eng


def _rows(name: str, doc: str):
    """A (R, ...) slice of one of the banner table's row arrays, made on first access."""

    def get(self):
        return getattr(self._tab, name)[self._r0 : self._r1]

    get.__doc__ = doc
    get.__name__ = name
    return functools.cached_property(get)


def _tuple_rows(name: str, doc: str):
    def get(self):
        return tuple(getattr(self._tab, name)[self._r0 : self._r1])

    get.__doc__ = doc
    get.__name__ = name
    return functools.cached_property(get)


def _per_question(name: str, doc: str):
    def get(self):
        return getattr(self._tab, name)[self._i]

    get.__doc__ = doc
    get.__name__ = name
    return functools.cached_property(get)


class _Block:
    """All cells of one row variable: R rows (stats) x C banner columns.

    A view on rows ``r0:r1`` of the banner's :class:`_Table` (the arrays of all questions);
    each attribute is sliced on first access, so building a banner makes no per-question
    arrays.
    """

    def __init__(self, tab: _Table, i: int, r0: int, r1: int):
        self._tab, self._i, self._r0, self._r1 = tab, i, r0, r1

    var = _per_question("var", "Row variable name.")
    label = _per_question("label", "Its label in the chosen language.")
    kind = _per_question("kind", "single | likert | multi | numeric.")
    stat = _tuple_rows("stat", "Per row: pct | net | mean | sd | median.")
    category = _tuple_rows("cat", "Per row: the label shown.")
    nw = _rows("nw", "(R, C) weighted count / weighted valid n.")
    pct = _rows("pct", "(R, C) percent (NaN for mean rows).")
    value = _rows("value", "(R, C) the number shown (pct, or mean/sd/median).")
    se = _rows("se", "(R, C) standard error (percent rows: of the percent; means).")
    ci_low = _rows("ci_low", "(R, C) lower confidence limit.")
    ci_high = _rows("ci_high", "(R, C) upper confidence limit.")
    p_value = _rows("p_value", "(R, C) smallest adjusted p of the cell's comparisons.")
    letters = _rows("letters", "(R, C) object: letters of columns the cell is higher than.")
    base_n = _per_question("base_n", "(C,) unweighted base.")
    base_w = _per_question("base_w", "(C,) weighted base.")
    base_eff = _per_question("base_eff", "(C,) Kish effective base (= base_n unweighted).")
    net_parts = _tuple_rows("parts", "Per row: indices of the pct rows a net (or mean) sums.")

    @functools.cached_property
    def n(self) -> np.ndarray:
        """(R, C) unweighted counts (pct/net rows) or valid n (means); with weights they are
        counted on first use (one extra pass over the data for all questions)."""
        return self._tab.lazy_n.get()[self._r0 : self._r1]


class _LazyN:
    """Unweighted cell counts of every row of the banner, (R, C); with weights they are
    counted on first use, for all questions in one pass."""

    def __init__(self, items, layout, counts, mem_starts, prop_rows, row_base):
        self._items, self._layout, self._counts = items, layout, counts
        self._mem_starts, self._prop_rows, self._row_base = mem_starts, prop_rows, row_base
        self._res = None

    def get(self) -> np.ndarray:
        if self._res is None:
            out = self._row_base.copy()  # means, SDs, medians: the valid n of the column
            if self._prop_rows.size:
                counts = self._counts
                if counts is None:
                    counts = eng.count_stacked(self._items, self._layout, None).n
                mem, starts = self._mem_starts
                out[self._prop_rows] = np.add.reduceat(counts[mem], starts, axis=0)
            self._res = out
            self._items = self._counts = None  # release the code arrays
        return self._res


@dataclasses.dataclass
class _Ctx:
    columns: list
    col_by: np.ndarray
    n_by: int
    alpha: float
    alpha_strict: float | None
    correction: str
    scope: str
    test: str
    min_base: int
    percent: str
    zcrit: float
    confidence: float
    weighted: bool
    letter: list
    txt: dict
    se: str = "effective"  # "design": design-based SEs for the tests
    degf: int | None = None  # design degrees of freedom (se == "design")
    replicate: str | None = None  # replicate type (JK1, BRR, ...) of a replicate design


def _norm_ppf(q: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(q))


def _neff(w_sum: np.ndarray, w2: np.ndarray, weighted: bool, n: np.ndarray) -> np.ndarray:
    if not weighted:
        return n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w2 > 0, w_sum * w_sum / w2, 0.0)


@dataclasses.dataclass
class _Table:
    """Every row of the banner (all questions, in display order) as one set of arrays.

    Per row (R): ``q`` (question index), ``stat``, ``cat``, ``parts`` and the (R, C) cell
    arrays; per question (Q): ``bounds`` (rows ``bounds[i]:bounds[i + 1]``), names, kinds
    and the (Q, C) bases. Blocks are slices of these arrays.
    """

    q: np.ndarray
    stat: list
    cat: list
    parts: list
    nw: np.ndarray
    pct: np.ndarray
    value: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    mvar: np.ndarray
    p_value: np.ndarray
    letters: np.ndarray
    prop_rows: np.ndarray  # rows tested as proportions (pct, net), in order
    bounds: np.ndarray
    var: list
    label: list
    kind: list
    base_n: np.ndarray
    base_w: np.ndarray
    base_eff: np.ndarray
    lazy_n: Any
    mem: tuple = ()  # (counted rows summed by each proportion row, start of each row's)
    qpos: Any = None  # (Q,) first counted item of each question

    def keys(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), 3) object array of (var, category, stat) of the given rows."""
        out = np.empty((len(rows), 3), dtype=object)
        out[:, 0] = np.asarray(self.var, dtype=object)[self.q[rows]]
        out[:, 1] = np.asarray(self.cat, dtype=object)[rows]
        out[:, 2] = np.asarray(self.stat, dtype=object)[rows]
        return out

    def blocks(self) -> tuple[_Block, ...]:
        b = self.bounds.tolist()
        return tuple(_Block(self, i, b[i], b[i + 1]) for i in range(len(self.var)))


def _assemble(ctx: _Ctx, specs, st, items, s, layout, w) -> _Table:
    """All rows of all questions at once from the stacked counts.

    A first loop over the questions only lays out the rows (Python lists of small ints:
    which counted rows each banner row sums); every number is then computed for all
    questions together: one ``reduceat`` for the category / option / net rows, one for the
    Likert means, one pass for percentages, SEs and CIs.
    """
    C = len(ctx.columns)
    Q = len(specs)
    offs = st.offs.tolist() if st is not None else []
    stat: list[str] = []
    cat: list[str] = []
    parts: list[tuple] = []
    qrow: list[int] = []
    mem: list[int] = []  # counted rows summed by each proportion row, concatenated
    mcount: list[int] = []  # how many per proportion row
    prop_rows: list[int] = []
    lik_rows: list[int] = []  # Likert mean rows; their members, values and question
    lik_mem: list[int] = []
    lik_val: list[float] = []
    lik_count: list[int] = []
    num: list[tuple[int, int, dict]] = []  # (question, first row, numbers) of numeric rows
    qpos = np.zeros(Q, dtype=np.int64)  # first counted item of each question
    counted_q = np.zeros(Q, dtype=bool)
    bounds = [0]
    t = ctx.txt
    for i, (var, info, kind, pos, extra) in enumerate(specs):
        r = len(stat)
        if kind in ("single", "likert"):
            k = len(info.categories)
            first = offs[pos] + 1
            net_defs = ([(t["t2b"], (k - 2, k - 1)), (t["b2b"], (0, 1))]
                        if kind == "likert" else []) + extra
            m = k + len(net_defs)
            prop_rows.extend(range(r, r + m))
            mem.extend(range(first, first + k))
            mcount.extend([1] * k)
            stat.extend(["pct"] * k)
            cat.extend(info.categories)
            parts.extend([()] * k)
            for lab, idx in net_defs:
                mem.extend(first + j for j in idx)
                mcount.append(len(idx))
                stat.append("net")
                cat.append(lab)
                parts.append(tuple(idx))
            if kind == "likert":
                lik_rows.append(r + m)
                lik_mem.extend(range(first, first + k))
                lik_val.extend(range(1, k + 1))
                lik_count.append(k)
                stat.append("mean")
                cat.append(t["mean"])
                parts.append(tuple(range(k)))
                m += 1
            qpos[i], counted_q[i] = pos, True
        elif kind == "multi":
            m = len(info.columns) + len(extra)
            prop_rows.extend(range(r, r + m))
            mem.extend(o + 2 for o in offs[pos : pos + m])  # each option's "chosen" row
            mcount.extend([1] * m)
            stat.extend(["pct"] * len(info.columns) + ["net"] * len(extra))
            cat.extend(list(info.categories) + list(extra))
            parts.extend([()] * m)
            qpos[i], counted_q[i] = pos, True
        else:
            m = 3
            num.append((i, r, _numeric_rows(ctx, s, var, info, layout, w)))
            stat.extend(["mean", "sd", "median"])
            cat.extend([t["mean"], t["sd"], t["median"]])
            parts.extend([(), (), ()])
        qrow.extend([i] * m)
        bounds.append(len(stat))
    R = len(stat)
    q = np.asarray(qrow, dtype=np.int64)
    nan_rc = np.full((R, C), np.nan)
    nw = np.zeros((R, C))
    value, pct, se, lo, hi, mvar = (nan_rc.copy() for _ in range(6))
    base_n, base_w, base_eff = np.zeros((Q, C)), np.zeros((Q, C)), np.zeros((Q, C))
    prop = np.asarray(prop_rows, dtype=np.int64)
    mem_a = np.asarray(mem, dtype=np.int64)
    starts = np.r_[0, np.cumsum(mcount)[:-1]].astype(np.int64) if mcount else mem_a
    with np.errstate(divide="ignore", invalid="ignore"):
        if st is not None:
            answered = st.nw.copy()
            answered[st.offs] = 0.0  # each item's missing row
            bw_items = np.add.reduceat(answered, st.offs, axis=0)
            ne_items = _neff(bw_items, st.w2, ctx.weighted, st.n_base)
            cq = np.flatnonzero(counted_q)
            ip = qpos[cq]
            base_n[cq], base_w[cq], base_eff[cq] = st.n_base[ip], bw_items[ip], ne_items[ip]
        for i, _, d in num:
            base_n[i], base_w[i], base_eff[i] = d["cnt"], d["sw"], d["base_eff"]
        if prop.size:
            nw[prop] = np.add.reduceat(st.nw[mem_a], starts, axis=0)
        if lik_rows:
            lr = np.asarray(lik_rows, dtype=np.int64)
            lq = q[lr]
            lm = np.asarray(lik_mem, dtype=np.int64)
            ls = np.r_[0, np.cumsum(lik_count)[:-1]].astype(np.int64)
            vals = np.asarray(lik_val, dtype=float)[:, None]
            cw = st.nw[lm]
            bw, ne = base_w[lq], base_eff[lq]
            mean = np.add.reduceat(vals * cw, ls, axis=0) / bw
            var_pop = np.maximum(np.add.reduceat(vals**2 * cw, ls, axis=0) / bw - mean**2, 0.0)
            var_s = var_pop * ne / (ne - 1)
            nw[lr] = bw
            value[lr] = mean
            mvar[lr] = var_s
            se[lr], lo[lr], hi[lr] = _mean_ci(mean, var_s, ne, ctx.confidence)
        for _i, r, d in num:
            sl = slice(r, r + 3)
            nw[sl] = d["sw"]
            value[sl] = d["value"]
            se[r], lo[r], hi[r] = d["se"], d["lo"], d["hi"]
            mvar[r] = d["var_s"]
        if prop.size:
            pct_p, se_p, lo_p, hi_p = _proportions(ctx, nw[prop], base_w[q[prop]],
                                                   base_eff[q[prop]])
            pct[prop], value[prop], se[prop], lo[prop], hi[prop] = pct_p, pct_p, se_p, lo_p, hi_p
    row_base = base_n[q]
    lazy = _LazyN(items if ctx.weighted else None, layout,
                  None if ctx.weighted or st is None else st.n, (mem_a, starts), prop, row_base)
    return _Table(
        q=q, stat=stat, cat=cat, parts=parts, nw=nw, pct=pct, value=value, se=se, ci_low=lo,
        ci_high=hi, mvar=mvar, p_value=nan_rc, letters=np.full((R, C), "", dtype=object),
        prop_rows=prop, bounds=np.asarray(bounds), var=[sp[0] for sp in specs],
        label=[sp[1].label for sp in specs], kind=[sp[2] for sp in specs], base_n=base_n,
        base_w=base_w, base_eff=base_eff, lazy_n=lazy, mem=(mem_a, starts), qpos=qpos)


def _proportions(ctx: _Ctx, NW, BASEW, NEFF):
    """Percentages, SEs and Wilson CIs of proportion rows (weighted counts ``NW``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(BASEW > 0, NW / BASEW, np.nan)
        if ctx.percent == "column":
            pct = p * 100
            se = np.sqrt(p * (1 - p) / NEFF) * 100
            lo, hi = eng.wilson(p, NEFF, ctx.zcrit)
            return pct, se, lo * 100, hi * 100
        pct = np.full_like(p, np.nan)
        groups = [np.array([0])] + [np.flatnonzero(ctx.col_by == b) for b in range(ctx.n_by)]
        for g in groups:
            if ctx.percent == "row":
                den = NW[:, g].sum(axis=1, keepdims=True)
            else:
                den = BASEW[:, g].sum(axis=1, keepdims=True)
            pct[:, g] = NW[:, g] / den * 100
        nan = np.full_like(p, np.nan)
        return pct, nan, nan, nan


def _mean_ci(mean, var_s, neff, confidence):
    from scipy.special import stdtrit

    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(var_s / neff)
        df = np.where(neff > 1, neff - 1, np.nan)
        t = stdtrit(df, 0.5 + confidence / 2)
    return se, mean - t * se, mean + t * se


def _numeric_rows(ctx, s, var, info, layout, w) -> dict:
    """Mean, SD and median of a numeric question in every banner column."""
    x = pd.to_numeric(s.data[info.columns[0] if info.columns else var], errors="coerce")
    x = x.to_numpy(dtype=float, na_value=np.nan)
    valid = np.isfinite(x)
    ww = w if w is not None else np.ones(len(x))
    shift = float(np.mean(x[valid])) if valid.any() else 0.0
    xc = np.where(valid, x - shift, 0.0)
    cnt, sw, swx, swx2, sw2 = eng.sum_by_column(
        [np.ones(len(x)), ww, ww * xc, ww * xc * xc, ww * ww], valid, layout)
    base_eff = _neff(sw, sw2, ctx.weighted, cnt)
    with np.errstate(divide="ignore", invalid="ignore"):
        mc = swx / sw
        var_pop = np.maximum(swx2 / sw - mc**2, 0.0)
        var_s = var_pop * base_eff / (base_eff - 1)
    mean = mc + shift
    med = np.full(layout.n_cols, np.nan)
    med[0] = eng.weighted_median(x, ww, np.where(valid, 0, -1), 1)[0]
    for b, (codes_b, kb) in enumerate(zip(layout.by_codes, layout.by_sizes)):
        cols = np.flatnonzero(layout.col_by == b)
        med[cols] = eng.weighted_median(x, ww, np.where(valid, codes_b, -1), kb)
    se_m, lo_m, hi_m = _mean_ci(mean, var_s, base_eff, ctx.confidence)
    return {"cnt": cnt, "sw": sw, "base_eff": base_eff, "var_s": var_s, "se": se_m,
            "lo": lo_m, "hi": hi_m, "value": np.vstack([mean, np.sqrt(var_s), med])}
