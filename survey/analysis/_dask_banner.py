"""`banner` of a `DaskSurvey`: the in-memory banner computed from per-partition sums.

Every number of a banner of single-choice, Likert and multiple-response questions is a
function of sums over rows, so each partition is coded by the in-memory code (the same
`_row_items` and `_single_codes` on the partition's rows) and reduced, and only the sums
travel:

* the stacked counts of `count_stacked` (weighted and unweighted cell counts, bases, sums of
  squared weights per cell), summed over the partitions, give percentages, bases, Kish's
  effective bases and so the unweighted and effective-base letters;
* design-based letters (Taylor): the covariance of the question x banner-variable cell
  totals, and of the Likert means' linearised values, from `score_vcov` (PSU totals of the
  scores, or per stratum their centred cross-products when rows are the units; raking
  residuals first) in batches of question x banner-variable blocks, then the delta method as
  in memory (`delta_prop_covs`);
* replicate designs: the full-sample and replicate cell totals (`replicate_totals`), then
  R ``svrVar`` as in memory (`replicate_prop_covs`).

The tests, letters, footnotes and the `Banner` itself are the in-memory code's. Numeric row
variables (mean, SD and median rows: the median needs the rows) and ``where=`` are refused.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..core.distributed import (
    DaskSurvey,
    design_columns,
    gram_degf,
    map_reduce,
    replicate_totals,
    score_vcov,
    unit_codes,
    unit_keys,
)
from ..core.survey import Survey
from ..errors import AnalysisError

#: Most score columns (question x banner-variable cells) in one pass of `score_vcov`: each
#: partition sends (its PSUs x this many) totals.
BATCH_CELLS = 256
#: Numbers a pass may hold at once: on the client, the PSU totals all partitions send
#: (partitions' PSUs x cells); in a task, the dense (rows x cells) scores when the rows are
#: their own units or raking residuals are taken. Fewer cells per pass beyond that.
CLIENT_NUMBERS = 64_000_000
TASK_NUMBERS = 16_000_000

_NO_TEMPLATE = object()  # a questionnaire without questions (the in-memory code asks it)


class _Part:
    """A partition, or a frame of distinct values, as the banner's in-memory code reads a
    Survey: ``data``, ``questionnaire`` and ``var_info`` (fixed ``infos`` when given)."""

    missing = None
    language = None

    def __init__(self, data: pd.DataFrame, questionnaire, infos: dict | None = None):
        self.data = data
        self.questionnaire = questionnaire if questionnaire is not None else _NO_TEMPLATE
        self._infos = infos

    def var_info(self, var: str, *, language: str | None = None):
        if self._infos is not None:
            return self._infos[var]
        return Survey.var_info(self, var, language=language)  # the template's, or inferred


def dask_banner(ds: DaskSurvey, rows: list[str], by: list[str], opts, *, weight, min_base,
                suppress_below, language, where, confidence, likert, nets, title, se, preset):
    """`survey.analysis.banner.banner` on Dask (see the module docstring)."""
    from . import _banner_engine as eng
    from ._banner_notes import _text
    from ._banner_table import _assemble, _LazyN
    from .banner import _banner_columns, _by_info, _context, _finish, _row_items, _se_option

    _refuse(ds, weight, where)
    lang = language or ds.language
    nets = nets or {}
    infos = _infos(ds, rows, by, lang)
    probe = _Part(ds.ddf._meta, ds.questionnaire, infos)
    by_infos = [_by_info(probe, b, lang, {}) for b in by]
    for var in rows:
        if infos[var].kind == "numeric":
            raise AnalysisError(
                f"banner: row variable '{var}' is numeric (mean, SD and median rows); on a "
                "Dask-backed Survey the banner takes single-choice, Likert and multiple-response "
                "questions only (the median needs the rows). Hint: sv.mean(s, "
                f"'{var}', by=...) runs on Dask, or band '{var}' with pandas.cut first.")
    specs, items0, base_returned = _row_items(probe, rows, lang, likert, nets, {})
    by_sizes = [len(i.categories) for i in by_infos]
    weighted = ds.weight is not None or bool(ds.raking)

    known = _known_categories(ds.ddf._meta)

    def coded(part):
        p = _Part(_plain(part, infos, known), ds.questionnaire, infos)
        by_codes = [_single_codes_of(p, b, lang) for b in by]
        return by_codes, _row_items(p, rows, lang, likert, nets, {})[1]

    def counts(part):
        if not len(part):
            return None
        w0 = ds.part_weights(part)
        _check_weights(ds, part, w0)  # and the design columns: no missing stratum or PSU
        w = w0 if weighted else None
        by_codes, items = coded(part)
        st = eng.count_stacked(items, eng.make_layout(by_codes, by_sizes, len(part)), w,
                               cells=True, w2cells=True)
        units = len(unit_codes(part, keys)[1]) if keys else 0
        return (st.n, st.nw, st.w2, st.n_base, st.w2cells), (len(part), units,
                                                              int(np.count_nonzero(w0)))

    keys = unit_keys(ds.design) if ds.design.psu else []
    cols = _columns(ds, rows, by, infos)
    sums, (n, batch, nonzero) = map_reduce(ds, counts, functools.partial(_add, ds=ds), cols)
    ks = np.array([k for _, k in items0], dtype=np.int64)
    st = eng.Stacked(*sums[:4], np.r_[0, np.cumsum(ks + 1)[:-1]].astype(np.int64), sums[4])
    layout = eng.make_layout([np.zeros(0, dtype=np.int8) for _ in by], by_sizes, 0)
    test = opts[4]
    se = _se_option(se, ds.has_design)
    design = se == "design" and test != "none" and n > 1
    rep = ds.design.replicates
    ctx = _context(opts, _banner_columns(by, by_infos, _text(lang)), layout.col_by, len(by),
                   min_base=min_base, confidence=confidence, weighted=weighted,
                   txt=_text(lang), se=se if design else "effective", degf=None,
                   replicate=rep.type if design and rep is not None else None)
    tab = _assemble(ctx, specs, st, None, None, layout, None)
    tab.lazy_n = _LazyN(None, layout, st.n, tab.mem, tab.prop_rows, tab.base_n[tab.q])
    dcov = None
    if design:
        dcov, ctx.degf = _design_cov(ds, ctx, tab, st, ks, coded, cols, batch, n, nonzero)
    return _finish(ctx, tab, dcov, ds, n, False, title=title, preset=preset,
                   base_returned=base_returned, suppress_below=suppress_below, language=lang)


def _refuse(ds: DaskSurvey, weight, where) -> None:
    if where is not None:
        raise AnalysisError(
            "banner: where= is not supported on a Dask-backed Survey (a domain needs the "
            "mask aligned with rows that stay on the workers). Hint: add the condition as a "
            "banner variable (by=[...]) and read its columns, or filter the Dask DataFrame "
            "before Survey.from_dask (design-based letters then treat the filtered rows as the "
            "whole sample, not as a domain).")
    if weight is not None and weight != ds.weight:
        raise AnalysisError(
            f"banner: weight='{weight}' is not supported on a Dask-backed Survey (its weight "
            f"is {ds.weight!r}). Hint: give weight= to Survey.from_dask.")


def _infos(ds: DaskSurvey, rows: list[str], by: list[str], lang) -> dict:
    """The `VarInfo` of every row and banner variable, as the in-memory banner reads it
    (`_info`): from the questionnaire, or inferred from the column's type; text and
    unknown-category columns from their distinct values (one pass over the partitions)."""
    from ._banner_spec import _info

    meta = ds.ddf._meta
    q = ds.questionnaire
    roles = {**{v: "row" for v in rows}, **{b: "by" for b in by}}

    def templated(var):
        return (q is not None and hasattr(q, "var_info")
                and q.var_info(var, language=lang) is not None)

    valued = [v for v in roles if v in meta.columns and not templated(v)
              and _needs_values(meta[v])]
    values: dict = {}
    if valued:
        def distinct(part):
            return {v: {str(x) for x in pd.unique(part[v].dropna())} for v in valued}

        values = map_reduce(ds, distinct, lambda r: {v: set().union(*(x[v] for x in r))
                                                      for v in valued}, valued)
    out = {}
    for var, role in roles.items():
        frame = (pd.DataFrame({var: pd.Series(sorted(values[var]), dtype=object)})
                 if var in values else meta)
        out[var] = _info(_Part(frame, q), var, lang, role)
    return out


def _needs_values(col: pd.Series) -> bool:
    """A text column, or a categorical whose categories Dask does not know."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return not getattr(col.cat, "known", True) or len(col.cat.categories) == 0
    return not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
                or pd.api.types.is_datetime64_any_dtype(col))


