"""Report outputs are atomic: a failed, interrupted or killed build never leaves a mixed set.

Defect D11 (and the output-over-input part of D10) of the hostile-input review.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from survey.errors import ReportError
from survey.reporting import render_report

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny_report.ipynb"
CHROMIUM = shutil.which("chromium")


def _build(out: Path, **kw):
    kw.setdefault("language", "zh-Hant")
    kw.setdefault("parameters", {"title": "FIRST"})
    return render_report(DATA / "tiny.yaml", DATA / "tiny.csv", notebook=TINY, output_dir=out,
                         progress=False, **kw)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def first(tiny_build) -> Path:
    """The folder of a complete build (shared with test_pipeline: built once per session)."""
    return tiny_build.html.parent


@pytest.fixture
def earlier(first, tmp_path) -> Path:
    out = tmp_path / "r"
    shutil.copytree(first, out)
    return out


def test_a_complete_build_leaves_no_staging_folder(first):
    names = sorted(p.name for p in first.iterdir())
    assert {"tiny.html", "tiny.ipynb", "tiny.manifest.json"} <= set(names)
    assert not [n for n in names if n.startswith(".")], names


def test_a_failing_cell_leaves_the_earlier_report_untouched(earlier):
    """The error names the cell and its section and points at the partly executed notebook,
    kept under a name of its own: it never poses as the report, and the earlier report's
    files are as they were."""
    before = snapshot(earlier)
    with pytest.raises(ReportError) as err:
        _build(earlier, formats=["html"], parameters={"title": "SECOND", "fail": True})
    msg = str(err.value)
    assert "cell 3 [data] in section 'Data' failed: ValueError: deliberate failure" in msg
    assert str(earlier / "tiny.failed.ipynb") in msg
    after = snapshot(earlier)
    assert b"deliberate failure" in after.pop("tiny.failed.ipynb")
    assert after == before


def test_an_interrupt_during_the_print_leaves_the_earlier_report_untouched(earlier,
                                                                          monkeypatch):
    from survey.reporting import exporters

    def interrupted(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(exporters, "chromium_print", interrupted)
    monkeypatch.setattr(exporters, "weasy_print", interrupted)
    before = snapshot(earlier)
    with pytest.raises(KeyboardInterrupt):
        _build(earlier, formats=["html", "pdf"], parameters={"title": "SECOND"})
    assert snapshot(earlier) == before


def test_an_output_folder_that_is_a_file_is_a_report_error(tmp_path):
    f = tmp_path / "afile"
    f.write_text("keep", encoding="utf-8")
    with pytest.raises(ReportError, match="afile': expected a folder, found a file"):
        _build(f, formats=["html"])
    assert f.read_text(encoding="utf-8") == "keep"


def test_publish_refuses_to_replace_an_input(tmp_path):
    from survey.reporting._render import ReportResult, _publish

    stage = tmp_path / "stage"
    stage.mkdir()
    for name in ("t.ipynb", "t.html", "t.manifest.json"):
        (stage / name).write_text("new", encoding="utf-8")
    data = tmp_path / "t.html"  # the responses happen to carry an output's name
    data.write_text("answers", encoding="utf-8")
    result = ReportResult(template_id="t", language="en", notebook=stage / "t.ipynb",
                          manifest=stage / "t.manifest.json", html=stage / "t.html")
    with pytest.raises(ReportError, match="expected an output that is not one of the inputs"):
        _publish(result, tmp_path, [data])
    assert data.read_text(encoding="utf-8") == "answers"


def _chromium_of(tmp: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if str(tmp).encode() in cmd and b"--print-to-pdf" in cmd:
            found.append(int(proc.name))
    return found


# The child runs the real CLI and render_report (SIGTERM handler, staging folder, publish);
# only the notebook execution is replaced by a slow Chromium print, so the signal lands
# during the print without paying for a kernel (that path is covered in-process above).
_CHILD = """
import sys
from pathlib import Path
from survey.reporting import _render, exporters

def render(questionnaire, responses, *, output_dir, **kw):
    (Path(output_dir) / "tiny.ipynb").write_text("partial", encoding="utf-8")
    rows = "".join(f"<tr><td>{i}</td><td>{'x' * 40}</td></tr>" for i in range(30000))
    exporters.chromium_print(f"<html><body><table>{rows}</table></body></html>",
                             chromium=sys.argv[1])
    raise AssertionError("the print was not interrupted")

_render._render_report = render
from survey.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.skipif(not CHROMIUM, reason="/usr/bin/chromium is absent")
def test_sigterm_during_the_print_kills_chromium_and_removes_temporary_files(earlier,
                                                                            tmp_path):
    # a short TMPDIR: Chromium aborts when its singleton socket path passes 107 bytes
    tmp = Path(tempfile.mkdtemp(prefix="sv-", dir="/tmp" if Path("/tmp").is_dir() else None))
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(Path(__file__).parents[2])}
    before = snapshot(earlier)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, CHROMIUM, "report", str(DATA / "tiny.yaml"),
         str(DATA / "tiny.csv"), "--out", str(earlier), "--to", "html,pdf", "--notebook",
         str(TINY), "--lang", "zh-Hant", "--no-progress"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not _chromium_of(tmp) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is not None:
            pytest.fail(f"the child ended before the print: {proc.stderr.read()[-2000:]!r}")
        time.sleep(0.5)  # let Chromium create its scratch folders
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    for _ in range(100):
        if not _chromium_of(tmp):
            break
        time.sleep(0.1)
    left = list(tmp.iterdir())
    shutil.rmtree(tmp, ignore_errors=True)
    assert proc.returncode == 130 and b"error: interrupted" in err, err[-2000:]
    assert _chromium_of(tmp) == []
    assert left == []
    assert snapshot(earlier) == before
