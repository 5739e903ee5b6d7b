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

from ..errors import QuestionnaireError
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


def _question_row(q, item: Question) -> dict:
    t = item.type if not item.list_name else f"{item.type} {item.list_name}"
    row: dict[str, Any] = {"type": t, "name": item.name}
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
        row["svy_missing"] = " ".join(item.missing) or "none"
    if getattr(item, "exclusive", ()):
        row["svy_exclusive"] = " ".join(item.exclusive)
    if item.model_extra:
        row["svy_ext"] = json.dumps(item.model_extra, ensure_ascii=False, sort_keys=True)


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
            kind = "repeat" if it.repeat else "group"
            head: dict[str, Any] = {"type": f"begin_{kind}", "name": it.name}
            _texts(q, "label", it.label, head)
            _texts(q, "hint", it.hint, head)
            for key in ("relevant", "appearance", "repeat_count"):
                if getattr(it, key):
                    head[key] = getattr(it, key)
            if it.model_extra:
                head["svy_ext"] = json.dumps(it.model_extra, ensure_ascii=False, sort_keys=True)
            rows += [head, *_item_rows(q, it.items), {"type": f"end_{kind}", "name": it.name}]
        else:
            rows.append(_question_row(q, it))
            if it.other is not None:
                rows.append(_other_row(q, it))
    return rows


def _choice_rows(q) -> list[dict]:
    rows = []
    for list_name, lst in q.choice_lists.items():
        for i, c in enumerate(lst.choices):
            row: dict[str, Any] = {"list_name": list_name, "name": c.name}
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
    if q.model_extra:
        meta.append({"key": "x_extensions", "value": yaml.safe_dump(
            q.model_extra, allow_unicode=True, sort_keys=False)})
    return {"survey": _item_rows(q, q.items), "choices": _choice_rows(q),
            "settings": [settings], "_survey_meta": meta}


def to_xlsform(q, path: str | Path | None = None) -> dict[str, list[dict]]:
    """Write ``q`` as an XLSForm workbook at ``path`` (if given); return the sheets."""
    sheets = xlsform_sheets(q)
    if path is not None:
        write_workbook(sheets, Path(path))
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
        ws.append(header)
        for row in rows:
            ws.append([row.get(k) for k in header])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "-", "@"):
                    cell.data_type = "s"
                    cell.quotePrefix = True
    wb.save(path)


