"""The ``choice_filter`` rule: an answer must be among the options its filter allows.

A cascading select (``county`` with ``choice_filter: state=${state}``) offers, on each row,
only the choices for which the filter is true; bare names in the filter are columns of the
choices (`Choice.filters`, ``name``, ``label``). The filter is evaluated once per distinct
set of choice columns (not per choice, not per row), over all rows at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _values(choice, q) -> dict[str, str]:
    vals = dict(choice.filters)
    vals.setdefault("name", choice.name)
    vals.setdefault("label", q.text(choice.label))
    for tag, text in choice.label.items():
        vals.setdefault(f"label::{tag}", text)
    return vals


def allowed_matrix(question, q, frame: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Choice names and a rows x choices boolean matrix: offered on that row?"""
    from ..questionnaire.expressions import bind_names, evaluate, parse_choice_filter

    tree = parse_choice_filter(question.choice_filter)
    choices = q.choices(question.list_name).choices
    names = list(dict.fromkeys(c.name for c in choices))
    col = {n: i for i, n in enumerate(names)}
    out = np.zeros((len(frame), len(names)), dtype=bool)
    cache: dict[tuple, np.ndarray] = {}
    for c in choices:
        vals = _values(c, q)
        key = tuple(sorted(vals.items()))
        if key not in cache:
            cache[key] = evaluate(bind_names(tree, vals), frame).fillna(False) \
                .astype(bool).to_numpy()
        out[:, col[c.name]] |= cache[key]  # a name in several branches: any of them
    return names, out


def outside_filter(question, q, answers: pd.Series, frame: pd.DataFrame,
                   multi: bool = False) -> np.ndarray:
    """Rows whose (valid) answer holds an option the filter does not offer on that row."""
    names, ok = allowed_matrix(question, q, frame)
    index = pd.Index(names, dtype="str")
    values = answers.reset_index(drop=True).dropna()
    if multi:
        values = values.str.split().explode().dropna()
    j = index.get_indexer(values.astype("str"))
    rows = values.index.to_numpy()
    known = j >= 0
    off = np.zeros(len(answers), dtype=bool)
    np.logical_or.at(off, rows[known], ~ok[rows[known], j[known]])
    return off
