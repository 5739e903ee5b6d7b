"""Generate the ingestion fixtures: the SAME answers of 8 respondents to the flagship template
(questionnaires/grassroots_training.yaml) in every file shape the reader accepts.

Run from the repository root:  .venv/bin/python tests/data/ingest/make_fixtures.py
Deterministic: the answers follow fixed formulas, and no file stores a timestamp of the run.
The outputs are committed; tests read them and check that all give the same canonical frame.

Files (see README.md beside them):
  plain.csv            numeric codes, UTF-8
  labels_en.csv        English labels; multi-select joined with ", " (Google Forms style)
  labels_zh-Hant.csv   zh-Hant labels; multi-select joined with "、"; full-width digits
  gb18030.csv          zh-Hans labels, GB18030 (Excel "CSV" on Simplified-Chinese Windows)
  big5.csv             zh-Hant labels, CP950/Big5 (Excel "CSV" on Traditional-Chinese Windows)
  utf8bom.csv          zh-Hans labels, UTF-8 with BOM (Excel "CSV UTF-8"), ";"-separated
  utf16.txt            codes, UTF-16 with BOM, tab-separated (Excel "Unicode Text")
  plain.xlsx           codes as numbers
  plain.sav / .dta     numeric codes with English value labels; multi-select as 0/1 columns
  plain.parquet        choice names
  kobo.csv / kobo.xlsx KoboToolbox "XML values and headers", groups in headers, q/option
                       detail columns, system columns; CSV ";"-separated, fully quoted
  odk.csv              ODK Central: SubmissionDate first, "-" group separator, split
                       select-multiple columns pre-filled with 0, KEY etc. at the end
  qualtrics.csv        three header rows (names, question text, ImportId JSON); one question
                       exported under a renamed tag (Q11) and the multi-select as breakout
                       columns: read with mapping={"QID11": "necessity", "QID12": "gains"}
  limesurvey.csv       LimeSurvey codes: question codes without "_", answers A1..Ak,
                       multi-select gains[SQ001..] = Y/blank, gains[other] = text
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

N = 8
OTHER_TEXT = "外出交流"  # the same characters in zh-Hans and zh-Hant (encodable in GB18030 and CP950)


def load_spec():
    from survey.ingest._spec import template_spec
    from survey.questionnaire import load_questionnaire

    return template_spec(load_questionnaire(ROOT / "questionnaires" / "grassroots_training.yaml"))


def _code(c) -> str:
    if c.code is not None:
        return str(int(c.code)) if float(c.code).is_integer() else str(c.code)
    return c.name


def answers(spec) -> list[dict]:
    """Canonical answers: choice names (multi: space-separated, template order) or strings."""
    rows = []
    for i in range(N):
        row = {}
        for j, f in enumerate(spec.fields):
            v = None
            if f.role == "id" or f.name == "respondent_id":
                v = f"R{i + 1:03d}"
            elif f.kind == "single":
                if (i + j) % 7 != 6:
                    v = f.choices[(i + 2 * j) % len(f.choices)].name
            elif f.kind == "multi":
                plain = [c for c in f.choices if c.name != f.other_choice]
                if i != 7:
                    picks = {plain[i % len(plain)].name}
                    if i % 2 == 0:
                        picks.add(plain[(i + 1) % len(plain)].name)
                    if i == 5 and f.other_choice:
                        picks = {plain[0].name, f.other_choice}
                    v = " ".join(c.name for c in f.choices if c.name in picks)
            elif f.kind in ("integer", "decimal"):
                if (i + j) % 9 != 8:
                    v = str(1 + (i * 7 + j) % 30)
            elif f.kind == "date":
                v = f"2023-05-{10 + i:02d}"
            else:
                v = None
            row[f.name] = v
        for f in spec.fields:
            if f.other_text and f.other_text in row:
                chosen = (row.get(f.name) or "").split()
                row[f.other_text] = OTHER_TEXT if f.other_choice in chosen else None
        rows.append(row)
    return rows


def choice(f, name):
    return next(c for c in f.choices if c.name == name)


def label(c, lang):
    return dict(c.labels)[lang]


def encode_value(f, v, how, lang=None, sep=" "):
    """One canonical answer written as codes, names or labels."""
    if v is None:
        return ""
    if f.kind == "single":
        c = choice(f, v)
        return {"code": _code(c), "name": c.name, "label": label(c, lang) if lang else ""}[how]
    if f.kind == "multi":
        cs = [choice(f, n) for n in v.split()]
        if how == "code":
            return " ".join(_code(c) for c in cs)
        if how == "name":
            return " ".join(c.name for c in cs)
        return sep.join(label(c, lang) for c in cs)
    return v


FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def flat_table(spec, rows, how, lang=None, sep=" ", fullwidth=False):
    header = spec.names
    body = []
    for r in rows:
        out = []
        for f in spec.fields:
            v = encode_value(f, r[f.name], how, lang, sep)
            if fullwidth and f.kind in ("integer", "decimal"):
                v = v.translate(FULLWIDTH)
            out.append(v)
        body.append(out)
    return header, body


def write_csv(path, header, body, *, encoding="utf-8", delimiter=",", quoting=csv.QUOTE_MINIMAL):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(body)
    path.write_bytes(buf.getvalue().encode(encoding))


def write_xlsx(path, header, body, *, numeric=True, sheet="Sheet1"):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header)
    for r in body:
        out = []
        for v in r:
            if numeric and isinstance(v, str) and v.lstrip("-").isdigit():
                out.append(int(v))
            else:
                out.append(v if v != "" else None)
        ws.append(out)
    wb.save(path)
    _freeze_zip(path)


def _freeze_zip(path):
    """Same bytes on every run: fixed zip entry times and document dates."""
    import re
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2023-06-01T00:00:00Z", data)
            zout.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), data,
                          compress_type=zipfile.ZIP_DEFLATED)
    path.write_bytes(buf.getvalue())


def _freeze_sav(path):
    """Same bytes on every run: the SPSS header's creation date and time (offsets 92, 101)."""
    b = bytearray(path.read_bytes())
    b[92:101] = b"01 Jun 23"
    b[101:109] = b"00:00:00"
    path.write_bytes(bytes(b))


