"""The HTML of the entry screens. Every text from the template or the data is escaped here."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from ._text import word
from .form import Block, EntryForm, Field

LANGS = (("zh-Hant", "繁體"), ("zh-Hans", "简体"), ("en", "English"))


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, *, language: str) -> str:
    return (f'<!DOCTYPE html><html lang="{esc(language)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{esc(title)}</title><link rel="stylesheet" href="/static/entry.css">'
            f'<script src="/static/entry.js" defer></script></head><body>{body}</body></html>')


def top_bar(form: EntryForm, language: str, *, clerk: str | None, pass_: int | None,
            path: str) -> str:
    q = form.q
    links = " ".join(
        f'<a href="{esc(path)}?lang={tag}"{" aria-current=true" if tag == language else ""}>'
        f"{esc(name)}</a>" for tag, name in LANGS)
    who = ""
    if clerk:
        who = (f'<span class="who">{esc(word("clerk", language))}: {esc(clerk)} · '
               f'{esc(word(f"pass{pass_}", language))}</span>')
    nav = (f'<a href="/">{esc(word("home", language))}</a> '
           f'<a href="/form">{esc(word("new_form", language))}</a>')
    if pass_ != 2:  # the second pass is blind
        nav += f' <a href="/compare">{esc(word("compare", language))}</a>'
    return (f'<header class="bar"><b>{esc(word("app", language))}</b> · '
            f'{esc(q.text(q.title, language))} <nav>{nav}</nav> {who}'
            f'<span class="langs">{links}</span></header>')


def _legend(form: EntryForm, f: Field, language: str) -> str:
    q = form.q
    parts = [f'<span class="opt"><b>{esc(code_of(c))}</b> {esc(q.text(c.label, language))}'
             f"</span>" for c in q.choices(f.question.list_name).choices]
    return f'<span class="legend">{" ".join(parts)}</span>'


def code_of(choice: Any) -> str:
    """What the clerk types for a choice: its numeric code, else its name."""
    code = choice.numeric_code
    return str(code) if code is not None else choice.name


def shown_value(form: EntryForm, name: str, value: str | None) -> str:
    """A stored (canonical) value as the clerk keys it: codes for choices."""
    if value is None:
        return ""
    qq = form.q.question(name)
    if qq.type == "select_one" and qq.list_name:
        for c in form.q.choices(qq.list_name).choices:
            if c.name == value:
                return code_of(c)
    return value


def readable(form: EntryForm, name: str, value: str | None, language: str) -> str:
    """A stored value for people: ``code label`` for choices, ``(blank)`` for nothing."""
    if value is None or value == "":
        return word("blank_value", language)
    if name not in form.q:
        return value
    qq = form.q.question(name)
    if qq.type in ("select_one", "select_multiple") and qq.list_name:
        by = {c.name: c for c in form.q.choices(qq.list_name).choices}
        out = []
        for part in value.split(" ") if qq.type == "select_multiple" else [value]:
            c = by.get(part)
            out.append(f"{code_of(c)} {form.q.text(c.label, language)}" if c else part)
        return "; ".join(out)
    return value


def _problems_for(problems: list[dict], name: str) -> str:
    mine = [p for p in problems if name in p["question"].split(",")]
    items = "".join(f'<li class="{esc(p["severity"])}">{esc(p["message"])}</li>' for p in mine)
    return f'<ul class="problems" data-for="{esc(name)}">{items}</ul>'


def _input(form: EntryForm, f: Field, values: Mapping[str, list[str]], language: str,
           *, readonly: bool = False, legend: bool = True) -> str:
    name = f.question.name
    vals = values.get(name, [])
    trigger = ' data-trigger="1"' if name in form.triggers else ""
    if f.kind == "multi":
        boxes = []
        for c in form.q.choices(f.question.list_name).choices:
            checked = " checked" if c.name in vals or code_of(c) in vals else ""
            boxes.append(f'<label class="box"><input type="checkbox" class="fld" name="{esc(name)}"'
                         f' value="{esc(c.name)}"{checked}{trigger}> <b>{esc(code_of(c))}</b> '
                         f"{esc(form.q.text(c.label, language))}</label>")
        most = f.question.max_choices
        note = (f' <span class="most">({esc(word("at_most", language, n=most))})</span>'
                if most else "")
        return f'<span class="boxes" id="f-{esc(name)}">{"".join(boxes)}{note}</span>'
    value = vals[0] if vals else ""
    mode = ' inputmode="numeric"' if f.kind in ("code", "number") else ""
    size = ' size="4"' if f.kind == "code" else ' size="8"' if f.kind == "number" else ""
    ro = " readonly" if readonly else ""
    field = (f'<input type="text" class="fld" id="f-{esc(name)}" name="{esc(name)}" '
             f'value="{esc(value)}" autocomplete="off"{mode}{size}{ro}{trigger}>')
    if f.kind == "code" and legend:
        field += " " + _legend(form, f, language)
    return field


def _field_html(form: EntryForm, f: Field, values, problems, language, hidden, *,
                readonly=False) -> str:
    q = form.q
    qq = f.question
    cls = "q hidden" if qq.name in hidden else "q"
    num = f'<span class="num">{esc(f.number)}.</span> ' if f.number else ""
    label = q.text(qq.label, language) or qq.name
    hint = q.text(qq.hint, language)
    hint_html = f'<div class="hint">{esc(hint)}</div>' if hint else ""
    return (f'<div class="{cls}" data-q="{esc(qq.name)}"><label for="f-{esc(qq.name)}">'
            f"{num}{esc(label)}</label>{hint_html}<div class=\"answer\">"
            f"{_input(form, f, values, language, readonly=readonly)}</div>"
            f"{_problems_for(problems, qq.name)}</div>")


def _grid_html(form: EntryForm, b: Block, values, problems, language, hidden) -> str:
    q = form.q
    grid = b.item
    legend = _legend(form, b.fields[0], language)
    rows = []
    for f in b.fields:
        name = f.question.name
        cls = ' class="hidden"' if name in hidden else ""
        rows.append(f'<tr data-q="{esc(name)}"{cls}><td class="num">{esc(f.number)}</td>'
                    f'<td><label for="f-{esc(name)}">{esc(q.text(f.question.label, language))}'
                    f"</label>{_problems_for(problems, name)}</td>"
                    f"<td>{_input(form, f, values, language, legend=False)}</td></tr>")
    return (f'<div class="q grid"><div class="stem"><span class="num">{b.number}.</span> '
            f"{esc(q.text(grid.label, language))}</div><div>{legend}</div>"
            f'<table class="grid">{"".join(rows)}</table></div>')


def form_page(form: EntryForm, language: str, *, values: Mapping[str, list[str]],
              problems: list[dict], hidden: frozenset[str] | set[str], csrf: str, clerk: str,
              pass_: int, message: str = "", message_class: str = "info",
              confirm: bool = False, version: int | None = None,
              edit_id: str | None = None) -> str:
    q = form.q
    parts = [top_bar(form, language, clerk=clerk, pass_=pass_, path="/form")]
    title = q.text(q.title, language)
    if edit_id is not None:
        parts.append(f'<p class="info">{esc(word("editing", language, id=edit_id, pass_=pass_))}'
                     "</p>")
    if message:
        parts.append(f'<p class="{esc(message_class)}" role="status">{esc(message)}</p>')
    if problems:
        items = "".join(f'<li class="{esc(p["severity"])}">{esc(_where(form, p, language))}'
                        f'{esc(p["message"])}</li>' for p in problems)
        parts.append(f'<ul class="summary" role="alert">{items}</ul>')
    body = [f'<input type="hidden" name="_csrf" value="{esc(csrf)}">']
    if version is not None:
        body.append(f'<input type="hidden" name="_version" value="{version}">'
                    f'<input type="hidden" name="_edit_id" value="{esc(edit_id)}">')
    for b in form.blocks:
        if b.kind == "section":
            body.append(f"<h2>{esc(q.text(b.item.label, language))}</h2>")
        elif b.kind == "note":
            body.append(f'<p class="note">{esc(q.text(b.item.label, language))}</p>')
        elif b.kind == "grid":
            body.append(_grid_html(form, b, values, problems, language, hidden))
        else:
            for f in b.fields:
                body.append(_field_html(form, f, values, problems, language, hidden,
                                        readonly=f.kind == "id" and edit_id is not None))
    if confirm:
        body.append(f'<p class="confirm"><label><input type="checkbox" name="_confirm" '
                    f'value="1" class="fld"> {esc(word("confirm", language))}</label></p>')
    body.append(f'<p><button type="submit" id="save">{esc(word("save", language))}</button></p>')
    parts.append(f'<h1>{esc(title)}</h1><form method="post" action="/form" id="entry-form" '
                 f'autocomplete="off">{"".join(body)}</form>')
    return page(f"{word('app', language)} · {title}", "".join(parts), language=language)


def _where(form: EntryForm, p: dict, language: str) -> str:
    nums = {f.question.name: f.number for f in form.fields}
    names = [n for n in p["question"].split(",") if n]
    shown = [nums.get(n) or (word("form_id", language) if n == form.id_name else n)
             for n in names]
    return f"{', '.join(s for s in shown if s)}: " if shown else ""


def question_text(form: EntryForm, name: str, language: str) -> str:
    """``12.3 stem – row`` for a grid row, ``7 label`` otherwise (the paper form's words)."""
    q = form.q
    f = next((f for f in form.fields if f.question.name == name), None)
    if f is None:
        return name
    label = q.text(f.question.label, language)
    if f.question.grid:
        grid = next(g for g in q.grids() if g.name == f.question.grid)
        label = f"{q.text(grid.label, language)} – {label}"
    return f"{f.number} {label}".strip()
