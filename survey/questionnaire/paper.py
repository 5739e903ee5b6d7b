"""The printable paper form (self-contained HTML, A4) and the notebook outline of a template.

Questions are numbered in print order; a grid is one numbered question with one table row per
statement. Skip logic is printed in words: on a single-choice question followed by questions
asked only for some of its answers, "若選「否」，請跳至第 7 題"; on each dependent question,
"第 6 題選「是」者回答". ``count-selected(.) <= N`` prints "最多選 N 項".
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

from .model import Grid, Group, Question, walk_items
from .words import choice_words, condition, phrase_for, phrases

FONTS = {
    "zh-Hant": "'Noto Sans CJK TC', 'Noto Sans TC', 'PingFang TC', 'Microsoft JhengHei'",
    "zh-Hans": "'Noto Sans CJK SC', 'Noto Sans SC', 'PingFang SC', 'Microsoft YaHei'",
    "en": "'Noto Sans', 'DejaVu Sans', Arial",
}

CSS = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm;
  @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; color: #555; } }
* { box-sizing: border-box; }
html { font-family: FONTS, 'Noto Sans CJK SC', sans-serif; font-size: 10.5pt; color: #111; }
body { margin: 0 auto; max-width: 180mm; line-height: 1.45; }
header.form-head { border-bottom: 1.5pt solid #111; margin-bottom: 4mm; padding-bottom: 2mm; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 2mm 0; }
.meta { display: flex; justify-content: flex-end; gap: 6mm; font-size: 9.5pt; }
.idbox { display: inline-block; min-width: 28mm; border-bottom: 0.8pt solid #111; }
.description { font-size: 9.5pt; margin: 1mm 0; }
.instructions { border: 0.8pt solid #555; padding: 2mm 3mm; font-size: 9.5pt; margin: 2mm 0 3mm 0; }
h2 { font-size: 11.5pt; margin: 5mm 0 2mm 0; padding: 1mm 2mm; background: #eee;
     break-after: avoid; }
.q { margin: 0 0 3.2mm 0; break-inside: avoid; page-break-inside: avoid; }
.stem { font-weight: 600; }
.num { display: inline-block; min-width: 9mm; padding-right: 1.2mm; }
.how { font-weight: normal; font-size: 9pt; color: #333; }
.cond { font-size: 9pt; font-style: italic; margin-left: 7mm; }
.skip { font-size: 9pt; font-weight: 600; margin: 0.8mm 0 0 7mm; }
.skip::before { content: "→ "; }
.hint { font-size: 9pt; color: #333; margin-left: 7mm; }
.opts { margin: 1mm 0 0 7mm; padding: 0; list-style: none; }
.opts.inline li { display: inline-block; margin-right: 6mm; }
.opts li { margin: 0.6mm 0; }
.box { display: inline-block; width: 3.4mm; height: 3.4mm; border: 0.8pt solid #111;
       vertical-align: -0.5mm; margin-right: 1mm; }
.code { font-size: 6.5pt; color: #555; margin-right: 1.6mm; vertical-align: super; }
.line { display: inline-block; min-width: 40mm; border-bottom: 0.8pt solid #111; height: 4.5mm;
        vertical-align: -1mm; }
.line.short { min-width: 18mm; }
.lines { margin: 1mm 0 0 7mm; }
.lines div { border-bottom: 0.6pt solid #777; height: 7mm; }
.answer { margin: 1mm 0 0 7mm; }
table.grid { border-collapse: collapse; margin: 1.5mm 0 0 7mm; width: calc(100% - 7mm);
             font-size: 9.5pt; }
table.grid th, table.grid td { border: 0.6pt solid #777; padding: 1mm 1.5mm; }
table.grid th { font-weight: 600; background: #f4f4f4; text-align: center;
                word-break: keep-all; }
table.grid td.box-cell { text-align: center; white-space: nowrap; }
table.grid td.stmt { text-align: left; }
table.grid th + th, table.grid td.box-cell { width: 10.5%; }
table.grid tr { break-inside: avoid; }
table.roster td { height: 7mm; }
table.roster th:first-child, table.roster td.box-cell { width: 9mm; }
table.roster th + th { width: auto; }
table.roster th { font-weight: 600; font-size: 8.5pt; }
table.roster th .code { display: block; font-weight: normal; }
.thanks { text-align: center; margin-top: 6mm; font-weight: 600; }
@media screen { body { padding: 10mm; } }
"""


