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
import html
import types
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.result import Result
from ..core.safety import put_cell
from ..core.survey import Survey, VarInfo, as_survey, category_codes
from ..errors import AnalysisError, did_you_mean
from . import _banner_engine as eng
from ._banner_letters import _design_cov, _run_tests
from ._common import template_report_base

__all__ = ["banner", "Banner", "write_tab_book"]

_CORRECTIONS = {"none": "none", "bonferroni": "bonferroni", "holm": "holm", "bh": "bh",
                "fdr": "bh", "benjamini-hochberg": "bh"}
_CORRECTION_TEXT = {
    "none": "no correction for multiple comparisons",
    "bonferroni": "Bonferroni correction",
    "holm": "Holm correction",
    "bh": "Benjamini-Hochberg (FDR) correction",
}


def _text(language: str | None) -> dict[str, str]:
    from ..i18n import normalize_language, words

    lang = normalize_language(language, strict=False)
    return {**words("banner", lang), "language": lang}


# ---------------------------------------------------------------------------------------
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

    # --- display ------------------------------------------------------------------------
    def _cell_text(self, b: _Block, h: np.ndarray, r: int, c: int) -> tuple[str, str]:
        if h[r, c] == 1:
            return f"<{self.suppress_below}", ""
        if h[r, c] == 2:
            return "x", ""
        st = b.stat[r]
        v = b.value[r, c]
        if not np.isfinite(v):
            return "–", ""
        txt = f"{v:.1f}" if st in ("pct", "net") else f"{v:.2f}"
        return txt, str(b.letters[r, c])

    def _base_rows(self, b: _Block) -> list[tuple[str, list[str]]]:
        t = _text(self.language)
        rows = [(t["base"], [f"{x:,.0f}" for x in b.base_n])]
        if self.weighted:
            rows.append((t["wbase"], [f"{x:,.1f}" for x in b.base_w]))
            rows.append((t["ebase"], [f"{x:,.1f}" for x in b.base_eff]))
        return rows

    def _display_frame(self) -> pd.DataFrame:
        """Labels and rounded cells, letters beside the numbers, suppression applied."""
        records, index = [], []
        heads = [_col_head(c) for c in self.columns]
        for b, h in zip(self.blocks, self._hidden):
            for lab, vals in self._base_rows(b):
                index.append((b.label, lab))
                records.append(vals)
            for r in range(len(b.stat)):
                row = []
                for c in range(len(self.columns)):
                    txt, let = self._cell_text(b, h, r, c)
                    row.append(f"{txt} {let}".strip())
                index.append((b.label, b.category[r]))
                records.append(row)
        idx = pd.MultiIndex.from_tuples(index, names=["", ""]) if index else None
        return pd.DataFrame(records, columns=heads, index=idx)

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self) -> str:
        """Compact HTML: letters beside percents, small bases greyed, sticky headers.

        Deterministic (no random ids); cells below the suppression threshold show "<5".
        """
        esc = html.escape
        cols = self.columns
        small = self.small_base
        css = (
            "<style>.sv-banner{font-family:'Noto Sans CJK SC','Noto Sans CJK TC',system-ui,"
            "sans-serif;font-size:13px}.sv-banner .tw{max-height:80vh;overflow:auto}"
            ".sv-banner table{border-collapse:collapse}.sv-banner th,.sv-banner td{padding:2px 6px;"
            "border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}"
            ".sv-banner thead th{position:sticky;background:#fff;z-index:1}"
            ".sv-banner thead tr:nth-child(1) th{top:0}.sv-banner thead tr:nth-child(2) th"
            "{top:1.6em}.sv-banner thead tr:nth-child(3) th{top:3.2em}"
            ".sv-banner th.stub{text-align:left;position:sticky;left:0;background:#fff;"
            "white-space:normal;min-width:10em}.sv-banner tr.var th{text-align:left;"
            "background:#f4f4f4;font-weight:600}.sv-banner .base td,.sv-banner .base th"
            "{color:#666;font-size:12px}.sv-banner .small{color:#aaa}.sv-banner .sig"
            "{color:#b5179e;font-weight:600;font-size:11px;margin-left:2px}"
            ".sv-banner .let{color:#666;font-weight:400;font-size:11px}"
            ".sv-notes{color:#555;font-size:12px;margin:4px 0 0 0;padding-left:18px}</style>"
        )
        # header: by variable row, category row, letter row
        groups: list[tuple[str, int]] = []
        for c in cols:
            if groups and groups[-1][0] == c["by_label"] and c["by"] != "Total":
                groups[-1] = (groups[-1][0], groups[-1][1] + 1)
            else:
                groups.append((c["by_label"], 1))
        h1 = "<th class='stub'></th>" + "".join(
            f"<th colspan='{n}' style='text-align:center'>{esc(lab)}</th>" for lab, n in groups)
        h2 = "<th class='stub'></th>" + "".join(
            f"<th{' class=small' if s else ''}>{esc(c['category'])}</th>"
            for c, s in zip(cols, small))
        h3 = "<th class='stub'></th>" + "".join(
            f"<th><span class='let'>{esc(c['letter'])}</span></th>" for c in cols)
        body = []
        width = len(cols) + 1
        for b, h in zip(self.blocks, self._hidden):
            body.append(f"<tr class='var'><th class='stub' colspan='{width}'>{esc(b.label)}</th></tr>")
            small_b = b.base_n < self.min_base
            small_b[0] = False
            for lab, vals in self._base_rows(b):
                tds = "".join(f"<td{' class=small' if s else ''}>{esc(v)}</td>"
                              for v, s in zip(vals, small_b))
                body.append(f"<tr class='base'><th class='stub'>{esc(lab)}</th>{tds}</tr>")
            for r in range(len(b.stat)):
                tds = []
                for c in range(len(cols)):
                    txt, let = self._cell_text(b, h, r, c)
                    sig = f"<span class='sig'>{esc(let)}</span>" if let else ""
                    cls = " class=small" if small_b[c] else ""
                    tds.append(f"<td{cls}>{esc(txt)}{sig}</td>")
                body.append(f"<tr><th class='stub'>{esc(b.category[r])}</th>{''.join(tds)}</tr>")
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.footnotes)
        return (
            f"{css}<div class='sv-banner'><div><b>{esc(self.title)}</b></div><div class='tw'>"
            f"<table><thead><tr>{h1}</tr><tr>{h2}</tr><tr>{h3}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div><ul class='sv-notes'>{notes}</ul></div>"
        )

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


