"""Validation rules, policies, missing codes and the report, on a small template."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survey as sv
from survey.errors import ValidationError
from survey.validation import ValidationReport, validate

HERE = Path(__file__).resolve().parent
MINI = HERE.parent / "data" / "validation" / "mini.yaml"
COLS = ["rid", "start", "end", "works", "hours", "age", "born", "fruits", "fruits_text",
        "g_1", "g_2", "g_3"]


@pytest.fixture(scope="module")
def q():
    return sv.load_questionnaire(MINI)


def frame(*rows):
    df = pd.DataFrame([dict(zip(COLS, r)) for r in rows], columns=COLS)
    df = df.astype(object).where(df.notna(), None)
    df.insert(0, "_row", range(2, len(df) + 2))
    return df


T0 = "2023-05-10T09:00:00"


def ok_row(rid, minutes=20, **over):
    base = dict(rid=rid, start=T0, end=str(pd.Timestamp(T0) + pd.Timedelta(minutes=minutes)),
                works="1", hours="40", age="30", born="1993-01-02", fruits="apple",
                fruits_text=None, g_1="1", g_2="2", g_3="3")
    base.update(over)
    return [base[c] for c in COLS]


def problems(res):
    return res.report.to_frame()


def rules_at(res, row):
    p = problems(res)
    return sorted(p.loc[p["row"] == row, "rule"])


def test_clean_data_has_no_problem_and_typed_columns(q):
    res = validate(frame(ok_row("a"), ok_row("b", works="2", hours=None)), q)
    assert len(res.report) == 0
    d = res.data
    assert d.index.name == "row" and d.index.tolist() == [2, 3]
    assert isinstance(d["works"].dtype, pd.CategoricalDtype)
    assert list(d["works"].cat.categories) == ["Yes", "No"]
    assert d["g_1"].cat.ordered
    assert str(d["hours"].dtype) == "Int64" and d["hours"].tolist()[0] == 40
    assert pd.api.types.is_datetime64_any_dtype(d["born"])
    assert [c for c in d.columns if c.startswith("fruits_")] == [
        "fruits_apple", "fruits_pear", "fruits_plum", "fruits_none", "fruits_other",
        "fruits_text"]
    assert str(d["fruits_apple"].dtype) == "boolean"
    # not relevant (works = 2) -> not applicable code; answered -> <NA>
    assert res.missing.loc[3, "hours"] == -8
    assert pd.isna(res.missing.loc[2, "hours"])


def test_unknown_code_double_mark_and_type(q):
    res = validate(frame(ok_row("a", works="3"), ok_row("b", works="1 2"),
                         ok_row("c", age="thirty"), ok_row("d", born="not a date")), q,
                   language="en")
    p = problems(res)
    assert rules_at(res, 2) == ["unknown_code"]
    assert "'3' is not a code of 'works'" in p.loc[p["row"] == 2, "message"].iloc[0]
    assert "several boxes marked" in p.loc[p["row"] == 3, "message"].iloc[0]
    assert rules_at(res, 4) == ["type"]
    assert "'thirty' is not a whole number" in p.loc[p["row"] == 4, "message"].iloc[0]
    assert rules_at(res, 5) == ["type"]
    # set to missing with the invalid code; the original value is in the report
    assert pd.isna(res.data.loc[2, "works"]) and res.missing.loc[2, "works"] == -7
    assert res.missing.loc[4, "age"] == -7
    assert p.loc[p["row"] == 3, "value"].iloc[0] == "1 2"


def test_relevance_required_constraint(q):
    res = validate(frame(
        ok_row("a", hours=None),  # relevant and required -> required
        ok_row("b", works="2", hours="10"),  # group not relevant -> skip_violation
        ok_row("c", hours="90"),  # out of range -> constraint, set missing
        ok_row("d", works=None, hours=None),  # works required
    ), q)
    assert rules_at(res, 2) == ["required"]
    assert res.missing.loc[2, "hours"] == -9
    assert rules_at(res, 3) == ["skip_violation"]
    assert res.data.loc[3, "hours"] == 10  # kept by default (flag)
    assert rules_at(res, 4) == ["constraint"]
    assert pd.isna(res.data.loc[4, "hours"]) and res.missing.loc[4, "hours"] == -7
    # works blank: required; hours: group relevance `${works} = '1'` false -> not applicable
    assert rules_at(res, 5) == ["required"]
    assert res.missing.loc[5, "hours"] == -8


def test_skip_violation_policy_blank(q):
    res = validate(frame(ok_row("b", works="2", hours="10")), q,
                   policies={"skip_violation": "blank"})
    assert pd.isna(res.data.loc[2, "hours"]) and res.missing.loc[2, "hours"] == -8
    assert res.report.problems["action"].tolist() == ["set_missing"]


def test_multi_rules(q):
    res = validate(frame(
        ok_row("a", fruits="apple pear plum"),
        ok_row("b", fruits="none apple"),
        ok_row("c", fruits="other"),
        ok_row("d", fruits="apple", fruits_text="kiwi"),
        ok_row("e", fruits="apple banana"),
    ), q)
    assert rules_at(res, 2) == ["max_choices"]
    assert rules_at(res, 3) == ["exclusive"]
    assert rules_at(res, 4) == ["other_without_text"]
    assert rules_at(res, 5) == ["text_without_other"]
    assert rules_at(res, 6) == ["unknown_code"]
    d = res.data
    assert d.loc[2, ["fruits_apple", "fruits_pear", "fruits_plum"]].tolist() == [True] * 3
    assert pd.isna(d.loc[6, "fruits_apple"])  # unknown token -> whole answer invalid
    assert res.missing.loc[6, "fruits"] == -7


def test_duplicates_blank_forms_and_incomplete(q):
    a = ok_row("a")
    df = frame(a, a, ok_row("b", age="31"), ok_row("b", age="32"),
               ok_row("z", start=None, end=None, works=None, hours=None, age=None, born=None,
                      fruits=None, g_1=None, g_2=None, g_3=None),
               ok_row("y"))
    df["_incomplete"] = [False, False, False, False, False, True]
    res = validate(df, q, language="en")
    p = problems(res)
    assert sorted(res.rejected.index) == [3, 6, 7]
    assert res.rejected.loc[3, "rule"] == "duplicate_id"
    assert "exact copy of row 2" in res.rejected.loc[3, "reason"]
    assert res.rejected.loc[6, "rule"] == "blank_form"
    assert res.rejected.loc[7, "rule"] == "incomplete"
    conflict = p[(p["rule"] == "duplicate_id") & (p["severity"] == "error")]
    assert conflict["row"].tolist() == [4, 5]
    assert "rows 4, 5 with different answers" in conflict["message"].iloc[0]
    assert {4, 5} <= set(res.data.index)
    # the blank form gets only its own problem (no 'required' noise)
    assert rules_at(res, 6) == ["blank_form"]


def test_straightlining_speeder_and_checks(q):
    rows = [ok_row(f"r{i}", minutes=20) for i in range(8)]
    rows.append(ok_row("fast", minutes=3))
    rows.append(ok_row("flat", g_1="2", g_2="2", g_3="2"))
    rows.append(ok_row("kid", age="15", hours="50"))
    res = validate(frame(*rows), q, language="en")
    assert rules_at(res, 10) == ["speeder"]
    assert rules_at(res, 11) == ["straightlining"]
    assert rules_at(res, 12) == ["check:adult_hours"]
    p = problems(res).set_index("row")
    assert p.loc[12, "severity"] == "error"
    assert p.loc[12, "question"] == "hours,age"
    assert "Minors cannot work over 40 hours" in p.loc[12, "message"]


def test_messages_in_chinese(q):
    res = validate(frame(ok_row("a", works="3")), q, language="zh-Hans")
    assert res.report.to_frame()["message"].iloc[0] == "「3」不是「works」的有效代码（有效：1, 2）"


def test_policies_are_checked(q):
    with pytest.raises(ValidationError, match="unknown rule 'skip_violaton'; did you mean "
                                              "'skip_violation'"):
        validate(frame(ok_row("a")), q, policies={"skip_violaton": "flag"})
    with pytest.raises(ValidationError, match="expected 'flag', 'set_missing' or 'reject_row'"):
        validate(frame(ok_row("a")), q, policies={"constraint": "drop"})
    with pytest.raises(ValidationError, match="'set_missing' does not apply"):
        validate(frame(ok_row("a")), q, policies={"blank_form": "set_missing"})


def test_reject_row_policy(q):
    res = validate(frame(ok_row("a", hours="90"), ok_row("b")), q,
                   policies={"constraint": "reject_row"})
    assert res.rejected.index.tolist() == [2]
    assert res.rejected.loc[2, "rule"] == "constraint"
    assert res.rejected.loc[2, "hours"] == "90"


def test_report_summary_html_excel(q, tmp_path):
    res = validate(frame(ok_row("a", works="3"), ok_row("b", hours="=1+1"),
                         ok_row("c", works="2", hours="5")), q)
    rep = res.report
    assert isinstance(rep, ValidationReport)
    assert list(rep.to_frame().columns) == ["row", "respondent_id", "question", "value", "rule",
                                            "severity", "message"]
    assert rep.n_errors == 2 and rep.n_warnings == 1
    s = rep.summary(by="rule").set_index("key")
    assert s.loc["unknown_code", "problems"] == 1 and s.loc["unknown_code", "set_missing"] == 1
    assert set(rep.summary()["by"]) == {"rule", "question"}
    assert "unknown_code" in rep._repr_html_()
    path = tmp_path / "r.xlsx"
    rep.to_excel(path)
    from openpyxl import load_workbook

    wb = load_workbook(path)
    assert wb.sheetnames == ["problems", "by_rule", "by_question", "about"]
    ws = wb["problems"]
    cells = [c for row in ws.iter_rows() for c in row if c.value == "=1+1"]
    assert cells and cells[0].data_type == "s"  # never a formula


def test_accepts_a_raw_table(q):
    from survey.ingest import RawTable

    raw = RawTable(frame=frame(ok_row("a")), source={"path": "x.csv"})
    res = validate(raw, q)
    assert res.source["path"] == "x.csv" and res.source["rows_read"] == 1
    s = res.to_survey(q)
    assert len(s.data) == 1 and s.validation is res.report


# --- nothing lost: hypothesis on messy frames ----------------------------------------------
_CELL = {
    "rid": st.sampled_from(["a", "b", "c", None]),
    "start": st.sampled_from([T0, None, "garbage"]),
    "end": st.sampled_from(["2023-05-10T09:20:00", "2023-05-10T09:01:00", None]),
    "works": st.sampled_from(["1", "2", "3", "1 2", None, ""]),
    "hours": st.sampled_from(["10", "90", "0", "x", "4.5", None]),
    "age": st.sampled_from(["15", "30", "-1", "abc", None]),
    "born": st.sampled_from(["1990-01-01", "1990/1/2", "soon", None]),
    "fruits": st.sampled_from(["apple", "apple pear plum", "none apple", "other", "kiwi",
                               "pear,plum", None]),
    "fruits_text": st.sampled_from(["x", "=cmd", None]),
    "g_1": st.sampled_from(["1", "2", "9", None]),
    "g_2": st.sampled_from(["1", "2", None]),
    "g_3": st.sampled_from(["1", "2", None]),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries(_CELL), min_size=1, max_size=25),
       st.sampled_from([None, {"skip_violation": "blank", "max_choices": "set_missing"},
                        {"constraint": "reject_row", "duplicate_id_conflict": "reject_row"}]))
def test_nothing_lost(q, rows, policies):
    df = pd.DataFrame(rows, columns=COLS)
    df.insert(0, "_row", np.arange(2, len(df) + 2))
    res = validate(df, q, policies=policies)
    rep = res.report.problems
    # every row is accounted for, once
    assert len(res.data) + len(res.rejected) == len(df)
    assert set(res.data.index) | set(res.rejected.index) == set(df["_row"])
    assert res.rejected["reason"].notna().all() and res.rejected["rule"].notna().all()
    # the report's lines looked up by (row, rule) and (row, question), first line first
    rejects = {(r, rule) for r, rule, action in zip(rep["row"], rep["rule"], rep["action"])
               if action == "reject_row"}
    emptied_value: dict = {}
    for r, name, action, value in zip(rep["row"], rep["question"], rep["action"],
                                      rep["value"]):
        if action == "set_missing":
            emptied_value.setdefault((r, name), value)
    for row, rule in res.rejected["rule"].items():
        assert (row, rule) in rejects
    # every cell emptied by validation is in the report with its original value
    raw = df.set_index("_row")
    for name in ["works", "hours", "age", "born", "g_1"]:
        original = raw.loc[res.data.index, name].replace("", None)
        emptied = original.notna() & res.data[name].isna()
        for row in original.index[emptied]:
            assert (row, name) in emptied_value, (row, name)
            assert emptied_value[row, name] == str(original[row]).strip()
            assert res.missing.loc[row, name] in (-7, -8)
    multi = res.data[["fruits_apple", "fruits_pear"]].isna().all(axis=1)
    original = raw.loc[res.data.index, "fruits"]
    for row in original.index[original.notna() & multi]:
        assert (row, "fruits") in emptied_value
    # the missing frame explains every empty cell of accepted rows
    for name in ["works", "hours", "age"]:
        empty = res.data[name].isna()
        assert res.missing.loc[empty, name].notna().all()
        assert res.missing.loc[~empty, name].isna().all()


def test_constraint_problem_quotes_the_forms_own_message(tmp_path):
    """A constraint with a ``constraint_message`` is reported with that message (what the
    enumerator saw), in the report's language when the form has one, else the default."""
    text = MINI.read_text(encoding="utf-8").replace(
        'constraint: ". >= 1 and . <= 80", label: {en: Hours}}',
        'constraint: ". >= 1 and . <= 80", label: {en: Hours},'
        ' constraint_message: {en: "Hours per week: 1 to 80", zh-Hans: "每周工时：1至80"}}')
    assert text != MINI.read_text(encoding="utf-8")
    path = tmp_path / "mini_msg.yaml"
    path.write_text(text, encoding="utf-8")
    qm = sv.load_questionnaire(path)
    rows = frame(ok_row("a"), ok_row("c", hours="90"))

    en = problems(validate(rows, qm, language="en"))
    msg = en.loc[en["rule"] == "constraint", "message"].tolist()
    assert msg == ["'90' breaks the constraint of 'hours': . >= 1 and . <= 80 "
                   "(the form's message: “Hours per week: 1 to 80”)"]
    zh = problems(validate(rows, qm, language="zh-Hans"))
    assert zh.loc[zh["rule"] == "constraint", "message"].tolist() == [
        "「90」不符合「hours」的约束：. >= 1 and . <= 80（表单提示：「每周工时：1至80」）"]
    # without a form message, the plain wording
    plain = problems(validate(rows, sv.load_questionnaire(MINI), language="en"))
    assert plain.loc[plain["rule"] == "constraint", "message"].tolist() == [
        "'90' breaks the constraint of 'hours': . >= 1 and . <= 80"]
