"""Where page breaks fall in the printed report (Chromium, A4), read back from the PDF with
pdftotext page by page: a heading stays with the first rows of its table, a long table breaks
instead of moving whole to the next page (leaving half a page empty), and a chart is not glued
to the table before it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from survey.reporting import exporters, sections

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(exporters.find_chromium() is None, reason="needs Chromium to print"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)"),
]

def _box(height_px: float) -> str:
    """An image 600 px wide and ``height_px`` high (its own aspect ratio, so CSS that sets
    ``height: auto`` keeps the height)."""
    import base64

    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' width='600' height='{height_px:.0f}'>"
           f"<rect width='600' height='{height_px:.0f}' fill='#ddd'/></svg>").encode()
    return (f"<img alt='box' src='data:image/svg+xml;base64,{base64.b64encode(svg).decode()}' "
            f"width='600' height='{height_px:.0f}'>")


def FILLER(mm: float) -> str:  # noqa: N802 - a block of known height (96 px per inch)
    return f"<p>filler</p>{_box(mm * 96 / 25.4)}"


def _blocks(monkeypatch, build) -> list[str]:
    """The HTML outputs that ``build()`` shows through the report's display helpers."""
    out: list[str] = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display",
                        lambda obj: out.append(getattr(obj, "data", None) or ""))
    monkeypatch.setattr(sections, "_LEAD", [])
    build()
    return out


def _pages(outputs: list[str], tmp_path: Path) -> list[str]:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["survey"] = {"language": "en", "title": "Layout"}
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output(  # headings come as Markdown, the rest as HTML
        "display_data", data={"text/markdown" if h.startswith("#") else "text/html": h})
        for h in outputs]
    nb.cells = [cell]
    html, _ = exporters.SurveyHTMLExporter().from_notebook_node(nb)
    pdf = tmp_path / "layout.pdf"
    pdf.write_bytes(exporters.chromium_print(html, chromium=exporters.find_chromium()))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")


def _page_of(pages: list[str], needle: str) -> int:
    hits = [i for i, p in enumerate(pages) if needle in p]
    assert hits, f"{needle!r} not printed"
    return hits[0]


def test_a_heading_prints_with_the_first_rows_of_a_long_table(monkeypatch, tmp_path):
    rows = pd.DataFrame({"answer": [f"row{i:02d}" for i in range(1, 31)], "n": range(1, 31)}
                        ).set_index("answer")

    def build():
        sections.show_html(FILLER(150))
        sections.heading("Heading of the long table", 4, lead=True)
        sections.show_table(rows, notes=["Base: the note under the table"], keep=True)

    pages = _pages(_blocks(monkeypatch, build), tmp_path)
    first = _page_of(pages, "Heading of the long table")
    assert first == 0, "the heading moved to the next page with its whole table"
    # with the heading: the header and at least the first three rows, never a lone heading
    for r in ("row01", "row02", "row03"):
        assert _page_of(pages, r) == first
    last = _page_of(pages, "row30")
    assert last > first  # the table breaks across pages ...
    assert _page_of(pages, "row29") == last  # ... never leaving its last row alone
    assert _page_of(pages, "the note under the table") == last
    assert "answer" in pages[last] and "row30" in pages[last]  # the header repeats


def test_a_chart_is_not_glued_to_the_short_table_before_it(monkeypatch, tmp_path):
    small = pd.DataFrame({"answer": ["Yes", "No"], "n": [10, 20]}).set_index("answer")
    chart = f"{_box(500)}<p>after the chart</p>"

    def build():
        sections.show_html(FILLER(170))
        sections.heading("Heading of the short table", 4, lead=True)
        sections.show_table(small, notes=["Base: 30"], keep=True)
        sections.show_html(chart)

    pages = _pages(_blocks(monkeypatch, build), tmp_path)
    # the table fits under the filler; the tall chart does not and goes on alone
    assert _page_of(pages, "Heading of the short table") == 0
    assert _page_of(pages, "Base: 30") == 0
    assert _page_of(pages, "after the chart") == 1


