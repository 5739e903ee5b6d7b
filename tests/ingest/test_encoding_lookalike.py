"""A short GB18030 file can also be valid UTF-8; the template's own labels decide."""

import survey as sv
from survey.ingest.read import read_raw


def test_gb18030_file_that_is_also_valid_utf8(tmp_path):
    q = sv.load_questionnaire("grassroots_training")
    text = "respondent_id,sex\nA1,女\nA2,女\n"
    raw_bytes = text.encode("gb18030")
    raw_bytes.decode("utf-8")  # the trap: these bytes are valid UTF-8 ("Ů", ...)
    path = tmp_path / "short.csv"
    path.write_bytes(raw_bytes)
    raw = read_raw(path, q)
    assert raw.source["encoding"] == "gb18030"
    female = q.var_info("sex").codes[q.var_info("sex").categories.index("女")]
    assert raw.frame["sex"].tolist()[0] == female


def test_real_utf8_stays_utf8(tmp_path):
    q = sv.load_questionnaire("grassroots_training")
    path = tmp_path / "utf8.csv"
    path.write_text("respondent_id,sex\nA1,女\nA2,男\n", encoding="utf-8")
    assert read_raw(path, q).source["encoding"] == "utf-8"
