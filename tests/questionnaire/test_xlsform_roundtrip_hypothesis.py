"""Invariant (issue 11): any questionnaire exports pyxform-valid and reads back equal, with
its repeats and choice filters in the XForm."""

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyxform.xls2xform import convert

from survey.questionnaire import Questionnaire, read_xlsform
from survey.questionnaire.xlsform import pyxform_dict

PLAIN = ["text", "integer", "decimal", "date", "note", "geopoint", "select_one yn",
         "select_multiple yn"]


@st.composite
def questionnaires(draw):
    counter = itertools.count()
    names: list[str] = []

    def question():
        t = draw(st.sampled_from(PLAIN))
        name = f"q{next(counter)}"
        q = {"name": name, "type": t.split()[0], "label": {"en": f"Question {name}"}}
        if " " in t:
            q["list"] = t.split()[1]
        if names and t != "note" and draw(st.booleans()):
            q["relevant"] = f"${{{draw(st.sampled_from(names))}}} != ''"
        if t != "note":
            names.append(name)
        return q

    items, repeats = [], 0
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["question", "group", "repeat"]))
        if kind == "question":
            items.append(question())
            continue
        inner = [question() for _ in range(draw(st.integers(1, 3)))]
        g = {"group": f"g{next(counter)}", "label": {"en": "Section"}, "items": inner}
        if kind == "repeat":
            g["repeat"], repeats = True, repeats + 1
        items.append(g)
    cascade = draw(st.booleans())
    lists = {"yn": [{"name": "yes", "label": {"en": "Yes"}}, {"name": "no", "label": {"en": "No"}}]}
    if cascade:
        lists["state"] = [{"name": "wa", "label": {"en": "WA"}}, {"name": "tx", "label": {"en": "TX"}}]
        lists["county"] = [{"name": "king", "label": {"en": "King"}, "filters": {"state": "wa"}},
                           {"name": "harris", "label": {"en": "Harris"}, "filters": {"state": "tx"}}]
        items += [{"name": "state", "type": "select_one", "list": "state", "label": {"en": "S"}},
                  {"name": "county", "type": "select_one", "list": "county", "label": {"en": "C"},
                   "choice_filter": "state=${state}"}]
    d = {"id": "gen", "title": {"en": "Generated"}, "choice_lists": lists, "items": items}
    return Questionnaire.from_dict(d), repeats, cascade


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(questionnaires())
def test_export_is_pyxform_valid_and_reads_back_equal(tmp_path, generated):
    q, repeats, cascade = generated
    out = tmp_path / "gen.xlsx"
    sheets = q.to_xlsform(out)
    xform = convert(xlsform=pyxform_dict(sheets), warnings=[]).xform
    assert xform.count("<repeat ") == repeats
    assert ("[state= /data/state ]" in xform) == cascade
    back = read_xlsform(out)
    assert back == q
    assert [(g.name, g.repeat) for g in back.groups()] == [(g.name, g.repeat) for g in q.groups()]
