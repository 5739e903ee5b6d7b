"""Start from the data: templates inferred from labelled SPSS/Stata files (made here with
pyreadstat) and from plain files; read_responses(path) with no template.

Reference counts are SPSS FREQUENCIES' valid counts, computed independently: pyreadstat
reading the same file with user-missing values as NaN (its default), then value_counts."""

import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import survey as sv
from survey.errors import IngestError

VALUE_LABELS = {
    "degree": {0: "Lt high school", 1: "High school", 2: "Bachelor", 8: "DK", 9: "NA"},
    "happy": {0: "NAP", 1: "Very happy", 2: "Pretty happy", 3: "Not too happy", 8: "DK"},
    "sex": {1: "Male", 2: "Female"},
    "age": {98: "Don't know", 99: "Refused"},
}


def gss_like(n: int = 60, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "degree": rng.choice([0, 1, 2, 8, 9], n, p=[.3, .4, .2, .05, .05]).astype(float),
        "happy": rng.choice([0, 1, 2, 3, 8], n, p=[.2, .3, .3, .15, .05]).astype(float),
        "sex": rng.choice([1, 2], n).astype(float),
        "age": np.where(rng.random(n) < .1, rng.choice([98, 99], n),
                        rng.integers(18, 90, n)).astype(float),
        "g1": rng.choice([1, 0], n).astype(float),
        "g2": rng.choice([1, 0], n).astype(float),
        "comment": rng.choice(["", "ok", "good"], n),
        "interview": pd.to_datetime("2024-05-01") + pd.to_timedelta(rng.integers(0, 30, n),
                                                                     unit="D"),
    })


def add_mr_set(path, text: bytes) -> None:
    """Insert an SPSS multiple-response-set record (type 7, subtype 7) before the
    dictionary terminator: pyreadstat reads MR sets but cannot write them."""
    b = path.read_bytes()
    i = b.find(struct.pack("<ii", 999, 0))
    rec = struct.pack("<iiii", 7, 7, 1, len(text)) + text
    path.write_bytes(b[:i] + rec + b[i:])


@pytest.fixture
def sav(tmp_path):
    p = tmp_path / "gss.sav"
    pyreadstat.write_sav(
        gss_like(), str(p),
        column_labels={"degree": "Highest degree", "happy": "General happiness",
                       "sex": "Respondent's sex", "age": "Age of respondent",
                       "g1": "Gained skills", "g2": "Gained contacts", "comment": "Comment",
                       "interview": "Interview date"},
        variable_value_labels=VALUE_LABELS,
        missing_ranges={"degree": [8, 9], "happy": [0, 8], "age": [{"lo": 98, "hi": 99}]},
        variable_measure={"degree": "ordinal", "happy": "ordinal", "sex": "nominal",
                          "age": "scale"},
        variable_format={"interview": "DATE11"})
    add_mr_set(p, b"$gains=D1 1 5 Gains g1 g2\n")
    return p


def spss_valid_counts(path, var) -> dict:
    df, _ = pyreadstat.read_sav(str(path))  # user-missing -> NaN, as SPSS's valid counts
    return {int(k): int(v) for k, v in df[var].value_counts().items()}


def test_inferred_template_from_sav(sav):
    q = sv.infer_questionnaire(sav)
    types = {x.name: x.type for x in q.questions()}
    assert types == {"degree": "select_one", "happy": "select_one", "sex": "select_one",
                     "age": "integer", "gains": "select_multiple", "comment": "text",
                     "interview": "date"}
    assert q.choices(q.question("degree").list_name).ordered  # measure ordinal
    assert not q.choices(q.question("sex").list_name).ordered
    # user-missing values per variable, with kinds from their labels; 0 valid in degree
    miss = {x.name: [(m.code, m.kind) for m in x.missing or ()] for x in q.questions()}
    assert miss["degree"] == [(8, "nonresponse"), (9, "nonresponse")]
    assert miss["happy"] == [(0, "not_applicable"), (8, "nonresponse")]
    assert miss["age"] == [(98, "nonresponse"), (99, "nonresponse")]
    assert q.choices(q.question("degree").list_name).names() == ["0", "1", "2"]
    assert q.question("degree").label == {"en": "Highest degree"}
    assert q.choices("gains").names() == ["g1", "g2"]
    assert q.question("comment").model_extra["x_width"] >= 4


