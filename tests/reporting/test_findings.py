"""Finding sentences, tested with hand-made stand-ins carrying the documented attributes
(so these tests do not depend on the statistics code)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey.errors import ReportError
from survey.reporting import findings as fd


@dataclasses.dataclass(frozen=True)
class FakeFreq:
    frame: pd.DataFrame
    confidence: float = 0.95

    def to_frame(self):
        return self.frame


@dataclasses.dataclass(frozen=True)
class FakeCrossTab:
    tests: pd.DataFrame
    effect_sizes: pd.DataFrame
    column_percent: pd.DataFrame
    by: str = "rank_level"
    by_label: str = "職級"

    def percent(self, kind="column"):
        assert kind == "column"
        return self.column_percent


def freq(pct=(91.0, 9.0), lo=(87.6, 6.4), hi=(93.5, 12.4), n=(333, 33)):
    return FakeFreq(
        pd.DataFrame(
            {"n": list(n), "pct": list(pct), "ci_low": list(lo), "ci_high": list(hi)},
            index=pd.Index(["有必要", "沒有必要"], name="category"),
        )
    )


def crosstab(p, v=0.13, stat=12.3, df=4, name="pearson"):
    tests = pd.DataFrame(
        {"statistic": [stat], "df": [df], "df_denom": [float("nan")], "p_value": [p]},
        index=[name],
    )
    eff = pd.DataFrame({"value": [v], "ci_low": [None], "ci_high": [None]}, index=["cramers_v"])
    pc = pd.DataFrame(
        {"正科級": [95.2, 4.8], "副科級": [90.0, 10.0], "後備幹部": [84.0, 16.0]},
        index=pd.Index(["有必要", "沒有必要"]),
    )
    return FakeCrossTab(tests, eff, pc)


def test_proportion_sentence_zh_hant_matches_issue_example():
    s = fd.describe_proportion(freq(), "有必要", "zh-Hant", statement="認為年輕幹部到基層鍛煉有必要")
    assert s == "91.0%（95% CI 87.6%–93.5%）的受訪者認為年輕幹部到基層鍛煉有必要（基數：366人）。"


def test_proportion_sentence_zh_hans_and_en():
    assert fd.describe_proportion(freq(), "有必要", "zh-Hans").startswith(
        "91.0%（95% CI 87.6%–93.5%）的受访者选择“有必要”"
    )
    en = fd.describe_proportion(freq(), "有必要", "en", statement="consider it necessary")
    assert en == "91.0% (95% CI 87.6%–93.5%) of respondents consider it necessary (base: 366 respondents)."


def test_proportion_accepts_proportions_on_0_1_scale():
    f = FakeFreq(pd.DataFrame({"estimate": [0.25, 0.75], "ci_low": [0.2, 0.7],
                               "ci_high": [0.3, 0.8]}, index=["a", "b"]))
    assert fd.describe_proportion(f, "a", "en").startswith("25.0% (95% CI 20.0%–30.0%)")


def test_unknown_category_names_the_known_ones():
    with pytest.raises(ReportError, match="category '有必yao' not in the result; categories: 有必要, 沒有必要"):
        fd.describe_proportion(freq(), "有必yao", "en")


def test_significant_crosstab_zh_names_test_effect_and_direction():
    s = fd.describe_crosstab(crosstab(0.0153), "zh-Hant", category="有必要")
    assert s.startswith("不同職級之間差異顯著（χ²(4)=12.3，p=0.015，Cramér's V=0.13，關聯較弱）")
    assert "以正科級最高（95.2%），後備幹部最低（84.0%）" in s
    assert s.endswith("。")


def test_significant_crosstab_en_apa_style():
    s = fd.describe_crosstab(crosstab(0.0153), "en", by_label="rank")
    assert s == ("The distribution differs significantly by rank (χ²(4) = 12.3, p = .015, "
                 "Cramér's V = 0.13; a weak association).")


def test_nonsignificant_crosstab_never_claims_a_difference_or_direction():
    for lang in fd.LANGUAGES:
        s = fd.describe_crosstab(crosstab(0.31), lang, category="有必要")
        assert "最高" not in s and "highest" not in s
        assert ("不顯著" in s) or ("不显著" in s) or s.startswith("No significant difference")
        assert "significantly" not in s


def test_adjusted_p_overrides_raw_p_and_correction_is_stated():
    ct = crosstab(0.02)
    raw = fd.describe_crosstab(ct, "en", by_label="rank")
    adj = fd.describe_crosstab(ct, "en", by_label="rank", p_value=0.08, correction="holm")
    assert "differs significantly" in raw
    assert adj.startswith("No significant difference by rank (χ²(4) = 12.3, p = .080")
    assert adj.endswith("; p adjusted for multiple comparisons (Holm).")
    zh = fd.describe_crosstab(ct, "zh-Hans", p_value=0.01, correction="BH")
    assert "差异显著" in zh and "p 值经 Benjamini–Hochberg 多重比较校正" in zh


def test_rao_scott_is_preferred_when_present():
    ct = crosstab(0.5)
    tests = pd.concat([ct.tests, pd.DataFrame(
        {"statistic": [2.5], "df": [3.6], "df_denom": [1300.0], "p_value": [0.04]},
        index=["rao_scott_f"])])
    ct = dataclasses.replace(ct, tests=tests)
    s = fd.describe_crosstab(ct, "en", by_label="rank")
    assert "F(3.60, 1300.0) = 2.50, p = .040" in s and "significantly" in s


@given(p=st.floats(min_value=0, max_value=1), alpha=st.sampled_from([0.01, 0.05, 0.1]))
def test_significance_wording_follows_p_and_alpha(p, alpha):
    s = fd.describe_crosstab(crosstab(p), "en", alpha=alpha)
    assert ("differs significantly" in s) == (p < alpha)
    assert s.startswith("No significant") == (p >= alpha)


def test_p_value_formats():
    assert fd.fmt_p(0.0004, "zh-Hant") == "p<0.001"
    assert fd.fmt_p(0.05, "en") == "p = .050"
    assert fd.fmt_p(0.1234, "en") == "p = .12"


def test_multi_response_sentence_states_base_and_sum_over_100():
    f = FakeFreq(pd.DataFrame({"pct_respondents": [62.3, 48.1, 30.0, 12.0]},
                              index=["了解民情", "鍛煉能力", "積累經驗", "其他"]))
    f = dataclasses.replace(f)
    s = fd.describe_multi_response(f, "zh-Hant", top=3)
    assert s.startswith("最常被選的是「了解民情」（62.3%）、「鍛煉能力」（48.1%）、「積累經驗」（30.0%）")
    assert "平均選擇 1.5 項" in s
    en = fd.describe_multi_response(f, "en", top=2)
    assert "“了解民情” (62.3%) and “鍛煉能力” (48.1%)" in en


def test_reliability_quality_labels():
    @dataclasses.dataclass
    class Rel:
        alpha: float
        ci_low: float = 0.79
        ci_high: float = 0.85
        items: tuple = ("a", "b", "c")

    assert fd.describe_reliability(Rel(0.82), "en") == (
        "The scale's internal consistency is good (Cronbach's α = 0.82, 95% CI 0.79–0.85, 3 items)."
    )
    assert "可接受" in fd.describe_reliability(Rel(0.71), "zh-Hant")
    assert "差" in fd.describe_reliability(Rel(0.55), "zh-Hans")


def test_language_normalization():
    assert fd.normalize_language("zh-TW") == "zh-Hant"
    assert fd.normalize_language("zh-CN") == "zh-Hans"
    assert fd.normalize_language(None) == "en"


# --- the Likert sentence speaks in the scale's own words; weighted shares say so ------------

SCALES = {  # (top two categories of the scale as the template labels them, in each language)
    "satisfaction": {"en": ["Satisfied", "Very satisfied"], "zh-Hant": ["滿意", "非常滿意"],
                     "zh-Hans": ["满意", "非常满意"]},
    "frequency": {"en": ["Often", "Always"], "zh-Hant": ["經常", "總是"],
                  "zh-Hans": ["经常", "总是"]},
    "importance": {"en": ["Important", "Very important"], "zh-Hant": ["重要", "非常重要"],
                   "zh-Hans": ["重要", "非常重要"]},
}


@pytest.mark.parametrize("kind", sorted(SCALES))
@pytest.mark.parametrize("lang", ["en", "zh-Hant", "zh-Hans"])
def test_top_box_sentence_names_the_scale_s_own_answers_not_agreement(kind, lang):
    cats = SCALES[kind][lang]
    s = fd.describe_top_box({"Item A": 72.5, "Item B": 31.0, "Item C": 50.0}, cats, lang)
    for cat in cats:
        assert cat in s
    for word in ("agree", "Agree", "認同", "认同", "同意"):
        assert word not in s
    assert "Item A" in s and "72.5%" in s and "Item B" in s and "31.0%" in s
    assert s.index("Item A") < s.index("Item B")  # highest first


def test_top_box_sentence_exact_wording():
    assert fd.describe_top_box({"a": 60.0, "b": 20.0}, ["Agree", "Strongly agree"], "en") == (
        "The share answering “Agree” or “Strongly agree” is highest for “a” (60.0%) and lowest "
        "for “b” (20.0%).")
    assert fd.describe_top_box({"甲": 60.0, "乙": 20.0}, ["满意", "非常满意"], "zh-Hans") == (
        "选择“满意”或“非常满意”的比例以“甲”最高（60.0%），以“乙”最低（20.0%）。")


def test_top_box_equal_shares_name_no_highest_item():
    s = fd.describe_top_box({"a": 40.0, "b": 40.0}, ["Often", "Always"], "en")
    assert s == "The share answering “Often” or “Always” is the same for every item (40.0%)."


def test_top_box_needs_two_items_and_categories():
    with pytest.raises(ReportError, match="at least two items"):
        fd.describe_top_box({"a": 40.0}, ["Often", "Always"], "en")
    with pytest.raises(ReportError, match="top answer categories"):
        fd.describe_top_box({"a": 40.0, "b": 3.0}, [], "en")


def test_weighted_share_says_it_is_a_weighted_estimate():
    f = FakeFreq(pd.DataFrame({"n": [332, 33], "n_weighted": [1264.6, 182.4],
                               "pct": [87.4, 12.6], "ci_low": [81.6, 8.4],
                               "ci_high": [91.6, 18.4]},
                              index=pd.Index(["有必要", "沒有必要"], name="category")))
    s = fd.describe_proportion(f, "有必要", "zh-Hant")
    assert s.endswith("（加權估計；基數：365人）。")
    assert fd.describe_proportion(f, "有必要", "en").endswith(
        "(weighted estimate; base: 365 respondents).")
    assert fd.describe_proportion(f, "有必要", "zh-Hans").endswith("（加权估计；基数：365人）。")
    # unweighted results (n_weighted equal to n, or absent) keep the plain base
    assert fd.describe_proportion(freq(), "有必要", "en").endswith("(base: 366 respondents).")
    assert "weighted" not in fd.describe_proportion(f, "有必要", "en", weighted=False)


def test_weighted_multi_response_says_so():
    f = FakeFreq(pd.DataFrame({"pct_respondents": [62.3, 48.1], "n": [200, 150],
                               "n_weighted": [800.5, 610.2]}, index=["a", "b"]))
    assert "(weighted estimate; base:" not in fd.describe_multi_response(f, "en")  # no base n

    @dataclasses.dataclass(frozen=True)
    class Multi(FakeFreq):
        n_base: int = 365

    m = Multi(f.frame)
    assert "(weighted estimate; base: 365 respondents)" in fd.describe_multi_response(m, "en")
    assert "（加權估計；基數：365人）" in fd.describe_multi_response(m, "zh-Hant")


def test_effect_word_uses_the_df_of_a_real_crosstab():
    """A real CrossTab keeps its counts as an ndarray (``unweighted``): the df* of a 3 x 5 table
    is 2, so V = 0.25 (w = V·√2 = 0.35) is a moderate association, not a weak one as the
    df* = 1 thresholds (used when the counts were not found) would say."""
    import numpy as np

    import survey as sv

    counts = np.array([[24, 12, 10, 10, 8], [10, 24, 12, 8, 10], [10, 10, 22, 12, 10]])
    rows = [(f"r{i}", f"c{j}") for i in range(3) for j in range(5) for _ in range(counts[i, j])]
    df = pd.DataFrame(rows, columns=["r", "c"])
    ct = sv.crosstab(df, "r", by="c")
    n = counts.sum()
    e = np.outer(counts.sum(1), counts.sum(0)) / n
    v = float(np.sqrt(((counts - e) ** 2 / e).sum() / (n * 2)))  # Cramér's V, by hand
    assert 0.3 <= v * np.sqrt(2) < 0.5 and v < 0.3  # moderate for df* = 2, "weak" for df* = 1
    assert fd._df_star(ct) == 2
    s = fd.describe_crosstab(ct, "en", by_label="c", p_value=0.001)
    assert f"Cramér's V = {v:.2f}".replace("0.", ".") in s or f"V = {v:.2f}" in s
    assert "a moderate association" in s
    assert "關聯中等" in fd.describe_crosstab(ct, "zh-Hant", by_label="c", p_value=0.001)
