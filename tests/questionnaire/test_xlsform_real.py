"""Real-world XLSForm constructs: one small synthetic form per feature (issue 11).

Each test builds its own workbook, reads it with ``read_xlsform``, checks the model, then
checks that the export is accepted by pyxform and reads back equal.
"""

import re
import warnings

import pytest
from openpyxl import Workbook
from pyxform.xls2xform import convert

from survey.errors import QuestionnaireError, SurveyWarning
from survey.questionnaire import load_questionnaire, read_xlsform
from survey.questionnaire._xlsbook import MAX_EMPTY_ROWS, _rows
from survey.questionnaire.expressions import ExpressionError, parse_expression, to_text
from survey.questionnaire.xlsform import pyxform_dict


def book(path, **sheets):
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def xform(sheets) -> str:
    return convert(xlsform=pyxform_dict(sheets), warnings=[]).xform


def round_trip(q, tmp_path):
    """Export is pyxform-valid and reads back equal; returns the XForm of the export."""
    out = tmp_path / "export.xlsx"
    sheets = q.to_xlsform(out)
    xml = xform(sheets)
    back = read_xlsform(out)
    assert back == q
    return xml


CHOICES = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]


def test_type_aliases_are_read_as_the_types_they_mean(tmp_path):
    p = book(tmp_path / "aliases.xlsx", survey=[
        ["type", "name", "label"],
        ["select one from yn", "a", "A"],
        ["select all that apply from yn", "b", "B"],
        ["select1 yn", "c", "C"],
        ["gps", "d", "D"], ["location", "e", "E"], ["photo", "f", "F"],
        ["imei", "g", None], ["date time", "h", "H"], ["string", "i", "I"],
        ["int", "j", "J"], ["phone number", "k", "K"], ["trigger", "m", "M"],
    ], choices=CHOICES)
    q = read_xlsform(p)
    got = {x.name: (x.type, x.list_name) for x in q.questions()}
    assert got == {"a": ("select_one", "yn"), "b": ("select_multiple", "yn"),
                   "c": ("select_one", "yn"), "d": ("geopoint", None),
                   "e": ("geopoint", None), "f": ("image", None), "g": ("deviceid", None),
                   "h": ("datetime", None), "i": ("text", None), "j": ("integer", None),
                   "k": ("phone number", None), "m": ("trigger", None)}
    round_trip(q, tmp_path)


def test_or_other_exports_pyxform_valid_with_a_labelled_text(tmp_path):
    p = book(tmp_path / "oo.xlsx", survey=[["type", "name", "label"],
                                           ["select_one yn or_other", "q", "Q"]],
             choices=CHOICES)
    q = read_xlsform(p)
    assert q.choices("yn").names() == ["yes", "no", "other"]
    other = q.question("q_other")
    assert other.relevant == "selected(${q}, 'other')"
    assert q.text(other.label) == "Specify other."
    xml = round_trip(q, tmp_path)
    assert "or_other" not in str(q.to_xlsform()["survey"])
    assert 'ref="/data/q_other"' in xml


def test_rows_without_names_never_crash(tmp_path):
    p = book(tmp_path / "noname.xlsx", survey=[
        ["type", "name", "label"], ["begin group", "g", "G"], ["note", None, "Read this"],
        ["text", "t", "T"], ["end group", None, None]])
    q = read_xlsform(p)
    assert [x.name for x in q.questions()] == ["generated_note_name_3", "t"]
    round_trip(q, tmp_path)
    bad = book(tmp_path / "bad.xlsx", survey=[["type", "name", "label"], ["text", None, "T"]])
    with pytest.raises(QuestionnaireError, match=re.escape(
            "bad.xlsx, sheet 'survey', row 2, column 'name': expected a name for this "
            "question, found none")):
        read_xlsform(bad)


