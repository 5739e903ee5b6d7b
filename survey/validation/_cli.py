"""``survey validate TEMPLATE [DATA] [--report out.xlsx] [--lang en]``."""

from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check a template, or validate a response file against it",
        description="Without DATA: load and check the template. With DATA: read the responses, "
                    "validate them and print the problems by rule; exit 1 when errors remain.",
    )
    p.add_argument("template", help="template path or library name (e.g. grassroots_training)")
    p.add_argument("data", nargs="?", help="response file (csv, xlsx, sav, dta, parquet, ...)")
    p.add_argument("--report", metavar="OUT.xlsx", help="write the full report to Excel")
    p.add_argument("--lang", default=None, help="language of the messages (en, zh-Hans, zh-Hant)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..errors import QuestionnaireError, ValidationError, format_problem
    from ..questionnaire import load_questionnaire

    if args.report and not args.report.lower().endswith(".xlsx"):
        raise ValidationError(format_problem(
            where=f"--report {args.report!r}", expected="an Excel workbook name ending in .xlsx",
            found=f"the extension {Path(args.report).suffix or '(none)'!r}",
            hint="the report is always written as .xlsx"))

    try:
        q = load_questionnaire(args.template)
    except QuestionnaireError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if not args.data:
        n = len(q.questions())
        print(f"{q.id}: template OK ({n} questions, {len(q.checks)} checks, languages "
              f"{', '.join(q.languages.available)})")
        return 0
    from ..i18n import normalize_language
    from ..ingest import read_responses

    options = {"language": normalize_language(args.lang)} if args.lang else {}
    s = read_responses(args.data, q, **options)
    rep = s.validation
    print(f"{args.data}: {rep.rows_read} rows read, {rep.rows_accepted} accepted, "
          f"{rep.rows_rejected} rejected; {len(rep)} problems "
          f"({rep.n_errors} errors, {rep.n_warnings} warnings)")
    summary = rep.summary(by="rule")
    if len(summary):
        width = max(len(str(k)) for k in summary["key"])
        print(f"  {'rule':<{width}}  problems  errors  warnings  rows  set_missing  rejected")
        for r in summary.itertuples(index=False):
            print(f"  {r.key:<{width}}  {r.problems:>8}  {r.errors:>6}  {r.warnings:>8}  "
                  f"{r.rows:>4}  {r.set_missing:>11}  {r.rejected_rows:>8}")
    if args.report:
        rep.to_excel(args.report)
        print(f"report written to {args.report}")
    return 1 if rep.n_errors else 0
