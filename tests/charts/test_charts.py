"""Charts: figures, labels in the chosen language, no tofu, no pyplot leaks, reproducible SVG."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import survey.charts as ch
from survey.core.survey import Survey, VarInfo
from survey.errors import AnalysisError

AGREE = {
    "zh-Hant": ("非常不同意", "不同意", "一般", "同意", "非常同意"),
    "en": ("Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"),
}
ITEMS = {
    "att_1": {"zh-Hant": "培訓內容貼近基層實際，針對性強，對日常工作幫助很大",
              "en": "Training content fits grassroots work"},
    "att_2": {"zh-Hant": "下派到基層的幹部常被當作「客人」", "en": "Cadres sent down are guests"},
}
NEED = {"zh-Hant": ("有必要", "沒有必要", "說不清"), "en": ("Necessary", "Not necessary",
                                                         "Hard to say")}
RANK = {"zh-Hant": ("正科級", "副科級", "其他"), "en": ("Section head", "Deputy", "Other")}
GAINS = {"zh-Hant": ("增長做群眾工作和處理複雜事務的能力", "增強群眾觀念", "其他"),
         "en": ("Mass work skills", "Closeness to the people", "Other")}
LABELS = {
    "necessity": {"zh-Hant": "您認為年輕幹部到基層鍛煉有沒有必要？",
                  "en": "Is grassroots training necessary?"},
    "rank": {"zh-Hant": "您的職級", "en": "Your rank"},
    "gains": {"zh-Hant": "最大收穫（最多選兩項）", "en": "Main gains (up to two)"},
}


class Scale:
    items = ("att_1", "att_2")
    label = {"zh-Hant": "對基層培養的評價", "en": "View of grassroots training"}


class Stub:
    """A tiny questionnaire: var_info in two languages, one scale."""

    default_language = "zh-Hant"
    scales = {"attitude": Scale()}

    def var_info(self, name, language=None):
        lang = "en" if language == "en" else "zh-Hant"  # zh-Hans falls back to zh-Hant here
        if name in ITEMS:
            return VarInfo(name, ITEMS[name][lang], "single", AGREE[lang], ("1", "2", "3", "4",
                           "5"), True, (name,), "ordinal")
        if name == "necessity":
            return VarInfo(name, LABELS[name][lang], "single", NEED[lang], ("1", "2", "3"),
                           False, (name,))
        if name == "rank":
            return VarInfo(name, LABELS[name][lang], "single", RANK[lang], ("1", "2", "3"),
                           True, (name,), "ordinal")
        if name == "gains":
            return VarInfo(name, LABELS[name][lang], "multi", GAINS[lang], ("a", "b", "c"),
                           False, ("gains_a", "gains_b", "gains_c"))
        return None


class Unit:
    def __init__(self, uid, zh, en, issued, returned):
        self.id, self.label, self.issued, self.returned = uid, {"zh-Hant": zh, "en": en}, \
            issued, returned


class Fieldwork:
    units = (Unit("city", "市直機關", "City departments", 100, 92),
             Unit("town", "鄉鎮（街道）", "Townships", 120, 109))


Stub.fieldwork = Fieldwork()


@pytest.fixture(scope="module")
def survey_zh() -> Survey:
    rng = np.random.default_rng(3)
    n = 200
    data = {
        "necessity": pd.Categorical.from_codes(rng.choice(3, n, p=[0.8, 0.1, 0.1]),
                                               NEED["zh-Hant"]),
        "rank": pd.Categorical.from_codes(rng.choice(3, n), RANK["zh-Hant"], ordered=True),
        "w": rng.uniform(0.5, 2, n),
    }
    for it in ITEMS:
        data[it] = pd.Categorical.from_codes(rng.choice(5, n), AGREE["zh-Hant"], ordered=True)
    for o in "abc":
        data[f"gains_{o}"] = pd.array(rng.random(n) < 0.4, dtype="boolean")
    df = pd.DataFrame(data)
    df.loc[:4, ["gains_a", "gains_b", "gains_c"]] = pd.NA
    return Survey.from_frame(df, questionnaire=Stub())


def texts(fig) -> str:
    out = []
    for t in fig.findobj(lambda a: hasattr(a, "get_text")):
        out.append(t.get_text())
    return "".join("".join(x.split()) for x in out)  # whitespace and line breaks removed


CHARTS = {
    "bar": lambda s, lang: ch.bar_chart(s, "necessity", language=lang),
    "multi": lambda s, lang: ch.multi_response_chart(s, "gains", language=lang),
    "likert": lambda s, lang: ch.likert_chart(s, scale="attitude", language=lang),
    "grouped": lambda s, lang: ch.crosstab_chart(s, "necessity", by="rank", language=lang),
    "stacked": lambda s, lang: ch.crosstab_chart(s, "necessity", by="rank", kind="stacked",
                                                 language=lang),
    "heatmap": lambda s, lang: ch.residual_heatmap(s, "necessity", by="rank", language=lang),
    "response": lambda s, lang: ch.response_rate_chart(s.questionnaire, language=lang),
}
EXPECTED = {
    "bar": lambda lang: [LABELS["necessity"][lang], *NEED[lang]],
    "multi": lambda lang: [LABELS["gains"][lang], *GAINS[lang]],
    "likert": lambda lang: [Scale.label[lang], ITEMS["att_2"][lang], *AGREE[lang]],
    "grouped": lambda lang: [LABELS["necessity"][lang], *NEED[lang], *RANK[lang]],
    "stacked": lambda lang: [LABELS["necessity"][lang], *NEED[lang], *RANK[lang]],
    "heatmap": lambda lang: [LABELS["necessity"][lang], *NEED[lang], *RANK[lang]],
    "response": lambda lang: [u.label[lang] for u in Fieldwork.units],
}


@pytest.mark.parametrize("lang", ["zh-Hant", "en"])
@pytest.mark.parametrize("kind", list(CHARTS))
def test_chart_is_a_figure_with_labels_and_no_missing_glyphs(survey_zh, kind, lang):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    before = plt.get_fignums()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would fail here
        fig = CHARTS[kind](survey_zh, lang)
        assert isinstance(fig, Figure)
        fig.savefig(io.BytesIO(), format="png", dpi=40)
    assert plt.get_fignums() == before  # nothing registered with pyplot
    text = texts(fig)
    for label in EXPECTED[kind](lang):
        assert "".join(label.split()) in text, label


def test_cjk_font_follows_the_language(survey_zh):
    fig = ch.bar_chart(survey_zh, "necessity", language="zh-Hant")
    fam = fig.axes[0].get_yticklabels()[0].get_fontfamily()
    assert fam[0] == "Noto Sans CJK TC"
    fig = ch.bar_chart(survey_zh, "necessity", language="zh-Hans")
    assert fig.axes[0].get_yticklabels()[0].get_fontfamily()[0] == "Noto Sans CJK SC"


@pytest.mark.parametrize("kind", ["likert", "heatmap", "multi"])
def test_svg_is_byte_identical(survey_zh, kind):
    out = []
    for _ in range(2):
        buf = io.BytesIO()
        ch.save_figure(CHARTS[kind](survey_zh, "zh-Hant"), buf, format="svg")
        out.append(buf.getvalue())
    assert out[0] == out[1]
    assert b"<dc:date>" not in out[0]


def test_plain_savefig_after_set_theme_is_reproducible(survey_zh):
    ch.set_theme("zh-Hant")
    out = []
    for _ in range(2):
        buf = io.BytesIO()
        ch.bar_chart(survey_zh, "necessity").savefig(buf, format="svg")
        out.append(buf.getvalue())
    assert out[0] == out[1]


def test_bar_chart_percent_and_weighting(survey_zh):
    fig = ch.bar_chart(survey_zh, "necessity", language="en")
    heights = sorted(round(p.get_width(), 6) for p in fig.axes[0].patches)
    codes = survey_zh.data["necessity"].cat.codes.to_numpy()
    expect = sorted(round(v, 6) for v in np.bincount(codes, minlength=3) / len(codes) * 100)
    assert heights == expect
    sw = Survey.from_frame(survey_zh.data, weight="w", questionnaire=Stub())
    figw = ch.bar_chart(sw, "necessity", language="en")
    w = survey_zh.data["w"].to_numpy()
    expw = sorted(round(v, 6) for v in np.bincount(codes, weights=w, minlength=3) / w.sum() * 100)
    assert sorted(round(p.get_width(), 6) for p in figw.axes[0].patches) == expw
    assert "weighted" in texts(figw)


def test_multi_response_base_in_subtitle(survey_zh):
    fig = ch.multi_response_chart(survey_zh, "gains", language="en")
    assert "Base:195respondents" in texts(fig)  # 5 rows did not answer
    assert "morethan100%" in texts(fig)


def test_likert_sorted_by_agreement(survey_zh):
    fig = ch.likert_chart(survey_zh, ["att_1", "att_2"], language="en")
    labels = [t.get_text().replace("\n", " ") for t in fig.axes[0].get_yticklabels()]
    agree = {it: (survey_zh.data[it].cat.codes >= 3).mean() for it in ITEMS}
    top = max(agree, key=agree.get)
    assert labels[0] == ITEMS[top]["en"]


def test_response_rate_chart_from_a_frame():
    df = pd.DataFrame({"unit": ["a", "b", "total"], "issued": [10, 20, 30],
                       "returned": [9, 10, 19]})
    fig = ch.response_rate_chart(df, language="en")
    assert "90.0%" in texts(fig) and "50.0%" in texts(fig)
    assert "Total:30issued,19returned(63.3%)" in texts(fig)
    with pytest.raises(AnalysisError, match="needs columns unit, issued, returned"):
        ch.response_rate_chart(pd.DataFrame({"x": [1]}))


def test_errors(survey_zh):
    with pytest.raises(AnalysisError, match="multi_response_chart"):
        ch.bar_chart(survey_zh, "gains")
    with pytest.raises(AnalysisError, match="kind must be"):
        ch.crosstab_chart(survey_zh, "necessity", by="rank", kind="pie")
    with pytest.raises(AnalysisError, match="no scale named 'x'"):
        ch.likert_chart(survey_zh, scale="x")


def test_wrap_text_counts_cjk_as_two_columns():
    from survey.charts._theme import text_width

    s = "增長做群眾工作和處理複雜事務的能力，對日常工作幫助很大"
    lines = ch.wrap_text(s, 20).split("\n")
    assert "".join(lines) == s
    assert all(text_width(x) <= 22 for x in lines)
    assert not any(x[0] in "，。、" for x in lines)
    assert ch.wrap_text("short", 20) == "short"


def test_flagship_multi_response_uses_the_template_base():
    from pathlib import Path

    import survey as sv

    root = Path(__file__).resolve().parents[2]
    q = sv.load_questionnaire(root / "questionnaires" / "grassroots_training.yaml")
    s = sv.read_responses(root / "data" / "grassroots_training_responses.csv", q)
    fig = ch.multi_response_chart(s, "gains", language="zh-Hant")
    text = texts(fig)
    assert f"全部{len(s.data)}份有效回收問卷" in text  # report: {base: returned} in the template
    first = q.var_info("gains", language="zh-Hant").categories[0]
    assert "".join(first.split()) in text
    b = sv.banner(s, rows=["gains"], by=["rank_level"], language="zh-Hant")
    bars = sorted(round(p.get_width(), 9) for p in fig.axes[0].patches)
    f = b.to_frame()
    tot = f[(f.stat == "pct") & (f.by == "Total")]
    assert bars == sorted(round(v, 9) for v in tot.pct)  # chart and banner agree


# --- issue 6 review fixes -------------------------------------------------------------------
def _flagship():
    from pathlib import Path

    import survey as sv

    root = Path(__file__).resolve().parents[2]
    q = sv.load_questionnaire(root / "questionnaires" / "grassroots_training.yaml")
    s = sv.read_responses(root / "data" / "grassroots_training_responses.csv", q)
    return sv, q, s


@pytest.mark.parametrize("lang", ["zh-Hant", "en"])
def test_response_rate_chart_takes_the_response_rates_result(lang):
    sv, q, s = _flagship()
    fig = ch.response_rate_chart(sv.response_rates(q, s, language=lang), language=lang)
    ax = fig.axes[0]
    units = q.fieldwork.units
    assert len(ax.patches) == 2 * len(units)  # issued + returned per unit; no "total" unit
    ticks = ["".join(t.get_text().split()) for t in ax.get_yticklabels()]
    assert ticks == ["".join(u.label[lang].split()) for u in units]
    rates = [t.get_text() for t in ax.texts]
    assert rates == [f"{u.returned / u.issued:.1%}" for u in units]
    tot_i, tot_r = sum(u.issued for u in units), sum(u.returned for u in units)
    assert f"{tot_i:,}" in texts(fig) and f"{tot_r / tot_i:.1%}" in texts(fig)


@pytest.mark.parametrize("lang", ["zh-Hant", "en"])
def test_response_rate_labels_clear_of_the_legend_and_inside_the_axes(lang):
    df = pd.DataFrame({"unit": ["a", "b", "c"], "issued": [100, 80, 120],
                       "returned": [92, 76, 114]})  # last rate 95.0%: was under the legend
    fig = ch.response_rate_chart(df, language=lang)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legends = fig.legends + ([ax.get_legend()] if ax.get_legend() else [])
    assert legends
    axbox = ax.get_window_extent(r)
    for t in ax.texts:
        tb = t.get_window_extent(r)
        assert axbox.x0 <= tb.x0 and tb.x1 <= axbox.x1, t.get_text()  # headroom on the right
        for lg in legends:
            assert not tb.overlaps(lg.get_window_extent(r)), t.get_text()


def _rank_by_edu(empty: bool):
    cats5 = [f"c{i}" for i in range(5)]
    rng = np.random.default_rng(5)
    a = rng.choice(5, 300)
    b = rng.choice(5, 300)
    if empty:
        b[a == 0] = np.where(b[a == 0] == 4, 3, b[a == 0])  # cell (c0, c4) empty
    return pd.DataFrame({"a": pd.Categorical.from_codes(a, cats5),
                         "b": pd.Categorical.from_codes(b, cats5)})


def test_grouped_crosstab_no_label_on_empty_bars_and_height_capped():
    df = _rank_by_edu(empty=True)
    fig = ch.crosstab_chart(df, "a", by="b", language="en")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts]
    cells = pd.crosstab(df["a"], df["b"])
    assert (cells.to_numpy() == 0).sum() == 1
    assert len(labels) == 24  # 25 bars, one empty
    assert "0" not in labels
    assert fig.get_size_inches()[1] <= 8.0  # 5 x 5 grouped stays within a page
    fig.savefig(io.BytesIO(), format="png", dpi=40)


def _whiskers(ax):
    from matplotlib.collections import LineCollection

    segs = [c for c in ax.collections if isinstance(c, LineCollection)][0].get_segments()
    return np.array([[sg[:, 0].min(), sg[:, 0].max()] for sg in segs]) / 100


@pytest.mark.parametrize("weighted", [False, True])
def test_bar_chart_whiskers_are_the_frequencies_intervals(survey_zh, weighted):
    import survey as sv

    s = Survey.from_frame(survey_zh.data, weight="w" if weighted else None,
                          questionnaire=Stub())
    fig = ch.bar_chart(s, "necessity", language="en")
    f = sv.frequencies(s, "necessity", language="en").to_frame()
    got = _whiskers(fig.axes[0])
    np.testing.assert_allclose(got, f[["ci_low", "ci_high"]].to_numpy(), rtol=1e-9)
    if weighted:  # design-based logit, not a Wilson interval on Kish's effective n
        assert "(logit,design-based)" in texts(fig)
    else:
        assert "(Wilson)" in texts(fig)
        # Wilson, R prop.test(correct = FALSE): independent check of the first category
        n = len(s.data)
        x = int((s.data["necessity"].cat.codes == 0).sum())
        z = 1.959963984540054
        p = x / n
        c = (p + z * z / (2 * n)) / (1 + z * z / n)
        h = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        np.testing.assert_allclose(got[0], [c - h, c + h], rtol=1e-9)


def test_theme_and_palette_come_from_seaborn(survey_zh):
    import matplotlib as mpl
    import seaborn as sns

    cb = sns.color_palette("colorblind").as_hex()
    fig = ch.bar_chart(survey_zh, "necessity", language="en")
    assert mpl.colors.to_hex(fig.axes[0].patches[0].get_facecolor()) == cb[0]
    grouped = ch.crosstab_chart(survey_zh, "necessity", by="rank", language="en")
    bars = grouped.axes[0].patches
    assert [mpl.colors.to_hex(bars[3 * j].get_facecolor()) for j in range(3)] == cb[:3]
    ch.set_theme("en")
    try:
        colors = [c["color"] for c in mpl.rcParams["axes.prop_cycle"]]
        assert [mpl.colors.to_hex(c) for c in colors] == cb
        assert mpl.rcParams["svg.hashsalt"] == "survey"
        assert mpl.rcParams["svg.fonttype"] == "path"
        assert mpl.rcParams["font.family"][0] == "DejaVu Sans"
        assert mpl.rcParams["axes.facecolor"] == "white"  # seaborn whitegrid
    finally:
        ch.set_theme("zh-Hant")


def test_residual_heatmap_is_a_seaborn_heatmap_of_adjusted_residuals(survey_zh):
    from matplotlib.collections import QuadMesh

    fig = ch.residual_heatmap(survey_zh, "necessity", by="rank", language="en")
    ax = fig.axes[0]
    assert any(isinstance(c, QuadMesh) for c in ax.collections)  # seaborn.heatmap's mesh
    # adjusted residuals from pandas.crosstab (R chisq.test()$stdres)
    o = pd.crosstab(survey_zh.data["necessity"], survey_zh.data["rank"]).to_numpy(float)
    n = o.sum()
    rs, cs = o.sum(1, keepdims=True), o.sum(0, keepdims=True)
    e = rs * cs / n
    r = (o - e) / np.sqrt(e * (1 - rs / n) * (1 - cs / n))
    cells = [t for t in ax.texts]
    assert [t.get_text() for t in cells] == [f"{v:.1f}" for v in r.ravel()]
    bold = [t.get_fontweight() in ("bold", 700) for t in cells]
    assert bold == list(np.abs(r.ravel()) > 1.96)


def test_charts_leave_global_rcparams_alone_and_import_stays_light():
    # also the check that `import survey.charts` loads no matplotlib (formerly its own
    # subprocess test, test_import_does_not_load_matplotlib: the same first assertion)
    code = (
        "import sys, survey.charts as ch\n"
        "assert 'seaborn' not in sys.modules and 'matplotlib' not in sys.modules\n"
        "import matplotlib as mpl, pandas as pd, numpy as np\n"
        "before = {k: str(v) for k, v in mpl.rcParams.items()}\n"
        "df = pd.DataFrame({'a': pd.Categorical(list('xyxyz' * 20)),\n"
        "                   'b': pd.Categorical(list('pqqpp' * 20))})\n"
        "ch.residual_heatmap(df, 'a', by='b'); ch.bar_chart(df, 'a')\n"
        "after = {k: str(v) for k, v in mpl.rcParams.items()}\n"
        "print(sorted(k for k in before if before[k] != after[k]))\n"
        "print('matplotlib.pyplot' in sys.modules and __import__('matplotlib.pyplot')"
        ".pyplot.get_fignums())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    changed, figs = out.stdout.strip().splitlines()
    assert changed in ("[]", "['svg.hashsalt']")  # only the documented reproducible-SVG salt
    assert figs in ("False", "[]")


def test_bar_chart_on_the_calibration_variable_draws_no_invented_whiskers():
    # raked on rank_level: its proportions are fixed by the weights (SE ~ 0); the report
    # crashed here ("'xerr' must not contain negative values")
    sv, q, s = _flagship()
    vi = s.var_info("rank_level")
    targets = dict(zip(vi.categories, [113, 407, 390, 237, 53]))
    sw = sv.rake(s, targets={"rank_level": targets})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frequencies' overflow at SE ~ 0
        fig = ch.bar_chart(sw, "rank_level", language="en")
    got = _whiskers(fig.axes[0])
    est = np.array(list(targets.values())) / 1200
    np.testing.assert_allclose(got, np.column_stack([est, est]), atol=1e-6)  # zero width
    fig.savefig(io.BytesIO(), format="png", dpi=40)


# ---------------------------------------------------------------------------------------
# Figures show themselves where they are displayed (JupyterLab, nbconvert, our exporters)

def _shell_format(obj):
    """Format ``obj`` as a fresh kernel would: no image printer registered for Figures (an
    earlier test in this process may have set the report kernel's SVG formats)."""
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    shell = InteractiveShell.instance()
    for fmt in shell.display_formatter.formatters.values():
        fmt.pop(Figure, None)
    return shell, shell.display_formatter.format(obj)


def test_chart_displays_as_one_png_in_a_plain_kernel(survey_zh):
    fig = ch.bar_chart(survey_zh, "necessity", language="en")
    _, (data, meta) = _shell_format(fig)
    assert set(data) == {"image/png", "text/plain"}, set(data)
    png = data["image/png"]
    if isinstance(png, str):
        import base64

        png = base64.b64decode(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert meta["image/png"]["width"] == int(round(fig.get_figwidth() * 96))
    assert fig.to_png() == fig.to_png()  # no timestamp: same figure, same bytes


def test_chart_leaves_display_to_an_active_inline_svg_backend(survey_zh):
    from matplotlib.figure import Figure
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    fig = ch.likert_chart(survey_zh, ["att_1", "att_2"], language="zh-Hant")
    shell, _ = _shell_format(fig)
    set_matplotlib_formats("svg")
    try:
        data, _ = shell.display_formatter.format(fig)
        assert "image/svg+xml" in data and "image/png" not in data  # shown once, as SVG
    finally:
        for fmt in shell.display_formatter.formatters.values():
            fmt.pop(Figure, None)
    svg = fig.to_svg()
    assert svg.lstrip().startswith("<?xml") and "<dc:date>" not in svg


def test_stacked_crosstab_chart_hides_small_cells_like_the_tables():
    from survey.core.disclosure import disclosure_mask

    # group "b": 2 respondents say "no" (a cell under 5) -> hidden with the next smallest
    a = ["yes"] * 30 + ["no"] * 10 + ["maybe"] * 10
    b = ["yes"] * 20 + ["no"] * 2 + ["maybe"] * 8
    df = pd.DataFrame({
        "v": pd.Categorical(a + b, categories=["yes", "no", "maybe"]),
        "g": pd.Categorical(["a"] * len(a) + ["b"] * len(b), categories=["a", "b"])})
    fig = ch.crosstab_chart(df, "v", by="g", kind="stacked", language="en", suppress_below=5)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_width() > 0]
    hidden = [p for p in bars if p.get_hatch()]
    primary, secondary = disclosure_mask([[30, 20], [10, 2], [10, 8]], 5)
    assert primary[1, 1] and secondary[2, 1]
    assert len(hidden) == 1 and abs(hidden[0].get_width() - 100 * 10 / 30) < 1e-9
    for yi in (0, 1):  # each bar still adds up to 100%
        total = sum(p.get_width() for p in bars if abs(p.get_y() + p.get_height() / 2 - yi) < 1e-6)
        assert abs(total - 100) < 1e-9
    labels = {t.get_text() for t in ax.texts}
    assert "7" not in labels and "27" not in labels  # 2/30 and 8/30 of group b are not shown
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("fewer than 5" in " ".join(t.split()) for t in legend), legend
    with pytest.raises(AnalysisError, match="stacked"):
        ch.crosstab_chart(df, "v", by="g", kind="grouped", suppress_below=5)


@pytest.mark.parametrize("language", ["en", "zh-Hant", "zh-Hans"])
def test_likert_subtitle_names_the_plotted_side_not_agreement(survey_zh, language):
    """Items are plotted as answered (a reverse-keyed item is not flipped), so the subtitle
    names the right-hand category instead of calling that side agreement / a positive view."""
    fig = ch.likert_chart(survey_zh, ["att_1", "att_2"], language=language)
    right = survey_zh.var_info("att_1", language=language).categories[-1]
    base = {"en": "base", "zh-Hant": "樣本量", "zh-Hans": "样本量"}[language]
    sub = "".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))
                  if base in t.get_text())
    sub = " ".join(sub.split())  # wherever the subtitle wraps
    assert right in sub
    for word in ("agreement", "positive", "認同", "认同", "正面"):
        assert word not in sub