def pyxform_dict(sheets: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The sheets pyxform reads (``_``-prefixed sheets removed)."""
    return {k: v for k, v in sheets.items() if not k.startswith("_")}


# --- reading ------------------------------------------------------------------------------------
def read_workbook(path: Path) -> dict[str, list[tuple[int, dict]]]:
    """Sheets as (excel row number, {header: value}) lists; headers normalised."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds
        raise QuestionnaireError(f"{path}: cannot read the XLSForm workbook: {exc}") from None
    out: dict[str, list[tuple[int, dict]]] = {}
    for ws in wb.worksheets:
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            continue
        names = [_norm_header(h) for h in header]
        data = []
        for n, values in enumerate(rows, start=2):
            row = {h: v for h, v in zip(names, values) if h and v not in (None, "")}
            if row:
                data.append((n, {k: (v.strip() if isinstance(v, str) else v)
                                 for k, v in row.items()}))
        out[ws.title.strip().lower() if not ws.title.startswith("_") else ws.title] = data
    wb.close()
    return out


def _norm_header(h) -> str | None:
    if h is None:
        return None
    h = re.sub(r"\s+", " ", str(h).strip())
    base, sep, rest = h.partition("::")
    if not sep and ":" in h and not h.startswith("$"):
        base, sep, rest = h.partition(":")
    base = base.strip()
    base = _ALIASES.get(base.lower(), base.lower() if base.lower() in (
        "label", "hint", "type", "name", "relevant", "required", "constraint") else base)
    return f"{base}::{rest.strip()}" if sep else base


class _Reader:
    def __init__(self, sheets: dict, file: str):
        self.sheets, self.file = sheets, file
        self.meta = {r["key"]: yaml.safe_load(str(r.get("value", ""))) for _, r in
                     sheets.get("_survey_meta", []) if "key" in r}
        self.settings = sheets.get("settings", [(0, {})])[0][1] if sheets.get("settings") else {}
        self.langs = self._languages()
        self.extra_choices: dict[str, list] = {}

    # languages ---------------------------------------------------------------------------------
    def _languages(self) -> dict:
        if "languages" in self.meta:
            langs = self.meta["languages"]
            self.by_name = {f"{v['name']} ({t})": t for t, v in langs["available"].items()}
            return langs
        found: dict[str, str] = {}
        for sheet in ("survey", "choices"):
            for _, row in self.sheets.get(sheet, []):
                for key in row:
                    if "::" in key:
                        col = key.split("::", 1)[1]
                        found.setdefault(col, _tag_of(col))
        default_col = str(self.settings.get("default_language") or "")
        plain = any("label" in r for _, r in self.sheets.get("survey", []))
        if plain:
            tag = _tag_of(default_col) if default_col else (
                "und" if not found else "default")
            found.setdefault("", tag)
        self.by_name = found
        tags = list(dict.fromkeys(found.values())) or ["und"]
        default = _tag_of(default_col) if default_col else (found.get("") or tags[0])
        avail = {}
        for col, tag in found.items():
            avail.setdefault(tag, {"name": re.sub(r"\s*\([^()]*\)\s*$", "", col) or tag})
        avail.setdefault(default, {"name": default})
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
    def choice_lists(self) -> dict:
        lists: dict[str, dict] = {}
        for _, row in self.sheets.get("choices", []):
            list_name = str(row.get("list_name", ""))
            if not list_name or "name" not in row:
                continue
            lst = lists.setdefault(list_name, {"choices": []})
            if str(row.get("svy_ordered", "")).lower() in ("yes", "true", "1"):
                lst["ordered"] = True
            if "svy_list_label" in row:
                lst["label"] = json.loads(row["svy_list_label"])
            c: dict[str, Any] = {"name": _name(row["name"]), "label": self.texts(row, "label")}
            media = self.media(row)
            if media:
                c["media"] = media
            if "svy_code" in row:
                c["code"] = int(row["svy_code"])
            c.update(json.loads(row["svy_ext"]) if "svy_ext" in row else {})
            filters = {k: str(v) for k, v in row.items() if _is_filter(k)}
            if filters:
                c["filters"] = filters
            lst["choices"].append(c)
        return lists

    def media(self, row: dict) -> dict:
        out: dict[str, Any] = {}
        for col, value in row.items():
            kind, _, lang = col.partition("::")
            if kind in ("image", "audio", "video", "big-image"):
                if lang:
                    out.setdefault(kind, {})[self.by_name.get(lang, lang)] = value
                else:
                    out[kind] = value
        return out

    # survey ---------------------------------------------------------------------------------------
    def items(self, lists: dict) -> list:
        root: list = []
        stack: list[tuple[dict | None, list]] = [(None, root)]
        for n, row in self.sheets.get("survey", []):
            t = re.sub(r"\s+", " ", str(row.get("type", "")).strip())
            low = t.lower().replace(" ", "_")
            if low in ("end_group", "end_repeat"):
                if len(stack) == 1:
                    raise QuestionnaireError(f"{self.file}, sheet 'survey', row {n}: expected a "
                                             f"begin_group before this {t!r}, found none")
                head, children = stack.pop()
                self.close(head, children)
                continue
            if low in ("begin_group", "begin_repeat"):
                head = self.group_head(row, low)
                stack[-1][1].append(head)
                stack.append((head, []))
                continue
            if not t:
                continue
            stack[-1][1].append(self.question(row, t, lists))
        if len(stack) > 1:
            raise QuestionnaireError(f"{self.file}, sheet 'survey': expected an end_group for "
                                     f"'{stack[-1][0].get('group') or stack[-1][0].get('grid')}'"
                                     ", found the end of the sheet")
        return self.fold_others(root)

    def group_head(self, row: dict, low: str) -> dict:
        name = _name(row.get("name", ""))
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
            if low == "begin_repeat":
                head["repeat"] = True
            for key in ("appearance", "repeat_count"):
                if key in row:
                    head[key] = str(row[key])
        for key in ("label", "hint"):
            if self.texts(row, key):
                head[key] = self.texts(row, key)
        if "relevant" in row:
            head["relevant"] = str(row["relevant"])
        head.update(json.loads(row["svy_ext"]) if "svy_ext" in row else {})
        return head

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

    def question(self, row: dict, t: str, lists: dict) -> dict:
        parts = t.split()
        if len(parts) >= 2 and parts[0].lower() in ("select", "select_one", "select_multiple",
                                                    "select1"):
            if parts[0].lower() == "select":  # "select one x" / "select multiple x"
                parts = [f"select_{parts[1].lower()}", *parts[2:]]
        q: dict[str, Any] = {"name": _name(row.get("name", "")), "type": parts[0]}
        if len(parts) >= 2 and parts[1] != "or_other":
            q["list"] = parts[1]
        if "or_other" in parts[2:]:
            self.or_other(q, lists)
        for key in _TEXT_COLS:
            if self.texts(row, key):
                q[key] = self.texts(row, key)
        if row.get("svy_no_label") == "yes":
            q.pop("label", None)
        for key in _PLAIN_COLS:
            if key in row:
                q[key] = str(row[key])
        for key in ("required", "read_only"):
            if key in row:
                q[key] = row[key] if isinstance(row[key], bool) else str(row[key])
        if "parameters" in row:
            q["parameters"] = _parameters(str(row["parameters"]))
        media = self.media(row)
        if media:
            q["media"] = media
        self.svy(row, q)
        return q

    def svy(self, row: dict, q: dict) -> None:
        for key in ("measure", "role", "code"):
            if f"svy_{key}" in row:
                q[key] = str(row[f"svy_{key}"])
        for key, col in _JSON_COLS.items():
            if col in row:
                q[key] = json.loads(row[col])
        if "svy_missing" in row:
            q["missing"] = [] if row["svy_missing"] == "none" else str(row["svy_missing"]).split()
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

    def or_other(self, q: dict, lists: dict) -> None:
        lst = lists.setdefault(q["list"], {"choices": []})
        if not any(c["name"] == "other" for c in lst["choices"]):
            lst["choices"].append({"name": "other", "label": {self.langs["default"]: "Other"}})
        q["other"] = {"choice": "other", "text": q["name"] + "_other"}
        q["_or_other"] = True

    def fold_others(self, items: list) -> list:
        """Turn ``svy_other_of`` text rows back into the owner's ``other`` key."""
        owners = {it["name"]: it for it in _walk_dicts(items) if "name" in it}
        folded = set()
        for it in _walk_dicts(items):
            owner = owners.get(it.get("_other_of", ""))
            if owner is not None:
                owner["other"] = {"choice": it["_other_choice"], "text": it["name"]}
                if it["_other_label"]:
                    owner["other"]["label"] = it.get("label", {})
                folded.add(id(it))
        return self._strip(items, folded)

    def _strip(self, items: list, folded: set) -> list:
        out = []
        for it in items:
            if id(it) in folded:
                continue
            clean = {k: v for k, v in it.items() if not k.startswith("_")}
            if "items" in clean:
                clean["items"] = self._strip(clean["items"], folded)
            out.append(clean)
        return out

    def template(self) -> dict:
        lists = self.choice_lists()
        items = self.items(lists)
        d: dict[str, Any] = {k: v for k, v in self.meta.items() if k in _META_KEYS}
        d.update(self.meta.get("x_extensions") or {})
        d.setdefault("id", str(self.settings.get("form_id") or Path(self.file).stem))
        d["id"] = re.sub(r"\W", "_", str(d["id"])) if not re.match(r"^[A-Za-z]", str(d["id"])) \
            else str(d["id"]).replace("-", "_")
        d["version"] = str(self.settings.get("version", d.get("version", "1")))
        d["languages"] = self.langs
        if "title" not in d:
            d["title"] = {self.langs["default"]: str(self.settings.get("form_title") or d["id"])}
        d["choice_lists"] = lists
        d["items"] = items
        return d


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


def read_xlsform(path) -> Any:
    """Read an XLSForm (``.xlsx``) as a `Questionnaire` (same checks as a YAML template)."""
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
                       sha256=sha256_of(path), cls=Questionnaire)


def from_sheets(sheets: dict, file: str, *, cls=None, **extra):
    """Build a questionnaire from sheets of (row number, row dict) pairs."""
    if cls is None:
        from .questionnaire import Questionnaire as cls
    d = _Reader(sheets, file).template()
    return cls.from_dict(d, source=file, **extra)


def sheets_from_dicts(sheets: dict[str, list[dict]]) -> dict:
    """Adapt ``{sheet: [row dicts]}`` (as `to_xlsform` returns) for `from_sheets`."""
    out = {}
    for name, rows in sheets.items():
        out[name] = [(i + 2, {_norm_header(k): v for k, v in r.items() if v not in (None, "")})
                     for i, r in enumerate(rows)]
    return out
