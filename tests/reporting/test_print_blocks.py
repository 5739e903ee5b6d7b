"""A heading and the sentence introducing a table print in one block with the table, kept on
one page when the table is short; a long table is never kept whole (it would leave a blank
page) but still carries its heading."""

from __future__ import annotations

import pandas as pd
import pytest

from survey.reporting import sections


@pytest.fixture
def shown(monkeypatch):
    out: list[str] = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display",
                        lambda obj: out.append(getattr(obj, "data", str(obj))))
    monkeypatch.setattr(sections, "_LEAD", [])
    return out


def test_heading_intro_and_short_table_are_one_kept_block(shown):
    sections.heading("Data <quality>", 2, lead=True)
    sections.show_markdown("16 problems, summarised below.", lead=True)
    sections.show_table(pd.DataFrame({"n": range(5)}), notes=["Base: 5"])
    assert len(shown) == 1
    block = shown[0]
    assert block.startswith("<div class='sv-table sv-keep'><h2>Data &lt;quality&gt;</h2>"
                            "<p>16 problems, summarised below.</p>")
    assert block.index("</p>") < block.index("<table") < block.index("Base: 5")


def test_a_long_table_keeps_its_heading_but_is_not_kept_whole(shown):
    sections.heading("Tests", 2, lead=True)
    sections.show_table(pd.DataFrame({"n": range(sections.KEEP_ROWS + 1)}), keep=True)
    assert len(shown) == 1
    assert shown[0].startswith("<div class='sv-table'><h2>Tests</h2>")


def test_a_waiting_heading_is_shown_before_any_other_output(shown):
    sections.heading("Q1", 4, lead=True)
    sections.show_finding("Not computed.")
    assert shown[0] == "<h4>Q1</h4>" and "Not computed." in shown[1]
    sections.show_table(pd.DataFrame({"n": [1]}))
    assert "<h4>" not in shown[2]  # shown once, not again with the next table
