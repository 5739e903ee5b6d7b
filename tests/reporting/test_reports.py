"""The real report notebooks: the standard report for every shipped template in three languages
(HTML), the flagship in PDF (fonts, text, page count) and byte-identical rebuilds."""

from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
import pytest

import survey as sv
from survey.reporting import render_report

pytestmark = pytest.mark.slow

LANGS = ("zh-Hant", "zh-Hans", "en")
HEADINGS = {"zh-Hant": ("方法說明", "附錄"), "zh-Hans": ("方法说明", "附录"),
            "en": ("Methods", "Appendix")}
HAS_PDF_TOOLS = shutil.which("chromium") is not None and shutil.which("pdftotext") is not None


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    out = {}
    for tid in sv.list_templates():
        q = sv.load_questionnaire(tid)
        path = root / f"{tid}.csv"
        sv.synthesize(q, n=240, seed=11).to_csv(path, index=False)
        out[tid] = path
    return out


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize("template", sv.list_templates())
def test_standard_report_builds_for_every_template(template, language, datasets, tmp_path):
    r = render_report(template, datasets[template], output_dir=tmp_path, formats=["html"],
                      language=language, progress=False)
    html = r.html.read_text(encoding="utf-8")
    q = sv.load_questionnaire(template)
    title = q.text(q.title, language)
    assert f'<html lang="{language}">' in html
    assert f"<title>{title}</title>" in html
    for h in HEADINGS[language]:
        assert f">{h}<" in html
    assert "<script" not in html and "Traceback" not in html
    assert "sv-finding" in html  # at least one finding sentence
    assert str(tmp_path) not in html


@pytest.fixture(scope="module")
def flagship(datasets, tmp_path_factory):
    a = render_report("grassroots_training", datasets["grassroots_training"],
                      notebook="grassroots_training", language="zh-Hant",
                      output_dir=tmp_path_factory.mktemp("f1"), progress=False)
    b = render_report("grassroots_training", datasets["grassroots_training"],
                      notebook="grassroots_training", language="zh-Hant",
                      output_dir=tmp_path_factory.mktemp("f2") / "other", progress=False)
    return a, b


def test_flagship_rebuild_is_byte_identical(flagship):
    a, b = flagship
    assert a.html.read_bytes() == b.html.read_bytes()
    assert a.pdf.read_bytes() == b.pdf.read_bytes()


@pytest.mark.skipif(not HAS_PDF_TOOLS, reason="needs chromium and poppler-utils")
def test_flagship_pdf_fonts_text_and_pages(flagship, datasets):
    pdf = flagship[0].pdf
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(re.search(r"\syes\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", r) for r in rows)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    q = sv.load_questionnaire("grassroots_training")
    assert q.text(q.title, "zh-Hant") in text
    # a known percentage: the response rate from the template's fieldwork counts (366 / 400)
    fw = q.fieldwork
    assert f"{100 * fw.returned / fw.issued:.1f}%" == "91.5%"
    assert "回收率 91.5%" in text
    # and the unweighted sample count of a rank group, from the raw file (weighting table)
    raw = pd.read_csv(datasets["grassroots_training"], dtype=str)
    assert str(int((raw["rank_level"] == "1").sum())) in text
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))
    assert 6 <= pages <= 40
    assert re.search(rf"1\s*/\s*{pages}", text)


def test_flagship_states_weighting_and_correction(flagship):
    html = flagship[0].html.read_text(encoding="utf-8")
    assert "中層幹部" in html and "後備幹部" in html and "1,447" in html
    assert "Holm" in html
    assert "受訪者認為年輕幹部到基層鍛煉有必要" in html
