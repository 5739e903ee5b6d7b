"""Write a `Survey` out: SPSS, Stata, Parquet, CSV, Excel.

Every writer returns a `WrittenFile` (path, rows, columns, notes) whose notes say what had to
be shortened or renamed to fit the format (SPSS value labels are at most 120 bytes, about 40
Chinese characters; Stata names at most 32 characters).

Coded answers are written as numbers with value labels (the choice's ``code``, or its name
when numeric, else 1..k in template order); the reason a cell is missing (``Survey.missing``)
is written as the template's missing code and declared as user-missing in SPSS.
Text that starts with ``= + - @``, a tab or a carriage return is written to Excel as a text
cell with the quote prefix and to CSV with a leading apostrophe.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import i18n
from ..core.safety import (
    XML_ILLEGAL,
    append_row,
    guard_frame,
    guard_text,
    is_formula_like,
    put_cell,
)
from ..errors import IngestError, format_problem
from ._spec import FieldSpec, TemplateSpec, template_spec

SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
META_KEY = b"survey"


@dataclasses.dataclass(frozen=True)
class WrittenFile:
    """What a writer wrote, and what it had to change to fit the format."""

    path: str
    format: str
    rows: int
    columns: int
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        extra = f", {len(self.notes)} notes" if self.notes else ""
        return f"<WrittenFile: {self.format} {self.path} ({self.rows} rows x {self.columns} columns{extra})>"


# ------------------------------------------------------------------------------------------
def truncate_bytes(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes on a character boundary.

    >>> truncate_bytes("基层干部培训", 7)
    '基层'
    """
    b = text.encode("utf-8")
    if len(b) <= limit:
        return text
    return b[:limit].decode("utf-8", errors="ignore")


def neutralize(value: Any) -> Any:
    """A leading apostrophe for text a spreadsheet would take as a formula.

    >>> neutralize("=SUM(A1)"), neutralize("-3 days"), neutralize("ok")
    ("'=SUM(A1)", "'-3 days", 'ok')
    """
    return guard_text(value)


def _spec(survey) -> TemplateSpec | None:
    q = getattr(survey, "questionnaire", None)
    return template_spec(q) if q is not None else None


def _lang(survey, language: str | None, spec: TemplateSpec | None) -> str | None:
    return language or getattr(survey, "language", None) or (spec.default_language if spec else None)


def _codes_of(f: FieldSpec) -> list[float]:
    codes = [c.code for c in f.choices]
    if all(c is not None for c in codes) and len(set(codes)) == len(codes):
        return [float(c) for c in codes]
    return [float(i + 1) for i in range(len(f.choices))]


def _py(v: float) -> int | float:
    return int(v) if float(v).is_integer() else float(v)


def _multi_columns(survey, f: FieldSpec) -> list[tuple[str, str]]:
    """(data column, choice name) of a multiple-choice question, in choice order."""
    try:
        info = survey.var_info(f.name)
        cols = list(info.columns)
        codes = list(info.codes)
        if info.kind == "multi" and len(cols) == len(codes):
            return [(c, n) for c, n in zip(cols, codes) if c in survey.data.columns]
    except Exception:  # noqa: BLE001 - fall back to the naming convention
        pass
    return [(f"{f.name}_{c.name}", c.name) for c in f.choices
            if f"{f.name}_{c.name}" in survey.data.columns]


def col_of(f: FieldSpec) -> str:
    """The typed data column of a (non-multi) question (an "other" text may be renamed)."""
    return f.columns[0] if len(f.columns) == 1 else f.name


def _missing_codes(survey, f: FieldSpec | None, name: str) -> pd.Series | None:
    m = getattr(survey, "missing", None)
    if m is None or f is None or f.name not in getattr(m, "columns", ()):
        return None
    return pd.to_numeric(m[f.name], errors="coerce")


