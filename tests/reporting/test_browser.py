"""What a reader sees, checked in a real browser (Playwright driving Debian's Chromium).

- The three reports (flagship zh-Hant, standard zh-Hans, standard en on a template of our own)
  load with no console error, every image loaded, and no table wider than its container, on
  screen and in print layout (A4).
- Their PDF pages are rendered to PNG (pdftoppm) into the artefacts directory
  (``$SURVEY_TEST_ARTEFACTS``, else the test's tmp dir) for people to look at.
- JupyterLab opens each walkthrough, runs all cells, and shows no error output, no stderr,
  and an image under every chart cell.

No browser is downloaded: the tests skip, saying why, when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="needs Debian's chromium at /usr/bin/chromium")


def _artefacts(tmp_path: Path, name: str) -> Path:
    base = os.environ.get("SURVEY_TEST_ARTEFACTS")
    out = (Path(base) if base else tmp_path) / name
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _flagship(root: Path):
    """The flagship build of test_reports.py (same name, same build: made once per session)."""
    from survey.reporting import render_report

    data = ROOT / "data" / "grassroots_training_responses.csv"
    kw = dict(notebook="grassroots_training", language="zh-Hant", progress=False)
    a = render_report("grassroots_training", data, output_dir=root / "a", **kw)
    b = render_report("grassroots_training", data, output_dir=root / "elsewhere" / "deeper", **kw)
    return a, b


@pytest.fixture(scope="module")
def reports(shared_build, standard_report):
    """The three reports, each the build other tests check too: the flagship of
    test_reports.py, the standard zh-Hans report on the bundled data (test_reports.py's, also
    printed), and the English one on our own template."""
    flagship = shared_build("flagship", _flagship)[0]
    standard = standard_report("grassroots_training", "zh-Hans")
    cafe = standard_report("cafe", "en")
    return {"flagship-zh-Hant": (flagship.html, flagship.pdf),
            "standard-zh-Hans": (standard.html, standard.pdf),
            "standard-en-cafe": (cafe.html, cafe.pdf)}


REPORTS = ["flagship-zh-Hant", "standard-zh-Hans", "standard-en-cafe"]

_LAYOUT_JS = """() => {
  const imgs = [...document.images].map(i => ({src: i.src.slice(0, 40), ok: i.complete && i.naturalWidth > 0}));
  const tables = [...document.querySelectorAll('table')].map(t => {
    const box = t.closest('.jp-OutputArea-output, .jp-RenderedHTMLCommon, main') || t.parentElement;
    return {w: t.getBoundingClientRect().width, cw: box.getBoundingClientRect().width,
            head: (t.querySelector('th') || {}).textContent || ''};
  });
  const scroll = [...document.querySelectorAll('.jp-OutputArea-output, .jp-RenderedHTMLCommon')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).length;
  return {imgs, tables, scroll};
}"""


@needs_chromium
@pytest.mark.parametrize("name", REPORTS)
def test_report_loads_cleanly_and_tables_fit(browser, reports, name, tmp_path):
    html, _ = reports[name]
    page = browser.new_page(viewport={"width": 900, "height": 1200})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url[:80]}"))
    page.goto(html.as_uri(), wait_until="load")
    assert errors == [], errors
    for media in ("screen", "print"):
        page.emulate_media(media=media)
        layout = page.evaluate(_LAYOUT_JS)
        assert layout["imgs"], "a report without any chart"
        assert all(i["ok"] for i in layout["imgs"]), [i for i in layout["imgs"] if not i["ok"]]
        wide = [t for t in layout["tables"] if t["w"] > t["cw"] + 1]
        assert not wide, (media, wide)
        assert layout["scroll"] == 0, f"{media}: {layout['scroll']} outputs scroll sideways"
    shots = _artefacts(tmp_path, f"reports/{name}")
    page.emulate_media(media="screen")
    page.screenshot(path=str(shots / "screen-top.png"))
    page.close()


@needs_chromium
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils (pdftoppm)")
@pytest.mark.parametrize("name", REPORTS)
def test_report_pdf_pages_rendered_to_png(reports, name, tmp_path):
    _, pdf = reports[name]
    out = _artefacts(tmp_path, f"reports/{name}/pages")
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(pdf), str(out / "page")], check=True,
                   timeout=300)
    pages = sorted(out.glob("page-*.png"))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    n = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert len(pages) == n > 1
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert abs(float(size.group(1)) - 595.3) < 2 and abs(float(size.group(2)) - 841.9) < 2  # A4


#: the most white a page may keep below its last content, as a share of the page body (A4
#: inside the @page margins), unless a section ends there: a chart sized for print is at most
#: a third of the page body and a kept table block is about as tall, so a larger gap means a
#: block that should have fitted moved to the next page (the flagship left 63 % on one page
#: and 27-31 % on eleven when charts took 39-42 % of the page)
MAX_WHITE = 0.30


def _white_below_content(pdf: Path) -> list[float]:
    """Per page: the near-white share of the page body below its last content row (the
    page number sits in the bottom margin, outside the body)."""
    import tempfile

    import numpy as np
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", "30", "-gray", "-png", str(pdf), f"{tmp}/p"],
                       check=True, timeout=120)
        out = []
        for png in sorted(Path(tmp).glob("p-*.png")):
            a = np.asarray(Image.open(png).convert("L"))
            top, bottom = round(len(a) * 16 / 297), round(len(a) * (297 - 18) / 297)
            ink = np.flatnonzero((a[top:bottom] < 230).any(axis=1))
            last = ink[-1] + 1 if len(ink) else 0
            out.append((bottom - top - last) / (bottom - top))
    return out


def _page_texts(pdf: Path) -> list[str]:
    """Each page's text, letters and digits only (no spaces, no anchor marks)."""
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")[:-1]  # text ends with a \f
    return ["".join(filter(str.isalnum, p)) for p in pages]