def test_read_sav_without_template_gives_spss_valid_counts(sav):
    s = sv.read_responses(sav)
    assert s.questionnaire.id == "gss" and "inferred" in s.source["template"]
    for var in ("degree", "happy", "sex"):
        f = sv.frequencies(s, var).to_frame()
        labels = VALUE_LABELS[var]
        got = {k: int(n) for k, n in zip(f["category"], f["n"]) if n}
        want = {labels[c]: n for c, n in spss_valid_counts(sav, var).items()}
        assert got == want, var
        total = sum(want.values())
        assert np.allclose(f["pct"], 100 * f["n"] / total)
    ages = pd.to_numeric(s.data["age"]).dropna()
    df, _ = pyreadstat.read_sav(str(sav))
    assert sv.mean(s, "age").estimate == pytest.approx(df["age"].mean(), rel=1e-12)
    assert len(ages) == df["age"].notna().sum()
    # the reasons are kept per variable: degree's 8/9, happy's NAP 0
    assert set(s.missing["happy"].dropna().astype(int)) == {0, 8}
    assert s.validation.problems.empty


def test_mr_set_is_a_multiple_choice_question(sav):
    s = sv.read_responses(sav)
    mr = sv.multi_response(s, "gains").to_frame()
    df, _ = pyreadstat.read_sav(str(sav))
    answered = (df[["g1", "g2"]] == 1).any(axis=1)  # SPSS MULT RESPONSE: cases with a count
    assert mr["n"].tolist() == [int((df["g1"] == 1).sum()), int((df["g2"] == 1).sum())]
    assert mr["pct"].tolist() == pytest.approx(
        [100 * (df["g1"] == 1).sum() / answered.sum(), 100 * (df["g2"] == 1).sum() / answered.sum()])
    assert mr["category"].tolist() == ["Gained skills", "Gained contacts"]


def test_inferred_template_round_trips_through_commented_yaml(sav, tmp_path):
    q = sv.infer_questionnaire(sav)
    out = tmp_path / "gss.yaml"
    text = q.to_yaml(out)
    assert text.startswith("# survey questionnaire template")
    assert "\n# choice lists:" in text
    back = sv.load_questionnaire(out)
    assert back == q
    s1, s2 = sv.read_responses(sav), sv.read_responses(sav, out)
    pd.testing.assert_frame_equal(s1.data, s2.data)
    pd.testing.assert_frame_equal(s1.missing, s2.missing)


@pytest.mark.parametrize("ext", ["sav", "dta"])
def test_no_template_round_trip_through_our_writers(sav, tmp_path, ext):
    s = sv.read_responses(sav)
    out = tmp_path / f"back.{ext}"
    (s.to_spss if ext == "sav" else s.to_stata)(out)
    back = sv.read_responses(out)
    for var in ("degree", "happy", "sex"):
        assert back.data[var].astype(str).tolist() == s.data[var].astype(str).tolist()
        assert back.missing[var].tolist() == s.missing[var].tolist(), var
    assert back.data["age"].tolist() == s.data["age"].tolist()
    if ext == "dta":  # Stata sees the missing reasons as missing: its mean is ours
        df, _ = pyreadstat.read_dta(str(out))
        assert df["age"].mean() == pytest.approx(sv.mean(s, "age").estimate, rel=1e-12)


def test_stata_file_with_extended_missing_labels(tmp_path):
    p = tmp_path / "d.dta"
    df = pd.DataFrame({"x": pd.Series([1.0, 2.0, "a", "b", 1.0, 2.0], dtype=object)})
    pyreadstat.write_dta(df, str(p), missing_user_values={"x": ["a", "b"]},
                         variable_value_labels={"x": {1: "yes", 2: "no", "a": "don't know",
                                                      "b": "not applicable"}},
                         column_labels={"x": "Agrees"})
    q = sv.infer_questionnaire(p)
    assert [(m.kind, m.label) for m in q.question("x").missing] == [
        ("nonresponse", {"en": "don't know"}), ("not_applicable", {"en": "not applicable"})]
    s = sv.read_responses(p)
    f = sv.frequencies(s, "x").to_frame()
    assert dict(zip(f["category"], f["n"])) == {"yes": 2, "no": 2}
    reasons = sv.frequencies(s, "x").missing
    assert dict(zip(reasons["reason"], reasons["n"])) == {"no answer": 1, "skipped": 1}