@pytest.mark.parametrize("language", ["en", "zh-Hant", "zh-Hans"])
def test_likert_title_is_the_question_not_a_reverse_keyed_scale_label_nor_variable_names(
        tmp_path, language):
    """A battery's chart is titled by the question its items answer (the grid label); the
    reverse-keyed scale's "positive view" label would misname the raw answers, and variable
    names (att_1, att_2 ...) are not for readers."""
    import matplotlib.pyplot as plt

    import survey as sv

    q = sv.load_questionnaire("grassroots_training")
    path = tmp_path / "r.csv"
    sv.synthesize(q, n=60, seed=5).to_csv(path, index=False)
    s = sv.read_responses(path, q)
    items = [f"att_{i}" for i in range(1, 7)]
    fig = ch.likert_chart(s, items, language=language)
    title = fig._suptitle.get_text().replace("\n", "")
    grid = {"en": "Do you agree with the following statements?", "zh-Hant": "您是否同意以下說法？",
            "zh-Hans": "您是否同意以下说法？"}[language]
    assert title == grid
    assert "att_" not in texts(fig)
    plt.close(fig)
    fig = ch.likert_chart(s, ["att_1", "att_2"], language=language)
    assert fig._suptitle.get_text().replace("\n", "") == grid  # still rows of that grid
    plt.close(fig)


def test_likert_title_without_grid_or_scale_names_no_variables():
    cats = ["never", "sometimes", "often"]
    df = pd.DataFrame({c: pd.Categorical(np.resize(cats, 30), categories=cats, ordered=True)
                       for c in ("q_a", "q_b")})
    fig = ch.likert_chart(df, ["q_a", "q_b"], language="en")
    assert fig._suptitle.get_text() == "Answers to 2 statements"
    import matplotlib.pyplot as plt

    plt.close(fig)
