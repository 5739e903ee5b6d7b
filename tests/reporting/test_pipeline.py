"""The report pipeline on a tiny notebook that needs no other part of the toolkit:
execution, HTML and PDF export, determinism, failures, the entry points, the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from survey.errors import ReportError
from survey.reporting import render_report
from survey.reporting.exporters import (
    SurveyHTMLExporter,
    language_tag,
    normalize_pdf_dates,
    prepare_notebook,
)

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny_report.ipynb"
HAS_CHROMIUM = shutil.which("chromium") is not None
HAS_POPPLER = shutil.which("pdftotext") is not None


def test_outputs_and_manifest(tiny_build):
    a = tiny_build
    assert a.notebook.name == "tiny.ipynb" and a.html.name == "tiny.html"
    assert a.pdf.name == "tiny.pdf" and a.manifest.name == "tiny.manifest.json"
    m = json.loads(a.manifest.read_text(encoding="utf-8"))
    assert m["questionnaire"]["file"] == "tiny.yaml" and len(m["questionnaire"]["sha256"]) == 64
    assert m["responses"]["file"] == "tiny.csv"
    assert m["parameters"]["title"] == "小調查報告" and m["parameters"]["language"] == "zh-Hant"
    assert {"pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "pingouin",
            "nbconvert", "papermill", "survey"} <= set(m["packages"])
    assert set(m["outputs"]) == {"tiny.html", "tiny.pdf"}
    assert set(a.timings) >= {"execute", "html", "pdf", "total"}


def test_manifest_is_shown_in_the_appendix_without_directories(tiny_build):
    a = tiny_build
    html = a.html.read_text(encoding="utf-8")
    assert "tiny.csv" in html and json.loads(a.manifest.read_text())["questionnaire"]["sha256"] in html
    assert str(a.html.parent) not in html and "/tmp" not in html


def test_html_is_self_contained_and_tagged(tiny_build):
    html = tiny_build.html.read_text(encoding="utf-8")
    assert '<html lang="zh-Hant">' in html
    assert "<title>小調查報告</title>" in html
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:|url\(\s*["']?https?:""", html)
    assert "Noto Sans CJK TC" in html and "@bottom-center" in html
    assert "break-inside: avoid" in html and "table-header-group" in html
    # parameter cell and code hidden; ids stable
    assert "questionnaire = " not in html and "import matplotlib" not in html
    assert 'id="cell-id=cell-1"' in html


@pytest.mark.skipif(not (HAS_CHROMIUM and HAS_POPPLER), reason="needs chromium and poppler")
def test_pdf_fonts_embedded_and_text_extractable(tiny_build):
    pdf = tiny_build.pdf
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows, fonts
    for row in rows:  # 'emb' column: every font embedded
        assert re.search(r"\s(yes)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", row), row
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "小調查報告" in text
    assert "75.0% 的受訪者回答「是」" in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+2\b", info)  # page 1: text+chart; page 2: manifest
    assert "(A4)" in info
    assert re.search(r"1\s*/\s*2", text) and re.search(r"2\s*/\s*2", text)


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(ReportError, match="report notebook 'standrd'.*did you mean 'standard'"):
        render_report(DATA / "tiny.yaml", DATA / "tiny.csv", notebook="standrd", output_dir=tmp_path)
    with pytest.raises(ReportError, match="responses '.*nope.csv': expected an existing data file"):
        render_report(DATA / "tiny.yaml", tmp_path / "nope.csv", notebook=TINY, output_dir=tmp_path)
    with pytest.raises(ReportError, match="expected some of html, pdf, weasy, found docx"):
        render_report(DATA / "tiny.yaml", DATA / "tiny.csv", notebook=TINY, formats=["docx"])


def test_language_tags():
    assert [language_tag(x) for x in ("zh-Hant", "zh-Hans", "en", "zh-TW", None)] == [
        "zh-Hant", "zh-Hans", "en", "zh-Hant", "en"]