def _col_head(c: dict) -> str:
    let = f" ({c['letter']})" if c["letter"] else ""
    if c["by"] == "Total":
        return c["category"]
    return f"{c['by_label']}: {c['category']}{let}"


def _safe_text(cell, text: str) -> None:
    """Put text in an openpyxl cell so it never becomes a formula (quote prefix)."""
    put_cell(cell, text)


def write_tab_book(path, banners: Sequence[Banner], *, sheet_names: Sequence[str] | None = None):
    """Write one or more banners to one workbook: a "Contents" sheet plus one sheet each.

    The contents sheet links to the first row of every row variable of every banner.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    contents = wb.active
    contents.title = "Contents"
    contents["A1"] = "Contents"
    contents["A1"].font = Font(bold=True, size=13)
    crow = 3
    names = list(sheet_names or [])
    while len(names) < len(banners):
        names.append(f"Banner{len(names) + 1}")
    grey = Font(color="999999")
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="F2F2F2")
    for bn, sheet in zip(banners, names):
        ws = wb.create_sheet(sheet[:31])
        _safe_text(ws.cell(1, 1), bn.title)
        ws.cell(1, 1).font = Font(bold=True, size=13)
        cols = bn.columns
        small = bn.small_base
        # header rows 3-5: by label, category, letter; two Excel columns per banner column
        for j, c in enumerate(cols):
            x = 3 + 2 * j
            _safe_text(ws.cell(3, x), c["by_label"])
            _safe_text(ws.cell(4, x), c["category"])
            ws.cell(5, x + 1, c["letter"])
            for rr in (3, 4, 5):
                ws.cell(rr, x).font = bold
                ws.cell(rr, x).alignment = Alignment(horizontal="center", wrap_text=True)
            if small[j]:
                ws.cell(4, x).font = Font(bold=True, color="999999")
        row = 6
        for b, h in zip(bn.blocks, bn._hidden):
            _safe_text(ws.cell(row, 1), b.label)
            ws.cell(row, 1).font = bold
            for x in range(1, 3 + 2 * len(cols)):
                ws.cell(row, x).fill = fill
            _safe_text(contents.cell(crow, 1), b.label)
            contents.cell(crow, 1).hyperlink = f"#'{ws.title}'!A{row}"
            contents.cell(crow, 1).font = Font(color="0563C1", underline="single")
            contents.cell(crow, 2, ws.title)
            crow += 1
            row += 1
            small_b = b.base_n < bn.min_base
            small_b[0] = False
            base_rows = [(_text(bn.language)["base"], b.base_n, "#,##0")]
            if bn.weighted:
                base_rows += [(_text(bn.language)["wbase"], b.base_w, "#,##0.0"),
                              (_text(bn.language)["ebase"], b.base_eff, "#,##0.0")]
            for lab, vals, fmt in base_rows:
                _safe_text(ws.cell(row, 2), lab)
                for j, v in enumerate(vals):
                    cell = ws.cell(row, 3 + 2 * j, float(v))
                    cell.number_format = fmt
                    cell.font = grey
                row += 1
            for r in range(len(b.stat)):
                _safe_text(ws.cell(row, 2), b.category[r])
                fmt = "0.0" if b.stat[r] in ("pct", "net") else "0.00"
                for j in range(len(cols)):
                    x = 3 + 2 * j
                    if h[r, j]:
                        ws.cell(row, x, f"<{bn.suppress_below}" if h[r, j] == 1 else "x")
                        ws.cell(row, x).alignment = Alignment(horizontal="right")
                        continue
                    v = b.value[r, j]
                    if np.isfinite(v):
                        cell = ws.cell(row, x, float(v))
                        cell.number_format = fmt
                        if small_b[j]:
                            cell.font = grey
                    let = b.letters[r, j]
                    if let:
                        ws.cell(row, x + 1, str(let)).font = Font(color="B5179E", bold=True)
                row += 1
        row += 1
        for note in bn.footnotes:
            _safe_text(ws.cell(row, 1), note)
            ws.cell(row, 1).font = Font(italic=True, color="555555")
            row += 1
        ws.freeze_panes = "C6"
        ws.column_dimensions["A"].width = 28
        ws.column_dimensions["B"].width = 24
        for j in range(len(cols)):
            ws.column_dimensions[get_column_letter(3 + 2 * j)].width = 10
            ws.column_dimensions[get_column_letter(4 + 2 * j)].width = 5
    contents.column_dimensions["A"].width = 50
    wb.properties.creator = "survey"
    _save_reproducibly(wb, path)


def _save_reproducibly(wb, path) -> None:
    """Save an openpyxl workbook so the same content gives the same bytes.

    openpyxl stamps the save time into docProps/core.xml and every zip entry; both are
    replaced by a fixed date (2000-01-01).
    """
    import io
    import re
    import zipfile

    buf = io.BytesIO()
    wb.save(buf)
    fixed = b"2000-01-01T00:00:00Z"
    try:
        with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for info in zin.infolist():
                data = zin.read(info.filename)
                if info.filename == "docProps/core.xml":
                    data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                                  rb"\g<1>" + fixed + rb"\g<2>", data)
                zi = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(zi, data)
    except OSError as exc:
        raise AnalysisError(f"cannot write the banner workbook to {path}: {exc}") from exc


# ---------------------------------------------------------------------------------------
def _letters_for(n: int) -> list[str]:
    out = []
    for i in range(n):
        s, x = "", i
        while True:
            s = chr(65 + x % 26) + s
            x = x // 26 - 1
            if x < 0:
                break
        out.append(s)
    return out


def _suppress(b: _Block, columns: Sequence[dict], threshold: int) -> np.ndarray:
    """Primary and secondary suppression of one block (see :func:`banner`)."""
    R, C = b.n.shape
    hid = np.zeros((R, C), dtype=np.int8)
    if threshold <= 0 or R == 0:
        return hid
    countable = np.array([s in ("pct", "net") for s in b.stat])
    prim = countable[:, None] & (b.n > 0) & (b.n < threshold)
    hid[prim] = 1
    dist = np.flatnonzero(np.array([s == "pct" for s in b.stat]))
    partition = b.kind in ("single", "likert")
    by = np.array([c["by"] for c in columns], dtype=object)
    groups = [np.flatnonzero(by == g) for g in dict.fromkeys(by[1:])]

    def hide_one_more(cells_r: np.ndarray, cells_c: np.ndarray) -> bool:
        h = hid[cells_r, cells_c]
        if (h > 0).sum() != 1:
            return False
        cand = np.flatnonzero(h == 0)
        if cand.size == 0:
            return False
        nn = b.n[cells_r[cand], cells_c[cand]].astype(float)
        nn = np.where(nn > 0, nn, np.inf) if np.isfinite(np.where(nn > 0, nn, np.inf)).any() else nn
        k = cand[int(np.argmin(nn))]
        hid[cells_r[k], cells_c[k]] = 2
        return True

    changed = True
    while changed:
        changed = False
        if partition and dist.size:
            for c in range(C):  # categories of a column add up to its base
                changed |= hide_one_more(dist, np.full(dist.size, c))
        for r in dist:  # a row's by-columns add up to (about) its Total
            for g in groups:
                cells = np.r_[0, g]
                changed |= hide_one_more(np.full(cells.size, r), cells)
    # nets and Likert means would give a hidden cell back: hide them too
    for r, parts in enumerate(b.net_parts):
        if not parts:
            continue
        ph = hid[list(parts), :]
        if b.stat[r] == "net":
            reveal = ((ph > 0).sum(axis=0) == 1) & (hid[r] == 0)
        else:  # mean of a Likert item
            reveal = (ph > 0).any(axis=0)
        hid[r, reveal] = 2
    return hid


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
    survey : Survey or DataFrame.
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
    s = as_survey(survey, weight=weight)
    opts = _resolve_options(preset, correction, alpha, alpha_strict, letters, test, percent)
    correction, alpha, alpha_strict, letters, test, percent, scope = opts
    if isinstance(by, str):
        by = [by]
    if isinstance(rows, str):
        rows = [rows]
    rows, by = list(rows), list(by)
    if not rows:
        raise AnalysisError("banner() needs at least one row variable in rows=[...]")
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence must be between 0 and 1; got {confidence!r}")
    lang = language or s.language
    s_full, mask = s, None
    if where is not None:
        mask = _where_mask(s, where)
        s = s.replace(data=s.data.loc[mask],
                      missing=s.missing.loc[mask] if s.missing is not None else None)
    n = len(s.data)
    w = s.weights if s.is_weighted else None
    txt = _text(lang)
    if se is None:
        se = "design" if s.has_design else "effective"
    if se not in ("design", "effective"):
        raise AnalysisError(f"se must be 'design' or 'effective'; got {se!r}")
    design = None
    if se == "design" and test != "none" and n > 1:
        design = s.design_info() if mask is None else _domain_design(s_full, mask)
    srs = design.srs_scale() if design is not None else None

    arrays: dict = {}  # categorical arrays already looked up (no questionnaire)
    # --- columns ---------------------------------------------------------------------
    by_codes, by_sizes, columns = [], [], [
        {"by": "Total", "by_label": txt["total"], "category": txt["total"], "letter": ""}]
    for b in by:
        info = _info(s, b, lang, "by", arrays)
        if info.kind != "single":
            raise AnalysisError(
                f"banner column variable '{b}' must be single-choice (categorical); it is "
                f"{info.kind}. Hint: recode it into bands first (e.g. pandas.cut).")
        by_codes.append(_single_codes(s, b, info, lang, arrays))
        by_sizes.append(len(info.categories))
        for cat in info.categories:
            columns.append({"by": b, "by_label": info.label, "category": cat, "letter": ""})
    for c, let in zip(columns[1:], _letters_for(len(columns) - 1)):
        c["letter"] = let
    layout = eng.make_layout(by_codes, by_sizes, n)
    col_by = layout.col_by

    # --- rows: collect codes, count in one chunked pass --------------------------------
    specs = []  # (var, info, kind, position in items)
    base_returned: list[str] = []
    items: list[tuple[np.ndarray, int]] = []
    nets = nets or {}
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
    stacked = (eng.count_stacked(items, layout, w, cells=w is None, w2cells=srs is not None)
               if items else None)

    ctx = _Ctx(columns=columns, col_by=col_by, n_by=len(by), alpha=alpha,
               alpha_strict=alpha_strict if letters == "two-level" else None,
               correction=correction, scope=scope, test=test, min_base=min_base,
               percent=percent, zcrit=_norm_ppf(0.5 + confidence / 2), confidence=confidence,
               weighted=w is not None, letter=[c["letter"] for c in columns], txt=txt,
               se=se if design is not None else "effective",
               degf=design.degf if design is not None else None)
    tab = _assemble(ctx, specs, stacked, items, s, layout, w)
    dcov = None
    if design is not None:
        d_items, d_layout, d_s = items, layout, s
        if mask is not None:  # the domain inside the full design: rows outside left out (-1)
            d_items = [(_spread(c, mask), k) for c, k in items]
            d_layout = types.SimpleNamespace(by_codes=[_spread(c, mask) for c in layout.by_codes])
            d_s = s_full
        dcov = _design_cov(ctx, tab, specs, d_items, d_s, d_layout, stacked, design, srs)
    pairwise = _run_tests(ctx, tab, dcov)
    blocks = tab.blocks()

    notes = _footnotes(ctx, s, n, where is not None, suppress_below, min_base, preset,
                       base_returned)
    return Banner(
        blocks=tuple(blocks), columns=tuple(columns), alpha=alpha,
        alpha_strict=ctx.alpha_strict, correction=correction, test=test, min_base=min_base,
        suppress_below=suppress_below, percent=percent, weighted=w is not None,
        language=lang, notes=tuple(notes), name=title or "Banner", pairwise=pairwise,
    )


# --- helpers -------------------------------------------------------------------------------
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


def _resolve_options(preset, correction, alpha, alpha_strict, letters, test, percent):
    scope = "block"
    if preset is not None:
        p = str(preset).lower()
        if p == "spss":
            correction, scope = "bonferroni", "row"
        elif p == "q":
            correction, letters, alpha_strict = "bh", "two-level", 0.001
        else:
            raise AnalysisError(f"preset must be None, 'spss' or 'q'; got {preset!r}")
    key = str(correction).lower()
    if key not in _CORRECTIONS:
        raise AnalysisError(
            f"correction must be one of none, bonferroni, holm, bh; got {correction!r}")
    correction = _CORRECTIONS[key]
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be between 0 and 1; got {alpha!r}")
    if letters not in ("single", "two-level"):
        raise AnalysisError(f"letters must be 'single' or 'two-level'; got {letters!r}")
    if letters == "two-level" and not 0 < alpha_strict < alpha:
        raise AnalysisError(
            f"alpha_strict must be between 0 and alpha={alpha}; got {alpha_strict!r}")
    if test not in ("column_proportions", "none"):
        raise AnalysisError(f"test must be 'column_proportions' or 'none'; got {test!r}")
    if percent not in ("column", "row", "total"):
        raise AnalysisError(f"percent must be 'column', 'row' or 'total'; got {percent!r}")
    return correction, alpha, alpha_strict, letters, test, percent, scope


def _info(s: Survey, var: str, lang: str | None, role: str, cache: dict | None = None):
    if s.questionnaire is None and var in s.data.columns:
        arr = s.data[var].array
        if isinstance(arr, pd.Categorical):  # fast path of infer_var_info for categoricals
            if cache is not None:
                cache[var] = arr
            cats = tuple(map(str, arr.categories.tolist()))
            return VarInfo(name=var, label=var, kind="single", categories=cats, codes=cats,
                           ordered=bool(arr.ordered), columns=(var,),
                           measure="ordinal" if arr.ordered else "nominal")
    try:
        return s.var_info(var, language=lang)
    except AnalysisError as exc:
        cols = list(s.data.columns)
        hint = did_you_mean(var, cols)
        raise AnalysisError(
            f"banner {role} variable '{var}' is not in the data"
            + (f"; {hint}" if hint else f"; columns are {cols[:12]}")) from exc


def _single_codes(s: Survey, var: str, info, lang: str | None,
                  cache: dict | None = None) -> np.ndarray:
    """Integer codes (-1 missing) of a single-choice variable, as small ints.

    Fast path for a categorical column that matches its VarInfo; otherwise
    :func:`survey.core.survey.category_codes`.
    """
    arr = (cache or {}).get(var)
    if arr is None:
        arr = (s.data[info.columns[0]] if info.columns else s.data[var]).array
    if isinstance(arr, pd.Categorical) and len(arr.categories) == len(info.categories):
        codes = arr.codes
    else:
        codes = category_codes(s, var, language=lang)[0]
    if codes.dtype.itemsize > 1 and len(info.categories) < 127:
        codes = codes.astype(np.int8)
    return codes


def _where_mask(s: Survey, where: Any) -> np.ndarray:
    if isinstance(where, str) or callable(where):
        raise AnalysisError(
            "where= takes a boolean mask (array or Series) aligned with the data; got "
            f"{type(where).__name__}. Hint: where=s.data['rank'] == '科级'.")
    mask = np.asarray(where.to_numpy() if isinstance(where, pd.Series) else where)
    if mask.shape != (len(s.data),):
        raise AnalysisError(
            f"where= mask has shape {mask.shape}; expected ({len(s.data)},) to match the data")
    if mask.dtype != bool:
        try:
            mask = pd.array(mask, dtype="boolean").fillna(False).to_numpy(dtype=bool)
        except (TypeError, ValueError) as exc:
            raise AnalysisError("where= must hold booleans") from exc
    return mask


def _domain_design(full: Survey, mask: np.ndarray):
    """The design of ``full`` for the domain ``mask`` with R ``subset()`` semantics: every
    row and sampling unit (and any calibration or replicate weights) stays in the variance,
    rows outside the domain enter with weight 0 (their cell codes are -1); the degrees of
    freedom are the domain's (R ``degf(subset(design, ...))``). A stratum with a single PSU
    is refused here (R's lonely-PSU rules on a domain see only the strata it reaches; the
    banner's covariance paths do not carry that), naming the estimators that handle it."""
    from .estimates import _subset_degf

    design = full.design_info()
    if design.has_lonely and not mask.all():
        raise AnalysisError(
            "banner: where= with design-based letters is not available when a stratum has a "
            "single PSU (the lonely-PSU rule would have to see only the domain's strata). "
            "Hint: use sv.proportions / sv.mean / sv.crosstab with where= (they apply R's "
            "rule on the domain), or se='effective'.")
    return dataclasses.replace(design, _degf=int(_subset_degf(design, mask)))


def _spread(codes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Codes of the domain's rows placed back among all rows; -1 (left out) elsewhere."""
    out = np.full(mask.size, -1, dtype=codes.dtype)
    out[mask] = codes
    return out


def _is_likert(var: str, info, likert) -> bool:
    if likert is True or likert is False:
        return bool(likert)
    if likert == "auto":
        return bool(info.ordered) and 4 <= len(info.categories) <= 11
    return var in set(likert)


def _member_index(var: str, info, members: Sequence[str]) -> list[int]:
    out = []
    for m in members:
        m = str(m)
        if m in info.categories:
            out.append(info.categories.index(m))
        elif m in info.codes:
            out.append(info.codes.index(m))
        else:
            hint = did_you_mean(m, list(info.categories) + list(info.codes))
            raise AnalysisError(
                f"net of '{var}': '{m}' is not one of its categories {list(info.categories)}"
                + (f"; {hint}" if hint else ""))
    return out


def _multi_matrix(s: Survey, info) -> tuple[np.ndarray, np.ndarray]:
    cols = list(info.columns)
    missing = [c for c in cols if c not in s.data.columns]
    if missing:
        raise AnalysisError(f"multiple-response '{info.name}': columns {missing} not in the data")
    sel = np.empty((len(s.data), len(cols)), dtype=bool)
    answered = np.zeros(len(s.data), dtype=bool)
    for i, c in enumerate(cols):
        col = s.data[c]
        na = col.isna().to_numpy()
        vals = col.to_numpy(dtype=float, na_value=0.0) if not pd.api.types.is_bool_dtype(
            col.dtype) or na.any() else col.to_numpy(dtype=float)
        sel[:, i] = vals > 0
        answered |= ~na
    return sel, answered


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


_ZH_CORRECTION = {"none": "未作多重比较校正", "bonferroni": "Bonferroni 校正",
                  "holm": "Holm 校正", "bh": "Benjamini-Hochberg（FDR）校正"}


def _footnotes(ctx, s, n, filtered, suppress_below, min_base, preset, base_returned=()):
    lang = ctx.txt.get("language")
    if lang != "en":
        notes = _footnotes_zh(ctx, s, n, filtered, suppress_below, min_base, preset,
                              base_returned)
        return notes if lang == "zh-Hans" else [_to_hant(x) for x in notes]
    notes = []
    if ctx.test == "none":
        notes.append("No significance tests.")
    else:
        lev = (f"upper case p < {ctx.alpha_strict:g}, lower case p < {ctx.alpha:g}"
               if ctx.alpha_strict is not None else f"p < {ctx.alpha:g}")
        scope = ("within each row of each by variable (as SPSS)" if ctx.scope == "row"
                 else "within each row variable x by variable block")
        notes.append(
            "Letters mark the columns of the same banner variable that a cell is significantly "
            f"higher than ({lev}, two-sided): pooled two-proportion z-tests for percentages, "
            f"Welch t-tests for means; {_CORRECTION_TEXT[ctx.correction]} {scope}"
            + (f" (preset '{preset}')" if preset else "") + ". The Total column is not tested.")
    notes.append(
        f"Base: respondents who answered each question ({n:,} rows"
        + (" after the where= filter" if filtered else "")
        + "); multiple-response percentages are of respondents who answered the question "
        "and can add up to more than 100%"
        + (f" (for {', '.join(base_returned)}, as the template asks: of all {n:,} returned "
           "forms, non-answers included)" if base_returned else "")
        + ". Percentages are "
        + {"column": "column", "row": "row", "total": "table"}[ctx.percent] + " percentages.")
    if ctx.se == "design":
        notes.append(
            ("Weighted by '" + str(s.weight) + "'. " if ctx.weighted else "")
            + "Tests use design-based (Taylor linearised) standard errors of the differences "
            f"of column proportions and means (weights, strata, clusters), t with {ctx.degf} "
            "design degrees of freedom (#PSU - #strata), as R's survey (svyby + svycontrast).")
    elif ctx.weighted:
        notes.append(
            f"Weighted by '{s.weight}'. Tests use Kish's effective base (sum w)^2 / sum w^2 per "
            "column; strata and clusters are not taken into account in the letters.")
    else:
        notes.append("Unweighted.")
    notes.append(f"Columns with a base below {min_base} are not tested and are shown in grey.")
    if suppress_below > 0:
        notes.append(
            f"Counts below {suppress_below} are shown as <{suppress_below}; cells marked x are "
            "hidden so that those counts cannot be recovered from totals, nets or means.")
    return notes


def _footnotes_zh(ctx, s, n, filtered, suppress_below, min_base, preset, base_returned):
    notes = []
    if ctx.test == "none":
        notes.append("未作显著性检验。")
    else:
        lev = (f"大写字母 p < {ctx.alpha_strict:g}，小写字母 p < {ctx.alpha:g}"
               if ctx.alpha_strict is not None else f"p < {ctx.alpha:g}")
        scope = ("在每个分组变量的每一行内（同 SPSS）" if ctx.scope == "row"
                 else "在每个行变量 × 分组变量的区块内")
        notes.append(
            f"字母表示该格显著高于同一分组变量中的哪些列（{lev}，双侧）：百分比用合并比例的双样本 "
            f"z 检验，均值用 Welch t 检验；{scope}作 {_ZH_CORRECTION[ctx.correction]}"
            + (f"（预设 '{preset}'）" if preset else "") + "。合计列不参与检验。")
    notes.append(
        f"样本量：各题作答者（{n:,} 行" + ("，已按 where= 筛选" if filtered else "")
        + "）；多选题百分比以该题作答者为基数，各项之和可超过100%"
        + (f"（{'、'.join(base_returned)} 按模板以全部 {n:,} 份回收问卷为基数，含未作答）"
           if base_returned else "")
        + "。百分比为" + {"column": "列", "row": "行", "total": "总"}[ctx.percent] + "百分比。")
    if ctx.se == "design":
        notes.append((f"按 '{s.weight}' 加权。" if ctx.weighted else "")
                     + "检验用基于抽样设计的标准误（泰勒线性化，考虑权重、分层与整群），"
                     f"t 分布自由度 {ctx.degf}（PSU 数 − 层数），同 R survey 包。")
    elif ctx.weighted:
        notes.append(f"按 '{s.weight}' 加权。检验用各列的 Kish 有效样本量 (Σw)²/Σw²；"
                     "字母检验未考虑分层与整群抽样。")
    else:
        notes.append("未加权。")
    notes.append(f"样本量低于 {min_base} 的列不作检验，以灰色显示。")
    if suppress_below > 0:
        notes.append(f"少于 {suppress_below} 的频数显示为 <{suppress_below}；标 x 的格也被隐藏，"
                     "以免由合计、合并项或均值推算出被隐藏的频数。")
    return notes


# Simplified -> Traditional for the characters of the footnotes above (not a general converter)
_HANT = str.maketrans("显检验样类数为该组变双侧区块内计与设预选题项过筛总权层频标隐并个这时单问误参于务业专据较写线准虑",
                      "顯檢驗樣類數為該組變雙側區塊內計與設預選題項過篩總權層頻標隱併個這時單問誤參於務業專據較寫線準慮")


def _to_hant(text: str) -> str:
    """zh-Hans footnote text in Traditional characters (only the characters used here)."""
    return text.translate(_HANT)