def _section_ends(html: Path, pages: list[str]) -> set[int]:
    """Pages (0-based) followed by a page the report starts on purpose (``sv-page-break``:
    after the cover, before the appendix): their white is the end of a section."""
    text = html.read_text(encoding="utf-8")
    starts = []
    for m in re.finditer(r"sv-page-break[\"']></div>", text):
        after = re.sub(r"<[^>]+>", " ", text[m.end():m.end() + 3000])
        starts.append("".join(filter(str.isalnum, after))[:4])
    ends = {i - 1 for i, p in enumerate(pages) if i and any(p.startswith(s) for s in starts)}
    assert len(ends) == len(starts), (starts, [p[:8] for p in pages])
    return ends


@needs_chromium
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils (pdftoppm)")
@pytest.mark.parametrize("name", REPORTS)
def test_report_pages_leave_no_large_white_gap(reports, name):
    """A page ends with white only where a section ends or the report does, and no chart
    stands alone on a page: charts are sized for print, so a chart fits under the text before
    it instead of moving to the next page."""
    html, pdf = reports[name]
    white, pages = _white_below_content(pdf), _page_texts(pdf)
    assert len(white) == len(pages)
    n = len(pages)
    alone = [i + 1 for i, p in enumerate(pages) if p == f"{i + 1}{n}" and white[i] < 0.97]
    assert not alone, f"pages holding only a chart (no text but the page number): {alone}"
    assert all(w < 0.97 for w in white), "an empty page"
    exempt = _section_ends(html, pages) | {n - 1}
    gaps = {i + 1: f"{w:.0%}" for i, w in enumerate(white) if i not in exempt and w > MAX_WHITE}
    assert not gaps, f"pages with more than {MAX_WHITE:.0%} white below the content: {gaps}"


@needs_chromium
@pytest.mark.parametrize("name", REPORTS)
def test_no_page_ends_with_a_heading(reports, name):
    """The last line of text on a page is never a heading (or the last line of one): a
    heading prints with what it introduces."""
    html, pdf = reports[name]
    text = html.read_text(encoding="utf-8")
    heads = {"".join(filter(str.isalnum, re.sub(r"<[^>]+>", "", h)))
             for h in re.findall(r"<h[1-5][^>]*>(.*?)</h[1-5]>", text, flags=re.S)}
    heads.discard("")
    assert len(heads) > 5
    layout = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                            text=True, check=True).stdout.split("\f")[:-1]
    stranded = {}
    for i, page in enumerate(layout[:-1]):
        lines = ["".join(filter(str.isalnum, ln)) for ln in page.splitlines()]
        lines = [ln for ln in lines if ln and not re.fullmatch(r"\d+", ln)]  # page number
        last = lines[-1] if lines else ""
        if last in heads or (len(last) >= 6 and any(h.endswith(last) for h in heads)):
            stranded[i + 1] = last
    assert not stranded, f"pages ending with a heading: {stranded}"


