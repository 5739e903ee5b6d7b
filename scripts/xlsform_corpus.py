"""Try ``read_xlsform`` on a folder of real XLSForms (the forms pyxform accepts).

For each ``.xls``/``.xlsx`` in the folder: pyxform's verdict (``xls2xform.convert``), then
``read_xlsform`` (timed), ``to_xlsform`` of the result, pyxform's verdict on the export, and
``read_xlsform(to_xlsform(q)) == q``. Prints one line per form and the totals.

    python scripts/xlsform_corpus.py FOLDER [--json OUT.json] [-v]

Not a test: the corpus is not part of the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path


def pyxform_ok(path: Path) -> tuple[bool, str]:
    from pyxform.xls2xform import convert

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            convert(xlsform=str(path), warnings=[])
        return True, ""
    except Exception as exc:  # noqa: BLE001 - pyxform raises many kinds
        return False, f"{type(exc).__name__}: {str(exc)[:200]}"


def export_repeats(xform: str) -> int:
    return xform.count("<repeat ")


def export_filters(xform: str) -> list[str]:
    """The filtered itemsets (choice filters) of an XForm, sorted."""
    import re

    return sorted(re.findall(r'<itemset nodeset="[^"]*\[[^"]*\]"', xform))


def try_form(path: Path, tmp: Path, verbose: bool) -> dict:
    from pyxform.xls2xform import convert

    import survey as sv
    from survey.errors import SurveyError

    rec: dict = {"form": path.name}
    ok, why = pyxform_ok(path)
    rec["pyxform"] = ok
    if not ok:
        rec["pyxform_error"] = why
        return rec
    t0 = time.perf_counter()
    try:
        q = sv.read_xlsform(path)
    except SurveyError as exc:
        rec.update(load=False, seconds=time.perf_counter() - t0, error=str(exc)[:600])
        return rec
    except Exception as exc:  # noqa: BLE001 - a crash is what we count
        rec.update(load=False, crash=True, seconds=time.perf_counter() - t0,
                   error=f"{type(exc).__name__}: {exc}"[:600])
        if verbose:
            traceback.print_exc()
        return rec
    rec.update(load=True, seconds=time.perf_counter() - t0)
    out = tmp / (path.stem + ".out.xlsx")
    try:
        q.to_xlsform(out)
        rec["export_pyxform"], why = pyxform_ok(out)
        if why:
            rec["export_error"] = why
        back = sv.read_xlsform(out)
        rec["round_trip"] = back == q
        if rec["export_pyxform"]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                orig = convert(xlsform=str(path), warnings=[]).xform
                again = convert(xlsform=str(out), warnings=[]).xform
            rec["repeats"] = (export_repeats(orig), export_repeats(again))
            rec["filters"] = (export_filters(orig), export_filters(again))
            rec["round_trip"] = (rec["round_trip"] and rec["repeats"][0] == rec["repeats"][1]
                                 and rec["filters"][0] == rec["filters"][1])
        if not rec["round_trip"]:
            a, b = q.to_dict(), back.to_dict()
            rec["diff"] = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
    except Exception as exc:  # noqa: BLE001
        rec.update(round_trip=False, crash=True, error=f"{type(exc).__name__}: {exc}"[:600])
        if verbose:
            traceback.print_exc()
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-k", default="", help="only forms whose name contains this")
    args = ap.parse_args(argv)
    # imports first, so a form's time is its reading, not the first import of pandas
    import openpyxl  # noqa: F401
    import xlrd  # noqa: F401

    import survey.questionnaire.questionnaire  # noqa: F401
    import survey.questionnaire.xlsform  # noqa: F401
    forms = sorted(p for p in args.folder.iterdir()
                   if p.suffix.lower() in (".xls", ".xlsx") and args.k in p.name)
    recs = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in forms:
            rec = try_form(p, Path(tmp), args.verbose)
            recs.append(rec)
            if not rec["pyxform"]:
                status = "pyxform-rejects"
            elif not rec.get("load"):
                status = "CRASH" if rec.get("crash") else "REFUSED"
            elif rec.get("crash"):
                status = "EXPORT-CRASH"
            elif not rec.get("export_pyxform"):
                status = "EXPORT-INVALID"
            elif not rec.get("round_trip"):
                status = "NO-ROUND-TRIP"
            else:
                status = "ok"
            rec["status"] = status
            secs = f"{rec['seconds']:6.2f}s" if "seconds" in rec else "       "
            print(f"{status:15} {secs} {p.name}")
            if status != "ok" and status != "pyxform-rejects":
                detail = rec.get("error") or rec.get("export_error") or rec.get("diff")
                print("      ", str(detail).replace("\n", "\n       ")[:800])
    valid = [r for r in recs if r["pyxform"]]
    loads = [r for r in valid if r.get("load")]
    trips = [r for r in loads if r.get("status") == "ok"]
    crashes = [r for r in valid if r.get("crash")]
    slowest = max((r["seconds"] for r in valid if "seconds" in r), default=0.0)
    print(f"\n{len(forms)} forms, {len(valid)} accepted by pyxform: {len(loads)} load, "
          f"{len(trips)} export pyxform-valid and round-trip, {len(crashes)} crash; "
          f"slowest read {slowest:.2f} s")
    if args.json:
        args.json.write_text(json.dumps(recs, indent=1, default=str))
    return 0 if len(trips) == len(valid) else 1


if __name__ == "__main__":
    sys.exit(main())
