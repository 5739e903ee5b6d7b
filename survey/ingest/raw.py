"""`RawTable`: a response file read into the canonical raw form, before validation.

The canonical raw form is the hand-over between reading (`survey.ingest`) and validation
(`survey.validation`):

* ``frame`` has the column ``_row`` first: the row number of each record as a spreadsheet
  program shows the file (the header is row 1 of a plain CSV, so the first answer is row 2;
  the three header rows of a Qualtrics export make its first answer row 4).
* Then one column per questionnaire question that was found in the file, in template order.
  A multiple-choice question is ONE column of space-separated choice names in template order.
  Values that match a choice (by name, numeric code or label in any language of the template)
  hold the choice NAME; anything else is kept verbatim as a string (validation reports it).
  Numbers and dates are strings (validation types them); blanks are ``<NA>``.
* ``_incomplete`` (boolean) when the platform says a record is incomplete (LimeSurvey's
  empty ``submitdate``, Qualtrics ``Finished`` = 0).
* Source columns that match no question are kept at the end, named ``_extra:<header>``.
* A cell holding one of its question's missing codes (``MissingScheme.for_var``: the
  template's codes, narrowed or replaced by the question's ``missing:``; Stata ``.a``-``.z``
  mapped back by ``MissingScheme.stata_letters``) is blank in ``frame`` and its code is in ``missing``
  (same index as ``frame``, one column per question that has any, ``Int64``).
  `read_responses` lays these codes over the reasons validation derives, so a file that says
  *why* an answer is missing keeps saying it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

EXTRA_PREFIX = "_extra:"


@dataclasses.dataclass(frozen=True, eq=False)
class RawTable:
    """A response file in the canonical raw form (see the module docstring).

    Attributes
    ----------
    frame : the records: ``_row``, one column per question found, ``_incomplete`` (when the
        platform records completeness), then ``_extra:<header>`` columns.
    source : provenance: path, sha256, size, format, encoding, encoding_confidence,
        delimiter, platform, sheet, header_rows, rows_read, read_seconds.
    column_map : source header -> question name (or ``"<question>[<choice>]"`` for one
        column per option of a multiple-choice question).
    unknown_columns : source headers that match no question (kept as ``_extra:`` columns).
    absent_columns : question name -> close matches among the unknown headers, for questions
        expected but not found.
    notes : what the reader decided (encoding, platform, skipped empty lines, ...).
    missing : explicit missing codes found in the file (see the module docstring), or None.
    """

    frame: pd.DataFrame
    source: dict = dataclasses.field(default_factory=dict)
    column_map: dict = dataclasses.field(default_factory=dict)
    unknown_columns: tuple[str, ...] = ()
    absent_columns: dict = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()
    missing: pd.DataFrame | None = None

    @property
    def questions(self) -> list[str]:
        """The question columns of ``frame`` (no ``_row``, ``_incomplete`` or extras)."""
        return [c for c in self.frame.columns if not str(c).startswith("_")]

    @property
    def extra(self) -> pd.DataFrame:
        """The unknown source columns, under their original headers (same index as frame)."""
        cols = [c for c in self.frame.columns if str(c).startswith(EXTRA_PREFIX)]
        out = self.frame[cols]
        return out.rename(columns={c: c[len(EXTRA_PREFIX):] for c in cols})

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        src = self.source
        parts = [f"{len(self.frame)} rows", f"{len(self.questions)} questions"]
        for key in ("format", "platform", "encoding"):
            if src.get(key):
                parts.append(f"{key} {src[key]}")
        if self.unknown_columns:
            parts.append(f"{len(self.unknown_columns)} unknown columns")
        if self.absent_columns:
            parts.append(f"{len(self.absent_columns)} absent")
        return f"<RawTable: {', '.join(parts)}>"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": dict(self.source),
            "column_map": dict(self.column_map),
            "unknown_columns": list(self.unknown_columns),
            "absent_columns": dict(self.absent_columns),
            "notes": list(self.notes),
        }