# ---------------------------------------------------------------------------------------
# JupyterLab

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    shutil.copytree(ROOT / "data", work / "data")
    port, token = _free_port(), secrets.token_hex(16)
    settings = work / ".lab-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    # every cell in the DOM, not just visible ones; a closed notebook's kernel is shut down
    tracker.write_text('{"windowingMode": "none", "kernelShutdown": true}')
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JUPYTER_CONFIG_DIR": str(work / ".jupyter"),
           "JUPYTER_RUNTIME_DIR": str(work / ".runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(work / ".workspaces")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={work}", "--allow-root",
           "--KernelManager.transport_encryption=auto",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.expose_app_in_browser=True"]  # window.jupyterapp: open notebooks in-app
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("jupyter lab exited:\n" + (work / "lab.log").read_text()[-2000:])
            time.sleep(0.5)
    yield url, token, work
    # the server first (it shuts its kernels down and waits for them, so their CPU time is
    # counted with the server's, see SURVEY_TEST_CPU in tests/conftest.py), then anything left
    proc.terminate()
    try:
        proc.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        proc.wait(timeout=30)
        log.close()


#: save every open notebook (a failed walkthrough's too: closing an unsaved notebook waits
#: for a dialog), close them (their kernels shut down), then open ``path`` if one is given
_REOPEN_JS = """async (path) => {
    const app = window.jupyterapp;
    const within = (p) => Promise.race([p, new Promise((_, no) => setTimeout(
        () => no(new Error('JupyterLab did not answer within 60 s')), 60000))]);
    await within(app.commands.execute('docmanager:save-all'));
    await within(app.commands.execute('application:close-all'));
    if (path) await within(app.commands.execute('docmanager:open', {path}));
}"""


@pytest.fixture(scope="module")
def lab_page(browser, jupyterlab):
    """One JupyterLab page for every walkthrough: the application loads once (about 6 s of
    Chromium's CPU each time) and each test opens its notebook in it, as a user opens one
    from the file browser."""
    url, token, _ = jupyterlab
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{url}/lab?token={token}&reset")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=120_000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    yield page
    # the last walkthrough's kernel is shut down by the server too (counted with its CPU)
    page.evaluate(_REOPEN_JS, None)
    _wait_no_kernels(*jupyterlab[:2])
    page.close()


def _wait_no_kernels(url: str, token: str, timeout: float = 30) -> None:
    import json
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/kernels?token={token}", timeout=5) as r:
            if not json.loads(r.read()):
                return
        time.sleep(0.5)


#: "idle" once the open notebook's session has a connected, idle kernel; "dialog" while
#: JupyterLab asks which kernel to start; else false (keep waiting). The status bar's
#: indicator is no proof: it reads "Idle" before any kernel is chosen.
_KERNEL_STATE_JS = """(() => {
    if (document.querySelector('.jp-Dialog button')) return 'dialog';
    const widget = window.jupyterapp.shell.currentWidget;
    const ctx = widget && widget.sessionContext;
    const kernel = ctx && ctx.session && ctx.session.kernel;
    return kernel && ctx.isReady && kernel.connectionStatus === 'connected'
        && kernel.status === 'idle' ? 'idle' : false;
})()"""

WALKTHROUGHS = sorted(p.name for p in (ROOT / "notebooks").glob("0[0-9]_*.ipynb"))
CHART_CALL = re.compile(r"^(charts|sv|ch)\.\w+_chart\(", re.M)


def _wait_all_run(page, n: int) -> None:
    """Every code cell has an execution count ("[3]:"), none is queued or running ("[*]:")."""
    page.wait_for_function(
        """(n) => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
              .map(p => p.textContent.trim());
            return prompts.length === n && prompts.every(t => /^\\[\\d+\\]:$/.test(t));
        }""", arg=n, timeout=240_000, polling=200)


@needs_chromium
@pytest.mark.parametrize("name", WALKTHROUGHS)
def test_walkthrough_in_jupyterlab_runs_and_shows_its_charts(lab_page, jupyterlab, name,
                                                              tmp_path, notebook_problems):
    """Also the suite's one execution of each walkthrough: the notebook JupyterLab saves is
    held to test_walkthroughs.py's checks (no error or stderr output, an image per chart)."""
    import nbformat

    work = jupyterlab[2]
    nb = nbformat.read(work / "notebooks" / name, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    shots = _artefacts(tmp_path, f"jupyterlab/{name.removesuffix('.ipynb')}")
    page = lab_page
    page.evaluate(_REOPEN_JS, f"notebooks/{name}")  # the previous walkthrough closed
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    assert page.locator(".jp-Notebook").count() == 1  # only this notebook is in the DOM
    # the kernel is connected and idle; or JupyterLab asks which kernel to start, and the
    # notebook's own (Python 3) is selected (waiting on whichever comes first: a fixed wait
    # for a dialog that does not come cost 8 s per walkthrough)
    state = page.wait_for_function(_KERNEL_STATE_JS, timeout=120_000, polling=100).json_value()
    if state == "dialog":
        page.click(".jp-Dialog button:has-text('Select')", timeout=20_000)
        page.wait_for_function(_KERNEL_STATE_JS + " === 'idle'", timeout=120_000, polling=100)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=20_000)  # the Run menu
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')", timeout=20_000)
    try:
        _wait_all_run(page, len(code))
    except Exception:
        page.screenshot(path=str(shots / "timeout.png"), full_page=True)
        raise
    errors = page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
        ".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']",
        "els => els.map(e => e.textContent.slice(0, 300))")
    assert errors == [], errors
    cells = page.query_selector_all(".jp-Notebook .jp-CodeCell")
    assert len(cells) == len(code)
    for i, (cell, src) in enumerate(zip(cells, code)):
        if not CHART_CALL.search(src):
            continue
        cell.scroll_into_view_if_needed()
        img = cell.query_selector(".jp-OutputArea-output img")
        assert img is not None, f"cell {i} ({src[:60]!r}) shows no image"
        page.wait_for_function("(e) => e.complete && e.naturalWidth > 0", arg=img,
                               timeout=20_000)
        assert "<Figure size" not in (cell.inner_text() or "")
        cell.screenshot(path=str(shots / f"cell_{i:02d}.png"))
    page.keyboard.press("Control+s")
    saved = work / "notebooks" / name
    _wait_saved(saved, len(code))
    assert notebook_problems(saved) == []


