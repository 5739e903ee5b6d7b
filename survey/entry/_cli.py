"""Sub-commands of data entry: ``survey entry`` and ``survey entry-export``."""

from __future__ import annotations

import argparse

TOKEN_ENV = "SURVEY_ENTRY_TOKEN"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "entry", help="key paper questionnaires in the browser (double entry, adjudication)",
        description="Serve the data-entry app of TEMPLATE, storing into the SQLite file --db. "
        "It listens on 127.0.0.1 only unless --host is given together with --token.")
    p.add_argument("template")
    p.add_argument("--db", required=True, help="the entry database (created when absent)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--lang", default=None, help="screen language (default: the template's)")
    p.add_argument("--token", default=None,
                   help="access token, required to listen on any address but this machine's; "
                   f"or set {TOKEN_ENV}, which keeps it out of the process list")
    p.set_defaults(handler=_entry)

    x = subparsers.add_parser(
        "entry-export", help="write the keyed (adjudicated) forms as CSV/SPSS/Stata/...",
        description="Read the entry database through the usual validation and write OUT; the "
        "format follows OUT's extension: .csv .sav .zsav .dta .parquet .xlsx")
    x.add_argument("template")
    x.add_argument("--db", required=True)
    x.add_argument("-o", "--out", required=True)
    x.add_argument("--lang", default=None, help="language of the labels written")
    x.set_defaults(handler=_export)


def _entry(args: argparse.Namespace) -> int:
    import os

    from .app import require_token, serve

    token = args.token or os.environ.get(TOKEN_ENV) or None
    require_token(args.host, token)
    where = f"http://{args.host}:{args.port}/"
    if token:
        where += f"?token={token}"
    print(f"survey entry: {args.template} -> {args.db}; open {where} (Ctrl+C stops)",
          flush=True)
    serve(args.template, args.db, host=args.host, port=args.port, language=args.lang,
          token=token)
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..ingest.read import read_responses
    from ..ingest.write import write
    from .store import EntryStore

    EntryStore(args.db, create=False)
    s = read_responses(args.db, args.template)
    written = write(s, args.out, language=args.lang)
    for note in s.source.get("entry_notes", []):
        print(f"  note: {note}")
    print(f"read {s.source.get('rows_read')} forms: {len(s.data)} accepted, "
          f"{len(s.rejected)} rejected")
    print(f"wrote {written.path} ({written.rows} rows x {written.columns} columns)")
    return 0
