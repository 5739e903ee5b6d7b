"""What people see in notebooks: one number formatter, key numbers in the HTML, short reprs."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import survey as sv
from survey.core.result import format_column, frame_to_html, frame_to_markdown


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=30))
def test_percent_columns_have_one_decimal_and_round_correctly(values):
    out = format_column("%", values)
    assert all(_decimals(t) == 1 for t in out)
    for v, t in zip(values, out):
        assert abs(float(t.replace(",", "")) - v) <= 0.05 + 1e-9


@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=30),
       st.sampled_from(["mean", "estimate", "se", "statistic", "n_weighted"]))
def test_every_column_has_one_number_of_decimals(values, name):
    out = format_column(name, values)
    assert len({_decimals(t) for t in out}) == 1, out


def test_the_reported_false_precision_is_gone():
    # trial: 95.42 -> "95.40" and 66.67 -> "66.70" beside "100" and "98" in one column
    frame = pd.DataFrame({"%": [95.4167, 66.6667, 100.0, 98.0], "n": [125, 12, 37, 97]})
    html = frame_to_html(frame)
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert cells == ["95.4", "125", "66.7", "12", "100.0", "37", "98.0", "97"]
    assert "| 95.4 | 125 |" in frame_to_markdown(frame)


def test_p_values_and_weighted_counts():
    assert format_column("p_value", [0.0001, 0.04999, 0.5]) == ["<.001", "0.050", "0.500"]
    assert format_column("n", [16.7, 3.05, 1.0]) == ["16.7", "3.0", "1.0"]
    assert format_column("n", [1234.0, 3.0]) == ["1,234", "3"]


@pytest.fixture(scope="module")
def scale_data():
    rng = np.random.default_rng(5)
    base = rng.integers(1, 6, 200)
    cols = {f"i{k}": np.clip(base + rng.integers(-1, 2, 200), 1, 5) for k in range(4)}
    return pd.DataFrame(cols)


def test_reliability_html_shows_alpha_ci_and_omega(scale_data):
    r = sv.reliability(scale_data, items=list(scale_data.columns))
    html = r._repr_html_()
    for value in (r.alpha, r.ci_low, r.ci_high, r.omega):
        assert f"{value:.3f}" in html
    assert "Cronbach" in html and "omega" in html
    assert f"{r.alpha:.3f}" in r._repr_markdown_()


def test_likert_distribution_is_shown_as_percentages(scale_data):
    lk = sv.likert(scale_data, items=list(scale_data.columns))
    md = lk._repr_markdown_()
    row = next(line for line in md.splitlines() if line.startswith("| i0 "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    k = lk.distribution.shape[1]
    assert all(_decimals(c) == 1 for c in cells[1:1 + k]), cells


def test_to_xlsform_returns_a_short_object(tmp_path):
    q = sv.load_questionnaire("grassroots_training")
    sheets = q.to_xlsform(tmp_path / "form.xlsx")
    assert (tmp_path / "form.xlsx").exists() and sheets.path == tmp_path / "form.xlsx"
    text = repr(sheets)
    assert text.startswith("<XLSForm form.xlsx: survey ") and len(text) < 120
    assert sheets["survey"] and isinstance(sheets["survey"][0], dict)  # still the sheets
    from IPython.core.interactiveshell import InteractiveShell

    data, _ = InteractiveShell.instance().display_formatter.format(sheets)
    assert data["text/plain"] == text
