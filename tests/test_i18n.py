"""The language service: one normaliser, one catalogue per language, every key everywhere."""

from __future__ import annotations

import string
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from survey import i18n
from survey.i18n import LanguageError, normalize_language

CATALOGUE = Path(i18n.__file__).with_name("catalogue")


@pytest.mark.parametrize("tag, expected", [
    ("zh-CN", "zh-Hans"), ("zh-SG", "zh-Hans"), ("zh_hans", "zh-Hans"), ("zh", "zh-Hans"),
    ("ZH-hans-cn", "zh-Hans"), ("zh-Hans-HK", "zh-Hans"), ("zh_CN", "zh-Hans"), ("zh-MY", "zh-Hans"),
    ("zh-TW", "zh-Hant"), ("zh-HK", "zh-Hant"), ("zh-MO", "zh-Hant"), ("zh_Hant", "zh-Hant"),
    ("zh-Hant-TW", "zh-Hant"), ("zh_tw", "zh-Hant"),
    ("en", "en"), ("EN-gb", "en"), ("en_US", "en"),
])
def test_normalize_language(tag, expected):
    assert normalize_language(tag) == expected


@pytest.mark.parametrize("tag", ["fr", "ja", "zh-Latn", "english", "de-DE", "x"])
def test_unknown_language_is_refused_listing_the_available_ones(tag):
    with pytest.raises(LanguageError) as exc:
        normalize_language(tag)
    msg = str(exc.value)
    assert repr(tag) in msg and "en, zh-Hans, zh-Hant" in msg and "Hint:" in msg
    assert isinstance(exc.value, sys.modules["survey"].SurveyError)


def test_lenient_normalisation_falls_back_to_english_and_empty_means_default():
    assert normalize_language("fr", strict=False) == "en"
    assert normalize_language(None) == normalize_language("") == "en"
    assert normalize_language(None, default="zh_TW") == "zh-Hant"


@given(st.sampled_from(["zh", "zh-hans", "zh-hant", "zh-tw", "zh-cn", "zh-hk", "zh-sg", "en"]),
       st.lists(st.booleans(), min_size=1, max_size=12), st.sampled_from(["-", "_"]))
def test_case_and_separator_do_not_matter(tag, upper, sep):
    variant = "".join(c.upper() if u else c for c, u in zip(tag, upper * 12)).replace("-", sep)
    assert normalize_language(variant) == normalize_language(tag)


def _flatten(tree, prefix=""):
    for key, value in tree.items():
        assert isinstance(key, str), f"non-string key {key!r} under {prefix!r}"
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


def test_every_message_exists_in_every_language_with_the_same_placeholders():
    files = sorted(CATALOGUE.glob("*.yaml"))
    assert [f.stem for f in files] == sorted(i18n.LANGUAGES)
    cats = {f.stem: dict(_flatten(yaml.safe_load(f.read_text(encoding="utf-8")))) for f in files}
    keys = {lang: set(c) for lang, c in cats.items()}
    union = set().union(*keys.values())
    for lang, have in keys.items():
        assert not union - have, f"{lang} lacks {sorted(union - have)}"
    assert len(union) > 150
    for key in union:
        values = [cats[lang][key] for lang in cats]
        kinds = {type(v).__name__ for v in values}
        assert len(kinds) == 1, f"{key}: {kinds}"
        if isinstance(values[0], str):
            fields = [_fields(v) for v in values]
            assert all(f == fields[0] for f in fields), f"{key}: placeholders differ {fields}"
            assert all(v.strip() for v in values), f"{key}: empty text"
        elif isinstance(values[0], list):
            assert len({len(v) for v in values}) == 1, f"{key}: lists differ in length"


def test_simplified_catalogue_has_no_traditional_only_characters():
    # characters whose simplified form differs; none may appear in zh-Hans words
    traditional = set("們這個時說與對關為會來過開經點還應業學實問題將於較從當區體數現發機當")
    text = (CATALOGUE / "zh-Hans.yaml").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert not (set(body) & traditional), sorted(set(body) & traditional)


def test_text_formats_and_unknown_keys_name_the_key():
    assert i18n.text("chart.base", "zh-TW", n=1200) == "樣本量：1,200人"
    assert i18n.text("report.appendix", "zh-SG") == "附录"
    with pytest.raises(KeyError, match="report.apendix.*not in the en catalogue.*report.appendix"):
        i18n.text("report.apendix", "en")


def test_modules_use_the_catalogue():
    from survey.analysis import banner
    from survey.charts import _charts
    from survey.questionnaire import words
    from survey.reporting import texts
    from survey.validation import messages

    assert texts.t("appendix", "zh_CN") == i18n.text("report.appendix", "zh-Hans")
    assert messages.render("required", "zh-Hant", question="q1") == i18n.text(
        "validation.required", "zh-Hant", question="q1")
    assert _charts._words("zh-SG") == i18n.words("chart", "zh-Hans")
    assert banner._text("zh_CN")["total"] == "合计" and banner._text("zh-HK")["total"] == "合計"
    assert words.phrases("zh-Hant-TW") == i18n.words("form", "zh-Hant")


def test_zh_hans_banner_footnotes_are_simplified():
    import pandas as pd

    import survey as sv

    df = pd.DataFrame({"a": ["x", "y"] * 20, "g": ["m"] * 20 + ["f"] * 20})
    for tag in ("zh-Hans", "zh_CN", "zh-SG"):
        notes = " ".join(sv.banner(df, rows=["a"], by=["g"], language=tag,
                                  correction="none").notes)
        assert "比较" in notes and "比較" not in notes, notes


def test_cli_refuses_an_unknown_report_language(tmp_path, capsys):
    """In process (the real `python -m survey.cli report` runs in test_atomic_reports.py)."""
    from survey.cli import main

    data = Path(__file__).parents[1] / "data" / "grassroots_training_responses.csv"
    code = main(["report", "grassroots_training", str(data), "--out", str(tmp_path),
                 "--to", "html", "--lang", "fr"])
    err = capsys.readouterr().err
    assert code != 0
    assert "language 'fr'" in err and "en, zh-Hans, zh-Hant" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("language", ["en", "zh-Hans", "zh-Hant"])
def test_every_table_base_names_which_base_it_is(language):
    """The cover counts returned and valid questionnaires; every table's base note must say it
    is drawn from the valid returned ones (not an unqualified 'respondents')."""
    valid_returned = i18n.text("report.base_returned", language).replace("全部", "").replace(
        "全體", "").replace("全体", "")
    assert valid_returned in i18n.text("report.base_answered", language)
    for key in ("note_base_freq", "note_base_mean", "note_base_likert", "note_base_ct"):
        note = i18n.text(f"report.{key}", language, valid=9, total=10, n=10, w="", missing="")
        assert valid_returned in note, (key, note)
    cover = i18n.text("report.cover_not_valid", language, d=1, valid=365)
    assert "1" in cover and "365" in cover and valid_returned in cover


@pytest.mark.parametrize("language", ["en", "zh-Hans", "zh-Hant"])
def test_methods_state_fishers_budget_as_work_not_time(language):
    # the exact/Monte Carlo choice is a count of expanded states (deterministic), so the report
    # must not promise a time limit that a reader could think varies with the machine
    from survey.reporting.sections import FISHER_STATES
    from survey.reporting.texts import t

    text = t("tests_unweighted", language, states=f"{FISHER_STATES:,}",
             df=4, nmax=60, b=2000, seed=1, nf=2)
    assert "500,000" in text
    assert " s," not in text and "秒" not in text
