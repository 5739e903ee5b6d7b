"""One questionnaire per data table: the main table and each repeat (household roster, ...).

Data collected in a repeat is a table of its own, linked to its parent by a key. Validation
and analysis of that table use the questionnaire `table_questionnaire(q, "members")` builds:
the repeat's own questions, nested repeats left out, plus label-only copies of the outer
questions that its expressions refer to (their values are joined from the parent row).
"""

from __future__ import annotations

from typing import Any

from ..errors import QuestionnaireError, did_you_mean


def _walk(items: list, fn) -> list:
    out = []
    for it in items:
        keep = fn(it)
        if keep is None:
            continue
        if "items" in keep:
            keep = {**keep, "items": _walk(keep["items"], fn)}
        out.append(keep)
    return out


def _refs(d: dict) -> set[str]:
    from .expressions import names, parse_or_keep

    out: set[str] = set()
    for key in ("relevant", "constraint", "calculation", "required", "choice_filter",
                "repeat_count", "read_only", "default"):
        v = d.get(key)
        if not isinstance(v, str) or not v:
            continue
        out |= names(parse_or_keep(v, choice_filter=key == "choice_filter"))
    return out


def _all(items: list):
    for it in items:
        yield it
        yield from _all(it.get("items") or [])


def table_questionnaire(q, repeat: str | None = None):
    """The questionnaire of the main table (``repeat=None``) or of one repeat's table."""
    reps = q.repeats()
    if repeat is not None and repeat not in reps:
        hint = did_you_mean(repeat, reps) or f"repeats: {', '.join(reps) or 'none'}"
        raise QuestionnaireError(f"{q.id}: no repeat named {repeat!r}; {hint}")
    if not reps:
        return q
    from .questionnaire import _mark_opaque

    d = _mark_opaque(q.to_dict())  # expressions kept as written (XLSForm) stay so
    if repeat is not None:
        d.pop("fieldwork", None)  # its counts are of questionnaires, not of repeat rows
    is_repeat = lambda it: isinstance(it, dict) and "group" in it and it.get("repeat")  # noqa: E731
    if repeat is None:
        d["items"] = _walk(d["items"], lambda it: None if is_repeat(it) else it)
        d["id"] = q.id
    else:
        found: list[dict] = []

        def find(it):
            if is_repeat(it) and it["group"] == repeat:
                found.append(it)
            return it

        _walk(d["items"], find)
        inner = _walk(found[0].get("items", []),
                      lambda it: None if is_repeat(it) else it)
        own = {x.get("name") or x.get("group") or x.get("grid") for x in _all(inner)}
        own |= {r["name"] for x in _all(inner) for r in x.get("rows", [])}
        own |= {x["other"]["text"] for x in _all(inner) if isinstance(x.get("other"), dict)}
        refs = set().union(*(_refs(x) for x in _all(inner)), *(_refs(r) for x in _all(inner)
                                                               for r in x.get("rows", [])))
        outer = [_label_copy(q, name) for name in sorted(refs - own) if name in q]
        d["items"] = outer + inner
        d["id"] = f"{q.id}__{repeat}"
    kept = {x.get("name") for x in _all(d["items"])} | {
        r["name"] for x in _all(d["items"]) for r in x.get("rows", [])} | {
        x["other"]["text"] for x in _all(d["items"]) if isinstance(x.get("other"), dict)}
    d["checks"] = [c for c in d.get("checks", []) if _check_refs(c) <= kept]
    d["scales"] = {k: v for k, v in (d.get("scales") or {}).items()
                   if set(v.get("items", ())) <= kept}
    import warnings

    from ..errors import QuestionnaireWarning

    with warnings.catch_warnings():  # said once, when the form was read
        warnings.simplefilter("ignore", QuestionnaireWarning)
        return type(q).from_dict(d, source=f"{q.source_path or q.id} ({repeat or 'main'} "
                                 "table)")


def _check_refs(c: dict) -> set[str]:
    from .expressions import names, parse_expression

    try:
        return names(parse_expression(c["expr"]))
    except QuestionnaireError:
        return {"\0"}


def _label_copy(q, name: str) -> dict[str, Any]:
    """An outer question as a plain copy (no logic): its values come from the parent row."""
    x = q.question(name)
    out: dict[str, Any] = {"name": x.name, "type": x.type, "label": dict(x.label)}
    if x.list_name:
        out["list"] = x.list_name
    return out
