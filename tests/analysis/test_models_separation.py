"""logit flags (quasi-)complete separation instead of printing huge odds ratios silently."""

import numpy as np
import pandas as pd
import pytest

import survey as sv


def _frame(separate: bool) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    group = np.repeat(["a", "b", "c"], 40)
    y = rng.random(120) < 0.6
    if separate:
        y[group == "c"] = True  # every respondent of group c says yes
    years = pd.array(rng.integers(0, 20, 120), dtype="Int64")
    years[5] = pd.NA  # nullable integers with a missing value reach the model
    return pd.DataFrame({"yes": y, "group": pd.Categorical(group), "years": years})


def test_separation_is_named_in_notes_and_warned():
    with pytest.warns(sv.ConvergenceWarning, match="separation in C\\(group\\)\\[T.c\\]"):
        model = sv.logit(_frame(True), "yes ~ C(group) + years")
    assert any("separation" in n and "C(group)[T.c]" in n for n in model.notes)
    assert model.n == 119  # the row with a missing year is dropped, and said so
    assert any("119 complete rows used of 120" in n for n in model.notes)


def test_no_separation_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", sv.ConvergenceWarning)
        model = sv.logit(_frame(False), "yes ~ C(group) + years")
    assert not any("separation" in n for n in model.notes)


def test_ordinal_logit_singular_hessian_gives_nan_ses_and_says_why():
    # x separates the levels (MLE runs off to beta ~ 17.7): R polr warns; we must not print SEs
    df = pd.DataFrame({"y": pd.Categorical(list("abcabcbcab"), ordered=True),
                       "x": [1.0, 2, 3, 1, 3, 4, 2, 5, 2, 3]})
    with pytest.warns(sv.ConvergenceWarning, match="Hessian is singular"):
        m = sv.ordinal_logit(df, "y ~ x")
    frame = m.to_frame()
    assert frame["se"].isna().all() and frame["p_value"].isna().all()
    assert any("singular" in note for note in m.notes)


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_ordinal_logit_singularity_is_decided_scale_free(scale):
    # whether statsmodels inverts the separated fit's Hessian depends on the CPU; our decision
    # (scaled information, smallest eigenvalue) must not, nor on the covariate's units
    import warnings

    sep = pd.DataFrame({"y": pd.Categorical(list("abcabcbcab"), ordered=True),
                        "x": np.array([1.0, 2, 3, 1, 3, 4, 2, 5, 2, 3]) * scale})
    with pytest.warns(sv.ConvergenceWarning, match="Hessian is singular"):
        assert sv.ordinal_logit(sep, "y ~ x").to_frame()["se"].isna().all()
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    y = np.digitize(x + rng.logistic(size=200), [-1, 1])
    ok = pd.DataFrame({"y": pd.Categorical(np.array(list("abc"))[y], ordered=True),
                       "x": x * scale})
    with warnings.catch_warnings():
        warnings.simplefilter("error", sv.ConvergenceWarning)
        frame = sv.ordinal_logit(ok, "y ~ x").to_frame()
    assert frame["se"].notna().all()
