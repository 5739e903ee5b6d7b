"""Weighting behaviour: labels in any language, errors that say what is wrong, invariants."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import survey as sv
from survey.core.survey import Survey
from survey.errors import ConvergenceWarning, SurveyWarning, WeightingError
from survey.weighting import design_from_fieldwork, load_targets


@pytest.fixture(scope="module")
def flagship(tmp_path_factory):
    q = sv.load_questionnaire("grassroots_training")
    path = tmp_path_factory.mktemp("fw") / "responses.csv"
    sv.synthesize(q, n=366, seed=7).to_csv(path, index=False)
    return sv.read_responses(path, q)


RANK_ZH = {"正縣處級": 113, "副縣處級": 407, "正科級": 390, "副科級": 300, "其他": 237}


def test_flagship_nonresponse_then_rake_in_chinese(flagship):
    s1 = sv.nonresponse_adjust(flagship)  # issued / respondents per unit, from the template
    counts = flagship.data["unit"].value_counts()
    fw = {u.label["zh-Hant"]: u.issued for u in flagship.questionnaire.fieldwork.units}
    expected = flagship.data["unit"].map(lambda u: fw[u] / counts[u]).to_numpy(float)
    np.testing.assert_allclose(s1.weights, expected)
    assert s1.weights.sum() == pytest.approx(400)
    s2 = sv.rake(s1, {"rank_level": RANK_ZH})
    m = s2.weighting.margins
    np.testing.assert_allclose(m["achieved"], m["target"], rtol=1e-9)
    assert s2.weights.sum() == pytest.approx(sum(RANK_ZH.values()))
    # every later estimate carries the design (weights + raking residuals)
    p = sv.proportions(s2, "rank_level")
    assert np.allclose(p.se.to_numpy(), 0, atol=1e-10)  # calibrated margin: SE 0
    assert "calibration residuals (nonresponse" not in " ".join(p.notes)
    assert "raking" in " ".join(p.notes)


def test_targets_by_english_label_or_code_agree(flagship):
    en = dict(zip(("County/division head", "Deputy county/division head", "Section head",
                   "Deputy section head", "Other"), RANK_ZH.values()))
    codes = dict(zip(("1", "2", "3", "4", "5"), RANK_ZH.values()))
    w_zh = sv.rake(flagship, {"rank_level": RANK_ZH}).weights
    np.testing.assert_allclose(sv.rake(flagship, {"rank_level": en}).weights, w_zh)
    np.testing.assert_allclose(sv.rake(flagship, {"rank_level": codes}).weights, w_zh)


def test_design_from_fieldwork(flagship):
    s = design_from_fieldwork(flagship)
    d = s.design_info()
    assert s.design.strata == "unit" and d.n_strata == 4 and d.degf == 366 - 4
    assert s.weights.sum() == pytest.approx(400)  # issued counts = population sizes


def _df():
    return pd.DataFrame({"sex": ["m", "m", "m", "f", "f", "m"],
                         "age": ["y", "o", "y", "o", "y", "o"]})


def test_unknown_category_is_named_with_hint():
    with pytest.raises(WeightingError, match=r"category 'fem' is not one of its categories"):
        sv.rake(_df(), {"sex": {"m": 0.5, "fem": 0.5}})


def test_empty_target_cell_is_an_error():
    df = _df().assign(sex=pd.Categorical(_df()["sex"], categories=["m", "f", "x"]))
    with pytest.raises(WeightingError, match=r"without any respondent \(empty cells\): x"):
        sv.rake(df, {"sex": {"m": 40, "f": 40, "x": 20}})


def test_category_without_target_is_an_error():
    with pytest.raises(WeightingError, match=r"no value for categories that occur in the data: f"):
        sv.rake(_df(), {"sex": {"m": 100}})


def test_totals_that_disagree_are_an_error():
    with pytest.raises(WeightingError, match=r"disagree on the population total \(sex: 100, age: 90\)"):
        sv.rake(_df(), {"sex": {"m": 50, "f": 50}, "age": {"y": 45, "o": 45}})


def test_missing_margin_value_is_an_error():
    df = _df().assign(sex=["m", None, "m", "f", "f", "m"])
    with pytest.raises(WeightingError, match=r"'sex' is missing for 1 respondents"):
        sv.rake(df, {"sex": {"m": 0.5, "f": 0.5}})


def test_non_convergence_warns_and_is_reported():
    df = pd.DataFrame({"a": ["x", "x", "y"], "b": ["p", "q", "q"]})
    with pytest.warns(ConvergenceWarning, match="raking did not converge"):
        s = sv.rake(df, {"a": {"x": 0.5, "y": 0.5}, "b": {"p": 0.5, "q": 0.5}},
                    bounds=(0.9, 1.1), max_iter=5)
    assert not s.weighting.converged and "NOT CONVERGED" in " ".join(s.weighting.notes)


def test_trim_keeps_total_and_limits():
    df = pd.DataFrame({"w": [1.0, 1.0, 1.0, 1.0, 20.0]})
    s = sv.trim_weights(Survey.from_frame(df, weight="w"), upper=8)
    assert s.weights.max() <= 8 + 1e-12 and s.weights.sum() == pytest.approx(24)
    # R: trimWeights(d, upper = 8) shares the 12 trimmed equally: 1 + 12/4 = 4
    np.testing.assert_allclose(s.weights, [4, 4, 4, 4, 8])


def test_nonresponse_unknown_unit_is_an_error():
    df = pd.DataFrame({"unit": ["a", "b", "zz"]})
    with pytest.raises(WeightingError, match=r"without an issued count \(zz\)"):
        sv.nonresponse_adjust(df, "unit", issued={"a": 2, "b": 2})


def test_nonresponse_unit_without_respondents_warns():
    df = pd.DataFrame({"unit": ["a", "a"]})
    with pytest.warns(SurveyWarning, match="no respondent in the data: b"):
        sv.nonresponse_adjust(df, "unit", issued={"a": 4, "b": 3})


def test_load_targets(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("targets:\n  rank_level:\n    正縣處級: 113\n    副縣處級: 407\n", encoding="utf-8")
    assert load_targets(p) == {"rank_level": {"正縣處級": 113, "副縣處級": 407}}
    bad = tmp_path / "bad.yaml"
    bad.write_text("rank: {a: one}\n", encoding="utf-8")
    with pytest.raises(WeightingError, match=r"category 'a': expected a number, found 'one'"):
        load_targets(bad)


def test_input_survey_is_not_mutated():
    df = _df()
    s = Survey.from_frame(df)
    sv.rake(s, {"sex": {"m": 0.5, "f": 0.5}})
    assert list(s.data.columns) == ["sex", "age"] and s.weight is None and s.calibration == ()


@settings(max_examples=30, deadline=None)
@given(
    cells=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), min_size=12, max_size=60),
    p1=st.lists(st.floats(0.05, 1.0), min_size=3, max_size=3),
    p2=st.lists(st.floats(0.05, 1.0), min_size=4, max_size=4),
)
def test_rake_reproduces_targets(cells, p1, p2):
    a = np.array([c[0] for c in cells])
    b = np.array([c[1] for c in cells])
    if len(set(a)) < 3 or len(set(b)) < 4:
        return
    df = pd.DataFrame({"a": a.astype(str), "b": b.astype(str)})
    t1 = {str(i): v / sum(p1) for i, v in enumerate(p1)}
    t2 = {str(i): v / sum(p2) for i, v in enumerate(p2)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        s = sv.rake(df, {"a": t1, "b": t2}, max_iter=1000)
    m = s.weighting.margins
    if s.weighting.converged:  # structural zeros can make targets unattainable
        assert np.abs(m["deviation"]).max() <= 1e-6
        assert s.weights.sum() == pytest.approx(len(df))
    assert (s.weights >= 0).all()


def test_trim_single_pass_is_rs_default():
    # R trimWeights(strict = FALSE) (the default): one pass - 20 -> 8, the 12 trimmed shared
    # by the 5 others (+2.4), so 7.5 becomes 9.9 and stays; strict = TRUE repeats until inside
    df = pd.DataFrame({"w": [1.0, 1.0, 1.0, 1.0, 20.0, 7.5]})
    one = sv.trim_weights(Survey.from_frame(df, weight="w"), upper=8)
    np.testing.assert_allclose(one.weights, [3.4, 3.4, 3.4, 3.4, 8, 9.9])
    assert any("strict=True" in n for n in one.weighting.notes)
    strict = sv.trim_weights(Survey.from_frame(df, weight="w"), upper=8, strict=True)
    assert strict.weights.max() <= 8 + 1e-9
    assert strict.weights.sum() == pytest.approx(df["w"].sum())


def test_poststratify_absent_cell_refused_unless_partial():
    # R postStratify stops ("Some strata absent from sample: use partial=TRUE to ignore
    # them"); with partial = TRUE the absent stratum is ignored
    df = pd.DataFrame({"g": pd.Categorical(["a", "a", "b"], categories=["a", "b", "c"])})
    with pytest.raises(WeightingError, match=r"empty cells\): c.*partial=True"):
        sv.poststratify(df, "g", {"a": 10, "b": 20, "c": 30})
    s = sv.poststratify(df, "g", {"a": 10, "b": 20, "c": 30}, partial=True)
    np.testing.assert_allclose(s.weights, [5, 5, 20])
    assert any("ignored" in n for n in s.weighting.notes)


def test_calibrate_raking_derivative_is_rs_cal_raking():
    # R: cal.raking dF = ifelse(u < bounds[2] - 1 & u > bounds[1] - 1, exp(u), 0) - the
    # comparison is on u, not exp(u); the Newton steps (and convergence) follow R's
    from survey.weighting._calibrate import _calfun

    F, dF = _calfun("raking", (0.5, 1.2))
    u = np.array([-0.6, -0.4, 0.1, 0.15, 0.19, 0.25])
    np.testing.assert_allclose(dF(u), np.where((u < 0.2) & (u > -0.5), np.exp(u), 0.0))
    np.testing.assert_allclose(F(u), np.clip(np.exp(u), 0.5, 1.2))


def test_bounded_raking_calibration_reaches_totals():
    from test_weighting_reference import dsrs

    s = dsrs()
    tot = {"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122}}
    r = sv.calibrate(s, tot, method="raking", bounds=(0.93, 1.1))
    g = r.weights / s.weights
    assert r.weighting.converged and g.min() >= 0.93 - 1e-12 and g.max() <= 1.1 + 1e-12
    got = pd.Series(r.weights).groupby(s.data["stype"].to_numpy(), observed=True).sum()
    assert got.to_dict() == pytest.approx(tot["stype"], rel=1e-6)
