"""`ValidationReport`: every problem found in a response file, one row each."""

from __future__ import annotations

import dataclasses
import html

import pandas as pd

from ..core.result import _CSS, Result, frame_to_html
from ..core.safety import append_row, write_frame_sheet

COLUMNS = ("row", "respondent_id", "question", "value", "rule", "severity", "message")
#: the full problem frame also records what was done with the cell or row
FULL_COLUMNS = COLUMNS + ("action",)

_ACTION_TEXT = {
    "flag": "kept (flagged)",
    "set_missing": "set to missing",
    "reject_row": "row rejected",
}


def empty_problems() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "row" else object)
                         for c in FULL_COLUMNS})


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ValidationReport(Result):
    """The problems found when validating responses against a questionnaire.

    Attributes
    ----------
    problems : one row per problem with the columns ``row`` (row number in the source file),
        ``respondent_id``, ``question``, ``value`` (the cell as read), ``rule``, ``severity``
        (``error`` or ``warning``), ``message`` (in ``language``) and ``action`` (what was
        done: ``flag``, ``set_missing`` or ``reject_row``). Problems of rejected rows are
        included.
    rows_read, rows_accepted, rows_rejected : row counts (read = accepted + rejected).
    policies : the action used for each rule.
    language : language of the messages.
    notes : what the validator decided (rules skipped for want of data, thresholds, ...).
    """

    problems: pd.DataFrame = dataclasses.field(default_factory=empty_problems)
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    policies: dict = dataclasses.field(default_factory=dict)
    language: str = "en"
    notes: tuple[str, ...] = ()

    # --- the tidy view ---------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per problem: ``row, respondent_id, question, value, rule, severity, message``."""
        return self.problems.loc[:, list(COLUMNS)].reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.problems)

    @property
    def n_errors(self) -> int:
        """Number of problems of severity ``error``."""
        return int((self.problems["severity"] == "error").sum())

    @property
    def n_warnings(self) -> int:
        """Number of problems of severity ``warning``."""
        return int((self.problems["severity"] == "warning").sum())

    @property
    def ok(self) -> bool:
        """True when no problem of severity ``error`` was found."""
        return self.n_errors == 0

    def summary(self, by: str | None = None) -> pd.DataFrame:
        """Counts of problems by rule and by question.

        Parameters
        ----------
        by : ``"rule"``, ``"question"`` or None (both, stacked: column ``by`` says which).

        Returns
        -------
        DataFrame with columns ``by``, ``key``, ``problems``, ``errors``, ``warnings``,
        ``rows`` (distinct rows concerned), ``set_missing``, ``rejected_rows``.
        """
        if by is None:
            parts = [self.summary(by="rule"), self.summary(by="question")]
            return pd.concat(parts, ignore_index=True)
        if by not in ("rule", "question"):
            from ..errors import ValidationError

            raise ValidationError(f"summary(by=...) must be 'rule', 'question' or None; got {by!r}")
        p = self.problems
        cols = ["by", "key", "problems", "errors", "warnings", "rows", "set_missing",
                "rejected_rows"]
        if p.empty:
            return pd.DataFrame({c: pd.Series(dtype=object if c in ("by", "key") else "int64")
                                 for c in cols})
        key = p[by].fillna("").astype(str)
        g = p.assign(
            _key=key,
            _err=p["severity"].eq("error"),
            _warn=p["severity"].eq("warning"),
            _set=p["action"].eq("set_missing"),
        )
        grouped = g.groupby("_key", sort=False)
        out = pd.DataFrame({
            "problems": grouped.size(),
            "errors": grouped["_err"].sum(),
            "warnings": grouped["_warn"].sum(),
            "rows": grouped["row"].nunique(),
            "set_missing": grouped["_set"].sum(),
        })
        rej = g[g["action"].eq("reject_row")].groupby("_key", sort=False)["row"].nunique()
        out["rejected_rows"] = rej.reindex(out.index).fillna(0)
        out = out.astype("int64").sort_values("problems", ascending=False, kind="stable")
        out.insert(0, "key", out.index.astype(object))
        out.insert(0, "by", by)
        return out.reset_index(drop=True)

    # --- display ---------------------------------------------------------------------
    @property
    def title(self) -> str:
        return "Validation report"

    def _summary(self) -> str:
        return (f"{self.rows_read} rows read, {self.rows_accepted} accepted, "
                f"{self.rows_rejected} rejected; {len(self.problems)} problems "
                f"({self.n_errors} errors, {self.n_warnings} warnings)")

    def _display_frame(self) -> pd.DataFrame:
        return self.to_frame().set_index("row")

    def _repr_html_(self) -> str:
        head = html.escape(self._summary())
        by_rule = self.summary(by="rule").drop(columns="by").set_index("key")
        by_rule.index.name = "rule"
        shown = self.to_frame().head(200).set_index("row")
        more = len(self.problems) - len(shown)
        tail = f"<p>… {more} more problems (use .to_frame() or .to_excel()).</p>" if more > 0 else ""
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.footnotes)
        notes_html = f"<ul class='sv-notes'>{notes}</ul>" if notes else ""
        return (
            f"{_CSS}<div class='sv-result'><div><b>{html.escape(self.title)}</b>: {head}</div>"
            f"{frame_to_html(by_rule)}{frame_to_html(shown)}{tail}{notes_html}</div>"
        )

    def to_excel(self, path) -> None:
        """Write the problems and the summaries to an Excel workbook (three sheets).

        Text that could be read as a formula (starting with ``=``, ``+``, ``-``, ``@``) is
        written as text.
        """
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "problems"
        _write_sheet(ws, self.to_frame().assign(action=self.problems["action"].to_numpy()))
        _write_sheet(wb.create_sheet("by_rule"), self.summary(by="rule").drop(columns="by"))
        _write_sheet(wb.create_sheet("by_question"),
                     self.summary(by="question").drop(columns="by"))
        info = wb.create_sheet("about")
        for k, v in [("rows_read", self.rows_read), ("rows_accepted", self.rows_accepted),
                     ("rows_rejected", self.rows_rejected), ("language", self.language),
                     *[(f"policy:{k}", v) for k, v in self.policies.items()],
                     *[("note", n) for n in self.notes]]:
            append_row(info, [k, _cell(v)])
        wb.save(path)


def _cell(v):
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if hasattr(v, "item"):
        v = v.item()
    return v


def _write_sheet(ws, frame: pd.DataFrame) -> None:
    """Header and rows; formula-like text gets Excel's quote prefix, characters XML cannot
    hold are replaced (``survey.core.safety``)."""
    write_frame_sheet(ws, frame)
