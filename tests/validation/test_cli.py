"""`survey validate` on the command line."""

from pathlib import Path

from survey.cli import main

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "data" / "grassroots_training_responses.csv"


def test_template_only(capsys):
    assert main(["validate", "grassroots_training"]) == 0
    assert "grassroots_training: template OK" in capsys.readouterr().out


def test_bad_template(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: survey-template/1\nid: x\nitems: [\n", encoding="utf-8")
    assert main(["validate", str(bad)]) == 1
    assert "bad.yaml" in capsys.readouterr().err


def test_data_with_errors_exits_1_and_writes_report(tmp_path, capsys):
    out = tmp_path / "report.xlsx"
    code = main(["validate", "grassroots_training", str(CSV), "--report", str(out),
                 "--lang", "en"])
    text = capsys.readouterr().out
    assert code == 1
    assert "367 rows read, 365 accepted, 2 rejected" in text
    assert "blank_form" in text and "max_choices" in text
    assert out.exists()
