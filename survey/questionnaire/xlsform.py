"""XLSForm round trip (formats.md §7.6).

``to_xlsform(q, path)`` writes ``survey``, ``choices``, ``settings`` and ``_survey_meta``
sheets: one ``label::<name> (<tag>)`` column per language (no bare ``label``), toolkit-only
data in ``svy_*`` columns and in ``_survey_meta`` (key / YAML value), never ``or_other``.
``read_xlsform(path)`` reads that back, and also hand-made KoboToolbox/ODK forms (plain
``label``, ``label::English (en)``, ``or_other``, ``select one x`` spellings).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ..core.safety import append_row
from ..errors import QuestionnaireError, did_you_mean, format_problem
from .model import Grid, Group, Question

_TEXT_COLS = ("label", "hint", "guidance_hint", "constraint_message", "required_message")
_PLAIN_COLS = ("relevant", "constraint", "choice_filter", "calculation", "default", "appearance",
               "trigger")
_NO_LABEL_TYPES = ("calculate", "start", "end", "today", "deviceid", "username", "phonenumber",
                   "simserial", "subscriberid", "audit", "hidden", "start-geopoint")
_META_KEYS = ("schema", "title", "description", "instructions", "languages", "missing_codes",
              "fieldwork", "checks", "scales")
_JSON_COLS = {"recode": "svy_recode", "report": "svy_report", "var_label": "svy_var_label"}
_ALIASES = {"list name": "list_name", "relevance": "relevant", "calculate": "calculation",
            "constraint message": "constraint_message", "required message": "required_message",
            "constraining_message": "constraint_message", "requiredmsg": "required_message",
            "readonly": "read_only", "read only": "read_only", "choice filter": "choice_filter",
            "repeat count": "repeat_count", "guidance hint": "guidance_hint",
            "media::image": "image", "media::audio": "audio", "media::video": "video"}
_KNOWN_LANG_NAMES = {"english": "en", "chinese": "zh", "简体中文": "zh-Hans", "繁體中文": "zh-Hant",
                     "中文": "zh", "french": "fr", "español": "es", "spanish": "es"}


# --- writing ------------------------------------------------------------------------------------
def _lang_col(q, key: str, tag: str) -> str:
    if list(q.languages.available) == ["und"]:
        return key
    name = q.languages.available[tag].name
    return f"{key}::{name} ({tag})"


def _texts(q, key: str, mapping: dict, row: dict) -> None:
    for tag, value in (mapping or {}).items():
        if tag not in q.languages.available:
            continue
        row[_lang_col(q, key, tag)] = value


def _bool_or_expr(value) -> str:
    if value is True:
        return "yes"
    if value in (False, None):
        return ""
    return str(value)


_EXTERNAL_SUFFIX = "@external"  # an external_choices list named like a choices-sheet list


def _type_cell(q, item: Question) -> str:
    if not item.list_name:
        return item.type
    source = q.choice_lists[item.list_name].source if item.list_name in q.choice_lists else None
    if source == "external_choices":
        return f"{item.type}_external {item.list_name.removesuffix(_EXTERNAL_SUFFIX)}"
    if source:
        return f"{item.type}_from_file {item.list_name}"
    return f"{item.type} {item.list_name}"


def _extra(item) -> dict:
    """Model extras: ``x_xlsform`` columns verbatim, the rest as JSON in ``svy_ext``."""
    extra = dict(item.model_extra or {})
    cols = extra.pop("x_xlsform", None) or {}
    if extra:
        cols = {**cols, "svy_ext": json.dumps(extra, ensure_ascii=False, sort_keys=True)}
    return cols


def _question_row(q, item: Question) -> dict:
    row: dict[str, Any] = {"type": _type_cell(q, item), "name": item.name}
    for key in _TEXT_COLS:
        _texts(q, key, getattr(item, key), row)
    for key in _PLAIN_COLS:
        if getattr(item, key) is not None:
            row[key] = getattr(item, key)
    if not item.label and not item.hint and item.type not in _NO_LABEL_TYPES:
        _texts(q, "label", {q.default_language: item.name}, row)  # pyxform needs a label
        row["svy_no_label"] = "yes"
    if item.required:
        row["required"] = _bool_or_expr(item.required)
    if item.read_only is not None:
        row["read_only"] = _bool_or_expr(item.read_only) or "no"
    if item.parameters:
        row["parameters"] = " ".join(f"{k}={_param(v)}" for k, v in item.parameters.items())
    _media(q, item.media, row)
    _svy(item, row)
    return {k: v for k, v in row.items() if v not in ("", None)}


def _param(v) -> str:
    return "true" if v is True else "false" if v is False else str(v)


def _media(q, media, row: dict) -> None:
    for kind, value in (media or {}).items():
        if isinstance(value, dict):
            for tag, file in value.items():
                row[_lang_col(q, kind, tag)] = file
        else:
            row[kind] = value


def _svy(item, row: dict) -> None:
    for key in ("measure", "role", "code"):
        if getattr(item, key, None) is not None:
            row[f"svy_{key}"] = getattr(item, key)
    for key, col in _JSON_COLS.items():
        value = getattr(item, key, None)
        if value:
            dumped = value.model_dump(mode="json", exclude_defaults=True) \
                if hasattr(value, "model_dump") else value
            row[col] = json.dumps(dumped, ensure_ascii=False, sort_keys=True)
    if getattr(item, "missing", None) is not None:
        kinds = [m for m in item.missing if isinstance(m, str)]
        if len(kinds) == len(item.missing):
            row["svy_missing"] = " ".join(kinds) or "none"
        else:  # per-question codes: JSON, as the other structured columns
            row["svy_missing"] = json.dumps([m if isinstance(m, str) else m.model_dump(
                exclude_defaults=True) for m in item.missing], ensure_ascii=False)
    if getattr(item, "exclusive", ()):
        row["svy_exclusive"] = " ".join(item.exclusive)
    row.update(_extra(item))


def _other_row(q, item: Question) -> dict:
    other = q.question(item.other.text)
    row = {"type": "text", "name": other.name, "relevant": other.relevant,
           "svy_other_of": item.name}
    _texts(q, "label", other.label, row)
    if item.other.choice != "other":
        row["svy_other_choice"] = item.other.choice
    if item.other.label:
        row["svy_other_label"] = "yes"
    return row


def _grid_rows(q, grid: Grid) -> list[dict]:
    head: dict[str, Any] = {"type": "begin_group", "name": grid.name, "appearance": "table-list",
                            "svy_grid": grid.list_name}
    _texts(q, "label", grid.label, head)
    _texts(q, "hint", grid.hint, head)
    if grid.relevant:
        head["relevant"] = grid.relevant
    if grid.appearance != "likert":
        head["svy_row_appearance"] = grid.appearance or "none"
    if grid.required:
        head["svy_required"] = _bool_or_expr(grid.required)
    for key in ("measure", "role"):
        if getattr(grid, key):
            head[f"svy_{key}"] = getattr(grid, key)
    if grid.model_extra:
        head["svy_ext"] = json.dumps(grid.model_extra, ensure_ascii=False, sort_keys=True)
    rows = [head]
    for r, question in zip(grid.rows, grid.row_questions()):
        row = _question_row(q, question)
        row.pop("svy_measure", None)
        row.pop("svy_role", None)
        if r.required is not None:
            row["svy_row_required"] = "yes"
        if r.appearance is not None:
            row["svy_row_appearance"] = "yes"
        if r.reverse:
            row["svy_reverse"] = "yes"
        if r.model_extra:
            row["svy_ext"] = json.dumps(r.model_extra, ensure_ascii=False, sort_keys=True)
        rows.append(row)
    rows.append({"type": "end_group", "name": grid.name})
    return rows


def _item_rows(q, items) -> list[dict]:
    rows: list[dict] = []
    for it in items:
        if isinstance(it, Grid):
            rows += _grid_rows(q, it)
        elif isinstance(it, Group):
            kind = "repeat" if it.repeat else "loop" if it.loop_over else "group"
            head: dict[str, Any] = {"type": f"begin_{kind}", "name": it.name}
            if it.loop_over:
                head["type"] = f"begin loop over {it.loop_over}"
            _texts(q, "label", it.label, head)
            _texts(q, "hint", it.hint, head)
            for key in ("relevant", "appearance", "repeat_count"):
                if getattr(it, key):
                    head[key] = getattr(it, key)
            head.update(_extra(it))
            rows += [head, *_item_rows(q, it.items), {"type": f"end_{kind}", "name": it.name}]
        else:
            rows.append(_question_row(q, it))
            if it.other is not None:
                rows.append(_other_row(q, it))
    return rows


def _choice_rows(q, source: str | None = None) -> list[dict]:
    rows = []
    for list_name, lst in q.choice_lists.items():
        if lst.source != source:
            continue
        for i, c in enumerate(lst.choices):
            row: dict[str, Any] = {"list_name": list_name.removesuffix(_EXTERNAL_SUFFIX),
                                   "name": c.name}
            _texts(q, "label", c.label, row)
            _media(q, c.media, row)
            row.update(c.filters)
            if c.code is not None:
                row["svy_code"] = c.code
            if i == 0 and lst.ordered:
                row["svy_ordered"] = "yes"
            if i == 0 and lst.label:
                row["svy_list_label"] = json.dumps(lst.label, ensure_ascii=False)
            if c.model_extra:
                row["svy_ext"] = json.dumps(c.model_extra, ensure_ascii=False, sort_keys=True)
            rows.append(row)
    return rows


def xlsform_sheets(q) -> dict[str, list[dict]]:
    """The workbook as ``{sheet: [row dicts]}`` (pyxform's dict input plus ``_survey_meta``)."""
    d = q.to_dict()
    tag = q.default_language
    settings = {"form_title": q.text(q.title), "form_id": q.id, "version": q.version}
    if list(q.languages.available) != ["und"]:
        settings["default_language"] = f"{q.languages.available[tag].name} ({tag})"
    meta = [{"key": k, "value": yaml.safe_dump(d[k], allow_unicode=True, sort_keys=False)}
            for k in _META_KEYS if k in d]
    extensions = {k: v for k, v in (q.model_extra or {}).items() if k != "x_xlsform"}
    if extensions:
        meta.append({"key": "x_extensions", "value": yaml.safe_dump(
            extensions, allow_unicode=True, sort_keys=False)})
    xls = dict(q.model_extra or {}).get("x_xlsform") or {}
    settings.update(xls.get("settings") or {})
    sheets = {"survey": _item_rows(q, q.items), "choices": _choice_rows(q),
              "settings": [settings]}
    external = _choice_rows(q, "external_choices")
    if external:
        sheets["external_choices"] = external
    for name in ("entities", "osm"):
        if xls.get(name):
            sheets[name] = [dict(r) for r in xls[name]]
    sheets["_survey_meta"] = meta
    return sheets


def _file_lists(q, folder: Path) -> None:
    """Write the choices of ``select_one_from_file`` lists (CSV or XML) next to the form."""
    import csv

    for lst in q.choice_lists.values():
        if not lst.source or lst.source == "external_choices" or not lst.choices:
            continue
        cols = list(dict.fromkeys(k for c in lst.choices for k in c.filters))
        rows = [{"name": c.name, "label": q.text(c.label), **c.filters} for c in lst.choices]
        target = folder / lst.source
        if target.suffix.lower() == ".xml":
            from xml.sax.saxutils import escape

            body = "".join("<item>" + "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in
                                              r.items()) + "</item>" for r in rows)
            target.write_text(f"<root>{body}</root>", encoding="utf-8")
            continue
        with open(target, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=["name", "label", *cols])
            w.writeheader()
            w.writerows(rows)


