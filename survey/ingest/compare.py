"""Double data entry: compare two keyings of the same paper forms.

Both files are read into the canonical raw form first (`read_raw`), so a clerk who typed
``女`` and another who typed ``2`` agree, and a CSV can be compared with an Excel file.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import pandas as pd

from ..core.result import Result
from ..errors import IngestError, did_you_mean, format_problem
from .raw import EXTRA_PREFIX, RawTable


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class EntryComparison(Result):
    """The disagreements between two keyings of the same forms.

    Attributes
    ----------
    disagreements : one row per differing cell: ``respondent_id``, ``question``, ``first``,
        ``second``, ``row_first``, ``row_second`` (row numbers in each file) and, with a
        clerk column, ``clerk_first``, ``clerk_second``.
    only_first, only_second : ids (and rows) present in one file only.
    by_question : per question: ``cells`` compared, ``agree``, ``rate``.
    by_clerk : per clerk and file: ``cells``, ``agree``, ``rate`` (empty without a clerk column).
    id_column : the question matching the forms.
    notes : how the files were matched.
    """

    disagreements: pd.DataFrame
    only_first: pd.DataFrame
    only_second: pd.DataFrame
    by_question: pd.DataFrame
    by_clerk: pd.DataFrame
    id_column: str
    first_path: str = ""
    second_path: str = ""
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return "Double entry comparison"

    @property
    def n_disagreements(self) -> int:
        return len(self.disagreements)

    @property
    def agreement(self) -> float:
        """Share of compared cells on which both files agree."""
        cells = int(self.by_question["cells"].sum())
        return float(self.by_question["agree"].sum() / cells) if cells else float("nan")

    @property
    def ok(self) -> bool:
        return not len(self.disagreements) and not len(self.only_first) and not len(
            self.only_second)

    def to_frame(self) -> pd.DataFrame:
        return self.disagreements

    def _summary(self) -> str:
        return (f"{len(self.disagreements)} disagreements, {len(self.only_first)} only in first, "
                f"{len(self.only_second)} only in second, agreement {self.agreement:.2%}")

    def _display_frame(self) -> pd.DataFrame:
        return self.disagreements.head(200)


def _as_raw(obj: Any, questionnaire: Any) -> RawTable:
    if isinstance(obj, RawTable):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        from .read import read_raw

        return read_raw(obj, questionnaire)
    raise IngestError(f"compare_entries: expected a file path or RawTable, got {type(obj).__name__}")


def compare_entries(
    first: Any,
    second: Any,
    questionnaire: Any,
    *,
    id_column: str | None = None,
    clerk_column: str | None = None,
) -> EntryComparison:
    """Compare two keyings of the same forms, cell by cell.

    Parameters
    ----------
    first, second : file paths (any format `read_raw` reads) or `RawTable` objects.
    questionnaire : the `Questionnaire` (or template path or name).
    id_column : the question identifying a form (default: the template's respondent id).
    clerk_column : a column naming the clerk who keyed each row (a question or an extra
        source column); gives agreement rates per clerk.

    Forms whose id occurs several times in a file are matched by order of occurrence.
    Two blanks agree; a blank and a value disagree.
    """
    from .read import _id_field, _load, _spec_of

    q = _load(questionnaire)
    spec = _spec_of(q)
    a, b = _as_raw(first, q), _as_raw(second, q)
    idc = id_column or _id_field(spec)
    if idc is None:
        raise IngestError(format_problem(where="compare_entries", expected="id_column=",
                                         found="no respondent id question in the template",
                                         hint="name the column identifying each form"))
    for raw, label in ((a, "first"), (b, "second")):
        if idc not in raw.frame.columns:
            raise IngestError(format_problem(
                where=f"{raw.source.get('path', label)}", expected=f"an id column {idc!r}",
                found="none", hint="pass id_column="))
    fa, fb = a.frame.copy(), b.frame.copy()
    for f in (fa, fb):
        f["_occ"] = f.groupby(idc, dropna=False).cumcount()
    notes = []
    if (fa["_occ"] > 0).any() or (fb["_occ"] > 0).any():
        notes.append("some ids occur more than once; they are matched by order of occurrence")
    key = [idc, "_occ"]
    merged = fa.merge(fb, on=key, how="outer", suffixes=("\x00a", "\x00b"), indicator=True)
    only_a = merged.loc[merged["_merge"] == "left_only", [idc, "_row\x00a"]].rename(
        columns={idc: "respondent_id", "_row\x00a": "row"}).reset_index(drop=True)
    only_b = merged.loc[merged["_merge"] == "right_only", [idc, "_row\x00b"]].rename(
        columns={idc: "respondent_id", "_row\x00b": "row"}).reset_index(drop=True)
    both = merged[merged["_merge"] == "both"].reset_index(drop=True)

    def clerk(side: str) -> pd.Series | None:
        for name in (clerk_column, EXTRA_PREFIX + clerk_column):
            col = f"{name}\x00{side}"
            if col in both.columns:
                return both[col].astype("string")
            if name in (fa.columns if side == "a" else fb.columns):
                return both[name].astype("string")  # same name in both: no suffix
        return None

    ca = cb = None
    if clerk_column is not None:
        ca, cb = clerk("a"), clerk("b")
        if ca is None and cb is None:
            raise IngestError(format_problem(
                where="compare_entries", expected=f"a clerk column {clerk_column!r}",
                found="none in either file",
                hint=did_you_mean(clerk_column, list(a.frame.columns) + list(b.frame.columns))))
        missing_side = pd.Series([pd.NA] * len(both), dtype="string")
        ca = missing_side if ca is None else ca
        cb = missing_side if cb is None else cb
    questions = [f.name for f in spec.fields if f.name != idc
                 and f"{f.name}\x00a" in both.columns and f"{f.name}\x00b" in both.columns]
    pieces, per_q = [], []
    clerk_cells: dict[tuple[str, str], list[int]] = {}
    for qn in questions:
        va = both[f"{qn}\x00a"].astype("string")
        vb = both[f"{qn}\x00b"].astype("string")
        same = ((va == vb).fillna(False) | (va.isna() & vb.isna())).to_numpy(dtype=bool)
        per_q.append((qn, len(same), int(same.sum())))
        if ca is not None:
            for side, cs in (("first", ca), ("second", cb)):
                if cs.isna().all():
                    continue
                g = pd.DataFrame({"c": cs.fillna("<NA>").to_numpy(), "s": same}).groupby("c")["s"]
                for name, (n, k) in zip(g.size().index, zip(g.size(), g.sum())):
                    acc = clerk_cells.setdefault((str(name), side), [0, 0])
                    acc[0] += int(n)
                    acc[1] += int(k)
        bad = np.flatnonzero(~same)
        if len(bad):
            piece = pd.DataFrame({
                "respondent_id": both[idc].to_numpy()[bad],
                "question": qn,
                "first": va.to_numpy()[bad],
                "second": vb.to_numpy()[bad],
                "row_first": both["_row\x00a"].to_numpy()[bad].astype(np.int64),
                "row_second": both["_row\x00b"].to_numpy()[bad].astype(np.int64),
            })
            if ca is not None:
                piece["clerk_first"] = ca.to_numpy()[bad]
                piece["clerk_second"] = cb.to_numpy()[bad]
            pieces.append(piece)
    cols = ["respondent_id", "question", "first", "second", "row_first", "row_second"]
    if ca is not None:
        cols += ["clerk_first", "clerk_second"]
    dis = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=cols)
    if len(dis):
        dis = dis.sort_values(["row_first", "question"], kind="stable").reset_index(drop=True)
    by_q = pd.DataFrame(per_q, columns=["question", "cells", "agree"]).set_index("question")
    by_q["rate"] = by_q["agree"] / by_q["cells"].where(by_q["cells"] > 0)
    by_c = pd.DataFrame([(c, side, n, k) for (c, side), (n, k) in sorted(clerk_cells.items())],
                        columns=["clerk", "file", "cells", "agree"])
    by_c["rate"] = by_c["agree"] / by_c["cells"].where(by_c["cells"] > 0)
    skipped = sorted(set(spec.names) - set(questions) - {idc})
    if skipped:
        notes.append(f"not compared (absent from one file): {skipped[:10]}")
    return EntryComparison(
        disagreements=dis, only_first=only_a, only_second=only_b, by_question=by_q,
        by_clerk=by_c, id_column=idc, first_path=str(a.source.get("path", "")),
        second_path=str(b.source.get("path", "")), notes=tuple(notes))