def _wait_saved(path: Path, n: int, timeout: float = 60) -> None:
    """Until the notebook JupyterLab saves at ``path`` has run all ``n`` code cells."""
    import nbformat

    deadline = time.monotonic() + timeout
    while True:
        try:
            cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
            if len(cells) == n and all(c.get("execution_count") for c in cells):
                return
        except Exception:  # noqa: BLE001 - caught mid-write: read again
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"JupyterLab did not save the executed {path.name}")
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------
# What reaches the client, and what goes to the analyst log instead

def test_no_internal_text_reaches_the_client(reports):
    for name in REPORTS:
        html_text = reports[name][0].read_text(encoding="utf-8")
        for internal in ("Not computed", "無法計算", "无法计算", "Hint:", "Traceback",
                         "fieldwork block", "(same answers)", "（內容相同）"):
            assert internal not in html_text, (name, internal)
    cafe_html, _ = reports["standard-en-cafe"]
    assert "Response rates were not recorded." in cafe_html.read_text(encoding="utf-8")
    log = cafe_html.with_name("cafe.analyst-log.md").read_text(encoding="utf-8")
    assert log.startswith("# Analyst log: cafe (report_standard.ipynb, en)")
    assert "- [fieldwork]" in log and "fieldwork" in log.split("- [fieldwork]", 1)[1]


def test_a_different_kind_of_report_is_not_overwritten(tmp_path):
    import json

    from survey.errors import ReportError
    from survey.reporting import render_report

    manifest = tmp_path / "grassroots_training.manifest.json"
    manifest.write_text(json.dumps({"report_notebook": {"file": "report_grassroots_training.ipynb"}}))
    with pytest.raises(ReportError) as exc:
        render_report("grassroots_training", ROOT / "data" / "grassroots_training_responses.csv",
                      notebook="standard", output_dir=tmp_path, formats=("html",),
                      progress=False)
    msg = str(exc.value)
    assert "report_grassroots_training.ipynb" in msg and "report_standard.ipynb" in msg
    assert "--force" in msg and "--out" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grassroots_training.manifest.json"]
