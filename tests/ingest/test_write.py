"""Writers: what we write reads back to the same Survey; labels, missing codes, limits, safety."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from survey.errors import IngestError
from survey.ingest import read_responses
from survey.ingest.write import truncate_bytes
from survey.questionnaire import load_questionnaire

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
Q = load_questionnaire("grassroots_training")


@pytest.fixture(scope="module")
def survey():
    s = read_responses(DATA / "plain.csv", Q)
    assert s.missing is not None and s.missing.notna().any().any()  # some reasons to carry
    return s


def same(a, b, name):
    cols = Q.data_columns()
    pd.testing.assert_frame_equal(a.data[cols].reset_index(drop=True),
                                  b.data[cols].reset_index(drop=True), obj=name)
    pd.testing.assert_frame_equal(a.missing.reset_index(drop=True),
                                  b.missing.reset_index(drop=True), obj=f"{name} missing")


@pytest.mark.parametrize("ext", ["sav", "zsav", "dta", "parquet", "csv", "xlsx"])
def test_round_trip(survey, tmp_path, ext):
    path = tmp_path / f"out.{ext}"
    written = getattr(survey, {"sav": "to_spss", "zsav": "to_spss", "dta": "to_stata",
                               "parquet": "to_parquet", "csv": "to_csv",
                               "xlsx": "to_excel"}[ext])(path)
    assert written.rows == len(survey.data)
    back = read_responses(path, Q)
    same(survey, back, ext)


def test_round_trip_in_english_labels(survey, tmp_path):
    survey.to_csv(tmp_path / "en.csv", language="en", bom=True)
    assert (tmp_path / "en.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    text = (tmp_path / "en.csv").read_text(encoding="utf-8-sig")
    assert "Townships and sub-districts" in text
    same(survey, read_responses(tmp_path / "en.csv", Q), "en csv")


def test_spss_metadata(survey, tmp_path):
    import pyreadstat

    survey.to_spss(tmp_path / "out.sav", language="en")
    df, meta = pyreadstat.read_sav(str(tmp_path / "out.sav"), user_missing=True)
    assert meta.variable_value_labels["unit"][3] == "Townships and sub-districts"
    assert meta.column_names_to_labels["necessity"].startswith("Is it necessary")
    gl = meta.variable_value_labels["gains_style"]
    assert gl[0] == "Not selected" and gl[1] == "Selected"
    # a skipped or unanswered cell holds its missing code, declared as user-missing
    assert {"lo": -99.0, "hi": -99.0} in meta.missing_ranges["sex"]
    assert (df["sex"] == -99).sum() == (survey.missing["sex"] == -99).sum() > 0
    assert meta.variable_measure["rank_level"] == "ordinal"


def test_long_chinese_labels_are_cut_on_a_character_boundary(survey, tmp_path):
    import pyreadstat

    long = "很长的选项标签" * 10  # 70 characters, 210 bytes in UTF-8
    data = survey.data.copy()
    data["note"] = pd.Categorical(["a"] * len(data))
    s2 = survey.replace(data=data)
    q2 = Q.model_copy(deep=True)
    lst = q2.choice_lists["necessity3"]
    c0 = lst.choices[0].model_copy(update={"label": {**lst.choices[0].label, "zh-Hant": long}})
    q2.choice_lists["necessity3"] = lst.model_copy(update={"choices": (c0, *lst.choices[1:])})
    written = s2.replace(questionnaire=q2).to_spss(tmp_path / "long.sav", language="zh-Hant")
    _, meta = pyreadstat.read_sav(str(tmp_path / "long.sav"))
    label = meta.variable_value_labels["necessity"][1]
    assert len(label.encode("utf-8")) <= 120 and long.startswith(label) and len(label) == 40
    assert any("value label 1 of 'necessity' cut to 120 bytes" in n for n in written.notes)
    assert truncate_bytes("基层", 5) == "基"


def test_formula_text_is_neutralized_but_kept(survey, tmp_path):
    from openpyxl import load_workbook

    data = survey.data.copy()
    data["gains_other_text"] = data["gains_other_text"].astype(object)
    data.iloc[0, data.columns.get_loc("gains_other_text")] = "=HYPERLINK(\"http://x\")"
    data.iloc[1, data.columns.get_loc("gains_other_text")] = "@SUM(A1)"
    s2 = survey.replace(data=data)
    w = s2.to_excel(tmp_path / "x.xlsx")
    ws = load_workbook(tmp_path / "x.xlsx")["data"]
    col = [c.value for c in ws[1]].index("gains_other_text") + 1
    cell = ws.cell(row=2, column=col)
    assert cell.value == "=HYPERLINK(\"http://x\")" and cell.data_type == "s" and cell.quotePrefix
    assert ws.cell(row=3, column=col).quotePrefix
    assert "2 text cell(s)" in w.notes[0]
    s2.to_csv(tmp_path / "x.csv")
    text = (tmp_path / "x.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text
    cb = load_workbook(tmp_path / "x.xlsx")["codebook"]
    assert cb.cell(row=1, column=1).value == "variable"


def test_parquet_keeps_labels_in_metadata(survey, tmp_path):
    import json

    import pyarrow.parquet as pq

    survey.to_parquet(tmp_path / "x.parquet")
    meta = json.loads(pq.read_schema(tmp_path / "x.parquet").metadata[b"survey"])
    assert meta["columns"]["necessity"]["codes"] == ["1", "2", "3"]
    back = pd.read_parquet(tmp_path / "x.parquet")
    assert isinstance(back["necessity"].dtype, pd.CategoricalDtype)


def test_stata_names_and_labels(survey, tmp_path):
    import pyreadstat

    data = survey.data.copy()
    data["a_very_long_column_name_that_stata_cannot_hold_at_all"] = 1.0
    w = survey.replace(data=data).to_stata(tmp_path / "x.dta", language="en")
    df, meta = pyreadstat.read_dta(str(tmp_path / "x.dta"))
    assert all(len(c) <= 32 for c in df.columns)
    assert any("written as 'a_very_long_column_name_that_sta'" in n for n in w.notes)
    assert all(len(v) <= 80 for v in meta.column_names_to_labels.values() if v)


def test_unknown_output_extension(survey, tmp_path):
    from survey.ingest.write import write

    with pytest.raises(IngestError, match=r"expected an output extension .sav .zsav .dta "
                                          r"\.parquet \.csv or \.xlsx, found '.json'"):
        write(survey, tmp_path / "x.json")


@pytest.mark.parametrize("ext", ["sav", "csv", "xlsx", "parquet"])
def test_stated_reasons_survive_a_round_trip(tmp_path, ext):
    # row R002 ticked an unknown code (validation codes it invalid, -77); writing keeps -77
    text = (DATA / "plain.csv").read_text(encoding="utf-8").splitlines()
    cells = text[2].split(",")
    cells[text[0].split(",").index("sex")] = "9"
    text[2] = ",".join(cells)
    src = tmp_path / "in.csv"
    src.write_text("\n".join(text) + "\n", encoding="utf-8")
    s = read_responses(src, Q)
    assert s.missing["sex"].tolist()[1] == -77
    path = tmp_path / f"out.{ext}"
    {"sav": s.to_spss, "csv": s.to_csv, "xlsx": s.to_excel, "parquet": s.to_parquet}[ext](path)
    back = read_responses(path, Q)
    same(s, back, ext)
    rules = back.validation.to_frame()["rule"].tolist() if hasattr(back.validation, "to_frame") \
        else []
    assert "unknown_code" not in rules  # the written -77/-99 are read as codes, not answers
