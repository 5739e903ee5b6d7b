"""Package-level promises: a light import, the public names, the error hierarchy."""

import json
import subprocess
import sys

import survey as sv

HEAVY = ["statsmodels", "scipy.stats", "seaborn", "matplotlib.pyplot", "pingouin", "nbconvert", "nbclient"]


def test_import_survey_stays_light():
    code = (
        "import sys, json, survey; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_every_public_name_resolves():
    missing = []
    for name in sv.__all__:
        try:
            getattr(sv, name)
        except (AttributeError, ImportError) as exc:
            missing.append(f"{name}: {exc}")
    assert missing == []


def test_errors_share_one_base():
    for cls in (sv.QuestionnaireError, sv.IngestError, sv.WeightingError, sv.AnalysisError, sv.ReportError):
        assert issubclass(cls, sv.SurveyError)


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        sv.nonexistent  # noqa: B018


def test_nbformat_starts_without_compiling_an_iri_grammar():
    # every report build, nbconvert run, JupyterLab and test worker imports nbformat, which
    # imports jsonschema; from 4.25 jsonschema imports rfc3987-syntax, whose Lark grammar
    # costs ~1.4 s of CPU per process (pyproject.toml pins jsonschema below 4.25)
    code = "import sys, nbformat; print('rfc3987_syntax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
