"""The expression parser (precedence, errors, no eval) and the vectorized evaluator."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.questionnaire.expressions import (
    BinOp,
    ExpressionError,
    Func,
    Neg,
    Num,
    Ref,
    Str,
    evaluate,
    names,
    parse_expression,
    to_text,
)


def test_precedence_follows_xpath():
    e = parse_expression("${a} = 1 or ${b} > 2 and ${c} + 1 * 2 != 3")
    assert e == BinOp("or", BinOp("=", Ref("a"), Num("1")),
                      BinOp("and", BinOp(">", Ref("b"), Num("2")),
                            BinOp("!=", BinOp("+", Ref("c"), BinOp("*", Num("1"), Num("2"))),
                                  Num("3"))))
    assert parse_expression("10 - 2 - 3") == BinOp("-", BinOp("-", Num("10"), Num("2")), Num("3"))
    assert parse_expression("-${x} mod 2") == BinOp("mod", Neg(Ref("x")), Num("2"))
    assert parse_expression("count-selected(.) <= 3").left == Func("count-selected", (
        parse_expression("."),))


def test_keyword_operators_only_in_operator_position():
    assert parse_expression("${a} div 2") == BinOp("div", Ref("a"), Num("2"))
    with pytest.raises(ExpressionError, match="bare name 'div'"):
        parse_expression("div")


@pytest.mark.parametrize("text, col, words", [
    ("${a} == 1", 6, "'==' is not an XLSForm operator"),
    ("${a} = 1 && ${b} = 2", 10, "'&&' is not an XLSForm operator. Hint: write 'and'"),
    ("${a} = 1 || ${b} = 2", 10, "'||' is not an XLSForm operator. Hint: write 'or'"),
    ("!${a}", 1, "'!' is not an XLSForm operator. Hint: write not(...)"),
    ("__import__('os')", 1, "unknown function '__import__'"),
    ("selectd(${a}, 'x')", 1, "unknown function 'selectd'. Hint: did you mean 'selected'?"),
    ("${a} = ", 8, "expected a value, found the end of the expression"),
    ("(${a} = 1", 10, "expected ')'"),
    ("age > 3", 1, "bare name 'age' is not allowed here. Hint: write ${age}"),
    ("${a} AND ${b}", 6, "keyword operators are lower case"),
    ("not(1, 2)", 1, "not() takes 1 argument(s), found 2"),
    ("${a b}", 1, "malformed reference"),
])
def test_errors_name_the_column(text, col, words):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert f"column {col}: " in str(info.value)
    assert words in str(info.value)
    assert info.value.pos == col - 1


def test_unevaluated_functions_parse_but_do_not_evaluate():
    e = parse_expression("pulldata('f', 'c', 'k', ${a}) + position(..)")
    assert names(e) == {"a"}
    with pytest.raises(ExpressionError, match=r"pulldata\(\) is kept for XLSForm but is not "
                       "evaluated"):
        evaluate(e, pd.DataFrame({"a": [1]}))
    path = parse_expression("instance('lst')/root/item[name = ${a}]/label")
    assert to_text(path) == "instance('lst')/root/item[name = ${a}]/label"


FRAME = pd.DataFrame({
    "age": [17, np.nan, 30, 18],
    "code": ["1", "01", None, "2"],
    "multi": ["a other", "", None, "b"],
    "txt": ["abc", "", None, "x y  z"],
})


def ev(text, **kw):
    return evaluate(text, FRAME, **kw).tolist()


def test_empty_is_nan_in_comparisons():
    assert ev("${age} < 18") == [True, False, False, False]
    assert ev("${age} >= 18") == [False, False, True, True]
    assert ev("not(${age} >= 18)") == [True, True, False, False]
    assert ev("${age} != 17") == [False, True, True, True]


def test_numeric_vs_string_equality():
    assert ev("${code} = 1") == [True, True, False, False]       # numeric: '01' = 1
    assert ev("${code} = '1'") == [True, False, False, False]    # string
    assert ev("${code} = ''") == [False, False, True, False]


def test_selected_on_multi_and_count():
    assert ev("selected(${multi}, 'other')") == [True, False, False, False]
    assert ev("selected(${multi}, 'a')") == [True, False, False, False]
    assert ev("count-selected(${multi})") == [2, 0, 0, 1]
    assert ev("selected-at(${multi}, 1)") == ["other", "", "", ""]


def test_string_functions():
    assert ev("string-length(${txt})") == [3, 0, 0, 6]
    assert ev("contains(${txt}, 'b')") == [True, False, False, False]
    assert ev("normalize-space(${txt})") == ["abc", "", "", "x y z"]
    assert ev("concat(${txt}, '-', ${age})") == ["abc-17", "-", "-30", "x y  z-18"]
    assert ev("regex(${txt}, '^a')") == [True, False, False, False]
    assert ev("substr(${txt}, 1, 2)") == ["b", "", "", " "]
    assert ev("starts-with(${txt}, 'x')") == [False, False, False, True]


def test_numbers_and_if_coalesce():
    assert ev("coalesce(${age}, 0) + 1") == [18, 1, 31, 19]
    assert ev("if(${age} > 20, 'old', 'young')") == ["young", "young", "old", "young"]
    rounded = evaluate("round(${age} div 4)", FRAME)
    assert rounded.isna().tolist() == [False, True, False, False]
    assert rounded.dropna().tolist() == [4, 8, 5]  # 4.25, 7.5, 4.5: half rounds up
    assert ev("int(7 div 2)")[0] == 3 and ev("7 mod 3")[0] == 1
    assert ev("round(2.5)")[0] == 3 and ev("round(1.2345, 2)")[0] == pytest.approx(1.23)


def test_current_and_today():
    cur = pd.Series([5, 50, None, 3])
    assert evaluate(". >= 0 and . <= 40", FRAME, current=cur).tolist() == [True, False, False,
                                                                            True]
    dates = pd.DataFrame({"d": ["2024-01-01", "2030-01-01", None]})
    assert evaluate("${d} < today()", dates, today=dt.date(2025, 1, 1)).tolist() == [
        True, False, False]


def test_unknown_column_is_a_clear_error():
    with pytest.raises(ExpressionError, match=r"\$\{agee\} is not a column of the data.*did you "
                       "mean 'age'"):
        evaluate("${agee} > 1", FRAME)


# --- round trip of printing ----------------------------------------------------------------------
refs = st.sampled_from(["${a}", "${b_1}", ".", "${x.y}"])
atoms = st.one_of(refs, st.integers(0, 99).map(str), st.sampled_from(["'x'", '"it\'s"', "1.5"]))


def _binary(children):
    ops = st.sampled_from(["or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div",
                           "mod"])
    return st.one_of(
        st.tuples(children, ops, children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f"not({c})"),
        st.tuples(children, children).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
        children.map(lambda c: f"selected({c}, 'a')"),
    )


expressions = st.recursive(atoms, _binary, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(expressions)
def test_print_then_parse_is_identity(text):
    tree = parse_expression(text)
    assert parse_expression(to_text(tree)) == tree


def test_strings_keep_their_quotes_meaning():
    assert parse_expression('"it\'s"') == Str("it's")
    assert to_text(Str("it's")) == '"it\'s"'
