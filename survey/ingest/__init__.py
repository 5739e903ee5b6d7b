"""Reading response files into a `Survey`, and writing surveys back out.

>>> from survey.ingest import read_raw, read_responses, compare_entries
"""

from __future__ import annotations

from .raw import RawTable

__all__ = ["RawTable", "read_raw", "read_responses", "infer_questionnaire", "compare_entries", "EntryComparison",
           "detect_encoding"]


def __getattr__(name):
    if name in ("read_raw", "read_responses"):
        from . import read

        return getattr(read, name)
    if name == "infer_questionnaire":
        from .infer import infer_questionnaire

        return infer_questionnaire
    if name in ("compare_entries", "EntryComparison"):
        from . import compare

        return getattr(compare, name)
    if name == "detect_encoding":
        from .encoding import detect_encoding

        return detect_encoding
    raise AttributeError(f"module 'survey.ingest' has no attribute {name!r}")
