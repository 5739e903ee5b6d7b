"""XLSForm export is pyxform-valid, and reading it back gives the same questionnaire."""

import re
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from pyxform.xls2xform import convert

from survey.errors import QuestionnaireError
from survey.questionnaire import list_templates, load_questionnaire, read_xlsform
from survey.questionnaire.xlsform import pyxform_dict

DATA = Path(__file__).parents[1] / "data" / "questionnaire"
LANG_WARNING = "The following language declarations do not contain valid machine-readable codes"


def pyxform_check(sheets, *, partial_translations=False):
    warnings: list[str] = []
    result = convert(xlsform=pyxform_dict(sheets), warnings=warnings)
    assert "<h:html" in result.xform
    missing = re.compile(r"^Language '.*' is missing the (survey|choices) \w+ column")
    return [w for w in warnings if not w.startswith(LANG_WARNING)
            and not (partial_translations and missing.match(w))]


@pytest.mark.parametrize("name", [*list_templates(), str(DATA / "outsider_section7.yaml")])
def test_export_is_pyxform_valid_and_round_trips(name, tmp_path):
    q = load_questionnaire(name)
    out = tmp_path / "form.xlsx"
    sheets = q.to_xlsform(out)
    partial = name.endswith("outsider_section7.yaml")  # it has no zh-Hant texts: warnings
    assert pyxform_check(sheets, partial_translations=partial) == []
    back = read_xlsform(out)
    assert back == q
    assert back.to_dict() == q.to_dict()
    assert pyxform_check(back.to_xlsform(), partial_translations=partial) == []


def test_workbook_layout(tmp_path):
    q = load_questionnaire("grassroots_training")
    q.to_xlsform(tmp_path / "f.xlsx")
    wb = load_workbook(tmp_path / "f.xlsx")
    assert wb.sheetnames == ["survey", "choices", "settings", "_survey_meta"]
    header = [c.value for c in wb["survey"][1]]
    assert "label::繁體中文 (zh-Hant)" in header and "label::English (en)" in header
    assert "label" not in header
    types = [r[0].value for r in wb["survey"].iter_rows(min_row=2)]
    assert not any("or_other" in str(t) for t in types)
    rows: dict = {}
    for r in wb["survey"].iter_rows(min_row=2, values_only=True):
        rows.setdefault(r[1], r)
    col = {h: i for i, h in enumerate(header)}
    assert rows["gains_other"][col["svy_other_of"]] == "gains"
    assert rows["gains_other"][col["relevant"]] == "selected(${gains}, 'other')"
    assert rows["gains"][col["constraint"]] == "count-selected(.) <= 2"
    assert rows["attitude"][col["appearance"]] == "table-list"
    settings = dict(zip([c.value for c in wb["settings"][1]], [c.value for c in wb["settings"][2]]))
    assert settings["default_language"] == "繁體中文 (zh-Hant)"
    meta = {r[0]: r[1] for r in wb["_survey_meta"].iter_rows(min_row=2, values_only=True)}
    assert "returned: 366" in meta["fieldwork"]


def _sheet(wb, name, rows):
    ws = wb.create_sheet(name)
    for r in rows:
        ws.append(r)


def test_hand_made_kobo_form(tmp_path):
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "survey", [
        ["type", "name", "label::English (en)", "label::Français (fr)", "relevance", "required"],
        ["select one yn", "smoker", "Do you smoke?", "Fumez-vous ?", None, "TRUE"],
        ["integer", "cigs", "How many a day?", "Combien par jour ?", "${smoker} = 'yes'", None],
        ["select_multiple fruit or_other", "fruit", "Fruit you eat", "Fruits", None, None],
        ["begin group", "g1", "Group", "Groupe", None, None],
        ["note", "n1", "Thanks", "Merci", None, None],
        ["end group", None, None, None, None, None],
    ])
    _sheet(wb, "choices", [
        ["list name", "name", "label::English (en)", "label::Français (fr)", "region"],
        ["yn", "yes", "Yes", "Oui", None],
        ["yn", "no", "No", "Non", None],
        ["fruit", "apple", "Apple", "Pomme", "north"],
        ["fruit", "pear", "Pear", "Poire", "south"],
    ])
    _sheet(wb, "settings", [["form_title", "form_id", "default_language"],
                            ["Kobo test", "kobo-test", "English (en)"]])
    wb.save(tmp_path / "kobo.xlsx")
    q = read_xlsform(tmp_path / "kobo.xlsx")
    assert q.id == "kobo_test" and q.default_language == "en"
    assert set(q.languages.available) == {"en", "fr"}
    assert q.question("smoker").required is True
    assert q.question("cigs").relevant == "${smoker} = 'yes'"
    fruit = q.question("fruit")
    assert fruit.other.text == "fruit_other" and "other" in q.choices("fruit").names()
    assert q.question("fruit_other").relevant == "selected(${fruit}, 'other')"
    assert q.choices("fruit").choices[0].filters == {"region": "north"}
    assert q.text(q.question("smoker").label, "fr") == "Fumez-vous ?"
    # and it exports again without or_other
    sheets = q.to_xlsform()
    assert not any("or_other" in r["type"] for r in sheets["survey"])
    assert pyxform_check(sheets) == []


def test_plain_label_form(tmp_path):
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "survey", [["type", "name", "label"], ["text", "name1", "Your name"],
                          ["select_one yn", "ok", "OK?"]])
    _sheet(wb, "choices", [["list_name", "name", "label"], ["yn", 1, "Yes"], ["yn", 2, "No"]])
    wb.save(tmp_path / "plain.xlsx")
    q = read_xlsform(tmp_path / "plain.xlsx")
    assert q.id == "plain"
    assert q.choices("yn").names() == ["1", "2"]
    assert q.text(q.question("name1").label) == "Your name"
    header = list(q.to_xlsform()["survey"][0])
    assert "label" in header  # a form without languages keeps a plain label column


def test_unbalanced_groups_are_reported(tmp_path):
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "survey", [["type", "name", "label"], ["text", "a", "A"], ["end_group", None, None]])
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(QuestionnaireError, match=re.escape(
            "bad.xlsx, sheet 'survey', row 3, column 'type': expected a begin_group before "
            "this row, found 'end_group'")):
        read_xlsform(tmp_path / "bad.xlsx")
