"""Sub-commands of reading and writing: ``survey convert`` and ``survey compare-entries``."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert", help="read a response file against a template and write it in another format",
        description="Read DATA against TEMPLATE (validating it) and write OUT; the format "
        "follows OUT's extension: .sav .zsav .dta .parquet .csv .xlsx")
    p.add_argument("template")
    p.add_argument("data")
    p.add_argument("out")
    p.add_argument("--lang", default=None, help="language of the labels written")
    p.add_argument("--encoding", default=None)
    p.add_argument("--platform", default=None,
                   choices=["generic", "kobo", "odk", "qualtrics", "limesurvey"])
    p.add_argument("--sheet", default=None)
    p.add_argument("--bom", action="store_true", help="CSV: write a UTF-8 byte-order mark")
    p.set_defaults(handler=_convert)

    i = subparsers.add_parser(
        "infer", help="build a template from a data file's labels (or its values)",
        description="Write a commented YAML template built from DATA: SPSS/Stata variable and "
        "value labels, missing values per variable, measure levels and multiple-response "
        "sets; for CSV/Excel/Parquet, types inferred from the values. Check it before use.")
    i.add_argument("data")
    i.add_argument("-o", "--out", required=True, help="the template to write (.yaml)")
    i.add_argument("--lang", default="en", help="language tag of the labels (default en)")
    i.add_argument("--encoding", default=None)
    i.add_argument("--sheet", default=None)
    i.set_defaults(handler=_infer)

    c = subparsers.add_parser(
        "compare-entries", help="compare two keyings of the same paper forms",
        description="List every cell on which two keyings disagree; exit 1 when any do.")
    c.add_argument("template")
    c.add_argument("first")
    c.add_argument("second")
    c.add_argument("--id-column", default=None)
    c.add_argument("--clerk-column", default=None)
    c.add_argument("--out", default=None, help="write the disagreements to this .csv/.xlsx")
    c.set_defaults(handler=_compare)


def _convert(args: argparse.Namespace) -> int:
    from .read import read_responses
    from .write import write

    opts = {k: v for k, v in (("encoding", args.encoding), ("platform", args.platform),
                              ("sheet", args.sheet)) if v is not None}
    s = read_responses(args.data, args.template, **opts)
    extra = {"bom": True} if args.bom and args.out.lower().endswith(".csv") else {}
    written = write(s, args.out, language=args.lang, **extra)
    print(f"read {s.source.get('rows_read')} rows: {len(s.data)} accepted, "
          f"{len(s.rejected)} rejected")
    print(f"wrote {written.path} ({written.rows} rows x {written.columns} columns)")
    for note in written.notes:
        print(f"  note: {note}")
    return 0


def _infer(args: argparse.Namespace) -> int:
    from .infer import infer_questionnaire

    sheet = int(args.sheet) if args.sheet is not None and args.sheet.isdigit() else args.sheet
    q = infer_questionnaire(args.data, language=args.lang, encoding=args.encoding, sheet=sheet)
    q.to_yaml(args.out)
    qs = q.questions()
    missing = sum(1 for x in qs if x.missing)
    print(f"wrote {args.out}: {len(qs)} questions, {len(q.choice_lists)} choice lists, "
          f"{missing} with their own missing codes")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare_entries

    cmp = compare_entries(args.first, args.second, args.template, id_column=args.id_column,
                          clerk_column=args.clerk_column)
    print(cmp._summary())
    if len(cmp.disagreements):
        print(cmp.disagreements.to_string(index=False, max_rows=200))
    for label, frame in (("only in first", cmp.only_first), ("only in second", cmp.only_second)):
        if len(frame):
            print(f"{label}: " + ", ".join(f"{i} (row {r})" for i, r in
                                         zip(frame["respondent_id"], frame["row"])))
    if args.out:
        from ..core.safety import write_csv, write_xlsx

        if args.out.lower().endswith(".xlsx"):
            write_xlsx({"disagreements": cmp.disagreements}, args.out)
        else:
            write_csv(cmp.disagreements, args.out)
    return 0 if cmp.ok else 1
