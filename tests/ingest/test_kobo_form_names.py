"""A form's own questions win over the platforms' system-column heuristics (trial D17), and
Kobo headers of legacy loops find the model's ``q_<choice>`` columns (issue 11)."""

import pandas as pd
import pytest

import survey as sv
from survey.questionnaire import Questionnaire


def form(*items, lists=None):
    return Questionnaire.from_dict({"id": "k", "title": {"en": "K"}, "items": list(items),
                                    **({"choice_lists": lists} if lists else {})})


def test_metadata_questions_named_start_end_today_deviceid_read_their_columns(tmp_path):
    q = form({"name": "start", "type": "start"}, {"name": "end", "type": "end"},
             {"name": "today", "type": "today"}, {"name": "deviceid", "type": "deviceid"},
             {"name": "age", "type": "integer", "label": {"en": "Age"}})
    p = tmp_path / "kobo.csv"
    p.write_text("start,end,today,deviceid,age,_id,_uuid,_submission_time\n"
                 "2024-01-01T10:00:00.000+03:00,2024-01-01T10:05:00.000+03:00,2024-01-01,"
                 "imei:123,30,1,u1,2024-01-01T10:06:00\n", encoding="utf-8")
    s = sv.read_responses(p, q, platform="kobo")
    assert not [c for c in s.data.columns if c.startswith("_extra:")]
    row = s.data.iloc[0]
    assert row["start"] == pd.Timestamp("2024-01-01T10:00:00+03:00")
    assert row["end"] == pd.Timestamp("2024-01-01T10:05:00+03:00")
    assert row["today"] == pd.Timestamp("2024-01-01")
    assert row["deviceid"] == "imei:123"
    assert not any("absent from the data" in n for n in s.validation.notes)


@pytest.mark.parametrize("platform", ["kobo", "odk", None])
def test_ordinary_questions_named_like_system_columns_are_answers(tmp_path, platform):
    q = form({"name": "today", "type": "integer", "label": {"en": "Days today"}},
             {"name": "deviceid", "type": "text", "label": {"en": "Which device?"}},
             {"name": "Status", "type": "text", "label": {"en": "Status"}})
    p = tmp_path / "d.csv"
    p.write_text("today,deviceid,Status,_uuid\n3,phone,married,u1\n5,tablet,single,u2\n",
                 encoding="utf-8")
    s = sv.read_responses(p, q, **({"platform": platform} if platform else {}))
    assert s.data["today"].tolist() == [3, 5]
    assert s.data["deviceid"].tolist() == ["phone", "tablet"]
    assert s.data["Status"].tolist() == ["married", "single"]
    assert not [c for c in s.data.columns if c.startswith("_extra:")]


def test_system_columns_the_form_does_not_ask_stay_platform_columns(tmp_path):
    q = form({"name": "age", "type": "integer", "label": {"en": "Age"}})
    p = tmp_path / "kobo.csv"
    p.write_text("start,age,_uuid\n2024-01-01T10:00:00.000+03:00,30,u1\n", encoding="utf-8")
    s = sv.read_responses(p, q, platform="kobo")
    assert s.data["age"].tolist() == [30]
    # kept as Kobo wrote it, beside the answers (a platform column, not a question)
    assert s.data["start"].tolist() == ["2024-01-01T10:00:00.000+03:00"]
    assert "start" not in [x.name for x in s.questionnaire.questions()]