def _known_categories(meta: pd.DataFrame) -> dict:
    """The categories of the categorical columns whose categories Dask knows."""
    return {c: tuple(meta[c].cat.categories) for c in meta.columns
            if isinstance(meta[c].dtype, pd.CategoricalDtype) and not _needs_values(meta[c])}


def _plain(part: pd.DataFrame, infos: dict, known: dict) -> pd.DataFrame:
    """The partition with every single-choice categorical column whose categories are not
    the column's known ones (an unknown-category Dask categorical: each partition has its
    own list) turned into plain values, so their codes come from the labels
    (`category_codes`). A column with the known categories keeps them: its codes are then
    read as in memory (by position when the template's labels are in another language)."""
    fix = {}
    for var, info in infos.items():
        col_name = info.columns[0] if info.columns else var
        if info.kind != "single" or col_name not in part.columns:
            continue
        col = part[col_name]
        if isinstance(col.dtype, pd.CategoricalDtype) and tuple(
                col.cat.categories) != known.get(col_name):
            fix[col_name] = col.astype(object)
    return part.assign(**fix) if fix else part


def _single_codes_of(p: _Part, var: str, lang) -> np.ndarray:
    from ._banner_spec import _single_codes

    return _single_codes(p, var, p.var_info(var), lang, {})