def test_plain_and_language_tagged_media_on_one_row(tmp_path):
    p = book(tmp_path / "media.xlsx", survey=[
        ["type", "name", "label::English (en)", "label::French (fr)", "image",
         "image::French (fr)", "media::audio::English (en)"],
        ["note", "n", "Look", "Regardez", "a.png", "b.png", "c.mp3"]],
        settings=[["default_language"], ["English (en)"]])
    q = read_xlsform(p)
    assert q.question("n").media == {"image": {"en": "a.png", "fr": "b.png"},
                                     "audio": {"en": "c.mp3"}}
    xml = round_trip(q, tmp_path)
    assert "jr://images/b.png" in xml and "jr://audio/c.mp3" in xml


def test_reading_stops_after_a_run_of_empty_rows():
    # a sheet formatted down to row 1,048,576: the reader must not walk it
    def endless():
        yield ("text", "a", "A")
        while True:
            yield (None, None, None)

    rows = _rows(["type", "name", "label"], endless())
    assert rows == [(2, {"type": "text", "name": "a", "label": "A"})]


def test_data_after_a_short_gap_is_read(tmp_path):
    gap = [[None, None, None]] * (MAX_EMPTY_ROWS - 1)
    p = book(tmp_path / "gap.xlsx", survey=[["type", "name", "label"], ["text", "a", "A"],
                                            *gap, ["text", "b", "B"]])
    assert [x.name for x in read_xlsform(p).questions()] == ["a", "b"]


def test_xls_files_are_read(tmp_path):
    xlwt = pytest.importorskip("xlwt", reason="xlwt writes the .xls fixture")
    wb = xlwt.Workbook()
    for name, rows in {"survey": [["type", "name", "label"], ["select one yn", "a", "A"],
                                  ["integer", "n", "N"]], "choices": CHOICES}.items():
        ws = wb.add_sheet(name)
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                ws.write(i, j, v)
    wb.save(str(tmp_path / "old.xls"))
    q = read_xlsform(tmp_path / "old.xls")
    assert [(x.name, x.type) for x in q.questions()] == [("a", "select_one"), ("n", "integer")]
    assert q.id == "old"


def test_not_a_workbook_is_a_clear_error(tmp_path):
    p = tmp_path / "form.xls"
    p.write_text("not excel")
    with pytest.raises(QuestionnaireError, match=r"form\.xls: expected an \.xls .*workbook"):
        read_xlsform(p)


def test_unknown_type_names_sheet_row_column_and_a_hint(tmp_path):
    p = book(tmp_path / "t.xlsx", survey=[["type", "name", "label"], ["text", "a", "A"],
                                          ["integr", "b", "B"]])
    with pytest.raises(QuestionnaireError, match=re.escape(
            "t.xlsx, sheet 'survey', row 3, column 'type': expected an XLSForm question type, "
            "found 'integr'. Hint: did you mean 'integer'?")):
        read_xlsform(p)


def test_duplicate_column_header_is_named(tmp_path):
    p = book(tmp_path / "d.xlsx", survey=[["type", "name", "label", "label"], ["text", "a", "A", "B"]])
    with pytest.raises(QuestionnaireError, match=re.escape(
            "d.xlsx, sheet 'survey', row 1, column D: expected each column header once, "
            "found 'label' again")):
        read_xlsform(p)


def test_legacy_loop_is_kept_and_asked_once_per_choice(tmp_path):
    p = book(tmp_path / "loop.xlsx", survey=[
        ["type", "name", "label", "constraint"], ["begin loop over yn", "l", "L", None],
        ["integer", "n", "How many %(label)s?", ". < 10"],
        ["text", "why", "Why", None], ["end loop", None, None, None]],
        choices=CHOICES)
    q = read_xlsform(p)
    assert q.groups()[0].loop_over == "yn"
    got = [(x.name, q.text(x.label), x.constraint) for x in q.questions()]
    assert got == [("n_yes", "How many Yes?", ". < 10"), ("why_yes", "Why", None),
                   ("n_no", "How many No?", ". < 10"), ("why_no", "Why", None)]
    assert q.to_xlsform()["survey"][0]["type"] == "begin loop over yn"
    xml = round_trip(q, tmp_path)
    assert "How many Yes?" in xml  # pyxform expands the loop the same way


