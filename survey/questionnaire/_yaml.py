"""Read YAML into plain data plus the line and column of every mapping key and list item.

``read_yaml(text, file)`` returns ``(data, marks)`` where ``marks`` maps a path (tuple of keys
and list indices) to ``(line, column)``, both 1-based. Syntax errors become a
`QuestionnaireError` that keeps YAML's own line and column.
"""

from __future__ import annotations

import pickle
import re
import threading
from collections import OrderedDict
from typing import Any

import yaml

from ..errors import QuestionnaireError

Marks = dict[tuple, tuple[int, int]]

#: deepest nesting of mappings and lists (a real template needs about 20)
MAX_DEPTH = 200
#: aliases may repeat a node, but the built data may not grow beyond this many nodes more than
#: the document holds (a "billion laughs" of 400 bytes would otherwise take gigabytes)
MAX_ALIAS_EXPANSION = 10_000


class _Refused(Exception):
    """Bounded work exceeded while building (depth or alias expansion)."""

    def __init__(self, node: yaml.Node, what: str, hint: str):
        super().__init__(what)
        self.node, self.what, self.hint = node, what, hint


class CoreLoader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema: only ``true``/``false`` are booleans.

    PyYAML resolves YAML 1.1 scalars, where ``yes``, ``no``, ``on``, ``off``, ``y``, ``n``
    are booleans, ``010`` is octal, ``1:30`` is sexagesimal and ``2024-05-01`` a date. In a
    questionnaire those are choice names and labels (``yes``/``no`` lists, Ontario ``ON``),
    so they stay strings here, as in YAML 1.2 (https://yaml.org/spec/1.2.2/#103-core-schema).
    """


#: The same loader on libyaml's C parser (PyYAML built with it), when available: it reads a
#: template 4-7x faster (100,000 choices: 31.6 -> 11.3 s to load). Its node composer recurses
#: in C, so a document nested beyond what :func:`_c_safe` allows goes to the pure-Python
#: loader, which refuses it cleanly instead of overflowing the C stack.
CCoreLoader = (type("CCoreLoader", (yaml.CSafeLoader,), {"__doc__": CoreLoader.__doc__})
               if getattr(yaml, "__with_libyaml__", False) else None)

CoreLoader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$",
     "-+0123456789"),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
    ("tag:yaml.org,2002:merge", r"^<<$", "<"),
):
    CoreLoader.add_implicit_resolver(_tag, re.compile(_regexp), list(_first))


def _core_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)  # '010' is ten, not octal eight as in YAML 1.1


CoreLoader.add_constructor("tag:yaml.org,2002:int", _core_int)
if CCoreLoader is not None:  # the same resolvers and constructors, shared
    CCoreLoader.yaml_implicit_resolvers = CoreLoader.yaml_implicit_resolvers
    CCoreLoader.yaml_constructors = CoreLoader.yaml_constructors

#: Nesting the C parser is given: far below the depth that overflows its stack (somewhere
#: between 10,000 and 100,000 levels), far above what a template needs (~20).
C_MAX_NESTING = 2_000


def _c_safe(text: str) -> bool:
    """Whether ``text`` cannot nest deeper than :data:`C_MAX_NESTING`. An upper bound on the
    depth: the deepest run of ``[``/``{`` (counted as if nothing were quoted), plus for block
    nesting twice the largest indentation plus indicators (``-``, ``?``, ``:``) of a line (a
    block level starts further right, or after an indicator, except a sequence under a
    mapping key, which the next level's ``- `` then moves right)."""
    import numpy as np

    if not text:
        return True
    raw = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    step = ((raw == ord("[")) | (raw == ord("{"))).astype(np.int32)
    step -= ((raw == ord("]")) | (raw == ord("}")))
    flow = int(np.cumsum(step).max(initial=0))
    block = max((len(line) - len(line.lstrip(" \t")) + line.count("-") + line.count("?")
                 + line.count(":") for line in text.splitlines()), default=0)
    return flow + 2 * block + 2 <= C_MAX_NESTING


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str):
        self.loader, self.file = loader, file
        self.marks: Marks = {}
        self.duplicates: list[tuple[tuple, tuple[int, int]]] = []
        self.built = 0
        self.distinct: set[int] = set()

    def _count(self, node: yaml.Node, path: tuple) -> None:
        self.built += 1
        self.distinct.add(id(node))
        if self.built - len(self.distinct) > MAX_ALIAS_EXPANSION:
            raise _Refused(node, f"aliases that repeat more than {MAX_ALIAS_EXPANSION:,} nodes",
                           "write the repeated parts out, or use blocks and include")
        if len(path) > MAX_DEPTH:
            raise _Refused(node, f"mappings and lists nested more than {MAX_DEPTH} levels deep",
                           "flatten the nesting (groups can follow each other)")

    def build(self, node: yaml.Node, path: tuple) -> Any:
        self._count(node, path)
        self.marks.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)  # YAML merge keys (<<)
            out: dict = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if isinstance(key, (list, dict)):
                    key = str(key)
                if key in out:
                    self.duplicates.append((path + (key,), _mark(key_node)))
                self.marks[path + (key,)] = _mark(key_node)
                out[key] = self.build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and node.start_mark.line == node.end_mark.line:
            quoted = 1 if node.style in ("'", '"') else 0
            line, col = _mark(node)
            self.marks[("<value>", *path)] = (line, col + quoted)  # where the text starts
            self.marks[("<text>", *path)] = node.value  # type: ignore[assignment]
        return self.loader.construct_object(node, deep=True)


def _hint(exc: yaml.MarkedYAMLError, text: str) -> str:
    general = ("check the indentation and quote text that contains ': ', '#', '{', '[', or "
               "starts with '*', '&', '!', '%', '?'.")
    mark = exc.problem_mark
    if mark is not None and "'?'" in str(exc.problem or ""):
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        if "{" in line:
            return ("inside a flow mapping {...}, '?' starts a key (YAML's explicit-key "
                    "indicator), so a label ending in '?' breaks it: quote the text, e.g. "
                    "{en: \"How often do you visit us?\"}, or write the label on its own "
                    "lines (en: How often do you visit us?).")
    return general


#: documents read lately, as pickles of (data, marks, duplicates): a template and its
#: blocks are read again and again in one process (tests, a report kernel, the entry app)
_READ: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_READ_MAX = 64
_READ_LOCK = threading.Lock()


def read_yaml(text: str, file: str) -> tuple[Any, Marks, list]:
    """Parse YAML ``text``; returns (data, marks, duplicate keys as [(path, (line, col))]).

    A document read before in this process is not parsed again: its result is kept as a
    pickle, so every caller gets its own fresh copy (the data are plain YAML values)."""
    key = (file, text)
    with _READ_LOCK:  # the entry app judges forms in threads
        kept = _READ.get(key)
        if kept is not None:
            _READ.move_to_end(key)
    if kept is not None:
        return pickle.loads(kept)
    result = _parse(text, file)
    kept = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    with _READ_LOCK:
        _READ[key] = kept
        if len(_READ) > _READ_MAX:
            _READ.popitem(last=False)
    return result


def _parse(text: str, file: str) -> tuple[Any, Marks, list]:
    loader = None
    try:
        loader = (CCoreLoader if CCoreLoader is not None and _c_safe(text) else CoreLoader)(text)
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        builder = _Builder(loader, file)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}, line {mark.line + 1}, column {mark.column + 1}" if mark else file
        what = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise QuestionnaireError(
            f"{where}: the file is not valid YAML: {what}{context}. Hint: "
            + _hint(exc, text)) from None
    except _Refused as exc:
        line, col = _mark(exc.node)
        raise QuestionnaireError(
            f"{file}, line {line}, column {col}: expected a template of bounded size, found "
            f"{exc.what}. Hint: {exc.hint}."
        ) from None
    except RecursionError:
        raise QuestionnaireError(
            f"{file}: expected a template of bounded size, found mappings or lists nested too "
            "deeply to read. Hint: flatten the nesting."
        ) from None
    except yaml.YAMLError as exc:
        raise QuestionnaireError(f"{file}: the file is not valid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, builder.marks, builder.duplicates


class _QuotingDumper(yaml.SafeDumper):
    """SafeDumper that also quotes what the YAML 1.2 core schema would not read as text."""


for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:int", r"^(?:0o[0-7]+)$", "0"),
    ("tag:yaml.org,2002:float", r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+."),
):
    _QuotingDumper.add_implicit_resolver(_tag, re.compile(_regexp), list(_first))


def dump_yaml(data: Any, comments: dict[str, str] | None = None) -> str:
    """YAML text of ``data`` (block style, Unicode, key order kept) with a comment line
    block above each top-level key named in ``comments`` (``""``: the file's header)."""
    text = yaml.dump(data, Dumper=_QuotingDumper, allow_unicode=True, sort_keys=False,
                     width=100, default_flow_style=False)
    if not comments:
        return text

    def block(note: str) -> list[str]:
        return ["# " + line if line else "#" for line in note.split("\n")]

    out: list[str] = block(comments[""]) + [""] if comments.get("") else []
    for line in text.splitlines():
        key = line.split(":", 1)[0]
        if line and not line.startswith((" ", "-")) and key in comments and key:
            out += [""] + block(comments[key])
        out.append(line)
    return "\n".join(out) + "\n"
