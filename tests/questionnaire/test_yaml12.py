"""Templates load with YAML 1.2 core semantics: words that YAML 1.1 turned into booleans,
octal numbers, sexagesimals or dates stay what the author wrote."""

import textwrap
from pathlib import Path

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


def test_question_mark_ending_a_label_in_a_flow_mapping_is_text(tmp_path):
    """``{en: How often do you visit us?}``: libyaml (the parser used) reads the '?' as
    part of the label, as YAML 1.2 has it."""
    path = tmp_path / "t.yaml"
    path.write_text(HEAD + "items:\n  - {name: a, type: text, label: {en: How often do you "
                    "visit us?}}\n", encoding="utf-8")
    q = load_questionnaire(path)
    assert q.var_info("a", language="en").label == "How often do you visit us?"


def test_question_mark_in_flow_mapping_gets_a_hint_on_the_python_parser(tmp_path, monkeypatch):
    """Without libyaml (or for a document nested too deep for it) PyYAML's own parser reads
    the '?' as a key indicator and fails; the message then names the cause and the fix."""
    from survey.questionnaire import _yaml

    monkeypatch.setattr(_yaml, "CCoreLoader", None)
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


def _yaml_files():
    root = Path(__file__).resolve().parents[2]
    return sorted([*root.glob("questionnaires/**/*.yaml"), *root.glob("tests/**/*.yaml"),
                   *root.glob("notebooks/*.yaml")])


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: p.name)
def test_libyaml_and_pyyaml_read_every_shipped_template_alike(path):
    """The C parser (used) and PyYAML's own (the fallback) give the same data, the same line
    and column of every key, item and value, and the same duplicate keys."""
    from survey.questionnaire import _yaml

    text = path.read_text(encoding="utf-8")
    assert _yaml._c_safe(text)
    c_loader = _yaml.CCoreLoader
    assert c_loader is not None  # PyYAML is built with libyaml here
    try:
        fast = _yaml._parse(text, str(path))
        _yaml.CCoreLoader = None
        slow = _yaml._parse(text, str(path))
    finally:
        _yaml.CCoreLoader = c_loader
    assert fast == slow


@pytest.mark.parametrize("text", [
    "a: " + "[" * 3000 + "]" * 3000,
    "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 1200)),
    "- " * 1500 + "x\n",
])
def test_documents_that_could_nest_too_deep_for_libyaml_go_to_pyyaml(text, monkeypatch):
    """libyaml's composer recurses in C (a document nested ~40,000 levels deep overflows the
    stack of a thread); a document whose nesting bound exceeds C_MAX_NESTING is read by
    PyYAML's parser instead, which refuses it (MAX_DEPTH) with a message."""
    from survey.questionnaire import _yaml

    assert not _yaml._c_safe(text)
    used = []
    real = _yaml.CoreLoader
    monkeypatch.setattr(_yaml, "CoreLoader", lambda t: used.append(1) or real(t))
    with pytest.raises(QuestionnaireError, match="expected a template of bounded size"):
        _yaml._parse(text, "deep.yaml")
    assert used