def test_prepare_notebook_drops_parameter_cells_and_renumbers():
    import nbformat

    nb = nbformat.read(TINY, as_version=4)
    inj = nbformat.v4.new_code_cell("x = 1")
    inj.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(1, inj)
    out = prepare_notebook(nb)
    assert len(out.cells) == len(nb.cells) - 2
    assert [c.id for c in out.cells] == [f"cell-{i}" for i in range(1, len(out.cells) + 1)]
    assert len(nb.cells) == 7  # input untouched


def test_html_lang_follows_notebook_metadata():
    import nbformat

    nb = nbformat.read(TINY, as_version=4)
    for lang, tag in (("zh-Hans", "zh-Hans"), ("en", "en"), ("zh-Hant", "zh-Hant")):
        nb.metadata["survey"] = {"language": lang, "title": "T"}
        html, _ = SurveyHTMLExporter().from_notebook_node(nb)
        assert f'<html lang="{tag}">' in html


def test_normalize_pdf_dates_keeps_length():
    raw = b"1 0 obj <</CreationDate (D:20261123104500+00'00') /ModDate (D:20261123104501+00'00')>>"
    out = normalize_pdf_dates(raw)
    assert len(out) == len(raw) and b"2026" not in out and out.count(b"D:20000101000000") == 2


@pytest.mark.skipif(not HAS_CHROMIUM, reason="needs chromium")
def test_nbconvert_entry_points(tiny_build, tmp_path):
    from nbconvert.exporters import get_export_names, get_exporter

    names = get_export_names()
    assert {"survey_html", "survey_pdf", "survey_weasy"} <= set(names)
    assert get_exporter("survey_pdf").__name__ == "SurveyPDFExporter"
    nb = tiny_build.notebook
    subprocess.run(
        [str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--to", "survey_pdf",
         str(nb), "--output-dir", str(tmp_path), "--output", "via_cli"],
        check=True, capture_output=True, timeout=300,
    )
    assert (tmp_path / "via_cli.pdf").read_bytes() == tiny_build.pdf.read_bytes()


def test_weasyprint_fallback_is_deterministic(tiny_build):
    pytest.importorskip("weasyprint")
    import nbformat

    from survey.reporting.exporters import SurveyWeasyExporter

    nb = nbformat.read(tiny_build.notebook, as_version=4)
    a, _ = SurveyWeasyExporter().from_notebook_node(nb)
    b, _ = SurveyWeasyExporter().from_notebook_node(nb)
    assert a[:5] == b"%PDF-" and a == b


def test_missing_chromium_falls_back_to_weasyprint(tiny_build, monkeypatch, capsys):
    pytest.importorskip("weasyprint")
    import nbformat

    from survey.reporting.exporters import SurveyPDFExporter

    monkeypatch.setenv("SURVEY_CHROMIUM", "/nonexistent/chromium")
    nb = nbformat.read(tiny_build.notebook, as_version=4)
    pdf, res = SurveyPDFExporter().from_notebook_node(nb)
    assert pdf[:5] == b"%PDF-" and res["survey"]["pdf_engine"] == "weasyprint"
    assert "Chromium not found" in capsys.readouterr().out


def test_missing_cjk_font_names_the_debian_package(monkeypatch):
    from survey.errors import SurveyWarning
    from survey.reporting import exporters

    monkeypatch.setattr(exporters, "cjk_font_installed", lambda: False)
    monkeypatch.setattr(exporters, "_CJK_WARNED", False)
    with pytest.warns(SurveyWarning, match="apt-get install fonts-noto-cjk"):
        exporters.check_cjk_font("zh-Hant")


def test_cli_report(tmp_path):
    from survey.cli import main

    code = main(["report", str(DATA / "tiny.yaml"), str(DATA / "tiny.csv"), "--out",
                 str(tmp_path), "--to", "html", "--lang", "en", "--notebook", str(TINY),
                 "-p", "title", "Tiny", "--no-progress"])
    assert code == 0
    html = (tmp_path / "tiny.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "<title>Tiny</title>" in html