@dataclasses.dataclass
class _Unit:
    kind: str  # section | question | grid | note
    item: Any
    number: int | None = None
    groups: tuple = ()


def _units(q) -> list[_Unit]:
    units: list[_Unit] = []
    number = 0
    for it, parents in walk_items(q.items):
        if any(isinstance(g, Group) and g.repeat for g in parents):
            continue  # printed inside its roster table
        if isinstance(it, Group) and it.repeat:
            number += 1
            units.append(_Unit("roster", it, number, parents))
        elif isinstance(it, Group):
            units.append(_Unit("section", it, groups=parents))
        elif isinstance(it, Grid):
            number += 1
            units.append(_Unit("grid", it, number, parents))
        elif isinstance(it, Question):
            if it.role == "id" or it.type in _HIDDEN:
                continue
            if it.type == "note":
                units.append(_Unit("note", it, groups=parents))
                continue
            number += 1
            units.append(_Unit("question", it, number, parents))
    return units


_HIDDEN = ("calculate", "start", "end", "today", "deviceid", "username", "phonenumber",
           "simserial", "subscriberid", "audit", "hidden", "start-geopoint")


def _relevant_asts(unit: _Unit) -> list:
    asts = [g.relevant for g in unit.groups if g.relevant]
    if getattr(unit.item, "relevant", None):
        asts.append(unit.item.relevant)
    from .expressions import parse_or_keep

    return [parse_or_keep(a) for a in asts]


def _conditions(q, unit: _Unit) -> list[tuple[str, set[str]] | None]:
    return [condition(a, q) for a in _relevant_asts(unit)]


def _skips(q, units: list[_Unit], language: str) -> dict[int, list[str]]:
    """Skip instructions by unit index: on single-choice P followed by a run asked only for
    some of P's answers."""
    p = phrases(language)
    out: dict[int, list[str]] = {}
    for i, u in enumerate(units):
        if u.kind != "question" or u.item.type != "select_one":
            continue
        allowed: set[str] | None = None
        j = i + 1
        while j < len(units):
            conds = [c for c in _conditions(q, units[j]) if c and c[0] == u.item.name]
            if not conds:
                break
            s = set.intersection(*(c[1] for c in conds))
            if allowed is not None and s != allowed:
                allowed = None
                break
            allowed = s
            j += 1
        if not allowed:
            continue
        skipped = set(q.choices(u.item.list_name).names()) - allowed
        if not skipped:
            continue
        words = choice_words(q, u.item.name, skipped, language)
        target = next((x.number for x in units[j:] if x.number is not None), None)
        out[i] = [p["skip_to"].format(choices=words, n=target) if target is not None
                  else p["skip_to_end"].format(choices=words)]
    return out


def _e(text: Any) -> str:
    return html.escape(str(text))


