"""Reading details that do not need a real template: a small hand-made TemplateSpec."""

from __future__ import annotations

import codecs

import pandas as pd
import pytest

from survey.errors import IngestError
from survey.ingest._spec import ChoiceSpec, FieldSpec, TemplateSpec
from survey.ingest.encoding import detect_encoding
from survey.ingest.read import read_raw

SEX = FieldSpec("sex", "single", labels=(("zh-Hans", "性别"), ("en", "Sex")), choices=(
    ChoiceSpec("1", 1.0, (("zh-Hans", "男"), ("zh-Hant", "男"), ("en", "Male"))),
    ChoiceSpec("2", 2.0, (("zh-Hans", "女"), ("zh-Hant", "女"), ("en", "Female"))),
))
UNIT = FieldSpec("unit", "single", (
    ChoiceSpec("county", None, (("zh-Hans", "县直机关"), ("zh-Hant", "縣直機關"), ("en", "County"))),
    ChoiceSpec("town", None, (("zh-Hans", "乡镇"), ("zh-Hant", "鄉鎮"), ("en", "Township"))),
))
GAINS = FieldSpec("gains", "multi", (
    ChoiceSpec("mass_work", None, (("zh-Hans", "群众工作能力"), ("zh-Hant", "群眾工作能力"),
                                   ("en", "Working with the masses"))),
    ChoiceSpec("style", None, (("zh-Hans", "工作作风"), ("zh-Hant", "工作作風"), ("en", "Work style"))),
    ChoiceSpec("other", 97.0, (("zh-Hans", "其他"), ("zh-Hant", "其他"), ("en", "Other"))),
), other_choice="other", other_text="gains_text")
SPEC = TemplateSpec(fields=(
    FieldSpec("respondent_id", "text", role="id"), SEX, UNIT,
    FieldSpec("years", "integer"), GAINS, FieldSpec("gains_text", "text"),
), languages=("zh-Hans", "zh-Hant", "en"), default_language="zh-Hans")


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_values_match_codes_names_and_labels_in_any_language(tmp_path):
    p = write(tmp_path, "a.csv", "respondent_id,sex,unit,years\n"
              "1,女,鄉鎮,３\n2,Female,town,4\n3, 2 ,TOWNSHIP,5.0\n4,２,乡镇,\n5,9,縣直機關,x\n")
    raw = read_raw(p, SPEC)
    f = raw.frame
    assert f["sex"].tolist()[:4] == ["2", "2", "2", "2"]
    assert f["sex"].iloc[4] == "9"  # unknown code kept verbatim for validation
    assert f["unit"].tolist() == ["town"] * 4 + ["county"]
    assert f["years"].tolist()[:3] == ["3", "4", "5.0"]
    assert pd.isna(f["years"].iloc[3]) and f["years"].iloc[4] == "x"
    assert f["_row"].tolist() == [2, 3, 4, 5, 6]


def test_multi_select_shapes(tmp_path):
    text = ("respondent_id,gains\n1,mass_work style\n2,\"群众工作能力, 工作作风\"\n"
            "3,工作作風、其他\n4,Work style\n5,97\n6,style banana\n")
    raw = read_raw(write(tmp_path, "m.csv", text), SPEC)
    assert raw.frame["gains"].tolist() == [
        "mass_work style", "mass_work style", "style other", "style", "other", "style banana"]


def test_option_columns_build_the_multi_answer(tmp_path):
    text = ("respondent_id,gains/mass_work,gains/style,gains/other\n"
            "1,1,0,0\n2,0,1,1\n3,,,\n4,0,0,0\n")
    raw = read_raw(write(tmp_path, "o.csv", text), SPEC)
    assert raw.frame["gains"].tolist()[:2] == ["mass_work", "style other"]
    assert raw.frame["gains"].isna().tolist()[2:] == [True, True]
    assert raw.column_map["gains/style"] == "gains[style]"


def test_unknown_and_absent_columns_are_reported(tmp_path):
    text = "respondent_id,sexx,note,unit\n1,1,hello,town\n"
    raw = read_raw(write(tmp_path, "u.csv", text), SPEC)
    assert raw.unknown_columns == ("sexx", "note")
    assert raw.frame["_extra:note"].tolist() == ["hello"]
    assert raw.absent_columns["sex"] == ["sexx"]
    assert raw.extra.columns.tolist() == ["sexx", "note"]


def test_mapping_renames_columns(tmp_path):
    text = "ID,Q2,Q3\nA,1,town\n"
    raw = read_raw(write(tmp_path, "m.csv", text), SPEC,
                   mapping={"Q2": "sex", "Q3": "unit"}, id_column="ID")
    assert raw.frame[["respondent_id", "sex", "unit"]].iloc[0].tolist() == ["A", "1", "town"]


def test_empty_lines_are_skipped_and_noted_row_numbers_kept(tmp_path):
    text = "respondent_id,sex\n1,1\n\n,\n2,2\n"
    raw = read_raw(write(tmp_path, "e.csv", text), SPEC)
    assert raw.frame["_row"].tolist() == [2, 5]
    assert raw.source["rows_read"] == 2
    assert any("2 empty row(s) skipped (row 3, 4)" in n for n in raw.notes)


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, sep):
    text = sep.join(["respondent_id", "sex", "unit"]) + "\n" + sep.join(["1", "女", "town"]) + "\n"
    raw = read_raw(write(tmp_path, "d.csv", text), SPEC)
    assert raw.source["delimiter"] == sep
    assert raw.frame["sex"].iloc[0] == "2"


