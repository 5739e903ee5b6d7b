"""Load a YAML template: includes, sugar, checks with line numbers, then the frozen model.

Every problem of a file is collected (with file, line, column, item name, what was expected,
what was found and a hint) and raised together as one `QuestionnaireError` whose
``problems`` attribute lists them one by one.
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticError

from ..errors import QuestionnaireError, did_you_mean, format_problem
from ._yaml import Marks, read_yaml
from .expressions import ExpressionError, columns, names, parse_choice_filter, parse_expression
from .model import QUESTION_TYPES, SELECT_TYPES, XLSFORM_ONLY_TYPES

NAME_RE = re.compile(r"^[A-Za-z_\u00C0-\uFFFF][\w.\-\u00C0-\uFFFF]*$")
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

TOP_KEYS = {"schema", "id", "version", "title", "description", "instructions", "languages",
            "missing_codes", "fieldwork", "choice_lists", "items", "checks", "scales",
            "include", "blocks"}
QUESTION_KEYS = {"name", "type", "list", "label", "hint", "guidance_hint", "required",
                 "required_message", "relevant", "constraint", "constraint_message",
                 "choice_filter", "calculation", "default", "read_only", "appearance",
                 "parameters", "trigger", "media", "measure", "role", "var_label", "code",
                 "recode", "report", "missing", "other", "exclusive", "max_selected", "range"}
GROUP_KEYS = {"group", "repeat", "label", "hint", "relevant", "appearance", "repeat_count",
              "loop_over", "items"}
GRID_KEYS = {"grid", "list", "label", "hint", "appearance", "relevant", "required",
             "required_message", "measure", "role", "rows"}
ROW_KEYS = {"name", "label", "reverse", "relevant", "required", "appearance", "hint",
            "var_label"}
BLOCK_ITEM_KEYS = {"block"}
LIST_KEYS = {"ordered", "label", "choices", "source"}
CHOICE_KEYS = {"name", "label", "code", "media", "filters"}
LANG_KEYS = {"default", "available"}
MISSING_KEYS = {"code", "kind", "label"}
FIELDWORK_KEYS = {"mode", "instrument", "period", "unit_variable", "units", "issued",
                  "returned", "valid", "screening_rules", "notes"}
UNIT_KEYS = {"id", "label", "issued", "returned", "valid"}
CHECK_KEYS = {"id", "expr", "message", "severity"}
SCALE_KEYS = {"items", "reverse", "scoring", "label"}
INCLUDE_KEYS = {"file", "lists", "blocks"}
OTHER_KEYS = {"choice", "text", "label"}
TYPE_ALIASES = {"select one": "select_one", "select1": "select_one", "select one from":
                "select_one", "select multiple": "select_multiple", "select_many":
                "select_multiple", "int": "integer", "string": "text", "dateTime": "datetime",
                "calculation": "calculate", "likert": "likert"}
EXPR_KEYS = ("relevant", "constraint", "calculation", "choice_filter", "trigger")
TEXT_KEYS = {"label", "hint", "guidance_hint", "required_message", "constraint_message",
             "var_label", "title", "description", "instructions", "message", "instrument",
             "notes"}
MISSING_KINDS = ("nonresponse", "not_applicable", "invalid")
_TRUE = {"yes", "true", "true()", "1"}
_FALSE = {"no", "false", "false()", "0", ""}


@dataclasses.dataclass(frozen=True)
class Loc:
    """Where something stands: file, marks of that file, path inside it."""

    file: str
    marks: Marks
    path: tuple

    def __truediv__(self, key) -> Loc:
        return Loc(self.file, self.marks, self.path + (key,))

    def line_col(self) -> tuple[int, int]:
        path = self.path
        while path and path not in self.marks:
            path = path[:-1]
        return self.marks.get(path, (0, 0))

    def sheet(self) -> str | None:
        """The XLSForm sheet this stands on (None: not an XLSForm cell)."""
        path = self.path
        while path and path not in self.marks:
            path = path[:-1]
        return getattr(self.marks.get(path), "sheet", None)

    def where(self, item: str | None = None) -> str:
        path = self.path
        while path and path not in self.marks:
            path = path[:-1]
        text = self.file
        sheet = getattr(self.marks.get(path), "sheet", None)  # an XLSForm cell
        if sheet is not None:
            text += f", sheet '{sheet}', row {self.marks[path][0]}"
        elif path in self.marks:
            line, col = self.marks[path]
            text += f", line {line}, column {col}"
        elif self.marks and () in self.marks:
            text += ", line 1"
        if item:
            text += f", item '{item}'"
        key = next((k for k in reversed(self.path) if isinstance(k, str)), None)
        if key is not None and self.path and isinstance(self.path[-1], str):
            text += f", {'column' if sheet else 'key'} '{key}'"
        return text


class Problems:
    """Problems of one load, kept in file and line order."""

    def __init__(self):
        self._items: list[tuple[tuple, str]] = []

    @property
    def items(self) -> list[str]:
        return [text for _, text in sorted(self._items, key=lambda t: t[0])]

    def append(self, text: str, order: tuple = ("", 0, 0)) -> None:
        self._items.append(((*order, len(self._items)), text))

    def add(self, loc: Loc, expected: str, found: str | None = None, hint: str | None = None,
            item: str | None = None) -> None:
        text = format_problem(where=loc.where(item), expected=expected, found=found, hint=hint)
        self.append(text.replace("?.", "?"), (loc.file, *loc.line_col()))

    def raise_if_any(self, file: str) -> None:
        if self._items:
            n = len(self.items)
            head = f"{file}: {n} problem{'s' if n > 1 else ''} in the questionnaire template:"
            exc = QuestionnaireError("\n".join([head, *("  - " + p for p in self.items)]))
            exc.problems = list(self.items)
            raise exc


def _found(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- the library ----------------------------------------------------------------------------
def library_dir() -> Path:
    """The template library: packaged data in a wheel, else the repository's questionnaires/."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_library" / "questionnaires"
    if packaged.is_dir():
        return packaged
    return here.parent / "questionnaires"


def list_templates() -> list[str]:
    """Names of the templates in the library (block files under ``blocks/`` excluded).

    >>> "grassroots_training" in list_templates()
    True
    """
    root = library_dir()
    if not root.is_dir():
        return []
    return sorted(p.stem for p in root.glob("*.yaml"))


