"""Bad templates: one test per kind of problem, checking the wording and the line number."""

import textwrap

import pytest

from survey.errors import QuestionnaireError
from survey.questionnaire import load_questionnaire

HEAD = """\
schema: survey-template/1
id: t
title: {en: T}
languages: {default: en, available: {en: {name: English}}}
choice_lists:
  agree5: {ordered: true, choices: ["1", "2", "3", "4", "5"]}
  multi: [a, b, other, none]
"""


def load_text(tmp_path, body: str, name: str = "t.yaml"):
    path = tmp_path / name
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return load_questionnaire(path)


def problems(tmp_path, body: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as info:
        load_text(tmp_path, body)
    return info.value.problems


def one_problem(tmp_path, body: str) -> str:
    found = problems(tmp_path, body)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("text,message", [
    # a syntax error keeps YAML's own line and column
    ("id: t\nitems:\n  - name: a: b\n",
     r"t\.yaml, line 3, column 12: the file is not valid YAML: mapping values are not allowed"),
    # ``{en: Yes, or no?}`` splits the label at the comma (a second key 'or no?'): the
    # template check names the line, the item, the key and the fix
    ("id: t\nitems:\n  - {name: a, label: {en: Yes, or no?}}\n",
     r"t\.yaml, line 3, column \d+, item 'a', key 'or no\?'.*Hint: quote texts that contain "
     r"', '"),
])
def test_yaml_mistakes_are_named_with_line_and_column(tmp_path, text, message):
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QuestionnaireError, match=message):
        load_questionnaire(path)


def test_unknown_key_with_hint_and_line(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - name: q1
            type: text
            lable: {en: Q}
        """)
    assert "t.yaml, line 11, column 5, item 'q1', key 'lable': expected a known question key" in msg
    assert msg.endswith("found 'lable'. Hint: did you mean 'label'?")


def test_extension_keys_are_allowed(tmp_path):
    q = load_text(tmp_path, """\
        items:
          - {name: q1, type: text, x_print_width: 3}
        """)
    assert q.question("q1").model_extra == {"x_print_width": 3}


def test_duplicate_name(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - {name: q1, type: text}
          - {name: q1, type: integer}
        """)
    assert "line 10, column 6, item 'q1', key 'name': expected a unique name" in msg
    assert "found 'q1' again (first at" in msg and "line 9" in msg


def test_select_without_list(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - {name: q1, type: select_one}
        """)
    assert "line 9, column 5, item 'q1': expected a 'list' key naming a choice list, found none" \
        in msg


def test_misspelt_list_name(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - name: q1
            type: select_one
            list: agre5
        """)
    assert "line 11, column 5, item 'q1', key 'list': expected the name of a choice list, found " \
        "'agre5'. Hint: did you mean 'agree5'?" in msg


def test_unknown_type(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - {name: q1, type: integr}
        """)
    assert "item 'q1', key 'type': expected a question type, found 'integr'. Hint: did you mean " \
        "'integer'?" in msg


def test_unknown_reference_but_forward_reference_is_fine(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - {name: q1, type: integer, relevant: "${q2} > 1"}
          - {name: q2, type: integer, relevant: "${q3} > 1"}
        """)
    assert "line 10, column 31, item 'q2', key 'relevant': expected references to questions of " \
        "this template, found ${q3} in '${q3} > 1'" in msg


def test_rejected_operator_with_position(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - name: q1
            type: integer
            relevant: "${q1} == 1"
        """)
    assert "line 11, column 5, item 'q1', key 'relevant': expected a valid XLSForm expression, " \
        "found '${q1} == 1' at character 7 (line 11, column 22): '==' is not an XLSForm " \
        "operator. Hint: write '=' to compare." in msg


def test_fieldwork_totals(tmp_path):
    found = problems(tmp_path, """\
        fieldwork:
          units:
            - {id: a, issued: 10, returned: 12}
            - {id: b, issued: 10, returned: 5}
          issued: 30
          returned: 17
        """)
    assert len(found) == 2
    assert "line 10, column 27, item 'a', key 'returned': expected returned ≤ issued (10) for " \
        "unit 'a', found 12." in found[0]
    assert "line 12, column 3, key 'issued': expected issued = the sum over units (20), found 30" \
        in found[1]


def test_scale_with_unknown_item(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - grid: g
            list: agree5
            rows: [{name: g_1}, {name: g_2}]
        scales:
          s: {items: [g_1, g_3]}
        """)
    assert "line 13, column 20, item 's': expected the name of a question, found 'g_3'. Hint: " \
        "did you mean 'g_2'?" in msg


def test_check_with_bad_expression_and_severity(tmp_path):
    found = problems(tmp_path, """\
        items:
          - {name: q1, type: integer}
        checks:
          - {id: c1, expr: "${q1} && 1", severity: fatal}
        """)
    assert "line 11, column 14, item 'c1', key 'expr': expected a valid XLSForm expression, found " \
        "'${q1} && 1' at character 7" in found[0] and "write 'and'" in found[0]
    assert "key 'severity': expected warning or error, found 'fatal'" in found[1]


