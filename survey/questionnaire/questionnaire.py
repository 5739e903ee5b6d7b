"""`Questionnaire`: a loaded template with the questions, labels and metadata every stage uses."""

from __future__ import annotations

import html
import json
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic import ValidationError as PydanticError

from ..errors import QuestionnaireError, did_you_mean
from .loader import (
    INCLUDE_PATH,
    Loc,
    Normalizer,
    Problems,
    Source,
    _includes,
    _merge_offer,
    _offer,
    load_source,
    pydantic_problems,
    resolve,
    sha256_of,
)
from .model import (
    DATE_TYPES,
    NUMERIC_TYPES,
    ChoiceList,
    Grid,
    Group,
    Question,
    QuestionnaireModel,
    expand_questions,
    walk_items,
)

_KIND = {"select_one": "single", "select_multiple": "multi", "text": "text",
         **{t: "numeric" for t in NUMERIC_TYPES}, **{t: "date" for t in DATE_TYPES}}


class Questionnaire(QuestionnaireModel):
    """A questionnaire template, loaded and checked (frozen).

    >>> q = load_questionnaire("grassroots_training")
    >>> q.default_language
    'zh-Hant'
    >>> q.question("necessity").list_name
    'necessity3'
    >>> [c for c in q.data_columns() if c.startswith("gains_")]
    ['gains_mass_work', 'gains_closeness', 'gains_style', 'gains_other', 'gains_other_text']
    >>> q.var_info("gains_other").columns
    ('gains_other_text',)
    """

    source_path: str | None = Field(None, exclude=True, description="(derived) file loaded")
    sha256: str | None = Field(None, exclude=True, description="(derived) SHA-256 of the file")

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict, *, source: str = "<dict>", source_path: str | None = None,
                  sha256: str | None = None, marks: dict | None = None) -> Questionnaire:
        """Build from the stored form or any template mapping (same checks as a file).

        ``marks`` maps paths inside ``data`` to where they stand in the source (problems name it).
        """
        problems = Problems()
        marks = marks or {}
        loc = Loc(source, marks, ())
        src = Source(source, None, data, loc)
        for inc, inc_loc, lists, blocks in _includes(src, (), problems):
            _merge_offer(src, inc, inc_loc, lists, blocks, problems)
        for name, value in (data.get("choice_lists") or {}).items():
            _offer(src.lists, str(name), value, loc / "choice_lists" / name, problems,
                   "choice list")
        for name, value in (data.get("blocks") or {}).items():
            items = value.get("items") if isinstance(value, dict) else value
            src.blocks[str(name)] = (items, loc / "blocks" / name)
        norm = Normalizer(src, problems).run()
        return _build(norm, problems, lambda p: Loc(source, marks, p), source,
                      source_path=source_path, sha256=sha256)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuestionnaireModel):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False))

    def __repr__(self) -> str:
        n = len(self.questions())
        return f"<Questionnaire {self.id} v{self.version}: {n} questions, " \
               f"languages {', '.join(self.languages.available)}>"

    __str__ = __repr__

    # --- languages and text ------------------------------------------------------------------
    @property
    def default_language(self) -> str:
        return self.languages.default

    def text(self, mapping: dict[str, str] | None, language: str | None = None) -> str:
        """The text in ``language``, else the default language, else any language, else ''."""
        if not mapping:
            return ""
        for tag in (language, self.default_language):
            if tag and tag in mapping:
                return mapping[tag]
        if language and "-" in language:  # zh-Hant-TW -> zh-Hant
            for tag, value in mapping.items():
                if language.startswith(tag + "-"):
                    return value
        return next(iter(mapping.values()))

    # --- questions ---------------------------------------------------------------------------
    @cached_property
    def _questions(self) -> tuple[Question, ...]:
        return tuple(expand_questions(self.items, self.choice_lists))

    @cached_property
    def _index(self) -> dict[str, Question]:
        return {q.name: q for q in self._questions}

    def questions(self) -> list[Question]:
        """All questions in order: groups expanded, grid rows and "other" texts included."""
        return list(self._questions)

    def question(self, name: str) -> Question:
        try:
            return self._index[name]
        except KeyError:
            hint = did_you_mean(name, self._index)
            raise QuestionnaireError(
                f"{self.id}: no question named {name!r}" + (f"; {hint}" if hint else "")
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def choices(self, list_name: str) -> ChoiceList:
        try:
            return self.choice_lists[list_name]
        except KeyError:
            hint = did_you_mean(list_name, self.choice_lists)
            raise QuestionnaireError(
                f"{self.id}: no choice list named {list_name!r}" + (f"; {hint}" if hint else "")
            ) from None

    def grids(self) -> list[Grid]:
        return [it for it, _ in walk_items(self.items) if isinstance(it, Grid)]

    def groups(self) -> list[Group]:
        return [it for it, _ in walk_items(self.items) if isinstance(it, Group)]

    # --- repeats -------------------------------------------------------------------------------
    def repeats(self) -> dict[str, Group]:
        """Repeat groups by name, outermost first (a household roster, ...)."""
        return {it.name: it for it in self.groups() if it.repeat}

    def repeat_of(self, name: str) -> str | None:
        """The innermost repeat that holds question ``name`` (None: the main table)."""
        for it, parents in walk_items(self.items):
            if getattr(it, "name", None) == name or (
                    isinstance(it, Grid) and name in {r.name for r in it.rows}):
                reps = [g.name for g in parents if isinstance(g, Group) and g.repeat]
                return reps[-1] if reps else None
            if isinstance(it, Question) and it.other is not None and it.other.text == name:
                reps = [g.name for g in parents if isinstance(g, Group) and g.repeat]
                return reps[-1] if reps else None
        return None

    def table(self, repeat: str | None = None) -> Questionnaire:
        """The questionnaire of one data table: the main one (repeats left out) or a repeat's.

        A repeat's table has the repeat's own questions (nested repeats left out) plus
        label-only copies of the outer questions its expressions refer to (so its skip
        logic can be checked once those columns are joined from the parent).

        >>> q = Questionnaire.from_dict({"id": "hh", "title": {"en": "H"}, "items": [
        ...     {"name": "n", "type": "integer"},
        ...     {"repeat": "members", "items": [{"name": "age", "type": "integer"}]}]})
        >>> [x.name for x in q.table().questions()], [x.name for x in q.table("members").questions()]
        (['n'], ['age'])
        """
        from .repeats import table_questionnaire

        return table_questionnaire(self, repeat)

    def parents(self, name: str) -> tuple:
        """The groups (outermost first) and grid that contain question ``name``."""
        for it, parents in walk_items(self.items):
            if isinstance(it, Question) and it.name == name:
                return parents
            if isinstance(it, Grid) and name in [r.name for r in it.rows]:
                return (*parents, it)
            if isinstance(it, Question) and it.other and it.other.text == name:
                return parents
        return ()

    @cached_property
    def _columns(self) -> dict[str, tuple[str, ...]]:
        cols: dict[str, tuple[str, ...]] = {}
        for q in self._questions:
            if q.is_data and q.type == "select_multiple":
                cols[q.name] = tuple(f"{q.name}_{c.name}"
                                     for c in self.choices(q.list_name).unique_choices())
        taken = {c for cs in cols.values() for c in cs}
        for q in self._questions:
            if q.is_data and q.name not in cols:
                # ODK names the "other" text q_other, which is also the column of choice
                # 'other' of a select_multiple q: the text's column is then q_other_text
                cols[q.name] = (f"{q.name}_text",) if q.name in taken else (q.name,)
        return cols

    def data_columns(self) -> list[str]:
        """Typed data column names in order.

        A select_multiple ``q`` gives one ``q_<choice>`` column per choice; an "other" text
        whose name equals one of those columns (ODK's ``q_other``) gets ``<name>_text``.
        """
        return [c for q in self._questions if q.name in self._columns
                for c in self._columns[q.name]]

    def demographics(self) -> list[str]:
        return [q.name for q in self._questions if q.role == "demographic"]

    def missing_code(self, kind: str) -> int | None:
        """The code of a missing kind (nonresponse, not_applicable, invalid), or None."""
        for m in self.missing_codes:
            if m.kind == kind:
                return m.code
        return None

    def measure(self, q: Question) -> str:
        if q.measure:
            return q.measure
        if q.type in NUMERIC_TYPES:
            return "scale"
        if q.list_name and q.type == "select_one" and self.choices(q.list_name).ordered:
            return "ordinal"
        return "nominal"

    def var_info(self, name: str, language: str | None = None):
        """`VarInfo` of a question (labels in ``language``), or None if not a question."""
        from ..core.survey import VarInfo

        q = self._index.get(name)
        if q is None or not q.is_data:
            return None
        kind = _KIND.get(q.type, "other")
        cats: tuple[str, ...] = ()
        codes: tuple[str, ...] = ()
        ordered = False
        columns = self._columns[q.name]
        if q.list_name and q.type in ("select_one", "select_multiple"):
            lst = self.choices(q.list_name)
            # a cascading list may repeat a name under several parents: one category
            first = lst.unique_choices()
            cats = tuple(self.text(c.label, language) or c.name for c in first)
            codes = tuple(c.name for c in first)
            ordered = lst.ordered and q.type == "select_one"
        label = self.text(q.label, language) or q.name
        return VarInfo(name=q.name, label=label, kind=kind, categories=cats, codes=codes,
                       ordered=ordered, columns=columns, measure=self.measure(q))

    # --- export --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The stored form as plain data (no source path); ``from_dict`` inverts it."""
        return self.model_dump(by_alias=True, exclude_defaults=True, mode="json",
                               exclude={"source_path", "sha256"})

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The template as commented YAML (``load_questionnaire`` reads it back equal).

        Text that YAML 1.1 or 1.2 would read as something else (``yes``, ``010``, ``0o7``)
        is quoted, so other tools read the file the same way.
        """
        from ._yaml import dump_yaml

        text = dump_yaml(_mark_opaque(self.to_dict()), _YAML_COMMENTS)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_xlsform(self, path: str | Path | None = None) -> XLSFormSheets:
        """Write an XLSForm workbook at ``path`` (if given); return the sheets.

        The sheets are a dict of row lists that shows itself in one line (the file and the
        row count of each sheet), so a notebook cell does not echo the whole form.
        """
        from .xlsform import to_xlsform

        return XLSFormSheets(to_xlsform(self, path), path=path)

    def codebook(self):
        from .documentation import codebook

        return codebook(self)

    def render(self, language: str | None = None) -> str:
        from .paper import render_questionnaire

        return render_questionnaire(self, language=language)

    def _repr_html_(self) -> str:
        from .paper import outline_html

        return outline_html(self)

    def _outline_text(self) -> str:  # pragma: no cover - convenience
        return html.unescape(self._repr_html_())


class XLSFormSheets(dict):
    """The sheets of an XLSForm (``{"survey": [row, ...], "choices": [...], ...}``) with a
    one-line repr; ``path`` is where the workbook was written (``None`` if it was not).

    >>> XLSFormSheets({"survey": [{}, {}], "choices": [{}]}, path="f.xlsx")
    <XLSForm f.xlsx: survey 2 rows, choices 1 row>
    """

    def __init__(self, sheets: dict, *, path: str | Path | None = None) -> None:
        super().__init__(sheets)
        self.path = None if path is None else Path(path)

    def __repr__(self) -> str:
        where = self.path.name if self.path is not None else "(not written)"
        parts = [f"{k} {len(v)} row{'s' if len(v) != 1 else ''}" for k, v in self.items()
                 if not str(k).startswith("_") and isinstance(v, list)]
        return f"<XLSForm {where}: {', '.join(parts)}>"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))


_YAML_COMMENTS = {
    "": ("survey questionnaire template: see docs/template-schema.md for every key.\n"
         "Edit labels, choices and missing codes, then load it with "
         "sv.load_questionnaire(path)."),
    "missing_codes": ("codes that mean 'missing' in every question (kind: nonresponse, "
                      "not_applicable, invalid);\na question's own 'missing:' narrows or "
                      "replaces them (docs/missing-values.md)"),
    "choice_lists": ("choice lists: name = the value stored in the data (its code), label = "
                     "what is shown;\nordered: true for ordinal scales"),
    "items": ("questions in order: name = data column, type, label; 'missing:' = this "
              "question's own missing codes"),
    "checks": "cross-question checks (XLSForm expressions); failures go to the validation report",
    "scales": "multi-item scales: items, reverse-keyed items, scoring",
    "fieldwork": "fieldwork: issued / returned questionnaires per distribution unit",
}


def _build(norm: dict, problems: Problems, locate, file: str, **extra) -> Questionnaire:
    problems.raise_if_any(file)
    try:
        return Questionnaire.model_validate({**norm, **extra})
    except PydanticError as exc:
        pydantic_problems(exc, locate, problems, norm)
        problems.raise_if_any(file)
        raise  # pragma: no cover


def load_questionnaire(path_or_name, *, include_path=()) -> Questionnaire:
    """Load a template from a YAML file, an XLSForm workbook or the library by name.

    ``include`` entries are read only from the template's own folder, the template library
    and the folders in ``include_path`` (never an absolute path or ``..`` elsewhere).

    >>> load_questionnaire("grassroots_training").fieldwork.returned
    366
    """
    if isinstance(path_or_name, Questionnaire):
        return path_or_name
    if isinstance(path_or_name, dict):
        return Questionnaire.from_dict(path_or_name)
    path = resolve(path_or_name)
    if path.suffix.lower() in (".xlsx", ".xls", ".xlsm"):
        from .xlsform import read_xlsform

        return read_xlsform(path)
    problems = Problems()
    token = INCLUDE_PATH.set(tuple(Path(p) for p in include_path))
    try:
        data, src = load_source(path, problems)
    finally:
        INCLUDE_PATH.reset(token)
    locate = lambda p: Loc(src.file, src.loc.marks, p)  # noqa: E731
    return _build(data, problems, locate, src.file, source_path=str(path),
                  sha256=sha256_of(path))


def _mark_opaque(d: dict) -> dict:
    """Items with an expression only an XLSForm may hold (`Opaque`: not parseable) get
    ``x_opaque: [key, ...]``, so the YAML loads back with that expression kept as written."""
    from .expressions import Opaque, parse_or_keep

    def mark(it: dict) -> dict:
        it = dict(it)
        keys = [k for k in ("relevant", "constraint", "calculation", "choice_filter",
                            "trigger", "required", "read_only")
                if isinstance(it.get(k), str) and isinstance(
                    parse_or_keep(it[k], choice_filter=k == "choice_filter"), Opaque)]
        if keys:
            it["x_opaque"] = keys
        if "items" in it:
            it["items"] = [mark(x) for x in it["items"]]
        if "rows" in it:
            it["rows"] = [mark(r) for r in it["rows"]]
        return it

    return {**d, "items": [mark(x) for x in d.get("items", [])]}