def resolve(path_or_name, base: Path | None = None) -> Path:
    """A template path: an existing file (relative to ``base``) or a library name."""
    p = Path(path_or_name)
    candidates = [p] if base is None or p.is_absolute() else [base / p]
    if base is None:
        candidates.append(Path.cwd() / p)
    lib = library_dir()
    name = str(path_or_name)
    candidates += [lib / name, lib / f"{name}.yaml"]
    candidates += [Path(r) / p for r in include_path() if not p.is_absolute()]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    names_ = list_templates() + [f"blocks/{b.stem}" for b in (lib / "blocks").glob("*.yaml")]
    hint = did_you_mean(Path(name).stem if name.endswith(".yaml") else name, names_)
    raise QuestionnaireError(format_problem(
        where=f"template {name!r}", expected="a YAML file or the name of a library template",
        found="no such file" + (f" (looked in {base})" if base else ""),
        hint=hint or f"library templates: {', '.join(list_templates()) or 'none'}"))


# --- one file ----------------------------------------------------------------------------------
@dataclasses.dataclass
class Source:
    """One parsed file with what it offers to includers."""

    file: str
    path: Path | None
    data: dict
    loc: Loc
    lists: dict[str, tuple[dict, Loc]] = dataclasses.field(default_factory=dict)
    blocks: dict[str, tuple[list, Loc]] = dataclasses.field(default_factory=dict)


def read_source(path: Path, stack: tuple[Path, ...], problems: Problems) -> Source:
    text = _read_text(path)
    data, marks, dups = read_yaml(text, _display(path))
    loc = Loc(_display(path), marks, ())
    for dpath, (line, col) in dups:
        problems.append(format_problem(
            where=f"{loc.file}, line {line}, column {col}", expected="each key once per mapping",
            found=f"key {dpath[-1]!r} repeated", hint="remove or rename one of them"),
            (loc.file, line, col))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add(loc, "a mapping of template keys (schema, id, title, items, ...)",
                     f"a {type(data).__name__}")
        problems.raise_if_any(loc.file)
    if len(stack) > 1 and not set(map(str, data)) & TOP_KEYS:
        problems.add(loc, "an included template (keys such as choice_lists, blocks, items)",
                     "a file that is not a template")
        return Source(loc.file, path, {}, loc)
    src = Source(loc.file, path, data, loc)
    _check_keys(data, TOP_KEYS, loc, problems, "top-level key")
    for inc_src, inc_loc, want_lists, want_blocks in _includes(src, stack, problems):
        _merge_offer(src, inc_src, inc_loc, want_lists, want_blocks, problems)
    for name, value in (data.get("choice_lists") or {}).items():
        _offer(src.lists, str(name), value, loc / "choice_lists" / name, problems, "choice list")
    blocks = data.get("blocks") or {}
    if not isinstance(blocks, dict):
        problems.add(loc / "blocks", "a mapping of block name -> list of items", _found(blocks))
        blocks = {}
    for name, value in blocks.items():
        bloc = loc / "blocks" / name
        items = value.get("items") if isinstance(value, dict) else value
        if isinstance(value, dict):
            _check_keys(value, {"items", "label"}, bloc, problems, "block key")
            bloc = bloc / "items"
        if not isinstance(items, list):
            problems.add(bloc, "a list of items", _found(items), item=str(name))
            continue
        _offer(src.blocks, str(name), items, bloc, problems, "block")
    return src


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise QuestionnaireError(f"{path}: cannot read the template: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(format_problem(
            where=f"{path}, byte {exc.start}", expected="UTF-8 text", found="other bytes",
            hint="save the template as UTF-8")) from None


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _offer(table: dict, name: str, value, loc: Loc, problems: Problems, kind: str) -> None:
    if name in table:
        old, old_loc = table[name]
        if old != value:
            problems.add(loc, f"one definition of {kind} '{name}'",
                         f"a second one (also defined at {old_loc.where()})",
                         "rename one of them, or leave it out of the include's lists/blocks")
        return
    table[name] = (value, loc)


#: folders a user allows includes from, besides the template's own folder and the library
#: (``load_questionnaire(..., include_path=[...])``)
INCLUDE_PATH: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar(
    "survey_include_path", default=())


def include_path() -> tuple[Path, ...]:
    """The user's include folders: ``load_questionnaire(include_path=...)``, then the
    ``SURVEY_INCLUDE_PATH`` environment variable (folders separated by ``os.pathsep``)."""
    env = os.environ.get("SURVEY_INCLUDE_PATH", "")
    return (*INCLUDE_PATH.get(), *(Path(p) for p in env.split(os.pathsep) if p))


class _NotATemplate(Exception):
    pass


def include_roots(base: Path | None, stack: tuple[Path, ...]) -> list[Path]:
    """Folders an include may come from: the including file's folder, the top template's
    folder, the library and the user's include path (all resolved)."""
    roots = [p.resolve() for p in (base, stack[0].parent if stack else None) if p is not None]
    roots += [library_dir().resolve(), *(Path(p).resolve() for p in include_path())]
    return roots


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _within(name: str, base: Path | None, roots: list[Path]) -> bool:
    """Whether ``name`` names a place inside one of ``roots`` before the file system is asked
    (an absolute path or ``..`` out of the folder is refused without telling if it exists)."""
    p = Path(name)
    if "\x00" in name:
        return False
    places = [p] if p.is_absolute() else [base / p if base else p, library_dir() / p,
                                          *(Path(r) / p for r in include_path())]
    return any(_inside(Path(os.path.normpath(os.path.abspath(c))), r)
               for c in places for r in roots)


def _includes(src: Source, stack: tuple[Path, ...], problems: Problems):
    raw = src.data.get("include") or []
    if isinstance(raw, (str, dict)):
        raw = [raw]
    if not isinstance(raw, list):
        problems.add(src.loc / "include", "a list of {file: ..., lists: [...], blocks: [...]}",
                     _found(raw))
        return
    for i, entry in enumerate(raw):
        loc = src.loc / "include" / i
        if isinstance(entry, str):
            entry = {"file": entry}
        if not isinstance(entry, dict) or "file" not in entry:
            problems.add(loc, "{file: path-or-library-name, lists: [...], blocks: [...]}",
                         _found(entry))
            continue
        _check_keys(entry, INCLUDE_KEYS, loc, problems, "include key")
        base = src.path.parent if src.path else None
        roots = include_roots(base, stack)
        if not _within(str(entry["file"]), base, roots):
            problems.add(loc / "file", "a template inside the including template's folder, the "
                         "template library or the include path", repr(str(entry["file"])[:80]),
                         "copy the file next to the template, or pass "
                         "load_questionnaire(..., include_path=[folder])")
            continue
        try:
            path = resolve(str(entry["file"]), base)
            if not any(_inside(path, r) for r in roots) or path.suffix.lower() not in (
                    ".yaml", ".yml"):
                raise _NotATemplate
        except _NotATemplate:
            problems.add(loc / "file", "a YAML template (.yaml) inside the including template's "
                         "folder, the template library or the include path",
                         f"{str(entry['file'])[:80]!r}, which is not one")
            continue
        except QuestionnaireError as exc:
            problems.add(loc / "file", "an existing template file", repr(entry["file"]),
                         str(exc).split("Hint: ")[-1] if "Hint: " in str(exc) else None)
            continue
        if path in stack:
            chain = " -> ".join(_display(p) for p in (*stack, path))
            problems.add(loc / "file", "includes without a cycle", f"the cycle {chain}",
                         "move the shared lists into a third file that both include")
            continue
        inc = read_source(path, (*stack, path), problems)
        yield inc, loc, entry.get("lists"), entry.get("blocks")


