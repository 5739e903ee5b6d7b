"""response_rates and synthesize."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import survey as sv
from survey import SurveyError
from survey.fieldwork import response_rates, synthesize
from survey.validation import validate

MINI = Path(__file__).resolve().parents[1] / "data" / "validation" / "mini.yaml"


@pytest.fixture(scope="module")
def q():
    return sv.load_questionnaire("grassroots_training")


def test_flagship_rates_from_the_template(q):
    r = response_rates(q)
    t = r.to_frame()
    assert t["unit"].tolist() == ["city", "county", "township", "public_inst", "total"]
    total = t.iloc[-1]
    assert (total["issued"], total["returned"]) == (400, 366)
    assert total["response_rate"] == pytest.approx(366 / 400)
    assert np.isnan(total["valid"])  # no data, no valid count in the template
    assert t.iloc[2]["response_rate"] == pytest.approx(109 / 120)
    assert "400 issued, 366 returned (91.5%)" in repr(r)
    assert "91.5" in r._repr_html_()


def test_rates_with_data_flag_units_over_returned(q):
    df = synthesize(q, 366, seed=3)
    # one township form keyed twice and one extra city form
    extra = df[df["unit"] == "city"].head(1)
    df = pd.concat([df, extra], ignore_index=True)
    df["_row"] = np.arange(2, len(df) + 2)
    res = validate(df, q)
    t = response_rates(q, res).to_frame().set_index("unit")
    assert t.loc["city", "rows"] == 93 and "exceed returned" in t.loc["city", "flag"]
    assert t.loc["total", "valid"] == len(res.data) == 366
    assert t.loc["total", "usable_rate"] == pytest.approx(366 / 400)
    # a plain frame of accepted rows works too
    t2 = response_rates(q, res.data).to_frame().set_index("unit")
    assert t2.loc["county", "valid"] == t.loc["county", "valid"]


def test_rates_need_fieldwork():
    mini = sv.load_questionnaire(MINI)
    with pytest.raises(SurveyError, match="no fieldwork block"):
        response_rates(mini)


def test_synthesize_is_deterministic_and_canonical(q):
    a = synthesize(q, 200, seed=11, missing_rate=0.05)
    b = synthesize(q, 200, seed=11, missing_rate=0.05)
    c = synthesize(q, 200, seed=12, missing_rate=0.05)
    assert a.equals(b) and not a.equals(c)
    assert a.columns[0] == "_row" and a["_row"].tolist()[:2] == [2, 3]
    names = [x.name for x in q.questions()]
    assert list(a.columns[1:]) == names


def test_synthesize_respects_the_template(q):
    df = synthesize(q, 500, seed=5, missing_rate=0.03)
    res = validate(df, q)
    rules = set(res.report.to_frame()["rule"])
    # skip logic, constraints, codes, limits and checks hold; only chance straightliners
    assert rules <= {"straightlining", "other_without_text"}
    assert len(res.rejected) == 0
    skipped = df["top_leader"] != "1"
    assert df.loc[skipped, "top_leader_years"].isna().all()
    ticks = df["gains"].fillna("").str.split().str.len()
    assert ticks.max() <= 2


def test_synthesize_targets_and_association(q):
    df = synthesize(q, 1000, seed=1, targets={"necessity": {"1": 0.8, "2": 0.1, "3": 0.1},
                                              "gains": {"mass_work": 0.6, "closeness": 0.3,
                                                        "style": 0.2, "other": 0.0}},
                    associations={"necessity": {"by": "rank_level", "shift": -1.5,
                                                "toward": "1"}})
    share = df["necessity"].value_counts(normalize=True)
    assert share["1"] == pytest.approx(0.8, abs=0.001)
    ticked = df["gains"].str.split().explode().value_counts() / len(df)
    assert ticked["mass_work"] == pytest.approx(0.6, abs=0.001)
    assert ticked["style"] == pytest.approx(0.2, abs=0.001)
    by_rank = (df["necessity"] == "1").groupby(df["rank_level"]).mean()
    assert by_rank["1"] > by_rank["4"] + 0.1


def test_synthesize_exclusive_and_grid_mini():
    mini = sv.load_questionnaire(MINI)
    df = synthesize(mini, 400, seed=2, targets={"fruits": {"none": 0.1, "apple": 0.6,
                                                            "pear": 0.4, "plum": 0.2,
                                                            "other": 0.05}})
    none = df["fruits"].fillna("").str.contains("none")
    assert (df.loc[none, "fruits"] == "none").all()
    assert none.mean() == pytest.approx(0.1, abs=0.01)
    # grid rows share a respondent factor: positively correlated
    g = df[["g_1", "g_2", "g_3"]].astype(float)
    assert g.corr().to_numpy()[np.triu_indices(3, 1)].min() > 0.2
    works_no = df["works"] == "2"
    assert df.loc[works_no, "hours"].isna().all()  # group relevance


def test_synthesize_bad_targets(q):
    with pytest.raises(SurveyError, match="no question named 'necesity'; did you mean "
                                          "'necessity'"):
        synthesize(q, 10, targets={"necesity": {"1": 1.0}})
    with pytest.raises(SurveyError, match="names unknown choices"):
        synthesize(q, 10, targets={"necessity": {"yes": 1.0}})
