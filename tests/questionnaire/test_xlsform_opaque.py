"""XLSForm expressions our parser cannot read (pyxform accepts them: it does not parse
``calculation``, ``relevant`` …): the form loads with a QuestionnaireWarning naming sheet, row
and column; the expression is kept verbatim, never evaluated, noted as not checked by
validation, written back verbatim and equal after the round trip (issue 11)."""

import re
import warnings

import pytest
from openpyxl import Workbook
from pyxform.xls2xform import convert

import survey as sv
from survey.errors import QuestionnaireError, QuestionnaireWarning
from survey.questionnaire import load_questionnaire, read_xlsform
from survey.questionnaire.expressions import Opaque, names, parse_or_keep, rename_refs, to_text
from survey.questionnaire.xlsform import pyxform_dict

PROSE = "the sum of ${a} and b"


def book(path, survey, choices=None):
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in (("survey", survey), ("choices", choices)):
        if rows:
            ws = wb.create_sheet(name)
            for r in rows:
                ws.append(r)
    ws = wb.create_sheet("settings")
    ws.append(["form_id"])
    ws.append(["opaque"])
    wb.save(path)
    return path


def form(tmp_path, **cols):
    """Questions a (integer), c (calculate), b (integer), d (integer) with given columns."""
    rows = [["type", "name", "label", "calculation", "relevant", "constraint", "required"],
            ["integer", "a", "A", None, None, None, None],
            ["calculate", "c", None, cols.get("calculation", "${a} + 1"), None, None, None],
            ["integer", "b", "B", None, cols.get("relevant"), None, cols.get("required")],
            ["integer", "d", "D", None, None, cols.get("constraint"), None]]
    return book(tmp_path / "f.xlsx", rows)