def stat_frame(spec, rows):
    """Numeric codes, multi-select as gains_<code> 0/1, with English value labels."""
    import numpy as np
    import pandas as pd

    cols, value_labels, var_labels = {}, {}, {}
    for f in spec.fields:
        vals = [r[f.name] for r in rows]
        lab = dict(f.labels).get("en", f.name)
        if f.kind == "single":
            cols[f.name] = [float(_code(choice(f, v))) if v else np.nan for v in vals]
            value_labels[f.name] = {int(_code(c)): label(c, "en") for c in f.choices}
            var_labels[f.name] = lab
        elif f.kind == "multi":
            for c in f.choices:
                name = f"{f.name}_{_code(c)}"
                cols[name] = [np.nan if v is None else float(c.name in v.split()) for v in vals]
                value_labels[name] = {0: "No", 1: "Yes"}
                var_labels[name] = f"{lab}: {label(c, 'en')}"
        elif f.kind in ("integer", "decimal"):
            cols[f.name] = [float(v) if v else np.nan for v in vals]
            var_labels[f.name] = lab
        else:
            cols[f.name] = [v or "" for v in vals]
            var_labels[f.name] = lab
    return pd.DataFrame(cols), value_labels, var_labels


def kobo_table(spec, rows):
    half = len(spec.fields) // 2
    header, body = [], [[] for _ in rows]
    for j, f in enumerate(spec.fields):
        group = "g_profile" if j < half else "g_views"
        header.append(f"{group}/{f.name}")
        for b, r in zip(body, rows):
            b.append(encode_value(f, r[f.name], "name"))
        if f.kind == "multi":
            for c in f.choices:
                header.append(f"{group}/{f.name}/{c.name}")
                for b, r in zip(body, rows):
                    v = r[f.name]
                    b.append("" if v is None else ("1" if c.name in v.split() else "0"))
    system = ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
              "_submitted_by", "__version__", "_tags", "_index"]
    header += system
    for i, b in enumerate(body):
        b += [str(1000 + i), f"4b1c{i:04d}-aaaa-bbbb-cccc-0123456789ab",
              f"2023-05-{10 + i:02d}T08:00:00", "", "", "submitted_via_web", "", "vXyZ123", "",
              str(i + 1)]
    return header, body


