"""Reading XLSForm workbooks (``.xlsx`` with openpyxl, ``.xls`` with xlrd) and their type column.

Reading costs what the cells holding data cost: like pyxform, a sheet's header stops after 20
empty columns and its rows after 60 empty rows, so a used range of 1,048,576 x 1,024 formatted
empty cells is never walked (pyxform, and hence ODK, ignores anything beyond such a gap too).
"""

from __future__ import annotations

import datetime as _dt
import re
import threading
from pathlib import Path

from ..errors import QuestionnaireError

MAX_EMPTY_COLS = 20   # pyxform xls2json_backends.get_excel_column_headers
MAX_EMPTY_ROWS = 60   # pyxform xls2json_backends.get_excel_rows
SHEETS = ("survey", "choices", "settings", "external_choices", "entities", "osm")

Rows = list[tuple[int, dict]]


# --- cells ----------------------------------------------------------------------------------------
def cell_value(v):
    """A cell as the reader wants it: None when empty, stripped text, int for whole floats."""
    if v is None:
        return None
    if isinstance(v, str):
        v = v.replace("\xa0", " ").strip()
        return v or None
    if isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, _dt.datetime) and v.time() == _dt.time(0):
        return v.date().isoformat()
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v.isoformat()
    return v


def _header(values, file: str, sheet: str) -> list[str | None]:
    out: list[str | None] = []
    empty = 0
    for v in values:
        v = cell_value(v)
        if v is None:
            out.append(None)
            if empty == MAX_EMPTY_COLS:
                break
            empty += 1
            continue
        empty = 0
        text = re.sub(r"\s+", " ", str(v))
        if text in out:
            raise QuestionnaireError(
                f"{file}, sheet '{sheet}', row 1, column {_col_letter(len(out))}: expected "
                f"each column header once, found {text!r} again. Hint: remove or rename one of "
                "the two columns")
        out.append(text)
    while out and out[-1] is None:
        out.pop()
    return out


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _rows(header: list, rows, start: int = 2) -> Rows:
    keys = [(j, h) for j, h in enumerate(header) if h]
    out: Rows = []
    empty = 0
    for n, values in enumerate(rows, start=start):
        row = {}
        for j, h in keys:
            if j < len(values):
                v = cell_value(values[j])
                if v is not None:
                    row[h] = v
        if not row:
            if empty == MAX_EMPTY_ROWS:
                break
            empty += 1
            continue
        empty = 0
        out.append((n, row))
    return out


def _load_xlsx(path: Path, *, data_only: bool = True):
    """openpyxl's read-only workbook, without its up-front size scan of every sheet.

    A sheet without a ``<dimension>`` element makes openpyxl parse all its XML just to size
    it (1-2 s for a 500 KB sheet of formatted empty cells); rows are read lazily anyway. Left
    unsized, a row missing from the XML reads as ``()``, not as a tuple as wide as the
    declared dimension (a form saved with ``A1:AMJ1048576`` padded every row to 1,024 cells).
    ``data_only=False`` gives the formulas instead of their saved results.
    """
    import openpyxl.reader.excel as excel
    from openpyxl import load_workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class _Unsized(ReadOnlyWorksheet):
        def _get_size(self):
            pass

    with _PATCH_LOCK:
        excel.ReadOnlyWorksheet = _Unsized
        try:
            return load_workbook(path, read_only=True, data_only=data_only)
        finally:
            excel.ReadOnlyWorksheet = ReadOnlyWorksheet


_PATCH_LOCK = threading.Lock()


def _xlsx_sheets(path: Path):
    wb = _load_xlsx(path)
    try:
        for ws in wb.worksheets:
            it = ws.iter_rows(values_only=True)
            first = next(it, None)
            if first is None:
                yield ws.title, None, []
                continue
            yield ws.title, first, ws.iter_rows(min_row=2, values_only=True,
                                                max_col=max(len(first), 1))
    finally:
        wb.close()


def _xls_sheets(path: Path):
    import xlrd

    book = xlrd.open_workbook(str(path), on_demand=True)
    try:
        for sh in book.sheets():
            if sh.nrows == 0:
                yield sh.name, None, []
                continue

            def values(r, sh=sh):
                out = []
                for c in sh.row(r):
                    if c.ctype == xlrd.XL_CELL_DATE:
                        try:
                            out.append(xlrd.xldate_as_datetime(c.value, book.datemode))
                        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                            out.append(c.value)
                    elif c.ctype == xlrd.XL_CELL_BOOLEAN:
                        out.append(bool(c.value))
                    else:
                        out.append(c.value)
                return out

            yield sh.name, values(0), (values(r) for r in range(1, sh.nrows))
    finally:
        book.release_resources()