def read_warned(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        q = read_xlsform(path)
    return q, [str(w.message) for w in caught if issubclass(w.category, QuestionnaireWarning)]


def test_prose_calculation_loads_opaque_with_a_located_warning(tmp_path):
    q, msgs = read_warned(form(tmp_path, calculation=PROSE))
    assert len(msgs) == 1
    assert "f.xlsx, sheet 'survey', row 3, item 'c', column 'calculation': " \
           f"{PROSE!r} cannot be read as an expression at character 1 (bare name 'the' " \
           "is not allowed here); kept as written, never evaluated" in msgs[0]
    c = q.question("c")
    assert c.calculation == PROSE
    assert isinstance(c.calculation_ast, Opaque) and to_text(c.calculation_ast) == PROSE


def test_opaque_calculation_is_written_back_verbatim_and_round_trips(tmp_path):
    q, _ = read_warned(form(tmp_path, calculation=PROSE))
    out = tmp_path / "export.xlsx"
    sheets = q.to_xlsform(out)
    row = next(r for r in sheets["survey"] if r.get("name") == "c")
    assert row["calculation"] == PROSE
    xml = convert(xlsform=pyxform_dict(sheets), warnings=[]).xform
    assert re.search(r'calculate="the sum of +/data/a +and b"', xml)  # pyxform takes it as is
    back, msgs = read_warned(out)
    assert back == q and len(msgs) == 1


@pytest.mark.parametrize("column,text", [("relevant", "${a} is big"),
                                         ("constraint", ". is positive"),
                                         ("required", "when ${a} asks")])
def test_unreadable_rules_load_and_validation_says_they_were_not_checked(tmp_path, column,
                                                                         text):
    q, msgs = read_warned(form(tmp_path, **{column: text}))
    assert len(msgs) == 1 and f"column '{column}': {text!r} cannot be read" in msgs[0]
    raw = tmp_path / "d.csv"
    raw.write_text("a,c,b,d\n1,2,,-5\n2,3,4,\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuestionnaireWarning)
        s = sv.read_responses(raw, q)
    # never evaluated: no required / skip / constraint claim on any row, both rows kept
    assert len(s.validation.to_frame()) == 0 and len(s.data) == 2
    assert s.data["d"].tolist()[0] == -5
    notes = " ".join(s.validation.notes)
    assert f"not checked against the data: {text}" in notes
    assert "not read as an expression" in notes
    assert read_warned(tmp_path / "f.xlsx")[0] == q


def test_validation_notes_an_opaque_calculation(tmp_path):
    q, _ = read_warned(form(tmp_path, calculation=PROSE))
    raw = tmp_path / "d.csv"
    raw.write_text("a,c,b,d\n1,x,3,4\n", encoding="utf-8")
    s = sv.read_responses(raw, q)
    assert s.data["c"].tolist() == ["x"]  # read from the data, not computed
    assert f"calculation of 'c' not checked against the data: {PROSE}" in \
        " ".join(s.validation.notes)


def test_unknown_reference_in_an_opaque_expression_is_still_refused(tmp_path):
    with pytest.raises(QuestionnaireError, match=r"row 3, item 'c', column 'calculation': "
                       r"expected references to questions of this template, found \$\{zz\}"):
        read_warned(form(tmp_path, calculation="sum of ${zz} and more"))


def test_a_yaml_template_still_refuses_an_unreadable_expression():
    with pytest.raises(QuestionnaireError, match="expected a valid XLSForm expression"):
        sv.Questionnaire.from_dict({"id": "y", "title": {"en": "Y"}, "items": [
            {"name": "a", "type": "integer"},
            {"name": "c", "type": "calculate", "calculation": PROSE}]})
    assert load_questionnaire  # the same loader reads YAML files


def test_opaque_nodes_keep_references_and_text():
    o = parse_or_keep(PROSE)
    assert isinstance(o, Opaque) and names(o) == {"a"}
    assert to_text(rename_refs(o, {"a": "a_yes"})) == "the sum of ${a_yes} and b"
    assert parse_or_keep("${a} + 1") == sv.parse_expression("${a} + 1")  # readable: parsed


def test_opaque_expressions_do_not_stop_synthesize_or_the_paper_form(tmp_path):
    from survey.fieldwork import synthesize

    q, _ = read_warned(form(tmp_path, calculation=PROSE, relevant="${a} is big",
                            constraint=". is positive"))
    df = synthesize(q, n=5)
    assert df["b"].notna().all()  # relevance unknown: asked on every row
    assert "${a} is big" in q.render()


def test_opaque_expressions_survive_yaml_and_the_repeat_tables(tmp_path):
    rows = [["type", "name", "label", "calculation", "relevant"],
            ["integer", "n", "N", None, None],
            ["begin_repeat", "members", "Members", None, None],
            ["integer", "age", "Age", None, "${n} is big"],
            ["calculate", "c", None, PROSE.replace("${a}", "${age}"), None],
            ["end_repeat", None, None, None, None]]
    q, msgs = read_warned(book(tmp_path / "r.xlsx", rows))
    assert len(msgs) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = q.table("members")
    assert [x.name for x in t.questions()] == ["n", "age", "c"]
    assert not [w for w in caught if issubclass(w.category, QuestionnaireWarning)]
    assert isinstance(t.question("age").relevant_ast, Opaque)
    path = tmp_path / "r.yaml"
    q.to_yaml(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = load_questionnaire(path)
    said = [str(w.message) for w in caught if issubclass(w.category, QuestionnaireWarning)]
    assert back == q and len(said) == 2
    assert "item 'age', key 'relevant': '${n} is big' cannot be read" in said[0] + said[1]


def test_unreadable_choice_filter_loads_and_is_noted_unchecked(tmp_path):
    rows = [["type", "name", "label", "choice_filter"],
            ["integer", "a", "A", None],
            ["select_one s", "b", "B", "cat is ${a} (("]]
    choices = [["list_name", "name", "label", "cat"], ["s", "1", "one", "x"],
               ["s", "2", "two", "y"]]
    q, msgs = read_warned(book(tmp_path / "cf.xlsx", rows, choices))
    assert len(msgs) == 1 and "column 'choice_filter': 'cat is ${a} ((' cannot be read" \
        in msgs[0]
    raw = tmp_path / "d.csv"
    raw.write_text("a,b\n1,1\n2,2\n", encoding="utf-8")
    s = sv.read_responses(raw, q)
    assert len(s.validation.to_frame()) == 0 and s.data["b"].tolist() == ["one", "two"]
    assert "choice_filter of 'b' not checked against the data: cat is ${a} ((" in \
        " ".join(s.validation.notes)
    assert "two</li>" in q.render()  # the paper form renders, every option listed
    back, _ = read_warned(q.to_xlsform(tmp_path / "o.xlsx") and tmp_path / "o.xlsx")
    assert back == q