def _columns(ds: DaskSurvey, rows, by, infos) -> list[str]:
    cols: list[str] = []
    for var in [*rows, *by]:
        info = infos[var]
        cols.extend(info.columns if info.columns else [var])
    return list(dict.fromkeys(cols + design_columns(ds)))


def _check_weights(ds: DaskSurvey, part: pd.DataFrame, w: np.ndarray) -> None:
    from ._dask import _check_design_columns

    _check_design_columns(ds, part, w)


def _add(results: list, ds: DaskSurvey):
    """Sum the partitions' (arrays, (rows, PSUs, rows of non-zero weight)) results (empty
    partitions give None); the rows, the most cells a pass of the design-based letters may
    take, and the rows of non-zero weight."""
    results = [r for r in results if r is not None]
    if not results:
        raise AnalysisError("banner: the data have no rows")
    arrays = [sum(r[0][i] for r in results) for i in range(len(results[0][0]))]
    rows = [r[1][0] for r in results]
    if ds.raking or not ds.design.psu:  # dense scores in each task
        cells = TASK_NUMBERS // max(rows)
    else:  # the PSU totals of every partition, on the client
        cells = CLIENT_NUMBERS // max(sum(r[1][1] for r in results), 1)
    return arrays, (int(sum(rows)), int(min(max(cells, 1), BATCH_CELLS)),
                    int(sum(r[1][2] for r in results)))


# --- design-based letters -----------------------------------------------------------------
def _blocks(tab, st, ks, groups):
    """What the letters need a covariance of: per question x banner variable ``("prop", b,
    item, tested rows, membership M, k, kb)``, per Likert mean row x banner variable
    ``("mean", b, item, index among the mean rows, row, 1, kb)``."""
    from ._banner_letters import _prop_row_index, _row_members

    out = []
    if tab.prop_rows.size:
        R, r_item, row_of, code_of = _prop_row_index(tab, st)
        for it in np.unique(r_item).tolist():
            sel, M = _row_members(it, int(ks[it]), r_item, row_of, code_of, R)
            out += [("prop", b, it, sel, M, int(ks[it]), g.size) for b, g in enumerate(groups)]
    rows_m = np.flatnonzero(np.asarray(tab.stat, dtype=object) == "mean")
    for i, r in enumerate(rows_m.tolist()):
        it = int(tab.qpos[int(tab.q[r])])
        out += [("mean", b, it, i, r, 1, g.size) for b, g in enumerate(groups)]
    return out, rows_m.size