def test_plain_files_are_inferred_from_values(tmp_path):
    p = tmp_path / "d.csv"
    rows = ["sex,age,score,visit,note"] + [
        f"{'fm'[i % 2]},{20 + i},{i / 3:.2f},2024-01-{i + 1:02d},text {i}" for i in range(12)]
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    q = sv.infer_questionnaire(p)
    assert {x.name: x.type for x in q.questions()} == {
        "sex": "select_one", "age": "integer", "score": "decimal", "visit": "date",
        "note": "text"}
    s = sv.read_responses(p, q)
    assert s.validation.problems.empty and len(s.data) == 12


def test_plain_file_without_template_is_refused_with_a_hint(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"expected a questionnaire .* Hint: pass one: "
                       r"read_responses\(path, 'template.yaml'\); or build one from the data "
                       r"with q = sv.infer_questionnaire\(path\)"):
        sv.read_responses(p)


def test_cli_infer_writes_a_template_that_loads(sav, tmp_path):
    out = tmp_path / "t.yaml"
    r = subprocess.run([sys.executable, "-m", "survey.cli", "infer", str(sav), "-o", str(out)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"wrote {out}: 7 questions")
    assert sv.load_questionnaire(out) == sv.infer_questionnaire(sav)


def test_variable_names_spss_allows_but_templates_do_not_are_read_back(tmp_path):
    p = tmp_path / "n.sav"
    pyreadstat.write_sav(pd.DataFrame({"Q#1": [1.0, 2, 1], "b@x": [3.5, 4, 5]}), str(p),
                         variable_value_labels={"Q#1": {1: "M", 2: "F"}})
    s = sv.read_responses(p)
    assert [x.name for x in s.questionnaire.questions()] == ["Q_1", "b_x"]
    assert s.data["Q_1"].tolist() == ["M", "F", "M"] and s.validation.problems.empty


def test_hand_written_template_still_honours_the_files_user_missing(sav, tmp_path):
    """A template without missing codes: the .sav's own user-missing values are missing
    (kind from their labels), not 'unknown_code' errors; a code the template lists as a
    choice stays an answer."""
    t = tmp_path / "t.yaml"
    t.write_text("""\
id: gss
title: {en: GSS}
languages: {default: en, available: {en: {name: English}}}
choice_lists:
  degree: [{name: "0", label: {en: Lt high school}}, {name: "1", label: {en: High school}},
           {name: "2", label: {en: Bachelor}}, {name: "8", label: {en: Don't know}}]
  happy: [{name: "1", label: {en: Very}}, {name: "2", label: {en: Pretty}},
          {name: "3", label: {en: Not too}}]
items:
  - {name: degree, type: select_one, list: degree}
  - {name: happy, type: select_one, list: happy}
""", encoding="utf-8")
    s = sv.read_responses(sav, t)
    probs = s.validation.problems
    assert set(probs["rule"]) == {"unknown_column"}  # sex, age, ...: kept, listed; no errors
    f = sv.frequencies(s, "happy").to_frame()
    want = spss_valid_counts(sav, "happy")
    assert f["n"].tolist() == [want[1], want[2], want[3]]
    df, _ = pyreadstat.read_sav(str(sav), user_missing=True)
    assert (s.missing["happy"] == -88).sum() == (df["happy"] == 0).sum()  # NAP: skipped
    assert (s.missing["happy"] == -99).sum() == (df["happy"] == 8).sum()  # DK: no answer
    d = sv.frequencies(s, "degree").to_frame()
    assert d.set_index("category").loc["Don't know", "n"] == (df["degree"] == 8).sum()
    assert s.source["file_missing_questions"] == ["degree", "happy"]


@pytest.mark.parametrize("ext", ["sav", "dta"])
def test_declared_but_unused_missing_codes_are_written_too(tmp_path, ext):
    p = tmp_path / "d.sav"
    pyreadstat.write_sav(pd.DataFrame({"x": [1.0, 2.0, 8.0, 1.0]}), str(p),
                         variable_value_labels={"x": {1: "a", 2: "b", 8: "DK", 9: "Refused"}},
                         missing_ranges={"x": [8, 9]})
    s = sv.read_responses(p)
    out = tmp_path / f"o.{ext}"
    (s.to_spss if ext == "sav" else s.to_stata)(out)
    back = sv.read_responses(out)
    assert [(m.code, m.kind) for m in back.questionnaire.question("x").missing] == [
        (8, "nonresponse"), (9, "nonresponse")]
    assert back.questionnaire.question("x").missing[1].label == {"en": "Refused"}


def test_excel_codebook_lists_each_questions_missing_codes(sav, tmp_path):
    from openpyxl import load_workbook

    s = sv.read_responses(sav)
    s.to_excel(tmp_path / "x.xlsx")
    rows = [r for r in load_workbook(tmp_path / "x.xlsx")["codebook"].iter_rows(values_only=True)
            if r[0] and str(r[0]).startswith("(missing")]
    assert ("(missing: happy)", "NAP", "missing", 0, "not_applicable") in rows
    assert ("(missing: degree)", "DK", "missing", 8, "nonresponse") in rows


def test_codebook_shows_each_questions_missing_codes(sav):
    q = sv.infer_questionnaire(sav)
    cb = sv.codebook(q)
    assert cb.to_frame().loc["happy", "missing"] == "0 = NAP; 8 = DK"
    assert cb.to_frame().loc["sex", "missing"] == ""
    ddi = cb.to_ddi()
    happy = ddi[ddi.find('name="happy"'):ddi.find('name="sex"')]
    assert happy.count('missing="Y"') == 2 and "<catValu>0</catValu>" in happy


def test_category_and_counted_value_mr_sets(tmp_path):
    """SPSS category sets (mention 1, mention 2, ...) and dichotomy sets counting 2 (1 = no,
    2 = yes) become select_multiple; counts equal SPSS MULT RESPONSE's (cases with at least
    one mention, user-missing codes are no mention)."""
    p = tmp_path / "c.sav"
    df = pd.DataFrame({"m1": [1.0, 2, 3, 1, np.nan, 9], "m2": [2.0, np.nan, 1, 3, np.nan, 9],
                       "y1": [2.0, 1, 2, 1, 2, 2], "y2": [2.0, 2, 1, 1, 1, 1]})
    media = {1: "TV", 2: "Radio", 3: "Web", 9: "NA"}
    pyreadstat.write_sav(df, str(p), variable_value_labels={"m1": media, "m2": media},
                         missing_ranges={"m1": [9], "m2": [9]},
                         column_labels={"y1": "Reads", "y2": "Writes"})
    add_mr_set(p, b"$media=C 5 Media m1 m2\n$uses=D1 2 4 Uses y1 y2\n")
    q = sv.infer_questionnaire(p)
    assert [(x.name, x.type) for x in q.questions()] == [("media", "select_multiple"),
                                                          ("uses", "select_multiple")]
    s = sv.read_responses(p)
    m = sv.multi_response(s, "media").to_frame()
    assert dict(zip(m["category"], m["n"])) == {"TV": 3, "Radio": 2, "Web": 2}
    assert m["pct"].tolist() == pytest.approx([75.0, 50.0, 50.0])  # base: 4 cases mention one
    u = sv.multi_response(s, "uses").to_frame()
    assert dict(zip(u["category"], u["n"])) == {"Reads": 4, "Writes": 2}
    assert s.validation.problems.empty


def test_a_number_with_one_labelled_value_stays_a_number(tmp_path):
    p = tmp_path / "i.sav"
    df = pd.DataFrame({"inc": np.r_[0, np.arange(1000, 60000, 1000)].astype(float),
                       "r": np.r_[[1.0, 2] * 30]})
    pyreadstat.write_sav(df, str(p), variable_value_labels={"inc": {0: "None"}, "r": {1: "a"}})
    q = sv.infer_questionnaire(p)
    assert q.question("inc").type == "integer"
    assert "inc: read as a number, value labels dropped" in q.description["en"]
    assert q.choices(q.question("r").list_name).names() == ["1", "2"]  # 2 added, unlabelled
    assert sv.mean(sv.read_responses(p), "inc").estimate == pytest.approx(df["inc"].mean())
