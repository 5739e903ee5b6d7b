"""What comes out of the entry database: the final records, each pass as a raw table, the
comparison of the two passes and the progress per fieldwork unit."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pandas as pd

from ..core.result import Result
from .store import EntryStore


def final_records(db: str | os.PathLike | EntryStore) -> tuple[list[dict], list[int], list[str]]:
    """The records to analyse: for each id, the adjudicated value of every field decided,
    else the first-pass value; ids keyed only in the second pass are taken from it.

    Returns ``(records, rows, notes)``: ``rows`` are the database row numbers of the forms
    used, ``notes`` say how many disagreements are still open (their first-pass value is
    used, and the note names the ids) — never silently.
    """
    store = db if isinstance(db, EntryStore) else EntryStore(db, create=False)
    first = {f["respondent_id"]: f for f in store.forms(1)}
    second = {f["respondent_id"]: f for f in store.forms(2)}
    decided = store.adjudications()
    records, rows, open_ids, n_open, n_decided = [], [], [], 0, 0
    for rid, form in [*first.items(), *((r, f) for r, f in second.items() if r not in first)]:
        data = dict(form["data"])
        other = second.get(rid) if rid in first else None
        if other is not None:
            for key in sorted(set(data) | set(other["data"])):
                if data.get(key) == other["data"].get(key):
                    continue
                if (rid, key) in decided:
                    n_decided += 1
                else:
                    n_open += 1
                    if rid not in open_ids:
                        open_ids.append(rid)
        for (drid, key), d in decided.items():
            if drid == rid:
                data[key] = d["value"]
        records.append({k: v for k, v in data.items() if v is not None})
        rows.append(form["row"])
    notes = [f"entry database: {len(first)} forms keyed in pass 1, {len(second)} in pass 2, "
             f"{sum(r in first for r in second)} double-keyed, {n_decided} disagreements "
             "adjudicated"]
    if n_open:
        notes.append(f"{n_open} disagreements between the passes are not adjudicated yet; the "
                     f"first-pass values are used for them (ids {', '.join(open_ids[:20])}"
                     + (" ..." if len(open_ids) > 20 else "") + ")")
    only_second = [r for r in second if r not in first]
    if only_second:
        notes.append(f"{len(only_second)} forms keyed only in pass 2 are included: "
                     + ", ".join(only_second[:20]))
    return records, rows, notes


def pass_raw(store: EntryStore, questionnaire: Any, pass_: int):
    """One pass of keying as a `RawTable` (``_row`` = the database row of each form)."""
    from ..ingest.read import raw_from_records

    forms = store.forms(pass_)
    records = [f["data"] for f in forms]
    columns = [qq.name for qq in questionnaire.questions() if qq.is_data]
    return raw_from_records(records, questionnaire, rows=[f["row"] for f in forms],
                            source={"path": f"{store.path}#pass{pass_}", "format": "sqlite"},
                            columns=columns)


def entry_comparison(db: str | os.PathLike | EntryStore, questionnaire: Any):
    """`compare_entries` of the first and the second pass stored in ``db``."""
    from ..ingest.compare import compare_entries
    from ..ingest.read import _load

    q = _load(questionnaire)
    store = db if isinstance(db, EntryStore) else EntryStore(db, create=False)
    return compare_entries(pass_raw(store, q, 1), pass_raw(store, q, 2), q)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class EntryProgress(Result):
    """Keying progress per fieldwork unit against the returned questionnaires.

    ``table`` has one row per unit and a total row (``unit`` = "total"): ``returned``
    (from the template's fieldwork block), ``keyed`` (first pass), ``double_keyed`` (both
    passes), ``disagreements_open`` (fields on which the passes differ and nobody has
    decided), ``pct_keyed`` (keyed / returned, in percent).
    """

    table: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return "Data entry progress"

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def _summary(self) -> str:
        tot = self.table.iloc[-1]
        return (f"{int(tot['keyed'])} keyed of {tot['returned']} returned, "
                f"{int(tot['double_keyed'])} double-keyed, "
                f"{int(tot['disagreements_open'])} disagreements open")

    @property
    def footnotes(self) -> tuple[str, ...]:
        return self.notes


def entry_progress(db: str | os.PathLike | EntryStore, questionnaire: Any, *,
                   language: str | None = None) -> EntryProgress:
    """Keyed, double-keyed and open disagreements per unit of the fieldwork block."""
    from ..ingest.read import _load

    q = _load(questionnaire)
    store = db if isinstance(db, EntryStore) else EntryStore(db, create=False)
    fw = getattr(q, "fieldwork", None)
    unit_var = getattr(fw, "unit_variable", None)
    first = {f["respondent_id"]: f["data"] for f in store.forms(1)}
    second = {f["respondent_id"]: f["data"] for f in store.forms(2)}
    decided = store.adjudications()

    def unit_of(data: dict) -> str:
        return str(data.get(unit_var) or "") if unit_var else ""

    rows: dict[str, dict] = {}
    lang = language or q.default_language
    for u in (fw.units if fw is not None else ()):
        rows[u.id] = {"unit": u.id, "label": q.text(u.label, lang) if u.label else u.id,
                      "returned": u.returned, "keyed": 0, "double_keyed": 0,
                      "disagreements_open": 0}

    def row(unit: str) -> dict:
        if unit not in rows:
            rows[unit] = {"unit": unit or "(none)", "label": unit or "(no unit keyed)",
                          "returned": pd.NA, "keyed": 0, "double_keyed": 0,
                          "disagreements_open": 0}
        return rows[unit]

    for rid, data in first.items():
        r = row(unit_of(data))
        r["keyed"] += 1
        if rid in second:
            r["double_keyed"] += 1
            other = second[rid]
            r["disagreements_open"] += sum(
                data.get(k) != other.get(k) and (rid, k) not in decided
                for k in set(data) | set(other))
    table = pd.DataFrame(list(rows.values()),
                         columns=["unit", "label", "returned", "keyed", "double_keyed",
                                  "disagreements_open"])
    returned_total = (fw.returned if fw is not None and fw.returned is not None
                      else table["returned"].dropna().sum() if len(table) else 0)
    from ..i18n import normalize_language, text

    total = {"unit": "total",
             "label": text("report.total", normalize_language(lang, strict=False)),
             "returned": returned_total,
             "keyed": int(table["keyed"].sum()), "double_keyed": int(table["double_keyed"].sum()),
             "disagreements_open": int(table["disagreements_open"].sum())}
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    returned = pd.to_numeric(table["returned"], errors="coerce")
    table["pct_keyed"] = 100 * table["keyed"] / returned.where(returned > 0)
    notes = []
    only_second = len([r for r in second if r not in first])
    if only_second:
        notes.append(f"{only_second} forms keyed only in pass 2 are not counted as keyed")
    if unit_var is None:
        notes.append("the template names no fieldwork unit_variable: one total row only")
    return EntryProgress(table=table, notes=tuple(notes))
