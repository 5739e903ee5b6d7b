"""The pure-Python paths for tiny frames (one form keyed in ``survey entry``) give exactly the
result of the column-wise path: same problems, data, missing codes, rejected rows and notes."""

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import survey as sv
from survey.errors import SurveyError
from survey.ingest.read import raw_from_records
from survey.questionnaire import expressions as X
from survey.validation import engine as E
from survey.validation import validate

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "data" / "grassroots_training_responses.csv"
Q = sv.load_questionnaire("grassroots_training")
SLOW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def column_wise():
    """Switch the tiny-frame paths off (every frame takes the column-wise path)."""
    saved = E.SMALL_FRAME, X.SMALL_FRAME
    E.SMALL_FRAME = X.SMALL_FRAME = 0
    try:
        yield
    finally:
        E.SMALL_FRAME, X.SMALL_FRAME = saved


def assert_same(raw, language="en"):
    fast = validate(raw, Q, language=language)
    with column_wise():
        full = validate(raw, Q, language=language)
    pd.testing.assert_frame_equal(fast.report.problems, full.report.problems)
    pd.testing.assert_frame_equal(fast.data, full.data)
    pd.testing.assert_frame_equal(fast.missing, full.missing)
    pd.testing.assert_frame_equal(fast.rejected, full.rejected)
    assert fast.report.notes == full.report.notes
    assert (fast.report.rows_accepted, fast.report.rows_rejected) == (
        full.report.rows_accepted, full.report.rows_rejected)
    return fast


@pytest.fixture(scope="module")
def flagship():
    raw = pd.read_csv(CSV, dtype=str, keep_default_na=False).replace("", None)
    raw.insert(0, "_row", range(2, len(raw) + 2))
    return raw


# rows of the bundled data with a planted problem (data/README.md), one at a time
@pytest.mark.parametrize("row", [11, 30, 44, 64, 76, 93, 149, 177, 228, 230, 248, 335])
def test_planted_problem_rows_alone(flagship, row):
    one = flagship[flagship["_row"] == row].reset_index(drop=True)
    fast = assert_same(one)
    assert len(fast.report.problems), f"row {row}: the planted problem is found"


def test_a_few_rows_with_duplicate_ids(flagship):
    some = flagship.iloc[[0, 1, 2]].reset_index(drop=True).copy()
    some.loc[1, "respondent_id"] = some.loc[0, "respondent_id"]  # conflicting copy
    some = pd.concat([some, some.iloc[[0]]], ignore_index=True)  # exact copy
    some["_row"] = range(2, 6)
    fast = assert_same(some)
    assert (fast.report.problems["rule"] == "duplicate_id").sum() >= 2


@SLOW
@given(st.data())
def test_bundled_rows_alone_and_in_threes(flagship, data):
    idx = data.draw(st.lists(st.integers(0, len(flagship) - 1), min_size=1, max_size=3))
    assert_same(flagship.iloc[idx].reset_index(drop=True),
                language=data.draw(st.sampled_from(["en", "zh-Hant"])))


# cells as a clerk might key them: codes, other codes, blanks, padded or odd text, numbers
CELL = st.one_of(
    st.none(), st.just(""), st.sampled_from(["1", "2", "3", "5", "9", "-99", "-77"]),
    st.sampled_from([" 2", "2 ", "\u00a02", "2\u200b", "1 2", "1,2", "x", "2.5", "1e3", "41"]),
    st.text(max_size=4))
GAINS = st.one_of(st.none(), st.sampled_from(
    ["mass_work", "mass_work style", "other", "other style mass_work", "nope", " style"]))


@SLOW
@given(st.fixed_dictionaries(
    {name: (GAINS if name == "gains" else CELL)
     for name in [qq.name for qq in Q.questions()]}))
def test_generated_single_records(rec):
    rec = {k: v for k, v in rec.items() if v is not None}
    rec.setdefault("respondent_id", "R1")
    frame = pd.DataFrame([rec], dtype=object)
    frame.insert(0, "_row", [2])
    assert_same(frame)  # straight into validate (padded text reaches the engine)
    try:
        raw = raw_from_records([{k: v for k, v in rec.items() if v}], Q,
                               source={"path": "<entry form>"})
    except SurveyError:  # refused by the ingest mapping (e.g. an ambiguous label): no engine
        return
    assert_same(raw)  # through the ingest mapping, as the entry app judges a form


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.just(np.nan), st.text(max_size=5),
                          st.integers(-5, 5)), min_size=1, max_size=4))
def test_text_helpers_same_as_column_wise(values):
    s = pd.Series(values, dtype=object, name="q")
    fast = (E._as_text(s), X._str(X._V("node", s)))
    with column_wise():
        full = (E._as_text(s), X._str(X._V("node", s)))
    for a, b in zip(fast, full):
        pd.testing.assert_series_equal(a, b)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=1, max_size=4))
def test_text_of_a_pandas_string_column_same_as_column_wise(values):
    """Columns read from a file are pandas' ``str`` dtype, not object: same text either way."""
    s = pd.Series(values, dtype="str", name="q")
    fast = E._as_text(s)
    assert E._as_text_small(s) is not None or any(
        not E._plain_edges(v) for v in s.dropna())  # the small path takes these
    with column_wise():
        full = E._as_text(s)
    pd.testing.assert_series_equal(fast, full)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.just(np.nan), st.floats(allow_nan=False), st.integers(-10, 10)),
                min_size=1, max_size=4))
def test_number_text_same_as_column_wise(values):
    s = pd.Series(values, dtype=float, name="n")
    fast = X._fmt_num(s)
    with column_wise():
        full = X._fmt_num(s)
    pd.testing.assert_series_equal(fast, full)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.just(np.nan), st.integers(-999, 999).map(float),
                          st.floats(-1e3, 1e3, allow_nan=False)), max_size=6))
def test_missing_codes_as_pandas_converts_them(values):
    """The missing-code columns are built from values and mask: the same Int64 array as
    pandas' Float64 -> Int64 conversion (which a code that is not whole still takes)."""
    code = np.array(values, dtype=float)
    expected = pd.array(code, dtype="Float64").astype("Int64")
    pd.testing.assert_extension_array_equal(E._int_codes(code), expected)
