"""The paper form: page numbers, numbers apart from text, codes not doubled, answer space,
``survey form --pdf`` at A4 in both languages."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import survey as sv

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def q():
    return sv.load_questionnaire("grassroots_training")


def test_page_numbers_and_number_column(q):
    page = sv.render_questionnaire(q, language="en")
    assert re.search(r"@bottom-center\s*\{\s*content:\s*counter\(page\) \" / \" counter\(pages\)",
                     page)
    width = float(re.search(r"\.num \{[^}]*min-width: ([\d.]+)mm", page).group(1))
    assert width >= 9  # "10." and "12." no longer run into the question text


def test_a_code_equal_to_its_label_is_not_printed_twice(q):
    page = sv.render_questionnaire(q, language="en")
    # posts_held: choices labelled "1".."4" coded 1..4 read "□ 1", not "□1 1"
    block = page[page.index("id='q-posts_held'"):]
    block = block[:block.index("</ul>")]
    assert "<span class='code'>1</span>1<" not in block
    assert re.search(r"<span class='box'></span>1</li>", block)
    assert "<span class='code'>5</span>5 or more" in block  # a different label keeps its code


def test_open_questions_get_space_by_expected_length():
    from types import SimpleNamespace as N

    from survey.questionnaire.paper import _text_lines

    assert _text_lines(N(appearance=None, constraint=None)) == 2
    assert _text_lines(N(appearance="multiline", constraint=None)) == 4
    assert _text_lines(N(appearance=None, constraint="string-length(.) <= 500")) == 8
    assert _text_lines(N(appearance=None, constraint="string-length(.) <= 12")) == 0


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists() or shutil.which("pdftotext") is None,
                    reason="needs Debian's chromium and poppler-utils")
@pytest.mark.parametrize("lang, words", [("en", "Thank you"), ("zh-Hant", "謝謝")])
def test_survey_form_pdf_is_a4_with_page_numbers(tmp_path, lang, words, capsys):
    out = tmp_path / f"form-{lang}.pdf"
    args = ["form", "grassroots_training", "--lang", lang, "--pdf", "-o", str(out)]
    if lang == "en":  # in process; the real command line once, for zh-Hant
        from survey.cli import main

        assert main(args) == 0, capsys.readouterr().err
    else:
        run = subprocess.run([sys.executable, "-m", "survey.cli", *args], capture_output=True,
                             text=True, cwd=ROOT, timeout=180)
        assert run.returncode == 0, run.stderr
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert "(A4)" in info and pages >= 2
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True).stdout
    assert words in text
    assert re.search(rf"\b1\s*/\s*{pages}\b", text) and re.search(rf"\b{pages}\s*/\s*{pages}\b", text)
    assert not re.search(r"\b1[0-2]\.[A-Z]", text)  # "10.Is it necessary" in the old form


def test_survey_form_pdf_needs_an_output_file(capsys):
    from survey.cli import main

    code = main(["form", "grassroots_training", "--pdf"])
    assert code != 0 and "-o FILE.pdf" in capsys.readouterr().err


@pytest.mark.parametrize("lang", ["en", "zh-Hant", "zh-Hans"])
def test_range_hints_use_one_catalogue_wording(q, lang):
    """grassroots_years has its own constraint message ("請填寫0–40之間的整數") while other
    numbers got the catalogue's; every range hint now reads the catalogue's wording."""
    from survey.i18n import text

    page = sv.render_questionnaire(q, language=lang)
    hints = re.findall(r"<div class='answer'><span class='line short'></span> "
                       r"<span class='how'>([^<]*)</span>", page)
    assert hints
    pattern = {k: re.escape(text(f"form.{k}", lang, lo="§", hi="§")).replace("§", r"-?[\d.]+")
               for k in ("range", "range_integer")}
    for h in hints:
        assert any(re.fullmatch(p, h) for p in pattern.values()), h
    block = page[page.index("id='q-grassroots_years'"):]
    assert text("form.range_integer", lang, lo=0, hi=40) in block[:block.index("</div>") + 200]
    assert q.text(q.question("grassroots_years").constraint_message, lang) not in page