def _merge_offer(src: Source, inc: Source, loc: Loc, want_lists, want_blocks,
                 problems: Problems) -> None:
    for key, table, want in (("lists", inc.lists, want_lists), ("blocks", inc.blocks,
                                                                 want_blocks)):
        names_ = list(table) if want is None else want
        if not isinstance(names_, list):
            problems.add(loc / key, f"a list of {key} names", _found(names_))
            continue
        target = src.lists if key == "lists" else src.blocks
        kind = "choice list" if key == "lists" else "block"
        for j, name in enumerate(names_):
            if name not in table:
                problems.add(loc / key / j, f"a {kind} defined in {inc.file}", repr(name),
                             did_you_mean(str(name), table) or f"it offers {sorted(table)}")
                continue
            value, vloc = table[name]
            _offer(target, str(name), value, vloc, problems, kind)


def _check_keys(d: dict, allowed: set, loc: Loc, problems: Problems, what: str,
                item: str | None = None) -> None:
    for key in d:
        if isinstance(key, str) and key.startswith("x_"):
            continue
        if key not in allowed:
            hint = did_you_mean(str(key), sorted(allowed)) or \
                "extension keys must start with x_"
            problems.add(loc / key, f"a known {what} ({', '.join(sorted(allowed))})",
                         repr(key), hint, item=item)