def test_unknown_function_is_a_problem_not_a_call(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - {name: q1, type: integer, constraint: "__import__('os')"}
        """)
    assert "unknown function '__import__'" in msg


def test_other_and_exclusive(tmp_path):
    found = problems(tmp_path, """\
        items:
          - name: q1
            type: select_multiple
            list: multi
            other: {choice: othr, text: q1_other_text}
            exclusive: [nope]
        """)
    assert "key 'choice': expected a choice of list 'multi', found 'othr'. Hint: did you mean " \
        "'other'?" in found[0]
    assert "key 'exclusive': expected choices of list 'multi', found 'nope'" in found[1]


def test_odk_other_text_name_is_accepted_and_gets_its_own_column(tmp_path):
    q = load_text(tmp_path, """\
        items:
          - {name: q1, type: select_multiple, list: multi, other: {text: q1_other}}
        """)
    assert q.data_columns() == ["q1_a", "q1_b", "q1_other", "q1_none", "q1_other_text"]
    assert q.var_info("q1_other").columns == ("q1_other_text",)


def test_all_problems_reported_together(tmp_path):
    with pytest.raises(QuestionnaireError) as info:
        load_text(tmp_path, """\
            items:
              - {name: q1, type: integr}
              - {name: q2, type: select_one, list: agre5}
            """)
    text = str(info.value)
    assert text.splitlines()[0].endswith("t.yaml: 2 problems in the questionnaire template:")
    assert len(info.value.problems) == 2


def test_duplicate_yaml_key(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - name: q1
            type: text
            type: integer
        """)
    assert "line 11, column 5: expected each key once per mapping, found key 'type' repeated" in msg


def _write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_include_cycle(tmp_path):
    _write(tmp_path / "a.yaml", """\
        include: [b.yaml]
        choice_lists: {x: [a]}
        """)
    _write(tmp_path / "b.yaml", """\
        include: [a.yaml]
        """)
    msg = one_problem(tmp_path, """\
        include: [a.yaml]
        items: [{name: q1, type: text}]
        """)
    assert "b.yaml, line 1, column 11, key 'file': expected includes without a cycle" in msg
    assert "a.yaml -> " in msg and "b.yaml -> " in msg


def test_include_name_clash(tmp_path):
    _write(tmp_path / "lists.yaml", """\
        choice_lists:
          agree5: [x, y]
        """)
    msg = one_problem(tmp_path, """\
        include: [{file: lists.yaml}]
        items: [{name: q1, type: text}]
        """)
    assert "line 6, column 3, key 'agree5': expected one definition of choice list 'agree5', found a second " \
        "one (also defined at" in msg and "lists.yaml, line 2" in msg


def test_include_lists_and_blocks(tmp_path):
    _write(tmp_path / "lib.yaml", """\
        choice_lists:
          yn: [y, n]
        blocks:
          bg:
            - {name: q_bg, type: select_one, list: yn}
        """)
    q = load_text(tmp_path, """\
        include: [{file: lib.yaml, lists: [yn], blocks: [bg]}]
        items:
          - group: g
            items: [{block: bg}]
        """)
    assert q.question("q_bg").list_name == "yn"
    assert "yn" in q.choice_lists


def test_unknown_block_and_list_in_include(tmp_path):
    _write(tmp_path / "lib.yaml", """\
        choice_lists: {yn: [y, n]}
        """)
    found = problems(tmp_path, """\
        include: [{file: lib.yaml, lists: [yes_no]}]
        items: [{block: backgrund}]
        """)
    assert "line 8, column 36: expected a choice list defined in " in found[0]
    assert "lib.yaml, found 'yes_no'. Hint: it offers ['yn']." in found[0]
    assert "key 'block': expected a block defined in this file or an included one, found " \
        "'backgrund'" in found[1]


def test_missing_file():
    with pytest.raises(QuestionnaireError, match="grassroots_trainng.*did you mean "
                       "'grassroots_training'"):
        load_questionnaire("grassroots_trainng")


def test_value_errors_from_the_model_are_located(tmp_path):
    found = problems(tmp_path, """\
        items:
          - {name: a, type: integer, measure: ratio}
        fieldwork:
          period: {start: yesterday}
        """)
    assert "line 9, column 30, item 'a', key 'measure': expected 'nominal', 'ordinal' or " \
        "'scale', found 'ratio'." in found[0]
    assert "line 11, column 12, key 'start': expected a valid date" in found[1]


def test_recode_bands(tmp_path):
    found = problems(tmp_path, """\
        items:
          - {name: a, type: integer, recode: {bins: [0, 5, 3]}}
          - {name: b, type: integer, recode: {bins: [0, 5], labels: [x]}}
        """)
    assert "line 9, column 39, item 'a', key 'bins': expected increasing numbers" in found[0]
    assert "item 'b', key 'labels': expected 2 labels, one per band" in found[1]


def test_unknown_language_tag(tmp_path):
    msg = one_problem(tmp_path, """\
        items:
          - {name: a, type: text, label: {en: A, zh-hans: 甲}}
        """)
    assert "line 9, column 42, item 'a', key 'zh-hans': expected a language of the template (en)" \
        in msg


def test_included_texts_keep_only_the_template_languages(tmp_path):
    q = load_text(tmp_path, """\
        include: [{file: blocks/demographics, blocks: [cadre_background]}]
        items: [{block: cadre_background}]
        """)
    assert q.question("sex").label == {"en": "Your sex"}
    assert q.choices("sex").choices[0].label == {"en": "Male"}
