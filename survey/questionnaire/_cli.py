"""Sub-commands of the questionnaire stage: ``xlsform``, ``codebook``, ``form``."""

from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("xlsform", help="write a template as an XLSForm workbook")
    p.add_argument("template", help="YAML template (path or library name)")
    p.add_argument("out", help="output .xlsx")
    p.set_defaults(handler=_xlsform)

    p = subparsers.add_parser("codebook", help="print or write the codebook of a template")
    p.add_argument("template")
    p.add_argument("--format", choices=("md", "html", "ddi", "csv"), default="md")
    p.add_argument("--lang", default=None, help="language tag for labels (default: template's)")
    p.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    p.set_defaults(handler=_codebook)

    p = subparsers.add_parser("form", help="render the printable paper form (HTML)")
    p.add_argument("template")
    p.add_argument("--lang", default=None, help="language tag, e.g. zh-Hant (default: template's)")
    p.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    p.add_argument("--pdf", action="store_true",
                   help="print the form to an A4 PDF with Chromium (needs -o FILE.pdf)")
    p.set_defaults(handler=_form)


def _emit(text: str, output: str | None) -> int:
    if output:
        Path(output).write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _xlsform(args) -> int:
    from . import load_questionnaire

    load_questionnaire(args.template).to_xlsform(args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _codebook(args) -> int:
    from ..core.safety import write_csv
    from . import codebook, load_questionnaire

    cb = codebook(load_questionnaire(args.template), language=args.lang)
    text = {"md": cb.to_markdown, "html": cb.to_html, "ddi": cb.to_ddi,
            "csv": lambda: write_csv(cb.to_frame(), index=True)}[args.format]()
    return _emit(text, args.output)


def _form(args) -> int:
    from . import load_questionnaire, render_questionnaire

    page = render_questionnaire(load_questionnaire(args.template), language=args.lang)
    if not args.pdf:
        return _emit(page, args.output)
    from ..errors import ReportError, format_problem
    from ..reporting.exporters import chromium_print, find_chromium

    if not args.output:
        raise ReportError(format_problem(where="survey form --pdf", expected="-o FILE.pdf",
                                         hint="a PDF is not written to the terminal"))
    chromium = find_chromium()
    if not chromium:
        raise ReportError(format_problem(
            where="survey form --pdf", expected="Chromium to print the PDF", found="none",
            hint="apt-get install chromium, or write HTML and print it from a browser"))
    Path(args.output).write_bytes(chromium_print(page, chromium=chromium))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
