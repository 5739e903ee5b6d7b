"""Fuzzing templates, expressions and data files: a result or a SurveyError, nothing else.

Issue 12 (hostile input): whatever a shared template, a respondent or a platform export
holds, the toolkit answers with a result or a clear ``SurveyError``, never a traceback from
underneath (RecursionError, ValueError, OverflowError, a YAML or pandas error).
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survey as sv
from survey.errors import SurveyError
from survey.questionnaire.expressions import evaluate, parse_expression

FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

TOKENS = ["${age}", "${sex}", "${t}", ".", "..", "1", "0", "-3.5", "1e400", "'a'", "'('",
          "'^(a+)+$'", "+", "-", "*", "div", "mod", "=", "!=", "<", ">=", "and", "or", "(",
          ")", ",", "not(", "regex(", "substr(", "round(", "selected-at(", "selected(",
          "concat(", "if(", "count-selected(", "string-length(", "today()", "true()",
          "|", "/", "[", "]", "__import__(", "'\x00'", " "]

FRAME = pd.DataFrame({"age": [17, None, 30, 10**20], "sex": ["y", "n", None, "y n"],
                      "t": ["aaaaaaaaaaaaaaaaaaaaaaaa!", "", None, "=1+1"]})


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=60)
       | st.lists(st.sampled_from(["(", "-", "not("]), min_size=30, max_size=300).map(
           lambda xs: xs + ["1"]))
def test_expressions_parse_and_evaluate_or_raise_a_survey_error(tokens):
    text = "".join(tokens)
    try:
        tree = parse_expression(text)
    except SurveyError:
        return
    try:
        out = evaluate(tree, FRAME, current=FRAME["t"])
    except SurveyError:
        return
    assert len(out) == len(FRAME)


FRAGMENTS = [
    "id: t\n", "title: t\n", "title: {en: '<b>x</b>'}\n", "items:\n",
    "  - {name: a, type: text}\n", "  - {name: b, type: integer, range: [0, 9]}\n",
    "  - {name: c, type: select_one, list: yn}\n", "choice_lists: {yn: [y, n]}\n",
    "  - {group: g, items: [{name: d, type: text}]}\n",
    "  - {name: e, type: text, constraint: \"regex(., '^(a+)+$')\"}\n",
    "  - {name: f, type: integer, relevant: \"${b} > 1\"}\n",
    "checks: [{id: k, expr: \"${b} > 0\", message: m}]\n",
    "include: [/etc/passwd]\n", "include: ['../x.yaml']\n", "x_a: &a [l, l, l]\n",
    "x_b: [*a, *a, *a]\n", "x_c: !!python/object/apply:os.system ['true']\n",
    "missing_codes: [{code: -99, kind: no_answer}]\n", "\x00", "\t", ":", "- ", "{", "[",
    "'", "\"", "&b ", "*b", "? ", "---\n", "...\n", "%YAML 1.2\n",
]


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=25),
       st.text(max_size=20))
def test_templates_load_or_raise_a_survey_error(tmp_path_factory, fragments, noise):
    path = tmp_path_factory.mktemp("tpl") / "t.yaml"
    path.write_text("".join(fragments) + noise, encoding="utf-8", errors="surrogatepass")
    try:
        q = sv.load_questionnaire(path)
    except SurveyError:
        return
    assert q.id


TEMPLATE = """\
id: f
title: t
choice_lists: {yn: [y, n]}
items:
  - {name: rid, type: text, role: id}
  - {name: sex, type: select_one, list: yn}
  - {name: age, type: integer, range: [0, 120]}
  - {name: gains, type: select_multiple, list: yn}
  - {name: note, type: text, constraint: "regex(., '^([A-Za-z]+\\\\s?)+$')"}
"""
CELLS = ["", "y", "n", "y n", "x", "30", "-5", "inf", "1e19", "1e400", "NaN", "=1+1",
         "'=1+1", "@SUM(1)", "a\x0bb", "a\x00b", "\ufeff", '"', '""', "a,b", "\n", "\r\n",
         "Jonathan" + "a" * 30 + "1", "٣٠", "３０", "-99", "rid", "sex"]
HEADERS = ["rid", "sex", "age", "gains", "note", "gains_y", "gains/n", "sex.1", "=HYPERLINK()",
           "x" * 300, "", "age", "Age"]


@FUZZ
@given(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=8),
       st.lists(st.lists(st.sampled_from(CELLS), max_size=9), max_size=12),
       st.sampled_from([b"", b"\xef\xbb\xbf", b"\n\n"]), st.sampled_from([",", ";", "\t"]))
def test_data_files_read_or_raise_a_survey_error(tmp_path_factory, header, rows, prefix, sep):
    folder = tmp_path_factory.mktemp("data")
    t = folder / "t.yaml"
    t.write_text(TEMPLATE, encoding="utf-8")
    q = sv.load_questionnaire(t)
    path = folder / "d.csv"
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    path.write_bytes(prefix + "\n".join(lines).encode("utf-8"))
    try:
        s = sv.read_responses(path, q)
    except SurveyError:
        return
    v = s.validation
    assert len(s.data) + len(s.rejected) == v.rows_read
    assert v.rows_accepted == len(s.data)
