"""Chart sizes for print: a report shows each figure at its 180 mm text width (A4, margins
16/18 mm top/bottom, 15 mm left/right), so a chart's height decides whether it fits under the
text before it. Heights come from the content (title lines, bar rows, wrapped labels, legend
rows), and print readably: bars not squashed, no text under 7 pt once scaled to the page,
the legend clear of the axis label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survey.charts as ch

TEXT_WIDTH_IN = 180 / 25.4  # what the report's print CSS gives a chart
PAGE_BODY_IN = (297 - 16 - 18) / 25.4  # the A4 content height under the @page margins
MIN_PT = 7.0  # smallest printed text size we accept


def _frame(rows: int, labels: list[str], groups: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    n = 200
    return pd.DataFrame({
        "q": pd.Categorical.from_codes(rng.integers(0, rows, n), labels, ordered=True),
        "g": pd.Categorical.from_codes(rng.integers(0, groups, n),
                                       [f"group {i}" for i in range(groups)]),
    })


def _printed(fig):
    """(scale, printed height in inches, renderer) of ``fig`` saved with a tight bbox (as
    the report kernel's inline backend saves it) and shrunk to the text width."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    r = fig.canvas.get_renderer()
    box = fig.get_tightbbox(r)  # inches
    scale = min(1.0, TEXT_WIDTH_IN / box.width)
    return scale, box.height * scale, r


def _check_readable(fig, rows: int, scale: float, r) -> None:
    ax = fig.axes[0]
    per_row = ax.get_window_extent(r).height / fig.dpi / rows
    assert per_row >= 0.22, f"bars squashed: {per_row:.2f} in per row"
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))
             if getattr(t, "get_text", lambda: "")() and t.get_visible()]
    assert min(sizes) * scale >= MIN_PT, (min(sizes), scale)
    label = ax.xaxis.label.get_window_extent(r)
    for lg in fig.legends:
        assert not lg.get_window_extent(r).overlaps(label), "legend over the axis label"
    for t in ax.get_xticklabels():
        for lg in fig.legends:
            assert not lg.get_window_extent(r).overlaps(t.get_window_extent(r))
    # wrapped category labels keep a visible gap (4 pt) between them
    ys = sorted((b.y0, b.y1) for b in (t.get_window_extent(r) for t in ax.get_yticklabels()
                                       if t.get_text()))
    gaps = [(lo2 - hi1) / fig.dpi * 72 for (_, hi1), (lo2, _) in zip(ys, ys[1:])]
    assert min(gaps, default=99) >= 4, f"category labels {min(gaps):.1f} pt apart"


CJK = "培訓內容貼近基層實際針對性強對日常工作幫助很大"


@pytest.mark.parametrize("kind", ["bar", "stacked", "likert"])
@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_a_five_row_chart_prints_in_under_a_third_of_the_page_body(kind, lang):
    """Five bars (the common case in our reports) with a two-line title take at most a third
    of the page body, so they fit under a table of that size instead of moving to the next page
    and leaving that much white behind (they took 39-42 % before)."""
    labels = ([f"answer number {i} of five" for i in range(5)] if lang == "en"
              else [CJK[i:i + 6 + 2 * i] for i in range(5)])
    title = ("A question long enough to wrap onto a second line of the chart title, as many "
             "survey questions do" if lang == "en" else CJK * 2)
    df = _frame(5, labels)
    if kind == "bar":
        fig, rows = ch.bar_chart(df, "q", language=lang, title=title), 5
    elif kind == "stacked":
        fig, rows = ch.crosstab_chart(df, "q", by="g", kind="stacked", language=lang,
                                      title=title, suppress_below=5), 4
    else:
        items = pd.DataFrame({f"i{j}": df["q"].sample(frac=1, random_state=j).to_numpy()
                              for j in range(5)})
        fig, rows = ch.likert_chart(items, list(items.columns), language=lang, title=title), 5
    scale, height, r = _printed(fig)
    assert height <= PAGE_BODY_IN / 3, f"{height / PAGE_BODY_IN:.0%} of the page body"
    _check_readable(fig, rows, scale, r)


