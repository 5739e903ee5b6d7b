"""The entry form of a template: its layout in paper-form order and the server-side check.

The check is the validation engine itself: the posted fields become one record, go through
`survey.ingest.read.raw_from_records` (the same mapping of codes, names and labels as a file)
and `survey.validation.validate` (the same rules and messages). Errors refuse the form;
warnings (a required answer left blank on paper, "other" ticked without the text, a warning
check) are shown and need the clerk's confirmation that the paper says so.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from ..errors import SurveyError
from ..questionnaire.model import Grid, Group, Question, walk_items
from ._text import word

HIDDEN_TYPES = ("calculate", "start", "end", "today", "deviceid", "username", "phonenumber",
                "simserial", "subscriberid", "audit", "hidden", "start-geopoint",
                "background-audio")
#: rules that are errors at data entry (the clerk cannot confirm them away)
REFUSING = frozenset({"unknown_code", "type", "constraint", "max_choices", "exclusive",
                      "blank_form", "id"})


@dataclasses.dataclass(frozen=True)
class Field:
    """One keyed field (a question, a grid row or an "other" text)."""

    question: Question
    number: str  # the paper form's number: "7", "12.3" for a grid row, "" for the id
    kind: str  # id | code (select_one) | multi | number | text


@dataclasses.dataclass(frozen=True)
class Block:
    """A unit of the screen: a section heading, a note, a question, a grid."""

    kind: str  # section | note | question | grid
    item: Any
    number: int | None
    fields: tuple[Field, ...] = ()


@dataclasses.dataclass(frozen=True)
class Checked:
    """The server's verdict on one posted form."""

    values: dict[str, str | None]  # canonical values to store (missing codes kept as typed)
    problems: tuple[dict, ...]  # question, rule, severity, message, value
    hidden: frozenset[str]  # questions not relevant for these answers
    respondent_id: str | None

    @property
    def errors(self) -> list[dict]:
        return [p for p in self.problems if p["rule"] in REFUSING or p["severity"] == "error"]

    @property
    def warnings(self) -> list[dict]:
        return [p for p in self.problems if p not in self.errors]


def _text_of(value: Any) -> str:
    import pandas as pd

    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _kind(q: Question) -> str:
    if q.role == "id":
        return "id"
    if q.type in ("select_one",):
        return "code"
    if q.type in ("select_multiple",):
        return "multi"
    if q.type in ("integer", "decimal", "range"):
        return "number"
    return "text"


