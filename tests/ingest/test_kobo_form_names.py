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


LOOP = [{"name": "has", "type": "select_multiple", "list": "toilet", "label": {"en": "Types?"}},
        {"group": "loop_toilets", "loop_over": "toilet", "items": [
            {"name": "number", "type": "integer", "label": {"en": "How many %(label)s?"}},
            {"group": "g", "items": [
                {"name": "state", "type": "select_multiple", "list": "st",
                 "label": {"en": "State of %(label)s"}}]}]}]
LISTS = {"toilet": [{"name": "pit", "label": {"en": "Pit"}},
                    {"name": "flush", "label": {"en": "Flush"}}],
         "st": [{"name": "clean", "label": {"en": "Clean"}},
                {"name": "broken", "label": {"en": "Broken"}}]}


@pytest.mark.parametrize("sep,prefix", [("/", ""), ("/", "grp/"), ("-", ""), (".", "")])
def test_legacy_loop_headers_find_the_q_choice_columns(tmp_path, sep, prefix):
    q = form(*LOOP, lists=LISTS)
    assert [x.name for x in q.questions()][1:] == [
        "number_pit", "state_pit", "number_flush", "state_flush"]

    def h(*parts):
        return prefix + sep.join(parts)

    head = ["has", h("loop_toilets", "pit", "number"), h("loop_toilets", "flush", "number"),
            h("loop_toilets", "pit", "g", "state"), h("loop_toilets", "pit", "g", "state", "clean"),
            h("loop_toilets", "pit", "g", "state", "broken"), "_uuid"]
    p = tmp_path / "loop.csv"
    p.write_text(",".join(head) + "\npit flush,2,1,clean,1,0,u1\npit,3,,broken,0,1,u2\n",
                 encoding="utf-8")
    s = sv.read_responses(p, q, platform="kobo")
    assert not [c for c in s.data.columns if c.startswith("_extra:")]
    assert s.data["number_pit"].tolist() == [2, 3]
    assert s.data["number_flush"].tolist()[0] == 1 and pd.isna(s.data["number_flush"].iloc[1])
    assert s.data["state_pit_clean"].tolist() == [1, 0]
    assert s.data["state_pit_broken"].tolist() == [0, 1]


def test_a_loop_header_with_an_unknown_choice_stays_extra(tmp_path):
    q = form(*LOOP, lists=LISTS)
    p = tmp_path / "loop.csv"
    p.write_text("has,loop_toilets/pit/number,loop_toilets/bucket/number\npit,2,5\n",
                 encoding="utf-8")
    s = sv.read_responses(p, q, platform="kobo")
    assert s.data["number_pit"].tolist() == [2]
    probs = s.validation.to_frame()
    unknown = probs[probs["rule"] == "unknown_column"]
    assert len(unknown) == 1  # kept, not matched to any loop copy
    assert "column 'loop_toilets/bucket/number' is not a question" in unknown["message"].iloc[0]
