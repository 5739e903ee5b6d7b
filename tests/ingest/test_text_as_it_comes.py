"""Text as it comes: NA strings, ragged lines, numbers that do not fit, misspelt and unknown
columns, formulas without results. Nothing lost, nothing crashes (issue #10)."""

import textwrap

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survey as sv
from survey.errors import ValidationError
from survey.ingest import read_raw
from survey.validation import DEFAULT_POLICIES, validate
from survey.validation.engine import RULES

TEMPLATE = """\
id: t
title: {en: T}
languages: {default: en, available: {en: {name: English}}}
choice_lists:
  yn: [{name: "1", label: {en: Yes}}, {name: "2", label: {en: No}}]
  region: [{name: NA, label: {en: North America}}, {name: EU, label: {en: Europe}}]
items:
  - {name: rid, type: text, role: id}
  - {name: posts_held, type: integer}
  - {name: a, type: select_one, list: yn}
  - {name: score, type: decimal}
"""


@pytest.fixture
def q(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text(TEMPLATE, encoding="utf-8")
    return sv.load_questionnaire(p)


def csv(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def problems(s, rule):
    return s.validation.problems[s.validation.problems["rule"] == rule]


# --- NA strings ---------------------------------------------------------------------------
def test_r_write_csv_na_is_missing_and_counted_in_the_source(tmp_path, q):
    p = csv(tmp_path, '''\
        "rid","posts_held","a","score"
        "1",3,"1",2.5
        "2",NA,"1",NA
        "3",N/A,"2",.
        "4",NaN,"1",#N/A
        ''')
    s = sv.read_responses(p, q)
    assert s.validation.problems.empty
    assert s.data["posts_held"].isna().tolist() == [False, True, True, True]
    assert s.data["score"].isna().tolist() == [False, True, True, True]
    assert s.source["na_cells"] == 6
    assert "NA" in s.source["na_values"] and "." in s.source["na_values"]
    assert s.missing["posts_held"].tolist() == [pd.NA, -99, -99, -99]


def test_na_values_configurable_per_read(tmp_path, q):
    p = csv(tmp_path, "rid,posts_held,a,score\n1,NA,-,1\n2,2,1,1\n")
    s = sv.read_responses(p, q, na_values=())
    assert problems(s, "type")["value"].tolist() == ["NA"]
    s = sv.read_responses(p, q, na_values=["NA", "-"])
    assert s.validation.problems.empty and s.source["na_cells"] == 2


def test_a_choice_named_na_stays_an_answer(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text(TEMPLATE + "  - {name: region, type: select_one, list: region}\n",
                 encoding="utf-8")
    d = csv(tmp_path, "rid,region,a\n1,NA,NA\n2,EU,1\n")
    s = sv.read_responses(d, sv.load_questionnaire(p))
    assert s.data["region"].tolist() == ["North America", "Europe"]
    assert pd.isna(s.data["a"].iloc[0])


# --- ragged lines -------------------------------------------------------------------------
@pytest.mark.parametrize("quoted", [False, True])
def test_ragged_lines_are_rejected_with_line_number_rest_is_read(tmp_path, q, quoted):
    text = "rid,posts_held,a,score\n1,3,1,2\n2,4,1,2,stray\n3,5\n4,6,2,1\n"
    if quoted:
        text = text.replace("4,6,2,1", '4,6,2,"1"')
    s = sv.read_responses(csv(tmp_path, text), q)
    assert s.data.index.tolist() == [2, 5]
    assert s.rejected.index.tolist() == [3, 4]
    assert s.rejected["rule"].tolist() == ["ragged_line", "ragged_line"]
    msgs = problems(s, "ragged_line")["message"].tolist()
    assert msgs[0] == ("5 fields on this line, the header has 4: the line cannot be aligned "
                       "with the header and is rejected")
    assert msgs[1].startswith("2 fields on this line, the header has 4")
    assert len(s.data) + len(s.rejected) == s.source["rows_read"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(widths=st.lists(st.integers(1, 6), min_size=1, max_size=15))
def test_ragged_invariant_every_line_accounted_for(tmp_path_factory, widths):
    tmp = tmp_path_factory.mktemp("rg")
    p = tmp / "t.yaml"
    p.write_text(TEMPLATE, encoding="utf-8")
    q = sv.load_questionnaire(p)
    lines = [",".join([str(i + 1), "1", "2", "3", "x", "y"][:w]) for i, w in enumerate(widths)]
    d = tmp / "d.csv"
    d.write_text("rid,posts_held,a,score\n" + "\n".join(lines) + "\n", encoding="utf-8")
    s = sv.read_responses(d, q)
    ragged_rows = {i + 2 for i, w in enumerate(widths) if w != 4}
    assert set(s.rejected.index[s.rejected["rule"] == "ragged_line"]) == ragged_rows
    assert len(s.data) + len(s.rejected) == len(widths)


# --- numbers that do not fit -----------------------------------------------------------------
def test_inf_and_huge_numbers_are_type_problems_not_crashes(tmp_path, q):
    p = csv(tmp_path, "rid,posts_held,a,score\n1,inf,1,inf\n2,-inf,1,1e999\n3,1e19,1,2\n"
                      "4,1e999,1,3\n5,7,1,-1e400\n")
    s = sv.read_responses(p, q)
    bad = problems(s, "type")
    assert bad[bad["question"] == "posts_held"]["value"].tolist() == ["inf", "-inf", "1e19",
                                                                        "1e999"]
    assert bad[bad["question"] == "score"]["value"].tolist() == ["inf", "1e999", "-1e400"]
    assert s.data["posts_held"].tolist()[:4] == [pd.NA] * 4 and s.data["posts_held"].iloc[4] == 7
    assert s.missing["posts_held"].tolist()[:4] == [-77] * 4
    assert str(bad["message"].iloc[0]) == "'inf' is not a whole number ('posts_held')"


# --- columns ------------------------------------------------------------------------------
def test_misspelt_header_is_reported_both_ways_and_the_column_kept(tmp_path, q):
    p = csv(tmp_path, "rid,post_held,a,score,comment\n1,3,1,2,hi\n")
    s = sv.read_responses(p, q)
    miss = problems(s, "missing_column")
    assert miss["question"].tolist() == ["posts_held"]
    assert miss["message"].iloc[0] == ("column 'posts_held' of the template is not in the "
                                       "file, so its answers are all blank; did you mean "
                                       "'post_held'?")
    unk = problems(s, "unknown_column").set_index("value")["message"]
    assert unk["post_held"] == ("column 'post_held' is not a question of the template; kept "
                                "as '_extra:post_held'; did you mean 'posts_held'?")
    assert unk["comment"].endswith("kept as '_extra:comment'")
    assert s.data["post_held"].tolist() == ["3"] and s.data["comment"].tolist() == ["hi"]
    assert problems(s, "missing_column")["row"].isna().all()


def test_platform_system_columns_are_not_unknown(tmp_path, q):
    p = csv(tmp_path, "_uuid,_submission_time,rid,posts_held,a,score\nu1,2024-01-01,1,3,1,2\n")
    s = sv.read_responses(p, q)
    assert problems(s, "unknown_column").empty
    assert s.source["platform_columns"] == ["_uuid", "_submission_time"]


def test_formula_without_cached_value_is_reported(tmp_path, q):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["rid", "posts_held", "a", "score"])
    wb.active.append([1, 3, 1, 2])
    wb.active.append([2, "=B2*2", 2, 1])
    p = tmp_path / "f.xlsx"
    wb.save(p)  # openpyxl stores no computed result
    s = sv.read_responses(p, q)
    f = problems(s, "formula_without_value")
    assert f[["row", "question", "value"]].values.tolist() == [[3, "posts_held", "=B2*2"]]
    assert "open and save the file in Excel or LibreOffice" in f["message"].iloc[0]
    assert pd.isna(s.data.loc[3, "posts_held"])


# --- the registry ---------------------------------------------------------------------------
def test_rules_are_one_registry():
    assert set(DEFAULT_POLICIES) == set(RULES)
    for name in ("ragged_line", "missing_column", "unknown_column", "formula_without_value"):
        assert name in RULES
    from survey.i18n import table

    for name in RULES:  # every rule has a display name in every language
        assert set(table("rule")[name]) == {"en", "zh-Hans", "zh-Hant"}


def test_column_rules_can_only_flag(tmp_path, q):
    raw = read_raw(csv(tmp_path, "rid,posts_held,a,score\n1,1,1,1\n"), q)
    with pytest.raises(ValidationError, match="a rule about a column of the file can only "
                       "'flag'"):
        validate(raw, q, policies={"unknown_column": "reject_row"})


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(st.text(alphabet='ab,"\n 1', max_size=5), min_size=1,
                              max_size=4), min_size=1, max_size=8),
       chunk=st.integers(1, 40))
def test_field_counts_agree_with_the_csv_module(rows, chunk):
    """The vectorised field count (chunked, quotes and line breaks inside quotes) gives what
    Python's csv module gives for the same records."""
    import csv
    import io

    import numpy as np

    from survey.ingest.read import _field_counts_bytes

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    data = buf.getvalue().encode()
    want = [len(r) if r else 0 for r in csv.reader(io.StringIO(buf.getvalue(), newline=""))]
    got = _field_counts_bytes(np.frombuffer(data, dtype=np.uint8), ord(","), chunk=chunk)
    assert got is not None
    assert list(got[:-1] if got[-1] == 0 and len(got) > len(want) else got) == want
