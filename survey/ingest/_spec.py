"""What reading needs from a questionnaire, in one flat, hashable shape.

`template_spec(q)` adapts a `survey.questionnaire.Questionnaire` (or anything with the same
duck type) to `TemplateSpec`: the questions with their kind and choices (name, numeric code,
labels in every language), the languages and the missing codes. Reading and writing code
uses only this, so it does not depend on the questionnaire's internals.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from ..errors import IngestError

_KINDS = {
    "select_one": "single",
    "select_multiple": "multi",
    "likert": "single",
    "rank": "multi",
    "integer": "integer",
    "decimal": "decimal",
    "range": "decimal",
    "text": "text",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "calculate": "text",
    # metadata a form asks for (Kobo/ODK write them as columns named after the question):
    # fields, so a form's own 'start'/'today' column is read into its question (trial D17)
    "start": "datetime",
    "end": "datetime",
    "today": "date",
    "deviceid": "text",
}
_STRUCTURAL = {"note", "group", "begin_group", "end_group", "repeat", "grid", "begin_repeat",
               "end_repeat"}


@dataclasses.dataclass(frozen=True)
class ChoiceSpec:
    name: str
    code: float | None = None  # numeric code for SPSS/Stata (``code`` / numeric name)
    labels: tuple[tuple[str, str], ...] = ()  # (language, text)

    def label(self, language: str | None = None) -> str:
        d = dict(self.labels)
        if language and language in d:
            return d[language]
        return next(iter(d.values()), self.name) if d else self.name


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # single | multi | integer | decimal | text | date | datetime | time
    choices: tuple[ChoiceSpec, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    var_label: tuple[tuple[str, str], ...] = ()
    ordered: bool = False
    other_choice: str | None = None
    other_text: str | None = None
    missing_codes: tuple[Any, ...] = ()  # kinds (or codes) of missing codes that apply
    role: str | None = None
    columns: tuple[str, ...] = ()  # typed data columns (Questionnaire.var_info(name).columns)
    source_name: str | None = None  # the file's own column name (x_source_name), if not name
    path: str | None = None  # a legacy loop copy's XForm path 'loop/choice/q' (Kobo's header)

    def label(self, language: str | None = None, *, short: bool = False) -> str:
        for pairs in ((self.var_label, self.labels) if short else (self.labels,)):
            d = dict(pairs)
            if language and language in d:
                return d[language]
            if d:
                return next(iter(d.values()))
        return self.name

    @property
    def choice_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.choices)


@dataclasses.dataclass(frozen=True)
class TemplateSpec:
    fields: tuple[FieldSpec, ...]
    languages: tuple[str, ...] = ()
    default_language: str | None = None
    missing_codes: tuple[tuple[float, str, tuple[tuple[str, str], ...]], ...] = ()  # code, kind, labels
    id: str | None = None
    scheme: Any = None  # the questionnaire's MissingScheme (per-question missing codes)

    def __post_init__(self):
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    @property
    def missing_scheme(self):
        """The `MissingScheme` (built from ``missing_codes`` when none was given)."""
        from ..core.missing import MissingScheme, MissingValue

        if self.scheme is not None:
            return self.scheme
        return MissingScheme(codes=tuple(MissingValue(float(c), k, labels)
                                         for c, k, labels in self.missing_codes))

    def field(self, name: str) -> FieldSpec | None:
        return self._by_name.get(name)  # type: ignore[attr-defined]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


# ------------------------------------------------------------------------------------------
def _labels(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (("", value),)
    if isinstance(value, dict):
        return tuple((str(k), str(v)) for k, v in value.items() if v is not None)
    # pydantic-ish object
    if hasattr(value, "model_dump"):
        return _labels(value.model_dump())
    return (("", str(value)),)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if f == f else None


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            v = getattr(obj, n)
            if v is not None:
                return v
    return default


def _choice_spec(c: Any) -> ChoiceSpec:
    name = str(_get(c, "name"))
    code = _num(_get(c, "code", "svy_code"))
    if code is None:
        code = _num(name)
    return ChoiceSpec(name=name, code=code, labels=_labels(_get(c, "label", "labels")))


def _questions(q: Any) -> Iterable[Any]:
    qs = _get(q, "questions")
    if callable(qs):
        qs = qs()
    if qs is None:
        raise IngestError(f"expected a Questionnaire, found {type(q).__name__}")
    return qs


def _choices_of(q: Any, question: Any) -> tuple[ChoiceSpec, ...]:
    ch = _get(question, "choices")
    if callable(ch):
        ch = None
    if ch is None:
        list_name = _get(question, "list_name", "list")
        if list_name is None:
            return ()
        getter = getattr(q, "choices", None)
        ch = getter(list_name) if callable(getter) else None
    if ch is None:
        return ()
    if hasattr(ch, "choices") and not isinstance(ch, (list, tuple)):
        # a cascading list may repeat a name under several parents: the data know names
        ch = ch.unique_choices() if callable(getattr(ch, "unique_choices", None)) else ch.choices
    return tuple(_choice_spec(c) for c in ch)


def _data_columns(q: Any, name: str) -> tuple[str, ...]:
    getter = getattr(q, "var_info", None)
    if not callable(getter):
        return ()
    try:
        info = getter(name)
    except Exception:  # noqa: BLE001 - a questionnaire without typed columns for this one
        return ()
    return tuple(getattr(info, "columns", ()) or ()) if info is not None else ()


def _loop_paths(q: Any) -> dict[str, str]:
    """Legacy loop copies ``q_<choice>`` -> their XForm path below the form, as pyxform builds
    it (``<loop>/<choice>/[<group>/]<q>``): Kobo's header with groups, ODK Central's with '-'."""
    from ..questionnaire.model import Group, Question, walk_items

    model = getattr(q, "model", q)
    items = getattr(model, "items", None)
    lists = getattr(model, "choice_lists", None)
    out: dict[str, str] = {}
    if not items or not isinstance(lists, dict):
        return out
    for it, _ in walk_items(items):
        if not (isinstance(it, Group) and it.loop_over and it.loop_over in lists):
            continue
        for inner, parents in walk_items(it.items):
            if isinstance(inner, Question):
                mid = [p.name for p in parents]
                for c in lists[it.loop_over].unique_choices():
                    out[f"{inner.name}_{c.name}"] = "/".join([it.name, c.name, *mid, inner.name])
    return out


def template_spec(q: Any) -> TemplateSpec:
    """The `TemplateSpec` of a questionnaire (cached on the object when possible)."""
    if isinstance(q, TemplateSpec):
        return q
    hit = _CACHE.get(id(q))
    if hit is not None and hit[0] is q:
        return hit[1]
    fields = []
    loops = _loop_paths(q)
    for question in _questions(q):
        qtype = str(_get(question, "type", default="text"))
        base = qtype.split()[0]
        if base in _STRUCTURAL:
            continue
        kind = _KINDS.get(base, "text")
        other = _get(question, "other")
        other_choice = _get(other, "choice") if other is not None and not isinstance(other, str) else None
        other_text = _get(other, "text") if other is not None and not isinstance(other, str) else None
        list_obj = None
        list_name = _get(question, "list_name", "list")
        if list_name is not None:
            lists = _get(q, "choice_lists")
            if lists is None and hasattr(q, "model"):
                lists = _get(q.model, "choice_lists")
            if isinstance(lists, dict):
                list_obj = lists.get(list_name)
            elif callable(getattr(q, "choice_list", None)):
                list_obj = q.choice_list(list_name)
        ordered = bool(_get(question, "ordered", default=_get(list_obj, "ordered", default=False)))
        fields.append(
            FieldSpec(
                name=str(_get(question, "name")),
                kind=kind,
                choices=_choices_of(q, question) if kind in ("single", "multi") else (),
                labels=_labels(_get(question, "label")),
                var_label=_labels(_get(question, "var_label")),
                ordered=ordered,
                other_choice=None if other_choice is None else str(other_choice),
                other_text=None if other_text is None else str(other_text),
                missing_codes=tuple(_get(question, "missing", default=()) or ()),
                role=_get(question, "role"),
                columns=_data_columns(q, str(_get(question, "name"))),
                source_name=_get(question, "x_source_name"),
                path=loops.get(str(_get(question, "name"))),
            )
        )
    langs = _get(q, "languages", default=())
    default = _get(q, "default_language")
    if default is None and hasattr(langs, "default"):
        default = langs.default
    if isinstance(langs, dict):
        langs = list(langs)
    elif hasattr(langs, "available"):
        langs = list(_get(langs, "available") or ())
    missing = []
    for m in _get(q, "missing_codes", default=()) or ():
        code = _num(_get(m, "code", default=m))
        if code is not None:
            missing.append((code, str(_get(m, "kind", default="")), _labels(_get(m, "label"))))
    spec = TemplateSpec(
        fields=tuple(fields),
        languages=tuple(str(x) for x in langs or ()),
        default_language=None if default is None else str(default),
        missing_codes=tuple(missing),
        id=_get(q, "id"),
        scheme=_scheme_of(q),
    )
    if len(_CACHE) >= 32:
        _CACHE.clear()
    _CACHE[id(q)] = (q, spec)  # holds q, so its id cannot be reused while cached
    return spec


_CACHE: dict[int, tuple[Any, TemplateSpec]] = {}


def _scheme_of(q: Any):
    from ..core.missing import MissingScheme

    try:
        return MissingScheme.from_questionnaire(q)
    except (TypeError, AttributeError):  # a duck-typed questionnaire without the attributes
        return None


# ------------------------------------------------------------------------------------------
_LATIN = re.compile(r"[A-Za-z]")


def norm_key(value: str) -> str:
    """Normalize a cell or label for matching: NFKC (full-width -> half-width), trimmed,
    inner whitespace collapsed, case-folded (only changes Latin letters), ``2.0`` -> ``2``.

    >>> norm_key(" Ｆｅｍａｌｅ ")
    'female'
    >>> norm_key("２.0")
    '2'
    """
    s = unicodedata.normalize("NFKC", value).strip()
    s = " ".join(s.split())
    s = s.casefold()
    if s.endswith(".0") and _INT.fullmatch(s[:-2]):
        s = s[:-2]
    return s


_INT = re.compile(r"[+-]?\d+")


def choice_lookup(field: FieldSpec) -> dict[str, str]:
    """normalized key -> choice name: labels (any language), then codes, then names win."""
    out: dict[str, str] = {}
    for c in field.choices:
        for _, text in c.labels:
            out.setdefault(norm_key(text), c.name)
    for c in field.choices:
        if c.code is not None:
            code = int(c.code) if float(c.code).is_integer() else c.code
            out[norm_key(str(code))] = c.name
    for c in field.choices:
        out[norm_key(c.name)] = c.name
    return out
