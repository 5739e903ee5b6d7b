"""The entry form remembers which questions are skipped per combination of the answers their
``relevant`` depends on: the remembered verdict is the one a fresh evaluation gives."""

from hypothesis import given, settings
from hypothesis import strategies as st

import survey as sv
from survey.entry.form import EntryForm
from survey.ingest.read import raw_from_records

FLAGSHIP = sv.load_questionnaire("grassroots_training")
FORM = EntryForm(FLAGSHIP)
ANSWER = st.one_of(st.none(), st.sampled_from(["1", "2", "3", "x", "-99"]))
GAINS = st.one_of(st.none(), st.sampled_from(["mass_work", "other", "other style", "nope"]))


@settings(max_examples=40, deadline=None)
@given(top_leader=ANSWER, gains=GAINS, years=ANSWER)
def test_remembered_skips_equal_a_fresh_evaluation(top_leader, gains, years):
    rec = {"respondent_id": "R1", "top_leader": top_leader, "gains": gains,
           "grassroots_years": years}
    rec = {k: v for k, v in rec.items() if v is not None}
    raw = raw_from_records([rec], FLAGSHIP, source={"path": "<entry form>"},
                           columns=[f.question.name for f in FORM.fields])
    first, again = FORM._hidden(raw), FORM._hidden(raw)
    assert first == again == frozenset(FORM._relevance_false(raw.frame))
    if top_leader == "2":
        assert "top_leader_years" in first
    if top_leader == "1":
        assert "top_leader_years" not in first


def test_a_clock_in_relevance_is_never_remembered(tmp_path):
    from .helpers import SMALL_YAML

    path = tmp_path / "clock.yaml"
    path.write_text(SMALL_YAML.replace("${smoker} = '1'", "today() > date('2000-01-01')"),
                    encoding="utf-8")
    q = sv.load_questionnaire(path)
    form = EntryForm(q)
    raw = raw_from_records([{"rid": "1", "smoker": "1"}], q, source={"path": "<entry form>"},
                           columns=[f.question.name for f in form.fields])
    assert not form._hidden_cacheable
    form._hidden(raw)
    assert form._hidden_seen == {}
    assert FORM._hidden_cacheable
