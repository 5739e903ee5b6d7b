"""Design-based banner letters against R's survey (tests/reference_r/banner_design.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import survey as sv

DATA = Path(__file__).resolve().parents[1] / "data"
REF = json.loads((DATA / "reference" / "banner_design.json").read_text())


@pytest.fixture(scope="module")
def dclus1():
    df = pd.read_csv(DATA / "apiclus1.csv")
    for c in ["stype", "awards", "sch.wide"]:
        df[c] = pd.Categorical(df[c], sorted(df[c].unique()))
    # R: dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
    return sv.Survey.from_frame(df, weight="pw", psu="dnum", fpc="fpc")


def test_mean_differences_match_svycontrast(dclus1):
    ref = REF["api00_by_stype"]
    b = sv.banner(dclus1, rows=["api00"], by=["stype"], correction="none", min_base=1)
    t = b.tests
    for pr in ref["pairs"]:
        g = t[(t.col_a == pr["ci"]) & (t.col_b == pr["cj"])].iloc[0]
        # R: svycontrast(svyby(~api00, ~stype, dclus1, svymean, covmat=TRUE), c(1, -1, 0) ...)
        assert g["statistic"] == pytest.approx(pr["diff"] / pr["se"], rel=1e-6)


@pytest.mark.parametrize("row,by", [("stype", "awards"), ("sch.wide", "stype")])
def test_column_proportion_differences_match_svycontrast(dclus1, row, by):
    ref = REF[f"{row}_by_{by}"]
    b = sv.banner(dclus1, rows=[row], by=[by], correction="none", min_base=1)
    t = b.tests
    for k, r in ref["rows"].items():
        for pr in r["pairs"]:
            got = t[(t.category == k) & (t.col_a == pr["ci"]) & (t.col_b == pr["cj"])]
            assert len(got) == 1
            g = got.iloc[0]
            # R: svycontrast(svyby(~I(row == k), ~by, dclus1, svymean, covmat=TRUE), c(1, -1))
            assert g["statistic"] == pytest.approx(pr["stat"], rel=1e-6)
            assert g["df"] == ref["degf"]
    assert any("design-based" in n for n in b.footnotes)


def _weights_only(seed=3, n=400):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "q": pd.Categorical.from_codes(rng.integers(-1, 3, n), list("abc")),
        "g": pd.Categorical.from_codes(rng.integers(-1, 3, n), list("xyz")),
        "w": rng.uniform(0.3, 3, n),
    })
    return df


def test_weights_only_closed_form_equals_general_path(monkeypatch):
    # the closed form from per-cell sums of squared weights against cell_totals_vcov
    from survey.core.design import Design

    df = _weights_only()
    fast = sv.banner(df, rows=["q"], by=["g"], weight="w", correction="none").tests
    monkeypatch.setattr(Design, "srs_scale", lambda self: None)
    slow = sv.banner(df, rows=["q"], by=["g"], weight="w", correction="none").tests
    np.testing.assert_allclose(fast.statistic, slow.statistic, rtol=1e-9)


def test_se_effective_keeps_kish_letters():
    df = _weights_only()
    eff = sv.banner(df, rows=["q"], by=["g"], weight="w", se="effective", correction="none")
    t = eff.tests
    sub = df.dropna()
    for _, r in t.iterrows():
        a, b_ = sub[sub.g == r.col_a], sub[sub.g == r.col_b]
        na, nb = (x.w.sum() ** 2 / (x.w**2).sum() for x in (a, b_))
        pa, pb = ((x.w * (x.q == r.category)).sum() / x.w.sum() for x in (a, b_))
        pool = (pa * na + pb * nb) / (na + nb)
        z = (pa - pb) / np.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
        assert r.statistic == pytest.approx(z, rel=1e-9)
    assert any("effective base" in n for n in eff.footnotes)
    with pytest.raises(sv.AnalysisError, match="se must be 'design' or 'effective'"):
        sv.banner(df, rows=["q"], by=["g"], weight="w", se="kish")


def test_banner_where_refuses_design_letters_that_would_drop_psus():
    # a where= filter that removes sampling units would rebuild the design on the filtered
    # rows (not R's subset() variance): refused with the alternatives named; se='effective'
    # and filters that keep every PSU still work
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"a": pd.Categorical(rng.choice(["x", "y"], 60)),
                       "g": pd.Categorical(rng.choice(["p", "q"], 60)),
                       "c": np.repeat(np.arange(6), 10), "w": rng.uniform(1, 3, 60)})
    weighted = sv.Survey.from_frame(df, weight="w")
    with pytest.raises(sv.AnalysisError, match="removes whole sampling units.*se='effective'"):
        sv.banner(weighted, rows=["a"], by=["g"], where=df["a"] == "x")
    sv.banner(weighted, rows=["a"], by=["g"], where=df["a"] == "x", se="effective")
    clustered = sv.Survey.from_frame(df, weight="w", psu="c")
    keep = df["c"] < 6  # every cluster kept
    sv.banner(clustered, rows=["a"], by=["g"], where=keep & (df.index % 10 != 0))