class _Form:
    def __init__(self, q, language: str):
        self.q, self.lang, self.p = q, language, phrases(language)
        self.units = _units(q)
        self.numbers = {}
        for u in self.units:
            if u.kind == "question":
                self.numbers[u.item.name] = u.number
            elif u.kind == "grid":
                for r in u.item.rows:
                    self.numbers[r.name] = u.number
            elif u.kind == "roster":
                from .model import expand_questions

                for x in expand_questions(u.item.items):
                    self.numbers[x.name] = u.number
        self.skips = _skips(q, self.units, language)

    def t(self, mapping) -> str:
        return _e(self.q.text(mapping, self.lang))

    def render(self) -> str:
        q = self.q
        body = [self.head()]
        for i, u in enumerate(self.units):
            body.append(getattr(self, "r_" + u.kind)(u, i))
        body.append(f"<p class='thanks'>{_e(self.p['thanks'])}</p>")
        font = FONTS.get(self.lang) or FONTS.get(_font_key(self.lang)) or FONTS["en"]
        css = CSS.replace("FONTS", font)
        return (
            f"<!DOCTYPE html>\n<html lang='{_e(self.lang)}'>\n<head>\n<meta charset='utf-8'>\n"
            f"<title>{self.t(q.title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")

    def head(self) -> str:
        q = self.q
        ids = [x for x in q.questions() if x.role == "id"]
        meta = "".join(f"<span>{self.t(x.label) or _e(self.p['number'])}："
                       f"<span class='idbox'></span></span>" for x in ids)
        parts = [f"<header class='form-head'><h1>{self.t(q.title)}</h1>"]
        if meta:
            parts.append(f"<div class='meta'>{meta}</div>")
        if q.description:
            parts.append(f"<p class='description'>{self.t(q.description)}</p>")
        parts.append("</header>")
        if q.instructions:
            parts.append(f"<div class='instructions'>{self.t(q.instructions)}</div>")
        return "".join(parts)

    # units -----------------------------------------------------------------------------------
    def r_section(self, u: _Unit, i: int) -> str:
        return f"<h2>{self.t(u.item.label) or _e(u.item.name)}</h2>"

    def r_note(self, u: _Unit, i: int) -> str:
        return f"<p class='note'>{self.t(u.item.label)}</p>"

    def stem(self, u: _Unit, how: str = "") -> str:
        label = self.t(u.item.label) or _e(u.item.name)
        how_html = f" <span class='how'>（{_e(how)}）</span>" if how and _is_zh(self.lang) else (
            f" <span class='how'>({_e(how)})</span>" if how else "")
        out = [f"<div class='stem'><span class='num'>{u.number}.</span>{label}{how_html}</div>"]
        out += [f"<div class='cond'>{_e(c)}</div>" for c in self.ask_if(u)]
        hint = getattr(u.item, "hint", None)
        if hint:
            out.append(f"<div class='hint'>{self.t(hint)}</div>")
        return "".join(out)

    def ask_if(self, u: _Unit) -> list[str]:
        out = []
        for cond in _conditions(self.q, u):
            if cond is None:
                continue
            name, allowed = cond
            n = self.numbers.get(name)
            if n is None or not allowed:
                continue
            key, names = phrase_for(self.q, name, allowed)
            words = choice_words(self.q, name, names, self.lang)
            out.append(self.p["ask_" + key].format(n=n, choices=words))
        if any(c is None for c in _conditions(self.q, u)):
            text = " and ".join(a for a in [g.relevant for g in u.groups if g.relevant]
                                + [getattr(u.item, "relevant", None)] if a)
            out.append(self.p["asked_if_expr"].format(expr=text))
        return out

    def r_question(self, u: _Unit, i: int) -> str:
        item = u.item
        body = getattr(self, "a_" + item.type, self.a_text)(item)
        how = self.how(item)
        skips = "".join(f"<div class='skip'>{_e(s)}</div>" for s in self.skips.get(i, []))
        return f"<div class='q' id='q-{_e(item.name)}'>{self.stem(u, how)}{body}{skips}</div>"

    def how(self, item: Question) -> str:
        out = ""
        if item.type == "select_multiple":
            n = item.max_choices
            out = self.p["at_most"].format(n=n) if n else self.p["all_that_apply"]
        if item.choice_filter:
            words = self.p["options_for"].format(what=self.filter_parents(item))
            out = f"{out}; {words}" if out else words
        return out

    def filter_parents(self, item: Question) -> str:
        """The questions a choice filter depends on, as the respondent sees them."""
        from .expressions import names, parse_or_keep

        refs = sorted(names(parse_or_keep(item.choice_filter, choice_filter=True)))
        quote = self.p["quote"]
        parts = []
        for name in refs:
            label = self.q.text(self.q.question(name).label, self.lang) if name in self.q \
                else name
            n = self.numbers.get(name)
            parts.append(quote.format(label or name) + (f" ({self.p['question']} {n})"
                                                        if n else ""))
        return self.p["or"].join(parts) if parts else _e(item.choice_filter)

    # answers -------------------------------------------------------------------------------------
    def options(self, item: Question) -> str:
        choices = self.q.choices(item.list_name).unique_choices()
        branches = _branches(item, self.q.choices(item.list_name).choices)
        labels = [self.q.text(c.label, self.lang) or c.name for c in choices]
        inline = max((len(x) for x in labels), default=0) <= 12 and len(labels) <= 7
        lis = []
        for c, label in zip(choices, labels):
            code = c.numeric_code if c.numeric_code is not None else c.name
            extra = ""
            if item.other is not None and c.name == item.other.choice:
                extra = f"（{_e(self.p['specify'])}）<span class='line'></span>" if _is_zh(
                    self.lang) else f" ({_e(self.p['specify'])}) <span class='line'></span>"
            if c.name in item.exclusive:
                extra += f" <span class='how'>[{_e(self.p['exclusive'])}]</span>"
            if c.name in branches:  # a cascading select: which answers offer it
                extra += f" <span class='how'>[{_e(branches[c.name])}]</span>"
            # the data-entry code beside the box, unless it is the label itself ("□1 1")
            shown = "" if str(code) == str(label).strip() else (
                f"<span class='code'>{_e(code)}</span>")
            lis.append(f"<li><span class='box'></span>{shown}{_e(label)}{extra}</li>")
        cls = "opts inline" if inline else "opts"
        return f"<ul class='{cls}'>{''.join(lis)}</ul>"

    a_select_one = a_select_multiple = a_rank = options

    def a_integer(self, item: Question) -> str:
        # one wording for every range hint (the catalogue's); a template's own constraint
        # message only where no range can be read from the constraint
        lo_hi = _range(item)
        key = "range_integer" if item.type == "integer" else "range"
        msg = _e(self.p[key].format(lo=lo_hi[0], hi=lo_hi[1])) if lo_hi else (
            self.t(item.constraint_message) if item.constraint_message else "")
        return ("<div class='answer'><span class='line short'></span>"
                + (f" <span class='how'>{msg}</span>" if msg else "") + "</div>")

    a_decimal = a_range = a_integer

    def a_date(self, item: Question) -> str:
        if _is_zh(self.lang):
            return ("<div class='answer'><span class='line short'></span>年"
                    "<span class='line short'></span>月<span class='line short'></span>日</div>")
        return "<div class='answer'><span class='line short'></span> (YYYY-MM-DD)</div>"

    def a_text(self, item: Question) -> str:
        n = _text_lines(item)
        if n == 0:
            return "<div class='answer'><span class='line'></span></div>"
        return "<div class='lines'>" + "<div></div>" * n + "</div>"

    def r_roster(self, u: _Unit, i: int) -> str:
        """A repeat as a table: one column per question, a few blank rows to fill in."""
        from .model import expand_questions

        rep = u.item
        cols = [x for x in expand_questions(rep.items) if x.is_data and x.type not in _HIDDEN]
        head = [f"<th>{_e(self.p['roster_no'])}</th>"]
        for x in cols:
            codes = ""
            if x.list_name and x.list_name in self.q.choice_lists:
                codes = " ".join(
                    f"{c.numeric_code if c.numeric_code is not None else c.name}="
                    f"{self.q.text(c.label, self.lang) or c.name}"
                    for c in self.q.choices(x.list_name).unique_choices())
            head.append(f"<th>{self.t(x.label) or _e(x.name)}"
                        + (f"<span class='code'>{_e(codes)}</span>" if codes else "") + "</th>")
        count = str(rep.repeat_count or "").strip()
        n_rows = int(count) if count.isdigit() and 0 < int(count) <= 20 else 6
        body = "".join(f"<tr><td class='box-cell'>{k}</td>" + "<td></td>" * len(cols) + "</tr>"
                       for k in range(1, n_rows + 1))
        what = self.t(rep.label) or _e(rep.name)
        table = (f"<table class='grid roster'><thead><tr>{''.join(head)}</tr></thead>"
                 f"<tbody>{body}</tbody></table>")
        how = self.p["roster"].format(what=self.q.text(rep.label, self.lang) or rep.name)
        stem = (f"<div class='stem'><span class='num'>{u.number}.</span>{what} "
                f"<span class='how'>({_e(how)})</span></div>")
        stem += "".join(f"<div class='cond'>{_e(c)}</div>" for c in self.ask_if(u))
        return f"<div class='q' id='q-{_e(rep.name)}'>{stem}{table}</div>"

    def r_grid(self, u: _Unit, i: int) -> str:
        grid = u.item
        lst = self.q.choices(grid.list_name)
        head = "".join(
            f"<th>{_e(self.q.text(c.label, self.lang) or c.name)}</th>" for c in lst.choices)
        rows = []
        for k, r in enumerate(grid.rows, start=1):
            cells = "".join(
                f"<td class='box-cell'><span class='box'></span><span class='code'>"
                f"{_e(c.numeric_code if c.numeric_code is not None else c.name)}</span></td>"
                for c in lst.choices)
            rows.append(f"<tr><td class='stmt'>({k}) {self.t(r.label) or _e(r.name)}</td>"
                        f"{cells}</tr>")
        table = (f"<table class='grid'><thead><tr><th>{_e(self.p['grid_item'])}</th>{head}</tr>"
                 f"</thead><tbody>{''.join(rows)}</tbody></table>")
        return f"<div class='q' id='q-{_e(grid.name)}'>{self.stem(u)}{table}</div>"


