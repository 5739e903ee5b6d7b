"""The base of every result object: frozen, tidy, and able to show itself.

A result holds unrounded numbers in a tidy frame (``to_frame()``) and renders itself for
JupyterLab (``_repr_html_``), for Markdown/PDF (``_repr_markdown_``, ``_repr_latex_``) and
for the console (a one-line ``__repr__``). Rounding happens only at display.

Subclasses are ``@dataclass(frozen=True)`` and implement :meth:`Result.to_frame` and
:meth:`Result._summary`; most also override :meth:`Result._display_frame` to show a
human-readable table (labels, rounded numbers) instead of the tidy frame.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import pandas as pd

from .safety import md_text

_CSS = (
    "<style>.sv-result{font-family:'Noto Sans CJK SC','Noto Sans CJK TC',system-ui,sans-serif;"
    "font-size:13px}.sv-result table{border-collapse:collapse}.sv-result th,.sv-result td"
    "{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}.sv-result th:first-child,"
    ".sv-result td:first-child{text-align:left}.sv-result caption{text-align:left;font-weight:600;"
    "padding:4px 0}.sv-notes{color:#555;font-size:12px;margin:4px 0 0 0;padding-left:18px}</style>"
)


@dataclasses.dataclass(frozen=True)
class Result:
    """Base class of result objects. Subclasses are frozen dataclasses."""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- what subclasses may override -------------------------------------------------
    @property
    def title(self) -> str:
        return type(self).__name__

    def _summary(self) -> str:
        """A short one-line description used by ``__repr__``."""
        return ""

    def _key_numbers(self) -> str:
        """The result's headline numbers, shown above its table (e.g. alpha with its CI)."""
        return ""

    def _display_frame(self) -> pd.DataFrame:
        """The table people see (labels, rounded). Default: the tidy frame, rounded."""
        return self.to_frame()

    @property
    def footnotes(self) -> tuple[str, ...]:
        notes = getattr(self, "notes", ())
        return tuple(notes or ())

    # --- rendering ----------------------------------------------------------------------
    def __repr__(self) -> str:
        summary = self._summary()
        return f"<{type(self).__name__}{': ' + summary if summary else ''}>"

    def _repr_html_(self) -> str:
        frame = self._display_frame()
        table = frame_to_html(frame)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.footnotes)
        notes_html = f"<ul class='sv-notes'>{notes}</ul>" if notes else ""
        key = self._key_numbers()
        key_html = f"<p class='sv-key'>{html.escape(key)}</p>" if key else ""
        return (
            f"{_CSS}<div class='sv-result'><div><b>{html.escape(self.title)}</b></div>"
            f"{key_html}{table}{notes_html}</div>"
        )

    def _repr_markdown_(self) -> str:
        frame = self._display_frame()
        out = [f"**{md_text(self.title)}**", ""]
        if self._key_numbers():
            out += [md_text(self._key_numbers()), ""]
        out.append(frame_to_markdown(frame))
        if self.footnotes:
            out += [""] + [f"- {md_text(n)}" for n in self.footnotes]
        return "\n".join(out)

    def _repr_latex_(self) -> str:
        frame = self._display_frame()
        return frame.to_latex(escape=True)

    def to_markdown(self) -> str:
        return self._repr_markdown_()

    def to_html(self) -> str:
        return self._repr_html_()

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view: scalar fields as they are, frames as lists of records."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, pd.DataFrame):
                value = value.reset_index().to_dict(orient="records")
            elif isinstance(value, pd.Series):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def _fmt(value: Any) -> str:
    """One value shown alone (index labels, a single number): integers without decimals."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value in (float("inf"), float("-inf")):
            return "∞" if value > 0 else "-∞"
        if abs(value) >= 1000 or value == int(value):
            return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
        return f"{value:.3g}" if abs(value) < 0.01 else f"{value:.2f}"
    return str(value)


_P_NAMES = {"p", "p_value", "p-value", "p_adj", "p_raw", "adjusted p", "raw p", "pr(>|z|)",
            "pr(>|t|)", "p_adjusted", "p value"}
_PCT_WORDS = ("%", "pct", "percent", "share", "top2", "bottom2", "百分比", "％")
_COUNT_NAMES = {"n", "count", "rows", "problems", "issued", "returned", "valid", "n_items",
                "unweighted", "cases", "人數", "人数", "份數", "份数", "base (n)"}


def column_kind(name: Any) -> str:
    """How a result column is shown: ``"p"`` (3 decimals, ``<.001``), ``"pct"`` (1 decimal),
    ``"count"`` (whole numbers, one decimal when weighted) or ``"stat"`` (fixed decimals).

    >>> [column_kind(c) for c in ("p_value", "% of all", ("Yes", "%"), "n", "n_weighted", "mean")]
    ['p', 'pct', 'pct', 'count', 'count', 'stat']
    """
    key = str(name[-1] if isinstance(name, tuple) else name).strip().lower()
    if key in _P_NAMES or key.startswith("p_") and "pct" not in key:
        return "p"
    if any(w in key for w in _PCT_WORDS):
        return "pct"
    if key in _COUNT_NAMES or key.startswith("n_") or key.endswith((" n", "(n)")):
        return "count"
    return "stat"


def format_column(name: Any, values, *, kind: str | None = None) -> list[str]:
    """The cells of one column, all with the same number of decimals (the one number
    formatter of every result repr): percentages at one decimal, p-values at three
    (``<.001``), counts whole (one decimal if any count is weighted), other statistics at
    two decimals, or three when every value is below 1 in size (alpha, loadings, V).

    >>> format_column("%", [95.4167, 100.0, 3.05])
    ['95.4', '100.0', '3.0']
    >>> format_column("n", [1200.0, 3.0]), format_column("n_weighted", [16.7, 3.0])
    (['1,200', '3'], ['16.7', '3.0'])
    >>> format_column("p_value", [0.0004, 0.0153, float("nan")])
    ['<.001', '0.015', '']
    >>> format_column("alpha", [0.8481, 0.80]), format_column("mean", [3.5, 12.25, 4.0])
    (['0.848', '0.800'], ['3.50', '12.25', '4.00'])
    """
    import math
    import numbers

    vals = list(values)
    nums = [float(v) for v in vals
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))]
    if not nums:
        return [_fmt(v) for v in vals]
    kind = kind or column_kind(name)
    whole = all(x == int(x) for x in nums)
    if kind == "p":
        spec = None
    elif kind == "pct":
        spec = ",.1f"
    elif whole:
        spec = ",.0f"
    elif kind == "count":
        spec = ",.1f"
    else:
        spec = ",.3f" if max(abs(x) for x in nums) < 1 else ",.2f"
    out = []
    for v in vals:
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(float(v)):
            out.append(_fmt(v))
        elif spec is None:
            out.append("<.001" if float(v) < 0.0005 else f"{float(v):.3f}")
        else:
            out.append(format(float(v), spec))
    return out


def _formatted(frame: pd.DataFrame) -> list[list[str]]:
    """Rows of formatted cells, formatted column by column."""
    kinds = frame.attrs.get("column_kinds", {})  # a display frame may name its columns' kinds
    cols = [format_column(c, frame.iloc[:, j].tolist(), kind=kinds.get(c))
            for j, c in enumerate(frame.columns)]
    return [list(r) for r in zip(*cols)] if cols else [[] for _ in range(len(frame))]


def frame_to_html(frame: pd.DataFrame, *, table_id: str | None = None) -> str:
    """Render a frame as a plain, deterministic HTML table (no random ids, escaped text)."""
    idx_names = [n for n in frame.index.names if n is not None]
    head_cells = [html.escape(str(n)) for n in idx_names] or [""]
    head_cells += [html.escape(_col_name(c)) for c in frame.columns]
    rows = []
    for key, values in zip(frame.index, _formatted(frame)):
        keys = key if isinstance(key, tuple) else (key,)
        cells = "".join(f"<th>{html.escape(_fmt(k))}</th>" for k in keys)
        cells += "".join(f"<td>{html.escape(v)}</td>" for v in values)
        rows.append(f"<tr>{cells}</tr>")
    attr = f" id='{html.escape(table_id)}'" if table_id else ""
    head = "".join(f"<th>{c}</th>" for c in head_cells)
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _col_name(c: Any) -> str:
    return " / ".join(str(x) for x in c) if isinstance(c, tuple) else str(c)


def frame_to_markdown(frame: pd.DataFrame) -> str:
    """Render a frame as a GitHub-flavoured Markdown table (no tabulate dependency).

    Every header and cell is literal text (:func:`survey.core.safety.md_text`): labels and
    answers never become HTML, links or extra rows.
    """
    idx_name = " / ".join(str(n) for n in frame.index.names if n is not None)
    header = [idx_name] + [_col_name(c) for c in frame.columns]
    lines = ["| " + " | ".join(md_text(h) for h in header) + " |", "|" + "---|" * len(header)]
    for key, values in zip(frame.index, _formatted(frame)):
        keys = key if isinstance(key, tuple) else (key,)
        cells = [" / ".join(_fmt(k) for k in keys)] + values
        lines.append("| " + " | ".join(md_text(c) for c in cells) + " |")
    return "\n".join(lines)
