"""synthesize on a form with a repeat: the main table, and repeat rows consistent with their
parent (row counts from repeat_count, skip logic on the parent's answers), read back by
read_responses from a Kobo-style workbook without a problem (issue 11)."""

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

import survey as sv
from survey.errors import QuestionnaireError, SurveyError
from survey.fieldwork import synthesize_repeat
from survey.questionnaire import Questionnaire

FORM = {
    "id": "hh", "title": {"en": "Households"},
    "choice_lists": {"yn": ["yes", "no"], "sex": ["m", "f"]},
    "items": [
        {"name": "n", "type": "integer", "label": {"en": "People"}, "required": True,
         "constraint": ". >= 0 and . <= 6"},
        {"name": "head", "type": "select_one", "list": "yn", "required": True},
        {"repeat": "members", "repeat_count": "${n}", "items": [
            {"name": "age", "type": "integer", "constraint": ". < 120", "required": True},
            {"name": "sex", "type": "select_one", "list": "sex", "required": True,
             "relevant": "${head} = 'yes'"}]}]}


@pytest.fixture
def q():
    return Questionnaire.from_dict(FORM)


def test_main_table_has_no_repeat_questions(q):
    main = sv.synthesize(q, 30, seed=3)
    assert list(main.columns) == ["_row", "n", "head"]


def test_repeat_rows_follow_repeat_count_and_the_parents_skip_logic(q):
    main = sv.synthesize(q, 40, seed=3)
    members = synthesize_repeat(q, main, "members", seed=3)
    assert list(members.columns) == ["_row", "_parent_row", "age", "sex"]
    assert members["_row"].tolist() == list(range(2, len(members) + 2))
    per = members.groupby("_parent_row").size().reindex(main["_row"], fill_value=0)
    assert per.tolist() == main["n"].astype(int).tolist()  # an independent count per parent
    head = main.set_index("_row")["head"].reindex(members["_parent_row"]).to_numpy()
    asked = head == "yes"
    assert members["sex"].notna().to_numpy()[asked].all()
    assert members["sex"].isna().to_numpy()[~asked].all()
    assert (members["age"].astype(int) < 120).all()
    assert members.equals(synthesize_repeat(q, main, "members", seed=3))


def test_synthetic_household_reads_back_without_a_problem(q, tmp_path):
    main = sv.synthesize(q, 25, seed=5)
    members = synthesize_repeat(q, main, "members", seed=5)
    wb = Workbook()
    ws = wb.active
    ws.title = "Households"
    ws.append(["n", "head", "_index"])
    for r in main.itertuples():
        ws.append([int(r.n), r.head, int(r._1)])
    ws = wb.create_sheet("members")
    ws.append(["members/age", "members/sex", "_index", "_parent_index"])
    for i, r in enumerate(members.itertuples(), start=1):
        ws.append([int(r.age), r.sex, i, int(r._2)])
    p = tmp_path / "hh.xlsx"
    wb.save(p)
    s = sv.read_responses(p, q)
    m = s.repeats["members"]
    assert len(s.validation.to_frame()) == 0 and len(m.validation.to_frame()) == 0
    assert len(m.data) == len(members)
    got = s.repeat_summary("members")
    assert np.asarray(got, dtype=float).ravel().tolist() == \
        main["n"].astype(float).tolist()


def test_a_repeat_without_a_count_draws_per_parent_rows_in_the_range():
    q = Questionnaire.from_dict({"id": "r", "title": {"en": "R"}, "items": [
        {"name": "x", "type": "integer"},
        {"repeat": "visits", "items": [{"name": "d", "type": "integer"}]}]})
    main = sv.synthesize(q, 50, seed=1)
    rows = synthesize_repeat(q, main, "visits", seed=1, per_parent=(2, 3))
    per = rows.groupby("_parent_row").size().reindex(main["_row"], fill_value=0)
    assert set(per) <= {2, 3} and len(per) == 50


def test_bad_arguments_are_refused_with_their_names(q):
    main = sv.synthesize(q, 3, seed=1)
    with pytest.raises(QuestionnaireError, match="no repeat named 'member'"):
        synthesize_repeat(q, main, "member")
    with pytest.raises(SurveyError, match=r"counts its rows with \$\{n\}, which is not a "
                       "column of the parent table"):
        synthesize_repeat(q, main.drop(columns="n"), "members")
    with pytest.raises(SurveyError, match="no '_row' column"):
        synthesize_repeat(q, pd.DataFrame({"n": [1]}), "members")
