"""One missing-value scheme, carried by the Survey: load-time collisions, per-question codes,
analysis and writers reading the template's own codes, one path from file to Survey."""

import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survey as sv
from survey.core.missing import MissingScheme
from survey.errors import QuestionnaireError
from survey.ingest import read_raw
from survey.validation import validate

HEAD = """\
id: t
title: {en: T}
languages: {default: en, available: {en: {name: English}}}
"""


def template(tmp_path, body: str, name="t.yaml"):
    p = tmp_path / name
    p.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return sv.load_questionnaire(p)


GSS = """\
    missing_codes:
      - {code: 0, kind: not_applicable, label: {en: NAP}}
      - {code: 8, kind: nonresponse, label: {en: DK}}
    choice_lists:
      degree: [{name: "0", label: {en: Lt high school}}, {name: "1", label: {en: High school}}]
      happy: [{name: "1", label: {en: Very}}, {name: "2", label: {en: Pretty}}]
    items:
      - {name: degree, type: select_one, list: degree%s}
      - {name: happy, type: select_one, list: happy}
    """


def test_missing_code_equal_to_a_valid_choice_is_refused_naming_both(tmp_path):
    with pytest.raises(QuestionnaireError) as info:
        template(tmp_path, GSS % "")
    msg = str(info.value)
    assert "item 'degree'" in msg
    assert ("missing code 0 (not_applicable, from missing_codes) equals choice '0' "
            "(Lt high school) of list 'degree'") in msg
    assert "missing: [nonresponse]" in msg  # the kinds whose codes do not collide


def test_per_question_missing_keeps_valid_zero(tmp_path):
    q = template(tmp_path, GSS % ", missing: [nonresponse]")
    data = tmp_path / "d.csv"
    data.write_text("degree,happy\n0,1\n0,0\n1,8\n8,2\n0,2\n", encoding="utf-8")
    s = sv.read_responses(data, q)
    f = sv.frequencies(s, "degree").to_frame()
    assert dict(zip(f["category"], f["n"])) == {"Lt high school": 3, "High school": 1}
    # happy: 0 is NAP (not_applicable), 8 is DK (nonresponse): both missing, by reason
    assert s.missing["happy"].tolist() == [pd.NA, 0, 8, pd.NA, pd.NA]
    assert s.missing["degree"].tolist() == [pd.NA, pd.NA, pd.NA, 8, pd.NA]
    assert s.missing_scheme.kind(0, "happy") == "not_applicable"
    assert s.missing_scheme.kind(0, "degree") is None


def test_question_with_own_codes_never_takes_template_codes(tmp_path):
    q = template(tmp_path, """\
        missing_codes:
          - {code: -1, kind: not_applicable}
        choice_lists:
          yn: [{name: "1", label: {en: Yes}}, {name: "2", label: {en: No}}]
        items:
          - {name: a, type: select_one, list: yn}
          - name: age
            type: integer
            missing: [{code: 98, kind: nonresponse, label: {en: DK}}, {code: 99, kind: nonresponse, label: {en: Refused}}]
            relevant: ${a} = '1'
        """)
    sch = MissingScheme.from_questionnaire(q)
    assert [m.code for m in sch.for_var("age")] == [98, 99]
    assert sch.code("not_applicable", "age") == -88  # default, not the template's -1
    data = tmp_path / "d.csv"
    data.write_text("a,age\n1,98\n1,99\n1,40\n2,\n1,-1\n", encoding="utf-8")
    s = sv.read_responses(data, q)
    assert s.missing["age"].tolist()[:4] == [98, 99, pd.NA, -88]
    assert s.data["age"].isna().tolist() == [True, True, False, True, False]  # -1 is an age here
    f = sv.frequencies(s, "a")  # a has the template code; age reasons carry their labels
    assert f.to_frame()["n"].sum() == 5
    assert sch.reason(98, "age") == "no answer: DK" and sch.reason(99, "age") == "no answer: Refused"


