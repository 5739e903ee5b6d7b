"""Read YAML into plain data plus the line and column of every mapping key and list item.

``read_yaml(text, file)`` returns ``(data, marks)`` where ``marks`` maps a path (tuple of keys
and list indices) to ``(line, column)``, both 1-based. Syntax errors become a
`QuestionnaireError` that keeps YAML's own line and column.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import QuestionnaireError

Marks = dict[tuple, tuple[int, int]]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str):
        self.loader, self.file = loader, file
        self.marks: Marks = {}
        self.duplicates: list[tuple[tuple, tuple[int, int]]] = []

    def build(self, node: yaml.Node, path: tuple) -> Any:
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


def read_yaml(text: str, file: str) -> tuple[Any, Marks, list]:
    """Parse YAML ``text``; returns (data, marks, duplicate keys as [(path, (line, col))])."""
    loader = yaml.SafeLoader(text)
    try:
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
            f"{where}: the file is not valid YAML: {what}{context}. Hint: check the indentation "
            "and quote text that contains ': ', '#', '{', '[' or starts with '*', '&', '!', '%'."
        ) from None
    except yaml.YAMLError as exc:
        raise QuestionnaireError(f"{file}: the file is not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, builder.marks, builder.duplicates
