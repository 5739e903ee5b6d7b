"""The codebook of a questionnaire: one row per variable, plus DDI-Codebook 2.5 export."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from typing import Any

import pandas as pd

from ..core.result import Result
from .words import asked_if

DDI_NS = "ddi:codebook:2_5"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_DOMAIN = {"select_one": "category", "select_multiple": "multiple", "integer": "numeric",
           "decimal": "numeric", "range": "numeric", "date": "datetime", "time": "datetime",
           "datetime": "datetime"}


@dataclasses.dataclass(frozen=True, repr=False)
class Codebook(Result):
    """Variables of a questionnaire with labels, codes, missing codes and skip logic.

    >>> from survey.questionnaire import load_questionnaire, codebook
    >>> cb = codebook(load_questionnaire("grassroots_training"))
    >>> cb.to_frame().loc["necessity", "values"]
    '1 = 有必要; 2 = 沒有必要; 3 = 說不清'
    >>> cb.to_frame().loc["top_leader_years", "skip_logic"]
    '僅當 top_leader 為「是」時回答'
    """

    questionnaire: Any
    language: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        q = self.questionnaire
        return f"Codebook: {q.text(q.title, self.language)}"

    def _summary(self) -> str:
        return f"{self.questionnaire.id}, {len(self.to_frame())} variables"

    def to_frame(self) -> pd.DataFrame:
        """One row per question with data: labels per language, type, codes, missing, skip."""
        q, lang = self.questionnaire, self.language
        langs = list(q.languages.available)
        from ..core.missing import MissingScheme

        scheme = MissingScheme.from_questionnaire(q)
        rows = []
        for question in q.questions():
            if not question.is_data:
                continue
            row: dict[str, Any] = {"variable": question.name}
            for tag in langs:
                row[f"label_{tag}"] = question.label.get(tag, "")
            row.update({
                "type": question.type,
                "measure": q.measure(question),
                "columns": " ".join(q.var_info(question.name).columns),
                "values": _values(q, question, lang),
                "missing": "; ".join(f"{_num(m.code)} = {m.label(lang) or m.kind}"
                                     for m in scheme.for_var(question.name)),
                "skip_logic": asked_if(q, question, lang),
                "constraint": question.constraint or "",
                "grid": question.grid or "",
                "repeat": _repeat_of(q, question.name),
                "choice_filter": question.choice_filter or "",
                "reverse": bool(question.reverse),
                "role": question.role or "",
            })
            rows.append(row)
        return pd.DataFrame(rows).set_index("variable")

    def _display_frame(self) -> pd.DataFrame:
        frame = self.to_frame()
        lang = self.language or self.questionnaire.default_language
        keep = [f"label_{lang}", "type", "measure", "values", "skip_logic"]
        return frame[[c for c in keep if c in frame.columns]]

    def to_ddi(self) -> str:
        """DDI-Codebook 2.5 XML (minimal elements; labels repeated per ``xml:lang``)."""
        return ddi_xml(self.questionnaire)


def _values(q, question, language) -> str:
    if not question.list_name or question.type not in ("select_one", "select_multiple"):
        return ""
    parts = []
    for c in q.choices(question.list_name).unique_choices():
        code = c.numeric_code if c.numeric_code is not None else c.name
        label = q.text(c.label, language)
        parts.append(f"{code} = {label}" if str(code) == c.name else
                     f"{code} ({c.name}) = {label}")
    return "; ".join(parts)


def _repeat_of(q, name: str) -> str:
    """The repeat (roster) whose table holds the variable, '' for the main table."""
    repeat_of = getattr(q, "repeat_of", None)
    return (repeat_of(name) or "") if repeat_of else ""


def codebook(q, *, language: str | None = None) -> Codebook:
    """The codebook of a loaded questionnaire (labels in ``language``)."""
    return Codebook(questionnaire=q, language=language)


# --- DDI --------------------------------------------------------------------------------------
def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib) -> ET.Element:
    el = ET.SubElement(parent, tag, {k.replace("_", "-") if k != "lang" else XML_LANG: str(v)
                                     for k, v in attrib.items()})
    if text is not None:
        el.text = str(text)
    return el


def _texts(parent, tag: str, mapping: dict, **attrib) -> None:
    for lang, text in (mapping or {}).items():
        _sub(parent, tag, text, lang=lang, **attrib)


def ddi_xml(q) -> str:
    root = ET.Element("codeBook", {"version": "2.5", "ID": q.id})
    root.set("xmlns", DDI_NS)
    _study(root, q)
    fd = _sub(root, "fileDscr", ID="F1")
    ft = _sub(fd, "fileTxt")
    _sub(ft, "fileName", f"{q.id}.csv")
    dims = _sub(ft, "dimensns")
    if q.fieldwork and q.fieldwork.returned is not None:
        _sub(dims, "caseQnty", q.fieldwork.returned)
    _sub(dims, "varQnty", len(q.data_columns()))
    _data(root, q)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _study(root, q) -> None:
    sd = _sub(root, "stdyDscr")
    cit = _sub(sd, "citation")
    ts = _sub(cit, "titlStmt")
    _sub(ts, "titl", q.text(q.title), lang=q.default_language)
    for tag, text in q.title.items():
        if tag != q.default_language:
            _sub(ts, "parTitl", text, lang=tag)
    _sub(ts, "IDNo", q.id)
    info = _sub(sd, "stdyInfo")
    _texts(info, "abstract", q.description)
    fw = q.fieldwork
    if fw is not None and fw.period is not None:
        sum_ = _sub(info, "sumDscr")
        for event in ("start", "end"):
            value = getattr(fw.period, event)
            if value is not None:
                _sub(sum_, "collDate", value.isoformat(), date=value.isoformat(), event=event)
    if fw is None:
        return
    method = _sub(sd, "method")
    dc = _sub(method, "dataColl")
    if fw.mode:
        _sub(dc, "collMode", fw.mode)
    _texts(dc, "resInstru", fw.instrument)
    if fw.issued is not None and fw.returned is not None:
        ai = _sub(method, "anlyInfo")
        _sub(ai, "respRate", _resp_rate(q))


def _resp_rate(q) -> str:
    fw = q.fieldwork
    text = (f"{fw.returned} of {fw.issued} questionnaires returned "
            f"({100 * fw.returned / fw.issued:.1f}%)" if fw.issued else "")
    if fw.units:
        text += "; by unit: " + ", ".join(
            f"{q.text(u.label, 'en') or u.id} {u.returned}/{u.issued}" for u in fw.units)
    return text


def _data(root, q) -> None:
    dd = _sub(root, "dataDscr")
    for question in q.questions():
        if question.type == "select_multiple":
            _sub(dd, "varGrp", ID=f"G_{question.name}", type="multipleResp",
                 var=" ".join(q.var_info(question.name).columns))
    for grid in q.grids():
        _sub(dd, "varGrp", ID=f"G_{grid.name}", type="grid",
             var=" ".join(r.name for r in grid.rows))
    for question in q.questions():
        if not question.is_data:
            continue
        if question.type == "select_multiple":
            lst = q.choices(question.list_name)
            for c, col in zip(lst.unique_choices(), q.var_info(question.name).columns):
                _var(dd, q, question, col, choice=c)
        else:
            for col in q.var_info(question.name).columns:
                _var(dd, q, question, col)


def _var(dd, q, question, col: str, choice=None) -> None:
    numeric = question.type in ("select_one", "select_multiple", "integer", "decimal", "range")
    intrvl = "contin" if question.type in ("integer", "decimal", "range") else "discrete"
    var = _sub(dd, "var", ID=f"V_{col}", name=col, files="F1", intrvl=intrvl)
    labels = question.label
    if choice is not None:
        labels = {t: f"{text}: {choice.label.get(t, choice.name)}" for t, text in labels.items()}
    _texts(var, "labl", labels)
    qstn = _sub(var, "qstn", responseDomainType=_DOMAIN.get(question.type, "text"))
    _texts(qstn, "qstnLit", question.label)
    words = asked_if(q, question, "en")
    if words:
        _sub(var, "universe", words, lang="en")
    if choice is not None:
        for code, lab in ((1, {"en": "selected"}), (0, {"en": "not selected"})):
            cat = _sub(var, "catgry")
            _sub(cat, "catValu", code)
            _texts(cat, "labl", lab)
    elif question.list_name and question.type == "select_one":
        for c in q.choices(question.list_name).unique_choices():
            cat = _sub(var, "catgry")
            _sub(cat, "catValu", c.numeric_code if c.numeric_code is not None else c.name)
            _texts(cat, "labl", c.label)
    if question.type != "text":
        from ..core.missing import MissingScheme

        for m in MissingScheme.from_questionnaire(q).for_var(question.name):
            cat = _sub(var, "catgry", missing="Y")
            _sub(cat, "catValu", _num(m.code))
            _texts(cat, "labl", dict(m.labels))
    _sub(var, "varFormat", type="numeric" if numeric else "character")


def _num(code: float) -> int | float:
    return int(code) if float(code).is_integer() else code