def to_xlsform(q, path: str | Path | None = None) -> dict[str, list[dict]]:
    """Write ``q`` as an XLSForm workbook at ``path`` (if given); return the sheets."""
    sheets = xlsform_sheets(q)
    if path is not None:
        write_workbook(sheets, Path(path))
        _file_lists(q, Path(path).parent)
    return sheets


def write_workbook(sheets: dict[str, list[dict]], path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        header: list[str] = []
        for row in rows:
            header += [k for k in row if k not in header]
        append_row(ws, header)  # every string guarded (survey.core.safety)
        for row in rows:
            append_row(ws, [row.get(k) for k in header])
    wb.save(path)


def pyxform_dict(sheets: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The sheets pyxform reads (``_``-prefixed sheets removed)."""
    return {k: v for k, v in sheets.items() if not k.startswith("_")}


# --- reading ------------------------------------------------------------------------------------
_TRANSLATABLE = (*_TEXT_COLS, "image", "audio", "video", "big-image")
_KNOWN_SURVEY = {*_TEXT_COLS, *_PLAIN_COLS, "type", "name", "required", "read_only",
                 "parameters", "repeat_count", "image", "audio", "video", "big-image"}
_LOWER = {*_KNOWN_SURVEY, "list_name", "form_id", "form_title", "version", "default_language",
          "instance_name", "style", "public_key", "submission_url", "allow_choice_duplicates",
          "clean_text_values", "key", "value", "media", "id_string", "title"}


def read_workbook(path: Path) -> dict[str, list[tuple[int, dict]]]:
    """Sheets as (excel row number, {header: value}) lists; headers normalised."""
    from ._xlsbook import read_sheets

    out: dict[str, list[tuple[int, dict]]] = {}
    for sheet, rows in read_sheets(Path(path)).items():
        out[sheet] = [(n, _norm_row(r, str(path), sheet, n)) for n, r in rows]
    return out


def _norm_row(row: dict, file: str, sheet: str, n: int) -> dict:
    out: dict = {}
    for k, v in row.items():
        key = _norm_header(k)
        if key in out and out[key] != v:
            raise QuestionnaireError(
                f"{file}, sheet '{sheet}', row {n}, column {k!r}: expected one value for "
                f"{key!r}, found {out[key]!r} and {v!r} (two columns mean the same). Hint: "
                "keep one of the two columns")
        out[key] = v
    return out


def _norm_header(h) -> str | None:
    if h is None:
        return None
    h = re.sub(r"\s+", " ", str(h).strip())
    if h.lower().startswith("media::"):
        h = h[len("media::"):]
    base, sep, rest = h.partition("::")
    if not sep and ":" in h and not h.startswith("$") and h.split(":", 1)[0].strip().lower() in (
            _TRANSLATABLE):
        base, sep, rest = h.partition(":")
    base = base.strip()
    low = base.lower()
    base = _ALIASES.get(low, low if low in _LOWER else base)
    return f"{base}::{rest.strip()}" if sep else base


class _Cell(tuple):
    """Where a value of an XLSForm stands (a ``Loc`` mark): sheet and row."""

    sheet: str

    def __new__(cls, sheet: str, row: int):
        self = super().__new__(cls, (row, 0))
        self.sheet = sheet
        return self


def _meta_value(file: str, row: int, r: dict) -> Any:
    """A ``_survey_meta`` value: safe YAML, or a QuestionnaireError naming the cell."""
    try:
        return yaml.safe_load(str(r.get("value", "")))
    except (yaml.YAMLError, RecursionError) as exc:
        mark = getattr(exc, "problem", None) or type(exc).__name__
        raise QuestionnaireError(format_problem(
            where=f"{file}, sheet '_survey_meta', row {row}, key {str(r['key'])[:60]!r}",
            expected="a YAML value (text, number, list or mapping; no tags)",
            found=f"YAML that cannot be read ({mark})",
            hint="write the value as plain YAML")) from None


class _Reader:
    def __init__(self, sheets: dict, file: str, base_dir: Path | None = None,
                 missing_files: str = "warn"):
        self.sheets, self.file, self.base_dir = sheets, file, base_dir
        self.missing_files = missing_files
        self.problems: list[str] = []
        self.marks: dict = {}
        self.meta = {r["key"]: _meta_value(file, row, r) for row, r in
                     sheets.get("_survey_meta", []) if "key" in r}
        self.settings = sheets.get("settings", [(0, {})])[0][1] if sheets.get("settings") else {}
        self.langs = self._languages()
        self.gen_names: set[str] = set()

    def problem(self, sheet: str, n: int, column: str, expected: str, found: str,
                hint: str | None = None) -> None:
        from ..errors import format_problem

        self.problems.append(format_problem(
            where=f"{self.file}, sheet '{sheet}', row {n}, column '{column}'",
            expected=expected, found=found, hint=hint))

    # languages ---------------------------------------------------------------------------------
    def _languages(self) -> dict:
        if "languages" in self.meta:
            langs = self.meta["languages"]
            self.by_name = {f"{v['name']} ({t})": t for t, v in langs["available"].items()}
            return langs
        found: dict[str, str] = {}
        plain = False
        for sheet in ("survey", "choices", "external_choices"):
            for _, row in self.sheets.get(sheet, []):
                for key in row:
                    base, sep, col = key.partition("::")
                    if base in _TRANSLATABLE:
                        if sep:
                            found.setdefault(col, _tag_of(col))
                        elif base == "label" or base == "hint":
                            plain = True
        default_col = str(self.settings.get("default_language") or "")
        if plain:
            if default_col:
                tag = found.get(default_col, _tag_of(default_col))
            else:
                tag = "und" if not found else "default"
            found.setdefault("", tag)
        self.by_name = found
        tags = list(dict.fromkeys(found.values())) or ["und"]
        default = found.get(default_col, _tag_of(default_col)) if default_col else (
            found.get("") or tags[0])
        avail = {}
        for col, tag in found.items():
            avail.setdefault(tag, {"name": re.sub(r"\s*\([^()]*\)\s*$", "", col) or tag})
        avail.setdefault(default, {"name": default_col and re.sub(
            r"\s*\([^()]*\)\s*$", "", default_col) or default})
        return {"default": default, "available": avail}

    def texts(self, row: dict, key: str) -> dict:
        out = {}
        for col, value in row.items():
            if col == key:
                out[self.by_name.get("", self.langs["default"])] = str(value)
            elif col.startswith(key + "::"):
                out[self.by_name.get(col.split("::", 1)[1], col.split("::", 1)[1])] = str(value)
        return out

    # choices --------------------------------------------------------------------------------------
    def choice_lists(self, sheet: str = "choices", source: str | None = None) -> dict:
        lists: dict[str, dict] = {}
        for n, row in self.sheets.get(sheet, []):
            list_name = _name(row.get("list_name", ""))
            if not list_name and "name" not in row:
                continue  # a comment row, as pyxform
            if not list_name or "name" not in row:
                self.problem(sheet, n, "list_name" if not list_name else "name",
                             "a choice with both list_name and name",
                             f"{'list_name' if not list_name else 'name'} empty",
                             "fill it in or delete the row")
                continue
            lst = lists.setdefault(list_name, {"choices": []})
            if source:
                lst["source"] = source
            if str(row.get("svy_ordered", "")).lower() in ("yes", "true", "1"):
                lst["ordered"] = True
            if "svy_list_label" in row:
                lst["label"] = json.loads(row["svy_list_label"])
            if "svy_source" in row:
                lst["source"] = str(row["svy_source"])
            c: dict[str, Any] = {"name": _name(row["name"]), "label": self.texts(row, "label")}
            media = self.media(row)
            if media:
                c["media"] = media
            if "svy_code" in row:
                c["code"] = int(row["svy_code"])
            c.update(json.loads(row["svy_ext"]) if "svy_ext" in row else {})
            filters = {k: _name(v) for k, v in row.items() if _is_filter(k)}
            if filters:
                c["filters"] = filters
            self.marks[("choice_lists", list_name, "choices", len(lst["choices"]))] = \
                _Cell(sheet, n)
            lst["choices"].append(c)
        return lists

    def file_list(self, file_name: str, lists: dict) -> None:
        """Choices of ``select_one_from_file``: read from the file next to the form."""
        if file_name in lists:
            return
        lst: dict[str, Any] = {"source": file_name, "choices": []}
        lists[file_name] = lst
        path = (self.base_dir / file_name) if self.base_dir else None
        if path is None or not path.is_file():
            if self.missing_files == "error":
                raise QuestionnaireError(
                    f"{self.file}: expected the choices file {file_name} of "
                    f"select_one_from_file next to the form ({path or 'no folder'}), found "
                    "none. Hint: put the file beside the XLSForm, or read with "
                    "missing_files='warn' to keep the reference without its choices")
            import warnings

            from ..errors import SurveyWarning

            warnings.warn(
                f"{self.file}: the choices of select_one_from_file {file_name} come from "
                f"{file_name}, which is not next to the form ({path or 'no folder'}); the "
                "questionnaire keeps the reference, but answers cannot be checked against a "
                "list until the file is there", SurveyWarning, stacklevel=4)
            return
        lst["choices"] = _external_choices(path, self.langs["default"])

    def media(self, row: dict) -> dict:
        out: dict[str, Any] = {}
        plain: dict[str, Any] = {}
        for col, value in row.items():
            kind, _, lang = col.partition("::")
            if kind in ("image", "audio", "video", "big-image"):
                if lang:
                    out.setdefault(kind, {})[self.by_name.get(lang, lang)] = str(value)
                else:
                    plain[kind] = str(value)
        for kind, value in plain.items():
            if kind in out:  # both image and image::<lang>: the plain one is the default's
                out[kind].setdefault(self.by_name.get("", self.langs["default"]), value)
            else:
                out[kind] = value
        return out

    # survey ---------------------------------------------------------------------------------------
    def items(self, lists: dict) -> list:
        from ._xlsbook import parse_type

        root: list = []
        stack: list[tuple[dict | None, list, int]] = [(None, root, 0)]
        for n, row in self.sheets.get("survey", []):
            raw = str(row.get("type", "")).strip()
            if not raw:
                if "name" in row or "label" in row:
                    self.problem("survey", n, "type", "a type on a row with a name or label",
                                 "none", "fill in the type, or clear the row")
                continue
            t = parse_type(raw)
            if t["kind"] == "end":
                if len(stack) == 1:
                    self.problem("survey", n, "type", f"a begin_{t['structure']} before this "
                                 f"row", repr(raw), "delete the row or add the begin row")
                    continue
                head, children, _ = stack.pop()
                self.close(head, children)
                continue
            if t["kind"] == "begin":
                head = self.group_head(row, t, n, lists)
                if head is None:
                    continue
                stack[-1][1].append(head)
                stack.append((head, [], n))
                continue
            q = self.question(row, t, n, lists)
            if q is not None:
                stack[-1][1].append(q)
        if len(stack) > 1:
            head, _, n = stack[-1]
            self.problem("survey", n, "type", f"an end row for '{head.get('group') or head.get('grid')}'",
                         "the end of the sheet", "add an end_group (or end_repeat) row")
        return self.fold_others(root)

    def _row_name(self, row: dict, n: int, what: str) -> str | None:
        if "name" not in row:
            self.problem("survey", n, "name", f"a name for this {what}", "none",
                         "names become data columns: a letter or _, then letters, digits, _ - .")
            return None
        return _name(row["name"])

    def group_head(self, row: dict, t: dict, n: int, lists: dict) -> dict | None:
        name = self._row_name(row, n, f"{t['structure']}")
        if name is None:
            return None
        if "svy_grid" in row:
            head: dict[str, Any] = {"grid": name, "list": str(row["svy_grid"])}
            app = row.get("svy_row_appearance")
            head["appearance"] = None if app == "none" else app or "likert"
            if "svy_required" in row:
                head["required"] = row["svy_required"]
            for key in ("measure", "role"):
                if f"svy_{key}" in row:
                    head[key] = row[f"svy_{key}"]
        else:
            head = {"group": name}
            if t["structure"] == "repeat":
                head["repeat"] = True
            if t["structure"] == "loop":
                if not t["list"] or t["list"] not in lists:
                    self.problem("survey", n, "type", "begin loop over <a choice list>",
                                 repr(row["type"]), f"choice lists: {', '.join(lists)}")
                head["loop_over"] = t["list"]
            for key in ("appearance", "repeat_count"):
                if key in row:
                    head[key] = str(row[key])
        for key in ("label", "hint"):
            if self.texts(row, key):
                head[key] = self.texts(row, key)
        if "relevant" in row:
            head["relevant"] = self.straight_quotes(str(row["relevant"]), n, "relevant")
        head.update(json.loads(row["svy_ext"]) if "svy_ext" in row else {})
        extra = self.extra_columns(row, group=True)
        if extra:
            head["x_xlsform"] = extra
        head["_row"] = n
        return head

    def straight_quotes(self, text: str, n: int, column: str) -> str:
        """Curly quotes (typed by spreadsheet autocorrect) in an expression, made straight."""
        if not _CURLY.search(text) or column in ("label", "hint", "default"):
            return text
        from .expressions import ExpressionError, columns, parse_choice_filter, parse_expression

        fixed = text.translate(_STRAIGHT)
        try:
            if column == "choice_filter":
                if not any(_CURLY.search(c) for c in columns(parse_choice_filter(text))):
                    return text
            else:
                parse_expression(text)
                return text  # the curly quotes are inside a string: text, not syntax
        except ExpressionError:
            pass
        import warnings

        from ..errors import SurveyWarning

        warnings.warn(f"{self.file}, sheet 'survey', row {n}, column '{column}': curly quotes "
                      f"in {text!r} read as straight quotes ({fixed!r}); ODK cannot evaluate "
                      "curly quotes, and the export writes the straight ones", SurveyWarning,
                      stacklevel=2)
        return fixed

    def extra_columns(self, row: dict, group: bool = False) -> dict:
        """Columns the model has no key for, kept verbatim for the round trip."""
        out = {}
        for col, value in row.items():
            base = col.partition("::")[0]
            if base in _KNOWN_SURVEY or col.startswith("svy_") or base in _TRANSLATABLE:
                continue
            out[col] = value if isinstance(value, (bool, int, float)) else str(value)
        if group:
            out = {k: v for k, v in out.items()}
        return out

    def close(self, head: dict, children: list) -> None:
        if "grid" not in head:
            head["items"] = children
            return
        rows = []
        for c in children:
            r = {"name": c["name"]}
            for key in ("label", "hint", "relevant", "var_label"):
                if key in c:
                    r[key] = c[key]
            if c.pop("_row_required", False):
                r["required"] = c.get("required", False)
            if c.pop("_row_appearance", False):
                r["appearance"] = c.get("appearance")
            if c.get("_reverse"):
                r["reverse"] = True
            r.update(c.get("_ext", {}))
            if c.get("required_message"):
                head.setdefault("required_message", c["required_message"])
            rows.append(r)
        head["rows"] = rows

    def question(self, row: dict, t: dict, n: int, lists: dict) -> dict | None:
        if t["type"] is None:
            from ._xlsbook import known_type_names

            self.problem("survey", n, "type", "an XLSForm question type", repr(row["type"]),
                         did_you_mean(str(row["type"]), known_type_names()))
            return None
        if "name" not in row and t["type"] == "note":
            name = f"generated_note_name_{n}"  # pyxform's name for a note without one
        else:
            name = self._row_name(row, n, "question")
            if name is None:
                return None
        q: dict[str, Any] = {"name": name, "type": t["type"]}
        if t["type"] == "osm":  # its list is on the osm sheet: keep the type cell verbatim
            q["x_xlsform"] = {"type": str(row["type"])}
        elif t["list"]:
            if t["source"] == "file":
                self.file_list(t["list"], lists)
            elif t["source"] == "external":
                if t["list"] + _EXTERNAL_SUFFIX in lists:
                    t = {**t, "list": t["list"] + _EXTERNAL_SUFFIX}
                lst = lists.get(t["list"])
                if lst is None or lst.get("source") != "external_choices":
                    self.problem("survey", n, "type", f"a list '{t['list']}' on the "
                                 "external_choices sheet", repr(row["type"]),
                                 "select_one_external takes its choices from the "
                                 "external_choices sheet")
                    return None
            q["list"] = t["list"]
        for key in _TEXT_COLS:
            if self.texts(row, key):
                q[key] = self.texts(row, key)
        if row.get("svy_no_label") == "yes":
            q.pop("label", None)
        for key in _PLAIN_COLS:
            if key in row:
                q[key] = self.straight_quotes(str(row[key]), n, key)
        for key in ("required", "read_only"):
            if key in row:
                q[key] = row[key] if isinstance(row[key], bool) else \
                    self.straight_quotes(str(row[key]), n, key)
        if "parameters" in row:
            q["parameters"] = _parameters(str(row["parameters"]))
        media = self.media(row)
        if media:
            q["media"] = media
        extra = {**q.get("x_xlsform", {}), **self.extra_columns(row)}
        if extra:
            q["x_xlsform"] = extra
        if t["or_other"]:
            self.or_other(q, lists, t)
        self.svy(row, q)
        q["_row"] = n
        return q

    def svy(self, row: dict, q: dict) -> None:
        for key in ("measure", "role", "code"):
            if f"svy_{key}" in row:
                q[key] = str(row[f"svy_{key}"])
        for key, col in _JSON_COLS.items():
            if col in row:
                q[key] = json.loads(row[col])
        if "svy_missing" in row:
            text = str(row["svy_missing"])
            q["missing"] = [] if text == "none" else json.loads(text) if text.startswith(
                "[") else text.split()
        if "svy_exclusive" in row:
            q["exclusive"] = str(row["svy_exclusive"]).split()
        if "svy_ext" in row:
            ext = json.loads(row["svy_ext"])
            q.update(ext)
            q["_ext"] = ext
        if "svy_other_of" in row:
            q["_other_of"] = str(row["svy_other_of"])
            q["_other_choice"] = str(row.get("svy_other_choice", "other"))
            q["_other_label"] = row.get("svy_other_label") == "yes"
        q["_row_required"] = "svy_row_required" in row
        q["_row_appearance"] = "svy_row_appearance" in row
        q["_reverse"] = row.get("svy_reverse") == "yes"

    def or_other(self, q: dict, lists: dict, t: dict) -> None:
        """pyxform's ``or_other``: an ``other`` choice (label "Other") and ``<q>_other`` text."""
        lst = lists.get(q["list"])
        if lst is not None and not any(c["name"] == "other" for c in lst["choices"]):
            lst["choices"].append({"name": "other", "label": {self.langs["default"]: "Other"}})
        q["other"] = {"choice": "other", "text": q["name"] + "_other",
                      "label": {self.langs["default"]: "Specify other."}}

    def fold_others(self, items: list) -> list:
        """Turn ``svy_other_of`` text rows back into the owner's ``other`` key."""
        owners = {it["name"]: it for it in _walk_dicts(items) if it.get("name")}
        folded = set()
        for it in _walk_dicts(items):
            owner = owners.get(it.get("_other_of") or "")
            if owner is not None:
                owner["other"] = {"choice": it["_other_choice"], "text": it["name"]}
                if it["_other_label"]:
                    owner["other"]["label"] = it.get("label", {})
                folded.add(id(it))
        return self._strip(items, folded, ("items",))

    def _strip(self, items: list, folded: set, path: tuple) -> list:
        out = []
        for it in items:
            if id(it) in folded:
                continue
            clean = {k: v for k, v in it.items() if not k.startswith("_")}
            if "_row" in it:
                cell = _Cell("survey", it["_row"])
                self.marks[(*path, len(out))] = cell
                for key in clean:
                    self.marks[(*path, len(out), key)] = cell
            if "items" in clean:
                clean["items"] = self._strip(clean["items"], folded, (*path, len(out), "items"))
            out.append(clean)
        return out

    def xlsform_extras(self) -> dict:
        """Settings the model has no key for and the entities/osm sheets, kept verbatim."""
        known = {"form_title", "form_id", "version", "default_language", "id_string", "title"}
        out: dict[str, Any] = {}
        settings = {k: (v if isinstance(v, (bool, int, float)) else str(v))
                    for k, v in self.settings.items() if k not in known}
        form_id = self.settings.get("form_id", self.settings.get("id_string"))
        if form_id is not None and str(form_id) != self.form_id:
            settings["form_id"] = str(form_id)
        if settings:
            out["settings"] = settings
        for sheet in ("entities", "osm"):
            rows = [r for _, r in self.sheets.get(sheet, [])]
            if rows:
                out[sheet] = [{k: (v if isinstance(v, (bool, int, float)) else str(v))
                               for k, v in r.items()} for r in rows]
        return out

    def template(self) -> dict:
        lists = self.choice_lists()
        for name, lst in self.choice_lists("external_choices", "external_choices").items():
            key = name + _EXTERNAL_SUFFIX if name in lists else name
            lists[key] = lst
            if key != name:
                self.marks.update({(k[0], key, *k[2:]): v for k, v in self.marks.items()
                                   if k[:2] == ("choice_lists", name) and
                                   getattr(v, "sheet", "") == "external_choices"})
        items = _unique_names(self.items(lists))
        if self.problems:
            n = len(self.problems)
            exc = QuestionnaireError("\n".join(
                [f"{self.file}: {n} problem{'s' if n > 1 else ''} in the XLSForm:",
                 *("  - " + p for p in self.problems)]))
            exc.problems = list(self.problems)
            raise exc
        d: dict[str, Any] = {k: v for k, v in self.meta.items() if k in _META_KEYS}
        d.update(self.meta.get("x_extensions") or {})
        raw_id = self.settings.get("form_id") or self.settings.get("id_string") or \
            d.get("id") or Path(self.file).stem
        self.form_id = _form_id(str(raw_id))
        d["id"] = self.form_id
        d["version"] = str(self.settings.get("version", d.get("version", "1")))
        d["languages"] = self.langs
        if "title" not in d:
            title = self.settings.get("form_title") or self.settings.get("title") or d["id"]
            d["title"] = {self.langs["default"]: str(title)}
        d["choice_lists"] = lists
        d["items"] = items
        extras = self.xlsform_extras()
        if extras:
            d["x_xlsform"] = extras
        return d


_CURLY = re.compile("[\u2018\u2019\u201c\u201d]")
_STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _unique_names(items: list) -> list:
    """Give a name used again in another group (pyxform allows it: the XForm paths differ)
    a unique one, ``<group>_<name>``: names are data columns here. The XLSForm name is kept
    (``x_xlsform.name``) and written back by the export; Kobo's ``group/name`` and ODK's
    ``group-name`` headers find the renamed column."""
    every = {it.get("name") or it.get("group") or it.get("grid") for it in _walk_dicts(items)}
    seen: dict[str, tuple] = {}

    def walk(items: list, path: tuple) -> None:
        for it in items:
            key = "name" if "name" in it else "group" if "group" in it else "grid"
            name = it.get(key)
            if name is not None and name in seen and seen[name] != path:
                new = f"{path[-1] if path else 'top'}_{name}"
                while new in every:
                    new += "_"
                every.add(new)
                it["x_xlsform"] = {"name": name, **it.get("x_xlsform", {})}
                it[key] = new
                name = new
            if name is not None:
                seen.setdefault(name, path)
            if "items" in it:
                walk(it["items"], (*path, it.get("group") or it.get("grid")))

    walk(items, ())
    return items


def _form_id(raw: str) -> str:
    """An id the model accepts (ASCII letter first; letters, digits, _) from a form id."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", raw.strip())
    if not re.match(r"[A-Za-z]", out):
        out = "form_" + out
    return out


def _external_choices(path: Path, default_lang: str) -> list[dict]:
    """Choices from a CSV (``name``, ``label`` columns) or XML (``root/item``) file."""
    import csv

    choices: list[dict] = []
    try:
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8-sig") as fh:
                for row in csv.DictReader(fh):
                    row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                    if not row.get("name"):
                        continue
                    c = {"name": row["name"], "label": {default_lang: row.get("label") or
                                                        row["name"]}}
                    filters = {k: v for k, v in row.items() if k not in ("name", "label") and v}
                    if filters:
                        c["filters"] = filters
                    choices.append(c)
        elif path.suffix.lower() == ".xml":
            import xml.etree.ElementTree as ET

            for item in ET.parse(path).getroot().iter("item"):
                fields = {child.tag: (child.text or "").strip() for child in item}
                if fields.get("name"):
                    c = {"name": fields["name"],
                         "label": {default_lang: fields.get("label") or fields["name"]}}
                    filters = {k: v for k, v in fields.items() if k not in ("name", "label")}
                    if filters:
                        c["filters"] = filters
                    choices.append(c)
        else:
            raise QuestionnaireError(f"{path}: expected a .csv or .xml choices file for "
                                     f"select_one_from_file, found {path.suffix!r}")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise QuestionnaireError(f"{path}: cannot read the choices file: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - xml.etree.ElementTree.ParseError and kin
        if isinstance(exc, QuestionnaireError):
            raise
        raise QuestionnaireError(f"{path}: cannot read the choices file: {exc}") from None
    if not choices:
        raise QuestionnaireError(f"{path}: expected choices (rows with a 'name'), found none")
    return choices


def _walk_dicts(items):
    for it in items:
        yield it
        if "items" in it:
            yield from _walk_dicts(it["items"])


def _name(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _is_filter(col: str) -> bool:
    return not (col in ("list_name", "name", "label") or col.startswith(("label::", "svy_", "$",
                "image", "audio", "video", "big-image", "media")) or col == "order")


def _parameters(text: str) -> dict:
    out: dict[str, Any] = {}
    for part in re.split(r"[\s;,]+", text.strip()):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = True if v == "true" else False if v == "false" else _number(v)
    return out


def _number(v: str):
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    if re.fullmatch(r"-?\d*\.\d+", v):
        return float(v)
    return v


def _tag_of(col: str) -> str:
    m = re.search(r"\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\)\s*$", col)
    if m:
        return m.group(1)
    return _KNOWN_LANG_NAMES.get(col.strip().lower(), col.strip() or "und")


def read_xlsform(path, *, missing_files: str = "warn") -> Any:
    """Read an XLSForm (``.xlsx`` or ``.xls``) as a `Questionnaire` (same checks as YAML).

    Everything pyxform reads is kept: type aliases (``select one from x``, ``gps``, ``photo``,
    ...), ``or_other``, repeats, choice filters, external choices (``select_one_external``
    with the ``external_choices`` sheet; ``select_one_from_file`` with the file next to the
    form), media in every language, entities and other settings. What cannot be represented
    is refused with a `QuestionnaireError` naming the sheet, row and column.
    """
    from .loader import sha256_of
    from .questionnaire import Questionnaire

    path = Path(path)
    if not path.is_file():
        raise QuestionnaireError(f"{path}: no such XLSForm file")
    sheets = read_workbook(path)
    if "survey" not in sheets:
        raise QuestionnaireError(f"{path}: expected a 'survey' sheet, found sheets "
                                 f"{sorted(sheets)}. Hint: is this an XLSForm?")
    return from_sheets(sheets, str(path), source_path=str(path.resolve()),
                       sha256=sha256_of(path), cls=Questionnaire, base_dir=path.parent,
                       missing_files=missing_files)


def from_sheets(sheets: dict, file: str, *, cls=None, base_dir: Path | None = None,
                missing_files: str = "warn", **extra):
    """Build a questionnaire from sheets of (row number, row dict) pairs."""
    if cls is None:
        from .questionnaire import Questionnaire as cls
    if missing_files not in ("warn", "error"):
        raise QuestionnaireError(f"missing_files={missing_files!r}: expected 'warn' or 'error'")
    reader = _Reader(sheets, file, base_dir, missing_files)
    d = reader.template()
    return cls.from_dict(d, source=file, marks=reader.marks, **extra)


def sheets_from_dicts(sheets: dict[str, list[dict]]) -> dict:
    """Adapt ``{sheet: [row dicts]}`` (as `to_xlsform` returns) for `from_sheets`."""
    out = {}
    for name, rows in sheets.items():
        out[name] = [(i + 2, {_norm_header(k): v for k, v in r.items() if v not in (None, "")})
                     for i, r in enumerate(rows)]
    return out
