"""Read a response file (CSV/TSV, Excel, SPSS, Stata, Parquet; Kobo, ODK Central, Qualtrics and
LimeSurvey exports) into the canonical raw form (`RawTable`), and into a validated `Survey`.

The work per column is done once per distinct value (``pandas.factorize`` and a lookup), never
once per cell, so a million rows cost little more than parsing them.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import time
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.safety import unguard_text
from ..errors import IngestError, close_matches, format_problem
from ._spec import FieldSpec, TemplateSpec, choice_lookup, norm_key, template_spec
from .encoding import decode_with, detect_encoding
from .raw import EXTRA_PREFIX, RawTable

TEXT_EXT = {".csv", ".tsv", ".txt", ".tab", ".dat"}
FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".tab": "csv", ".dat": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".sav": "sav", ".zsav": "sav", ".dta": "dta",
    ".parquet": "parquet", ".pq": "parquet", ".por": "por",
}
PLATFORMS = ("generic", "kobo", "odk", "qualtrics", "limesurvey")
#: cell texts read as missing by default (configurable per read with na_values=)
NA_VALUES = ("NA", "N/A", "n/a", "NaN", "nan", ".", "#N/A")

KOBO_SYSTEM = {"_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
               "_submitted_by", "__version__", "_tags", "_index", "meta/rootUuid", "rootUuid",
               "meta/instanceID", "start", "end", "today", "deviceid"}
ODK_SYSTEM = {"SubmissionDate", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
              "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion",
              "meta-instanceID", "instanceID"}
QUALTRICS_SYSTEM = {"StartDate", "EndDate", "Status", "IPAddress", "Progress",
                    "Duration (in seconds)", "Finished", "RecordedDate", "ResponseId",
                    "RecipientLastName", "RecipientFirstName", "RecipientEmail",
                    "ExternalReference", "LocationLatitude", "LocationLongitude",
                    "DistributionChannel", "UserLanguage"}
LIME_SYSTEM = {"id", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp",
               "token", "ipaddr", "refurl"}

_ANY_SYSTEM = KOBO_SYSTEM | ODK_SYSTEM | QUALTRICS_SYSTEM | LIME_SYSTEM | {"PARENT_KEY"}

_SELECTED = {"1", "y", "yes", "true", "t", "x", "✓", "√", "是", "选中", "選中", "checked"}
_UNSELECTED = {"0", "n", "no", "false", "f", "否", "未选", "未選", "not selected", "unchecked"}
_SEPARATORS = " \t,;，；、|/\n"


# ------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------
def read_raw(
    path: str | os.PathLike,
    questionnaire: Any,
    *,
    encoding: str | None = None,
    platform: str | None = None,
    mapping: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    delimiter: str | None = None,
    id_column: str | None = None,
    na_values: tuple[str, ...] | list[str] | None = None,
) -> RawTable:
    """Read a response file into the canonical raw form (no validation, no typing).

    Parameters
    ----------
    path : the file: ``.csv``/``.tsv``/``.txt``, ``.xlsx``, ``.sav``/``.zsav``, ``.dta``,
        ``.parquet`` (the content is checked too, so a mis-named file is still read).
    questionnaire : a `Questionnaire`, a template path or name.
    encoding : text encoding; detected when omitted (BOM, UTF-8, GB18030 vs Big5 scored
        against the template's labels). For ``.sav`` it is passed to pyreadstat.
    platform : ``"kobo"``, ``"odk"``, ``"qualtrics"``, ``"limesurvey"`` or ``"generic"``;
        detected from the headers when omitted.
    mapping : ``{source header or Qualtrics ImportId: question name}`` for columns whose
        header does not say which question they hold; ``"q[choice]"`` maps a column to one
        option of a multiple-choice question.
    sheet : Excel sheet name or 0-based index (default: the first sheet).
    delimiter : CSV delimiter; sniffed among ``, ; TAB |`` when omitted.
    id_column : the source column holding the respondent id, when its header is not the
        template's id question.
    na_values : cell texts read as missing (blank): default ``NA_VALUES`` (R's and pandas'
        ``NA``, ``N/A``, ``NaN``, SAS/Stata's ``.``, Excel's ``#N/A``); ``()`` for none. A text
        that is a choice (name, code or label) of its question stays an answer. The source
        record lists them (``na_values``) and counts the cells (``na_cells``).

    Returns
    -------
    RawTable
        See `survey.ingest.raw` for the canonical raw form.

    Examples
    --------
    >>> import io, pathlib, tempfile
    >>> from survey.ingest._spec import TemplateSpec, FieldSpec, ChoiceSpec
    >>> spec = TemplateSpec(fields=(FieldSpec("sex", "single", (
    ...     ChoiceSpec("1", 1.0, (("en", "Male"), ("zh-Hans", "男"))),
    ...     ChoiceSpec("2", 2.0, (("en", "Female"), ("zh-Hans", "女"))))),))
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text("sex\\n女\\nFemale\\n 2 \\n\\nmale\\n", encoding="utf-8")
    >>> raw = read_raw(p, spec)
    >>> raw.frame.to_dict("list")
    {'_row': [2, 3, 4, 6], 'sex': ['2', '2', '2', '1']}
    """
    t0 = time.perf_counter()
    path = Path(path)
    spec = _spec_of(questionnaire)
    if platform is not None and platform not in PLATFORMS:
        raise IngestError(format_problem(
            where=str(path), expected=f"platform one of {', '.join(PLATFORMS)}",
            found=repr(platform), hint=_hint_choice(platform, PLATFORMS)))
    if not path.exists():
        raise IngestError(format_problem(where=str(path), expected="an existing file",
                                         found="no such file", hint="check the path"))
    data = path.read_bytes()
    fmt = _detect_format(path, data)
    source: dict[str, Any] = {
        "path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
        "format": fmt,
    }
    notes: list[str] = []
    if fmt == "csv":
        table = _read_text(path, data, spec, encoding=encoding, delimiter=delimiter,
                           source=source, notes=notes)
    elif fmt == "xlsx":
        table = _read_xlsx(path, sheet=sheet, source=source)
    elif fmt == "sav":
        table = _read_stat(path, "sav", encoding=encoding, source=source)
    elif fmt in ("dta", "por"):
        table = _read_stat(path, fmt, encoding=encoding, source=source)
    elif fmt == "sqlite":
        table = _read_entry_db(path, source=source, notes=notes)
    else:
        table = _read_parquet(path, source=source)
    del data
    raw = _to_canonical(table, spec, path=path, platform=platform, mapping=dict(mapping or {}),
                        id_column=id_column, source=source, notes=notes,
                        na_values=NA_VALUES if na_values is None else (
                            (na_values,) if isinstance(na_values, str) else tuple(na_values)))
    source = dict(raw.source)
    source["read_seconds"] = round(time.perf_counter() - t0, 4)
    return RawTable(frame=raw.frame, source=source, column_map=raw.column_map,
                    unknown_columns=raw.unknown_columns, absent_columns=raw.absent_columns,
                    notes=raw.notes, missing=raw.missing)


def raw_from_records(records: list[Mapping[str, Any]], questionnaire: Any, *,
                     rows: list[int] | None = None, source: Mapping[str, Any] | None = None,
                     columns: list[str] | None = None) -> RawTable:
    """The canonical raw form of in-memory records (``{column: text}``), exactly as
    `read_raw` maps a file with those columns (codes, names and labels to choice names).

    Used by the data-entry app, so a keyed form goes through the same mapping as a file.

    >>> from survey.ingest._spec import TemplateSpec, FieldSpec, ChoiceSpec
    >>> spec = TemplateSpec(fields=(FieldSpec("sex", "single", (
    ...     ChoiceSpec("m", 1.0, (("en", "Male"),)), ChoiceSpec("f", 2.0, (("en", "Female"),)))),))
    >>> raw_from_records([{"sex": "2"}, {"sex": "Male"}], spec)
    <RawTable: 2 rows, 1 questions, platform generic>
    """
    spec = _spec_of(questionnaire)
    cols: list[str] = list(columns or [])
    for rec in records:
        cols += [c for c in rec if c not in cols]
    frame = pd.DataFrame({c: [_cell_str(r.get(c)) or "" for r in records] for c in cols},
                         index=pd.RangeIndex(len(records)), dtype=object)
    nums = np.asarray(rows if rows is not None else range(1, len(records) + 1), dtype="int64")
    src = {"path": "<records>", **dict(source or {})}
    return _to_canonical(_Table(frame, nums), spec, path=Path(src["path"]), platform="generic",
                         mapping={}, id_column=None, source=src, notes=[])


def read_responses(path: str | os.PathLike, questionnaire: Any = None, **options: Any):
    """Read and validate a response file against its questionnaire: a `Survey`.

    Without a questionnaire, a labelled file (SPSS ``.sav``/``.zsav``/``.por``, Stata
    ``.dta``) brings its own: `infer_questionnaire` builds it from the file's labels, value
    labels and missing values, and ``s.questionnaire`` is that template.

    Options of `read_raw` (``encoding``, ``platform``, ``mapping``, ``sheet``, ``delimiter``,
    ``id_column``) and of validation (``policies``, ``language``) apply; ``weight``,
    ``strata``, ``psu``, ``fpc``, ``nest``, ``lonely_psu`` describe the design.
    ``len(s.data) + len(s.rejected) == s.source["rows_read"]``.
    """
    from .partitioned import is_partitioned_parquet, read_partitioned

    if is_partitioned_parquet(path):  # a Dask-backed Survey (docs/scale.md)
        return read_partitioned(path, None if questionnaire is None else _load(questionnaire),
                                **options)
    inferred = questionnaire is None
    if inferred:
        questionnaire = _inferred(path, options.get("encoding"))
    q = _load(questionnaire)
    read_keys = ("encoding", "platform", "mapping", "sheet", "delimiter", "id_column",
                 "na_values")
    design_keys = ("weight", "strata", "psu", "fpc", "nest", "lonely_psu")
    valid_keys = ("policies", "language")
    unknown = set(options) - set(read_keys) - set(design_keys) - set(valid_keys)
    if unknown:
        word = sorted(unknown)[0]
        raise IngestError(format_problem(
            where="read_responses", expected="known options", found=repr(word),
            hint=_hint_choice(word, read_keys + design_keys + valid_keys)))
    if callable(getattr(q, "repeats", None)) and q.repeats():
        from .repeats import read_with_repeats  # main table + one linked table per repeat

        return read_with_repeats(path, q, **options)
    raw = read_raw(path, q, **{k: options[k] for k in read_keys if k in options})
    if inferred:
        raw = dataclasses.replace(raw, source={**raw.source, "template": "inferred from the "
                                               "file's labels (infer_questionnaire)"})
    return survey_from_raw(raw, q, **options)


def survey_from_raw(raw: RawTable, q: Any, **options: Any):
    """Validate a `RawTable` and build its `Survey` (the second half of `read_responses`)."""
    from ..core.survey import DesignSpec, Survey, _as_tuple
    from ..validation import validate

    valid_keys = ("policies", "language")
    result = validate(raw, q, **{k: options[k] for k in valid_keys if k in options})
    data = result.data
    missing = result.missing
    weight = options.get("weight")
    data = _numeric_design_columns(data, [weight, *_as_tuple(options.get("fpc"))], raw)
    if weight is not None or options.get("strata") or options.get("psu") or options.get("fpc"):
        tmp = Survey.from_frame(
            data, weight=weight, strata=options.get("strata"), psu=options.get("psu"),
            fpc=options.get("fpc"), nest=bool(options.get("nest", False)),
            lonely_psu=options.get("lonely_psu", "fail"))
        design = tmp.design
    else:
        design = DesignSpec(psu=_as_tuple(None))
    return Survey(
        data=data, questionnaire=q, weight=weight, design=design, validation=result.report,
        rejected=result.rejected, missing=missing, source=dict(raw.source),
        language=options.get("language"),
    )


def _inferred(path, encoding):
    from .infer import LABELLED, infer_questionnaire

    if Path(path).suffix.lower() not in LABELLED:
        raise IngestError(format_problem(
            where=str(path), expected="a questionnaire (template) for a file without labels",
            found="none given",
            hint="pass one: read_responses(path, 'template.yaml'); or build one from the data "
                 "with q = sv.infer_questionnaire(path), check it (q.to_yaml('t.yaml')), and "
                 "pass q"))
    return infer_questionnaire(path, encoding=encoding)


def _numeric_design_columns(data: pd.DataFrame, cols, raw: RawTable) -> pd.DataFrame:
    """Weights and fpc arrive as text from a file: make them numbers, naming a bad cell."""
    out = None
    for col in cols:
        if col is None or col not in data.columns or pd.api.types.is_numeric_dtype(data[col]):
            continue
        num = pd.to_numeric(data[col], errors="coerce")
        bad = num.isna() & data[col].notna()
        if bad.any():
            row = data.index[int(np.argmax(bad.to_numpy()))]
            raise IngestError(format_problem(
                where=f"{raw.source.get('path', '<data>')}, row {row}, column {col!r}",
                expected="a number (design column)", found=repr(data.loc[row, col])))
        out = data.copy() if out is None else out
        out[col] = num.astype(float)
    return data if out is None else out


# ------------------------------------------------------------------------------------------
# questionnaire
# ------------------------------------------------------------------------------------------
def _load(questionnaire: Any) -> Any:
    if isinstance(questionnaire, (str, os.PathLike)):
        from ..questionnaire import load_questionnaire

        return load_questionnaire(questionnaire)
    return questionnaire


def _spec_of(questionnaire: Any) -> TemplateSpec:
    return template_spec(_load(questionnaire))


def _hint_choice(word: str, options) -> str:
    found = close_matches(word, options, n=1)
    return f"did you mean '{found[0]}'?" if found else f"use one of {', '.join(options)}"


# ------------------------------------------------------------------------------------------
# formats
# ------------------------------------------------------------------------------------------
def _detect_format(path: Path, data: bytes) -> str:
    head = data[:16]
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"$FL2") or head.startswith(b"$FL3"):
        return "sav"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"<stata_dta>") or (len(head) > 1 and head[0] in range(0x71, 0x78)
                                           and head[1] in (1, 2)):
        return "dta"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise IngestError(format_problem(
            where=str(path), expected="an .xlsx workbook, CSV, SPSS, Stata or Parquet file",
            found="an old binary Excel .xls workbook",
            hint="open it in Excel or LibreOffice and save it as .xlsx or 'CSV UTF-8'"))
    ext = path.suffix.lower()
    fmt = FORMATS.get(ext)
    if fmt == "por":  # SPSS portable: text, checked by pyreadstat
        return "por"
    if fmt in (None, "csv"):
        if fmt is None and (b"\x00" in data[:4096] and data[:2] not in (b"\xff\xfe", b"\xfe\xff")):
            raise IngestError(format_problem(
                where=str(path), expected="a response file (.csv .tsv .xlsx .sav .zsav .dta "
                "or .parquet)", found=f"an unknown binary file with extension {ext or '(none)'}",
                hint="export the data as CSV or .xlsx"))
        return "csv"
    # extension says binary but the content does not match
    raise IngestError(format_problem(
        where=str(path), expected=f"a {fmt} file (extension {ext})",
        found="content that is not one", hint="the file may be damaged or mis-named"))


class _Table:
    """A source table: string columns under their headers, the row numbers, extras."""

    def __init__(self, frame: pd.DataFrame, rows: np.ndarray, *, header_rows=1,
                 second_headers: list[list[str]] | None = None,
                 value_labels: dict[str, dict[str, str]] | None = None):
        self.frame = frame  # columns = headers (str), values: strings ('' = blank) or objects
        self.rows = rows
        self.header_rows = header_rows
        self.second_headers = second_headers or []
        self.value_labels = value_labels or {}
        self.stata_missing = False  # cells 'a'..'z' are Stata extended missing .a-.z
        self.ragged: np.ndarray | None = None  # fields per row where not the header's, else -1
        self.formula_cells: list[tuple[int, str, str]] = []  # (row, header, formula)
        self.mr_sets: dict[str, list[str]] = {}  # SPSS dichotomy set -> its variables
        self.user_missing: dict[str, dict[float, str]] = {}  # SPSS: var -> {code: label}
        self.consumed: list[str] = []  # source columns merged into another (category sets)


def _expected_strings(spec: TemplateSpec) -> list[str]:
    out = []
    for f in spec.fields:
        out.append(f.name)
        out += [t for _, t in f.labels]
        for c in f.choices:
            out += [t for _, t in c.labels]
    return out


def _read_text(path, data, spec, *, encoding, delimiter, source, notes) -> _Table:
    """Parse a delimited text file. The bytes go straight to pandas' C parser, which decodes
    UTF-8 strictly itself; only when that fails are GB18030 and Big5 tried (formats.md §6)."""
    import codecs

    if not data.strip():
        raise IngestError(format_problem(where=str(path), expected="a header row and data",
                                         found="an empty file"))
    conf, how = 1.0, None
    if encoding is not None:
        enc = encoding
        try:
            codecs.lookup(enc)
        except LookupError:
            decode_with(data[:0], enc, path=str(path))  # raises the house-style error
    elif data[:4].startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc, conf, how = detect_encoding(data[:4], path=str(path))
    else:
        enc, how = "utf-8", "strict UTF-8"

    def parse(enc: str) -> pd.DataFrame:
        nonlocal delimiter
        if delimiter is None:
            delimiter = _sniff(data[:65536].decode(enc, errors="ignore"), path)
        try:
            df = pd.read_csv(io.BytesIO(data), header=None, dtype=object, na_filter=False,
                             skip_blank_lines=False, sep=delimiter, engine="c",
                             quotechar='"', doublequote=True, encoding=enc,
                             encoding_errors="strict", low_memory=False)
        except pd.errors.EmptyDataError:
            raise IngestError(format_problem(
                where=str(path), expected="a header row and data",
                found="no columns (an empty file, or blank lines before the header)",
                hint="remove the blank lines above the header row")) from None
        except pd.errors.ParserError:  # a line longer than the header: parse record by record
            return _parse_ragged(data.decode(enc), delimiter, path)
        df.attrs["field_counts"] = _field_counts(data, enc, delimiter, len(df))
        return df

    try:
        df = parse(enc)
    except UnicodeDecodeError:
        if encoding is not None or how != "strict UTF-8":
            decode_with(data, enc, path=str(path))  # raises with line and byte
            raise
        enc, conf, how = detect_encoding(data, expected=_expected_strings(spec), path=str(path))
        if enc in ("utf-8", "utf_8"):  # pragma: no cover - detection agrees with the parser
            raise
        df = parse(enc)
    else:
        if how == "strict UTF-8" and not data.isascii():
            # short GB18030/Big5 files can be valid UTF-8 too: let the template's labels decide
            sample = data[: 1 << 20]
            sample = sample[: sample.rfind(b"\n") + 1] or sample
            guess, guess_conf, guess_how = detect_encoding(
                sample, expected=_expected_strings(spec), path=str(path))
            if guess not in ("utf-8", "utf_8"):
                enc, conf, how = guess, guess_conf, guess_how
                df = parse(enc)
    if how:
        notes.append(f"encoding {enc} ({how})")
    source.update(encoding=enc, encoding_confidence=conf, delimiter=delimiter)
    if df.shape[0] == 0:
        raise IngestError(format_problem(where=str(path), expected="a header row and data",
                                         found="an empty file"))
    # our CSV writer guards a header that looks like a formula ('=...): undo it
    header = [unguard_text(str(h).strip().lstrip("\ufeff")) for h in df.iloc[0].tolist()]
    body = df.iloc[1:]
    rows = np.arange(2, len(df) + 1, dtype=np.int64)
    second = []
    # Qualtrics: row 3 holds {"ImportId": ...}; rows 2 and 3 are headers, not answers
    if len(body) >= 2 and str(body.iloc[1, 0]).lstrip().startswith('{"ImportId"'):
        second = [body.iloc[0].tolist(), body.iloc[1].tolist()]
        body, rows = body.iloc[2:], rows[2:]
    header = _dedupe(header)
    counts = df.attrs.get("field_counts")
    body.columns = header
    body = body.reset_index(drop=True)
    table = _Table(body, rows, header_rows=1 + len(second), second_headers=second)
    if counts is not None:
        width = int(counts[0])
        source["header_fields"] = width
        c = np.asarray(counts[1 + len(second):], dtype=np.int64)
        bad = (c != width) & (c > 0)  # 0: a blank line
        if bad.any():
            table.ragged = np.where(bad, c, -1)
            lines = rows[bad]
            notes.append(f"{int(bad.sum())} line(s) with a number of fields other than the "
                         f"header's {width} (line {', '.join(map(str, lines[:10]))}"
                         f"{' ...' if len(lines) > 10 else ''}): rejected as ragged_line")
    return table


def _field_counts(data: bytes, enc: str, delimiter: str, n_records: int) -> np.ndarray | None:
    """Fields per record (0 for a blank line), to find lines shorter than the header (the C
    parser pads them silently). Vectorised over the bytes: delimiters and line breaks
    inside quotes are ignored; multi-byte encodings whose bytes could be mistaken for the
    delimiter use the csv module."""
    e = enc.replace("-", "").replace("_", "").lower()
    d = delimiter.encode("ascii", "replace")
    fast = len(d) == 1 and (
        e in ("utf8", "utf8sig", "ascii") or (e in ("gb18030", "gbk", "big5", "cp936", "cp950")
                                              and d[0] < 0x40))
    counts = None
    if fast and b'"' not in data:  # no quotes: one record per line
        lines = data.split(b"\n")
        counts = np.fromiter((ln.count(d) + 1 if ln.strip(b"\r") else 0 for ln in lines),
                             dtype=np.int64, count=len(lines))
    elif fast:
        counts = _field_counts_bytes(np.frombuffer(data, dtype=np.uint8), d[0])
    if counts is not None:
        if len(counts) > n_records and counts[-1] == 0:
            counts = counts[:-1]  # the file's final line break
    else:  # an unbalanced quote, or bytes that could be the delimiter: the csv module
        text = data.decode(enc).lstrip("\ufeff")
        counts = np.fromiter((len(r) if r else 0 for r in csv.reader(
            io.StringIO(text, newline=""), delimiter=delimiter)), dtype=np.int64)
    return counts if len(counts) == n_records else None


def _field_counts_bytes(arr: np.ndarray, delim: int, chunk: int = 1 << 24) -> np.ndarray | None:
    """Fields per record of a byte array, chunk by chunk (bounded memory), ignoring
    delimiters and line breaks inside double quotes; 0 for an empty line. None when the
    quotes do not balance."""
    out: list[np.ndarray] = []
    inside = 0  # quote parity carried into the chunk
    total = 0  # delimiters (outside quotes) before the chunk
    last_cum, last_end = 0, -1  # cumulative delimiters and position of the last record end
    n = len(arr)
    for a in range(0, n, chunk):
        sub = arr[a:a + chunk]
        toggles = np.cumsum(sub == 34, dtype=np.int32)
        inq = ((toggles + inside) % 2) == 1
        inside = int((toggles[-1] + inside) % 2)
        ends = np.flatnonzero((sub == 10) & ~inq)
        cum = np.cumsum((sub == delim) & ~inq, dtype=np.int64)
        if len(ends):
            at = total + cum[ends]
            glob = ends + a
            prev_cum = np.concatenate([[last_cum], at[:-1]])
            prev_end = np.concatenate([[last_end], glob[:-1]])
            c = at - prev_cum + 1
            length = glob - prev_end - 1 - (arr[np.maximum(glob - 1, 0)] == 13)
            c[length <= 0] = 0
            out.append(c)
            last_cum, last_end = int(at[-1]), int(glob[-1])
        total += int(cum[-1])
    if inside:
        return None
    if last_end < n - 1:  # the last record has no line break
        length = n - 1 - last_end - int(arr[-1] == 13)
        out.append(np.array([total - last_cum + 1 if length > 0 else 0]))
    else:
        out.append(np.array([0]))  # after the final line break: nothing
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _parse_ragged(text: str, delimiter: str, path) -> pd.DataFrame:
    """Records of unequal length: keep the header's width (cut or pad), remember each
    record's own count so the long and short ones are rejected with their line number."""
    text = text.lstrip("\ufeff")
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not records:
        raise IngestError(format_problem(where=str(path), expected="a header row and data",
                                         found="an empty file"))
    width = len(records[0])
    counts = np.array([len(r) if r else 0 for r in records], dtype=np.int64)
    fixed = [(r + [""] * (width - len(r)))[:width] if r else [""] * width for r in records]
    df = pd.DataFrame(fixed, dtype=object)
    df.attrs["field_counts"] = counts
    return df


def _sniff(text: str, path) -> str:
    sample = text[:65536]
    lines = sample.splitlines()
    first = lines[0] if lines else ""
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _dedupe(header: list[str]) -> list[str]:
    """Unique column names: a repeated name gets ``.1``, ``.2``... (never one already used).

    >>> _dedupe(["sex", "sex", "sex.1", ""])
    ['sex', 'sex.2', 'sex.1', '_column4']
    """
    given = {h for h in header if h}
    seen: dict[str, int] = {}
    used: set[str] = set()
    out = []
    for i, h in enumerate(header):
        h = h or f"_column{i + 1}"
        if h in used:
            k = seen.get(h, 0)
            while f"{h}.{k + 1}" in used or f"{h}.{k + 1}" in given:
                k += 1
            seen[h] = k + 1
            h = f"{h}.{k + 1}"
        used.add(h)
        out.append(h)
    return out


def _read_xlsx(path, *, sheet, source) -> _Table:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IngestError(format_problem(where=str(path), expected="a readable .xlsx workbook",
                                         found=f"{type(exc).__name__}: {exc}",
                                         hint="re-save it from Excel as .xlsx")) from None
    try:
        names = wb.sheetnames
        if sheet is None:
            ws = wb[names[0]]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise IngestError(format_problem(
                    where=str(path), expected=f"a sheet index 0..{len(names) - 1}",
                    found=str(sheet), hint=f"sheets are {names}"))
            ws = wb[names[sheet]]
        else:
            if sheet not in names:
                raise IngestError(format_problem(
                    where=str(path), expected="an existing sheet", found=repr(sheet),
                    hint=_hint_choice(sheet, names) + f"; sheets are {names}"))
            ws = wb[sheet]
        source["sheet"] = ws.title
        values = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    # skip leading empty rows
    start = 0
    while start < len(values) and all(v is None or str(v).strip() == "" for v in values[start]):
        start += 1
    if start >= len(values):
        raise IngestError(format_problem(where=f"{path}, sheet {ws.title!r}",
                                         expected="a header row and data", found="an empty sheet"))
    header = [("" if v is None else str(v).strip()) for v in values[start]]
    width = len(header)
    while width and header[width - 1] == "":
        width -= 1
    header = _dedupe(header[:width])
    body = [tuple(r[:width]) + (None,) * (width - len(r)) for r in values[start + 1:]]
    frame = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(
        columns=header, dtype=object)
    rows = np.arange(start + 2, start + 2 + len(body), dtype=np.int64)
    formulas = _uncomputed_formulas(path, ws.title, values, start, header) \
        if _has_uncached_formulas(path) else []
    second = []
    if len(frame) >= 2 and str(frame.iloc[1, 0]).lstrip().startswith('{"ImportId"'):
        second = [[_cell_str(v) or "" for v in frame.iloc[i].tolist()] for i in (0, 1)]
        frame, rows = frame.iloc[2:].reset_index(drop=True), rows[2:]
    table = _Table(frame, rows, header_rows=1 + len(second), second_headers=second)
    table.formula_cells = formulas
    return table


_CELL = re.compile(rb"<(?:\w+:)?c\b[^>]*?(?<!/)>(.*?)</(?:\w+:)?c>", re.S)
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
_VALUE = re.compile(rb"<(?:\w+:)?v\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?v>)", re.S)


def _has_uncached_formulas(path) -> bool:
    """Whether some formula cell of the workbook may lack a saved result: a cell with an
    ``<f>`` and no ``<v>`` (or an empty one) in the sheet XML. Only then are the formulas read
    cell by cell (openpyxl, twice: formulas and values), which for a sheet declared as
    ``A1:AMJ1048576`` means a million rows; a workbook whose formulas all carry their results
    (anything saved by Excel or LibreOffice) skips that."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if not (n.startswith("xl/worksheets/") and n.endswith(".xml")):
                continue
            xml = z.read(n)
            if b"<f>" not in xml and b"<f " not in xml and b":f>" not in xml \
                    and b":f " not in xml:
                continue
            for cell in _CELL.finditer(xml):
                body = cell.group(1)
                if _FORMULA.search(body):
                    v = _VALUE.search(body)
                    if v is None or not (v.group(1) or b"").strip():
                        return True
    return False


def _uncomputed_formulas(path, title, values, start, header) -> list[tuple[int, str, str]]:
    """(row, header, formula) of formula cells with no cached result: the values workbook
    has None where the formula workbook has '=...' (a file written by a program that does
    not compute formulas, e.g. openpyxl or a web export). A header cell is included with the
    header's row: its column got a placeholder name (or, past the last header, none)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        out = []
        for i, row in enumerate(wb[title].iter_rows(values_only=True)):
            if i < start or i >= len(values):
                continue
            if i == start:
                out.extend((i + 1, header[j] if j < len(header) else f"column {j + 1}", v)
                           for j, v in enumerate(row) if isinstance(v, str)
                           and v.startswith("=") and (j >= len(values[i])
                                                      or values[i][j] is None))
                continue
            for j, v in enumerate(row[:len(header)]):
                if isinstance(v, str) and v.startswith("=") and (
                        j >= len(values[i]) or values[i][j] is None):
                    out.append((i + 1, header[j], v))
        return out
    finally:
        wb.close()


def _read_stat(path, kind, *, encoding, source) -> _Table:
    import pyreadstat

    try:
        if kind == "sav":
            df, meta = pyreadstat.read_sav(str(path), user_missing=True, encoding=encoding,
                                           apply_value_formats=False)
        elif kind == "por":
            df, meta = pyreadstat.read_por(str(path), apply_value_formats=False)
        else:
            df, meta = pyreadstat.read_dta(str(path), user_missing=True, encoding=encoding,
                                           apply_value_formats=False)
    except Exception as exc:  # noqa: BLE001 - pyreadstat raises its own non-public types
        msg = str(exc)
        hint = ("pass encoding='GB18030' (or 'GBK', 'BIG5', 'UTF-8') for a locale-encoded file"
                if "encoding" in msg.lower() or "convert" in msg.lower()
                else "the file may be damaged; re-export it")
        raise IngestError(format_problem(where=str(path), expected=f"a readable .{kind} file",
                                         found=f"{type(exc).__name__}: {msg}", hint=hint)) from None
    source["encoding"] = getattr(meta, "file_encoding", None) or encoding
    labels = {}
    for var, vl in (getattr(meta, "variable_value_labels", None) or {}).items():
        labels[var] = {_cell_str(k): str(v) for k, v in vl.items()}
    df.columns = [str(c) for c in df.columns]
    rows = np.arange(1, len(df) + 1, dtype=np.int64)
    sets = {str(k).lstrip("$"): v for k, v in (getattr(meta, "mr_sets", None) or {}).items()}
    mr = {k: v for k, v in sets.items() if v.get("is_dichotomy")}
    for st in mr.values():  # SPSS dichotomy sets: the counted value means "selected"
        counted = st.get("counted_value", 1)
        for var in st.get("variable_list", []):
            if var in df.columns and str(counted) != "1":
                v = pd.to_numeric(df[var], errors="coerce")
                hit = (v == float(counted)) if isinstance(counted, (int, float)) else (
                    df[var].astype(str).str.strip() == str(counted))
                df[var] = np.where(df[var].isna(), np.nan, np.where(hit, 1.0, 0.0))
    consumed = []
    user_missing = _user_missing(meta) if kind == "sav" else {}
    for name, st in sets.items():  # category sets: k variables of codes -> one answer
        vars_ = [str(v) for v in st.get("variable_list", []) if str(v) in df.columns]
        if st.get("is_dichotomy") or not vars_ or name in df.columns:
            continue
        df[name] = _join_mentions(df, vars_, user_missing)
        consumed += vars_
    table = _Table(df.reset_index(drop=True), rows, header_rows=0, value_labels=labels)
    table.stata_missing = kind == "dta"
    table.user_missing = _user_missing(meta) if kind == "sav" else {}
    table.mr_sets = {k: [str(v) for v in st.get("variable_list", [])] for k, st in mr.items()}
    table.consumed = consumed
    return table


def _join_mentions(df: pd.DataFrame, vars_: list[str], user_missing: dict) -> np.ndarray:
    """An SPSS category set (first mention, second mention, ...) as one multiple-choice
    answer: the distinct codes mentioned, in code order; user-missing codes are no mention."""
    block = np.column_stack([pd.to_numeric(df[v], errors="coerce").to_numpy(dtype=float)
                             for v in vars_])
    for j, v in enumerate(vars_):
        miss = list(user_missing.get(v, {}))
        if miss:
            block[np.isin(block[:, j], miss), j] = np.nan
    out = np.empty(len(df), dtype=object)
    for i, row in enumerate(block):
        codes = sorted({_num_text(x) for x in row if x == x})
        out[i] = " ".join(map(str, codes)) if codes else None
    return out


def _read_entry_db(path, *, source, notes) -> _Table:
    """A data-entry database (`survey entry`): the adjudicated, else first-pass, forms."""
    from ..entry.data import final_records

    records, rows, said = final_records(path)
    if not records:
        raise IngestError(format_problem(where=str(path), expected="keyed forms",
                                         found="an entry database with no forms yet",
                                         hint="key some forms with `survey entry` first"))
    notes.extend(said)
    cols: list[str] = []
    for rec in records:
        cols += [c for c in rec if c not in cols]
    frame = pd.DataFrame({c: [rec.get(c) or "" for rec in records] for c in cols},
                         index=pd.RangeIndex(len(records)), dtype=object)
    source["entry_notes"] = list(said)
    return _Table(frame, np.asarray(rows, dtype="int64"))


def _user_missing(meta) -> dict[str, dict[float, str]]:
    """SPSS user-missing values per variable (discrete values and ranges of up to 1,001
    whole numbers), with their value labels."""
    out: dict[str, dict[float, str]] = {}
    labels = getattr(meta, "variable_value_labels", None) or {}
    for var, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        codes: list[float] = []
        for r in ranges or []:
            lo, hi = float(r["lo"]), float(r["hi"])
            if lo == hi:
                codes.append(lo)
            elif hi - lo <= 1000 and lo.is_integer() and hi.is_integer():
                codes += [float(x) for x in range(int(lo), int(hi) + 1)]
        vl = labels.get(var, {})
        out[str(var)] = {c: str(vl.get(c, vl.get(int(c) if c.is_integer() else c, "")) or "")
                         for c in codes}
    return out


def _read_parquet(path, *, source) -> _Table:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
        raise IngestError(format_problem(where=str(path), expected="a readable Parquet file",
                                         found=f"{type(exc).__name__}: {exc}")) from None
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    if "_row" in df.columns:
        rows = pd.to_numeric(df["_row"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
        df = df.drop(columns="_row")
        if len(np.unique(rows)) != len(rows) or (rows <= 0).any():
            rows = np.arange(1, len(df) + 1, dtype=np.int64)
    else:
        rows = np.arange(1, len(df) + 1, dtype=np.int64)
    return _Table(df, rows, header_rows=0)


# ------------------------------------------------------------------------------------------
# cell values -> strings
# ------------------------------------------------------------------------------------------
def _cell_str(v: Any) -> str | None:
    """One cell as the canonical string: None for blank, integers without '.0', ISO dates."""
    if v is None:
        return None
    if isinstance(v, str):
        s = v.strip()
        return s or None
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != f:
            return None
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return repr(f)
    if isinstance(v, pd.Timestamp) or hasattr(v, "isoformat"):
        try:
            if pd.isna(v):
                return None
        except (TypeError, ValueError):
            pass
        ts = pd.Timestamp(v) if not isinstance(v, pd.Timestamp) else v
        if hasattr(v, "hour") and (ts.hour or ts.minute or ts.second or ts.microsecond):
            return ts.isoformat()
        if hasattr(v, "year"):
            return ts.date().isoformat()
        return v.isoformat()
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    s = str(v).strip()
    return s or None


def _factorize(col: pd.Series) -> tuple[np.ndarray, list[str | None]]:
    """Integer codes and the distinct values as canonical strings (None = blank)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        uniq = [_cell_str(c) for c in col.cat.categories]
    else:
        codes, uniq_idx = pd.factorize(col, use_na_sentinel=True)
        uniq = [_cell_str(u) for u in uniq_idx.tolist()]
    return codes, uniq


def _apply(codes: np.ndarray, mapped: list[Any]) -> np.ndarray:
    """mapped[codes] as an object array; blanks (None or code -1) become ``pd.NA``."""
    arr = np.empty(len(mapped) + 1, dtype=object)
    arr[:-1] = [pd.NA if m is None else m for m in mapped]
    arr[-1] = pd.NA
    return arr[codes]  # code -1 -> last slot


def _na(values) -> np.ndarray:
    """An object array with every blank (None, NaN) as ``pd.NA``."""
    arr = np.asarray(values, dtype=object)
    mask = pd.isna(arr)
    if mask.any():
        arr = arr.copy()
        arr[mask] = pd.NA
    return arr


def _isblank(values) -> np.ndarray:
    return pd.isna(np.asarray(values, dtype=object))


# ------------------------------------------------------------------------------------------
# columns -> questions
# ------------------------------------------------------------------------------------------
def _detect_platform(table: _Table) -> str:
    cols = list(table.frame.columns)
    s = set(cols)
    if table.second_headers or {"StartDate", "EndDate"} <= s and ("ResponseId" in s
                                                                  or "ResponseID" in s):
        return "qualtrics"
    if cols and cols[0] == "SubmissionDate" and ("KEY" in s or "meta-instanceID" in s):
        return "odk"
    if {"_uuid", "_submission_time"} & s or {"_id", "__version__"} <= s:
        return "kobo"
    if {"id", "submitdate", "lastpage"} <= s or {"submitdate", "startlanguage"} <= s:
        return "limesurvey"
    return "generic"


class _Matcher:
    def __init__(self, spec: TemplateSpec, platform: str):
        self.spec = spec
        self.platform = platform
        self.by_name = {f.name: f for f in spec.fields}
        self.by_source = {f.source_name: f.name for f in spec.fields if f.source_name}
        self.by_path = {f.path: f.name for f in spec.fields if f.path}
        self.by_fold = {}
        for f in spec.fields:
            self.by_fold.setdefault(norm_key(f.name), f.name)
        self.by_squashed: dict[str, str | None] = {}
        for f in spec.fields:
            key = _squash(f.name)
            self.by_squashed[key] = None if key in self.by_squashed else f.name
        self.by_label = {}
        for f in spec.fields:
            for _, t in f.labels + f.var_label:
                self.by_label.setdefault(norm_key(t), f.name)
        self.lookups = {f.name: choice_lookup(f) for f in spec.fields if f.choices}
        # the part after a separator that can name a choice is never longer than this: the
        # headers' separator positions beyond it are not tried (a 48 KB header stays linear)
        self.max_sub = 2 * max((len(k) for lk in self.lookups.values() for k in lk),
                               default=0) + 64
        self.other_text_of = {f.other_text: f.name for f in spec.fields if f.other_text}

    def question(self, header: str) -> str | None:
        h = header.strip()
        if h in self.by_name:
            return h
        if h in self.by_source:
            return self.by_source[h]
        k = norm_key(h)
        if k in self.by_fold:
            return self.by_fold[k]
        if self.by_path:  # legacy loop: Kobo 'g/loop/choice/q', ODK Central 'loop-choice-q'
            for sep in ("/", "-", "."):
                parts = h.split(sep)
                for k in range(len(parts) - 2):
                    hit = self.by_path.get("/".join(parts[k:]))
                    if hit is not None:
                        return hit
        # a name used in two groups of an XLSForm is read as '<group>_<name>' for the later
        # group (survey.questionnaire.xlsform._unique_names): Kobo 'g2/q', ODK 'g2-q'
        for sep in ("/", "-"):
            parts = h.split(sep)
            if len(parts) >= 2 and parts[-1] in self.by_name and parts[-2] not in \
                    self.by_name and f"{parts[-2]}_{parts[-1]}" in self.by_name:
                return f"{parts[-2]}_{parts[-1]}"
        # group prefixes: Kobo 'g1/g2/q', ODK Central 'g1-q', SPSS-ish 'g1.q'
        for sep in ("/", "-", ".", ":"):
            if sep in h:
                leaf = h.rsplit(sep, 1)[1]
                if leaf in self.by_name:
                    return leaf
                if norm_key(leaf) in self.by_fold:
                    return self.by_fold[norm_key(leaf)]
        if k in self.by_label:
            return self.by_label[k]
        # codes that cannot hold "_" (LimeSurvey: rank_level -> ranklevel), if unambiguous
        return self.by_squashed.get(_squash(h))

    def choice(self, qname: str, token: str, *, positional: bool = False) -> str | None:
        f = self.by_name[qname]
        lk = self.lookups.get(qname, {})
        name = lk.get(norm_key(token))
        if name is None and positional:
            m = re.fullmatch(r"(?:SQ|A)0*(\d+)", token.strip(), re.IGNORECASE)
            if m and 1 <= int(m.group(1)) <= len(f.choices):
                name = f.choices[int(m.group(1)) - 1].name
        return name

    def option(self, header: str) -> tuple[str, str, str] | None:
        """('option', q, choice) or ('other_text', q, '') for per-option columns."""
        h = header.strip()
        m = re.fullmatch(r"(.+?)\s*\[(.+)\]", h)
        if m:
            candidates = [(m.group(1), m.group(2), "[")]
        else:
            candidates = []
            for i in range(len(h) - 1, max(0, len(h) - 1 - self.max_sub), -1):
                if h[i] in "/_.:":
                    candidates.append((h[:i], h[i + 1:], h[i]))
        for base, sub, sep in candidates:
            q = self.question(base)
            if q is None:
                continue
            f = self.by_name[q]
            if sub.upper() == "TEXT" or sub.upper().endswith("_TEXT") or (
                    sep == "[" and sub.lower() in ("other", "comment")
                    and self.platform == "limesurvey"):
                if f.other_text and f.other_text in self.by_name:
                    return ("other_text", f.other_text, "")
                continue
            if f.kind != "multi":
                continue
            name = self.choice(q, sub, positional=(self.platform == "limesurvey"))
            if name is not None:
                return ("option", q, name)
        return None


def _squash(name: str) -> str:
    return re.sub(r"[_\-.\s]", "", norm_key(name))


def _parse_target(target: str, matcher: _Matcher) -> tuple[str, str, str] | None:
    t = str(target).strip()
    if t in matcher.by_name:
        return ("main", t, "")
    m = re.fullmatch(r"(.+?)\[(.+)\]", t) or re.fullmatch(r"(.+?)/(.+)", t)
    if m and m.group(1) in matcher.by_name:
        name = matcher.choice(m.group(1), m.group(2))
        if name is not None:
            return ("option", m.group(1), name)
    return None


def _id_field(spec: TemplateSpec) -> str | None:
    for f in spec.fields:
        if f.role == "id":
            return f.name
    for f in spec.fields:
        if f.name in ("respondent_id", "id", "resp_id", "respondent"):
            return f.name
    for f in spec.fields:
        if f.name.endswith("_id"):
            return f.name
    return None


def _na_blank(uniq: list, codes: np.ndarray, na: set, lookup: dict, hits: dict) -> list:
    """Distinct values in ``na`` become blank, unless the question has a choice by that name,
    code or label (then it is an answer); ``hits`` counts the cells per token."""
    counts = np.bincount(codes[codes >= 0], minlength=len(uniq))
    out = list(uniq)
    for i, u in enumerate(uniq):
        if u is not None and u in na and norm_key(u) not in lookup:
            out[i] = None
            hits[u] = hits.get(u, 0) + int(counts[i])
    return out


def _to_canonical(table: _Table, spec: TemplateSpec, *, path, platform, mapping, id_column,
                  source, notes, na_values=()) -> RawTable:
    detected = _detect_platform(table)
    platform = platform or detected
    source["platform"] = platform
    source["header_rows"] = table.header_rows
    if platform != "generic":
        notes.append(f"platform {platform}" + (" (detected from the headers)"
                                                if platform == detected else " (as given)"))
    matcher = _Matcher(spec, platform)
    frame = table.frame
    headers = list(frame.columns)

    import_ids: dict[str, dict] = {}
    if table.second_headers:
        for h, cell in zip(headers, table.second_headers[1]):
            try:
                obj = json.loads(cell) if cell else {}
            except (TypeError, ValueError):
                obj = {}
            if isinstance(obj, dict):
                import_ids[h] = obj

    if id_column is not None:
        if id_column not in headers:
            raise IngestError(format_problem(
                where=str(path), expected=f"a column {id_column!r} (id_column=)",
                found="no such column", hint=_hint_choice(id_column, headers)))
        idf = _id_field(spec)
        if idf and id_column != idf:
            mapping.setdefault(id_column, idf)
    for set_name, vars_ in table.mr_sets.items():  # SPSS multiple-response sets
        f = spec.field(set_name) or spec.field(re.sub(r"[^\w.\-]", "_", set_name))
        if f is not None and f.kind == "multi":
            names = set(f.choice_names)
            for var in vars_:
                if var in names and var in headers:
                    mapping.setdefault(var, f"{f.name}[{var}]")
    for src, target in mapping.items():
        if target not in matcher.by_name and _parse_target(target, matcher) is None:
            raise IngestError(format_problem(
                where=f"mapping {{{src!r}: {target!r}}}", expected="a question of the template",
                found=repr(target), hint=_hint_choice(target, matcher.by_name)))

    # plan: question -> main header; question -> {choice: header}; headers -> role
    main: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}
    column_map: dict[str, str] = {}
    unknown: list[str] = []
    platform_cols: list[str] = []
    system = {"kobo": KOBO_SYSTEM, "odk": ODK_SYSTEM, "qualtrics": QUALTRICS_SYSTEM,
              "limesurvey": LIME_SYSTEM}.get(platform, set())
    # a file in the typed-data shape (what our writers write): a column renamed in the data
    # (ODK's "other" text q_other -> q_other_text) tells that q_other is the option column
    data_cols: dict[str, tuple[str, str, str]] = {}
    for f in spec.fields:
        if f.kind == "multi" and f.columns:
            for col, c in zip(f.columns, f.choices):
                data_cols[col] = ("option", f.name, c.name)
        elif len(f.columns) == 1:
            data_cols[f.columns[0]] = ("main", f.name, "")
    data_shaped = any(t[0] == "main" and t[1] != col and col in headers
                      for col, t in data_cols.items())
    if data_shaped:
        notes.append("columns read as typed data columns (multi-select as q_<choice>)")
    for h in headers:
        target = None
        ids = import_ids.get(h, {})
        if h in table.consumed:
            column_map[h] = "(part of an SPSS multiple-response set)"
            continue
        if data_shaped and h in data_cols and h not in mapping:
            target = data_cols[h]
        elif h in mapping:
            target = _parse_target(mapping[h], matcher)
        elif str(ids.get("ImportId", "")).endswith("_TEXT") and \
                ids["ImportId"][:-5] in mapping and _parse_target(
                    mapping[ids["ImportId"][:-5]], matcher) is not None:
            owner = matcher.by_name[_parse_target(mapping[ids["ImportId"][:-5]], matcher)[1]]
            target = ("main", owner.other_text, "") if owner.other_text in matcher.by_name \
                else None
        elif ids.get("ImportId") in mapping:
            t = _parse_target(mapping[ids["ImportId"]], matcher)
            if t and t[0] == "main" and "choiceId" in ids and matcher.by_name[t[1]].kind == "multi":
                name = matcher.choice(t[1], str(ids["choiceId"]))
                t = ("option", t[1], name) if name else None
            target = t
        elif h in system and h not in matcher.by_name:
            target = None
            platform_cols.append(h)
        else:
            q = matcher.question(h)
            if q is not None:
                target = ("main", q, "")
            else:
                target = matcher.option(h)
        if target is None:
            unknown.append(h)
            if h not in platform_cols and (h.startswith("_") or h in _ANY_SYSTEM):
                platform_cols.append(h)  # meta columns of a platform (Kobo _index, PARENT_KEY)
            continue
        kind, q, choice = target
        if kind == "option":
            if choice in options.setdefault(q, {}):
                notes.append(f"column {h!r} repeats option {q}[{choice}]; kept as extra")
                unknown.append(h)
                continue
            options[q][choice] = h
            column_map[h] = f"{q}[{choice}]"
        else:
            if q in main:
                notes.append(f"columns {main[q]!r} and {h!r} both map to {q!r}; the first is "
                             "used, the second is kept as extra")
                unknown.append(h)
                continue
            main[q] = h
            column_map[h] = q

    found = [f.name for f in spec.fields if f.name in main or f.name in options]
    if not found:
        hints = []
        for f in spec.fields[:5]:
            cm = close_matches(f.name, headers, n=1)
            if cm:
                hints.append(f"{f.name} ~ {cm[0]}")
        raise IngestError(format_problem(
            where=str(path), expected="columns named after the template's questions "
            f"({', '.join(spec.names[:6])}{', ...' if len(spec.names) > 6 else ''})",
            found=f"headers {headers[:8]}{' ...' if len(headers) > 8 else ''}",
            hint=("close matches: " + "; ".join(hints) + "; pass mapping={header: question}")
            if hints else "pass mapping={header: question}, or check that this is the right "
            "template and sheet"))

    # rows: drop wholly empty records (blank lines), keep numbering
    n = len(frame)
    nonblank = np.zeros(n, dtype=bool)
    blanks = {}
    field_of = {h: q for q, h in main.items()}
    field_of.update({h: q for q, opts in options.items() for h in opts.values()})
    na = set(na_values)
    na_hits: dict[str, int] = {}
    for h in headers:
        codes, uniq = _factorize(frame[h])
        if na and any(u in na for u in uniq if u is not None):
            uniq = _na_blank(uniq, codes, na, matcher.lookups.get(field_of.get(h, ""), {}),
                             na_hits)
        blank_u = np.array([u is None for u in uniq] + [True], dtype=bool)
        is_blank = blank_u[codes]
        nonblank |= ~is_blank
        blanks[h] = (codes, uniq)
    keep = np.flatnonzero(nonblank)
    source["na_values"] = sorted(na)
    if na_hits:
        source["na_cells"] = int(sum(na_hits.values()))
        notes.append("cells read as missing (na_values): " + ", ".join(
            f"{k!r} x{v}" for k, v in sorted(na_hits.items(), key=lambda kv: -kv[1])))
    if len(keep) < n:
        dropped = table.rows[~nonblank]
        shown = ", ".join(str(r) for r in dropped[:10]) + (" ..." if len(dropped) > 10 else "")
        notes.append(f"{len(dropped)} empty row(s) skipped (row {shown})")

    out: dict[str, Any] = {"_row": table.rows[keep]}
    scheme = spec.missing_scheme
    file_missing: dict[str, int] = {}  # question -> cells with a file-declared missing value
    explicit: dict[str, np.ndarray] = {}
    rescan: set[str] = set()  # columns assembled from several source columns
    for f in spec.fields:
        if f.name in main:
            codes, uniq = blanks[main[f.name]]
            vl = table.value_labels.get(main[f.name], {})
            if table.stata_missing:  # .a, .b, ... -> the question's missing codes
                letter = {v: str(_num_text(k)) for k, v in scheme.stata_letters(f.name).items()}
                uniq = [letter.get(u, u) if isinstance(u, str) else u for u in uniq]
            mapped = _normalize(f, uniq, matcher, vl)
            code_of = scheme.lookup(f.name)
            declared = table.user_missing.get(main[f.name])
            if declared:  # SPSS user-missing values the template does not know
                code_of = {**_declared_missing(f, declared, scheme, file_missing), **code_of}
            hits = [code_of.get(m.strip()) if isinstance(m, str) else None for m in mapped]
            kept = codes[keep]
            if any(h is not None for h in hits):
                explicit[f.name] = np.array([np.nan if h is None else float(h) for h in hits]
                                            + [np.nan])[kept]
                mapped = [None if h is not None else m for m, h in zip(mapped, hits)]
            values = _apply(kept, mapped)
            if f.kind == "multi" and f.name in options:
                values = _fill_from_options(f, values, options[f.name], blanks, keep, matcher,
                                            notes)
                rescan.add(f.name)
            out[f.name] = values
        elif f.name in options:
            out[f.name] = _from_options(f, options[f.name], blanks, keep, matcher)
            rescan.add(f.name)
    # LimeSurvey: q[other] holds the text of "other"; a filled one means "other" was chosen
    for f in spec.fields:
        if (platform == "limesurvey" and f.kind == "multi" and f.other_choice
                and f.other_text in main and f.name in out
                and main[f.other_text].endswith("[other]")):
            other = np.asarray(out[f.other_text], dtype=object)
            vals = np.asarray(out[f.name], dtype=object).copy()
            order = {c.name: i for i, c in enumerate(f.choices)}
            for idx in np.flatnonzero(~_isblank(other)):
                prev = vals[idx]
                names = set(("" if pd.isna(prev) else prev).split()) | {f.other_choice}
                vals[idx] = " ".join(sorted(names, key=lambda n: order.get(n, 1 << 30)))
            out[f.name] = vals
    # missing-answer codes kept beside the data (our own Parquet files)
    for h in list(unknown):
        if h.startswith("_missing:") and h[len("_missing:"):] in out:
            qn = h[len("_missing:"):]
            codes, uniq = blanks[h]
            reason = _apply(codes[keep], uniq)
            vals = np.asarray(out[qn], dtype=object).copy()
            fill = _isblank(vals) & ~_isblank(reason)
            vals[fill] = reason[fill]
            out[qn] = vals
            unknown.remove(h)
            column_map[h] = f"{qn} (missing codes)"
            rescan.add(qn)
    for name, miss in _extract_missing(out, rescan, scheme).items():
        if name in explicit:
            miss = np.where(np.isnan(miss), explicit[name], miss)
        explicit[name] = miss
    if file_missing:
        notes.append(f"SPSS user-missing values the template does not list were read as "
                     f"missing in {len(file_missing)} question(s), coded with the template's "
                     "code of the kind their value label says: " + ", ".join(
                         f"{k} ({v})" for k, v in list(file_missing.items())[:10]))
        source["file_missing_questions"] = sorted(file_missing)
    if explicit:
        total = int(sum((~np.isnan(v)).sum() for v in explicit.values()))
        notes.append(f"{total} cell(s) hold a missing-answer code of the template; they are "
                     "blank in the data and their codes kept in RawTable.missing")
    absent = {}
    unknown_set = [h for h in unknown]
    for f in spec.fields:
        if f.name not in out:
            absent[f.name] = close_matches(f.name, unknown_set, n=3)
    # completeness
    incomplete = None
    if platform == "limesurvey" and "submitdate" in headers:
        codes, uniq = blanks["submitdate"]
        incomplete = np.array([u is None for u in uniq] + [True], dtype=bool)[codes[keep]]
    elif platform == "qualtrics" and "Finished" in headers:
        codes, uniq = blanks["Finished"]
        incomplete = np.array([norm_key(u or "") in ("0", "false", "no") for u in uniq] + [False],
                              dtype=bool)[codes[keep]]
    if table.ragged is not None:
        rg = table.ragged[keep]
        out["_ragged"] = np.where(rg >= 0, rg.astype(object), pd.NA)
    if incomplete is not None:
        out["_incomplete"] = incomplete
        if incomplete.any():
            notes.append(f"{int(incomplete.sum())} record(s) marked incomplete by {platform}")
    for h in unknown:
        codes, uniq = blanks[h]
        out[EXTRA_PREFIX + h] = _apply(codes[keep], uniq)
    # one object block (no per-column conversion: cheap for a million rows)
    names = [c for c in out if c not in ("_row", "_incomplete", "_ragged")]
    block = np.empty((len(names), len(keep)), dtype=object)
    for j, c in enumerate(names):
        block[j] = out[c]
    result = pd.DataFrame(block.T, columns=names, dtype=object, copy=False)
    result.insert(0, "_row", np.asarray(out["_row"], dtype=np.int64))
    pos = 1 + len([c for c in names if not str(c).startswith(EXTRA_PREFIX)])
    if "_incomplete" in out:
        result.insert(pos, "_incomplete", np.asarray(out["_incomplete"], dtype=bool))
        pos += 1
    if "_ragged" in out:
        result.insert(pos, "_ragged", pd.array(out["_ragged"], dtype="Int64"))
    if unknown:
        notes.append(f"{len(unknown)} column(s) match no question and are kept as "
                     f"'{EXTRA_PREFIX}<header>': {unknown[:8]}{' ...' if len(unknown) > 8 else ''}")
    if absent:
        notes.append(f"{len(absent)} question(s) not in the file: {list(absent)[:10]}")
    source["rows_read"] = int(len(keep))
    if table.formula_cells:
        source["formula_cells"] = [(r, field_of.get(h, h), f) for r, h, f in table.formula_cells]
        notes.append(f"{len(table.formula_cells)} formula cell(s) without a saved result "
                     "read as blank")
    if platform_cols:
        source["platform_columns"] = platform_cols
    missing = None
    if explicit:
        missing = pd.DataFrame({k: pd.array(v, dtype="Int64") for k, v in explicit.items()},
                               index=result.index)
    return RawTable(frame=result, source=source, column_map=column_map,
                    unknown_columns=tuple(unknown), absent_columns=absent, notes=tuple(notes),
                    missing=missing)


# ------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------
_GUARDED = re.compile(r"'[=+\-@\t\r]")


def _declared_missing(f: FieldSpec, declared: dict, scheme, seen: dict) -> dict[str, float]:
    """Cell text -> missing code for the file's own missing values of ``f`` that are not a
    choice of the template (those stay answers): the template's code of the kind the
    value label names (DK -> nonresponse, NAP -> not_applicable)."""
    from .infer import _kind_of

    choices = {norm_key(str(_num_text(c.code))) for c in f.choices if c.code is not None}
    choices |= {norm_key(c.name) for c in f.choices}
    out: dict[str, float] = {}
    for code, label in declared.items():
        key = str(_num_text(code))
        if norm_key(key) in choices:
            continue
        target = scheme.code(_kind_of(label), f.name)
        out[key] = target
        out[f"{key}.0"] = target
    if out:
        seen[f.name] = len(declared)
    return out


def _num_text(code: float) -> int | float:
    return int(code) if float(code).is_integer() else code


def _extract_missing(out: dict, names, scheme) -> dict[str, np.ndarray]:
    """Blank the cells of ``names`` holding one of their missing codes; {question: codes}."""
    found = {}
    for name in names:
        code_of = scheme.lookup(name)
        if name not in out or not code_of:
            continue
        arr = np.asarray(out[name], dtype=object)
        codes, uniq = pd.factorize(arr, use_na_sentinel=True)
        hits = [code_of.get(u.strip()) if isinstance(u, str) else None for u in uniq]
        if not any(h is not None for h in hits):
            continue
        miss = np.array([np.nan if h is None else float(h) for h in hits] + [np.nan])[codes]
        arr = arr.copy()
        arr[~np.isnan(miss)] = pd.NA
        out[name] = arr
        found[name] = miss
    return found


def _normalize(f: FieldSpec, uniq, matcher: _Matcher, value_labels: dict) -> list:
    """The canonical value of each distinct source value (None = blank)."""
    if f.kind == "single":
        lk = matcher.lookups.get(f.name, {})
        positional = matcher.platform == "limesurvey"

        def one(u):
            if u is None:
                return None
            label = value_labels.get(u)
            if label is not None and norm_key(label) in lk:
                return lk[norm_key(label)]
            hit = lk.get(norm_key(u))
            if hit is None and positional:
                hit = matcher.choice(f.name, u, positional=True)
            return hit if hit is not None else u

        mapped = [one(u) for u in uniq]
    elif f.kind == "multi":
        mapped = [_split_multi(f, u, matcher, value_labels) for u in uniq]
    elif f.kind in ("integer", "decimal", "date", "datetime", "time"):
        mapped = [None if u is None else unicodedata.normalize("NFKC", u).strip() or None
                  for u in uniq]
    else:  # text: undo our CSV writer's formula guard ('=... -> =...)
        mapped = [u[1:] if isinstance(u, str) and _GUARDED.match(u) else u for u in uniq]
    return mapped


def _split_multi(f: FieldSpec, u: str | None, matcher: _Matcher, value_labels) -> str | None:
    if u is None:
        return None
    lk = matcher.lookups.get(f.name, {})
    order = {c.name: i for i, c in enumerate(f.choices)}
    label = value_labels.get(u)
    if label is not None and norm_key(label) in lk:
        return lk[norm_key(label)]
    whole = lk.get(norm_key(u))
    if whole is not None:
        return whole
    tokens = u.split()
    names = [lk.get(norm_key(t)) for t in tokens]
    if tokens and all(n is not None for n in names):
        return " ".join(sorted(set(names), key=order.get))
    # joined labels (Google Forms ", ", Chinese "、", Kobo label export " "): greedy, longest first
    keys = sorted(lk, key=len, reverse=True)
    s = norm_key(u)
    i, found = 0, []
    while i < len(s):
        if s[i] in _SEPARATORS:
            i += 1
            continue
        for k in keys:
            if k and s.startswith(k, i) and (i + len(k) == len(s) or s[i + len(k)] in _SEPARATORS
                                            or not k.isascii()):
                found.append(lk[k])
                i += len(k)
                break
        else:
            return u  # an unknown part: keep verbatim; validation reports it
    return " ".join(sorted(set(found), key=order.get)) if found else u


def _selected_flags(f: FieldSpec, choice: str, codes, uniq, matcher) -> np.ndarray:
    """Per distinct value: 1 selected, 0 not selected, -1 blank, 2 unreadable."""
    lk = matcher.lookups.get(f.name, {})
    out = []
    for u in uniq:
        if u is None:
            out.append(-1)
            continue
        k = norm_key(u)
        if k in _SELECTED or lk.get(k) == choice:
            out.append(1)
        elif k in _UNSELECTED:
            out.append(0)
        elif _MISSING_CODE.fullmatch(k):
            out.append(-2)  # a missing-answer code (e.g. -99) written into the option column
        else:
            try:
                out.append(1 if float(k) > 0 else 0)
            except ValueError:
                out.append(2)
    return np.array(out + [-1], dtype=np.int8)[codes]


_MISSING_CODE = re.compile(r"-\d+")


def _from_options(f: FieldSpec, cols: dict[str, str], blanks, keep, matcher) -> np.ndarray:
    """Build the multi column from one column per option (0/1, Y/blank, text/blank)."""
    n = len(keep)
    order = [c.name for c in f.choices if c.name in cols]
    flags = np.stack([_selected_flags(f, c, blanks[cols[c]][0][keep], blanks[cols[c]][1],
                                      matcher) for c in order], axis=1) if order else \
        np.zeros((n, 0), dtype=np.int8)
    sel = flags == 1
    any_sel = sel.any(axis=1)
    # factorize the selection patterns, then join names once per pattern
    weights = (sel.astype(np.int64) << np.arange(sel.shape[1], dtype=np.int64)).sum(axis=1) \
        if sel.shape[1] <= 62 else None
    if weights is None:  # pragma: no cover - more than 62 options
        joined = np.array([" ".join(np.array(order)[r]) for r in sel], dtype=object)
    else:
        pats, inv = np.unique(weights, return_inverse=True)
        text = np.array([" ".join(c for j, c in enumerate(order) if (int(p) >> j) & 1)
                         for p in pats], dtype=object)
        joined = text[inv]
    joined = joined.astype(object)
    joined[~any_sel] = pd.NA
    # rows with no option selected but a missing-answer code in the option columns
    coded = (~any_sel) & (flags == -2).any(axis=1)
    if coded.any():
        first = np.argmax(flags == -2, axis=1)
        for j, c in enumerate(order):
            rows = np.flatnonzero(coded & (first == j))
            if len(rows):
                codes, uniq = blanks[cols[c]]
                joined[rows] = _apply(codes[keep], [None if u is None else norm_key(u)
                                                    for u in uniq])[rows]
    return joined


def _fill_from_options(f, values, cols, blanks, keep, matcher, notes) -> np.ndarray:
    """Main column wins (formats.md §2.3); options fill rows where it is blank; disagreements
    are noted (ODK Central pre-fills option columns with 0, so all-zero rows stay blank)."""
    derived = _from_options(f, cols, blanks, keep, matcher)
    vals = np.asarray(values, dtype=object)
    blank_main = _isblank(vals)
    fill = blank_main & ~_isblank(derived)
    if fill.any():
        vals = vals.copy()
        vals[fill] = derived[fill]
        notes.append(f"{f.name}: {int(fill.sum())} blank answer(s) filled from the per-option "
                     "columns")
    both = ~blank_main
    if both.any():
        a = pd.Series(vals[both], dtype=object).fillna("")
        b = pd.Series(derived[both], dtype=object).fillna("")
        differ = int((a.to_numpy() != b.to_numpy()).sum())
        if differ:
            notes.append(f"{f.name}: the per-option columns disagree with the answer column in "
                         f"{differ} row(s); the answer column is used")
    return vals
