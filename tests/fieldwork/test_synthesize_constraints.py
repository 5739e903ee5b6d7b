"""synthesize obeys a multi-select constraint written as an expression (not only `exclusive:`)."""

import survey as sv

TEMPLATE = """
schema: survey-template/1
id: clinic
title: {en: Clinic}
languages: {default: en, available: {en: {name: English}}}
choice_lists:
  services:
    choices:
      - {name: a, label: {en: Consultation}}
      - {name: b, label: {en: Medicine}}
      - {name: c, label: {en: Check-up}}
      - {name: none, label: {en: None of these}}
items:
  - name: used
    type: select_multiple
    list: services
    constraint: "not(selected(., 'none') and count-selected(.) > 1)"
    label: {en: Services used}
"""


def test_expression_constraint_is_respected(tmp_path):
    path = tmp_path / "clinic.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    q = sv.load_questionnaire(path)
    raw = sv.synthesize(q, 500, seed=4)
    report = sv.validate(raw, q).report
    assert "constraint" not in set(report.to_frame()["rule"])
    assert raw["used"].notna().all()