def test_loop_over_an_unknown_list_is_located(tmp_path):
    p = book(tmp_path / "loop.xlsx", survey=[["type", "name", "label"],
                                             ["begin loop over nope", "l", "L"],
                                             ["integer", "n", "N"], ["end loop", None, None]],
             choices=CHOICES)
    with pytest.raises(QuestionnaireError, match=re.escape(
            "loop.xlsx, sheet 'survey', row 2, column 'type': expected begin loop over <a "
            "choice list>, found 'begin loop over nope'")):
        read_xlsform(p)


def test_repeats_stay_repeats_from_xlsform(tmp_path):
    p = book(tmp_path / "rep.xlsx", survey=[
        ["type", "name", "label", "repeat_count"], ["integer", "hh_size", "Size", None],
        ["begin_repeat", "members", "Members", "${hh_size}"], ["text", "mname", "Name", None],
        ["integer", "age", "Age", None], ["end_repeat", None, None, None]])
    q = read_xlsform(p)
    (g,) = q.groups()
    assert (g.name, g.repeat, g.repeat_count) == ("members", True, "${hh_size}")
    xml = round_trip(q, tmp_path)
    assert '<repeat nodeset="/data/members" jr:count=" /data/hh_size ">' in xml


def test_yaml_repeat_survives_the_xlsform_round_trip(tmp_path):
    src = tmp_path / "r.yaml"
    src.write_text("""
id: roster
title: {en: Roster}
items:
  - {name: n, type: integer, label: {en: Count}}
  - repeat: kids
    label: {en: Children}
    items:
      - {name: kid_age, type: integer, label: {en: Age}}
""", encoding="utf-8")
    q = load_questionnaire(src)
    assert [(g.name, g.repeat) for g in q.groups()] == [("kids", True)]
    xml = round_trip(q, tmp_path)
    assert xml.count("<repeat ") == 1
    # the stored form (group + repeat: true) loads back as a repeat too
    assert type(q).from_dict(q.to_dict()) == q


def test_cascading_select_choice_filter(tmp_path):
    p = book(tmp_path / "cascade.xlsx", survey=[
        ["type", "name", "label", "choice_filter"],
        ["select_one state", "state", "State", None],
        ["select_one county", "county", "County", "state=${state}"]],
        choices=[["list_name", "name", "label", "state"], ["state", "wa", "WA", None],
                 ["state", "tx", "TX", None], ["county", "king", "King", "wa"],
                 ["county", "pierce", "Pierce", "wa"], ["county", "king", "King", "tx"],
                 ["county", "cameron", "Cameron", "tx"]],
        settings=[["allow_choice_duplicates"], ["yes"]])
    q = read_xlsform(p)
    assert q.question("county").choice_filter == "state=${state}"
    assert [c.filters for c in q.choices("county").choices][:2] == [{"state": "wa"}] * 2
    xml = round_trip(q, tmp_path)
    assert "nodeset=\"instance('county')/root/item[state= /data/state ]\"" in xml


def test_choice_filter_column_typo_is_warned(tmp_path):
    p = book(tmp_path / "typo.xlsx", survey=[
        ["type", "name", "label", "choice_filter"], ["select_one yn", "a", "A", "colour=1"]],
        choices=CHOICES)
    with pytest.warns(SurveyWarning, match="'colour' in 'colour=1', which is empty for every "
                      "choice"):
        read_xlsform(p)


def test_odk_functions_parse_and_unknown_ones_are_located():
    for text in ("cos(pi() div 4)", "atan2(1, 2) + log10(100) + exp10(2)",
                 "date-time(0)", "base64-decode('aGk=')", "substring('abc', 2)",
                 "/data/household/size > 2", "count(/data/members)",
                 "instance('c')/root/item[name=current()/../x]/label"):
        assert to_text(parse_expression(text)) == text
    with pytest.raises(ExpressionError, match=re.escape(
            "expression \"1 + coss(1)\", column 5: unknown function 'coss'. Hint: did you "
            "mean 'cos'?")):
        parse_expression("1 + coss(1)")


