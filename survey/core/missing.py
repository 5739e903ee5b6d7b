"""The missing-value scheme: which codes mean "missing", of what kind, for which question.

A template declares missing codes once for all questions (``missing_codes:``) and may narrow
or replace them per question (``missing:``). A file read without a template (SPSS, Stata)
brings its own per-variable missing values. `MissingScheme` is the single place every stage
asks: reading (which cells are codes, not answers), validation (which code records a derived
reason), analysis (what a reason is called, which reason is "skipped") and the writers
(SPSS missing values, Stata extended missing ``.a``-``.z``).

Kinds: ``nonresponse`` (no answer, don't know, refused), ``not_applicable`` (skipped, not
asked) and ``invalid`` (an unusable mark). Without a template code of a kind, the defaults
are -99 no answer, -88 skipped, -77 invalid.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable
from typing import Any

import numpy as np

KINDS = ("nonresponse", "not_applicable", "invalid")
#: the codes used for a kind when the template declares none (the only literal codes)
DEFAULT_CODES = {"nonresponse": -99, "not_applicable": -88, "invalid": -77}
#: short names of the kinds, as tables show them
KIND_NAMES = {"nonresponse": "no answer", "not_applicable": "skipped", "invalid": "invalid"}


@dataclasses.dataclass(frozen=True)
class MissingValue:
    """One missing code: its number, kind and labels (language -> text)."""

    code: float
    kind: str
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, language: str | None = None) -> str:
        d = dict(self.labels)
        if language and language in d:
            return d[language]
        return next(iter(d.values()), "") if d else ""


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _value(m: Any) -> MissingValue | None:
    code = _get(m, "code")
    kind = _get(m, "kind")
    if code is None or kind not in KINDS:
        return None
    lab = _get(m, "label") or {}
    labels = tuple((str(k), str(v)) for k, v in lab.items()) if isinstance(lab, dict) else (
        (("", str(lab)),) if lab else ())
    return MissingValue(float(code), str(kind), labels)


def question_codes(global_codes: Iterable[MissingValue], spec: Any) -> tuple[MissingValue, ...]:
    """The codes that apply to one question given its ``missing:`` entry (None = all)."""
    glob = tuple(global_codes)
    if spec is None:
        return glob
    kinds = {str(s) for s in spec if isinstance(s, str)}
    own = tuple(v for v in (_value(s) for s in spec if not isinstance(s, str)) if v is not None)
    return tuple(m for m in glob if m.kind in kinds) + own


@dataclasses.dataclass(frozen=True, eq=False)
class MissingScheme:
    """Missing codes per question (see the module docstring).

    Attributes
    ----------
    codes : the template-wide codes.
    questions : ``{question: codes that apply}`` for questions whose set differs from
        ``codes`` (a ``missing:`` key, or per-variable SPSS/Stata missing values).
    """

    codes: tuple[MissingValue, ...] = ()
    questions: dict[str, tuple[MissingValue, ...]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_questionnaire(cls, q: Any) -> MissingScheme:
        """The scheme of a `Questionnaire` (or anything with ``missing_codes``/``questions()``)."""
        if q is None:
            return cls()
        if isinstance(q, MissingScheme):
            return q
        hit = _CACHE.get(id(q))
        if hit is not None and hit[0] is q:
            return hit[1]
        glob = tuple(v for v in (_value(m) for m in (_get(q, "missing_codes") or ()))
                     if v is not None)
        per: dict[str, tuple[MissingValue, ...]] = {}
        questions = getattr(q, "questions", None)
        for qq in (questions() if callable(questions) else ()):
            spec = _get(qq, "missing")
            if spec is not None:
                per[str(_get(qq, "name"))] = question_codes(glob, spec)
        scheme = cls(codes=glob, questions=per)
        if len(_CACHE) >= 32:
            _CACHE.clear()
        _CACHE[id(q)] = (q, scheme)  # holds q, so its id cannot be reused while cached
        return scheme

    # --- lookups ------------------------------------------------------------------------
    def for_var(self, var: str | None) -> tuple[MissingValue, ...]:
        """The codes that apply to ``var`` (template-wide ones unless it has its own)."""
        if var is not None and var in self.questions:
            return self.questions[var]
        return self.codes

    def code(self, kind: str, var: str | None = None) -> float:
        """The code that records a derived reason of ``kind`` for ``var``."""
        for m in self.for_var(var):  # a question with its own codes never takes the template's
            if m.kind == kind:
                return m.code
        return float(DEFAULT_CODES[kind])

    def kind(self, code: Any, var: str | None = None) -> str | None:
        """The kind of a missing ``code`` for ``var`` (None if it is not a missing code)."""
        try:
            c = float(code)
        except (TypeError, ValueError):
            return None
        for m in self.for_var(var):
            if m.code == c:
                return m.kind
        for k, d in DEFAULT_CODES.items():
            if d == c:
                return k
        return None

    def codes_of_kind(self, kind: str, var: str | None = None) -> tuple[float, ...]:
        """Every code of ``kind`` that can appear in ``Survey.missing[var]``."""
        out = [m.code for m in self.for_var(var) if m.kind == kind]
        derived = self.code(kind, var)
        return tuple(dict.fromkeys([*out, derived]))

    def is_kind(self, codes: Any, kind: str, var: str | None = None) -> np.ndarray:
        """Boolean mask: which entries of ``codes`` (a ``Survey.missing`` column) are ``kind``."""
        arr = np.asarray(codes, dtype=float)
        return np.isin(arr, np.array(self.codes_of_kind(kind, var), dtype=float))

    def label(self, code: Any, var: str | None = None, *, language: str | None = None) -> str:
        """The name of a missing reason: its template label, else the kind's short name."""
        try:
            c = float(code)
        except (TypeError, ValueError):
            return str(code)
        for m in self.for_var(var):
            if m.code == c:
                return m.label(language) or KIND_NAMES[m.kind]
        kind = self.kind(c, var)
        if kind is not None:
            return KIND_NAMES[kind]
        return f"code {int(c) if c.is_integer() else c}"

    def reason(self, code: Any, var: str | None = None) -> str:
        """What tables call a missing reason: the kind's short name ("no answer", "skipped",
        "invalid"), with the code's label when several codes of ``var`` share that kind."""
        try:
            c = float(code)
        except (TypeError, ValueError):
            return str(code)
        kind = self.kind(c, var)
        if kind is None:
            return f"code {_num(c)}"
        same = [m for m in self.for_var(var) if m.kind == kind]
        if len(same) <= 1:
            return KIND_NAMES[kind]
        lab = next((m.label() for m in same if m.code == c), "")
        return f"{KIND_NAMES[kind]}: {lab}" if lab else f"{KIND_NAMES[kind]} ({_num(c)})"

    def stata_letters(self, var: str | None = None) -> dict[float, str]:
        """Code -> Stata extended missing letter (``a``..``z``) for ``var``: its own codes in
        order, then the codes recorded for derived reasons of the kinds it lacks. Writer and
        reader use this one mapping, so ``.dta`` files round-trip."""
        codes = [m.code for m in self.for_var(var)]
        codes += [self.code(k, var) for k in KINDS]
        ordered = list(dict.fromkeys(codes))
        return {c: chr(ord("a") + i) for i, c in enumerate(ordered[:26])}

    def lookup(self, var: str | None = None) -> dict[str, float]:
        """Cell text -> code for the codes of ``var`` (``'-99'`` and ``'-99.0'`` both match)."""
        table: dict[str, float] = {}
        for m in self.for_var(var):
            c = int(m.code) if float(m.code).is_integer() else m.code
            table[str(c)] = c
            table[f"{c}.0"] = c
        return table

    # --- display ------------------------------------------------------------------------
    def to_frame(self):
        """One row per (question, code): ``question`` is ``"*"`` for template-wide codes."""
        import pandas as pd

        rows = [("*", m.code, m.kind, m.label()) for m in self.codes]
        for q, ms in self.questions.items():
            rows += [(q, m.code, m.kind, m.label()) for m in ms]
            if not ms:
                rows.append((q, np.nan, "(none)", ""))
        return pd.DataFrame(rows, columns=["question", "code", "kind", "label"])

    def __repr__(self) -> str:
        glob = ", ".join(f"{_num(m.code)} {m.kind}" for m in self.codes) or "defaults"
        return f"<MissingScheme: {glob}; {len(self.questions)} question(s) with their own codes>"

    def _repr_html_(self) -> str:
        head = html.escape(repr(self))
        return f"<div><b>{head}</b>{self.to_frame().to_html(index=False)}</div>"


_CACHE: dict[int, tuple[Any, MissingScheme]] = {}


def _num(c: float) -> str:
    return str(int(c)) if float(c).is_integer() else str(c)