# --- normalisation -----------------------------------------------------------------------------
class Normalizer:
    """Turns one template's raw data into the stored form, collecting problems."""

    def __init__(self, src: Source, problems: Problems):
        self.src, self.p = src, problems
        self.lang = "und"
        self.known_langs: list[str] = []  # empty: languages inferred, any tag accepted
        self.avail: list[str] = []
        self.names: dict[str, tuple[Loc, str]] = {}   # question/group name -> (loc, kind)
        self.questions: dict[str, dict] = {}           # data question name -> normalised dict
        self._missing_at: dict[str, Loc] = {}          # question -> loc of its missing: key
        self.exprs: list[tuple[str, Loc, str]] = []    # (expr, loc, item name)
        self.lists: dict[str, dict] = {}
        self.opaque_ok: set[tuple[str, str]] = set()   # (item, key) kept as written (x_opaque)

    # text ---------------------------------------------------------------------------------
    def text(self, value, loc: Loc, item: str | None = None) -> dict:
        if value is None:
            return {}
        if isinstance(value, (str, int, float)):
            return {self.lang: str(value)}
        if isinstance(value, dict) and all(isinstance(v, (str, int, float)) for v in
                                           value.values()):
            out = {str(k): str(v) for k, v in value.items()}
            if loc.file != self.src.file:  # included texts: keep this template's languages
                return {k: v for k, v in out.items() if k in self.avail} or out
            for k in out:
                if self.known_langs and k not in self.known_langs:
                    self.p.add(loc / k, f"a language of the template "
                               f"({', '.join(self.known_langs)})", repr(k),
                               did_you_mean(k, self.known_langs) or
                               "add it to languages.available", item=item)
            return out
        if isinstance(value, dict):
            bad = next(k for k, v in value.items() if not isinstance(v, (str, int, float)))
            self.p.add(loc / bad, "a mapping language -> text", f"{value[bad]!r} for {bad!r}",
                       "quote texts that contain ', ' or ': ' inside {...}", item=item)
        else:
            self.p.add(loc, "a text or a mapping language -> text", _found(value), item=item)
        return {}

    def texts(self, d: dict, loc: Loc, item: str | None = None) -> dict:
        return {k: (self.text(v, loc / k, item) if k in TEXT_KEYS else v) for k, v in d.items()}

    # top level ---------------------------------------------------------------------------
    def run(self) -> dict:
        d, loc = self.src.data, self.src.loc
        out: dict[str, Any] = {"schema": str(d.get("schema", "survey-template/1"))}
        self.languages(d, out)
        if "id" not in d:
            self.p.add(loc, "an 'id' key (ASCII, e.g. grassroots_training)", "none",
                       "add id: my_survey")
        elif not ID_RE.match(str(d["id"])):
            self.p.add(loc / "id", "an ASCII id: a letter, then letters, digits or _",
                       repr(d["id"]))
        out["id"] = str(d.get("id", "untitled"))
        out["version"] = str(d.get("version", "1"))
        if "title" not in d:
            self.p.add(loc, "a 'title' key", "none", "add title: {en: ...}")
        for key in ("title", "description", "instructions"):
            out[key] = self.text(d.get(key), loc / key)
        out["missing_codes"] = self.missing_codes(d.get("missing_codes") or [],
                                                  loc / "missing_codes")
        out["choice_lists"] = self.choice_lists()
        if not isinstance(d.get("items", []), list):
            self.p.add(loc / "items", "a list of items", _found(d.get("items")))
        out["items"] = self.items(d.get("items") or [], loc / "items")
        if "fieldwork" in d and d["fieldwork"] is not None:
            out["fieldwork"] = self.fieldwork(d["fieldwork"], loc / "fieldwork")
        self.missing_collisions(out["missing_codes"])
        out["checks"] = self.checks(d.get("checks") or [], loc / "checks")
        out["scales"] = self.scales(d.get("scales") or {}, loc / "scales")
        out.update({k: v for k, v in d.items() if isinstance(k, str) and k.startswith("x_")})
        self.references()
        return out

    def languages(self, d: dict, out: dict) -> None:
        loc = self.src.loc / "languages"
        raw = d.get("languages")
        inferred = raw is None
        if raw is None:
            tags = _text_tags(d) or ["und"]
            raw = {"default": tags[0], "available": {t: {"name": t} for t in tags}}
        if isinstance(raw, list):
            raw = {"default": raw[0] if raw else "und", "available": raw}
        if not isinstance(raw, dict):
            self.p.add(loc, "{default: tag, available: {tag: {name: ...}}}", _found(raw))
            raw = {"default": "und", "available": {}}
        _check_keys(raw, LANG_KEYS, loc, self.p, "languages key")
        avail = raw.get("available") or {}
        if isinstance(avail, list):
            avail = {str(t): {"name": str(t)} for t in avail}
        avail = {str(t): ({"name": v} if isinstance(v, str) else v or {"name": str(t)})
                 for t, v in avail.items()}
        default = str(raw.get("default") or next(iter(avail), "und"))
        if avail and default not in avail:
            self.p.add(loc / "default", f"one of the available languages {sorted(avail)}",
                       repr(default), did_you_mean(default, avail))
        avail.setdefault(default, {"name": default})
        self.lang = default
        self.known_langs = [] if inferred else list(avail)
        self.avail = list(avail)
        out["languages"] = {"default": default, "available": avail}

    def missing_codes(self, raw, loc: Loc) -> list:
        out = []
        if not isinstance(raw, list):
            self.p.add(loc, "a list of {code, kind, label}", _found(raw))
            return out
        for i, m in enumerate(raw):
            mloc = loc / i
            if not isinstance(m, dict):
                self.p.add(mloc, "{code: -99, kind: nonresponse, label: ...}", _found(m))
                continue
            _check_keys(m, MISSING_KEYS, mloc, self.p, "missing-code key")
            if m.get("kind") not in MISSING_KINDS:
                self.p.add(mloc / "kind", f"one of {', '.join(MISSING_KINDS)}",
                           repr(m.get("kind")), did_you_mean(str(m.get("kind")), MISSING_KINDS))
            if not isinstance(m.get("code"), int):
                self.p.add(mloc / "code", "a whole number such as -99", _found(m.get("code")))
            out.append(self.texts(m, mloc))
        codes = [m.get("code") for m in out]
        if len(set(codes)) != len(codes):
            self.p.add(loc, "distinct missing codes", str(codes))
        return out

    def question_missing(self, raw, loc: Loc, name: str) -> list:
        """``missing:`` of a question: kind names (the template's codes of that kind apply)
        and/or ``{code, kind, label}`` codes of this question only; ``none`` or ``[]``: none."""
        if raw is None or raw == "none":
            return []
        if isinstance(raw, (str, dict)):
            raw = [raw]
        if not isinstance(raw, list):
            self.p.add(loc, "a list of missing kinds and/or {code, kind, label}", _found(raw),
                       item=name)
            return []
        out: list = []
        for i, m in enumerate(raw):
            if isinstance(m, str):
                if m not in MISSING_KINDS:
                    self.p.add(loc / i, f"one of {', '.join(MISSING_KINDS)} or {{code, kind, "
                               "label}", repr(m), did_you_mean(m, MISSING_KINDS), item=name)
                    continue
                out.append(m)
            else:
                out += self.missing_codes([m], loc / i)
        codes = [m["code"] for m in out if isinstance(m, dict)]
        if len(set(codes)) != len(codes):
            self.p.add(loc, "distinct missing codes", str(codes), item=name)
        self._missing_at[name] = loc
        return out

    def missing_collisions(self, global_codes: list) -> None:
        """A missing code equal to a valid choice code of a question it applies to would turn
        those answers into missing: refuse it, naming both (issue: GSS 0 = NAP vs degree 0)."""
        for name, q in self.questions.items():
            lst = self.lists.get(str(q.get("list"))) if q.get("type") in SELECT_TYPES else None
            if not lst:
                continue
            spec = q.get("missing")
            if spec is None:
                scope = [(m, "missing_codes") for m in global_codes]
            else:
                kinds = {s for s in spec if isinstance(s, str)}
                scope = [(m, "missing_codes") for m in global_codes if m.get("kind") in kinds]
                scope += [(m, "its missing:") for m in spec if isinstance(m, dict)]
            by_code = {}
            for c in lst["choices"]:
                code = c.get("code")
                if code is None and re.fullmatch(r"-?\d+", str(c["name"])):
                    code = int(c["name"])
                if code is not None:
                    by_code.setdefault(code, c)
            for m, where in scope:
                c = by_code.get(m.get("code"))
                if c is None or not isinstance(m.get("code"), int):
                    continue
                label = next(iter((c.get("label") or {}).values()), "")
                fine = [k for k in MISSING_KINDS if any(
                    g.get("kind") == k for g in global_codes) and not any(
                    g.get("kind") == k and g.get("code") in by_code for g in global_codes)]
                free = next(x for x in (9, 99, -9, -99, 999) if x not in by_code)
                example = (f"missing: [{', '.join(fine)}] (only those template codes)" if fine
                           else f"missing: [{{code: {free}, kind: nonresponse}}]")
                self.p.add(
                    self._missing_at.get(name, self.names.get(name, (Loc("", {}, ()),))[0]),
                    "missing codes that are not valid answers",
                    f"missing code {m['code']} ({m.get('kind')}, from {where}) equals choice "
                    f"{c['name']!r}" + (f" ({label})" if label else "")
                    + f" of list '{q['list']}'",
                    f"say which missing codes apply to question '{name}': {example}; "
                    "or change the choice's code",
                    item=name)

    # choice lists ---------------------------------------------------------------------------
    def choice_lists(self) -> dict:
        out = {}
        for name, (value, loc) in self.src.lists.items():
            out[name] = self.choice_list(name, value, loc)
        self.lists = out
        return out

    def choice_list(self, name: str, value, loc: Loc) -> dict:
        if isinstance(value, list):
            value = {"choices": value}
        if not isinstance(value, dict):
            self.p.add(loc, "{ordered: true|false, choices: [...]}", _found(value), item=name)
            return {"choices": []}
        _check_keys(value, LIST_KEYS, loc, self.p, "choice-list key", item=name)
        out = {"ordered": bool(value.get("ordered", False)),
               "label": self.text(value.get("label"), loc / "label"), "choices": []}
        if value.get("source") is not None:
            out["source"] = str(value["source"])
        choices = value.get("choices")
        if out.get("source") and choices in (None, []):  # select_one_from_file, file absent
            return out
        if not isinstance(choices, list) or not choices:
            self.p.add(loc / "choices", "a non-empty list of {name, label}", _found(choices),
                       item=name)
            return out
        seen: dict[str, dict] = {}
        for i, c in enumerate(choices):
            cloc = loc / "choices" / i
            if isinstance(c, (str, int)):
                c = {"name": c}
            if not isinstance(c, dict) or "name" not in c:
                self.p.add(cloc, "a choice {name: ..., label: ...}", _found(c), item=name)
                continue
            _check_keys(c, CHOICE_KEYS, cloc, self.p, "choice key", item=f"{name}/{c['name']}")
            c = self.texts(c, cloc)
            c["name"] = str(c["name"])
            if c["name"] in seen and (seen[c["name"]].get("filters") == c.get("filters") or
                                      seen[c["name"]].get("label") != c.get("label")):
                self.p.add(cloc / "name", f"unique choice names in list '{name}' (a name may "
                           "repeat only in a cascading list, with the same label and other "
                           "filter values)", f"{c['name']!r} twice")
            seen.setdefault(c["name"], c)
            if "code" in c and not isinstance(c["code"], int):
                self.p.add(cloc / "code", "a whole number", _found(c["code"]), item=name)
            out["choices"].append(c)
        return out

    # items ----------------------------------------------------------------------------------
    def items(self, raw: list, loc: Loc, seen_blocks: tuple = ()) -> list:
        out: list = []
        for i, it in enumerate(raw if isinstance(raw, list) else []):
            iloc = loc / i
            if not isinstance(it, dict):
                self.p.add(iloc, "an item mapping (name/type, group, grid or block)", _found(it))
                continue
            if "block" in it:
                out.extend(self.block(it, iloc, seen_blocks))
            elif "grid" in it:
                out.append(self.grid(it, iloc))
            elif "group" in it or "repeat" in it:
                out.append(self.group(it, iloc, seen_blocks))
            else:
                q = self.question(it, iloc)
                if q is not None:
                    out.append(q)
        return out

    def block(self, it: dict, loc: Loc, seen: tuple) -> list:
        _check_keys(it, BLOCK_ITEM_KEYS, loc, self.p, "block key")
        name = str(it["block"])
        if name not in self.src.blocks:
            self.p.add(loc / "block", "a block defined in this file or an included one",
                       repr(name), did_you_mean(name, self.src.blocks) or
                       "include the file that defines it: include: [{file: ..., blocks: [...]}]")
            return []
        if name in seen:
            self.p.add(loc / "block", "blocks that do not contain themselves", repr(name))
            return []
        items, bloc = self.src.blocks[name]
        return self.items(items, bloc, (*seen, name))

    def register(self, name, loc: Loc, kind: str) -> None:
        if not isinstance(name, str) or not NAME_RE.match(name):
            self.p.add(loc, "a name: a letter or _, then letters, digits, _ - . (no spaces)",
                       _found(name))
            return
        if name in self.names:
            first, _ = self.names[name]
            self.p.add(loc, "a unique name (names become data columns)",
                       f"'{name}' again (first at {first.where()})", "rename one of them",
                       item=name)
            return
        self.names[name] = (loc, kind)

    def group(self, it: dict, loc: Loc, seen: tuple) -> dict:
        is_repeat = ("repeat" in it and "group" not in it) or it.get("repeat") is True
        name = str(it.get("group") if "group" in it else it.get("repeat"))
        _check_keys(it, GROUP_KEYS, loc, self.p, "group key", item=name)
        self.register(name, loc / ("repeat" if is_repeat else "group"), "group")
        out = self.texts({k: v for k, v in it.items() if k not in ("items", "repeat")}, loc, name)
        out["group"] = name
        if is_repeat:
            out["repeat"] = True
            if name == "data":
                self.p.add(loc / "repeat", "a repeat name other than 'data' (the root of the "
                           "XForm)", repr(name), item=name, hint="rename the repeat")
        self.expr_keys(out, loc, name, ("relevant",))
        if out.get("loop_over") is not None:
            self.list_ref({"list": out["loop_over"]}, loc / "loop_over", name)
            out["loop_over"] = str(out["loop_over"])
        out["items"] = self.items(it.get("items") or [], loc / "items", seen)
        return out

    def grid(self, it: dict, loc: Loc) -> dict:
        name = str(it["grid"])
        _check_keys(it, GRID_KEYS, loc, self.p, "grid key", item=name)
        self.register(name, loc / "grid", "grid")
        out = self.texts({k: v for k, v in it.items() if k != "rows"}, loc, name)
        out["grid"] = name
        self.list_ref(out, loc, name)
        if "required" in out:
            out["required"] = self.required(out["required"], loc / "required", name)
        self.expr_keys(out, loc, name, ("relevant",))
        rows = it.get("rows")
        if not isinstance(rows, list) or not rows:
            self.p.add(loc / "rows", "a non-empty list of rows {name, label}", _found(rows),
                       item=name)
            rows = []
        out["rows"] = []
        for j, r in enumerate(rows):
            rloc = loc / "rows" / j
            if not isinstance(r, dict) or "name" not in r:
                self.p.add(rloc, "a row {name: ..., label: ...}", _found(r), item=name)
                continue
            _check_keys(r, ROW_KEYS, rloc, self.p, "grid-row key", item=str(r["name"]))
            row = self.texts(r, rloc, str(r["name"]))
            self.register(row["name"], rloc / "name", "question")
            if "required" in row:
                row["required"] = self.required(row["required"], rloc / "required", r["name"])
            self.expr_keys(row, rloc, str(r["name"]), ("relevant",))
            # canonical form: a row repeats nothing its grid already says
            if "required" in row and row["required"] == out.get("required", False):
                del row["required"]
            if "appearance" in row and row["appearance"] == out.get("appearance", "likert"):
                del row["appearance"]
            out["rows"].append(row)
            self.questions[str(r["name"])] = {"type": "select_one", "list": out.get("list")}
        return out

    def list_ref(self, out: dict, loc: Loc, name: str) -> None:
        lst = out.get("list")
        if lst is None:
            self.p.add(loc, "a 'list' key naming a choice list", "none", item=name,
                       hint=f"choice lists: {', '.join(sorted(self.lists)) or 'none defined'}")
        elif str(lst) not in self.lists:
            self.p.add(loc / "list", "the name of a choice list", repr(lst), item=name,
                       hint=did_you_mean(str(lst), self.lists) or
                       f"choice lists: {', '.join(sorted(self.lists)) or 'none defined'}")
        else:
            out["list"] = str(lst)

    def question(self, it: dict, loc: Loc) -> dict | None:
        name = it.get("name")
        if name is None:
            self.p.add(loc, "an item with 'name' and 'type' (or group:, grid:, block:)",
                       f"keys {sorted(map(str, it))}")
            return None
        name = str(name)
        _check_keys(it, QUESTION_KEYS, loc, self.p, "question key", item=name)
        self.register(name, loc / "name", "question")
        q = self.texts(it, loc, name)
        q["name"] = name
        self.qtype(q, loc, name)
        if q.get("type") in SELECT_TYPES:
            self.list_ref(q, loc, name)
        elif "list" in q:
            self.p.add(loc / "list", "no 'list' on a question that is not a select",
                       f"list on type {q.get('type')!r}", item=name)
        self.sugar(q, loc, name)
        self.xform_rules(q, it, loc, name)
        if "required" in q:
            q["required"] = self.required(q["required"], loc / "required", name)
        if "read_only" in q and not isinstance(q["read_only"], bool):
            q["read_only"] = self.required(q["read_only"], loc / "read_only", name)
        self.expr_keys(q, loc, name, EXPR_KEYS)
        if "default" in q and q["default"] is not None:
            q["default"] = str(q["default"])
        if "code" in q:
            q["code"] = str(q["code"])
        self.other_and_exclusive(q, loc, name)
        if "missing" in q:
            q["missing"] = self.question_missing(q["missing"], loc / "missing", name)
        if "recode" in q:
            self.recode(q, loc / "recode", name)
        if q.get("type") != "note":
            self.questions[name] = q
        return q

    def xform_rules(self, q: dict, raw: dict, loc: Loc, name: str) -> None:
        """What pyxform refuses, refused here too, so every template exports valid."""
        if q.get("type") == "calculate" and not raw.get("calculation") and \
                raw.get("default") is None:
            self.p.add(loc, "a calculation on a calculate question", "none", item=name,
                       hint="add calculation: ..., or make it a text question")
        if q.get("type") == "audit" and name != "audit":
            self.p.add(loc / "name", "the name 'audit' for an audit question", repr(name),
                       item=name, hint="ODK requires it; the name column may be left blank")

    def recode(self, q: dict, loc: Loc, name: str) -> None:
        r = q["recode"]
        if isinstance(r, list):
            r = q["recode"] = {"bins": r}
        if not isinstance(r, dict):
            self.p.add(loc, "{bins: [...], right_open: true, labels: [...]}", _found(r), item=name)
            return
        _check_keys(r, {"bins", "right_open", "labels"}, loc, self.p, "recode key", item=name)
        bins = r.get("bins")
        if not (isinstance(bins, list) and bins and all(
                isinstance(b, (int, float)) and not isinstance(b, bool) for b in bins)
                and all(a < b for a, b in zip(bins, bins[1:]))):
            self.p.add(loc / "bins", "increasing numbers (the starts of the bands)", _found(bins),
                       item=name)
            return
        labels = r.get("labels")
        if labels is not None:
            if not isinstance(labels, list) or len(labels) != len(bins):
                self.p.add(loc / "labels", f"{len(bins)} labels, one per band (the last band is "
                           "open-ended)", _found(labels), item=name)
                return
            r["labels"] = [self.text(x, loc / "labels" / i, name) for i, x in enumerate(labels)]
        if q.get("type") not in ("integer", "decimal", "range", "calculate"):
            self.p.add(loc, "recode only on numeric questions", f"type {q.get('type')!r}",
                       item=name)

    def qtype(self, q: dict, loc: Loc, name: str) -> None:
        t = q.get("type")
        if not isinstance(t, str):
            self.p.add(loc / "type" if "type" in q else loc, "a question type", _found(t),
                       item=name, hint=f"types: {', '.join(QUESTION_TYPES[:10])}, ...")
            q["type"] = "text"
            return
        if " ".join(t.split()) in XLSFORM_ONLY_TYPES:
            q["type"] = " ".join(t.split())
            return
        parts = t.split()
        if len(parts) >= 2 and " ".join(parts[:2]) in TYPE_ALIASES:
            parts = [TYPE_ALIASES[" ".join(parts[:2])], *parts[2:]]
        base = TYPE_ALIASES.get(parts[0], parts[0])
        if "or_other" in parts[1:]:
            self.p.add(loc / "type", "no or_other (it is English-only in XLSForm)", repr(t),
                       item=name, hint="add an 'other' choice and other: {choice: other, "
                       f"text: {name}_other}}")
            parts = [p for p in parts if p != "or_other"]
        if len(parts) == 2 and base in (*SELECT_TYPES, "likert"):
            q.setdefault("list", parts[1])
        elif len(parts) > 2 or (len(parts) == 2 and base not in SELECT_TYPES):
            self.p.add(loc / "type", "a question type", repr(t), item=name)
        if base == "likert":
            base = "select_one"
            q.setdefault("appearance", "likert")
        if base not in QUESTION_TYPES:
            self.p.add(loc / "type", "a question type", repr(t), item=name,
                       hint=did_you_mean(base, [*QUESTION_TYPES, "likert", "group", "grid"]))
            base = "text"
        q["type"] = base

    def sugar(self, q: dict, loc: Loc, name: str) -> None:
        parts = [q["constraint"]] if q.get("constraint") else []
        if "range" in q:  # sugar: range: [min, max] -> constraint
            r = q.pop("range")
            lo, hi = (r.get("min"), r.get("max")) if isinstance(r, dict) else (
                r if isinstance(r, list) and len(r) == 2 else (None, None))
            if not all(isinstance(v, (int, float)) or v is None for v in (lo, hi)) or \
                    (lo is None and hi is None):
                self.p.add(loc / "range", "range: [min, max] or {min: ..., max: ...}",
                           _found(r), item=name)
            else:
                parts += [f". >= {lo}"] * (lo is not None) + [f". <= {hi}"] * (hi is not None)
        if "max_selected" in q:
            m = q.pop("max_selected")
            if q.get("type") != "select_multiple":
                self.p.add(loc / "max_selected", "max_selected only on select_multiple",
                           f"type {q.get('type')!r}", item=name)
            elif not isinstance(m, int) or isinstance(m, bool) or m < 1:
                self.p.add(loc / "max_selected", "a whole number ≥ 1", _found(m), item=name)
            else:
                parts.append(f"count-selected(.) <= {m}")
        if parts:
            q["constraint"] = " and ".join(f"({p})" if " or " in p else p for p in parts)

    def required(self, value, loc: Loc, name) -> bool | str:
        if isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        self.exprs.append((text, loc, str(name)))
        return text

    def expr_keys(self, d: dict, loc: Loc, name: str, keys) -> None:
        # what to_yaml marks as read from an XLSForm that our parser cannot read
        self.opaque_ok |= {(name, str(k)) for k in d.pop("x_opaque", None) or ()}
        for key in keys:
            if d.get(key) is None:
                continue
            if not isinstance(d[key], str):
                d[key] = str(d[key]).lower() if isinstance(d[key], bool) else str(d[key])
            self.exprs.append((d[key], loc / key, name))
        if "constraint" in keys and d.get("constraint"):
            pass

    def filter_columns(self, tree, text: str, loc: Loc, item: str) -> None:
        """Bare names in a choice_filter must be columns of the question's choices."""
        lst = self.lists.get((self.questions.get(item) or {}).get("list") or "")
        if not lst or lst.get("source") and not lst.get("choices"):
            return  # no list (reported elsewhere), or choices in a file not at hand
        cols = {"name", "label"} | {k for c in lst["choices"] for k in c.get("filters", {})}
        cols |= {f"label::{t}" for c in lst["choices"] for t in c.get("label", {})}
        for col in sorted(columns(tree)):
            if col not in cols and not col.startswith("label::"):
                import warnings

                from ..errors import SurveyWarning

                # valid XPath (an absent column is empty for every choice), but rarely meant
                hint = did_you_mean(col, cols) or f"write '{col}' in quotes if it is a value"
                warnings.warn(format_problem(
                    where=loc.where(item), expected=f"columns of the choices of list "
                    f"'{self.questions[item]['list']}' ({', '.join(sorted(cols))})",
                    found=f"{col!r} in {text!r}, which is empty for every choice",
                    hint=hint), SurveyWarning, stacklevel=2)

    def other_and_exclusive(self, q: dict, loc: Loc, name: str) -> None:
        lst = self.lists.get(q.get("list") or "", {})
        choice_names = [c["name"] for c in lst.get("choices", [])]
        if "other" in q:
            o = q["other"]
            if o is True:
                o = {}
            if isinstance(o, str):
                o = {"text": o}
            if not isinstance(o, dict):
                self.p.add(loc / "other", "{choice: other, text: <name>_other}", _found(o),
                           item=name)
                del q["other"]
            else:
                _check_keys(o, OTHER_KEYS, loc / "other", self.p, "other key", item=name)
                o = {"choice": str(o.get("choice", "other")),
                     "text": str(o.get("text", _default_other_text(name, q.get("type")))),
                     **({"label": self.text(o["label"], loc / "other" / "label")}
                        if "label" in o else {})}
                if q.get("type") not in ("select_one", "select_multiple"):
                    self.p.add(loc / "other", "'other' only on select_one/select_multiple",
                               f"type {q.get('type')!r}", item=name)
                elif lst and o["choice"] not in choice_names:
                    self.p.add(loc / "other" / "choice", f"a choice of list '{q.get('list')}'",
                               repr(o["choice"]), did_you_mean(o["choice"], choice_names),
                               item=name)
                self.register(o["text"], loc / "other" / "text", "question")
                self.questions[o["text"]] = {"type": "text"}
                q["other"] = o
        if "exclusive" in q:
            ex = q["exclusive"]
            ex = [str(ex)] if isinstance(ex, (str, int)) else [str(e) for e in ex or []]
            if q.get("type") != "select_multiple":
                self.p.add(loc / "exclusive", "'exclusive' only on select_multiple",
                           f"type {q.get('type')!r}", item=name)
            for e in ex:
                if lst and e not in choice_names:
                    self.p.add(loc / "exclusive", f"choices of list '{q.get('list')}'", repr(e),
                               did_you_mean(e, choice_names), item=name)
            q["exclusive"] = ex
        if q.get("type") == "select_multiple":
            for c in choice_names:
                if " " in c:
                    self.p.add(loc / "list", "choice names without spaces in a select_multiple "
                               "list", repr(c), "space separates the selected choices",
                               item=name)

    # fieldwork, checks, scales -------------------------------------------------------------------
    def fieldwork(self, raw, loc: Loc) -> dict:
        if not isinstance(raw, dict):
            self.p.add(loc, "a mapping (mode, units, issued, returned, ...)", _found(raw))
            return {}
        _check_keys(raw, FIELDWORK_KEYS, loc, self.p, "fieldwork key")
        out = self.texts(raw, loc)
        units = []
        for i, u in enumerate(raw.get("units") or []):
            uloc = loc / "units" / i
            if not isinstance(u, dict) or "id" not in u:
                self.p.add(uloc, "a unit {id, label, issued, returned}", _found(u))
                continue
            uid = str(u["id"])
            _check_keys(u, UNIT_KEYS, uloc, self.p, "unit key", item=uid)
            u = self.texts(u, uloc)
            u["id"] = uid
            for key in ("issued", "returned"):
                if not isinstance(u.get(key), int) or u[key] < 0:
                    self.p.add(uloc / key if key in u else uloc, f"'{key}': a whole number ≥ 0",
                               _found(u.get(key)), item=uid)
                    u[key] = 0
            if u["returned"] > u["issued"]:
                self.p.add(uloc / "returned", f"returned ≤ issued ({u['issued']}) for unit "
                           f"'{uid}'", str(u["returned"]), item=uid)
            if isinstance(u.get("valid"), int) and u["valid"] > u["returned"]:
                self.p.add(uloc / "valid", f"valid ≤ returned ({u['returned']})",
                           str(u["valid"]), item=uid)
            units.append(u)
        ids = [u["id"] for u in units]
        for uid in {x for x in ids if ids.count(x) > 1}:
            self.p.add(loc / "units", "unique unit ids", f"'{uid}' repeated")
        out["units"] = units
        if units:
            for key in ("issued", "returned", "valid"):
                vals = [u.get(key) for u in units]
                if out.get(key) is not None and all(isinstance(v, int) for v in vals) and \
                        out[key] != sum(vals):
                    self.p.add(loc / key, f"{key} = the sum over units ({sum(vals)})",
                               str(out[key]), f"fix the total or the units' {key} counts")
        if isinstance(out.get("issued"), int) and isinstance(out.get("returned"), int) and \
                out["returned"] > out["issued"]:
            self.p.add(loc / "returned", f"returned ≤ issued ({out['issued']})",
                       str(out["returned"]))
        if out.get("screening_rules") is not None:
            out["screening_rules"] = [str(r) for r in out["screening_rules"]]
        self._unit_var = (out.get("unit_variable"), loc / "unit_variable", ids)
        return out

    def checks(self, raw, loc: Loc) -> list:
        out = []
        if not isinstance(raw, list):
            self.p.add(loc, "a list of {id, expr, message, severity}", _found(raw))
            return out
        for i, c in enumerate(raw):
            cloc = loc / i
            if not isinstance(c, dict) or "expr" not in c or "id" not in c:
                self.p.add(cloc, "a check {id: ..., expr: ..., message: ..., severity: ...}",
                           _found(c))
                continue
            cid = str(c["id"])
            _check_keys(c, CHECK_KEYS, cloc, self.p, "check key", item=cid)
            c = self.texts(c, cloc, cid)
            c["id"] = cid
            if c.get("severity", "warning") not in ("warning", "error"):
                self.p.add(cloc / "severity", "warning or error", repr(c["severity"]), item=cid)
            self.expr_keys(c, cloc, cid, ("expr",))
            out.append(c)
        return out

    def scales(self, raw, loc: Loc) -> dict:
        out = {}
        if not isinstance(raw, dict):
            self.p.add(loc, "a mapping scale name -> {items, reverse, scoring, label}",
                       _found(raw))
            return out
        for name, s in raw.items():
            sloc = loc / name
            if isinstance(s, list):
                s = {"items": s}
            if not isinstance(s, dict) or not isinstance(s.get("items"), list):
                self.p.add(sloc, "{items: [...], reverse: [...], scoring: mean|sum}", _found(s),
                           item=str(name))
                continue
            _check_keys(s, SCALE_KEYS, sloc, self.p, "scale key", item=str(name))
            s = self.texts(s, sloc)
            s["items"] = [str(x) for x in s["items"]]
            s["reverse"] = [str(x) for x in s.get("reverse") or []]
            for key in ("items", "reverse"):
                for j, item in enumerate(s[key]):
                    if item not in self.questions:
                        self.p.add(sloc / key / j, "the name of a question", repr(item),
                                   did_you_mean(item, self.questions), item=str(name))
                    elif key == "reverse" and item not in s["items"]:
                        self.p.add(sloc / key / j, "a reverse item that is also in 'items'",
                                   repr(item), item=str(name))
            if s.get("scoring", "mean") not in ("mean", "sum"):
                self.p.add(sloc / "scoring", "mean or sum", repr(s["scoring"]), item=str(name))
            out[str(name)] = s
        return out

    # cross references ---------------------------------------------------------------------------
    def references(self) -> None:
        known = set(self.questions) | {n for n, (_, k) in self.names.items()}
        for text, loc, item in self.exprs:
            is_filter = bool(loc.path) and loc.path[-1] == "choice_filter"
            try:
                tree = (parse_choice_filter if is_filter else parse_expression)(text)
            except ExpressionError as exc:
                if loc.sheet() is not None or (item, loc.path[-1]) in self.opaque_ok:
                    # an XLSForm (pyxform does not parse expressions) or its YAML, x_opaque
                    tree = _keep_opaque(text, loc, item, exc)
                    if tree is not None:
                        for ref in sorted(names(tree) - known):
                            self.p.add(loc, "references to questions of this template",
                                       f"${{{ref}}} in {text!r}", did_you_mean(ref, known),
                                       item=item)
                        continue
                col = f" at character {exc.pos + 1}" if exc.pos is not None else ""
                start = loc.marks.get(("<value>", *loc.path))
                if start and exc.pos is not None and text == loc_value(loc):
                    col += f" (line {start[0]}, column {start[1] + exc.pos})"
                shown = text if len(text) <= 120 else text[:117] + "..."
                self.p.add(loc, "a valid XLSForm expression", f"{shown!r}{col}: {exc.reason}",
                           exc.hint, item=item)
                continue
            for ref in sorted(names(tree)):
                if ref not in known:
                    self.p.add(loc, "references to questions of this template",
                               f"${{{ref}}} in {text!r}", did_you_mean(ref, known), item=item)
            if is_filter:
                self.filter_columns(tree, text, loc, item)
        unit_var, loc, ids = getattr(self, "_unit_var", (None, None, []))
        if unit_var is not None:
            # the unit may be a data-entry column that is not a question (formats.md §7.4)
            q = self.questions.get(str(unit_var))
            if q is not None and q.get("list") in self.lists:
                names_ = [c["name"] for c in self.lists[q["list"]]["choices"]]
                missing = [u for u in ids if u not in names_]
                if missing:
                    self.p.add(loc, f"unit ids that are choices of list '{q['list']}'",
                               str(missing), f"choices are {names_}")