def _coded_frame(survey, *, language: str | None, numeric_multi: bool = True):
    """Data as numbers + value labels (the SPSS/Stata shape).

    Returns frame, variable labels, value labels, missing code per variable, notes.
    """
    spec = _spec(survey)
    lang = _lang(survey, language, spec)
    data = survey.data
    out: dict[str, Any] = {}
    var_labels: dict[str, str] = {}
    value_labels: dict[str, dict] = {}
    missing: dict[str, list[float]] = {}
    owner: dict[str, str] = {}  # column -> question whose missing codes it holds
    used: set[str] = set()
    fields = {col_of(f): f for f in spec.fields if f.kind != "multi"} if spec else {}
    scheme = survey.missing_scheme

    def mlabel(code: float, var: str) -> str:
        return scheme.label(code, var, language=lang)

    def add_missing(col: str, vals: np.ndarray, reasons: pd.Series | None,
                    var: str) -> np.ndarray:
        r = np.full(len(vals), np.nan) if reasons is None else reasons.to_numpy(dtype=float)
        fill = np.isnan(vals) & ~np.isnan(r)
        declared = {float(m.code) for m in scheme.for_var(var)}  # declared even when unused
        if fill.any() or declared:
            vals = vals.copy()
            vals[fill] = r[fill]
            present = sorted({float(x) for x in r[fill]} | declared)
            missing[col] = present
            value_labels.setdefault(col, {})
            for code in present:
                value_labels[col][_py(code)] = mlabel(code, var)
                owner[col] = var
        return vals

    for f in (spec.fields if spec else ()):
        if f.kind == "single" and col_of(f) in data.columns:
            s = data[col_of(f)]
            codes = _codes_of(f)
            names = [c.name for c in f.choices]
            if isinstance(s.dtype, pd.CategoricalDtype):
                info = survey.var_info(f.name)
                pos = {lab: i for i, lab in enumerate(info.categories)}
                pos.update({c: i for i, c in enumerate(info.codes)})
                cat_to = np.array([codes[pos[c]] if c in pos and pos[c] < len(codes) else np.nan
                                   for c in map(str, s.cat.categories)] + [np.nan])
                vals = cat_to[s.cat.codes.to_numpy()]
            else:
                look = {n: codes[i] for i, n in enumerate(names)}
                vals = s.astype("string").map(look).astype(float).to_numpy()
            out[col_of(f)] = add_missing(col_of(f), vals, _missing_codes(survey, f, f.name),
                                         f.name)
            labels = {_py(codes[i]): c.label(lang) for i, c in enumerate(f.choices)}
            value_labels[col_of(f)] = {**labels, **value_labels.get(col_of(f), {})}
            var_labels[col_of(f)] = f.label(lang, short=True)
            used.add(col_of(f))
        elif f.kind == "multi":
            cols = _multi_columns(survey, f)
            reasons = _missing_codes(survey, f, f.name)
            off, on = i18n.text("data.selected_labels", i18n.normalize_language(lang, strict=False))
            for col, cname in cols:
                s = data[col]
                vals = pd.array(s, dtype="boolean").astype("Float64").to_numpy(
                    dtype=float, na_value=np.nan)
                out[col] = add_missing(col, vals, reasons, f.name)
                value_labels[col] = {0: off, 1: on, **value_labels.get(col, {})}
                choice = next((c for c in f.choices if c.name == cname), None)
                var_labels[col] = f"{f.label(lang, short=True)}: {choice.label(lang) if choice else cname}"
                used.add(col)
        elif f.kind in ("integer", "decimal") and col_of(f) in data.columns:
            vals = pd.to_numeric(data[col_of(f)], errors="coerce").to_numpy(dtype=float,
                                                                         na_value=np.nan)
            out[col_of(f)] = add_missing(col_of(f), vals, _missing_codes(survey, f, f.name),
                                         f.name)
            var_labels[col_of(f)] = f.label(lang, short=True)
            used.add(col_of(f))
        elif col_of(f) in data.columns:
            s = data[col_of(f)]
            if pd.api.types.is_datetime64_any_dtype(s):
                out[col_of(f)] = s.to_numpy()
            else:
                out[col_of(f)] = s.astype(object).where(s.notna(), "").astype(str).to_numpy()
            var_labels[col_of(f)] = f.label(lang, short=True)
            used.add(col_of(f))
    for col in data.columns:
        if col in used:
            continue
        s = data[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = [str(c) for c in s.cat.categories]
            out[col] = np.where(s.cat.codes.to_numpy() < 0, np.nan, s.cat.codes.to_numpy() + 1.0)
            value_labels[col] = {i + 1: c for i, c in enumerate(cats)}
        elif pd.api.types.is_bool_dtype(s):
            out[col] = pd.array(s, dtype="boolean").astype("Float64").to_numpy(dtype=float,
                                                                                na_value=np.nan)
        elif pd.api.types.is_numeric_dtype(s):
            out[col] = pd.to_numeric(s, errors="coerce").astype(float).to_numpy(na_value=np.nan)
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.to_numpy()
        else:
            out[col] = s.astype(object).where(s.notna(), "").astype(str).to_numpy()
        var_labels.setdefault(col, str(col) if fields.get(col) is None else fields[col].label(lang))
    frame = pd.DataFrame(out, index=range(len(data)))
    frame.attrs["missing_owner"] = owner
    return frame, var_labels, value_labels, missing


_BAD_CHARS = {
    "sav": re.compile("\x00"),
    "dta": re.compile("\x00"),
    "xlsx": XML_ILLEGAL,  # what XML 1.0 cannot hold (U+FFFE and U+FFFF too)
}
XLSX_MAX_TEXT = 32767  # characters in one Excel cell


def _clean_text(frame: pd.DataFrame, fmt: str, rows=None) -> tuple[pd.DataFrame, list[str]]:
    """Replace characters ``fmt`` cannot hold with U+FFFD and cut text over Excel's cell
    limit, with one note per changed cell (row as in the data, column, what was done)."""
    bad = _BAD_CHARS[fmt]
    notes: list[str] = []
    out = None
    rows = list(frame.index) if rows is None else list(rows)
    for col in frame.columns:
        s = frame[col]
        if s.dtype != object and not pd.api.types.is_string_dtype(s):
            continue
        is_text = s.map(lambda x: isinstance(x, str)).to_numpy(dtype=bool)
        if not is_text.any():
            continue
        text = s[is_text].astype(str)
        has_bad = text.str.contains(bad.pattern, regex=True).to_numpy()
        too_long = (text.str.len() > XLSX_MAX_TEXT).to_numpy() if fmt == "xlsx" else \
            np.zeros(len(text), dtype=bool)
        if not (has_bad.any() or too_long.any()):
            continue
        out = frame.copy() if out is None else out
        new = out[col].astype(object).copy()
        pos = np.flatnonzero(is_text)
        for j in np.flatnonzero(has_bad | too_long):
            i = pos[j]
            v = str(new.iloc[i])
            if has_bad[j]:
                found = sorted({f"U+{ord(ch):04X}" for ch in bad.findall(v)})
                v = bad.sub("\ufffd", v)
                notes.append(f"row {rows[i]}, column {col!r}: {', '.join(found)} cannot be "
                             f"written to {fmt}; replaced by U+FFFD")
            if len(v) > XLSX_MAX_TEXT and fmt == "xlsx":
                notes.append(f"row {rows[i]}, column {col!r}: text of {len(v):,} characters "
                             f"cut to Excel's limit of {XLSX_MAX_TEXT:,}")
                v = v[:XLSX_MAX_TEXT]
            new.iloc[i] = v
        out[col] = new
    return (frame if out is None else out), notes


def _valid_names(names: list[str], *, limit: int, kind: str) -> tuple[dict[str, str], list[str]]:
    """Rename columns to valid SPSS/Stata names (unique case-insensitively)."""
    renamed: dict[str, str] = {}
    notes = []
    seen: set[str] = set()
    for name in names:
        new = re.sub(r"[^0-9A-Za-z_]" if kind == "stata" else r"[^\w.@#$]", "_", str(name))
        if not re.match(r"[A-Za-z]" if kind == "stata" else r"[^\W\d_]", new[:1] or "0"):
            new = "v" + new
        new = new.rstrip(".")
        while len(new.encode("utf-8")) > limit:
            new = new[:-1]
        if kind == "spss" and new.upper() in SPSS_RESERVED:
            new = new + "_"
        base, k = new, 1
        while new.lower() in seen:
            k += 1
            suffix = f"_{k}"
            new = truncate_bytes(base, limit - len(suffix)) + suffix
        seen.add(new.lower())
        renamed[name] = new
        if new != name:
            notes.append(f"column {name!r} written as {new!r} ({kind} name rules)")
    return renamed, notes


def _check_dir(path: Path) -> None:
    if not path.parent.exists():
        raise IngestError(format_problem(where=str(path), expected="an existing folder",
                                         found=f"no folder {str(path.parent)!r}",
                                         hint="create the folder first"))


# ------------------------------------------------------------------------------------------
def to_spss(survey, path, *, language: str | None = None, compress: bool | None = None) -> WrittenFile:
    """Write an SPSS ``.sav`` (``.zsav``: compressed) with variable and value labels in
    ``language`` and the missing codes declared as user-missing values."""
    import pyreadstat

    path = Path(path)
    _check_dir(path)
    frame, var_labels, value_labels, missing = _coded_frame(survey, language=language)
    frame, text_notes = _clean_text(frame, "sav", survey.data.index)
    renamed, notes = _valid_names(list(frame.columns), limit=64, kind="spss")
    notes = text_notes + notes
    frame = frame.rename(columns=renamed)
    col_labels, vl_out, ranges = {}, {}, {}
    for old, new in renamed.items():
        lab = var_labels.get(old, "")
        cut = truncate_bytes(lab, 256)
        if cut != lab:
            notes.append(f"variable label of {new!r} cut to 256 bytes: {cut!r}")
        col_labels[new] = cut
        if old in value_labels and pd.api.types.is_float_dtype(frame[new]):
            d = {}
            for k, v in value_labels[old].items():
                cv = truncate_bytes(str(v), 120)
                if cv != v:
                    notes.append(f"value label {k} of {new!r} cut to 120 bytes: {cv!r}")
                d[float(k) if isinstance(k, float) else int(k)] = cv
            vl_out[new] = d
        if old in missing:
            valid = set(value_labels.get(old, {})) - set(missing[old])
            spec_, note = _spss_missing(sorted(missing[old]), frame[new], valid)
            ranges[new] = spec_
            if note:
                notes.append(f"{new!r}: {note}")
    measure = {}
    spec = _spec(survey)
    for f in (spec.fields if spec else ()):
        if f.name in renamed and f.kind == "single":
            measure[renamed[f.name]] = "ordinal" if f.ordered else "nominal"
        elif f.name in renamed and f.kind in ("integer", "decimal"):
            measure[renamed[f.name]] = "scale"
    if compress is None:
        compress = path.suffix.lower() == ".zsav"
    try:
        pyreadstat.write_sav(frame, str(path), column_labels=col_labels,
                             variable_value_labels=vl_out, missing_ranges=ranges or None,
                             variable_measure=measure or None, compress=bool(compress))
    except Exception as exc:  # noqa: BLE001
        raise IngestError(format_problem(where=str(path), expected="a writable SPSS file",
                                         found=f"{type(exc).__name__}: {exc}")) from None
    return WrittenFile(str(path), "sav", len(frame), frame.shape[1], tuple(notes))


def _spss_missing(codes: list[float], col: pd.Series, labelled_valid) -> tuple[list, str]:
    """SPSS declares at most 3 discrete missing values, or a range plus one value. A range
    must not cover a valid value (data or labelled code), or SPSS would drop real answers."""
    if len(codes) <= 3:
        return [float(c) for c in codes], ""
    vals = pd.to_numeric(col, errors="coerce").dropna()
    valid = set(vals[~vals.isin(codes)].tolist()) | {float(v) for v in labelled_valid}

    def clean(lo, hi) -> bool:
        return not any(lo <= v <= hi for v in valid)

    for rng, one in ((codes, None), (codes[:-1], codes[-1]), (codes[1:], codes[0])):
        if clean(rng[0], rng[-1]):
            spec = [{"lo": float(rng[0]), "hi": float(rng[-1])}]
            if one is not None:
                spec.append(float(one))
            return spec, (f"{len(codes)} missing codes declared as the range {_py(rng[0])} thru "
                          f"{_py(rng[-1])}" + (f" and {_py(one)}" if one is not None else ""))
    return [float(c) for c in codes[:3]], (
        f"{len(codes)} missing codes, but SPSS holds 3 (or a range and one) and every range "
        f"would cover valid answers: only "
        f"{', '.join(str(_py(c)) for c in codes[:3])} are declared "
        f"missing; {', '.join(str(_py(c)) for c in codes[3:])} stay labelled values that SPSS "
        "counts as valid")


def to_stata(survey, path, *, language: str | None = None) -> WrittenFile:
    """Write a Stata ``.dta`` (version 15: Unicode) with variable and value labels.

    Missing answers are written as Stata's extended missing values ``.a``, ``.b``, ... (one
    letter per missing code of the question, `MissingScheme.stata_letters`), labelled with the
    reason and its code, so Stata, R (haven) and pyreadstat treat them as missing, never as
    numbers. Text columns keep their missing answers blank.
    """
    import pyreadstat

    path = Path(path)
    _check_dir(path)
    frame, var_labels, value_labels, missing = _coded_frame(survey, language=language)
    owner = frame.attrs.get("missing_owner", {})
    frame, text_notes = _clean_text(frame, "dta", survey.data.index)
    renamed, notes = _valid_names(list(frame.columns), limit=32, kind="stata")
    notes = text_notes + notes
    frame = frame.rename(columns=renamed)
    scheme = survey.missing_scheme
    col_labels, vl_out, user_missing = {}, {}, {}
    for old, new in renamed.items():
        lab = var_labels.get(old, "")
        cut = lab[:80]
        if cut != lab:
            notes.append(f"variable label of {new!r} cut to 80 characters")
        col_labels[new] = cut
        codes = set(missing.get(old, ()))
        if codes:
            letters = scheme.stata_letters(owner.get(old, old))
            col = frame[new].astype(object)
            vals = frame[new].to_numpy(dtype=float)
            for code in sorted(codes):
                letter = letters.get(code)
                hit = vals == code
                col[hit] = letter if letter is not None else np.nan
                if letter is None:
                    notes.append(f"{new!r}: missing code {_py(code)} written as system missing "
                                 "(more than 26 missing codes)")
            frame[new] = col
            user_missing[new] = sorted({letters[c] for c in codes if c in letters})
        if old in value_labels and (pd.api.types.is_float_dtype(frame[new]) or codes):
            vals = pd.to_numeric(frame[new], errors="coerce").dropna()
            if (vals == np.floor(vals)).all():
                letters = scheme.stata_letters(owner.get(old, old)) if codes else {}
                vl = {}
                for k, v in value_labels[old].items():
                    if codes and float(k) in codes and float(k) in letters:
                        vl[letters[float(k)]] = f"{v} ({_py(k)})"
                    elif float(k).is_integer():
                        vl[int(k)] = str(v)
                vl_out[new] = vl
    try:
        pyreadstat.write_dta(frame, str(path), column_labels=col_labels,
                             variable_value_labels=vl_out, version=15,
                             missing_user_values=user_missing or None)
    except Exception as exc:  # noqa: BLE001
        raise IngestError(format_problem(where=str(path), expected="a writable Stata file",
                                         found=f"{type(exc).__name__}: {exc}")) from None
    if user_missing:
        notes.append("missing answers written as Stata extended missing values (.a, .b, ...) "
                     "labelled with their reason and code")
    return WrittenFile(str(path), "dta", len(frame), frame.shape[1], tuple(notes))


def _labelled_frame(survey, *, language: str | None, safe: bool) -> pd.DataFrame:
    """Data for CSV/Excel: single choices as labels in ``language``, multi options as 0/1,
    missing reasons as their codes."""
    spec = _spec(survey)
    lang = _lang(survey, language, spec)
    data = survey.data
    out = {}
    fields = {col_of(f): f for f in spec.fields if f.kind != "multi"} if spec else {}
    multi_cols = {}
    for f in (spec.fields if spec else ()):
        if f.kind == "multi":
            for col, _ in _multi_columns(survey, f):
                multi_cols[col] = f
    for col in data.columns:
        s = data[col]
        f = fields.get(col)
        reasons = None
        if col in multi_cols:
            reasons = _missing_codes(survey, multi_cols[col], col)
            v = pd.array(s, dtype="boolean").astype("Int64").astype(object)
            v = pd.Series(v, index=data.index).where(pd.Series(v, index=data.index).notna(), None)
        elif f is not None and f.kind == "single" and isinstance(s.dtype, pd.CategoricalDtype):
            reasons = _missing_codes(survey, f, col)
            info = survey.var_info(col, language=lang)
            trans = dict(zip(map(str, s.cat.categories), info.categories)) if len(
                info.categories) == len(s.cat.categories) else {}
            cats = np.array([trans.get(str(c), c) for c in s.cat.categories] + [None],
                            dtype=object)
            v = cats[s.cat.codes.to_numpy()]
        else:
            if f is not None:
                reasons = _missing_codes(survey, f, col)
            v = s.astype(object).where(s.notna(), None)
            if pd.api.types.is_datetime64_any_dtype(s):
                v = s.dt.strftime("%Y-%m-%d").astype(object).where(s.notna(), None)
        v = pd.Series(v, index=data.index, dtype=object)
        if reasons is not None:
            fill = v.isna().to_numpy() & reasons.notna().to_numpy()
            if fill.any():
                v = v.copy()
                v[fill] = [_py(x) for x in reasons.to_numpy()[fill]]
        out[col] = v
    return pd.DataFrame(out, index=data.index)


def to_csv(survey, path, *, language: str | None = None, bom: bool = False,
           sep: str = ",") -> WrittenFile:
    """Write UTF-8 CSV (``bom=True``: with a byte-order mark, so Excel opens it correctly).

    Single-choice answers are written as labels in ``language``, multiple-choice options as
    0/1 columns, missing answers as the template's missing codes.
    """
    path = Path(path)
    _check_dir(path)
    frame = _labelled_frame(survey, language=language, safe=True)
    frame, risky = guard_frame(frame)  # header and text cells
    frame.to_csv(path, index=False, encoding="utf-8-sig" if bom else "utf-8", sep=sep,
                 lineterminator="\n")
    notes = (f"{risky} cell(s) starting with = + - @ tab or CR written with a leading "
             "apostrophe",) if risky else ()
    return WrittenFile(str(path), "csv", len(frame), frame.shape[1], notes)


def to_excel(survey, path, *, language: str | None = None) -> WrittenFile:
    """Write an ``.xlsx`` workbook with a ``data`` sheet and a ``codebook`` sheet.

    Text that a spreadsheet would read as a formula is written as a text cell with Excel's
    quote prefix (the text itself is unchanged).
    """
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    path = Path(path)
    _check_dir(path)
    frame = _labelled_frame(survey, language=language, safe=False)
    frame, text_notes = _clean_text(frame, "xlsx")
    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    append_row(ws, [str(c) for c in frame.columns])
    risky = 0
    values = frame.to_numpy(dtype=object)
    for r, row in enumerate(values, start=2):
        for c, v in enumerate(row, start=1):
            if v is None or (isinstance(v, float) and v != v):
                continue
            if isinstance(v, (np.integer,)):
                v = int(v)
            elif isinstance(v, np.floating):
                v = float(v)
            elif isinstance(v, pd.Timestamp):
                v = v.to_pydatetime()
            put_cell(ws.cell(row=r, column=c), v)  # text already cleaned above
            risky += is_formula_like(v)
    ws.freeze_panes = "A2"
    cb = wb.create_sheet("codebook")
    cb.append(["variable", "label", "kind", "value", "value label"])
    cb_rows: list[list] = []
    spec = _spec(survey)
    lang = _lang(survey, language, spec)
    for col in frame.columns:
        try:
            info = survey.var_info(col, language=lang)
        except Exception:  # noqa: BLE001
            info = None
        label = info.label if info is not None else str(col)
        kind = info.kind if info is not None else ""
        cb_rows.append([str(col), label, kind, None, None])
        if info is not None and info.kind == "single" and info.columns == (col,):
            for code, cat in zip(info.codes, info.categories):
                cb_rows.append([None, None, None, str(code)[:XLSX_MAX_TEXT],
                                str(cat)[:XLSX_MAX_TEXT]])
    scheme = survey.missing_scheme
    for m in scheme.codes:  # template-wide missing codes, then each question's own
        cb_rows.append(["(missing)", m.label(lang) or m.kind, "missing", _py(m.code), m.kind])
    for var, codes in scheme.questions.items():
        for m in codes:
            cb_rows.append([f"(missing: {var})", m.label(lang) or m.kind, "missing",
                            _py(m.code), m.kind])
    for row in cb_rows:  # labels come from templates and data: guarded like the data sheet
        append_row(cb, row)
    for sheet in (ws, cb):
        for i in range(1, min(sheet.max_column, 200) + 1):
            sheet.column_dimensions[get_column_letter(i)].width = 16
    wb.save(path)
    notes = tuple(text_notes) + ((f"{risky} text cell(s) starting with = + - @ tab or CR "
                                  "written with the quote prefix",) if risky else ())
    return WrittenFile(str(path), "xlsx", len(frame), frame.shape[1], notes)


def to_parquet(survey, path, *, language: str | None = None) -> WrittenFile:
    """Write Parquet: the typed data (categoricals keep their labels) plus a JSON description
    in the schema metadata (key ``survey``: variable labels, categories, codes, missing
    codes). Missing reasons are kept in ``_missing:<question>`` columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    _check_dir(path)
    data = survey.data.copy()
    spec = _spec(survey)
    lang = _lang(survey, language, spec)
    meta: dict[str, Any] = {"questionnaire": getattr(spec, "id", None), "language": lang,
                            "weight": survey.weight, "columns": {}}
    for col in data.columns:
        try:
            info = survey.var_info(col, language=lang)
        except Exception:  # noqa: BLE001
            continue
        meta["columns"][str(col)] = {"label": info.label, "kind": info.kind,
                                     "categories": list(info.categories),
                                     "codes": list(info.codes), "ordered": bool(info.ordered)}
    m = getattr(survey, "missing", None)
    if m is not None and len(m.columns):
        for col in m.columns:
            codes = pd.to_numeric(m[col], errors="coerce")
            if codes.notna().any():
                data[f"_missing:{col}"] = codes.astype("Int64").to_numpy()
    try:
        table = pa.Table.from_pandas(data, preserve_index=False)
        md = dict(table.schema.metadata or {})
        md[META_KEY] = json.dumps(meta, ensure_ascii=False).encode("utf-8")
        pq.write_table(table.replace_schema_metadata(md), path)
    except Exception as exc:  # noqa: BLE001
        raise IngestError(format_problem(where=str(path), expected="a writable Parquet file",
                                         found=f"{type(exc).__name__}: {exc}")) from None
    return WrittenFile(str(path), "parquet", len(data), data.shape[1], ())


def write(survey, path, *, language: str | None = None, **options) -> WrittenFile:
    """Write ``survey`` in the format given by the extension of ``path``."""
    ext = Path(path).suffix.lower()
    writers = {".sav": to_spss, ".zsav": to_spss, ".dta": to_stata, ".parquet": to_parquet,
               ".csv": to_csv, ".xlsx": to_excel}
    if ext not in writers:
        raise IngestError(format_problem(where=str(path), expected="an output extension "
                                         ".sav .zsav .dta .parquet .csv or .xlsx",
                                         found=repr(ext or "(none)")))
    return writers[ext](survey, path, language=language, **options)