class EntryForm:
    """The template laid out for keying, numbered like the paper form."""

    def __init__(self, q: Any):
        self.q = q
        if any(isinstance(it, Group) and it.repeat for it, _ in walk_items(q.items)):
            from .store import EntryError

            raise EntryError(f"template {q.id!r}: expected no repeat groups, found one. "
                             "Hint: the entry app keys flat forms; key repeats in a spreadsheet")
        self.blocks = self._layout()
        self.fields = [f for b in self.blocks for f in b.fields]
        self.names = {f.question.name for f in self.fields}
        self.id_name = next((f.question.name for f in self.fields if f.kind == "id"), None)
        self._hidden_seen: dict[tuple, frozenset[str]] = {}

    def _layout(self) -> list[Block]:
        blocks: list[Block] = []
        number = 0
        for it, _parents in walk_items(self.q.items):
            if isinstance(it, Group):
                blocks.append(Block("section", it, None))
            elif isinstance(it, Grid):
                number += 1
                rows = tuple(Field(r, f"{number}.{i}", "code")
                             for i, r in enumerate(it.row_questions(), 1))
                blocks.append(Block("grid", it, number, rows))
            elif isinstance(it, Question):
                if it.type in HIDDEN_TYPES:
                    continue
                if it.type == "note":
                    blocks.append(Block("note", it, None))
                    continue
                if it.role == "id":
                    blocks.insert(0, Block("question", it, None, (Field(it, "", "id"),)))
                    continue
                number += 1
                fields = [Field(it, str(number), _kind(it))]
                if it.other is not None:
                    other = next(o for o in self.q.questions() if o.name == it.other.text)
                    fields.append(Field(other, f"{number}*", "text"))
                blocks.append(Block("question", it, number, tuple(fields)))
        return blocks

    @cached_property
    def relevance(self) -> dict[str, list]:
        """Question -> the relevance expressions it carries (its own and its groups')."""
        out: dict[str, list] = {}
        for f in self.fields:
            asts = [p.relevant for p in self.q.parents(f.question.name)
                    if getattr(p, "relevant", None)]
            if f.question.relevant:
                asts.append(f.question.relevant)
            if asts:
                out[f.question.name] = asts
        return out

    @cached_property
    def triggers(self) -> frozenset[str]:
        """Questions whose answer decides whether another question is asked."""
        from ..questionnaire.expressions import names, parse_or_keep

        return frozenset(n for asts in self.relevance.values() for a in asts
                         for n in names(parse_or_keep(a)))

    # --- the check ----------------------------------------------------------------------
    def record(self, posted: Mapping[str, list[str]]) -> tuple[dict[str, str], list[str]]:
        """The posted fields as one record (text), and the names that are not questions."""
        rec: dict[str, str] = {}
        unknown = []
        for name, values in posted.items():
            if name.startswith("_"):
                continue
            if name not in self.names:
                unknown.append(name)
                continue
            vals = [str(v).strip() for v in values if str(v).strip()]
            if vals:
                rec[name] = " ".join(vals)
        return rec, unknown

    def check(self, posted: Mapping[str, list[str]], language: str) -> Checked:
        """Judge one posted form with the ingest mapping and the validation engine.

        The verdict on the same answers is remembered (a few hundred forms): the live check
        the browser asks for as the clerk leaves the last field has judged exactly what the
        save then posts, so the save does not run the engine a second time.
        """
        rec, unknown = self.record(posted)
        return self._judge(tuple(sorted(rec.items())), tuple(unknown), language)

    @functools.lru_cache(maxsize=512)  # noqa: B019 - one form object per app, kept for its life
    def _judge(self, items: tuple, unknown: tuple, language: str) -> Checked:
        from ..ingest.read import raw_from_records
        from ..validation import validate

        rec = dict(items)
        raw = raw_from_records([rec], self.q, source={"path": "<entry form>"},
                               columns=[f.question.name for f in self.fields])
        result = validate(raw, self.q, language=language)
        values = self._values(raw)
        problems = [
            {"question": str(p.question or ""), "rule": str(p.rule),
             "severity": str(p.severity),
             "message": self._message(str(p.question or ""), str(p.rule), str(p.message),
                                      language),
             "value": _text_of(p.value)}
            for p in result.report.problems.itertuples(index=False)
            if p.rule not in ("duplicate_id",)]
        for name in unknown:
            problems.append({"question": name, "rule": "unknown_field", "severity": "error",
                             "message": word("unknown_field", language, name=name),
                             "value": ""})
        rid = values.get(self.id_name) if self.id_name else None
        if self.id_name and not rid:
            problems.insert(0, {"question": self.id_name, "rule": "id", "severity": "error",
                                "message": word("id_missing", language), "value": ""})
        return Checked(values=values, problems=tuple(problems),
                       hidden=self._hidden(raw), respondent_id=rid)

    def _message(self, name: str, rule: str, message: str, language: str) -> str:
        """The template's own constraint/required message in ``language`` when it has one
        (the engine's message, which names the rule, follows in brackets)."""
        key = {"constraint": "constraint_message", "required": "required_message"}.get(rule)
        if key is None or name not in self.q:
            return message
        own = self.q.text(getattr(self.q.question(name), key, None), language)
        return f"{own} ({message})" if own else message

    def _values(self, raw) -> dict[str, str | None]:
        import pandas as pd

        row = raw.frame.iloc[0] if len(raw.frame) else {}
        out: dict[str, str | None] = {}
        for name in self.names:
            v = row.get(name) if name in raw.frame.columns else None
            v = None if v is None or pd.isna(v) else str(v)
            if v is None and raw.missing is not None and name in raw.missing.columns:
                code = raw.missing[name].iloc[0]
                v = None if code is None or pd.isna(code) else str(int(code))
            out[name] = v
        return out

    @cached_property
    def _hidden_cacheable(self) -> bool:
        """Relevance decided by the answers alone (no clock or random function in it)."""
        return not any(re.search(r"\b(today|now|random|uuid|once)\s*\(", str(a))
                       for asts in self.relevance.values() for a in asts)

    def _hidden(self, raw) -> frozenset[str]:
        """Questions whose ``relevant`` is false; they depend only on the answers to the
        `triggers`, so the verdict per combination of those answers is remembered."""
        frame = raw.frame
        if not self._hidden_cacheable:
            return frozenset(self._relevance_false(frame))
        cells = [frame[name].iloc[0] if len(frame) and name in frame.columns else None
                 for name in sorted(self.triggers)]
        key = (len(frame) == 0, *((type(v).__name__, v) for v in cells))  # 1 == 1.0 == True
        try:
            return self._hidden_seen[key]
        except (KeyError, TypeError):  # TypeError: an unhashable cell - just evaluate
            pass
        hidden = frozenset(self._relevance_false(frame))
        if len(self._hidden_seen) < 4096:
            try:
                self._hidden_seen[key] = hidden
            except TypeError:
                pass
        return hidden

    def _relevance_false(self, frame) -> set[str]:
        import pandas as pd

        from ..questionnaire.expressions import evaluate

        if not len(frame):  # a blank form: the reader skips empty records
            frame = pd.DataFrame({f.question.name: [None] for f in self.fields})
        cols = {}
        for f in self.fields:
            name = f.question.name
            s = frame[name] if name in frame.columns else pd.Series([None], dtype=object)
            cols[name] = pd.to_numeric(s, errors="coerce") if f.kind == "number" else s
        ev = pd.DataFrame(cols).reset_index(drop=True)
        hidden = set()
        for name, asts in self.relevance.items():
            for expr in asts:
                try:
                    ok = bool(evaluate(expr, ev).iloc[0])
                except SurveyError:  # a bad expression is validation's to report
                    ok = True
                if not ok:
                    hidden.add(name)
                    break
        return hidden
