"""Banner footnotes come from the i18n catalogue, each Chinese script written in its own
characters (no character-table conversion), every branch with its placeholders filled."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import survey as sv
from survey import i18n

# Simplified / Traditional pairs of characters the footnotes use: a zh-Hans note must hold
# none of the right-hand ones, a zh-Hant note none of the left-hand ones.
HANS = "显检验样类数为该组变双侧区块内计与设预选题项过筛总权层频标隐并个较写线准虑误于参"
HANT = "顯檢驗樣類數為該組變雙側區塊內計與設預選題項過篩總權層頻標隱併個較寫線準慮誤於參"
ONLY_HANS = {s for s, t in zip(HANS, HANT) if s != t}
ONLY_HANT = {t for s, t in zip(HANS, HANT) if s != t}
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def _frame(n=240, seed=5):
    rng = np.random.default_rng(seed)
    psu = np.repeat(np.arange(24), n // 24)
    return pd.DataFrame({
        "q": pd.Categorical.from_codes(rng.integers(0, 3, n), list("abc")),
        "g": pd.Categorical.from_codes(rng.integers(0, 2, n), ["m", "f"]),
        "opt_a": rng.integers(0, 2, n), "opt_b": rng.integers(0, 2, n),
        "w": rng.uniform(0.5, 2.0, n), "psu": psu, "st": psu % 2,
        **{f"r{i}": rng.uniform(0.5, 2.0, n) for i in range(4)},
    })


def _surveys():
    df = _frame()
    yield "unweighted", df, {}
    yield "effective", df, {"weight": "w", "se": "effective"}
    yield "design", sv.Survey.from_frame(df, weight="w", strata="st", psu="psu"), {}
    yield "replicate", sv.Survey.from_frame(df, weight="w", replicate_weights=r"r[0-9]",
                                            replicate_type="bootstrap"), {}


LANGS = ("en", "zh-Hans", "zh-Hant")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", ["unweighted", "effective", "design", "replicate"])
def test_every_footnote_is_the_catalogue_sentence_in_its_own_script(lang, kind):
    case = {k: (s, kw) for k, s, kw in _surveys()}
    s, kw = case[kind]
    b = sv.banner(s, rows=["q"], by=["g"], language=lang, preset="q", **kw)
    notes = b.notes
    assert notes, kind
    text = " ".join(notes)
    assert "{" not in text and "}" not in text, text  # every placeholder filled
    if lang == "en":
        assert not CJK.search(text), text
    elif lang == "zh-Hans":
        assert not set(text) & ONLY_HANT, sorted(set(text) & ONLY_HANT)
    else:
        assert not set(text) & ONLY_HANS, sorted(set(text) & ONLY_HANS)
    t = i18n.words("banner", lang)
    assert notes[-1] == t["note_suppress"].format(k=5)
    assert notes[-2] == t["note_min_base"].format(min_base=30)
    expected = {
        "unweighted": t["note_unweighted"],
        "effective": t["note_effective"].format(weight="w"),
        "design": t["note_weighted_by"].format(weight="w")
        + t["note_design"].format(df=s.design_info().degf if kind == "design" else 0),
        "replicate": t["note_weighted_by"].format(weight="w")
        + t["note_design_replicate"].format(
            type="bootstrap", df=s.design_info().degf if kind == "replicate" else 0),
    }[kind]
    assert notes[2] == expected


def test_zh_hans_correction_reads_once_and_in_simplified():
    df = _frame()
    for correction, phrase in [("none", "不作多重比较校正"), ("holm", "作 Holm 校正")]:
        notes = sv.banner(df, rows=["q"], by=["g"], language="zh-CN",
                          correction=correction).notes
        assert f"区块内{phrase}。" in notes[0], notes[0]
        assert "作 未作" not in notes[0] and "比較" not in notes[0]


def test_traditional_column_percent_says_column_not_row():
    """In Taiwan 列 is a row and 欄 a column: the zh-Hant note must say 欄百分比."""
    df = _frame()
    notes = sv.banner(df, rows=["q"], by=["g"], language="zh-TW").notes
    assert "百分比為欄百分比" in notes[1]
    rows = sv.banner(df, rows=["q"], by=["g"], language="zh-TW", percent="row").notes
    assert "百分比為列百分比" in rows[1]


@pytest.mark.parametrize("lang", LANGS)
def test_returned_base_and_filter_notes(lang):
    from survey.analysis._banner_notes import _footnotes

    t = i18n.words("banner", lang)
    ctx = type("Ctx", (), {"txt": t, "test": "none", "percent": "total", "weighted": False,
                           "se": "effective", "replicate": None})()
    s = type("S", (), {"weight": None})()
    notes = _footnotes(ctx, s, 1234, True, 0, 10, None, ["gains", "needs"])
    assert notes[0] == t["note_no_tests"]
    assert "1,234" in notes[1] and t["note_filtered"] in notes[1]
    assert t["note_list_sep"].join(["gains", "needs"]) in notes[1]
    assert t["note_percent_total"] + ("" if lang == "en" else "百分比") in notes[1]
    assert len(notes) == 4  # no suppression note when suppress_below is 0