def _text_tags(data) -> list[str]:
    """Language tags used by the text mappings of a template, in order of appearance."""
    tags: dict[str, None] = {}

    def walk(node, key=None):
        if isinstance(node, dict):
            if key in TEXT_KEYS and node and all(isinstance(v, str) for v in node.values()):
                tags.update(dict.fromkeys(map(str, node)))
                return
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key if key == "labels" else None)

    walk(data.get("title"), "title")
    walk(data)
    return list(tags)


def _keep_opaque(text, loc: Loc, item: str | None, exc: ExpressionError):
    """An XLSForm expression our parser cannot read: kept verbatim (`Opaque`), with a warning.

    pyxform accepts such forms (it does not parse ``calculation``, ``relevant`` …), so they
    load; validation then notes each such rule as not checked. Not text: None (a problem).
    """
    if not isinstance(text, str):
        return None
    import warnings

    from ..errors import QuestionnaireWarning
    from .expressions import Opaque

    at = f" at character {exc.pos + 1}" if exc.pos is not None else ""
    warnings.warn(f"{loc.where(item)}: {text!r} cannot be read as an expression{at} "
                  f"({exc.reason}); kept as written, never evaluated, and not checked against "
                  "the data", QuestionnaireWarning, stacklevel=2)
    return Opaque(text, exc.reason)


