"""Untrusted text leaving the toolkit: Markdown/HTML reports, spreadsheets and CSV files.

Labels come from shared templates, answers from respondents and platforms: both are text, never
markup or formulas. Every writer passes its strings through one of these helpers.

* :func:`md_text` - a string shown as literal text in Markdown (reports, ``_repr_markdown_``).
* :func:`guard_text` / :func:`unguard_text` - the spreadsheet guard of CSV cells (a leading
  apostrophe before ``= + - @`` tab or CR), undone on read.
* :func:`xlsx_text` and :func:`put_cell` - a string cell of an ``.xlsx`` sheet: quote prefix for
  formula-like text, characters XML cannot hold replaced (and counted).
* :func:`guard_frame` - a copy of a frame whose header and string cells are guarded for CSV.
"""

from __future__ import annotations

import html
import re
from typing import Any

#: first characters that make Excel, LibreOffice or Sheets read text as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: characters XML 1.0 (and so .xlsx) cannot hold: C0 controls except tab, LF, CR, and the
#: noncharacters U+FFFE, U+FFFF
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_GUARDED = re.compile(r"'[=+\-@\t\r]")
#: Markdown punctuation that can open a construct anywhere in a line
_MD_INLINE = re.compile(r"([\\`*_\[\]{}()!|~$])")
#: constructs that only open at the start of a line (heading, quote, list, rule, setext)
_MD_LINE_START = re.compile(r"^(\s*)(#{1,6}|[+-]|\d{1,9}[.)]|=+|-+)(?=\s|$)")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def md_text(value: Any) -> str:
    """``value`` as literal text inside Markdown: no HTML, link, image, emphasis or heading.

    HTML special characters become entities, Markdown punctuation is backslash-escaped and line
    breaks become spaces, so the text stays on its line (a heading, a table cell, a list item).

    >>> md_text("Sex <iframe src='file:///etc/passwd'>")
    "Sex &lt;iframe src='file:///etc/passwd'&gt;"
    >>> md_text("[x](javascript:alert(1))")
    '\\\\[x\\\\]\\\\(javascript:alert\\\\(1\\\\)\\\\)'
    >>> md_text("# Injected\\n\\n| fake |")
    '\\\\# Injected \\\\| fake \\\\|'
    >>> md_text(0.05), md_text("-5"), md_text("1. first")
    ('0.05', '-5', '1\\\\. first')
    """
    text = _LINE_BREAKS.sub(" ", "" if value is None else str(value))
    text = _MD_INLINE.sub(r"\\\1", text)
    text = html.escape(text, quote=False)
    return _MD_LINE_START.sub(_escape_marker, text)


def _escape_marker(m: re.Match) -> str:
    marker = m.group(2)
    if marker[0].isdigit():  # "1." -> "1\." (a backslash before a digit is no escape)
        return m.group(1) + marker[:-1] + "\\" + marker[-1]
    return m.group(1) + "\\" + marker


