"""reliability against R psych::alpha (classics.json) and factanal (omega); likert summaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import survey as sv
from survey.errors import AnalysisError

DATA = Path(__file__).parent.parent / "data"
REL = 1e-6


@pytest.fixture(scope="module")
def wide():
    return pd.read_csv(DATA / "pingouin_cronbach_alpha_wide.csv")


@pytest.fixture(scope="module")
def wide_missing():
    return pd.read_csv(DATA / "pingouin_cronbach_wide_missing.csv")


def test_alpha_complete(wide, classics):
    # R: psych::alpha(pq[, paste0('Q', 1:10)])
    v = classics["classic/cronbach_alpha/pingouin_cronbach_alpha_wide/Q1-Q10"]
    r = sv.reliability(wide, [f"Q{i}" for i in range(1, 11)])
    assert r.alpha == pytest.approx(v["raw_alpha"], rel=REL)
    assert r.alpha_standardized == pytest.approx(v["std_alpha"], rel=REL)
    assert r.average_r == pytest.approx(v["average_r"], rel=REL)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(v["feldt_ci_95"]), rel=REL)
    it = r.items
    np.testing.assert_allclose(it["r_drop"], v["item_r_drop"], rtol=REL)
    np.testing.assert_allclose(it["r_cor"], v["item_r_cor"], rtol=REL)
    np.testing.assert_allclose(it["raw_r"], v["item_raw_r"], rtol=REL)
    np.testing.assert_allclose(it["alpha_if_deleted"], v["alpha_if_dropped_raw"], rtol=REL)
    np.testing.assert_allclose(it["alpha_std_if_deleted"], v["alpha_if_dropped_std"], rtol=REL)
    np.testing.assert_allclose(it["mean"], v["item_mean"], rtol=REL)
    np.testing.assert_allclose(it["sd"], v["item_sd"], rtol=REL)


def test_omega_one_factor_ml(wide, extra):
    # R: fa <- factanal(covmat = cor(pq), factors = 1); 1 - sum(fa$uniquenesses) / sum(cor(pq))
    v = extra["omega/pingouin_cronbach_alpha_wide"]
    r = sv.reliability(wide, [f"Q{i}" for i in range(1, 11)])
    # both sides are iterative optimisations (R optim L-BFGS-B with factr 1e7): compare at 1e-5
    assert r.omega == pytest.approx(v["omega"], rel=1e-5)
    np.testing.assert_allclose(r.loadings, v["loadings"], rtol=1e-4, atol=1e-5)


def test_alpha_pairwise(wide_missing, classics):
    # R: psych::alpha(pm)   (use = "pairwise" by default)
    v = classics["classic/cronbach_alpha/pingouin_cronbach_wide_missing/Q1-Q11/pairwise"]
    r = sv.reliability(wide_missing, list(wide_missing.columns))
    assert r.alpha == pytest.approx(v["raw_alpha"], rel=REL)
    assert r.alpha_standardized == pytest.approx(v["std_alpha"], rel=REL)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(v["feldt_ci_95"]), rel=REL)
    np.testing.assert_allclose(r.items["r_drop"], v["item_r_drop"], rtol=REL)
    np.testing.assert_allclose(r.items["r_cor"], v["item_r_cor"], rtol=REL)
    # raw.r: psych correlates each item with the per-person mean of the answered items
    np.testing.assert_allclose(r.items["raw_r"], v["item_raw_r"], rtol=REL)
    np.testing.assert_allclose(r.items["mean"], v["item_mean"], rtol=REL)
    assert r.n == len(wide_missing.dropna(how="all"))
    assert "pairwise deletion" in r.notes[0]


def test_alpha_listwise(wide_missing, classics):
    # R: psych::alpha(na.omit(pm))  -- Feldt df1 = rows analysed - 1
    v = classics["classic/cronbach_alpha/pingouin_cronbach_wide_missing/Q1-Q11/listwise"]
    r = sv.reliability(wide_missing, list(wide_missing.columns), missing="listwise")
    assert r.alpha == pytest.approx(v["raw_alpha"], rel=REL)
    assert r.alpha_standardized == pytest.approx(v["std_alpha"], rel=REL)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(v["feldt_ci_95"]), rel=REL)
    np.testing.assert_allclose(r.items["r_drop"], v["item_r_drop"], rtol=REL, atol=1e-12)
    assert r.n == len(wide_missing.dropna())


def test_reverse_keyed(wide, classics):
    items = [f"Q{i}" for i in range(1, 11)]
    flipped = wide.copy()
    lo, hi = wide[items].min().min(), wide[items].max().max()
    flipped["Q3"] = (hi + lo) - wide["Q3"]
    r = sv.reliability(flipped, items, reverse=["Q3"])
    v = classics["classic/cronbach_alpha/pingouin_cronbach_alpha_wide/Q1-Q10"]
    assert r.alpha == pytest.approx(v["raw_alpha"], rel=REL)


def test_scale_from_template(wide):
    class Q:
        scales = {"attitude": {"items": ["Q1", "Q2", "Q3"], "reverse": ["Q2"]}}

    s = sv.Survey.from_frame(wide, questionnaire=None).replace(questionnaire=Q())
    r = sv.reliability(s, scale="attitude")
    assert list(r.items["item"]) == ["Q1", "Q2", "Q3"]
    assert r.items["reversed"].tolist() == [False, True, False]
    with pytest.raises(AnalysisError, match="scale 'nope' is not defined in the questionnaire; known scales: \\['attitude'\\]"):
        sv.reliability(s, scale="nope")


def test_likert():
    cats = ["strongly disagree", "disagree", "neutral", "agree", "strongly agree"]
    a = ["agree", "strongly agree", "neutral", "agree", None, "disagree"]
    b = ["disagree", "strongly disagree", "agree", "neutral", "agree", "strongly agree"]
    df = pd.DataFrame({
        "a": pd.Categorical(a, categories=cats, ordered=True),
        "b": pd.Categorical(b, categories=cats, ordered=True),
    })
    lk = sv.likert(df, ["a", "b"], reverse=["b"])
    items = lk.items.set_index("var")
    # a: values 4 5 3 4 . 2 -> n 5, mean 3.6, median 4, top2 = 3/5, bottom2 = 1/5
    assert items.loc["a", "n"] == 5
    assert items.loc["a", "mean"] == pytest.approx(3.6)
    assert items.loc["a", "sd"] == pytest.approx(np.std([4, 5, 3, 4, 2], ddof=1))
    assert items.loc["a", "median"] == 4
    assert items.loc["a", "top2"] == pytest.approx(60.0)
    assert items.loc["a", "bottom2"] == pytest.approx(20.0)
    assert list(lk.distribution.columns) == cats
    np.testing.assert_allclose(lk.distribution.sum(axis=1), 100.0)
    # scores: mean of a and reversed b (6 - b): b = 2 1 4 3 4 5 -> 4 5 2 3 2 1
    np.testing.assert_allclose(lk.scores.to_numpy(), [4.0, 5.0, 2.5, 3.5, 2.0, 1.5])
    assert "reverse-keyed: b" in lk.notes[1]


def test_errors(wide):
    with pytest.raises(AnalysisError, match="items \\['Q99'\\] are not in the data"):
        sv.reliability(wide, ["Q1", "Q99"])
    with pytest.raises(AnalysisError, match="missing must be 'pairwise' or 'listwise'"):
        sv.reliability(wide, ["Q1", "Q2"], missing="all")


def test_reverse_uses_scale_length_for_categorical_items():
    cats = ["1", "2", "3", "4", "5"]
    a = [1, 2, 3, 4, 2, 3, 1, 4]  # category 5 never chosen
    b = [4, 3, 2, 1, 3, 2, 4, 1]
    c = [2, 2, 3, 4, 1, 3, 2, 4]
    df = pd.DataFrame({k: pd.Categorical([str(x) for x in v], categories=cats, ordered=True)
                       for k, v in {"a": a, "b": b, "c": c}.items()})
    r = sv.reliability(df, ["a", "b", "c"], reverse=["b"])
    # with (k + 1) - x = 6 - b the reversed b is 2 3 4 5 3 4 2 5
    num = pd.DataFrame({"a": a, "b": [6 - x for x in b], "c": c}, dtype=float)
    assert r.alpha == pytest.approx(sv.reliability(num, ["a", "b", "c"]).alpha, rel=1e-12)
    assert "Reverse-keyed: b (6 − x)." in r.notes


def test_weighted_reliability_reports_svycralpha(wide):
    # R survey::svycralpha(~Q1 + ... + Q10, design): K/(K-1) (1 - sum svyvar(item) /
    # svyvar(total)); with equal weights it is the unweighted alpha (psych::alpha raw_alpha),
    # with other weights checked against frequency weights (rows repeated w times)
    items = [f"Q{i}" for i in range(1, 11)]
    eq = sv.Survey.from_frame(wide.assign(w=2.0), weight="w")
    r = sv.reliability(eq, items)
    assert r.alpha_design == pytest.approx(r.alpha, rel=1e-12)
    w = (np.arange(len(wide)) % 3 + 1).astype(float)
    rw = sv.reliability(sv.Survey.from_frame(wide.assign(w=w), weight="w"), items)
    big = wide.loc[wide.index.repeat(w.astype(int))]
    assert rw.alpha_design == pytest.approx(sv.reliability(big, items).alpha, rel=1e-10)
    assert any("svycralpha" in n for n in rw.notes)