def test_a_finding_sentence_is_never_split_across_pages(monkeypatch, tmp_path):
    sentence = ("The share answering “Yes” differs significantly between the groups; "
                "the highest is among the first group and the lowest among the last one, "
                "with the p-value adjusted for multiple comparisons (Holm). ") * 2

    def build():
        sections.show_html(FILLER(228))
        sections.show_finding(sentence + "LAST WORDS.")
        sections.show_html("<div class='sv-page-break'></div><h2>Appendix</h2>")

    pages = _pages(_blocks(monkeypatch, build), tmp_path)
    first, last = _page_of(pages, "The share answering"), _page_of(pages, "LAST WORDS")
    assert first == last


def test_a_page_break_never_prints_a_blank_page(monkeypatch, tmp_path):
    """The appendix starts a new page; when the content before it fills its page exactly
    (26 short paragraphs here), the break must not leave an empty page in between."""
    for n in (25, 26, 27):  # 26 fills the page exactly (A4, this CSS)
        def build(n=n):
            sections.show_html("".join(f"<p>line {k}</p>" for k in range(n)))
            sections.show_html("<div class='sv-page-break'></div>")
            sections.heading("Appendix", 2)

        pages = _pages(_blocks(monkeypatch, build), tmp_path)
        pages = [p for p in pages if p.strip()]
        blank = [i for i, p in enumerate(pages) if re.fullmatch(r"\s*\d+\s*/\s*\d+\s*", p)]
        assert blank == [], (n, [p.count("line ") for p in pages])
        assert "Appendix" in pages[-1] and "line" not in pages[-1]


def test_a_table_introduction_is_not_split_from_its_heading_or_itself(monkeypatch, tmp_path):
    """The flagship printed 交叉分析 and the first line of its introduction at the foot of a
    page and the last two characters of that sentence on the next."""
    rows = pd.DataFrame({"answer": [f"row{i:02d}" for i in range(1, 41)], "n": range(1, 41)}
                        ).set_index("answer")
    intro = "FIRST " + "words of the introduction to the table " * 6 + " LAST."

    def build():
        sections.show_html("".join(f"<p>line {k}</p>" for k in range(22)))
        sections.heading("Cross-tabulations", 2, lead=True)
        sections.show_markdown(intro, lead=True)
        sections.show_table(rows, keep=True)

    pages = _pages(_blocks(monkeypatch, build), tmp_path)
    where = {w: _page_of(pages, w) for w in ("Cross-tabulations", "FIRST", "LAST.", "row03")}
    assert len(set(where.values())) == 1, where


def test_an_image_taller_than_the_page_prints_whole_and_undistorted(tmp_path):
    """A figure taller than the page body (a user's own chart in a report notebook) is scaled
    down to fit one page, keeping its proportions, instead of being cut at the page foot."""
    import base64

    import nbformat
    import numpy as np
    from PIL import Image

    svg = (b"<svg xmlns='http://www.w3.org/2000/svg' width='600' height='1800'>"
           b"<rect width='600' height='1800' fill='#333'/></svg>")
    img = f"<img alt='tall' src='data:image/svg+xml;base64,{base64.b64encode(svg).decode()}'>"
    nb = nbformat.v4.new_notebook()
    nb.metadata["survey"] = {"language": "en", "title": "Tall"}
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": img})]
    nb.cells = [cell]
    html, _ = exporters.SurveyHTMLExporter().from_notebook_node(nb)
    pdf = tmp_path / "tall.pdf"
    pdf.write_bytes(exporters.chromium_print(html, chromium=exporters.find_chromium()))
    subprocess.run(["pdftoppm", "-r", "40", "-gray", "-png", str(pdf), str(tmp_path / "p")],
                   check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 1
    dark = np.argwhere(np.asarray(Image.open(pages[0]).convert("L")) < 100)
    (y0, x0), (y1, x1) = dark.min(axis=0), dark.max(axis=0)
    assert (y1 - y0 + 1) / (x1 - x0 + 1) == pytest.approx(3.0, rel=0.05)  # 600 x 1800