def same_file(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` name one existing file (links and ``..`` included).

    >>> same_file(__file__, __file__), same_file(__file__, "no-such-file")
    (True, False)
    """
    import os

    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except (OSError, TypeError, ValueError):
        return False


def is_formula_like(value: Any) -> bool:
    """True for text a spreadsheet would evaluate.

    >>> is_formula_like("=1+1"), is_formula_like("-3 days"), is_formula_like("ok"), is_formula_like(-3)
    (True, True, False, False)
    """
    return isinstance(value, str) and value.startswith(FORMULA_START)


def guard_text(value: Any) -> Any:
    """A CSV cell: a leading apostrophe before formula-like text (other values unchanged).

    >>> guard_text("=SUM(A1)"), guard_text("ok"), guard_text(3)
    ("'=SUM(A1)", 'ok', 3)
    """
    return "'" + value if is_formula_like(value) else value


def unguard_text(value: Any) -> Any:
    """Undo :func:`guard_text` on read.

    >>> unguard_text("'=SUM(A1)"), unguard_text("'quoted"), unguard_text(guard_text("-5 days"))
    ('=SUM(A1)', "'quoted", '-5 days')
    """
    return value[1:] if isinstance(value, str) and _GUARDED.match(value) else value


def xml_clean(text: str) -> tuple[str, int]:
    """(``text`` with characters illegal in XML replaced by U+FFFD, number replaced).

    >>> xml_clean("a\\x0bb\\x00")
    ('a\ufffdb\ufffd', 2)
    """
    return XML_ILLEGAL.subn("\ufffd", text)


def put_cell(cell: Any, value: Any) -> int:
    """Store ``value`` in an openpyxl cell; strings never become formulas.

    Formula-like text gets Excel's quote prefix (the text is kept; Excel shows it as typed),
    characters XML cannot hold are replaced by U+FFFD. Returns the number of replaced
    characters, so the writer can report them.
    """
    if not isinstance(value, str):
        cell.value = value
        return 0
    text, changed = xml_clean(value)
    cell.value = text
    cell.data_type = "s"
    if is_formula_like(text):
        cell.quotePrefix = True
    return changed


def append_row(ws: Any, values: Any) -> int:
    """Append a row to an openpyxl sheet with every string guarded (see :func:`put_cell`).

    Returns the number of characters replaced because XML cannot hold them.
    """
    from openpyxl.cell.cell import Cell

    changed, cells = 0, []
    for value in values:
        cell = Cell(ws)
        changed += put_cell(cell, value)
        cells.append(cell)
    # the cells are built guarded and appended as they are: looking the new row up again
    # (``ws[ws.max_row]``) scans every cell of the sheet, which made a report of 110,000
    # problems take hours
    ws.append(cells)
    return changed


def write_frame_sheet(ws: Any, frame: Any, *, index: bool = False) -> int:
    """Write a DataFrame (header row first) to an openpyxl sheet, every string guarded."""
    import pandas as pd

    if index:
        frame = frame.reset_index()
    changed = append_row(ws, [str(c) for c in frame.columns])
    for rec in frame.itertuples(index=False):
        row = []
        for v in rec:
            if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
                row.append(None)
            elif hasattr(v, "item") and not isinstance(v, str):
                row.append(v.item())
            elif isinstance(v, pd.Timestamp):
                row.append(v.to_pydatetime())
            else:
                row.append(v if isinstance(v, (str, int, float, bool)) else str(v))
        changed += append_row(ws, row)
    return changed


def write_csv(frame: Any, path: Any = None, *, index: bool = False, **options: Any) -> Any:
    """``frame.to_csv`` with the header and every text cell guarded (:func:`guard_frame`);
    returns the text when ``path`` is None, else the number of guarded cells."""
    safe, count = guard_frame(frame, index=index)
    options.setdefault("lineterminator", "\n")
    text = safe.to_csv(path, index=False, **options)
    return text if path is None else count


def write_xlsx(sheets: dict, path: Any) -> int:
    """Write ``{sheet name: DataFrame}`` to an ``.xlsx`` workbook, every string guarded
    (:func:`write_frame_sheet`); returns the number of characters XML could not hold."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    changed = 0
    for name, frame in sheets.items():
        changed += write_frame_sheet(wb.create_sheet(str(name)[:31]), frame)
    wb.save(path)
    return changed


def guard_frame(frame: Any, *, index: bool = False) -> tuple[Any, int]:
    """(a copy of ``frame`` ready for CSV, number of guarded cells): header and every text cell.

    >>> import pandas as pd
    >>> out, n = guard_frame(pd.DataFrame({"=h": ["=1+1", "ok"], "n": [-1, 2]}))
    >>> list(out.columns), out["'=h"].tolist(), out["n"].tolist(), n
    (["'=h", 'n'], ["'=1+1", 'ok'], [-1, 2], 2)
    """
    if index:
        frame = frame.reset_index()
    import pandas as pd

    count = sum(is_formula_like(str(c)) for c in frame.columns)
    columns = []
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        if not pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col):
            values = col.astype(object)
            mask = values.map(is_formula_like).astype(bool)
            if mask.any():
                count += int(mask.sum())
                col = values.where(~mask, "'" + values.astype(str))
        columns.append(col.reset_index(drop=True))
    out = pd.concat(columns, axis=1, ignore_index=True) if columns else frame.copy()
    out.index = frame.index
    out.columns = [guard_text(str(c)) if is_formula_like(str(c)) else c for c in frame.columns]
    return out, count
