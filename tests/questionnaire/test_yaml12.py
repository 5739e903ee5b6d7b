"""Templates load with YAML 1.2 core semantics: words that YAML 1.1 turned into booleans,
octal numbers, sexagesimals or dates stay what the author wrote."""

import textwrap

import pytest

import survey as sv
from survey.errors import QuestionnaireError
from survey.questionnaire import load_questionnaire

HEAD = """\
id: t
title: {en: T}
languages: {default: en, available: {en: {name: English}}}
"""


def load(tmp_path, body: str):
    path = tmp_path / "t.yaml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return load_questionnaire(path)


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "ON", "Off",
                                  "Y", "N"])
def test_yaml11_boolean_words_stay_choice_names(tmp_path, word):
    q = load(tmp_path, f"""\
        choice_lists:
          l: [{word}, other]
        items:
          - {{name: q, type: select_one, list: l}}
        """)
    assert q.choices("l").names() == [word, "other"]


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "YES"])
def test_yaml11_boolean_words_stay_labels(tmp_path, word):
    q = load(tmp_path, f"""\
        choice_lists:
          l: [{{name: "1", label: {{en: {word}}}}}, {{name: "2", label: {word}x}}]
        items:
          - {{name: q, type: select_one, list: l}}
        """)
    assert q.choices("l").choices[0].label == {"en": word}


def test_province_list_keeps_ontario_and_answers_match(tmp_path):
    q = load(tmp_path, """\
        choice_lists:
          prov: [QC, ON, BC, NO]
        items:
          - {name: province, type: select_one, list: prov}
        """)
    data = tmp_path / "d.csv"
    data.write_text("province\nON\nQC\nON\nNO\n", encoding="utf-8")
    s = sv.read_responses(data, q)
    assert s.data["province"].tolist() == ["ON", "QC", "ON", "NO"]
    assert s.validation.problems.empty


def test_true_false_are_still_booleans_and_numbers_are_decimal(tmp_path):
    q = load(tmp_path, """\
        missing_codes:
          - {code: -010, kind: nonresponse}
        choice_lists:
          l: ["010", 1:30, 2024-05-01]
        items:
          - {name: q, type: select_one, list: l, required: true}
        """)
    assert q.missing_codes[0].code == -10  # decimal, not YAML 1.1 octal
    assert q.choices("l").names() == ["010", "1:30", "2024-05-01"]
    assert q.question("q").required is True


def test_question_mark_in_flow_mapping_gets_a_hint_naming_it(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(HEAD + "items:\n  - {name: a, type: text, label: {en: How often do you "
                    "visit us?}}\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match=r"t\.yaml, line 5, column \d+: the file is not "
                       r"valid YAML: .*'\?' starts a key .* quote the text") as info:
        load_questionnaire(path)
    assert "\"How often do you visit us?\"" in str(info.value)


def test_to_yaml_round_trips_words_yaml11_would_change(tmp_path):
    q = load(tmp_path, """\
        choice_lists:
          l: [yes, no, "off", 010]
        items:
          - {name: q, type: select_one, list: l, label: {en: "on"}}
        """)
    out = tmp_path / "back.yaml"
    q.to_yaml(out)
    assert load_questionnaire(out) == q


def test_a_document_read_again_comes_back_equal_and_independent():
    from survey.questionnaire._yaml import read_yaml

    text = HEAD + "items:\n  - {name: a, type: text, label: {en: A}}\n  - {name: b, type: text}\n"
    first = read_yaml(text, "t.yaml")
    first[0]["items"][0]["name"] = "changed"  # a caller may change what it was given
    first[1][("items",)] = (99, 99)
    again = read_yaml(text, "t.yaml")
    assert again[0]["items"][0]["name"] == "a" and again[1][("items",)] != (99, 99)
    assert again == read_yaml(text + "\n", "t.yaml")  # a different text is parsed afresh
    refused = r"u\.yaml, line 2, column 1: the file is not valid YAML"
    with pytest.raises(QuestionnaireError, match=refused):
        read_yaml("a: [1\n", "u.yaml")
    with pytest.raises(QuestionnaireError, match=refused):  # a refusal is not remembered
        read_yaml("a: [1\n", "u.yaml")