def _cells(block, by_codes, items):
    """Each row's cell in the block (-1 = left out) and its question's codes."""
    _, b, it, *_rest, k, kb = block
    codes = items[it][0].astype(np.int64)
    bc = by_codes[b].astype(np.int64)
    ok = (codes >= 0) & (bc >= 0)
    if block[0] == "prop":
        return np.where(ok, codes * kb + bc, -1), codes
    return np.where(ok, bc, -1), codes


def _design_cov(ds: DaskSurvey, ctx, tab, st, ks, coded, cols, batch: int, n: int,
                nonzero: int):
    """``({"prop": covs, "mean": covs}, degf)`` as `_banner_letters._design_cov` gives them
    in memory (covs: per banner variable (rows, kb, kb)). A weights-only design (one
    stratum of rows, no fpc, no raking) takes the proportions' closed form from the counted
    sums of squared weights (`srs_prop_covs`, factor ``n / (n - 1)``, as `Design.srs_scale`
    in memory): only Likert means need a pass of their own. The df is R's ``degf``: units
    minus strata among the rows of non-zero weight, as in memory."""
    from ._banner_letters import srs_prop_covs

    groups = [np.flatnonzero(ctx.col_by == b) for b in range(ctx.n_by)]
    blocks, n_mean = _blocks(tab, st, ks, groups)
    out: dict = {}
    if tab.prop_rows.size:
        out["prop"] = [np.full((tab.prop_rows.size, g.size, g.size), np.nan) for g in groups]
    if n_mean:
        out["mean"] = [np.full((n_mean, g.size, g.size), np.nan) for g in groups]
    d = ds.design
    srs = (d.replicates is None and not ds.raking and not d.psu and d.strata is None
           and not d.fpc)
    with np.errstate(divide="ignore", invalid="ignore"):
        if srs and tab.prop_rows.size:
            out["prop"] = srs_prop_covs(tab, st, n / (n - 1), groups)
        if srs and not n_mean:
            return out, nonzero - 1
        if srs:
            blocks = [blk for blk in blocks if blk[0] == "mean"]
        if d.replicates is not None:
            degf = _replicate_covs(ds, tab, _batches(blocks, BATCH_CELLS), blocks, coded,
                                   cols, out)
        else:
            degf = _taylor_covs(ds, tab, st, _batches(blocks, batch), blocks, groups, coded,
                                cols, out)
    return out, int(degf)


def _batches(blocks, most: int) -> tuple[list[int], list[list[int]]]:
    """The blocks' sizes (cells) and the blocks grouped so each group has at most ``most``
    cells (a block larger than that on its own)."""
    sizes = [blk[5] * blk[6] for blk in blocks]
    batches, cur, size = [], [], 0
    for j, m in enumerate(sizes):
        if cur and size + m > most:
            batches.append(cur)
            cur, size = [], 0
        cur.append(j)
        size += m
    return sizes, batches + ([cur] if cur else [])


def _batch_cells(blocks, batch, offs, by_codes, items, n: int):
    """(n rows x blocks) cells of a batch, numbered across the batch (-1 = left out), and
    the codes of each block's question."""
    col = np.empty((n, len(batch)), dtype=np.int64)
    codes = []
    for m, j in enumerate(batch):
        cell, c = _cells(blocks[j], by_codes, items)
        col[:, m] = np.where(cell >= 0, cell + offs[m], -1)
        codes.append(c)
    return col, codes