def test_template_codes_not_the_defaults_drive_analysis(tmp_path):
    """-9/-8/-7 declared: skipped rows are out of a 'valid' multi-response base and reasons
    are named, never 'code -8' (issue #10)."""
    q = template(tmp_path, """\
        missing_codes:
          - {code: -9, kind: nonresponse}
          - {code: -8, kind: not_applicable}
          - {code: -7, kind: invalid}
        choice_lists:
          yn: [{name: "1", label: {en: Yes}}, {name: "2", label: {en: No}}]
          ab: [a, b, c]
        items:
          - {name: use, type: select_one, list: yn}
          - {name: why, type: select_multiple, list: ab, relevant: "${use} = '1'"}
        """)
    data = tmp_path / "d.csv"
    data.write_text("use,why\n1,a b\n1,a\n1,\n2,\n2,\n2,-8\n", encoding="utf-8")
    s = sv.read_responses(data, q)
    assert s.missing["why"].tolist() == [pd.NA, pd.NA, -9, -8, -8, -8]
    mr = sv.multi_response(s, "why", base="shown")
    assert mr.n_base == 3  # the three asked (use = 1), not the three skipped (-8)
    assert sv.frequencies(s, "use").n_valid == 6
    s2 = s.replace(data=s.data.assign(use=pd.Categorical(["Yes"] + [None] * 5,
                                                         categories=["Yes", "No"])),
                   missing=s.missing.assign(use=pd.array([None, -8, -7, -9, -8, -8], "Int64")))
    got = sv.frequencies(s2, "use").missing
    assert dict(zip(got["reason"], got["n"])) == {"no answer": 1, "skipped": 3, "invalid": 1}
    assert dict(zip(got["reason"], got["code"])) == {"no answer": -9, "skipped": -8,
                                                     "invalid": -7}


def test_read_responses_equals_read_raw_validate_to_survey(tmp_path):
    q = template(tmp_path, """\
        missing_codes:
          - {code: -9, kind: nonresponse}
          - {code: -7, kind: invalid}
        choice_lists:
          yn: [{name: "1", label: {en: Yes}}, {name: "2", label: {en: No}}]
        items:
          - {name: a, type: select_one, list: yn}
          - {name: b, type: integer}
        """)
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,-7\n-9,3\n2,x\n,4\n", encoding="utf-8")
    s1 = sv.read_responses(data, q)
    s2 = validate(read_raw(data, q), q).to_survey()
    pd.testing.assert_frame_equal(s1.data, s2.data)
    pd.testing.assert_frame_equal(s1.missing, s2.missing)
    pd.testing.assert_frame_equal(s1.rejected, s2.rejected)
    assert s1.missing["b"].tolist() == [-7, pd.NA, -7, pd.NA]  # stated -7 kept; 'x' invalid
    assert s1.missing["a"].tolist() == [pd.NA, -9, pd.NA, -9]
    assert s2.questionnaire is q


# --- writers ------------------------------------------------------------------------------
def _flagship():
    return sv.read_responses("data/grassroots_training_responses.csv", "grassroots_training")


def test_stata_mean_equals_ours_and_reasons_are_extended_missing(tmp_path):
    import pyreadstat

    s = _flagship()
    p = tmp_path / "x.dta"
    w = s.to_stata(p)
    df, _ = pyreadstat.read_dta(p)
    ours = sv.mean(s, "grassroots_years").estimate
    assert df["grassroots_years"].mean() == pytest.approx(ours, rel=1e-12)
    assert df["grassroots_years"].min() >= 0
    df2, meta = pyreadstat.read_dta(p, user_missing=True)
    sch = s.missing_scheme.stata_letters("grassroots_years")
    stated = s.missing["grassroots_years"].dropna().astype(int)
    expect = [sch[float(c)] for c in stated]
    got = df2["grassroots_years"].reset_index(drop=True)[
        np.flatnonzero(s.missing["grassroots_years"].notna().to_numpy())].tolist()
    assert got == expect
    assert any("extended missing" in n for n in w.notes)
    labels = meta.variable_value_labels.get("grassroots_years", {})
    assert all(f"({int(c)})" in labels[sch[float(c)]] for c in set(stated))


@pytest.mark.parametrize("ext", ["dta", "sav"])
def test_labelled_writers_round_trip_with_the_template(tmp_path, ext):
    s = _flagship()
    p = tmp_path / f"x.{ext}"
    (s.to_stata if ext == "dta" else s.to_spss)(p)
    back = sv.read_responses(p, "grassroots_training")
    a, b = s.data.reset_index(drop=True), back.data.reset_index(drop=True)
    for col in a.columns:
        if col in b.columns and a[col].dtype.kind != "O":
            pd.testing.assert_series_equal(a[col], b[col], check_names=False)
    ma, mb = s.missing.reset_index(drop=True), back.missing.reset_index(drop=True)
    pd.testing.assert_frame_equal(ma, mb[ma.columns])


