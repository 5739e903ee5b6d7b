"""Hostile templates: bounded work, confined includes, a QuestionnaireError for every bad file.

Defects D3, D5, D12 and D13 (YAML part) of the hostile-input review.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import survey as sv
from survey.errors import QuestionnaireError

BASE = "id: t\ntitle: t\nitems:\n  - {name: a, type: text}\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- alias bombs and depth -------------------------------------------------------------------

def bomb(levels: int) -> str:
    lines = ["id: b", "title: t", "items: [{name: q, type: text}]",
             "x_a0: &a0 [l,l,l,l,l,l,l,l,l]"]
    lines += [f"x_a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [7, 10])
def test_yaml_alias_bomb_is_refused_fast(tmp_path, levels):
    path = write(tmp_path, "bomb.yaml", bomb(levels))
    assert path.stat().st_size < 600
    sv.load_questionnaire(write(tmp_path, "ok.yaml", BASE))  # imports, caches
    t0 = time.process_time()  # CPU of this process: a busy machine does not count
    with pytest.raises(QuestionnaireError, match=r"bomb.yaml, line \d+, column \d+: expected a "
                       r"template of bounded size, found aliases that repeat more than"):
        sv.load_questionnaire(path)
    assert time.process_time() - t0 < 2  # before: 68 s and 3.4 GB (7 levels), endless (10)


def test_ordinary_aliases_still_load(tmp_path):
    path = write(tmp_path, "a.yaml", "id: t\ntitle: t\nchoice_lists:\n  yn: &yn [y, n]\n"
                 "  yn2: *yn\nitems:\n  - {name: a, type: select_one, list: yn2}\n")
    q = sv.load_questionnaire(path)
    assert q.id == "t"


@pytest.mark.parametrize("text", [
    "id: t\ntitle: t\nx_deep: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "id: t\ntitle: t\nx_deep: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n",
])
def test_deeply_nested_yaml_is_a_questionnaire_error(tmp_path, text):
    path = write(tmp_path, "deep.yaml", text)
    with pytest.raises(QuestionnaireError, match="expected a template of bounded size"):
        sv.load_questionnaire(path)


@pytest.mark.parametrize("depth", [100, 400])
def test_groups_nested_hundreds_deep_are_a_questionnaire_error(tmp_path, depth):
    inner = "{name: leaf, type: text}"
    for i in range(depth):
        inner = f"{{group: g{i}, items: [{inner}]}}"
    path = write(tmp_path, "groups.yaml", f"id: t\ntitle: t\nitems: [{inner}]\n")
    with pytest.raises(QuestionnaireError, match="expected a template of bounded size, found "
                       "(mappings and lists nested more than 200 levels|.* nested too deeply)"):
        sv.load_questionnaire(path)


def test_nul_byte_in_a_template_is_a_questionnaire_error(tmp_path):
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"id: t\ntitle: t\x00x\nitems: [{name: a, type: text}]\n")
    with pytest.raises(QuestionnaireError, match=r"nul.yaml: the file is not valid YAML"):
        sv.load_questionnaire(path)


# --- includes -------------------------------------------------------------------------------

SECRET = "db_password_hunter2"


@pytest.fixture
def tree(tmp_path):
    write(tmp_path, "secret/creds.yaml", f"choice_lists:\n  leak: [{SECRET}]\n")
    write(tmp_path, "proj/shared/lists.yaml", "choice_lists:\n  yn: [y, n]\n")
    write(tmp_path, "proj/notes.yaml", f"'{SECRET}:x:0:0': root\ndaemon: {SECRET}\n")
    return tmp_path


def _template(include: str) -> str:
    return (f"id: t\ntitle: t\ninclude: [{include!r}]\n"
            "items:\n  - {name: a, type: select_one, list: yn}\n")


@pytest.mark.parametrize("include", [
    "/etc/passwd", "/proc/self/environ", "../secret/creds.yaml",
    "shared/../../secret/creds.yaml", "/dev/zero", "{root}/secret/creds.yaml",
])
def test_include_outside_the_folder_and_library_is_refused(tree, include):
    path = write(tree, "proj/t.yaml", _template(include.format(root=tree)))
    with pytest.raises(QuestionnaireError) as err:
        sv.load_questionnaire(path)
    msg = str(err.value)
    assert "expected a template inside the including template's folder, the template " \
           "library or the include path" in msg
    assert SECRET not in msg and "root:" not in msg


def test_include_through_a_symlink_out_of_the_folder_is_refused(tree):
    link = tree / "proj" / "link.yaml"
    link.symlink_to(tree / "secret" / "creds.yaml")
    path = write(tree, "proj/t.yaml", _template("link.yaml"))
    with pytest.raises(QuestionnaireError, match="which is not one"):
        sv.load_questionnaire(path)


def test_included_file_that_is_not_a_template_is_never_quoted(tree):
    path = write(tree, "proj/t.yaml", _template("notes.yaml"))
    with pytest.raises(QuestionnaireError) as err:
        sv.load_questionnaire(path)
    msg = str(err.value)
    assert "expected an included template (keys such as choice_lists, blocks, items), found a " \
           "file that is not a template" in msg
    assert SECRET not in msg


def test_includes_inside_the_folder_the_library_and_the_include_path_work(tree):
    path = write(tree, "proj/t.yaml", _template("shared/lists.yaml"))
    assert sv.load_questionnaire(path).id == "t"
    outside = write(tree, "other/t.yaml", _template("lists.yaml"))
    with pytest.raises(QuestionnaireError, match="expected an existing template file"):
        sv.load_questionnaire(outside)
    q = sv.load_questionnaire(outside, include_path=[tree / "proj" / "shared"])
    assert q.id == "t"
    import os

    os.environ["SURVEY_INCLUDE_PATH"] = str(tree / "proj" / "shared")
    try:
        assert sv.load_questionnaire(outside).id == "t"  # the CLI's way to set it
    finally:
        del os.environ["SURVEY_INCLUDE_PATH"]
    lib = write(tree, "lib/t.yaml", "id: t\ntitle: t\ninclude: [blocks/demographics]\n"
                "items:\n  - {name: a, type: text}\n")
    try:
        sv.load_questionnaire(lib)
    except QuestionnaireError as exc:  # the library block may need other keys; never refused
        assert "the template library or the include path" not in str(exc)


# --- XLSForm metadata -----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["{[: bad", "!!python/object/apply:os.system ['true']"])
def test_xlsform_meta_that_is_not_safe_yaml_is_a_questionnaire_error(tmp_path, value):
    from openpyxl import load_workbook

    q = sv.load_questionnaire(write(tmp_path, "t.yaml", BASE))
    out = tmp_path / "t.xlsx"
    q.to_xlsform(out)
    wb = load_workbook(out)
    ws = wb["_survey_meta"]
    ws.append(["x_bad", value])
    wb.save(out)
    with pytest.raises(QuestionnaireError, match=r"t.xlsx, sheet '_survey_meta', row \d+, key "
                       r"'x_bad': expected a YAML value"):
        sv.load_questionnaire(out)


def _label_formula_form():
    """A form workbook whose question 'age' has its label computed by a formula."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    for row in (["type", "name", "label"], ["integer", "age", '="How old"&" are you?"'],
                ["text", "nm", "Name"]):
        ws.append(row)
    return wb