def read_sheets(path: Path) -> dict[str, Rows]:
    """Sheets as ``{name: [(excel row number, {header: value})]}``; headers not yet normalised.

    Sheet names are lower-cased (as pyxform does), except ``_``-prefixed ones; a workbook with
    a single sheet of another name is read as its ``survey`` (as pyxform does).
    """
    file = str(path)
    xls = path.suffix.lower() == ".xls"
    try:
        sheets = list(_read(path, xls, file))
        if not xls:
            _refuse_uncomputed_formulas(path, file)
    except QuestionnaireError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl/xlrd/zipfile raise many kinds
        kind = "an .xls (Excel 97-2003)" if xls else "an .xlsx"
        raise QuestionnaireError(
            f"{file}: expected {kind} XLSForm workbook, found a file that cannot be read "
            f"({type(exc).__name__}: {exc}). Hint: open it in Excel or LibreOffice and save it "
            "again as .xlsx") from None
    out: dict[str, Rows] = {}
    for title, rows in sheets:
        name = title if title.startswith("_") else title.strip().lower()
        out[name] = rows
    if len(out) == 1 and "survey" not in out and not next(iter(out)).startswith("_"):
        out = {"survey": next(iter(out.values()))}
    return out


def _refuse_uncomputed_formulas(path: Path, file: str) -> None:
    """A formula cell with no saved result reads as blank (openpyxl keeps only the cached
    value); in a form that is a silently lost name, label or expression, so it is refused.
    (``.xls`` files always carry results.)"""
    from ..ingest.read import _has_uncached_formulas

    if not _has_uncached_formulas(path):
        return
    values = _load_xlsx(path)
    formulas = _load_xlsx(path, data_only=False)  # unsized: see _load_xlsx
    try:
        found = []
        for ws in formulas.worksheets:
            cached = values[ws.title].iter_rows(values_only=True)
            for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
                have = next(cached, ())
                found += [f"sheet {ws.title!r}, cell {_col_letter(j)}{n}: {v[:60]}"
                          for j, v in enumerate(row) if isinstance(v, str) and v.startswith("=")
                          and (j >= len(have) or have[j] is None)]
    finally:
        formulas.close()
        values.close()
    if found:
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise QuestionnaireError(
            f"{file}: expected a value in every cell, found {len(found)} formula(s) with no "
            f"saved result, which would read as blank: {'; '.join(found[:5])}{more}. Hint: "
            "open and save the file in Excel or LibreOffice to compute them, or type the "
            "values")


def _read(path: Path, xls: bool, file: str):
    for title, first, rows in (_xls_sheets(path) if xls else _xlsx_sheets(path)):
        if first is None:
            yield title, []
            continue
        sheet = title.strip()
        header = _header(first, file, sheet)
        yield title, _rows(header, rows) if header else []


# --- the type column --------------------------------------------------------------------------
# pyxform aliases.select, in pyxform's order (a regex alternation tries them in turn)
_SELECT = {
    "add select one prompt using": "select_one", "add select multiple prompt using":
    "select_multiple", "select all that apply from": "select_multiple", "select one from":
    "select_one", "select1": "select_one", "select_one": "select_one", "select one":
    "select_one", "select_multiple": "select_multiple", "select all that apply":
    "select_multiple", "select_one_external": "select_one external",
    "select_one_from_file": "select_one file", "select_multiple_from_file":
    "select_multiple file", "select one from file": "select_one file",
    "select multiple from file": "select_multiple file", "rank": "rank",
}
_SELECT_RE = re.compile(
    r"^(?P<cmd>" + "|".join(re.escape(k) for k in _SELECT) + r") (?P<list>\S+)"
    r"(?: (?P<other>or specify other|or_other|or other))?$")
_CONTROL = {"group": "group", "lgroup": "repeat", "repeat": "repeat", "loop": "loop",
            "looped group": "repeat"}
_BEGIN_RE = re.compile(r"^begin[\s_](?P<kind>" + "|".join(_CONTROL) +
                       r")(?: (?:over )?(?P<list>\S+))?$")