def _branches(item: Question, choices) -> dict[str, str]:
    """For a choice_filter question: choice name -> the filter columns' values offering it."""
    if not item.choice_filter:
        return {}
    from .expressions import columns, parse_or_keep

    cols = [c for c in sorted(columns(parse_or_keep(item.choice_filter, choice_filter=True)))
            if c not in ("name", "label")]
    out: dict[str, list[str]] = {}
    for c in choices:
        vals = [c.filters.get(col, "") for col in cols]
        if any(vals):
            out.setdefault(c.name, []).append("/".join(v for v in vals if v))
    return {k: ", ".join(dict.fromkeys(v)) for k, v in out.items()}


def _range(item: Question) -> tuple | None:
    from .expressions import BinOp, Current, Num
    from .model import _conjuncts

    if item.constraint_ast is None:
        return None
    lo = hi = None
    for part in _conjuncts(item.constraint_ast):
        if isinstance(part, BinOp) and part.left == Current() and isinstance(part.right, Num):
            if part.op in (">=", ">"):
                lo = part.right.text
            elif part.op in ("<=", "<"):
                hi = part.right.text
    return (lo, hi) if lo is not None and hi is not None else None


def _text_lines(item: Question) -> int:
    """Writing lines for an open question, by its expected length: a short line (0) for a
    name-like answer (``string-length(.) <= 30``), else one full line per ~70 characters of
    the allowed length (``string-length(.) <= N``; at most 8), 4 for ``multiline``, 2 when
    nothing says how long the answer is.

    >>> from types import SimpleNamespace as N
    >>> [_text_lines(N(appearance=a, constraint=c)) for a, c in
    ...  [(None, None), ("multiline", None), (None, "string-length(.) <= 20"),
    ...   (None, "string-length(.) <= 300")]]
    [2, 4, 0, 5]
    """
    import re

    m = re.search(r"string-length\(\s*\.\s*\)\s*<=?\s*(\d+)", item.constraint or "")
    if m:
        n = int(m.group(1))
        return 0 if n <= 30 else min(8, -(-n // 70))
    if item.appearance and "multiline" in item.appearance:
        return 4
    return 2


def _is_zh(lang: str) -> bool:
    return lang.lower().startswith("zh")


def _font_key(lang: str) -> str:
    from ..i18n import normalize_language

    return normalize_language(lang, strict=False)


def render_questionnaire(q, *, language: str | None = None) -> str:
    """The paper form of ``q`` in ``language`` as one self-contained HTML page (A4 print CSS).

    >>> from survey.questionnaire import load_questionnaire
    >>> page = render_questionnaire(load_questionnaire("grassroots_training"), language="en")
    >>> "If “No”, go to question" in page and "choose at most 2" in page
    True
    """
    if language and language not in q.languages.available:
        from ..i18n import normalize_language

        normalize_language(language)  # refuses a language neither the template nor we speak
    language = language or q.default_language
    return _Form(q, language).render()


def outline_html(q) -> str:
    """A compact outline for JupyterLab: title, languages, fieldwork, and the questions."""
    lang = q.default_language
    rows = []
    for x in q.questions():
        kind = x.type + (f" {x.list_name}" if x.list_name else "")
        extra = []
        if x.relevant:
            extra.append(f"if {x.relevant}")
        if x.max_choices:
            extra.append(f"≤ {x.max_choices}")
        if x.grid:
            extra.append(f"grid {x.grid}" + (" (reverse)" if x.reverse else ""))
        rows.append(f"<tr><td><code>{_e(x.name)}</code></td><td>{_e(kind)}</td>"
                    f"<td>{_e(q.text(x.label, lang))}</td><td>{_e('; '.join(extra))}</td></tr>")
    fw = q.fieldwork
    fw_text = (f" · fieldwork: {fw.returned} of {fw.issued} returned"
               if fw and fw.issued and fw.returned is not None else "")
    langs = ", ".join(f"{t} ({v.name})" for t, v in q.languages.available.items())
    return (
        "<div class='sv-questionnaire' style='font-family:\"Noto Sans CJK SC\",\"Noto Sans CJK "
        "TC\",system-ui,sans-serif;font-size:13px'>"
        f"<div><b>{_e(q.text(q.title, lang))}</b> <code>{_e(q.id)}</code> v{_e(q.version)}</div>"
        f"<div style='color:#555'>{len(q.questions())} questions · languages: {_e(langs)}"
        f"{_e(fw_text)} · scales: {_e(', '.join(q.scales) or 'none')}</div>"
        "<table style='border-collapse:collapse'><thead><tr><th>name</th><th>type</th>"
        "<th>label</th><th>logic</th></tr></thead><tbody>" + "".join(rows) +
        "</tbody></table></div>")