def test_curly_quotes_in_an_expression_are_straightened_with_a_warning(tmp_path):
    p = book(tmp_path / "curly.xlsx", survey=[
        ["type", "name", "label", "relevant"], ["select_one yn", "a", "A", None],
        ["text", "b", "B", "${a} = \u2018yes\u2019"]], choices=CHOICES)
    with pytest.warns(SurveyWarning, match=r"row 3, column 'relevant': curly quotes"):
        q = read_xlsform(p)
    assert q.question("b").relevant == "${a} = 'yes'"


def test_select_one_external_keeps_the_external_choices_sheet(tmp_path):
    p = book(tmp_path / "ext.xlsx", survey=[
        ["type", "name", "label", "choice_filter"], ["select_one yn", "a", "A", None],
        ["select_one_external city", "c", "City", "ok=${a}"]],
        choices=CHOICES,
        external_choices=[["list_name", "name", "label", "ok"], ["city", "x", "X", "yes"],
                          ["city", "y", "Y", "no"]])
    q = read_xlsform(p)
    assert q.choices("city").source == "external_choices"
    sheets = q.to_xlsform()
    assert sheets["survey"][1]["type"] == "select_one_external city"
    assert [r["name"] for r in sheets["external_choices"]] == ["x", "y"]
    round_trip(q, tmp_path)


def test_select_one_from_file_reads_the_csv_next_to_the_form(tmp_path):
    (tmp_path / "regions.csv").write_text("name,label,zone\nn,North,1\ns,South,2\n",
                                          encoding="utf-8")
    p = book(tmp_path / "f.xlsx", survey=[["type", "name", "label"],
                                          ["select_one_from_file regions.csv", "r", "Region"]])
    q = read_xlsform(p)
    assert q.choices("regions.csv").names() == ["n", "s"]
    assert q.choices("regions.csv").choices[0].filters == {"zone": "1"}
    out = tmp_path / "out"
    out.mkdir()
    sheets = q.to_xlsform(out / "f.xlsx")
    assert sheets["survey"][0]["type"] == "select_one_from_file regions.csv"
    xform(sheets)
    assert read_xlsform(out / "f.xlsx") == q  # the CSV was written beside the export


def test_select_one_from_file_without_the_file_names_it(tmp_path):
    p = book(tmp_path / "nofile.xlsx", survey=[["type", "name", "label"],
                                               ["select_one_from_file towns.csv", "t", "T"]])
    with pytest.warns(SurveyWarning, match=r"come from towns\.csv, which is not next to the "
                      "form"):
        q = read_xlsform(p)
    assert q.choices("towns.csv").choices == ()
    with pytest.raises(QuestionnaireError, match=r"nofile\.xlsx: expected the choices file "
                       r"towns\.csv of select_one_from_file next to the form"):
        read_xlsform(p, missing_files="error")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurveyWarning)
        round_trip(q, tmp_path)


def test_entities_and_settings_are_kept(tmp_path):
    p = book(tmp_path / "ent.xlsx", survey=[
        ["type", "name", "label", "save_to", "bind::odk:length"],
        ["text", "tree", "Tree", "species", "5"]],
        entities=[["list_name", "label"], ["trees", "${tree}"]],
        settings=[["form_id", "form_title", "instance_name", "version"],
                  ["tree form", "Trees", "concat('t', ${tree})", "3"]])
    q = read_xlsform(p)
    assert q.id == "tree_form"
    sheets = q.to_xlsform()
    assert sheets["entities"] == [{"list_name": "trees", "label": "${tree}"}]
    assert sheets["survey"][0]["save_to"] == "species"
    assert sheets["settings"][0]["form_id"] == "tree form"
    assert sheets["settings"][0]["instance_name"] == "concat('t', ${tree})"
    xml = round_trip(q, tmp_path)
    assert 'entities:saveto="species"' in xml and 'odk:length="5"' in xml


