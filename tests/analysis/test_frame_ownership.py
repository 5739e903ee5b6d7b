"""A Survey does not change when the caller edits the DataFrame it was built from.

Before, ``Survey.from_frame`` kept the caller's frame itself: editing a weight afterwards moved
the estimate, while a replicate design's cached replicate totals kept the old SE, so the
result mixed old and new numbers without a word."""

import numpy as np
import pandas as pd
import pytest

import survey as sv


def _frame(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"y": rng.normal(size=n), "w": rng.uniform(1, 3, n),
                       "psu": np.arange(n) // 4, "g": rng.integers(0, 3, n)})
    for r in range(8):
        df[f"rw{r}"] = df["w"] * rng.choice([0.5, 1.5], n)
    return df


DESIGNS = {
    "clusters": dict(weight="w", psu="psu"),
    "replicates": dict(weight="w", replicate_weights=r"rw[0-9]+", replicate_type="Fay",
                       rho=0.5),
}


@pytest.mark.parametrize("kind", sorted(DESIGNS))
def test_editing_the_callers_frame_leaves_the_survey_alone(kind):
    df = _frame()
    s = sv.Survey.from_frame(df, **DESIGNS[kind])
    before = sv.mean(s, "y")
    before_by = sv.mean(s, "y", by="g")
    df.iloc[0, df.columns.get_loc("w")] = 99.0
    df.loc[:, "y"] = 0.0
    df.loc[:, "rw3"] = df["rw3"] * 3
    after = sv.mean(s, "y")
    after_by = sv.mean(s, "y", by="g")
    assert (after.estimate, after.se) == (before.estimate, before.se)
    np.testing.assert_array_equal(after_by.estimate, before_by.estimate)
    np.testing.assert_array_equal(after_by.se, before_by.se)
    # and a Survey built from the edited frame does see the edits
    fresh = sv.mean(sv.Survey.from_frame(df, **DESIGNS[kind]), "y")
    assert fresh.estimate == 0.0