def _taylor_covs(ds, tab, st, batching, blocks, groups, coded, cols, out) -> float:
    """Covariances of the blocks' cell totals from `score_vcov`, a batch of blocks per pass;
    proportions by the delta method, means as ``V / (S S')``. Returns the design's df."""
    from ._banner_letters import delta_prop_covs

    sizes, batches = batching
    whole = None
    for batch in batches:
        offs = np.r_[0, np.cumsum([sizes[j] for j in batch])].astype(np.int64)

        def score(part, batch=batch, offs=offs):
            by_codes, items = coded(part)
            w = ds.part_weights(part)
            col, codes = _batch_cells(blocks, batch, offs, by_codes, items, len(part))
            val = np.empty(col.shape)
            for m, j in enumerate(batch):
                blk = blocks[j]
                if blk[0] == "prop":
                    val[:, m] = w
                else:  # linearised values of the mean: w (y - ybar of the row's column)
                    ybar = np.nan_to_num(tab.value[blk[4], groups[blk[1]]])
                    cell = np.maximum(col[:, m] - offs[m], 0)
                    val[:, m] = w * (codes[m] + 1.0 - ybar[cell])
            return col, val

        V, dfs, _ = score_vcov(ds, score, int(offs[-1]), cols, None, 1)
        whole = dfs[0]  # units - strata among the rows of non-zero weight (R degf)
        for m, j in enumerate(batch):
            kind, b, it, idx, rows_or_r, k, kb = blocks[j]
            Vb = V[offs[m]:offs[m + 1], offs[m]:offs[m + 1]]
            g = groups[b]
            if kind == "prop":
                first = int(st.offs[it]) + 1
                T = st.nw[first:first + k][:, g].reshape(-1)
                out["prop"][b][idx] = delta_prop_covs(T, Vb, rows_or_r)
            else:
                S = tab.nw[rows_or_r, g]
                out["mean"][b][idx] = Vb / np.outer(S, S)
    if whole is None:  # nothing to test: the df alone
        whole = score_vcov(ds, lambda p: (np.full(len(p), -1), np.zeros(len(p))), 1, cols,
                           None, 1)[1][0]
    return whole


def _replicate_covs(ds, tab, batching, blocks, coded, cols, out) -> float:
    """Replicate designs: the full-sample and replicate totals of the blocks' cells (of the
    weights and of the Likert values), a batch of blocks per pass, then R ``svrVar`` of the
    re-estimated proportions or means. Returns the design's df."""
    from ._banner_letters import replicate_prop_covs

    rep = ds.replicate_rule()
    sizes, batches = batching
    G = None
    for batch in batches:
        offs = np.r_[0, np.cumsum([sizes[j] for j in batch])].astype(np.int64)
        likert = [j for j in batch if blocks[j][0] == "mean"]

        def cell(part, batch=batch, offs=offs):
            by_codes, items = coded(part)
            return _batch_cells(blocks, batch, offs, by_codes, items, len(part))[0]

        def values(part, likert=likert):  # the weights, and the values of each mean's row
            by_codes, items = coded(part)
            v = np.ones((len(part), 1 + len(likert)))
            for m, j in enumerate(likert):
                codes = items[blocks[j][2]][0].astype(float)
                v[:, m + 1] = np.where(codes >= 0, codes + 1.0, 0.0)
            return v

        T, Tr, G = replicate_totals(ds, cell, int(offs[-1]), cols, values=values)
        for m, j in enumerate(batch):
            kind, b, it, idx, rows_or_r, k, kb = blocks[j]
            sl = slice(offs[m], offs[m + 1])
            if kind == "prop":
                out["prop"][b][idx] = replicate_prop_covs(rep, T[sl, 0], Tr[:, sl, 0],
                                                          rows_or_r)
            else:
                y = 1 + likert.index(j)
                out["mean"][b][idx] = rep.var(Tr[:, sl, y] / Tr[:, sl, 0], T[sl, y] / T[sl, 0])
    if G is None:
        _, _, G = replicate_totals(ds, lambda p: np.full(len(p), -1), 1, cols)
    return float(gram_degf(G[-1]))