def test_form_engine_expressions_are_noted_not_raised_in_validation(tmp_path):
    import survey as sv
    from survey.questionnaire import Questionnaire

    q = Questionnaire.from_dict({"id": "u", "title": {"en": "U"}, "items": [
        {"name": "a", "type": "integer"},
        {"name": "b", "type": "integer", "required": True,
         "relevant": "pulldata('f', 'c', 'k', ${a}) = 1"},
        {"name": "c", "type": "integer", "constraint": ". < cos(${a})"}]})
    p = tmp_path / "u.csv"
    p.write_text("a,b,c\n1,,5\n2,3,\n", encoding="utf-8")
    s = sv.read_responses(p, q)
    # relevance unknown: neither 'required' nor 'skip_violation' is claimed
    assert len(s.validation.to_frame()) == 0 and len(s.data) == 2
    notes = " ".join(s.validation.notes)
    assert "not checked against the data: pulldata('f', 'c', 'k', ${a}) = 1" in notes
    assert "constraint of 'c' not checked against the data" in notes


def test_same_name_in_two_groups_gets_a_unique_data_name(tmp_path):
    p = book(tmp_path / "dup.xlsx", survey=[
        ["type", "name", "label"], ["begin group", "adult", "Adult"], ["integer", "age", "Age"],
        ["end group", None, None], ["begin group", "child", "Child"],
        ["integer", "age", "Age"], ["end group", None, None],
        ["begin repeat", "kids", "Kids"], ["integer", "age", "Age"], ["end repeat", None, None]])
    q = read_xlsform(p)
    assert [x.name for x in q.questions()] == ["age", "child_age", "kids_age"]
    sheets = q.to_xlsform()
    assert [r["name"] for r in sheets["survey"] if r["type"] == "integer"] == ["age"] * 3
    xml = round_trip(q, tmp_path)
    assert "/data/adult/age" in xml and "/data/child/age" in xml and "/data/kids/age" in xml
    # a Kobo export (group/name headers) puts each answer in its own column
    import survey as sv

    data = tmp_path / "data.csv"
    data.write_text("adult/age,child/age,_uuid\n40,7,u1\n", encoding="utf-8")
    s = sv.read_responses(data, q.table())
    assert s.data[["age", "child_age"]].values.tolist() == [[40, 7]]


def test_same_name_twice_in_one_group_is_still_refused(tmp_path):
    p = book(tmp_path / "dup.xlsx", survey=[["type", "name", "label"], ["integer", "a", "A"],
                                            ["integer", "a", "A again"]])
    with pytest.raises(QuestionnaireError, match=r"dup\.xlsx, sheet 'survey', row 3, "
                       r"item 'a', column 'name': expected a unique name"):
        read_xlsform(p)


def test_a_sheet_formatted_to_the_last_cell_reads_fast(tmp_path):
    import time

    from openpyxl.styles import PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    for r in (["type", "name", "label"], ["text", "a", "A"]):
        ws.append(r)
    grey = PatternFill("solid", fgColor="DDDDDD")
    ws.cell(row=1_048_576, column=1_024).fill = grey  # used range A1:AMJ1048576
    ws.cell(row=1, column=1_024).fill = grey
    wb.save(tmp_path / "big.xlsx")
    t0 = time.perf_counter()
    q = read_xlsform(tmp_path / "big.xlsx")
    assert time.perf_counter() - t0 < 2.0
    assert [x.name for x in q.questions()] == ["a"]


def test_what_pyxform_refuses_is_refused_at_load():
    from survey.questionnaire import Questionnaire

    def load(items):
        return Questionnaire.from_dict({"id": "x", "title": {"en": "X"}, "items": items})

    with pytest.raises(QuestionnaireError, match="expected a calculation on a calculate "
                       "question, found none"):
        load([{"name": "c", "type": "calculate"}])
    with pytest.raises(QuestionnaireError, match="expected a repeat name other than 'data'"):
        load([{"repeat": "data", "items": [{"name": "a", "type": "text"}]}])
    with pytest.raises(QuestionnaireError, match="expected the name 'audit' for an audit "
                       "question, found 'trail'"):
        load([{"name": "trail", "type": "audit"}])
    assert load([{"name": "c", "type": "calculate", "calculation": "1 + 1"}])
