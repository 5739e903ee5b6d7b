"""``survey report TEMPLATE DATA --out DIR --to html,pdf --lang zh-Hant [--notebook NB] [-p k v]``."""

from __future__ import annotations

import argparse
import json
import sys


def _value(text: str):
    """A ``-p`` value: JSON when it parses (numbers, lists, true/false), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="build a report (executed notebook, HTML, PDF, manifest)",
        description="Execute a report notebook on a questionnaire and its responses and export "
        "it to HTML and PDF. Writes DIR/<template-id>.{ipynb,html,pdf,manifest.json}.",
    )
    p.add_argument("template", help="questionnaire template file or bundled template id")
    p.add_argument("data", help="response file (csv, xlsx, sav, dta, parquet)")
    p.add_argument("--out", default="reports", help="output directory (default: reports)")
    p.add_argument("--to", default="html,pdf", help="formats: html,pdf,weasy (default html,pdf)")
    p.add_argument("--lang", default=None, help="zh-Hant, zh-Hans or en (default: template's)")
    p.add_argument(
        "--notebook",
        default="standard",
        help="report notebook: 'standard', 'grassroots_training' or a .ipynb path",
    )
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("KEY", "VALUE"),
        default=[],
        help="notebook parameter (repeatable), e.g. -p alpha 0.01 -p correction BH",
    )
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: on a terminal, off in CI)")
    p.add_argument("--force", action="store_true",
                   help="replace a report of another kind (built from another notebook) "
                        "that has the same name in --out")
    p.set_defaults(handler=_run)


def _run(args) -> int:
    from . import render_report

    params = {k: _value(v) for k, v in args.parameter}
    formats = [f.strip() for f in args.to.split(",") if f.strip()]
    result = render_report(
        args.template,
        args.data,
        notebook=args.notebook,
        output_dir=args.out,
        formats=formats,
        language=args.lang,
        parameters=params,
        progress=args.progress,
        force=args.force,
    )
    for kind, path in result.paths.items():
        print(f"{kind:9s} {path}")
    t = result.timings
    print(
        "time      "
        + ", ".join(f"{k} {v:.1f} s" for k, v in t.items() if k != "prepare"),
        file=sys.stdout,
    )
    return 0
