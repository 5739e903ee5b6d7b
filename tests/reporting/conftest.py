"""Build each distinct report once per test session.

Report builds dominate the suite's time. Under pytest-xdist a module-scoped fixture runs once
per worker, so a report whose assertions land on both workers would be built twice; the
``shared_build`` helper builds into a directory shared by the workers, under a file lock, and
every other caller reuses the result (``shared_build`` fixture).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CHART_CALL = re.compile(r"^(charts|sv|ch)\.\w+_chart\(", re.M)


@contextlib.contextmanager
def _locked(path: Path):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no xdist sharing needed off POSIX
        yield
        return
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _shared_build(tmp_path_factory, name: str, build: Callable[[Path], Any]) -> Any:
    """``build(directory)`` once per session (across xdist workers); its result is pickled
    next to the outputs and returned to every later caller."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    target = root / "shared-builds" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f"{name}.lock"):
        done = target / "result.pickle"
        if done.exists():
            return pickle.loads(done.read_bytes())
        target.mkdir(parents=True, exist_ok=True)
        result = build(target)
        done.write_bytes(pickle.dumps(result))
        return result


@pytest.fixture(scope="session")
def shared_build(tmp_path_factory):
    """``shared_build(name, build)``: see the module docstring."""
    return lambda name, build: _shared_build(tmp_path_factory, name, build)


@pytest.fixture(scope="session")
def tiny_build(shared_build):
    """The tiny report (data/tiny_report.ipynb, HTML and PDF), built once per session and
    shared by test_pipeline.py and test_atomic_reports.py. (Byte-identical rebuilds in another
    directory are checked on the flagship, test_reports.py::test_flagship_rebuild_is_byte_identical:
    the same pipeline, with survey's charts and CJK text in it.)"""
    from survey.reporting import render_report

    data = Path(__file__).parent / "data"

    def build(out: Path):
        return render_report(data / "tiny.yaml", data / "tiny.csv",
                             notebook=data / "tiny_report.ipynb", output_dir=out / "reports",
                             progress=False, language="zh-Hant",
                             parameters={"title": "小調查報告"})

    return shared_build("tiny", build)


#: the bundled responses of the flagship template (what ``make report`` and the README use)
BUNDLED = Path(__file__).resolve().parents[2] / "data" / "grassroots_training_responses.csv"
#: a template of our own (not shipped): its standard report in English is one of the three
#: reports test_browser.py loads and prints, and test_reports.py's English standard report
CAFE = Path(__file__).parent / "data" / "cafe.yaml"
#: synthetic respondents per template (the shipped ones other than grassroots_training, and
#: "cafe" for :data:`CAFE`)
SYNTHETIC = {"cafe": 120}
#: standard reports that are printed to PDF too: test_browser.py loads and prints these
PRINTED = {("grassroots_training", "zh-Hans"), ("cafe", "en")}


@pytest.fixture(scope="session")
def standard_report(shared_build):
    """``standard_report(template, language)``: the standard report of a shipped template (or
    of "cafe", :data:`CAFE`), built once per session and shared by test_reports.py and
    test_browser.py: on the bundled responses for grassroots_training (the report a user gets
    from the README data), on synthetic respondents for the others (240; 120 for "cafe");
    HTML, plus the PDF for :data:`PRINTED`. ``standard_report.source(template)`` is what is
    given to ``load_questionnaire``, ``standard_report.data(template)`` the responses."""
    from survey.reporting import render_report

    def source(template: str) -> str | Path:
        return CAFE if template == "cafe" else template

    def data(template: str) -> Path:
        if template == "grassroots_training":
            return BUNDLED

        def build(root: Path) -> Path:
            import survey as sv

            path = root / f"{template}.csv"
            q = sv.load_questionnaire(source(template))
            sv.synthesize(q, n=SYNTHETIC.get(template, 240), seed=11).to_csv(path, index=False)
            return path

        return shared_build(f"data-{template}", build)

    def report(template: str, language: str):
        formats = ["html", "pdf"] if (template, language) in PRINTED else ["html"]

        def build(root: Path):
            return render_report(source(template), data(template), output_dir=root,
                                 formats=formats, language=language, progress=False)

        return shared_build(f"standard-{template}-{language}", build)

    report.data = data
    report.source = source
    return report


def executed_notebook_problems(path: Path) -> list[tuple]:
    """What is wrong in an executed walkthrough (``path``, as saved after running it): any
    error or stderr output, any chart cell without an image (e.g. "<Figure size ...>").
    Shared by test_walkthroughs.py (papermill) and test_browser.py (JupyterLab), so both
    runs of a walkthrough are held to the same checks."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        kinds = [o.get("name", o.output_type) for o in outputs]
        if "error" in kinds or "stderr" in kinds:
            problems.append((path.name, i, outputs))
        if CHART_CALL.search(cell.source):  # a chart cell shows an image, not "<Figure ...>"
            mimes = {m for o in outputs for m in o.get("data", {})}
            if not mimes & {"image/png", "image/svg+xml"}:
                problems.append((path.name, i, cell.source, mimes))
    return problems


@pytest.fixture(scope="session")
def notebook_problems():
    """:func:`executed_notebook_problems` (a fixture, so test modules need not import this
    conftest)."""
    return executed_notebook_problems
