"""Reproducible reports: parameterised notebooks executed by papermill, exported to HTML and PDF.

>>> from survey.reporting import library_path
>>> library_path("notebooks").name
'notebooks'

The heavy machinery (papermill, nbconvert) is imported inside the functions that use it.
"""

from __future__ import annotations

from . import findings
from ._render import (
    ReportResult,
    build_manifest,
    library_path,
    render_report,
    report_notebook_path,
)

__all__ = [
    "ReportResult",
    "build_manifest",
    "findings",
    "library_path",
    "render_report",
    "report_notebook_path",
]
