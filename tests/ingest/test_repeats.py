"""Repeat data (issue 11): Kobo XLSX and ODK Central CSV zip exports as linked tables."""

import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

import survey as sv
from survey.errors import AnalysisError, QuestionnaireError
from survey.questionnaire import Questionnaire

FORM = {
    "id": "hh", "title": {"en": "Households"},
    "choice_lists": {"yn": ["yes", "no"], "sex": ["m", "f"]},
    "items": [
        {"name": "n", "type": "integer", "label": {"en": "People"}},
        {"name": "head", "type": "select_one", "list": "yn"},
        {"repeat": "members", "repeat_count": "${n}", "items": [
            {"name": "age", "type": "integer", "constraint": ". < 120"},
            {"name": "sex", "type": "select_one", "list": "sex", "relevant": "${head} = 'yes'"},
        ]},
    ],
}


@pytest.fixture
def q():
    return Questionnaire.from_dict(FORM)


def kobo_xlsx(path, main, members):
    wb = Workbook()
    ws = wb.active
    ws.title = "Households"
    for r in main:
        ws.append(r)
    ws = wb.create_sheet("members")
    for r in members:
        ws.append(r)
    wb.save(path)
    return path


MAIN = [["start", "n", "head", "_id", "_uuid", "_submission_time", "_index"],
        ["2024-01-01", 2, "yes", 101, "u1", "2024-01-01", 1],
        ["2024-01-02", 1, "no", 102, "u2", "2024-01-02", 2],
        ["2024-01-03", 0, "no", 103, "u3", "2024-01-03", 3]]
MEMBERS = [["members/age", "members/sex", "_index", "_parent_table_name", "_parent_index",
            "_submission__id", "_submission__uuid"],
           [40, "m", 1, "Households", 1, 101, "u1"],
           [300, "f", 2, "Households", 1, 101, "u1"],
           [7, None, 3, "Households", 2, 102, "u2"]]


def test_table_questionnaires_split_main_and_repeat(q):
    assert [x.name for x in q.table().questions()] == ["n", "head"]
    # the repeat's table: its own questions plus the outer 'head' its skip logic uses
    assert [x.name for x in q.table("members").questions()] == ["head", "age", "sex"]
    assert q.repeat_of("age") == "members" and q.repeat_of("n") is None
    with pytest.raises(QuestionnaireError, match="no repeat named 'member'; did you mean "
                       "'members'"):
        q.table("member")


def test_kobo_xlsx_export_is_read_into_linked_tables(q, tmp_path):
    s = sv.read_responses(kobo_xlsx(tmp_path / "hh.xlsx", MAIN, MEMBERS), q)
    assert list(s.data.columns[:2]) == ["n", "head"] and len(s.data) == 3
    m = s.repeats["members"]
    assert m.data["_parent_row"].tolist() == [2, 2, 3]  # the parents' rows in s.data
    assert m.data["head"].tolist() == ["yes", "yes", "no"]  # joined from the parent
    probs = m.validation.to_frame()
    # same rules as any table: the constraint on age, and 'sex' asked only if head = yes
    assert probs[["row", "question", "rule"]].values.tolist() == [[3, "age", "constraint"]]
    assert "members" not in s.data.columns
    assert s.repeat_summary("members").tolist() == [2, 1, 0]
    # each table's questionnaire has exactly the questions of its data
    assert [x.name for x in s.questionnaire.questions()] == ["n", "head"]
    assert [x.name for x in m.questionnaire.questions()] == ["head", "age", "sex"]
    # household 2 says n = 1 and lists 1 member; households 1 and 3 agree too: no problem
    assert "repeat_count" not in set(s.validation.to_frame()["rule"])


def test_rows_of_a_repeat_are_checked_against_its_repeat_count(q, tmp_path):
    main = [MAIN[0], [*MAIN[1][:1], 3, *MAIN[1][2:]], MAIN[2], MAIN[3]]  # says 3, lists 2
    s = sv.read_responses(kobo_xlsx(tmp_path / "hh.xlsx", main, MEMBERS), q)
    probs = s.validation.to_frame().query("rule == 'repeat_count'")
    assert probs[["row", "question", "severity"]].values.tolist() == [[2, "members", "warning"]]
    assert probs["message"].iloc[0] == "repeat 'members': 2 rows, but its repeat_count ${n} is 3"


def test_skip_logic_from_the_parent_is_checked_in_the_repeat(q, tmp_path):
    members = [MEMBERS[0], [7, "f", 3, "Households", 2, 102, "u2"]]
    s = sv.read_responses(kobo_xlsx(tmp_path / "hh.xlsx", MAIN, members), q)
    probs = s.repeats["members"].validation.to_frame()
    assert probs[["row", "question", "rule"]].values.tolist() == [[2, "sex", "skip_violation"]]


