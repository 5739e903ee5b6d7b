"""multi_response takes its default base from the template's `report: {base: ...}`."""

import numpy as np
import pandas as pd

import survey as sv


def _survey():
    q = sv.load_questionnaire("grassroots_training")
    assert q.question("gains").report.base == "returned"
    raw = sv.synthesize(q, 120, seed=11, missing_rate=0.1)
    return sv.validate(raw, q).to_survey(q)


def test_default_base_is_the_templates():
    s = _survey()
    cols = list(s.var_info("gains").columns)
    block = s.data[cols]
    answered = int(block.notna().any(axis=1).sum())
    assert answered < len(s.data)  # some respondents skipped the question

    default = sv.multi_response(s, "gains")
    returned = sv.multi_response(s, "gains", base="returned")
    respondents = sv.multi_response(s, "gains", base="respondents")
    pd.testing.assert_frame_equal(default.to_frame(), returned.to_frame())
    first = block[cols[0]].astype("boolean").fillna(False).to_numpy(dtype=bool).sum()
    assert np.isclose(default.to_frame()["pct"].iloc[0], 100 * first / len(s.data))
    assert np.isclose(respondents.to_frame()["pct"].iloc[0], 100 * first / answered)
    assert any(f"Base: {len(s.data)}" in n for n in default.notes)


def test_without_a_template_the_base_is_respondents():
    df = pd.DataFrame({"g_a": pd.array([True, None, False], dtype="boolean"),
                       "g_b": pd.array([True, None, True], dtype="boolean")})
    assert sv.multi_response(df, "g").to_frame()["pct"].tolist() == [50.0, 100.0]
