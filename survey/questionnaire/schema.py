"""The JSON Schema of the template stored form, exported from the pydantic models.

``survey/questionnaire/schema.json`` is this schema, committed so editors can use it
(e.g. ``# yaml-language-server: $schema=.../schema.json``); a test keeps it current.
Input sugar (plain-string labels, ``max_selected``, ``range``, ``likert``, ``include`` and
``block``) is documented in ``docs/template-schema.md``; the schema accepts those keys too.
"""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schema.json")


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a questionnaire template.

    >>> json_schema()["title"]
    'survey questionnaire template'
    """
    from .model import QuestionnaireModel

    schema = QuestionnaireModel.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "survey questionnaire template"
    props = schema.setdefault("properties", {})
    props["include"] = {
        "description": "files (relative paths or library names) whose choice lists and "
                       "blocks this template uses",
        "type": "array",
        "items": {"anyOf": [{"type": "string"}, {
            "type": "object", "required": ["file"], "properties": {
                "file": {"type": "string"},
                "lists": {"type": "array", "items": {"type": "string"}},
                "blocks": {"type": "array", "items": {"type": "string"}}}}]},
    }
    props["blocks"] = {"description": "named item blocks other templates can include",
                       "type": "object"}
    q = schema.get("$defs", {}).get("Question", {}).get("properties", {})
    q["max_selected"] = {"type": "integer", "minimum": 1,
                         "description": "sugar for constraint count-selected(.) <= N"}
    q["range"] = {"description": "sugar for constraint . >= min and . <= max",
                  "anyOf": [{"type": "array", "items": {"type": "number"}},
                            {"type": "object", "properties": {"min": {"type": "number"},
                                                              "max": {"type": "number"}}}]}
    for derived in ("grid", "reverse", "other_of"):
        q.pop(derived, None)
    return schema


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
