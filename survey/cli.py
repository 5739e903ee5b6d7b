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
import errno
import importlib
import os
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


#: arguments that name files a command reads, and files or folders it writes
_INPUT_ARGS = ("template", "data", "first", "second", "db")
_OUTPUT_ARGS = ("out", "output", "report")

_OS_HINTS = {
    errno.ENOENT: "create the folder first, or check the spelling",
    errno.EISDIR: "give a file name, not a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a file of that name is in the way: choose another name",
    errno.EACCES: "choose a place you may write to",
    errno.EPERM: "choose a place you may write to",
    errno.EROFS: "the place is read-only: choose another",
    errno.ENOSPC: "free some disk space",
}


def refuse_output_over_input(args: argparse.Namespace) -> None:
    """A command never writes over one of its own inputs (``convert T d.csv d.csv``)."""
    from .core.safety import same_file
    from .errors import format_problem

    for out_name in _OUTPUT_ARGS:
        out = getattr(args, out_name, None)
        if not isinstance(out, str):
            continue
        for in_name in _INPUT_ARGS:
            src = getattr(args, in_name, None)
            if isinstance(src, str) and same_file(out, src):
                raise SurveyError(format_problem(
                    where=f"{out_name} {out!r}", expected="an output that is not one of the inputs",
                    found=f"the {in_name} file itself",
                    hint="choose another output name; writing there would destroy the input"))


def _os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    text = f"{exc.filename}: {what}" if exc.filename is not None else what
    hint = _OS_HINTS.get(exc.errno)
    return text + (f". Hint: {hint}." if hint else ".")


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure is one ``error:`` line and exit code 1 (2 for usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        refuse_output_over_input(args)
        return int(handler(args) or 0)
    except SurveyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user
        if os.environ.get("SURVEY_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {str(exc)[:500]}. Hint: this is a bug "
              "in survey; run again with SURVEY_DEBUG=1 to see the traceback, and report it.",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