def loc_value(loc: Loc):
    """The raw text at ``loc`` if it is a single-line scalar of its file (else None)."""
    return loc.marks.get(("<text>", *loc.path))


def _default_other_text(name: str, qtype) -> str:
    """ODK's or_other convention: the text question is <q>_other."""
    return f"{name}_other"


def pydantic_problems(exc: PydanticError, locate, problems: Problems, data=None) -> None:
    """Turn pydantic errors into located problems (``locate(loc_tuple) -> Loc``)."""
    for err in exc.errors():
        loc = tuple(x for i, x in enumerate(err["loc"])
                    if not (x in ("question", "group", "grid") and i > 0
                            and isinstance(err["loc"][i - 1], int)))
        msg = err["msg"]
        expected = msg[len("Input should be "):] if msg.startswith("Input should be ") else \
            f"a valid value ({msg[:1].lower() + msg[1:]})"
        problems.add(locate(loc), expected, _found(err.get("input")), item=_item_at(data, loc))


def _item_at(data, path: tuple) -> str | None:
    """The name of the innermost named mapping along ``path`` in ``data``."""
    name, node = None, data
    for key in path:
        if isinstance(node, dict):
            for k in ("name", "group", "grid", "id"):
                if isinstance(node.get(k), str) and node is not data:
                    name = node[k]
                    break
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return name


def load_source(path: Path, problems: Problems) -> tuple[dict, Source]:
    src = read_source(path, (path,), problems)
    norm = Normalizer(src, problems)
    data = norm.run()
    return data, src


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