def test_gb18030_and_big5_are_told_apart_by_the_template_labels():
    simplified = "respondent_id,unit,gains\n1,县直机关,群众工作能力\n2,乡镇,工作作风\n"
    traditional = "respondent_id,unit,gains\n1,縣直機關,群眾工作能力\n2,鄉鎮,工作作風\n"
    from survey.ingest.read import _expected_strings

    expected = _expected_strings(SPEC)
    gb = simplified.encode("gb18030")
    b5 = traditional.encode("cp950")
    assert detect_encoding(gb, expected=expected)[0] == "gb18030"
    assert detect_encoding(b5, expected=expected)[0] == "cp950"
    assert detect_encoding(codecs.BOM_UTF8 + simplified.encode())[0] == "utf-8-sig"
    assert detect_encoding(simplified.encode("utf-16"))[0] == "utf-16"


def test_explicit_encoding_wins_and_bad_bytes_name_the_line(tmp_path):
    p = write(tmp_path, "g.csv", "respondent_id,unit\n1,乡镇\n", encoding="gb18030")
    with pytest.raises(IngestError, match=r"g\.csv, line 2, byte 3 .*expected text in the "
                                          r"utf-8 encoding.*Hint: pass the right encoding="):
        read_raw(p, SPEC, encoding="utf-8")
    assert read_raw(p, SPEC, encoding="gb18030").frame["unit"].iloc[0] == "town"


def test_no_matching_column_is_an_error_with_close_matches(tmp_path):
    p = write(tmp_path, "n.csv", "respondentid_x,sexe\n1,1\n")
    with pytest.raises(IngestError, match=r"expected columns named after the template's "
                                          r"questions.*close matches: .*sex ~ sexe"):
        read_raw(p, SPEC)


def test_unknown_extension_and_old_excel(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(IngestError, match="unknown binary file with extension .bin"):
        read_raw(p, SPEC)
    p = tmp_path / "x.xls"
    p.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with pytest.raises(IngestError, match="old binary Excel .xls workbook"):
        read_raw(p, SPEC)
    with pytest.raises(IngestError, match="expected an existing file"):
        read_raw(tmp_path / "missing.csv", SPEC)


def test_wrong_sheet_lists_the_sheets(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "data"
    wb.active.append(["respondent_id", "sex"])
    wb.active.append(["1", 2])
    p = tmp_path / "w.xlsx"
    wb.save(p)
    with pytest.raises(IngestError, match=r"found 'dta'. Hint: did you mean 'data'\?"):
        read_raw(p, SPEC, sheet="dta")
    raw = read_raw(p, SPEC, sheet="data")
    assert raw.frame["sex"].tolist() == ["2"] and raw.frame["_row"].tolist() == [2]


def test_ragged_csv_names_the_line(tmp_path):
    """A line with too many fields no longer makes the file unreadable (issue #10): it is
    marked with its field count and line number; validation rejects it as ragged_line."""
    p = write(tmp_path, "r.csv", "respondent_id,sex\n1,1\n2,1,extra,more\n3,2\n")
    raw = read_raw(p, SPEC)
    assert raw.frame["_row"].tolist() == [2, 3, 4]
    assert raw.frame["_ragged"].tolist() == [pd.NA, 4, pd.NA]
    assert any("line 3" in n and "ragged_line" in n for n in raw.notes)


def test_limesurvey_incomplete_and_positional_codes(tmp_path):
    text = ("id,submitdate,lastpage,startlanguage,respondentid,sex,unit,gains[SQ001],"
            "gains[SQ002],gains[other]\n"
            "1,2023-05-10 08:00:00,2,zh-Hans,R1,A2,A1,Y,,\n"
            "2,,1,zh-Hans,R2,A1,A2,,Y,挂职\n")
    raw = read_raw(write(tmp_path, "l.csv", text), SPEC)
    f = raw.frame
    assert raw.source["platform"] == "limesurvey"
    assert f["_incomplete"].tolist() == [False, True]
    assert f["sex"].tolist() == ["2", "1"] and f["unit"].tolist() == ["county", "town"]
    assert f["gains"].tolist() == ["mass_work", "style other"]
    assert f["gains_text"].tolist()[1] == "挂职"


def test_option_text_columns_and_label_headers(tmp_path):
    # SurveyMonkey-style expanded multi-select (option text or blank) under label headers
    text = ("respondent_id,性别,gains [1],gains [2],gains [3]\n"
            "1,Female,群众工作能力,,\n2,男,,Work style,其他\n3,,,,\n")
    raw = read_raw(write(tmp_path, "sm.csv", text), SPEC,
                   mapping={"gains [1]": "gains[mass_work]", "gains [2]": "gains[style]",
                            "gains [3]": "gains[other]"})
    f = raw.frame
    assert raw.column_map["性别"] == "sex"  # a header that is the question's label
    assert f["sex"].tolist()[:2] == ["2", "1"]
    assert f["gains"].tolist()[:2] == ["mass_work", "style other"] and pd.isna(f["gains"][2])


def test_missing_codes_in_cells_are_kept_apart(tmp_path):
    spec = TemplateSpec(fields=SPEC.fields, missing_codes=((-99.0, "nonresponse", ()),
                                                           (-77.0, "invalid", ())))
    text = "respondent_id,sex,years\n1,-99,-77\n2,1,-99.0\n"
    raw = read_raw(write(tmp_path, "mc.csv", text), spec)
    assert raw.frame["sex"].isna().tolist() == [True, False]
    assert raw.missing["sex"].tolist() == [-99, pd.NA]
    assert raw.missing["years"].tolist() == [-77, -99]