_END_RE = re.compile(r"^end[\s_](?P<kind>" + "|".join(_CONTROL) + r")$")
_OSM_RE = re.compile(r"^osm (?P<list>\S+)$")

# pyxform types that are another spelling of one of the model's types (same XForm)
_PLAIN_ALIASES = {
    "q picture": "image", "photo": "image", "q image": "image", "add image prompt": "image",
    "add photo prompt": "image", "add date time prompt": "datetime", "q date time": "datetime",
    "dateTime": "datetime", "add dateTime prompt": "datetime", "q dateTime": "datetime",
    "date time": "datetime", "add audio prompt": "audio", "q audio": "audio",
    "get phone number": "phonenumber", "get start time": "start", "start time": "start",
    "add note prompt": "note", "q note": "note", "q calculate": "calculate",
    "add calculate prompt": "calculate", "q acknowledge": "acknowledge",
    "add acknowledge prompt": "acknowledge", "location": "geopoint", "q geopoint": "geopoint",
    "q location": "geopoint", "gps": "geopoint", "add location prompt": "geopoint",
    "string": "text", "q string": "text", "add text prompt": "text", "get sim id": "simserial",
    "sim id": "simserial", "imei": "deviceid", "device id": "deviceid",
    "get device id": "deviceid", "q int": "integer", "int": "integer",
    "add integer prompt": "integer", "subscriber id": "subscriberid",
    "get subscriber id": "subscriberid", "add decimal prompt": "decimal", "q decimal": "decimal",
    "q geoshape": "geoshape", "q geotrace": "geotrace", "get today": "today",
    "add video prompt": "video", "q video": "video", "get end time": "end", "end time": "end",
    "q barcode": "barcode", "add barcode prompt": "barcode", "add date prompt": "date",
    "q date": "date", "add file prompt": "file",
}


def parse_type(t: str) -> dict:
    """The meaning of an XLSForm ``type`` cell.

    Returns ``{"kind": "begin"|"end", "structure": group|repeat|loop, "list": ...}`` for
    structure rows, else ``{"kind": "question", "type": ..., "list": ..., "or_other": bool,
    "source": None|"external"|"file"}``; ``type`` is None when pyxform would not know it.
    """
    t = re.sub(r"\s+", " ", t.strip())
    low = t.lower()
    m = _BEGIN_RE.match(low)
    if m:
        lst = _orig(t, m.group("list"))
        return {"kind": "begin", "structure": _CONTROL[m.group("kind")], "list": lst}
    m = _END_RE.match(low)
    if m:
        return {"kind": "end", "structure": _CONTROL[m.group("kind")]}
    m = _SELECT_RE.match(t) or _SELECT_RE.match(_lower_cmd(t))
    if m:
        base, _, source = _SELECT[m.group("cmd")].partition(" ")
        return {"kind": "question", "type": base, "list": m.group("list"),
                "or_other": bool(m.group("other")), "source": source or None}
    m = _OSM_RE.match(t)
    if m:
        return {"kind": "question", "type": "osm", "list": m.group("list"), "or_other": False,
                "source": None}
    return {"kind": "question", "type": canonical_type(t), "list": None, "or_other": False,
            "source": None, "written": t}


def _orig(t: str, low_part: str | None) -> str | None:
    if low_part is None:
        return None
    i = t.lower().rfind(low_part)
    return t[i:i + len(low_part)]


def _lower_cmd(t: str) -> str:
    head, sep, rest = t.rpartition(" ")
    return f"{head.lower()}{sep}{rest}" if sep else t.lower()


def canonical_type(t: str) -> str | None:
    """The model's spelling of a plain (non-select) XLSForm type, None if unknown."""
    from .model import QUESTION_TYPES, XLSFORM_ONLY_TYPES

    for cand in (t, t.lower()):
        if cand in QUESTION_TYPES or cand in XLSFORM_ONLY_TYPES:
            return cand
        if cand in _PLAIN_ALIASES:
            return _PLAIN_ALIASES[cand]
    return None


def known_type_names() -> list[str]:
    """Every type spelling the reader knows (for 'did you mean' hints)."""
    from .model import QUESTION_TYPES

    return [*QUESTION_TYPES, *_PLAIN_ALIASES, *_SELECT, "begin_group", "begin_repeat"]
