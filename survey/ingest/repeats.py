"""Responses of a form with repeats: the main table plus one linked table per repeat.

Two export layouts are read (formats.md §2):

- KoboToolbox XLSX: the first sheet is the main table; each repeat has a sheet named after it
  (Excel cuts sheet names at 31 characters) whose ``_parent_index`` points at the ``_index``
  of the parent sheet named in ``_parent_table_name``.
- ODK Central CSV zip: ``<form>.csv`` is the main table, ``<form>-<repeat>.csv`` a repeat's,
  whose ``PARENT_KEY`` points at the parent's ``KEY``.

Each table is read and validated with the same rules as any response file, against
``q.table(repeat)``: the outer questions a repeat's skip logic refers to are joined from the
parent row (their problems are reported once, in the parent's table). A nested repeat's
table is in ``s.repeats`` and on its parent repeat's Survey. Every repeat row says
its parent in ``_parent_row`` (the parent's index label in its ``data``); a row whose parent
is not found keeps ``_parent_row`` empty and is reported (rule ``orphan_repeat_row``).
Other files (a CSV of the main table only) give the main table and no repeat tables, with
a note.
"""

from __future__ import annotations

import dataclasses
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import IngestError, format_problem
from .raw import EXTRA_PREFIX, RawTable

_READ_KEYS = ("encoding", "platform", "mapping", "sheet", "delimiter", "id_column")
_KOBO_LINK = ("_index", "_parent_index", "_parent_table_name")
_ODK_LINK = ("KEY", "PARENT_KEY")


@dataclasses.dataclass
class _Part:
    name: str            # repeat name (None: main)
    raw: RawTable
    key: str | None      # the column (extra) holding this table's own key
    parent_key: str | None
    parent: str | None   # name of the parent table (None: main)


def read_with_repeats(path, q: Any, **options: Any):
    """`read_responses` for a questionnaire with repeats (see the module docstring)."""
    from .read import read_raw, survey_from_raw

    path = Path(path)
    read_opts = {k: options[k] for k in _READ_KEYS if k in options}
    layout = _layout(path)
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        if layout == "odk_zip":
            files = _odk_members(path, Path(tmp))
            main_file, rep_files = _odk_tables(files, q, path)
            for f in files:
                if f != main_file and f not in rep_files.values():
                    notes.append(f"{f.name} in {path.name} is not a table of a repeat of "
                                 f"{q.id} (repeats: {', '.join(q.repeats())}); not read")
            parts = [_Part(None, read_raw(main_file, q.table(), **read_opts), "KEY", None, None)]
            for rep, f in rep_files.items():
                parts.append(_Part(rep, read_raw(f, q.table(rep), **read_opts), "KEY",
                                   "PARENT_KEY", _parent(q, rep)))
            for p in parts:
                p.raw = _with_source(p.raw, path)
        elif layout == "kobo_xlsx":
            sheets = _sheet_names(path)
            main_sheet = read_opts.pop("sheet", sheets[0])
            parts = [_Part(None, read_raw(path, q.table(), sheet=main_sheet, **read_opts),
                           "_index", None, None)]
            used = {main_sheet if isinstance(main_sheet, str) else sheets[main_sheet]}
            for rep in q.repeats():
                sheet = _kobo_sheet(rep, sheets)
                used.add(sheet)
                if sheet is None:
                    notes.append(f"no sheet for repeat {rep!r} in {path.name} (sheets: "
                                 f"{', '.join(sheets)}); s.repeats has no {rep!r} table")
                    continue
                parts.append(_Part(rep, read_raw(path, q.table(rep), sheet=sheet, **read_opts),
                                   "_index", "_parent_index", _parent(q, rep)))
            notes += [f"sheet {s!r} of {path.name} is not a repeat of {q.id} (repeats: "
                      f"{', '.join(q.repeats())}); not read" for s in sheets if s not in used]
        else:
            parts = [_Part(None, read_raw(path, q.table(), **read_opts), None, None, None)]
            notes.append(f"{path.name} holds one table: the main one; repeats "
                         f"{', '.join(q.repeats())} need the XLSX export (KoboToolbox) or the "
                         "CSV zip (ODK Central)")
    by_name = {p.name: p for p in parts}
    surveys: dict[str | None, Any] = {}
    for p in parts:  # parents come before their repeats (q.repeats() is outermost first)
        raw, orphans = _link(p, by_name, q, surveys)
        if p.name is None:
            sv = survey_from_raw(raw, q.table(), **options)
        else:  # the design (weights, strata, PSUs) is the main table's
            valid = {k: options[k] for k in ("policies", "language") if k in options}
            sv = _finish_repeat(survey_from_raw(raw, q.table(p.name), **valid), q, p.name,
                                orphans)
            surveys[p.parent] = _count_check(surveys[p.parent], sv, q.repeats()[p.name],
                                             options.get("language"))
        surveys[p.name] = sv
    # a nested repeat's table hangs on its parent repeat's Survey too (innermost first), so
    # s.repeats["members"].repeat_summary("jobs") works; s.repeats lists every repeat
    for p in reversed(parts):
        if p.name is not None and p.parent is not None and p.parent in surveys:
            parent = surveys[p.parent]
            surveys[p.parent] = dataclasses.replace(
                parent, repeats={**parent.repeats, p.name: surveys[p.name]})
    main = surveys.pop(None)
    source = dict(main.source)
    if notes:
        source["notes"] = [*source.get("notes", []), *notes]
    # main.questionnaire is q.table(): every question of it is a column of main.data (each
    # repeat's Survey has its own table's questionnaire); q itself is the caller's
    return dataclasses.replace(main, repeats=surveys, source=source)


