"""Data entry of paper questionnaires in the browser, driven by the template.

``survey entry TEMPLATE --db entries.sqlite`` (or `render_entry_app` for tests and embedding)
serves a keyboard-first form numbered like the paper form; the server judges every form with
the validation engine; forms are stored in SQLite with who keyed them, when, in which pass, and
the full history of changes; a second, blind pass and an adjudication screen resolve the
disagreements; ``sv.read_responses("entries.sqlite", q)`` reads the result.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EntryError", "EntryProgress", "EntryStore", "entry_comparison", "entry_progress",
           "render_entry_app"]

_WHERE = {"EntryError": "store", "EntryStore": "store", "EntryProgress": "data",
          "entry_comparison": "data", "entry_progress": "data", "render_entry_app": "app"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
