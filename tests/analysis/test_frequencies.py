"""frequencies and multi_response: counts, percents, CIs against R, missing reasons, bases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analysis_data import read_api
from hypothesis import given, settings
from hypothesis import strategies as st

import survey as sv
from survey.analysis.frequencies import proportion_ci
from survey.errors import AnalysisError

REL = 1e-6


@pytest.mark.parametrize("method", ["wilson", "clopper_pearson", "agresti_coull", "logit"])
def test_proportion_ci_matches_r(extra, method):
    # R: prop.test(12, 25, correct = FALSE)$conf.int; binom.test(12, 25)$conf.int;
    #    Agresti-Coull and logit by formula (tests/reference_r/analysis_reference.R)
    v = extra["proportion_ci/12of25"]
    lo, hi = proportion_ci(12, 25, method=method.replace("_", "-"))
    assert (lo, hi) == pytest.approx(tuple(v[method]), rel=REL)


def test_frequencies_apisrs(apisrs, extra):
    f = sv.frequencies(apisrs, "stype")
    t = f.to_frame()
    assert list(t.columns) == ["var", "category", "n", "n_weighted", "pct", "pct_all", "cum_pct",
                               "estimate", "se", "ci_low", "ci_high", "df", "deff"]
    # R: table(apisrs$stype) -> E 142, H 25, M 33
    assert t["n"].tolist() == [142, 25, 33]
    assert t["category"].tolist() == ["E", "H", "M"]
    np.testing.assert_allclose(t["pct"], [71.0, 12.5, 16.5])
    assert t["cum_pct"].isna().all()  # not ordered
    # R: prop.test(25, 200, correct = FALSE)$conf.int  (Wilson), checked via proportion_ci above
    lo, hi = proportion_ci(25, 200)
    assert t.loc[1, "ci_low"] == lo and t.loc[1, "ci_high"] == hi
    assert t.loc[1, "se"] == pytest.approx(np.sqrt(0.125 * 0.875 / 200))
    assert f.notes[0] == ("Base: 200 respondents with a valid answer to 'stype' (of 200 "
                          "respondents); pct = % of the valid answers, pct_all = % of all "
                          "respondents.")


def test_missing_reasons_and_cum_pct():
    cats = ["low", "mid", "high"]
    data = pd.DataFrame({"q": pd.Categorical(["low", "mid", None, "high", None, None, "mid"],
                                             categories=cats, ordered=True)})
    missing = pd.DataFrame({"q": pd.array([None, None, -88, None, -99, -99, None], dtype="Int64")})
    s = sv.Survey(data=data, missing=missing)
    f = sv.frequencies(s, "q")
    t = f.to_frame()
    assert t["n"].tolist() == [1, 2, 1]
    np.testing.assert_allclose(t["pct"], [25, 50, 25])
    np.testing.assert_allclose(t["pct_all"], [100 / 7, 200 / 7, 100 / 7])
    np.testing.assert_allclose(t["cum_pct"], [25, 75, 100])
    m = t.attrs["missing"]
    assert dict(zip(m["reason"], m["n"])) == {"skipped": 1, "no answer": 2}
    assert "Missing (excluded from pct): skipped 1, no answer 2." in f.notes


def test_design_based_frequencies_match_svyciprop():
    # R: svyciprop(~I(sch.wide == "Yes"), dclus1, method = "logit")
    #    estimate 0.87431693988704, se 0.0203594772446274, CI [0.823798892379034, 0.911900077021223]
    df = read_api("apiclus1")
    s = sv.Survey.from_frame(df, weight="pw", psu="dnum", fpc="fpc")
    t = sv.frequencies(s, "sch.wide").to_frame().set_index("category")  # logit by default
    assert t.loc["Yes", "estimate"] == pytest.approx(0.87431693988704, rel=REL)
    assert t.loc["Yes", "se"] == pytest.approx(0.0203594772446274, rel=REL)
    assert t.loc["Yes", "ci_low"] == pytest.approx(0.823798892379034, rel=REL)
    assert t.loc["Yes", "ci_high"] == pytest.approx(0.911900077021223, rel=REL)
    assert t.loc["Yes", "df"] == 14


def test_where_filter(apisrs):
    f = sv.frequencies(apisrs, "sch.wide", where=apisrs["stype"] == "H")
    # R: table(apisrs$sch.wide[apisrs$stype == "H"]) -> No 13, Yes 12
    assert f.to_frame()["n"].tolist() == [13, 12]


def test_multi_response_bases():
    df = pd.DataFrame({
        "g_a": pd.array([True, True, False, None, True, None], dtype="boolean"),
        "g_b": pd.array([True, False, True, None, True, None], dtype="boolean"),
        "g_c": pd.array([False, False, False, None, True, None], dtype="boolean"),
    })
    missing = pd.DataFrame({"g": pd.array([None, None, None, -88, None, -99], dtype="Int64")})
    s = sv.Survey(data=df, missing=missing)
    mr = sv.multi_response(s, "g")
    t = mr.to_frame()
    assert t["n"].tolist() == [3, 3, 1]
    np.testing.assert_allclose(t["pct"], [75, 75, 25])
    np.testing.assert_allclose(t["pct_responses"], [300 / 7, 300 / 7, 100 / 7])
    assert mr.notes[0] == "Base: 4 respondents who answered the question; 7 responses."
    assert "can add up to more than 100%" in mr.notes[1]
    np.testing.assert_allclose(sv.multi_response(s, "g", base="returned").to_frame()["pct"], [50, 50, 100 / 6])
    np.testing.assert_allclose(sv.multi_response(s, "g", base="shown").to_frame()["pct"], [60, 60, 20])
    with pytest.raises(AnalysisError, match="base must be 'respondents', 'returned' or 'shown'"):
        sv.multi_response(s, "g", base="all")


def test_errors(apisrs):
    with pytest.raises(AnalysisError, match="unknown ci_method 'exact'"):
        sv.frequencies(apisrs, "stype", ci_method="exact")
    with pytest.raises(AnalysisError, match="not a multiple-choice question"):
        sv.multi_response(apisrs, "stype")


def test_display(apisrs):
    f = sv.frequencies(apisrs, "stype")
    assert repr(f) == "<Frequencies: stype, 3 categories, n=200 valid of 200>"
    assert "95% CI" in f._repr_html_()
    assert f.to_dict()["var"] == "stype"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=60))
def test_counts_sum_to_valid_n(values):
    df = pd.DataFrame({"x": pd.Categorical(values, categories=["a", "b", "c"])})
    if df["x"].notna().sum() == 0:
        return
    t = sv.frequencies(df, "x").to_frame()
    assert t["n"].sum() == df["x"].notna().sum()
    assert t["pct"].sum() == pytest.approx(100.0)
    perm = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    pd.testing.assert_frame_equal(sv.frequencies(perm, "x").to_frame(), t)


def test_numeric_with_few_values_is_tabulated():
    df = pd.DataFrame({"years": [1, 3, 3, np.nan, 10, 1, 3]})
    t = sv.frequencies(df, "years").to_frame()
    assert t["category"].tolist() == ["1", "3", "10"]
    assert t["n"].tolist() == [2, 3, 1]
    np.testing.assert_allclose(t["cum_pct"], [100 * 2 / 6, 100 * 5 / 6, 100])


def test_base_notes_name_what_they_count_and_say_weighted():
    """The base counts respondents with a valid answer (of all respondents in scope); a weighted
    result says its percentages are weighted estimates and gives the weighted base, rounded
    as a count (a sum of weights equal to 10 up to rounding prints as 10, not 10.0)."""
    cats = ["yes", "no"]
    df = pd.DataFrame({"a": pd.Categorical(["yes", "no", "yes", None, "yes"], categories=cats),
                       "w": [1.0, 3.0, 2.0, 2.0, 2.0 + 1e-12],
                       "g": ["x", "x", "x", "y", "y"]})
    plain = sv.frequencies(df, "a").notes[0]
    assert plain.startswith("Base: 4 respondents with a valid answer to 'a' (of 5 respondents)")
    assert "weighted" not in plain
    w = sv.frequencies(df, "a", weight="w").notes[0]
    assert w.startswith("Base: 4 respondents with a valid answer to 'a' (of 5 respondents); "
                        "weighted estimates: pct = weighted % of the valid answers (weighted "
                        "base 8 of 10)")
    where = sv.frequencies(df, "a", where=df["g"] == "x").notes[0]
    assert "(of 3 respondents within the where= filter)" in where
    mr_df = pd.DataFrame({"m_a": pd.array([True, False, True, None], dtype="boolean"),
                          "m_b": pd.array([True, True, False, None], dtype="boolean"),
                          "w": [1.0, 2, 3, 4]})
    note = sv.multi_response(mr_df, "m", weight="w").notes[0]
    assert note == ("Base: 3 respondents who answered the question; weighted estimates "
                    "(weighted base 6); 4 responses.")
