"""Hostile expressions: bounded work and an ExpressionError, never a traceback.

Defects D7 (ReDoS in regex()), D12 (RecursionError on deep expressions) and the D13 family
(substr/round/selected-at with bad constant arguments) of the hostile-input review.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

import survey as sv
from survey.questionnaire.expressions import ExpressionError, evaluate, parse_expression

FRAME = pd.DataFrame({"t": ["Jonathan" + "a" * 40 + "1", "Jonathan Smith", None],
                      "age": [1, 2, 3], "g": ["a b", "c", ""]})


@pytest.mark.parametrize("pattern, answer", [
    (r"^(a+)+$", "a" * 28 + "!"),
    (r"^([A-Za-z]+\s?)+$", "Jonathan" + "a" * 5000 + "1"),
    (r"^(\w+\s?)*$", "x" * 20000 + "!"),
])
def test_regex_is_linear_time_on_catastrophic_patterns(pattern, answer):
    frame = pd.DataFrame({"t": [answer] * 3 + ["aaa", "Jonathan Smith"]})
    t0 = time.process_time()
    out = evaluate(f"regex(${{t}}, '{pattern}')", frame).tolist()
    assert time.process_time() - t0 < 1.0
    assert out[:3] == [False, False, False]


def test_regex_keeps_search_semantics():
    frame = pd.DataFrame({"t": ["ab12", "x", None, ""]})
    assert evaluate(r"regex(${t}, '\d+')", frame).tolist() == [True, False, False, False]
    assert evaluate("regex(${t}, '^x$')", frame).tolist() == [False, True, False, False]


def test_regex_without_a_linear_time_guarantee_is_refused_at_parse():
    with pytest.raises(ExpressionError, match=r"invalid regular expression '\(a\)\\\\1'.*"
                       r"Hint: regex\(\) uses RE2 syntax \(linear time\)"):
        parse_expression(r"regex(${t}, '(a)\1')")


def test_redos_constraint_in_a_template_validates_fast(tmp_path):
    t = tmp_path / "re.yaml"
    t.write_text("id: re\ntitle: t\nitems:\n  - {name: rid, type: text, role: id}\n"
                 "  - {name: name, type: text, constraint: \"regex(., '^([A-Za-z]+\\\\s?)+$')\"}\n",
                 encoding="utf-8")
    d = tmp_path / "re.csv"
    d.write_text("rid,name\n1,Jonathan" + "a" * 3000 + "1\n2,Jonathan Smith\n", encoding="utf-8")
    t0 = time.process_time()
    s = sv.read_responses(d, sv.load_questionnaire(t))
    assert time.process_time() - t0 < 10
    rules = s.validation.to_frame()["rule"].tolist()
    assert rules.count("constraint") == 1


@pytest.mark.parametrize("text, message", [
    ("(" * 98 + "1" + ")" * 98, "nested more than 40 levels deep"),
    ("not(" * 89 + "true()" + ")" * 89, "nested more than 40 levels deep"),
    ("-" * 497 + "1", "nested more than 40 levels deep"),
    (" + ".join(["${age}"] * 491), "an expression more than 200 operations deep"),
    (" and ".join(["${age} > 0"] * 490), "an expression more than 200 operations deep"),
])
def test_deep_expressions_are_an_expression_error(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


def test_long_sums_within_the_limit_evaluate():
    text = " + ".join(["${age}"] * 150)
    assert evaluate(text, FRAME).tolist() == [150.0, 300.0, 450.0]


@pytest.mark.parametrize("text, message", [
    ("selected-at(${g}, 'abc')", "the position in selected-at() must be a whole number, "
                                 "found 'abc'"),
    ("selected-at(${g}, 1 div 0)", "the position in selected-at() must be a whole number, "
                                   "found 'inf'"),
    ("substr(${t}, 'x')", "substr() start must be a whole number, found 'x'"),
    ("substr(${t}, 0 div 0)", "substr() start must be a whole number"),
    ("round(${age}, 'x')", "round() places must be a whole number between -20 and 20"),
    ("round(${age}, 400)", "round() places must be a whole number between -20 and 20, "
                           "found '400'"),
])
def test_bad_constant_arguments_are_an_expression_error(text, message):
    with pytest.raises(ExpressionError) as err:
        evaluate(text, FRAME)
    assert message in str(err.value)


def test_good_constant_arguments_still_work():
    assert evaluate("selected-at(${g}, 1)", FRAME).tolist() == ["b", "", ""]
    assert evaluate("round(${age} div 3, 2)", FRAME).tolist() == [0.33, 0.67, 1.0]
    assert evaluate("substr(${g}, 0, 1)", FRAME).tolist() == ["a", "c", ""]


def test_deep_check_in_a_template_is_refused_at_load(tmp_path):
    total = " + ".join(["${age}"] * 600)
    t = tmp_path / "sum.yaml"
    t.write_text("id: s\ntitle: t\nitems:\n  - {name: age, type: integer}\n"
                 f"checks:\n  - {{id: c1, expr: \"{total} > 0\", message: m}}\n",
                 encoding="utf-8")
    with pytest.raises(sv.SurveyError, match="an expression more than 200 operations deep"):
        sv.load_questionnaire(t)