def test_xlsform_formula_without_a_saved_result_is_refused_not_read_as_blank(tmp_path):
    """D16 for forms: a label formula with no saved result was read as a blank label."""
    path = tmp_path / "f.xlsx"
    _label_formula_form().save(path)  # openpyxl saves no computed result
    with pytest.raises(QuestionnaireError, match=r"found 1 formula\(s\) with no saved result, "
                       r"which would read as blank: sheet 'survey', cell C2: ="
                       r"\"How old\"&\" are you\?\". Hint: open and save the file"):
        sv.load_questionnaire(path)


def _form_declared_a_million_rows(path: Path, *, cached: bool) -> Path:
    """A form whose sheet declares A1:AMJ1048576 (a styled cell in the last row and column,
    as the corpus's UCL_Biomass_Plot_Form has), with one label computed by a formula, saved
    with its result when ``cached`` (as Excel saves it; openpyxl saves none)."""
    import re
    import zipfile

    from openpyxl.styles import Font

    wb = _label_formula_form()
    wb.active.cell(row=1048576, column=1024).font = Font(bold=True)
    raw = path.with_suffix(".tmp.xlsx")
    wb.save(raw)
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if cached and item == "xl/worksheets/sheet1.xml":
                data, n = re.subn(rb'<c r="C2"([^>]*)><f>(.*?)</f>(<v\s*/>|<v></v>)?</c>',
                                  rb'<c r="C2" t="str"><f>\2</f><v>How old are you?</v></c>',
                                  data)
                assert n == 1
            zout.writestr(item, data)
    return path


def test_a_form_declaring_a_million_rows_with_computed_formulas_reads_at_once(tmp_path,
                                                                             monkeypatch):
    # the corpus's UCL form (formulas with results, A1:AMJ1048576) took 62 s: every padded
    # row's 1,024 cells were checked for an uncomputed formula. Formulas that all carry their
    # results (seen in the sheet XML) are not read a second time
    import openpyxl

    path = _form_declared_a_million_rows(tmp_path / "f.xlsx", cached=True)
    modes = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook",
                        lambda *a, **k: modes.append(k.get("data_only")) or real(*a, **k))
    t0 = time.process_time()
    q = sv.read_xlsform(path)
    assert time.process_time() - t0 < 20  # ~0.1 s here; 60 s before
    assert "How old are you?" in str(q.question("age").label)
    assert modes and False not in modes  # the formulas were never read cell by cell


def test_an_uncomputed_formula_in_a_form_declaring_a_million_rows_is_refused_quickly(tmp_path):
    path = _form_declared_a_million_rows(tmp_path / "f.xlsx", cached=False)
    t0 = time.process_time()
    with pytest.raises(QuestionnaireError, match=r"found 1 formula\(s\) with no saved result, "
                       r"which would read as blank: sheet 'survey', cell C2: ="):
        sv.read_xlsform(path)
    assert time.process_time() - t0 < 20  # ~2 s here; 60 s when padded rows were 1,024 wide


@pytest.mark.parametrize(("cell", "suspect"), [
    (b'<c r="A1" t="str"><f>1+1</f><v>2</v></c>', False),
    (b'<x:c r="A1"><x:f>1+1</x:f><x:v>2</x:v></x:c>', False),
    (b'<c r="A1"><f>1+1</f></c>', True),
    (b'<c r="A1" t="str"><f>""</f><v></v></c>', True),
    (b'<c r="A1"><f t="shared" si="0"/><v/></c>', True),
    (b'<c r="A1" s="1"/><c r="B1"><v>3</v></c>', False),
])
def test_which_workbooks_have_formulas_without_results(tmp_path, cell, suspect):
    import zipfile

    from survey.ingest.read import _has_uncached_formulas

    path = tmp_path / "w.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/worksheets/sheet1.xml",
                   b"<worksheet><sheetData><row r=\"1\">" + cell + b"</row></sheetData>"
                   b"</worksheet>")
    assert _has_uncached_formulas(path) is suspect
