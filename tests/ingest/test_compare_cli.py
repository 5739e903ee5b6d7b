"""Double data entry and the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from survey.cli import main
from survey.ingest import compare_entries
from survey.questionnaire import load_questionnaire

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
Q = load_questionnaire("grassroots_training")


def keyed_again(tmp_path) -> Path:
    """The plain.csv forms keyed a second time: in labels, by two clerks, with 3 slips,
    one form missing and one extra."""
    df = pd.read_csv(DATA / "labels_zh-Hant.csv", dtype=str, keep_default_na=False)
    df.loc[1, "sex"] = "女" if df.loc[1, "sex"] != "女" else "男"  # slip 1 (R002)
    df.loc[3, "grassroots_years"] = "82"  # slip 2 (R004): was 28
    df.loc[6, "att_2"] = "同意"  # slip 3 (R007): was blank
    df = df.drop(index=4)  # R005 not keyed
    extra = df.iloc[[0]].copy()
    extra["respondent_id"] = "R999"
    df = pd.concat([df, extra], ignore_index=True)
    df["clerk"] = ["wang", "li"] * (len(df) // 2) + ["wang"] * (len(df) % 2)
    path = tmp_path / "second.xlsx"
    df.to_excel(path, index=False)
    return path


def test_disagreements_rows_and_rates(tmp_path):
    second = keyed_again(tmp_path)
    cmp = compare_entries(DATA / "plain.csv", second, Q, clerk_column="clerk")
    d = cmp.disagreements
    assert d[["respondent_id", "question"]].values.tolist() == [
        ["R002", "sex"], ["R004", "grassroots_years"], ["R007", "att_2"]]
    assert d.loc[1, "first"] == "28" and d.loc[1, "second"] == "82"
    assert pd.isna(d.loc[2, "first"]) and d.loc[2, "second"] == "4"  # 同意 = agree5 "4"
    assert d["row_first"].tolist() == [3, 5, 8]
    assert cmp.only_first["respondent_id"].tolist() == ["R005"]
    assert cmp.only_second["respondent_id"].tolist() == ["R999"]
    assert cmp.by_question.loc["sex", "agree"] == 6 and cmp.by_question.loc["sex", "cells"] == 7
    by_clerk = cmp.by_clerk.set_index(["clerk", "file"])
    assert by_clerk["cells"].xs("second", level="file").sum() == 7 * (len(Q.questions()) - 1)
    assert not cmp.ok and "3 disagreements" in repr(cmp)


def test_identical_keyings_agree(tmp_path):
    cmp = compare_entries(DATA / "plain.csv", DATA / "labels_en.csv", Q)
    assert cmp.ok and cmp.agreement == 1.0


def test_cli_compare_entries_exit_code(tmp_path, capsys):
    assert main(["compare-entries", "grassroots_training", str(DATA / "plain.csv"),
                 str(DATA / "kobo.csv")]) == 0
    second = keyed_again(tmp_path)
    assert main(["compare-entries", "grassroots_training", str(DATA / "plain.csv"),
                 str(second), "--out", str(tmp_path / "d.csv")]) == 1
    out = capsys.readouterr().out
    assert "3 disagreements" in out and "R999" in out
    assert len(pd.read_csv(tmp_path / "d.csv")) == 3


@pytest.mark.parametrize("ext", ["sav", "dta", "parquet", "csv", "xlsx"])
def test_cli_convert(tmp_path, capsys, ext):
    out = tmp_path / f"o.{ext}"
    assert main(["convert", "grassroots_training", str(DATA / "kobo.csv"), str(out)]) == 0
    assert out.exists() and "read 8 rows: 8 accepted" in capsys.readouterr().out


def test_cli_convert_reports_errors(tmp_path, capsys):
    assert main(["convert", "grassroots_training", str(tmp_path / "none.csv"),
                 str(tmp_path / "o.sav")]) == 1
    assert "expected an existing file" in capsys.readouterr().err
