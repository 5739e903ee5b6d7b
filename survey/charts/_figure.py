"""The figure the chart functions return: a matplotlib ``Figure`` that shows itself.

A bare ``Figure`` built without pyplot has no image repr, so JupyterLab, ``nbconvert --execute``
and our exporters printed ``<Figure size 800x275 with 1 Axes>``. :class:`SurveyFigure` adds
``_repr_mimebundle_`` (one PNG; :meth:`SurveyFigure.to_svg` for vector output); where IPython's inline backend already has an
image formatter for figures (a report kernel set up with ``set_matplotlib_formats("svg")``),
the figure leaves the display to it, so every chart is shown exactly once.

Importing this module imports matplotlib; :mod:`survey.charts` imports it inside functions.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from matplotlib.figure import Figure

_IMAGE_MIMES = ("image/png", "image/svg+xml", "application/pdf", "image/jpeg")
PNG_DPI = 144  # sharp on screen and in print at the figure's natural size


def _inline_printer_active() -> bool:
    """True when IPython already renders Figures through a registered image formatter."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    if shell is None:
        return False
    formatters = shell.display_formatter.formatters
    for mime in _IMAGE_MIMES:
        fmt = formatters.get(mime)
        if fmt is None or not fmt.enabled:
            continue
        try:
            fmt.lookup_by_type(Figure)
        except KeyError:
            continue
        return True
    return False


class SurveyFigure(Figure):
    """A matplotlib Figure with image reprs (PNG for notebooks, SVG on request).

    Everything a Figure does still works (``savefig``, ``axes``, ``survey.charts.save_figure``).
    """

    def _image(self, fmt: str, **kw: Any) -> bytes:
        import matplotlib as mpl

        meta = {"Software": None} if fmt == "png" else {"Date": None}
        buf = io.BytesIO()
        with mpl.rc_context({"svg.hashsalt": "survey", "svg.fonttype": "path"}):
            self.savefig(buf, format=fmt, metadata=meta, **kw)
        return buf.getvalue()

    def to_png(self, *, dpi: int = PNG_DPI) -> bytes:
        """The figure as PNG bytes (no timestamp: the same figure gives the same bytes)."""
        return self._image("png", dpi=dpi)

    def to_svg(self) -> str:
        """The figure as SVG text (glyphs as paths, fixed ids, no date)."""
        return self._image("svg").decode("utf-8")

    def _repr_mimebundle_(self, include=None, exclude=None):
        if _inline_printer_active():
            return None  # the inline backend shows it (e.g. as SVG in report kernels)
        width = int(round(self.get_figwidth() * 96))
        return ({"image/png": self.to_png(), "text/plain": repr(self)},
                {"image/png": {"width": width}})