def test_height_follows_the_number_of_bars_not_a_fixed_size():
    few = ch.bar_chart(_frame(2, ["a", "b"]), "q", language="en")
    many = ch.bar_chart(_frame(10, [f"c{i}" for i in range(10)]), "q", language="en")
    h2, h10 = few.get_figheight(), many.get_figheight()
    assert h10 - h2 == pytest.approx(8 * 0.30, abs=0.02)  # one bar row each
    assert h2 < 2.2  # a two-answer chart is small


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(1, 12), words=st.integers(1, 9), cjk=st.booleans(),
       stacked=st.booleans())
def test_any_chart_is_readable_and_wastes_no_height(rows, words, cjk, stacked):
    """Invariant over the number of bars and the length of their labels (wrapped onto
    several lines): bars keep their height, labels keep apart, text stays readable, the
    legend stays clear, and the bars take no more height than their labels need (0.30 in
    a row for one line, 0.19 in a line beyond; 0.12 in of tolerance in all)."""
    labels = [((CJK * 2)[:2 * words + i] if cjk else " ".join(["word"] * words) + f" {i}")
              for i in range(rows)]
    df = _frame(rows, labels, groups=3)
    lang = "zh-Hant" if cjk else "en"
    if stacked:
        fig = ch.crosstab_chart(df, "g", by="q", kind="stacked", language=lang)
    else:
        fig = ch.bar_chart(df, "q", language=lang)
    scale, height, r = _printed(fig)
    _check_readable(fig, rows, scale, r)
    lines = max(t.get_text().count("\n") + 1 for t in fig.axes[0].get_yticklabels())
    bars = fig.axes[0].get_window_extent(r).height / fig.dpi
    assert bars <= rows * max(0.30, 0.19 * lines + 0.06) + 0.12, (bars, rows, lines)


def test_twelve_one_line_bars_take_under_half_the_page_body():
    fig = ch.bar_chart(_frame(12, [f"answer {i}" for i in range(12)]), "q", language="en")
    _, height, _ = _printed(fig)
    assert height <= 0.45 * PAGE_BODY_IN, f"{height / PAGE_BODY_IN:.0%}"


@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_a_five_point_scale_keeps_its_legend_in_one_row_within_the_figure(lang):
    """The Likert legend reads left to right like the bars (one row), and is no wider than
    the figure (a wider one widens the saved image and shrinks the whole printed chart)."""
    cats = (["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree",
             "Strongly agree"] if lang == "en" else ["非常不同意", "不同意", "一般", "同意", "非常同意"])
    rng = np.random.default_rng(3)
    items = pd.DataFrame({f"item {j}": pd.Categorical.from_codes(rng.integers(0, 5, 80), cats,
                                                                 ordered=True)
                          for j in range(4)})
    fig = ch.likert_chart(items, list(items.columns), language=lang)
    scale, _, r = _printed(fig)
    texts = fig.legends[0].get_texts()
    boxes = [t.get_window_extent(r) for t in texts]
    assert len(boxes) == 5
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:])), "keys not in one row"
    assert fig.get_tightbbox(r).width <= fig.get_figwidth() + 0.05
    _check_readable(fig, 4, scale, r)


@settings(max_examples=60, deadline=None)
@given(words=st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=8), min_size=1,
                      max_size=30), width=st.integers(10, 80))
def test_balanced_wrapping_never_costs_a_line(words, width):
    """wrap_text balances line lengths, but never uses more lines than filling each line up
    to ``width`` would (a subtitle of two full lines was printed on three), keeps every line
    within ``width`` and every word whole."""
    from survey.charts._theme import _fill, _tokens, text_width

    text = " ".join(words)
    lines = ch.wrap_text(text, width).split("\n")
    assert len(lines) <= len(_fill(_tokens(text), width))
    assert all(text_width(line) <= width for line in lines)
    assert " ".join(lines).split() == words


def test_the_likert_subtitle_wraps_onto_two_lines_not_three():
    sub = ("Sorted by the share right of the centre (towards “Strongly agree”), items as "
           "answered; base: 120 respondents")  # 107 columns: two lines of at most 80
    assert ch.wrap_text(sub, 80).count("\n") == 1
