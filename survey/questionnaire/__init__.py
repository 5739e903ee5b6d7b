"""Questionnaire templates: the spec, the library, XLSForm round trip, codebook, paper form.

>>> import survey as sv
>>> q = sv.load_questionnaire("grassroots_training")
>>> q.question("rank_level").role
'demographic'
"""

from __future__ import annotations

from .expressions import ExpressionError, evaluate, parse_expression, to_text
from .loader import library_dir, list_templates
from .model import Check, Choice, ChoiceList, Grid, GridRow, Group, Question, Scale
from .questionnaire import Questionnaire, load_questionnaire

__all__ = [
    "Questionnaire", "load_questionnaire", "list_templates", "read_xlsform", "codebook",
    "render_questionnaire", "parse_expression", "evaluate", "to_text", "ExpressionError",
    "json_schema", "library_dir", "Question", "Group", "Grid", "GridRow", "Choice",
    "ChoiceList", "Check", "Scale", "Codebook",
]


def read_xlsform(path, *, missing_files: str = "warn") -> Questionnaire:
    """Read an XLSForm workbook (ours, or hand-made in KoboToolbox/ODK) as a `Questionnaire`.

    ``missing_files="error"`` refuses a ``select_one_from_file`` whose file is not next to
    the form (default ``"warn"``: keep the reference, warn naming the file).
    """
    from .xlsform import read_xlsform as _read

    return _read(path, missing_files=missing_files)


def codebook(questionnaire, *, language: str | None = None):
    """The codebook of a questionnaire (a `Codebook` result: to_frame/to_markdown/to_html/to_ddi)."""
    from .documentation import codebook as _codebook

    return _codebook(load_questionnaire(questionnaire), language=language)


def render_questionnaire(questionnaire, *, language: str | None = None) -> str:
    """A printable paper form as self-contained HTML, in ``language`` (default: the template's)."""
    from .paper import render_questionnaire as _render

    return _render(load_questionnaire(questionnaire), language=language)


def json_schema() -> dict:
    """The JSON Schema of the template stored form (for editors' autocompletion)."""
    from .schema import json_schema as _schema

    return _schema()


def __getattr__(name: str):
    if name == "Codebook":
        from .documentation import Codebook

        return Codebook
    raise AttributeError(f"module 'survey.questionnaire' has no attribute {name!r}")