def _layout(path: Path) -> str:
    if not zipfile.is_zipfile(path):
        return "other"
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    if "xl/workbook.xml" in names:
        return "kobo_xlsx"
    if any(n.lower().endswith(".csv") for n in names):
        return "odk_zip"
    return "other"


def _with_source(raw: RawTable, archive: Path) -> RawTable:
    src = dict(raw.source)
    src["member"] = Path(src.get("path", "")).name
    src["path"] = f"{archive}!{src['member']}"
    return dataclasses.replace(raw, source=src)


def _odk_members(path: Path, tmp: Path) -> list[Path]:
    out = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            name = Path(info.filename).name
            if info.is_dir() or not name.lower().endswith(".csv"):
                continue
            target = tmp / name
            target.write_bytes(z.read(info))
            out.append(target)
    return out


def _odk_tables(files: list[Path], q, archive: Path) -> tuple[Path, dict[str, Path]]:
    main = [f for f in files if not _csv_has(f, "PARENT_KEY") and " - audit" not in f.stem]
    if len(main) != 1:
        raise IngestError(format_problem(
            where=str(archive), expected="one main table (a CSV without PARENT_KEY)",
            found=f"{len(main)}: {', '.join(f.name for f in main) or 'none'}",
            hint="pass the zip ODK Central exports ('All data and media' or 'CSV')"))
    reps: dict[str, Path] = {}
    stem = main[0].stem
    for f in files:
        if f in main or not f.stem.startswith(stem + "-"):
            continue
        rep = f.stem[len(stem) + 1:]
        if rep in q.repeats():
            reps[rep] = f
    return main[0], reps


def _csv_has(f: Path, column: str) -> bool:
    with open(f, "rb") as fh:
        head = fh.readline().decode("utf-8-sig", errors="replace")
    return column in [c.strip().strip('"') for c in head.split(",")]


def _sheet_names(path: Path) -> list[str]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _kobo_sheet(rep: str, sheets: list[str]) -> str | None:
    for s in sheets[1:]:
        if s == rep or s == rep[:31] or s.lower() == rep.lower()[:31]:
            return s
    return None


def _parent(q, rep: str) -> str | None:
    """The repeat that holds repeat ``rep`` (None: the main table)."""
    from ..questionnaire.model import Group, walk_items

    for it, parents in walk_items(q.items):
        if isinstance(it, Group) and it.name == rep:
            outer = [g.name for g in parents if isinstance(g, Group) and g.repeat]
            return outer[-1] if outer else None
    return None


def _col(raw: RawTable, name: str) -> pd.Series | None:
    for c in (EXTRA_PREFIX + name, name):
        if c in raw.frame.columns:
            return raw.frame[c]
    return None