def test_characters_a_format_cannot_hold_are_replaced_with_a_note_per_cell(tmp_path):
    from openpyxl import load_workbook

    df = pd.DataFrame({"t": ["ok", "bell\x07here", "nul\x00x", "x" * 40000]},
                      index=pd.Index([2, 3, 4, 5], name="row"))
    s = sv.Survey.from_frame(df)
    w = s.to_excel(tmp_path / "x.xlsx")
    notes = " | ".join(w.notes)
    assert "row 3, column 't': U+0007 cannot be written to xlsx; replaced by U+FFFD" in notes
    assert "row 4, column 't': U+0000" in notes
    assert "row 5, column 't': text of 40,000 characters cut to Excel's limit of 32,767" in notes
    ws = load_workbook(tmp_path / "x.xlsx")["data"]
    assert ws["A3"].value == "bell\ufffdhere" and len(ws["A5"].value) == 32767
    for ext, writer in (("sav", s.to_spss), ("dta", s.to_stata)):
        w = writer(tmp_path / f"x.{ext}")
        assert [n for n in w.notes if "U+" in n] == [
            f"row 4, column 't': U+0000 cannot be written to {ext}; replaced by U+FFFD"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(codes=st.lists(st.integers(-999, -1), min_size=1, max_size=3, unique=True),
       answers=st.lists(st.sampled_from(["1", "2", "3", "", "M0", "M1", "M2"]), min_size=1,
                        max_size=12), ext=st.sampled_from(["dta", "sav"]))
def test_round_trip_property_on_generated_templates(tmp_path_factory, codes, answers, ext):
    tmp = tmp_path_factory.mktemp("rt")
    kinds = ["nonresponse", "not_applicable", "invalid"]
    mc = "\n".join(f"  - {{code: {c}, kind: {kinds[i]}, label: {{en: m{i}}}}}"
                   for i, c in enumerate(codes))
    p = tmp / "t.yaml"
    p.write_text(HEAD + "missing_codes:\n" + mc + """
choice_lists:
  l: [{name: "1", label: {en: one}}, {name: "2", label: {en: two}}, {name: "3", label: {en: three}}]
items:
  - {name: q, type: select_one, list: l}
  - {name: n, type: integer}
""", encoding="utf-8")
    q = sv.load_questionnaire(p)
    cells = [a if not a.startswith("M") else str(codes[int(a[1]) % len(codes)]) for a in answers]
    d = tmp / "d.csv"
    d.write_text("q,n\n" + "".join(f"{c},{c or 5}\n" for c in cells), encoding="utf-8")
    s = sv.read_responses(d, q)
    out = tmp / f"o.{ext}"
    (s.to_stata if ext == "dta" else s.to_spss)(out)
    back = sv.read_responses(out, q)
    assert back.data["q"].tolist() == s.data["q"].tolist()
    assert back.data["n"].tolist() == s.data["n"].tolist()
    assert back.missing["q"].tolist() == s.missing["q"].tolist()
    assert back.missing["n"].tolist() == s.missing["n"].tolist()


def test_spss_never_declares_a_range_over_valid_answers():
    from survey.ingest.write import _spss_missing

    col = pd.Series([1.0, 5.0, -99, -88, -77, -1])
    spec, note = _spss_missing([-99.0, -88.0, -77.0, -1.0], col, {1, 2, 3, 4, 5})
    assert spec == [{"lo": -99.0, "hi": -1.0}] and "range -99 thru -1" in note
    col = pd.Series([0.0, 1.0, 7.0, 8.0, 9.0, 40.0, 98.0])
    spec, note = _spss_missing([0.0, 8.0, 9.0, 98.0], col, set())
    assert spec == [0.0, 8.0, 9.0]
    assert note.endswith("98 stay labelled values that SPSS counts as valid")
    spec, note = _spss_missing([8.0, 9.0, 10.0, 99.0], pd.Series([1.0, 40.0]), set())
    assert spec == [{"lo": 8.0, "hi": 10.0}, 99.0]
    assert note == "4 missing codes declared as the range 8 thru 10 and 99"
