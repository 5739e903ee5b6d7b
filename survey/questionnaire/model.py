"""The questionnaire model: frozen pydantic classes, one per part of a template.

The YAML keys are the field names (``list`` is ``list_name`` in Python, ``group``/``grid`` are
``name``). Sugar (``max_selected``, ``range``, ``likert``, plain-string labels, includes and
blocks) is normalised by the loader before these models are built, so every questionnaire has
exactly one stored form. See ``docs/template-schema.md`` for every key.
"""

from __future__ import annotations

import datetime as _dt
import re
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from ..errors import QuestionnaireError, did_you_mean
from .expressions import BinOp, Current, Expr, Func, Num, parse_expression, parse_or_keep

Text = dict[str, str]  # BCP-47 language tag -> text

SELECT_TYPES = ("select_one", "select_multiple", "rank")
NUMERIC_TYPES = ("integer", "decimal", "range")
DATE_TYPES = ("date", "time", "datetime")
META_TYPES = ("start", "end", "today", "deviceid", "username", "phonenumber", "simserial",
              "subscriberid", "audit", "start-geopoint")
OTHER_TYPES = ("text", "note", "calculate", "geopoint", "geotrace", "geoshape", "image",
               "audio", "video", "file", "barcode", "acknowledge", "hidden", "background-audio")
# pyxform types kept verbatim (no other spelling gives the same XForm): type -> data kind
XLSFORM_ONLY_TYPES = {
    "trigger": "text", "email": "text", "osm": "text", "background-geopoint": "text",
    "phone number": "text", "percentage": "integer", "number of days in last month": "integer",
    "number of days in last six months": "integer", "number of days in last year": "integer",
    "uri:subscriberid": "text", "uri:phonenumber": "text", "uri:simserial": "text",
    "uri:deviceid": "text", "uri:username": "text", "uri:email": "text",
    "xml-external": "none", "csv-external": "none",
}
QUESTION_TYPES = (*SELECT_TYPES, *NUMERIC_TYPES, *DATE_TYPES, *OTHER_TYPES, *META_TYPES,
                  *XLSFORM_ONLY_TYPES)
NO_DATA_TYPES = ("note", "xml-external", "csv-external")


class _Model(BaseModel):
    # x_-prefixed extension keys are kept (the loader rejects every other unknown key)
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True,
                              arbitrary_types_allowed=True, ignored_types=(cached_property,))


class Language(_Model):
    name: str


class Languages(_Model):
    default: str = Field(description="BCP-47 tag of the default language, e.g. zh-Hant")
    available: dict[str, Language] = Field(description="tag -> {name: display name}")


class MissingCode(_Model):
    code: int
    kind: Literal["nonresponse", "not_applicable", "invalid"]
    label: Text = Field(default_factory=dict)


class Choice(_Model):
    name: str = Field(description="stored value (no spaces in lists used by select_multiple)")
    label: Text = Field(default_factory=dict)
    code: int | None = Field(None, description="numeric code for SPSS/Stata when name isn't a number")
    media: dict[str, Any] | None = None
    filters: dict[str, str] = Field(default_factory=dict,
                                    description="extra attributes for choice_filter")

    @property
    def numeric_code(self) -> int | None:
        if self.code is not None:
            return self.code
        return int(self.name) if re.fullmatch(r"-?\d+", self.name) else None


class ChoiceList(_Model):
    ordered: bool = False
    label: Text = Field(default_factory=dict)
    choices: tuple[Choice, ...]
    source: str | None = Field(
        None, description="where the choices live in an XLSForm: 'external_choices' (the "
        "sheet, for select_one_external) or a file name (select_one_from_file); None: the "
        "choices sheet")

    def names(self) -> list[str]:
        """Choice names in order, each once (a cascading list may repeat a name)."""
        return [c.name for c in self.unique_choices()]

    def unique_choices(self) -> list[Choice]:
        """The first choice of each name, in order (the data know names, not branches)."""
        first: dict[str, Choice] = {}
        for c in self.choices:
            first.setdefault(c.name, c)
        return list(first.values())


class Other(_Model):
    choice: str = "other"
    text: str = Field(description="name of the generated text question")
    label: Text = Field(default_factory=dict, description="label of the text question")


class Recode(_Model):
    bins: tuple[float, ...] = Field(description="band edges, increasing")
    right_open: bool = True
    labels: tuple[Text, ...] | None = None


class Report(_Model):
    base: Literal["returned", "answered", "valid", "shown"] = "answered"
    percent_of: Literal["respondents", "responses"] = "respondents"