def odk_table(spec, rows):
    half = len(spec.fields) // 2
    header, body = ["SubmissionDate"], [[f"2023-05-{10 + i:02d}T08:00:00.000Z"] for i in range(N)]
    for j, f in enumerate(spec.fields):
        group = "g_profile" if j < half else "g_views"
        header.append(f"{group}-{f.name}")
        for b, r in zip(body, rows):
            b.append(encode_value(f, r[f.name], "name"))
        if f.kind == "multi":
            for c in f.choices:
                header.append(f"{group}-{f.name}/{c.name}")
                for b, r in zip(body, rows):
                    v = r[f.name] or ""
                    b.append("1" if c.name in v.split() else "0")  # pre-filled with 0
    header += ["meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
               "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]
    for i, b in enumerate(body):
        uid = f"uuid:7d3e{i:04d}-1111-2222-3333-444455556666"
        b += [uid, uid, "7", "clerk-a", "0", "0", "", "", "", "0", "2023052001"]
    return header, body


def qualtrics_table(spec, rows):
    builtin = ["StartDate", "EndDate", "Status", "IPAddress", "Progress",
               "Duration (in seconds)", "Finished", "RecordedDate", "ResponseId",
               "DistributionChannel", "UserLanguage"]
    h1, h2, h3 = list(builtin), list(builtin), [json.dumps({"ImportId": b}) for b in builtin]
    h2 = ["Start Date", "End Date", "Response Type", "IP Address", "Progress",
          "Duration (in seconds)", "Finished", "Recorded Date", "Response ID",
          "Distribution Channel", "User Language"]
    body = [[f"2023-05-{10 + i:02d} 08:00:00", f"2023-05-{10 + i:02d} 08:09:00", "0",
             "", "100", "540", "1", f"2023-05-{10 + i:02d} 08:09:01", f"R_{i:04d}abcd",
             "anonymous", "ZH-S"] for i in range(N)]
    for j, f in enumerate(spec.fields):
        qid = f"QID{j + 1}"
        text = dict(f.labels).get("zh-Hans", f.name)
        if f.name == "necessity":  # DataExportTag renamed by the user: found by ImportId
            h1.append(f"Q{j + 1}")
            h2.append(text)
            h3.append(json.dumps({"ImportId": qid}))
            for b, r in zip(body, rows):
                b.append(encode_value(f, r[f.name], "code"))
        elif f.kind == "multi":
            for k, c in enumerate(f.choices, start=1):
                h1.append(f"Q{j + 1}_{k}")
                h2.append(f"{text} - {label(c, 'zh-Hans')}")
                h3.append(json.dumps({"ImportId": qid, "choiceId": _code(c)}))
                for b, r in zip(body, rows):
                    v = r[f.name]
                    b.append("1" if v is not None and c.name in v.split() else "")
        elif f.other_text is None and any(g.other_text == f.name for g in spec.fields):
            owner = next(g for g in spec.fields if g.other_text == f.name)
            oc = choice(owner, owner.other_choice)
            oid = spec.names.index(owner.name) + 1
            h1.append(f"Q{oid}_{owner.choices.index(oc) + 1}_TEXT")
            h2.append(f"{text} - {label(oc, 'zh-Hans')} - Text")
            h3.append(json.dumps({"ImportId": f"QID{oid}_TEXT"}))
            for b, r in zip(body, rows):
                b.append(r[f.name] or "")
        else:
            h1.append(f.name)
            h2.append(text)
            h3.append(json.dumps({"ImportId": qid}))
            for b, r in zip(body, rows):
                b.append(encode_value(f, r[f.name], "code"))
    return [h1, h2, h3], body


def limesurvey_table(spec, rows):
    header = ["id", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp"]
    body = [[str(i + 1), f"2023-05-{10 + i:02d} 08:09:00", "3", "zh-Hans", str(12345 + i),
             f"2023-05-{10 + i:02d} 08:00:00", f"2023-05-{10 + i:02d} 08:09:00"] for i in range(N)]
    for f in spec.fields:
        code = f.name.replace("_", "")
        if f.kind == "single":
            header.append(code)
            for b, r in zip(body, rows):
                v = r[f.name]
                b.append("" if v is None else f"A{f.choice_names.index(v) + 1}")
        elif f.kind == "multi":
            plain = [c for c in f.choices if c.name != f.other_choice]
            for k, c in enumerate(plain, start=1):
                header.append(f"{code}[SQ{k:03d}]")
                for b, r in zip(body, rows):
                    v = r[f.name]
                    b.append("Y" if v is not None and c.name in v.split() else "")
            if f.other_choice:
                header.append(f"{code}[other]")
                for b, r in zip(body, rows):
                    b.append(r.get(f.other_text) or "")
        elif any(g.other_text == f.name for g in spec.fields):
            continue  # LimeSurvey keeps "other" text in q[other]
        else:
            header.append(code)
            for b, r in zip(body, rows):
                b.append(r[f.name] or "")
    return header, body


def main() -> None:
    import pandas as pd
    import pyreadstat

    spec = load_spec()
    rows = answers(spec)
    out = HERE
    # canonical expectation, for the tests (choice names; blanks as empty)
    h, b = flat_table(spec, rows, "name")
    write_csv(out / "expected_canonical.csv", h, b)
    write_csv(out / "plain.csv", *flat_table(spec, rows, "code"))
    write_csv(out / "labels_en.csv", *flat_table(spec, rows, "label", "en", ", "))
    write_csv(out / "labels_zh-Hant.csv",
              *flat_table(spec, rows, "label", "zh-Hant", "、", fullwidth=True))
    write_csv(out / "gb18030.csv", *flat_table(spec, rows, "label", "zh-Hans", " "),
              encoding="gb18030")
    write_csv(out / "big5.csv", *flat_table(spec, rows, "label", "zh-Hant", "、"),
              encoding="cp950")
    write_csv(out / "utf8bom.csv", *flat_table(spec, rows, "label", "zh-Hans", "、"),
              encoding="utf-8-sig", delimiter=";")
    write_csv(out / "utf16.txt", *flat_table(spec, rows, "code"), encoding="utf-16",
              delimiter="\t")
    write_xlsx(out / "plain.xlsx", *flat_table(spec, rows, "code"))
    df, vl, vlab = stat_frame(spec, rows)
    pyreadstat.write_sav(df, str(out / "plain.sav"), column_labels=vlab,
                         variable_value_labels=vl)
    _freeze_sav(out / "plain.sav")
    pyreadstat.write_dta(df, str(out / "plain.dta"),
                         column_labels={k: v[:80] for k, v in vlab.items()},
                         variable_value_labels=vl, version=15)
    pd.DataFrame({c: pd.array(v, dtype="string") for c, v in zip(h, zip(*b))}).replace(
        "", pd.NA).to_parquet(out / "plain.parquet", index=False)
    kh, kb = kobo_table(spec, rows)
    write_csv(out / "kobo.csv", kh, kb, delimiter=";", quoting=csv.QUOTE_ALL)
    write_xlsx(out / "kobo.xlsx", kh, kb, numeric=False, sheet="grassroots_training")
    write_csv(out / "odk.csv", *odk_table(spec, rows))
    qh, qb = qualtrics_table(spec, rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerows(qh + qb)
    (out / "qualtrics.csv").write_bytes(buf.getvalue().encode("utf-8-sig"))
    write_csv(out / "limesurvey.csv", *limesurvey_table(spec, rows), encoding="utf-8-sig")
    print(f"wrote fixtures for {len(spec.fields)} questions x {N} respondents to {out}")


if __name__ == "__main__":
    main()
