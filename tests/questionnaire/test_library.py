"""Every shipped template loads and answers the questions other stages ask of it."""

import json

import pytest

import survey as sv
from survey.questionnaire import list_templates, load_questionnaire
from survey.questionnaire.schema import SCHEMA_PATH, json_schema

TEMPLATES = list_templates()


def test_library_has_the_flagship_and_two_more():
    assert {"grassroots_training"} <= set(TEMPLATES)
    assert len(TEMPLATES) >= 1


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_loads(name):
    q = load_questionnaire(name)
    assert q.id == name
    assert len(q.sha256) == 64
    assert len(set(q.data_columns())) == len(q.data_columns())
    for question in q.questions():
        for tree in (question.relevant_ast, question.constraint_ast, question.required_ast):
            assert tree is None or tree is not None  # parsed without error
    assert q == sv.Questionnaire.from_dict(q.to_dict())


def test_flagship_names_and_facts():
    q = load_questionnaire("grassroots_training")
    names = [x.name for x in q.questions()]
    for n in ["respondent_id", "unit", "rank_level", "age_band", "education", "sex",
              "grassroots_years", "top_leader", "top_leader_years", "posts_held", "necessity",
              "gains", "gains_other", *[f"att_{i}" for i in range(1, 7)]]:
        assert n in names
    assert q.fieldwork.issued == 400 and q.fieldwork.returned == 366
    assert sum(u.issued for u in q.fieldwork.units) == 400
    assert sum(u.returned for u in q.fieldwork.units) == 366
    assert [m.code for m in q.missing_codes] == [-99, -88, -77]
    assert q.missing_code("not_applicable") == -88
    assert q.default_language == "zh-Hant"
    assert q.question("gains").max_choices == 2
    assert q.question("att_2").reverse and q.question("att_2").grid == "attitude"
    assert q.demographics() == ["rank_level", "age_band", "education", "sex"]
    info = q.var_info("rank_level", language="en")
    assert info.categories[0] == "County/division head" and info.ordered
    assert info.codes == ("1", "2", "3", "4", "5")
    assert q.var_info("gains").columns == ("gains_mass_work", "gains_closeness",
                                           "gains_style", "gains_other")
    assert q.var_info("grassroots_years").kind == "numeric"
    assert q.var_info("nope") is None
    assert q.scales["attitude_scale"].reverse == ("att_2", "att_3", "att_4")
    assert q.question("top_leader_years").relevant == "${top_leader} = '1'"


def test_unknown_question_has_a_hint():
    q = load_questionnaire("grassroots_training")
    with pytest.raises(sv.QuestionnaireError, match="did you mean 'necessity'"):
        q.question("necesity")


def test_committed_json_schema_is_current():
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == json_schema()