class Question(_Model):
    """One data-bearing (or display) item. Grid rows and "other" texts are questions too."""

    name: str
    type: str
    list_name: str | None = Field(None, alias="list")
    label: Text = Field(default_factory=dict)
    hint: Text = Field(default_factory=dict)
    guidance_hint: Text = Field(default_factory=dict)
    required: bool | str = False
    required_message: Text = Field(default_factory=dict)
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: Text = Field(default_factory=dict)
    choice_filter: str | None = None
    calculation: str | None = None
    default: str | None = None
    read_only: bool | str | None = None
    appearance: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    trigger: str | None = None
    media: dict[str, Any] | None = None
    measure: Literal["nominal", "ordinal", "scale"] | None = None
    role: Literal["demographic", "outcome", "id", "admin", "weight"] | None = None
    var_label: Text = Field(default_factory=dict)
    code: str | None = None
    recode: Recode | None = None
    report: Report | None = None
    missing: tuple[str | MissingCode, ...] | None = Field(
        None, description="kinds of the template's missing codes that apply, and/or this "
        "question's own {code, kind, label} (default: all template codes)")
    other: Other | None = None
    exclusive: tuple[str, ...] = ()
    # set by the model, not written in templates
    grid: str | None = Field(None, description="(derived) the grid a row belongs to")
    reverse: bool = Field(False, description="(derived) reverse-keyed grid row")
    other_of: str | None = Field(None, description="(derived) question whose 'other' this is")

    @cached_property
    def relevant_ast(self) -> Expr | None:
        return parse_or_keep(self.relevant) if self.relevant else None

    @cached_property
    def constraint_ast(self) -> Expr | None:
        return parse_or_keep(self.constraint) if self.constraint else None

    @cached_property
    def calculation_ast(self) -> Expr | None:
        return parse_or_keep(self.calculation) if self.calculation else None

    @cached_property
    def required_ast(self) -> Expr | None:
        if isinstance(self.required, str):
            return parse_or_keep(self.required)
        return parse_expression("true()") if self.required else None

    @property
    def max_choices(self) -> int | None:
        """N from a top-level ``count-selected(.) <= N`` (or ``< N+1``) in the constraint."""
        if self.constraint_ast is None:
            return None
        for part in _conjuncts(self.constraint_ast):
            if (isinstance(part, BinOp) and part.op in ("<=", "<")
                    and part.left == Func("count-selected", (Current(),))
                    and isinstance(part.right, Num)):
                n = int(part.right.value)
                return n if part.op == "<=" else n - 1
        return None

    @property
    def is_data(self) -> bool:
        return self.type not in NO_DATA_TYPES


def _conjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, BinOp) and e.op == "and":
        return _conjuncts(e.left) + _conjuncts(e.right)
    return [e]


class GridRow(_Model):
    name: str
    label: Text = Field(default_factory=dict)
    reverse: bool = False
    relevant: str | None = None
    required: bool | str | None = None
    appearance: str | None = None
    hint: Text = Field(default_factory=dict)
    var_label: Text = Field(default_factory=dict)


class Grid(_Model):
    """A Likert battery: select_one rows sharing one list (XLSForm: a table-list group)."""

    name: str = Field(alias="grid")
    list_name: str = Field(alias="list")
    label: Text = Field(default_factory=dict)
    hint: Text = Field(default_factory=dict)
    appearance: str | None = "likert"
    relevant: str | None = None
    required: bool | str = False
    required_message: Text = Field(default_factory=dict)
    measure: Literal["nominal", "ordinal", "scale"] | None = None
    role: Literal["demographic", "outcome", "id", "admin", "weight"] | None = None
    rows: tuple[GridRow, ...]

    def row_questions(self) -> list[Question]:
        out = []
        for r in self.rows:
            out.append(Question(
                name=r.name, type="select_one", list=self.list_name, label=r.label, hint=r.hint,
                required=self.required if r.required is None else r.required,
                required_message=self.required_message, relevant=r.relevant,
                appearance=r.appearance or self.appearance, measure=self.measure,
                role=self.role, var_label=r.var_label, grid=self.name, reverse=r.reverse))
        return out


def _item_tag(v: Any) -> str:
    if isinstance(v, dict):
        return "grid" if "grid" in v else "group" if "group" in v else "question"
    return {Grid: "grid", Group: "group"}.get(type(v), "question")


Item = Annotated[
    Annotated[Question, Tag("question")] | Annotated["Group", Tag("group")] | Annotated[Grid, Tag("grid")],
    Discriminator(_item_tag),
]


