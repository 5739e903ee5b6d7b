"""The bundled synthetic flagship data: published marginals and every planted problem."""

from pathlib import Path

import pandas as pd
import pytest

import survey as sv
from survey.validation import validate

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "data" / "grassroots_training_responses.csv"

# the problems listed in data/README.md: (row, rule, question)
PLANTED = [
    (11, "required", "top_leader"),
    (30, "unknown_code", "education"),
    (44, "skip_violation", "top_leader_years"),
    (46, "duplicate_id", "respondent_id"),
    (64, "unknown_code", "age_band"),
    (76, "other_without_text", "gains"),
    (93, "type", "grassroots_years"),
    (149, "constraint", "grassroots_years"),
    (151, "duplicate_id", "respondent_id"),
    (177, "text_without_other", "gains_other"),
    (228, "blank_form", ""),
    (230, "max_choices", "gains"),
    (248, "check:years_vs_age", "age_band,grassroots_years"),
    (335, "straightlining", "attitude"),
    (342, "duplicate_id", "respondent_id"),
]


@pytest.fixture(scope="module")
def result():
    q = sv.load_questionnaire("grassroots_training")
    raw = pd.read_csv(CSV, dtype=str, keep_default_na=False).replace("", None)
    raw.insert(0, "_row", range(2, len(raw) + 2))
    return validate(raw, q, language="en")


def test_rows_accounted_for(result):
    assert len(result.data) + len(result.rejected) == 367
    assert sorted(result.rejected.index) == [46, 228]
    assert set(result.rejected["rule"]) == {"duplicate_id", "blank_form"}


def test_every_planted_problem_is_found(result):
    found = set(result.report.to_frame()[["row", "rule", "question"]].itertuples(
        index=False, name=None))
    missing = [p for p in PLANTED if p not in found]
    assert not missing


def test_the_readme_lists_the_planted_rows():
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text
    for row, rule, _ in PLANTED:
        assert f"| {row} | {rule} |" in text


def _pct(s: pd.Series) -> pd.Series:
    return 100 * s.value_counts(normalize=True)


@pytest.fixture(scope="module")
def result_survey():
    return sv.read_responses(CSV, "grassroots_training")


def test_published_marginals_within_half_a_point(result, result_survey):
    d = result.data
    # seed report: 认为有必要的占了91%
    assert abs(_pct(d["necessity"])["有必要"] - 91.0) <= 0.5
    # biggest gains, multiple response: the seed's 231/366 = 63.1%, 107/366 = 29.2%,
    # 56/366 = 15.3% are percentages of ALL returned forms; the template says
    # report: {base: returned}, which multi_response uses by default
    assert sv.load_questionnaire("grassroots_training").question("gains").report.base == "returned"
    assert len(result_survey.data) == 365
    mr = sv.multi_response(result_survey, "gains").to_frame().set_index("category")
    published = [("增長做群眾工作和處理複雜事務的能力", "mass_work", 63.1),
                 ("增強群眾觀念，提高服務群眾意識", "closeness", 29.2),
                 ("養成艱苦奮鬥和求真務實的作風", "style", 15.3)]
    for label, name, share in published:
        assert abs(mr.loc[label, "pct"] - share) <= 0.5, label
        # the same figure counted by hand: forms ticking the option / all accepted forms
        ticked = result_survey.data[f"gains_{name}"].fillna(False).astype(bool).sum()
        assert mr.loc[label, "pct"] == pytest.approx(100 * ticked / 365)
    # 30.6% five or more, 16.1% four, 22.4% three, 29% two
    posts = _pct(d["posts_held"])
    for label, share in [("5個及以上", 30.6), ("4個", 16.1), ("3個", 22.4), ("2個", 29.0)]:
        assert abs(posts[label] - share) <= 0.5, label


def test_necessity_varies_by_rank(result):
    d = result.data
    top = d["necessity"].eq("有必要")
    by_rank = top.groupby(d["rank_level"], observed=True).mean()
    assert by_rank["正縣處級"] - by_rank["副科級"] > 0.1


def test_units_match_the_fieldwork_record(result):
    q = sv.load_questionnaire("grassroots_training")
    rates = sv.response_rates(q, result).to_frame().set_index("unit")
    assert rates.loc["total", "returned"] == 366
    assert rates.loc["total", "valid"] == 365
    # the form keyed twice makes the city unit one row over its returned count
    assert "exceed" in rates.loc["city", "flag"]
    assert rates.loc["county", "flag"] == ""
    assert rates.loc["township", "rows"] == 109  # 108 valid + the blank form


def test_script_is_deterministic(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("mk", ROOT / "data" / "make_flagship_data.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    df, _ = mk.make()
    out = tmp_path / "x.csv"
    df.to_csv(out, index=False, encoding="utf-8", lineterminator="\n")
    assert out.read_bytes() == CSV.read_bytes()
