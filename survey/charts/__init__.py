"""Charts: house theme and the survey chart types (matplotlib, imported inside functions).

Every chart function returns a matplotlib ``Figure`` made with the object-oriented API (no
pyplot state) that shows itself as an image wherever it is displayed (JupyterLab, nbconvert,
our exporters; ``fig.to_png()``, ``fig.to_svg()``), titled and labelled from the questionnaire in the chosen
language, with long Chinese labels wrapped by display width. Importing this package does not
import matplotlib.

>>> import survey.charts as ch
>>> sorted(n for n in ch.__all__ if n.endswith("_chart"))
['bar_chart', 'crosstab_chart', 'likert_chart', 'multi_response_chart', 'response_rate_chart']
"""

from __future__ import annotations

from ._charts import (
    bar_chart,
    crosstab_chart,
    likert_chart,
    multi_response_chart,
    residual_heatmap,
    response_rate_chart,
)
from ._theme import set_theme, wrap_text

__all__ = [
    "set_theme",
    "bar_chart",
    "likert_chart",
    "multi_response_chart",
    "crosstab_chart",
    "residual_heatmap",
    "response_rate_chart",
    "wrap_text",
    "save_figure",
]


def save_figure(fig, path, **kwargs) -> None:
    """Save ``fig`` reproducibly: no date in the metadata (SVG/PDF), fixed SVG hash salt.

    >>> import survey.charts as ch  # doctest: +SKIP
    >>> ch.save_figure(fig, "necessity.svg")  # doctest: +SKIP
    """
    import matplotlib as mpl

    fmt = kwargs.get("format") or str(path).rsplit(".", 1)[-1].lower()
    meta = dict(kwargs.pop("metadata", {}) or {})
    if fmt in ("svg", "pdf"):
        meta.setdefault("Date" if fmt == "svg" else "CreationDate", None)
    elif fmt == "png":
        meta.setdefault("Software", None)
    with mpl.rc_context({"svg.hashsalt": "survey", "svg.fonttype": "path"}):
        fig.savefig(path, metadata=meta, **kwargs)