class Group(_Model):
    name: str = Field(alias="group")
    label: Text = Field(default_factory=dict)
    hint: Text = Field(default_factory=dict)
    relevant: str | None = None
    appearance: str | None = None
    repeat: bool = False
    repeat_count: str | None = None
    loop_over: str | None = Field(
        None, description="legacy XLSForm 'begin loop over <list>': the items are asked once "
        "per choice of the list; question q becomes q_<choice> in the data")
    items: tuple[Item, ...] = ()


class Unit(_Model):
    id: str
    label: Text = Field(default_factory=dict)
    issued: int = Field(ge=0)
    returned: int = Field(ge=0)
    valid: int | None = Field(None, ge=0)


class Period(_Model):
    start: _dt.date | None = None
    end: _dt.date | None = None


class Fieldwork(_Model):
    mode: str | None = None
    instrument: Text = Field(default_factory=dict)
    period: Period | None = None
    unit_variable: str | None = None
    units: tuple[Unit, ...] = ()
    issued: int | None = Field(None, ge=0)
    returned: int | None = Field(None, ge=0)
    valid: int | None = Field(None, ge=0)
    screening_rules: tuple[str, ...] = ()
    notes: Text = Field(default_factory=dict)


class Check(_Model):
    id: str
    expr: str
    message: Text = Field(default_factory=dict)
    severity: Literal["warning", "error"] = "warning"

    @cached_property
    def expr_ast(self) -> Expr:
        return parse_expression(self.expr)


class Scale(_Model):
    items: tuple[str, ...]
    reverse: tuple[str, ...] = ()
    scoring: Literal["mean", "sum"] = "mean"
    label: Text = Field(default_factory=dict)


class QuestionnaireModel(_Model):
    """The stored form of a template (what `to_dict` gives and the JSON Schema describes)."""

    schema_id: str = Field("survey-template/1", alias="schema")
    id: str
    version: str = "1"
    title: Text
    description: Text = Field(default_factory=dict)
    instructions: Text = Field(default_factory=dict)
    languages: Languages
    missing_codes: tuple[MissingCode, ...] = ()
    fieldwork: Fieldwork | None = None
    choice_lists: dict[str, ChoiceList] = Field(default_factory=dict)
    items: tuple[Item, ...] = ()
    checks: tuple[Check, ...] = ()
    scales: dict[str, Scale] = Field(default_factory=dict)


def walk_items(items, parents: tuple = ()):
    """Yield (item, parents) for every item of a tree, depth first, in order."""
    for it in items:
        yield it, parents
        if isinstance(it, Group):
            yield from walk_items(it.items, parents + (it,))


def expand_questions(items, lists: dict | None = None) -> list[Question]:
    """Flat ordered questions: groups expanded, grid rows and "other" texts generated.

    With the choice ``lists``, a loop group's questions come once per choice, named
    ``<question>_<choice>``, ``%(label)s`` in their texts replaced by the choice's label.
    """
    out: list[Question] = []
    for it in items:
        if isinstance(it, Grid):
            out.extend(it.row_questions())
        elif isinstance(it, Group):
            inner = expand_questions(it.items, lists)
            if it.loop_over and lists is not None and it.loop_over in lists:
                inner = _loop_copies(inner, lists[it.loop_over])
            out.extend(inner)
        elif isinstance(it, Question):
            out.append(it)
            if it.other is not None:
                out.append(other_question(it))
    return out


def _loop_copies(questions: list[Question], lst) -> list[Question]:
    from .expressions import parse_or_keep, rename_refs, to_text

    out = []
    for c in lst.unique_choices():
        names = {q.name: f"{q.name}_{c.name}" for q in questions}

        def expr(text, names=names):
            if not text:
                return text
            try:
                return to_text(rename_refs(parse_or_keep(text), names))
            except QuestionnaireError:
                return text

        for q in questions:
            texts = {k: {t: v.replace("%(label)s", c.label.get(t) or next(
                iter(c.label.values()), c.name)) for t, v in getattr(q, k).items()}
                for k in ("label", "hint")}
            out.append(q.model_copy(update={
                "name": names[q.name], **texts, "relevant": expr(q.relevant),
                "constraint": expr(q.constraint), "calculation": expr(q.calculation)}))
    return out


def other_question(q: Question) -> Question:
    return Question(
        name=q.other.text, type="text", relevant=f"selected(${{{q.name}}}, '{q.other.choice}')",
        label=q.other.label or _other_label(), other_of=q.name, role=q.role)


def _other_label() -> dict[str, str]:
    from ..i18n import table

    return table("data")["other_label"]


def unknown(kind: str, name: str, candidates) -> QuestionnaireError:
    hint = did_you_mean(name, candidates)
    return QuestionnaireError(f"unknown {kind} {name!r}" + (f"; {hint}" if hint else ""))