def _link(p: _Part, by_name: dict, q, surveys: dict) -> tuple[RawTable, np.ndarray]:
    """The repeat's raw table with ``_parent_row`` and the outer questions joined in."""
    if p.name is None:
        return p.raw, np.zeros(0, dtype=bool)
    parent = by_name.get(p.parent)
    parent_sv = surveys.get(p.parent)
    frame = p.raw.frame.copy()
    own_key = _col(p.raw, p.parent_key or "")
    if parent is None or parent_sv is None or own_key is None:
        missing = p.parent_key if own_key is None else f"the {p.parent or 'main'} table"
        raise IngestError(format_problem(
            where=str(p.raw.source.get("path")), expected=f"repeat {p.name!r} linked to its "
            f"parent by {p.parent_key}", found=f"no {missing}",
            hint="export with the platform's default columns (Kobo: _index/_parent_index; "
            "ODK Central: KEY/PARENT_KEY)"))
    parent_key = _col(parent.raw, parent.key or "")
    if parent_key is None:
        raise IngestError(format_problem(
            where=str(parent.raw.source.get("path")), expected=f"the key column {parent.key}",
            found="none", hint="export with the platform's default columns"))
    keys = parent_key.astype(str).str.strip()
    # the parent's row label in its Survey.data ("row" index = source row number)
    parent_rows = pd.Series(parent.raw.frame["_row"].to_numpy(), index=keys.to_numpy())
    parent_rows = parent_rows[~parent_rows.index.duplicated()]
    accepted = set(parent_sv.data.index)
    linked = own_key.astype(str).str.strip().map(parent_rows)
    orphans = linked.isna().to_numpy() | ~linked.isin(accepted).to_numpy()
    frame[EXTRA_PREFIX + "_parent_row"] = linked.where(~orphans)
    # outer questions the repeat's expressions use: values from the parent's raw row
    outer = [x.name for x in q.table(p.name).questions() if q.repeat_of(x.name) != p.name]
    by_row = parent.raw.frame.set_index("_row")
    for name in outer:
        if name in by_row.columns:
            frame[name] = linked.map(by_row[name]).where(~orphans, None).to_numpy()
    absent = {k: v for k, v in p.raw.absent_columns.items() if k not in outer}
    return dataclasses.replace(p.raw, frame=frame, absent_columns=absent), orphans


def _count_check(parent, child, group, language):
    """Rows of the repeat per parent against its ``repeat_count`` (``${q}`` or a number)."""
    import re

    from ..i18n import words

    count = (group.repeat_count or "").strip()
    m = re.fullmatch(r"\$\{([^}]+)\}", count)
    if m and m.group(1) in parent.data.columns:
        expected = pd.to_numeric(parent.data[m.group(1)], errors="coerce")
    elif re.fullmatch(r"\d+", count):
        expected = pd.Series(float(count), index=parent.data.index)
    else:
        return parent
    got = dataclasses.replace(parent, repeats={group.name: child}).repeat_summary(group.name)
    off = expected.notna() & (expected.astype("Float64") != got.astype("Float64"))
    if not off.any():
        return parent
    text = words("validation", language, strict=False)["repeat_count"]
    problems = parent.validation.problems
    rows = parent.data.index[off.to_numpy(dtype=bool)]
    extra = pd.DataFrame({
        "row": rows, "question": group.name, "value": got[rows].astype(str).to_numpy(),
        "rule": "repeat_count", "severity": "warning",
        "message": [text.format(question=group.name, value=got[r], expected=count,
                                n=f"{expected[r]:g}") for r in rows]})
    problems = pd.concat([problems, extra.reindex(columns=problems.columns)], ignore_index=True)
    report = dataclasses.replace(parent.validation, problems=problems)
    return dataclasses.replace(parent, validation=report)


def _finish_repeat(sv, q, rep: str, orphans: np.ndarray):
    """Outer copies' problems dropped (reported in the parent); orphans reported."""
    outer = {x.name for x in q.table(rep).questions() if q.repeat_of(x.name) != rep}
    report = sv.validation
    problems = report.problems
    problems = problems[~problems["question"].isin(outer)]
    data = sv.data
    if "_parent_row" in data.columns:
        data = data.assign(_parent_row=pd.to_numeric(data["_parent_row"], errors="coerce")
                           .astype("Int64"))
    if orphans.any():
        rows = [r for r in data.index[data["_parent_row"].isna()]] if "_parent_row" in \
            data.columns else []
        extra = pd.DataFrame({
            "row": rows, "respondent_id": [None] * len(rows), "question": ["_parent_row"] *
            len(rows), "value": [None] * len(rows), "rule": ["orphan_repeat_row"] * len(rows),
            "severity": ["error"] * len(rows),
            "message": [f"repeat {rep!r} row {r}: its parent is not among the accepted rows "
                        "of the parent table (kept, unlinked)" for r in rows]})
        problems = pd.concat([problems, extra.reindex(columns=problems.columns)],
                             ignore_index=True)
    report = dataclasses.replace(report, problems=problems.reset_index(drop=True))
    return dataclasses.replace(sv, validation=report, data=data)
