"""Banner tables ("tab books"): many questions against many groups at once, with letters.

>>> import pandas as pd
>>> import survey as sv
>>> df = pd.DataFrame({
...     "need": pd.Categorical(["yes"] * 60 + ["no"] * 40 + ["yes"] * 30 + ["no"] * 70),
...     "sex": pd.Categorical(["m"] * 100 + ["f"] * 100),
... })
>>> b = sv.banner(df, rows=["need"], by=["sex"], correction="none")
>>> b.letters
('', 'A', 'B')
>>> f = b.to_frame()
>>> f[(f.stat == "pct") & (f.category == "yes")][["by_category", "pct", "sig_letters"]]
  by_category   pct sig_letters
6       Total  45.0
7           f  30.0
8           m  60.0           A

Here 60% of "m" (column B) against 30% of "f" (column A): pooled p = 0.45,
z = 0.30 / sqrt(0.45 * 0.55 * (1/100 + 1/100)) = 4.26, so "m" carries the letter A.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.distributed import is_dask
from ..core.result import Result
from ..core.survey import Survey, as_survey
from ..errors import AnalysisError
from . import _banner_engine as eng
from . import _banner_render as _render
from ._banner_letters import _design_cov, _run_tests
from ._banner_notes import _footnotes, _text
from ._banner_render import write_tab_book
from ._banner_spec import (
    _domain_design,
    _info,
    _is_likert,
    _letters_for,
    _member_index,
    _multi_matrix,
    _resolve_options,
    _single_codes,
    _spread,
    _where_mask,
)
from ._banner_suppress import _suppress
from ._banner_table import _assemble, _Block, _Ctx, _norm_ppf
from ._common import template_report_base

__all__ = ["banner", "Banner", "write_tab_book"]

# The module is the banner's public face: the options (``_banner_spec``), the computation of
# cells and bases (``_banner_table`` on ``_banner_engine``'s counts), the letters
# (``_banner_letters``), disclosure control (``_banner_suppress``), the rendering
# (``_banner_render``) and the footnotes (``_banner_notes``) each live in their own module.
_ = _text  # re-exported: survey.analysis.banner._text gives the banner words of a language


@dataclasses.dataclass(frozen=True, repr=False)
class Banner(Result):
    """A banner table: rows = questions, columns = Total + categories of the ``by`` variables.

    Attributes
    ----------
    blocks : one block of cells per row variable.
    columns : one dict per banner column: ``by``, ``by_label``, ``category``, ``letter``.
    letters : the letter of each column ('' for Total).
    small_base : per column, True when its base is below ``min_base`` (not tested).
    notes : footnotes (test, alpha, correction, base, weighting, suppression).
    """

    blocks: tuple[_Block, ...]
    columns: tuple[dict, ...]
    alpha: float
    alpha_strict: float | None
    correction: str
    test: str
    min_base: int
    suppress_below: int
    percent: str
    weighted: bool
    language: str | None
    notes: tuple[str, ...]
    name: str = "Banner"
    pairwise: tuple = ()  # raw pairwise test arrays, expanded by `tests`

    # --- Result protocol --------------------------------------------------------------
    @property
    def title(self) -> str:
        return self.name

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(c["letter"] for c in self.columns)

    @property
    def small_base(self) -> tuple[bool, ...]:
        """Per column: True when some row variable's base there is below ``min_base``."""
        if not self.blocks:
            return tuple(False for _ in self.columns)
        small = np.zeros(len(self.columns), dtype=bool)
        for b in self.blocks:
            small |= b.base_n < self.min_base
        small[0] = False
        return tuple(bool(x) for x in small)

    def _summary(self) -> str:
        by = []
        for c in self.columns[1:]:
            if c["by"] not in by:
                by.append(c["by"])
        return (f"{len(self.blocks)} row variables x {len(self.columns)} columns "
                f"(by {', '.join(by) or '-'}), {self.correction}, alpha={self.alpha}")

    @functools.cached_property
    def _frame(self) -> pd.DataFrame:
        columns = ["var", "category", "by", "by_category", "stat", "n", "n_weighted", "pct",
                   "value", "se", "ci_low", "ci_high", "p_value", "sig_letters"]
        if not self.blocks:
            return pd.DataFrame(columns=columns)
        C = len(self.columns)
        by = np.array([c["by"] for c in self.columns], dtype=object)
        byc = np.array([c["category"] for c in self.columns], dtype=object)
        nan = np.full((1, C), np.nan)
        # one base row + the cell rows of every block, stacked once (no per-block frames)
        var, cat, stat, num, letters = [], [], [], {k: [] for k in columns[5:13]}, []
        for b in self.blocks:
            r = len(b.stat)
            var.append(np.full(r + 1, b.var, dtype=object))
            cat.append(np.array(("", *b.category), dtype=object))
            stat.append(np.array(("base", *b.stat), dtype=object))
            rows = {
                "n": (b.base_n, b.n), "n_weighted": (b.base_w, b.nw),
                "pct": (np.full(C, 100.0), b.pct), "value": (b.base_eff, b.value),
                "se": (nan, b.se), "ci_low": (nan, b.ci_low), "ci_high": (nan, b.ci_high),
                "p_value": (nan, b.p_value),
            }
            for k, (top, body) in rows.items():
                num[k].append(np.vstack([np.reshape(top, (1, C)), body]))
            letters.append(np.vstack([np.full((1, C), "", dtype=object), b.letters]))
        R = sum(len(v) for v in var)
        data = {
            "var": np.repeat(np.concatenate(var), C),
            "category": np.repeat(np.concatenate(cat), C),
            "by": np.tile(by, R),
            "by_category": np.tile(byc, R),
            "stat": np.repeat(np.concatenate(stat), C),
        }
        for k in columns[5:13]:
            data[k] = np.vstack(num[k]).ravel().astype(float)
        data["sig_letters"] = np.vstack(letters).ravel()
        out = pd.DataFrame(data)
        for k in ("var", "category", "by", "by_category", "stat", "sig_letters"):
            out[k] = out[k].astype(str)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame, one row per cell.

        Columns: ``var, category, by, by_category, stat, n, n_weighted, pct, value, se,
        ci_low, ci_high, p_value, sig_letters``. ``stat`` is ``base`` (``n`` unweighted base,
        ``n_weighted`` weighted base, ``value`` Kish effective base), ``pct`` (a category or
        option; ``pct`` in percent, ``value`` = ``pct``), ``net`` (top/bottom-2-box, "any
        of"), ``mean``, ``sd`` or ``median`` (``value`` holds the statistic, ``se`` and the
        CI belong to the mean). The Total column has ``by == by_category == "Total"``.
        ``p_value`` is the smallest adjusted p-value of the cell's pairwise comparisons
        with the other tested columns of the same ``by`` variable (NaN when not tested).
        Numbers are unrounded and never suppressed here (see :meth:`suppressed`).
        """
        return self._frame.copy()

    @functools.cached_property
    def tests(self) -> pd.DataFrame:
        """Every pairwise comparison: var, category, stat, by, col_a, col_b, letter_a,
        letter_b, statistic (z or Welch t, a minus b), df (Welch only), p_raw, p_adjusted,
        higher (letter of the significantly higher column, '' when not significant)."""
        cols = ["var", "category", "stat", "by", "col_a", "col_b", "letter_a", "letter_b",
                "statistic", "df", "p_raw", "p_adjusted", "higher"]
        letter = np.array(self.letters, dtype=object)
        by = np.array([c["by"] for c in self.columns], dtype=object)
        cat = np.array([c["category"] for c in self.columns], dtype=object)
        parts = []
        for t in self.pairwise:
            r, p = t["p_raw"].shape
            ci, cj = np.tile(t["ci"], r), np.tile(t["cj"], r)
            padj = t["p_adjusted"].ravel()
            diff = t["diff"].ravel()
            sig = np.isfinite(padj) & (padj < self.alpha) & (diff != 0)
            keys = np.array(t["keys"], dtype=object).reshape(-1, 3)
            parts.append(pd.DataFrame({
                "var": np.repeat(keys[:, 0], p), "category": np.repeat(keys[:, 1], p),
                "stat": np.repeat(keys[:, 2], p), "by": by[ci], "col_a": cat[ci],
                "col_b": cat[cj], "letter_a": letter[ci], "letter_b": letter[cj],
                "statistic": t["statistic"].ravel(), "df": t["df"].ravel(),
                "p_raw": t["p_raw"].ravel(), "p_adjusted": padj,
                "higher": np.where(sig, np.where(diff > 0, letter[ci], letter[cj]), ""),
            }))
        if not parts:
            return pd.DataFrame(columns=cols)
        return pd.concat(parts, ignore_index=True)[cols]

    # --- suppression --------------------------------------------------------------------
    @functools.cached_property
    def _hidden(self) -> tuple[np.ndarray, ...]:
        """Per block: (R, C) int8, 0 shown, 1 primary (count below threshold), 2 secondary."""
        return tuple(_suppress(b, self.columns, self.suppress_below) for b in self.blocks)

    def suppressed(self) -> pd.DataFrame:
        """Which cells the exports hide: var, category, by, by_category, stat, suppressed
        ('' shown, 'primary' count below ``suppress_below``, 'secondary' complementary)."""
        f = self._frame[["var", "category", "by", "by_category", "stat"]].copy()
        flags = []
        for h in self._hidden:
            flags.append(np.zeros(len(self.columns), dtype=np.int8))
            flags.append(h.ravel())
        code = np.concatenate(flags) if flags else np.zeros(0, dtype=np.int8)
        f["suppressed"] = np.array(["", "primary", "secondary"], dtype=object)[code]
        return f

    # --- display (rendered by survey.analysis._banner_render) ---------------------------
    def _display_frame(self) -> pd.DataFrame:
        """Labels and rounded cells, letters beside the numbers, suppression applied."""
        return _render.display_frame(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self) -> str:
        """Compact HTML: letters beside percents, small bases greyed, sticky headers.

        Deterministic (no random ids); cells below the suppression threshold show "<5".
        """
        return _render.to_html(self)

    def _repr_latex_(self) -> str:
        frame = self._display_frame()
        return frame.to_latex(escape=True)

    # --- Excel --------------------------------------------------------------------------
    def to_excel(self, path, *, sheet_name: str = "Banner") -> None:
        """Write an Excel workbook: a contents sheet and the banner sheet.

        Real numbers with number formats (percent 0.0, counts #,##0, means 0.00), letters in
        their own cells, frozen panes, footnotes under the table; cells below the
        suppression threshold are written as text ("<5", "x" for complementary suppression).
        """
        write_tab_book(path, [self], sheet_names=[sheet_name])


# ---------------------------------------------------------------------------------------
def banner(
    survey: Survey | pd.DataFrame,
    rows: Sequence[str],
    by: Sequence[str] | str,
    *,
    weight: str | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    test: str = "column_proportions",
    min_base: int = 30,
    suppress_below: int = 5,
    letters: str = "single",
    alpha_strict: float = 0.01,
    preset: str | None = None,
    percent: str = "column",
    language: str | None = None,
    where: Any = None,
    confidence: float = 0.95,
    likert: str | bool | Sequence[str] = "auto",
    nets: dict[str, dict[str, Sequence[str]]] | None = None,
    title: str | None = None,
    se: str | None = None,
) -> Banner:
    """Cross every question in ``rows`` with every category of every ``by`` variable.

    Parameters
    ----------
    survey : Survey or DataFrame, or a Dask-backed Survey (`Survey.from_dask`): the same
        banner from per-partition sums (single-choice, Likert and multiple-response rows;
        numeric rows, ``where=`` and ``weight=`` are refused there; docs/scale.md).
    rows : row variables. Single-choice (one row per category), multiple-response (one row
        per option; base = respondents who answered the question), Likert items (ordered
        single-choice: distribution, top-2-box, bottom-2-box and mean, value = position + 1)
        and numeric questions (mean, SD, median).
    by : banner variables (single-choice). Columns: Total, then every category of each.
    weight : weight column (overrides the Survey's).
    alpha : significance level of the letters.
    correction : ``"none"``, ``"bonferroni"``, ``"holm"`` or ``"bh"`` (FDR), applied to the
        pairwise p-values within each row variable x by variable block (separately for the
        category rows, the nets and the means).
    test : ``"column_proportions"`` (pooled two-proportion z-tests, as SPSS; means: Welch
        t-tests) or ``"none"`` (no letters).
    min_base : columns whose unweighted base is below this are not tested and are greyed.
    suppress_below : in every rendering (HTML, Markdown, LaTeX, Excel) counts of 1 to
        ``suppress_below - 1`` are shown as "<5" with complementary ("secondary")
        suppression, marked "x", so hidden values cannot be recovered from column or row
        totals, nets or means. 0 turns suppression off. ``to_frame`` is never suppressed.
    letters : ``"single"`` (upper case at ``alpha``) or ``"two-level"`` (upper case at
        ``alpha_strict``, lower case at ``alpha``).
    preset : ``"spss"``: as SPSS CTABLES ``/COMPARETEST TYPE=PROP ADJUST=BONFERRONI`` and
        CROSSTABS ``BPROP``: pooled z-tests, alpha 0.05, Bonferroni over the pairs of
        columns *within each row* of a sub-table. ``"q"``: as Q: FDR (Benjamini-Hochberg)
        over the block, letters at 0.05 (lower) and 0.001 (upper case).
    percent : ``"column"`` (default), ``"row"`` or ``"total"``; tests always compare column
        proportions; SE and CI are given for column percents only.
    language : label language (zh-Hans, zh-Hant, en); default the survey's.
    where : boolean mask (array or Series aligned with the data) selecting the rows used.
        Counts and percents are the domain's; design-based letters treat it as a domain
        (R ``subset()``): the full design stays in the variance (rows outside weigh 0,
        calibration and replicate weights kept), the df is the domain's.
    confidence : level of the confidence intervals in ``to_frame``.
    likert : ``"auto"`` treats ordered single-choice row variables with 4 to 11 categories as
        Likert items; ``True``/``False`` for all; or a list of variable names.
    nets : extra nets, ``{var: {label: [category labels or codes, ...]}}``: a single-choice
        net is the sum of its categories, a multiple-response net counts respondents who
        chose *any of* the options.
    title : caption of the table.
    se : how weighted or complex-design data are tested: ``"design"`` (default when the
        Survey has weights or a design) uses design-based (Taylor linearised) SEs of the
        column proportions and means, as R's ``survey``; ``"effective"`` uses Kish's
        effective base in the pooled z-test / Welch t-test. Unweighted simple random
        samples always use the pooled z-test (and Welch t-test) on the plain bases.

    Returns
    -------
    Banner

    Notes
    -----
    Weighted data: percentages are weighted. With ``se="design"`` the difference of two
    column proportions p_kc - p_kc' (cell totals T, column totals S) has the delta-method
    variance g'Vg, V the design covariance of the weighted cell totals (R:
    ``svyby(~I(row == k), ~by, design, svymean, covmat=TRUE)`` then ``svycontrast``; rows
    missing the question or the banner variable stay in the design with weight 0, as
    ``svyby``); means use the linearised values (y - ybar_c) 1[c] / S_c. The statistic
    diff / SE is referred to t with the design's degrees of freedom (#PSU - #strata, as
    ``svyciprop``; ``svycontrast`` itself quotes the normal, which at hundreds of df is the
    same). With ``se="effective"`` the tests use Kish's effective base
    ``(sum w)^2 / sum w^2`` of each column in place of n (as SPSS, Q and WinCross do); no
    strata or clusters enter the SEs. A cell's letters name the columns of the same ``by``
    variable it is significantly higher than; the Total column is not tested.
    """
    opts = _resolve_options(preset, correction, alpha, alpha_strict, letters, test, percent)
    rows, by = _rows_and_by(rows, by, confidence)
    if is_dask(survey):  # per-partition sufficient statistics (survey.analysis._dask_banner)
        from ._dask_banner import dask_banner

        return dask_banner(survey, rows, by, opts, weight=weight, min_base=min_base,
                           suppress_below=suppress_below, language=language, where=where,
                           confidence=confidence, likert=likert, nets=nets, title=title, se=se,
                           preset=preset)
    correction, alpha, alpha_strict, letters, test, percent, scope = opts
    s = as_survey(survey, weight=weight)
    lang = language or s.language
    s_full, mask = s, None
    if where is not None:
        mask = _where_mask(s, where)
        s = s.replace(data=s.data.loc[mask],
                      missing=s.missing.loc[mask] if s.missing is not None else None)
    n = len(s.data)
    w = s.weights if s.is_weighted else None
    txt = _text(lang)
    se = _se_option(se, s.has_design)
    design = None
    if se == "design" and test != "none" and n > 1:
        design = s.design_info() if mask is None else _domain_design(s_full, mask)
    srs = design.srs_scale() if design is not None else None

    arrays: dict = {}  # categorical arrays already looked up (no questionnaire)
    by_infos = [_by_info(s, b, lang, arrays) for b in by]
    columns = _banner_columns(by, by_infos, txt)
    by_codes = [_single_codes(s, b, info, lang, arrays) for b, info in zip(by, by_infos)]
    layout = eng.make_layout(by_codes, [len(i.categories) for i in by_infos], n)
    specs, items, base_returned = _row_items(s, rows, lang, likert, nets or {}, arrays)
    stacked = (eng.count_stacked(items, layout, w, cells=w is None, w2cells=srs is not None)
               if items else None)

    ctx = _context(opts, columns, layout.col_by, len(by), min_base=min_base,
                   confidence=confidence, weighted=w is not None, txt=txt,
                   se=se if design is not None else "effective",
                   degf=design.degf if design is not None else None,
                   replicate=getattr(getattr(design, "replicate", None), "type", None))
    tab = _assemble(ctx, specs, stacked, items, s, layout, w)
    dcov = None
    if design is not None:
        d_items, d_layout, d_s = items, layout, s
        if mask is not None:  # the domain inside the full design: rows outside left out (-1)
            d_items = [(_spread(c, mask), k) for c, k in items]
            d_layout = types.SimpleNamespace(by_codes=[_spread(c, mask) for c in layout.by_codes])
            d_s = s_full
        dcov = _design_cov(ctx, tab, specs, d_items, d_s, d_layout, stacked, design, srs)
    return _finish(ctx, tab, dcov, s, n, where is not None, title=title, preset=preset,
                   base_returned=base_returned, suppress_below=suppress_below, language=lang)


def _rows_and_by(rows, by, confidence) -> tuple[list[str], list[str]]:
    if isinstance(by, str):
        by = [by]
    if isinstance(rows, str):
        rows = [rows]
    rows, by = list(rows), list(by)
    if not rows:
        raise AnalysisError("banner() needs at least one row variable in rows=[...]")
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence must be between 0 and 1; got {confidence!r}")
    return rows, by


def _se_option(se: str | None, has_design: bool) -> str:
    if se is None:
        se = "design" if has_design else "effective"
    if se not in ("design", "effective"):
        raise AnalysisError(f"se must be 'design' or 'effective'; got {se!r}")
    return se


def _context(opts, columns, col_by, n_by: int, *, min_base, confidence, weighted, txt, se,
             degf, replicate) -> _Ctx:
    correction, alpha, alpha_strict, letters, test, percent, scope = opts
    return _Ctx(columns=columns, col_by=col_by, n_by=n_by, alpha=alpha,
                alpha_strict=alpha_strict if letters == "two-level" else None,
                correction=correction, scope=scope, test=test, min_base=min_base,
                percent=percent, zcrit=_norm_ppf(0.5 + confidence / 2), confidence=confidence,
                weighted=weighted, letter=[c["letter"] for c in columns], txt=txt, se=se,
                degf=degf, replicate=replicate)


def _finish(ctx: _Ctx, tab, dcov, s, n: int, filtered: bool, *, title, preset, base_returned,
            suppress_below: int, language) -> Banner:
    """The letters (tests on ``dcov`` or the bases), the footnotes and the `Banner`."""
    pairwise = _run_tests(ctx, tab, dcov)
    notes = _footnotes(ctx, s, n, filtered, suppress_below, ctx.min_base, preset,
                       base_returned)
    return Banner(
        blocks=tuple(tab.blocks()), columns=tuple(ctx.columns), alpha=ctx.alpha,
        alpha_strict=ctx.alpha_strict, correction=ctx.correction, test=ctx.test,
        min_base=ctx.min_base, suppress_below=suppress_below, percent=ctx.percent,
        weighted=ctx.weighted, language=language, notes=tuple(notes),
        name=title or "Banner", pairwise=pairwise,
    )


def _by_info(s, b: str, lang, arrays: dict):
    info = _info(s, b, lang, "by", arrays)
    if info.kind != "single":
        raise AnalysisError(
            f"banner column variable '{b}' must be single-choice (categorical); it is "
            f"{info.kind}. Hint: recode it into bands first (e.g. pandas.cut).")
    return info


def _banner_columns(by: list[str], by_infos: list, txt: dict) -> list[dict]:
    """Total, then every category of every banner variable, each with its letter."""
    columns = [{"by": "Total", "by_label": txt["total"], "category": txt["total"], "letter": ""}]
    for b, info in zip(by, by_infos):
        for cat in info.categories:
            columns.append({"by": b, "by_label": info.label, "category": cat, "letter": ""})
    for c, let in zip(columns[1:], _letters_for(len(columns) - 1)):
        c["letter"] = let
    return columns


def _row_items(s, rows: list[str], lang, likert, nets: dict, arrays: dict):
    """Per row variable its spec ``(var, info, kind, first item, nets)``, the coded items
    counted for them (``(codes, k)``: a single-choice question, or one per option and
    "any of" net of a multiple-response one) and the variables based on all returned forms."""
    specs: list = []
    base_returned: list[str] = []
    items: list[tuple[np.ndarray, int]] = []
    for var in rows:
        info = _info(s, var, lang, "row", arrays)
        if info.kind == "single":
            codes = _single_codes(s, var, info, lang, arrays)
            k = len(info.categories)
            kind = "likert" if _is_likert(var, info, likert) else "single"
            net_defs = [(lab, tuple(_member_index(var, info, members)))
                        for lab, members in nets.get(var, {}).items()]
            specs.append((var, info, kind, len(items), net_defs))
            items.append((codes, k))
        elif info.kind == "multi":
            sel, answered = _multi_matrix(s, info)
            if template_report_base(s, var) == "returned":  # template: percent of all returned forms
                answered = np.ones_like(answered)
                base_returned.append(var)
            specs.append((var, info, "multi", len(items), list(nets.get(var, {}))))
            for o in range(sel.shape[1]):
                items.append((np.where(answered, sel[:, o], -1).astype(np.int8), 2))
            for members in nets.get(var, {}).values():
                anyof = sel[:, _member_index(var, info, members)].any(axis=1)
                items.append((np.where(answered, anyof, -1).astype(np.int8), 2))
        elif info.kind == "numeric":
            specs.append((var, info, "numeric", None, None))
        else:
            raise AnalysisError(
                f"banner row variable '{var}' is {info.kind}; expected single-choice, "
                "multiple-response or numeric. Hint: leave text and date questions out.")
    return specs, items, base_returned
