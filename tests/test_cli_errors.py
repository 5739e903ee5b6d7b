"""Every CLI failure is one clear message, exit 1 (2 for usage), never a traceback.

Defects D10 (an output over an input) and D13 (OSError tracebacks for bad paths) of the
hostile-input review.
"""

from __future__ import annotations

import pytest

from survey.cli import main

BASE = """\
id: base
title: {en: Base}
languages: {default: en, available: {en: {name: English}}}
choice_lists: {yn: [y, n]}
items:
  - {name: rid, type: text, role: id, label: {en: ID}}
  - {name: sex, type: select_one, list: yn, label: {en: Sex}}
  - {name: age, type: integer, label: {en: Age}, range: [0, 120]}
"""


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "d.csv").write_text("rid,sex,age\n1,y,-5\n", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    return tmp_path


def run(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return code, err


@pytest.mark.parametrize("argv, what", [
    (["convert", "base.yaml", "d.csv", "d.csv"], "the data file itself"),
    (["validate", "base.yaml", "d.csv", "--report", "d.csv"], "the data file itself"),
    (["form", "base.yaml", "-o", "base.yaml"], "the template file itself"),
    (["codebook", "base.yaml", "-o", "./base.yaml"], "the template file itself"),
    (["xlsform", "base.yaml", "base.yaml"], "the template file itself"),
    (["compare-entries", "base.yaml", "d.csv", "d.csv", "--id-column", "rid", "--out",
      "d.csv"], "the first file itself"),
])
def test_an_output_over_an_input_is_refused_and_the_input_kept(inputs, capsys, argv, what):
    before = {p.name: p.read_bytes() for p in inputs.iterdir() if p.is_file()}
    code, err = run(argv, capsys)
    assert code == 1
    assert "expected an output that is not one of the inputs" in err and what in err
    assert {p.name: p.read_bytes() for p in inputs.iterdir() if p.is_file()} == before


def test_output_over_input_through_a_link_is_refused(inputs, capsys):
    (inputs / "link.csv").symlink_to(inputs / "d.csv")
    code, err = run(["convert", "base.yaml", "d.csv", "link.csv"], capsys)
    assert code == 1 and "the data file itself" in err


@pytest.mark.parametrize("argv, message", [
    (["form", "base.yaml", "-o", "/nonexistent/x.html"],
     "/nonexistent/x.html: No such file or directory. Hint: create the folder first"),
    (["form", "base.yaml", "-o", "adir"], "adir: Is a directory. Hint: give a file name"),
    (["codebook", "base.yaml", "-o", "adir"], "adir: Is a directory"),
    (["xlsform", "base.yaml", "/nonexistent/x.xlsx"], "No such file or directory"),
    (["convert", "base.yaml", "d.csv", "adir/"], "expected"),
    (["validate", "base.yaml", "d.csv", "--report", "/nonexistent/p.xlsx"],
     "No such file or directory"),
    (["validate", "base.yaml", "d.csv", "--report", "p.csv"],
     "--report 'p.csv': expected an Excel workbook name ending in .xlsx"),
    (["compare-entries", "base.yaml", "d.csv", "d.csv", "--id-column", "rid", "--out",
      "/nonexistent/x.csv"], "non-existent directory"),
    (["report", "base.yaml", "d.csv", "--out", "afile", "--to", "html"],
     "expected a folder, found a file"),
    (["report", "base.yaml", "d.csv", "--out", "o", "-p", "seed", "1e999"],
     "parameter 'seed': expected a whole number"),
])
def test_bad_paths_and_values_are_one_clear_message(inputs, capsys, argv, message):
    code, err = run(argv, capsys)
    assert code == 1
    assert message in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "base.yaml"])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_an_unexpected_exception_is_one_message_not_a_traceback(inputs, capsys, monkeypatch):
    import survey.questionnaire as q

    def boom(*args, **kw):
        raise TypeError("something underneath")

    monkeypatch.setattr(q, "load_questionnaire", boom)
    monkeypatch.delenv("SURVEY_DEBUG", raising=False)
    code, err = run(["form", "base.yaml"], capsys)
    assert code == 1
    assert "unexpected TypeError: something underneath" in err and "SURVEY_DEBUG=1" in err
