"""The choice_filter rule (issue 11): a cascading select's answer must be offered on its row."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import survey as sv
from survey.questionnaire import Questionnaire

COUNTIES = {"wa": ["king", "pierce"], "tx": ["king", "cameron"]}  # 'king' in both states


def form():
    county = [{"name": c, "label": {"en": c.title()}, "filters": {"state": st_}}
              for st_, cs in COUNTIES.items() for c in cs]
    return Questionnaire.from_dict({
        "id": "cascade", "title": {"en": "Cascade"},
        "choice_lists": {"state": [{"name": s} for s in COUNTIES], "county": county},
        "items": [
            {"name": "state", "type": "select_one", "list": "state"},
            {"name": "county", "type": "select_one", "list": "county",
             "choice_filter": "state=${state}"},
            {"name": "visited", "type": "select_multiple", "list": "county",
             "choice_filter": "state=${state}"}]})


def read(tmp_path, rows):
    p = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=["state", "county", "visited"]).to_csv(p, index=False)
    return sv.read_responses(p, form())


def test_answer_outside_the_filtered_options_is_a_choice_filter_problem(tmp_path):
    s = read(tmp_path, [["wa", "king", "king pierce"], ["wa", "cameron", "cameron"],
                        ["tx", "king", "king"]])
    probs = s.validation.to_frame()
    assert probs[["row", "question", "rule", "severity"]].values.tolist() == [
        [3, "county", "choice_filter", "error"], [3, "visited", "choice_filter", "error"]]
    assert probs["message"].iloc[0] == ("'cameron' is not among the options of 'county' for "
                                        "the answers it depends on (state=${state})")
    # like a constraint, the offending answer is set missing, the others kept
    assert s.data["county"].astype(object).tolist()[0::2] == ["King", "King"]  # labels
    assert pd.isna(s.data["county"].iloc[1])
    # a name shared by two branches is one category of the data
    assert list(s.data["county"].cat.categories) == ["King", "Pierce", "Cameron"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["wa", "tx"]),
                          st.sampled_from(["king", "pierce", "cameron"])), min_size=1,
                max_size=8))
def test_flags_match_an_independent_lookup(tmp_path_factory, pairs):
    tmp = tmp_path_factory.mktemp("cf")
    s = read(tmp, [[a, b, ""] for a, b in pairs])
    flagged = set(s.validation.to_frame().query("rule == 'choice_filter'")["row"])
    expected = {i + 2 for i, (a, b) in enumerate(pairs) if b not in COUNTIES[a]}
    assert flagged == expected
