"""The same 8 answers to the flagship template, in every file shape and encoding, read to the
same canonical raw frame (and the same Survey data). Fixtures: tests/data/ingest/make_fixtures.py.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from survey.ingest import read_raw, read_responses
from survey.questionnaire import load_questionnaire

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
Q = load_questionnaire("grassroots_training")

# file -> (read options, expected platform, expected encoding or None)
CASES = {
    "plain.csv": ({}, "generic", "utf-8"),
    "labels_en.csv": ({}, "generic", "utf-8"),
    "labels_zh-Hant.csv": ({}, "generic", "utf-8"),
    "gb18030.csv": ({}, "generic", "gb18030"),
    "big5.csv": ({}, "generic", "cp950"),
    "utf8bom.csv": ({}, "generic", "utf-8-sig"),
    "utf16.txt": ({}, "generic", "utf-16"),
    "plain.xlsx": ({}, "generic", None),
    "plain.sav": ({}, "generic", None),
    "plain.dta": ({}, "generic", None),
    "plain.parquet": ({}, "generic", None),
    "kobo.csv": ({}, "kobo", "utf-8"),
    "kobo.xlsx": ({}, "kobo", None),
    "odk.csv": ({}, "odk", "utf-8"),
    "qualtrics.csv": ({"mapping": {"QID11": "necessity", "QID12": "gains"}}, "qualtrics",
                      "utf-8-sig"),
    "limesurvey.csv": ({}, "limesurvey", "utf-8-sig"),
}


def expected() -> pd.DataFrame:
    df = pd.read_csv(DATA / "expected_canonical.csv", dtype=object, keep_default_na=False)
    return df.astype(object).where(df != "", None)


def questions(raw) -> pd.DataFrame:
    return raw.frame[raw.questions].astype(object).where(raw.frame[raw.questions].notna(), None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_shape_reads_to_the_same_canonical_frame(name):
    options, platform, encoding = CASES[name]
    raw = read_raw(DATA / name, Q, **options)
    assert raw.source["platform"] == platform
    if encoding is not None:
        assert raw.source["encoding"] == encoding
    assert raw.source["rows_read"] == 8
    assert raw.absent_columns == {}
    got = questions(raw).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected(), check_dtype=False)
    assert raw.frame["_row"].is_unique


def test_row_numbers_follow_the_file():
    assert read_raw(DATA / "plain.csv", Q).frame["_row"].tolist() == list(range(2, 10))
    # Qualtrics: three header rows, so the first answer is row 4
    raw = read_raw(DATA / "qualtrics.csv", Q, mapping={"QID11": "necessity", "QID12": "gains"})
    assert raw.frame["_row"].tolist() == list(range(4, 12))
    assert raw.source["header_rows"] == 3


def test_platform_system_columns_are_kept_as_extras():
    raw = read_raw(DATA / "kobo.csv", Q)
    assert "_extra:_uuid" in raw.frame.columns
    assert raw.column_map["g_views/gains/style"] == "gains[style]"
    assert raw.column_map["g_profile/unit"] == "unit"
    odk = read_raw(DATA / "odk.csv", Q)
    assert {"SubmissionDate", "KEY", "FormVersion"} <= set(odk.unknown_columns)


def test_qualtrics_without_mapping_reports_the_renamed_question():
    raw = read_raw(DATA / "qualtrics.csv", Q)
    assert "necessity" in raw.absent_columns and "Q11" in raw.unknown_columns


def test_limesurvey_records_completeness():
    raw = read_raw(DATA / "limesurvey.csv", Q)
    assert raw.frame["_incomplete"].tolist() == [False] * 8


def test_every_shape_gives_the_same_survey_data():
    ref = read_responses(DATA / "plain.csv", Q)
    assert len(ref.data) + len(ref.rejected) == ref.source["rows_read"] == 8
    for name, (options, _, _) in CASES.items():
        s = read_responses(DATA / name, Q, **options)
        assert len(s.data) + len(s.rejected) == s.source["rows_read"], name
        cols = Q.data_columns()
        pd.testing.assert_frame_equal(s.data[cols].reset_index(drop=True),
                                      ref.data[cols].reset_index(drop=True), obj=name)
        pd.testing.assert_frame_equal(s.missing.reset_index(drop=True),
                                      ref.missing.reset_index(drop=True), obj=name)


def test_design_options_pass_through(tmp_path):
    text = (DATA / "plain.csv").read_text(encoding="utf-8").splitlines()
    text[0] += ",pw,stratum"
    for i in range(1, len(text)):
        text[i] += f",{1.5 + i % 2},{'a' if i % 2 else 'b'}"
    p = tmp_path / "w.csv"
    p.write_text("\n".join(text) + "\n", encoding="utf-8")
    s = read_responses(p, Q, weight="pw", strata="stratum")
    assert s.weight == "pw" and s.design.strata == "stratum"
    assert s.weights.tolist() == [2.5, 1.5] * 4
    text[3] = text[3].replace(",2.5,", ",heavy,")
    p.write_text("\n".join(text) + "\n", encoding="utf-8")
    from survey.errors import IngestError

    with pytest.raises(IngestError, match=r"w\.csv, row 4, column 'pw': expected a number "
                                          r"\(design column\), found 'heavy'"):
        read_responses(p, Q, weight="pw")
    with pytest.raises(IngestError, match=r"found 'wieght'. Hint: did you mean 'weight'\?"):
        read_responses(p, Q, wieght="pw")
