"""The ``survey`` command line: the same engine as the Python API.

Each stage contributes its sub-commands from a ``_cli.py`` module exposing
``register(subparsers)``; a sub-command handler returns the process exit code.

    survey validate TEMPLATE [DATA] [--report out.xlsx]
    survey xlsform TEMPLATE OUT.xlsx
    survey codebook TEMPLATE [--format md|html|ddi]
    survey form TEMPLATE --lang zh-Hant -o form.html
    survey convert TEMPLATE DATA OUT.(sav|dta|parquet|csv|xlsx)
    survey compare-entries TEMPLATE A B
    survey entry TEMPLATE --db entries.sqlite [--port 8765] [--lang zh-Hant]
    survey entry-export TEMPLATE --db entries.sqlite -o out.sav
    survey report TEMPLATE DATA --out DIR --to html,pdf --lang zh-Hant
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import SurveyError

# stages that contribute sub-commands, in the order of the data flow
_STAGES = ("questionnaire", "ingest", "validation", "fieldwork", "entry", "reporting")


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="survey", description="From questionnaire template to published report."
    )
    parser.add_argument("--version", action="version", version=f"survey {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for stage in _STAGES:
        try:
            module = importlib.import_module(f"survey.{stage}._cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"survey.{stage}._cli":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except SurveyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
