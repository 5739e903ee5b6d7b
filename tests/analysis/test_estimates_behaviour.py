"""Estimates: shapes, plain DataFrames, domains, missing values, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import survey as sv
from survey.core.survey import Survey


def test_plain_dataframe_is_srs_with_replacement():
    # R: svymean(~x, svydesign(id = ~1, data = df)) -> SE = sd(x) / sqrt(n)
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    e = sv.mean(pd.DataFrame({"x": x}), "x")
    assert e.estimate == pytest.approx(x.mean())
    assert e.se == pytest.approx(x.std(ddof=1) / np.sqrt(len(x)), rel=1e-12)
    assert e.df == len(x) - 1
    assert e.deff == pytest.approx(1.0)  # no population scale: vs SRS with replacement


def test_domains_keep_full_design_and_frame_columns():
    df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "g": list("aabbcc"),
                       "s": list("xxxyyy"), "w": [1, 2, 1, 2, 1, 2.0]})
    s = Survey.from_frame(df, weight="w", strata="s")
    f = sv.mean(s, "y", by="g").to_frame()
    assert list(f.columns[:3]) == ["var", "by", "by_category"]
    for col in ["estimate", "se", "ci_low", "ci_high", "df", "deff", "n", "n_effective"]:
        assert col in f.columns
    assert list(f["by_category"]) == ["a", "b", "c"]
    # domain b straddles both strata; a domain estimate equals the subset mean ...
    assert f.loc[1, "estimate"] == pytest.approx((3 * 1 + 4 * 2) / 3)
    # ... but its SE is not that of a design rebuilt on the subset
    sub = Survey.from_frame(df[df.g == "b"], weight="w")
    assert f.loc[1, "se"] != pytest.approx(sv.mean(sub, "y").se)


def test_missing_values_are_dropped_with_weight_zero():
    df = pd.DataFrame({"y": [1.0, np.nan, 3.0, 5.0]})
    e = sv.mean(df, "y")
    assert e.estimate == pytest.approx(3.0) and e.n == 3
    assert "1 rows with a missing 'y'" in " ".join(e.notes)
    assert np.isnan(sv.mean(df, "y", na_rm=False).estimate)


def test_proportions_rows_and_logit_ci_inside_unit_interval():
    df = pd.DataFrame({"a": pd.Categorical(list("xxyyyz"), categories=["x", "y", "z"])})
    p = sv.proportions(df, "a")
    f = p.to_frame()
    assert list(f["category"]) == ["x", "y", "z"]
    assert f["estimate"].sum() == pytest.approx(1)
    assert ((f["ci_low"] > 0) & (f["ci_high"] < 1)).all()
    assert "svyciprop" in " ".join(p.notes)


def test_errors_are_clear():
    df = pd.DataFrame({"a": ["x", "y"], "y": [1.0, 2.0]})
    with pytest.raises(sv.AnalysisError, match="not numeric.*sv.proportions"):
        sv.mean(df, "a")
    with pytest.raises(sv.AnalysisError, match="'yy' is not in the data"):
        sv.mean(df, "yy")
    with pytest.raises(sv.AnalysisError, match="confidence must be between 0 and 1"):
        sv.mean(df, "y", confidence=95)


def test_design_errors_name_the_column():
    df = pd.DataFrame({"y": [1.0, 2, 3, 4], "s": ["a", "a", "b", "b"], "p": [1, 2, 1, 3]})
    with pytest.raises(sv.AnalysisError, match=r"PSU column 'p' is not nested in strata 's'"):
        sv.mean(Survey.from_frame(df, strata="s", psu="p"), "y")
    with pytest.raises(sv.AnalysisError, match="fpc must be all population counts"):
        sv.mean(Survey.from_frame(df.assign(f=[0.5, 0.5, 2, 2]), strata="s", fpc="f"), "y")
    with pytest.raises(sv.AnalysisError, match="implies more than 100% sampling"):
        sv.mean(Survey.from_frame(df.assign(f=[1, 1, 5, 5]), strata="s", fpc="f", weight="p"), "y")


def test_estimate_renders():
    e = sv.mean(pd.DataFrame({"y": [1.0, 2.0, 4.0]}), "y")
    assert repr(e).startswith("<Estimate: mean of y = 2.33333")
    assert "Mean of y" in e._repr_html_() and "normal quantile" in e._repr_markdown_()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-100, 100), st.floats(0.1, 10), st.integers(0, 2)),
                min_size=6, max_size=40))
def test_domain_totals_add_up_and_proportions_sum_to_one(rows):
    df = pd.DataFrame(rows, columns=["y", "w", "g"])
    s = Survey.from_frame(df, weight="w")
    tot = sv.total(s, "y")
    by = sv.total(s, "y", by="g")
    assert by.to_frame()["estimate"].sum() == pytest.approx(tot.estimate, abs=1e-6)
    p = sv.proportions(s.replace(data=df.assign(g=df.g.astype(str))), "g").to_frame()
    assert p["estimate"].sum() == pytest.approx(1)
    assert (p["se"] >= 0).all()


@pytest.mark.parametrize("values", [[], [np.nan, np.nan]])
@pytest.mark.parametrize("func", ["mean", "total"])
def test_no_valid_values_is_a_clear_error_not_an_index_error(func, values):
    df = pd.DataFrame({"y": pd.Series(values, dtype=float)})
    with pytest.raises(sv.AnalysisError, match=f"{func}: 'y' has no valid values"):
        getattr(sv, func)(df, "y")