def test_odk_central_zip_is_read_into_linked_tables(q, tmp_path):
    main = ("SubmissionDate,n,head,meta-instanceID,KEY\n"
            "2024-01-01,2,yes,uuid:a,uuid:a\n2024-01-02,1,no,uuid:b,uuid:b\n")
    mem = ("age,sex,PARENT_KEY,KEY\n40,m,uuid:a,uuid:a/members[1]\n"
           "30,f,uuid:a,uuid:a/members[2]\n7,,uuid:b,uuid:b/members[1]\n"
           "9,,uuid:gone,uuid:gone/members[1]\n")
    p = tmp_path / "hh.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hh.csv", main)
        z.writestr("hh-members.csv", mem)
        z.writestr("hh-pets.csv", "kind,PARENT_KEY,KEY\ncat,uuid:a,uuid:a/pets[1]\n")
    s = sv.read_responses(p, q)
    assert "hh-pets.csv in hh.zip is not a table of a repeat of hh (repeats: members); not " \
        "read" in s.source["notes"]
    m = s.repeats["members"]
    assert m.data["age"].tolist() == [40, 30, 7, 9]  # no row dropped
    assert m.data["_parent_row"].tolist()[:3] == [2, 2, 3]
    assert pd.isna(m.data["_parent_row"].iloc[3])
    orphan = m.validation.to_frame().query("rule == 'orphan_repeat_row'")
    assert orphan["row"].tolist() == [5]
    assert "its parent is not among the accepted rows" in orphan["message"].iloc[0]
    assert s.repeat_summary("members", "age", how="max").tolist() == [40, 7]


def test_a_main_table_only_file_says_the_repeats_are_elsewhere(q, tmp_path):
    p = tmp_path / "main.csv"
    p.write_text("n,head\n2,yes\n", encoding="utf-8")
    s = sv.read_responses(p, q)
    assert s.repeats == {}
    assert any("need the XLSX export" in n for n in s.source["notes"])
    with pytest.raises(AnalysisError, match=re.escape(
            "no repeat table named 'members'; repeats: none (no repeat data was read)")):
        s.repeat_summary("members")


def test_repeat_summary_fills_parents_without_rows_honestly(q, tmp_path):
    s = sv.read_responses(kobo_xlsx(tmp_path / "hh.xlsx", MAIN, MEMBERS), q)
    assert s.repeat_summary("members", "age", how="sum").tolist() == [40, 7, 0]
    mean = s.repeat_summary("members", "age", how="mean")
    assert mean.iloc[0] == 40 and mean.iloc[1] == 7 and pd.isna(mean.iloc[2])
    kids = s.repeats["members"].data["age"] < 18
    assert s.repeat_summary("members", how="any", where=kids).tolist() == [False, True, False]
    with pytest.raises(AnalysisError, match="how='median': expected one of count"):
        s.repeat_summary("members", "age", how="median")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=6))
def test_repeat_counts_add_up_to_the_repeat_rows(sizes):
    # invariant: the per-parent counts sum to the number of linked repeat rows
    data = pd.DataFrame({"n": sizes}, index=pd.Index(range(2, 2 + len(sizes)), name="row"))
    parents = np.repeat(data.index.to_numpy(), sizes)
    child = pd.DataFrame({"age": np.arange(len(parents)),
                          "_parent_row": pd.array(parents, dtype="Int64")})
    s = sv.Survey(data=data, repeats={"members": sv.Survey(data=child)})
    counts = s.repeat_summary("members")
    assert counts.sum() == len(child) and counts.tolist() == sizes


def test_nested_repeats_link_to_their_parent_repeat(tmp_path):
    q = Questionnaire.from_dict({"id": "hh", "title": {"en": "H"}, "items": [
        {"name": "n", "type": "integer"},
        {"repeat": "members", "items": [
            {"name": "age", "type": "integer"},
            {"repeat": "jobs", "items": [
                {"name": "job", "type": "text", "relevant": "${age} > 14"}]}]}]})
    wb = Workbook()
    sheets = {"hh": [["n", "_uuid", "_index"], [2, "u1", 1], [1, "u2", 2]],
              "members": [["members/age", "_index", "_parent_table_name", "_parent_index"],
                          [40, 1, "hh", 1], [10, 2, "hh", 1], [30, 3, "hh", 2]],
              "jobs": [["members/jobs/job", "_index", "_parent_table_name", "_parent_index"],
                       ["farmer", 1, "members", 1], ["trader", 2, "members", 1],
                       ["pupil", 3, "members", 2]]}
    ws = wb.active
    for i, (name, rows) in enumerate(sheets.items()):
        ws = ws if i == 0 else wb.create_sheet(name)
        ws.title = name
        for r in rows:
            ws.append(r)
    wb.save(tmp_path / "nested.xlsx")
    s = sv.read_responses(tmp_path / "nested.xlsx", q)
    jobs = s.repeats["jobs"]
    assert jobs.data["_parent_row"].tolist() == [2, 2, 3]  # rows of the members table
    # the inner skip logic uses the member's age, joined from the parent repeat row
    assert jobs.validation.to_frame()[["row", "rule"]].values.tolist() == [
        [4, "skip_violation"]]
    assert s.repeats["members"].repeat_summary("jobs").tolist() == [2, 1, 0]
