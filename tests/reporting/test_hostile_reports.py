"""Hostile labels, titles and parameters: a report shows them as text and loads nothing.

Defects D1, D6, D14 and D15 of the hostile-input review: labels and ``-p title/organization``
were rendered as Markdown/HTML (script ran, ``file:///etc/passwd`` was printed into the PDF,
WeasyPrint attached it), parameter names were executed by papermill, any parameter value
naming a file was hashed into the manifest, and Markdown reprs carried raw HTML.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from survey.errors import ReportError

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
HAS_PDFTOTEXT = shutil.which("pdftotext") is not None
SECRET = "SECRET-MARKER-7f3a"


class _Tags(HTMLParser):
    """Every start tag with its attributes, for assertions on the markup."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def tags_of(text: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(text)
    return parser.tags


def assert_inert(html_text: str) -> None:
    """No script, frame, object, event handler, or link/image that leaves the page."""
    for tag, attrs in tags_of(html_text):
        assert tag not in {"script", "iframe", "object", "embed", "frame", "details", "svg"}, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src"):
                low = value.strip().lower()
                assert low.startswith(("#", "data:")), (tag, name, value)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          timeout=60).stdout


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "secret.txt"
    path.write_text(f"{SECRET}\n", encoding="utf-8")
    return path


def _write_hostile(root: Path, secret: Path) -> tuple[Path, Path]:
    uri = secret.as_uri()
    template = root / "lfi.yaml"
    template.write_text(f"""\
id: lfi
title: {{en: "T <img src=x onerror='document.body.dataset.ptitle=1'>"}}
languages: {{default: en, available: {{en: {{name: English}}}}}}
choice_lists: {{yn: [y, n]}}
fieldwork: {{instrument: {{en: "<img src=x onerror='alert(2)'> paper"}}}}
items:
  - {{name: sex, type: select_one, list: yn, role: demographic,
     label: {{en: "Sex <iframe src='{uri}' width='700' height='300'></iframe>"}}}}
  - {{name: q2, type: select_one, list: yn,
     label: {{en: "Q2 <img src=x onerror='document.body.dataset.pwned=1'>"}}}}
  - {{name: q3, type: select_one, list: yn,
     label: {{en: "Q3 <a rel='attachment' href='{uri}'>att</a> [j](javascript:alert(3))"}}}}
""", encoding="utf-8")
    data = root / "lfi.csv"
    rows = ["sex,q2,q3"] + [f"{'yn'[i % 2]},{'yn'[(i // 2) % 2]},{'yn'[(i // 3) % 2]}"
                            for i in range(30)]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return template, data


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, secret_file) -> tuple[Path, Path]:
    return _write_hostile(tmp_path_factory.mktemp("hostile"), secret_file)


def _build_hostile(root: Path):
    """One build of the hostile template through every wall (HTML, Chromium and WeasyPrint
    PDFs); the secret file it points at lives next to it."""
    from survey.reporting import render_report

    secret = root / "secret.txt"
    secret.write_text(f"{SECRET}\n", encoding="utf-8")
    template, data = _write_hostile(root, secret)
    out = root / "out"
    formats = ("html", "pdf", "weasy") if CHROMIUM else ("html", "weasy")
    params = {
        "organization": f"[x](javascript:alert(1)) ![f]({secret.as_uri()}) "
                        "![p](http://127.0.0.1:9/pixel.png)\n\n# Injected heading\n\n| fake |",
        "title": "Real title\n\n<details open>[a](data:text/html,x)</details>",
    }
    result = render_report(template, data, output_dir=out, formats=formats, language="en",
                           parameters=params, progress=False)
    return result, out


@pytest.fixture(scope="module")
def hostile_build(shared_build):
    """Built once per session, even when the tests land on both xdist workers."""
    return shared_build("hostile", _build_hostile)


def test_labels_titles_and_parameters_are_text_in_the_html(hostile_build):
    result, _ = hostile_build
    text = result.html.read_text(encoding="utf-8")
    assert_inert(text)
    # the text is still there, shown literally
    assert "&lt;iframe src=" in text
    assert "[x](javascript:alert(1))" in text
    assert "<h1" in text and "Injected heading" in text
    assert not any(tag == "h1" and "Injected" in str(attrs) for tag, attrs in tags_of(text))


def test_printed_html_carries_a_content_security_policy(hostile_build):
    result, _ = hostile_build
    metas = [a for t, a in tags_of(result.html.read_text(encoding="utf-8")) if t == "meta"]
    csp = [a["content"] for a in metas if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "img-src data:" in csp[0]
    assert "script-src" not in csp[0]  # falls back to default-src 'none'


@pytest.mark.skipif(not (CHROMIUM and HAS_PDFTOTEXT), reason="needs chromium and pdftotext")
def test_chromium_pdf_does_not_contain_a_local_file(hostile_build):
    result, _ = hostile_build
    text = pdf_text(result.pdf)
    assert SECRET not in text
    assert "Sex <iframe" in text  # the label printed as text


def test_weasyprint_pdf_attaches_and_loads_nothing(hostile_build):
    _, out = hostile_build
    pdfs = sorted(out.glob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        raw = pdf.read_bytes()
        assert b"/EmbeddedFile" not in raw
        assert SECRET.encode() not in raw


def test_only_declared_file_parameters_are_hashed(hostile, secret_file):
    from survey.reporting._render import build_manifest, report_notebook_path

    template, data = hostile
    manifest = build_manifest(
        template_id="lfi", questionnaire=template, responses=data,
        notebook=report_notebook_path("standard"), seed=1, chromium=None,
        parameters={"note": str(secret_file), "weighting": str(secret_file)},
        file_parameters=("weighting",))
    assert manifest["parameters"]["note"] == str(secret_file)
    assert manifest["parameters"]["weighting"]["file"] == "secret.txt"
    json.dumps(manifest)


# --------------------------------------------------------------------------------------------
# the second wall: sanitizer, CSP, WeasyPrint fetcher, each on its own

def _notebook_with_raw_outputs(uri: str):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": (
            f"<h2>ok</h2><iframe src='{uri}'></iframe><script>document.write('PWNED')</script>"
            "<img src=x onerror='alert(1)'><a href='javascript:alert(1)'>j</a>"
            f"<a rel='attachment' href='{uri}'>att</a><table><tr><td>1</td></tr></table>")}),
        nbformat.v4.new_output("display_data", data={"text/markdown": (
            f"## md <img src=x onerror='alert(2)'>\n\n[l](javascript:alert(3)) ![i]({uri})")}),
    ]
    nb.cells = [cell]
    return nb


def test_exporter_sanitizes_raw_html_that_slipped_through(secret_file):
    from survey.reporting.exporters import SurveyHTMLExporter

    html_text, _ = SurveyHTMLExporter().from_notebook_node(
        _notebook_with_raw_outputs(secret_file.as_uri()))
    assert_inert(html_text)
    tags = [t for t, _ in tags_of(html_text)]
    assert "h2" in tags and "table" in tags and "td" in tags  # report markup survives


@pytest.mark.skipif(not CHROMIUM, reason="/usr/bin/chromium is absent")
def test_csp_alone_stops_script_and_file_loads_in_the_chromium_print(secret_file):
    from survey.reporting.exporters import CONTENT_SECURITY_POLICY, chromium_print

    if not HAS_PDFTOTEXT:
        pytest.skip("pdftotext is absent")
    page = (f'<html><head><meta http-equiv="Content-Security-Policy" '
            f'content="{CONTENT_SECURITY_POLICY}"></head><body><p>hello</p>'
            "<script>document.write('PWNED-JS')</script>"
            f"<iframe src='{secret_file.as_uri()}' width=600 height=200></iframe>"
            f"<img src='{secret_file.as_uri()}' onerror=\"document.write('PWNED-ERR')\">"
            "</body></html>")
    pdf = chromium_print(page, chromium=CHROMIUM)
    path = secret_file.parent / "csp.pdf"
    path.write_bytes(pdf)
    text = pdf_text(path)
    assert "hello" in text
    assert "PWNED" not in text and SECRET not in text


def test_weasyprint_fetches_only_data_uris(secret_file):
    pytest.importorskip("weasyprint")
    from survey.reporting.exporters import weasy_print

    uri = secret_file.as_uri()
    pdf = weasy_print(f"<html><body><p>hello</p><a rel='attachment' href='{uri}'>a</a>"
                      f"<img src='{uri}'><link rel=stylesheet href='{uri}'></body></html>")
    assert b"/EmbeddedFile" not in pdf and SECRET.encode() not in pdf


# --------------------------------------------------------------------------------------------
# parameters

def test_parameter_names_that_are_code_are_refused_before_anything_runs(hostile, tmp_path):
    from survey.cli import main

    template, data = hostile
    flag = tmp_path / "pwned"
    code = main(["report", str(template), str(data), "--out", str(tmp_path / "o"), "--to", "html",
                 "-p", f"x=__import__('os').system('touch {flag}');y", "1"])
    assert code == 1
    assert not flag.exists()
    assert not (tmp_path / "o" / "lfi.ipynb").exists()


def test_undeclared_parameter_is_refused_with_a_hint():
    from survey.reporting._render import check_parameters

    declared = {"alpha": {"default": "0.05"}, "correction": {"default": '"holm"'}}
    with pytest.raises(ReportError, match=r"undeclared name. Hint: did you mean 'alpha'"):
        check_parameters({"alpah": 0.01}, declared, "nb.ipynb")


@pytest.mark.parametrize("value, expected", [
    ("abc", "expected a whole number, found str 'abc'"),
    (float("inf"), "expected a whole number, found float 'inf'"),
    ([1], "expected a whole number, found list '[1]'"),
    (True, "expected a whole number, found bool 'True'"),
])
def test_seed_of_the_wrong_type_is_a_clear_error(value, expected):
    from survey.reporting._render import check_parameters

    with pytest.raises(ReportError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        check_parameters({"seed": value}, {"seed": {"default": "20240101"}}, "nb.ipynb")


def test_cli_seed_abc_is_one_message_exit_1(hostile, tmp_path, capsys):
    from survey.cli import main

    template, data = hostile
    code = main(["report", str(template), str(data), "--out", str(tmp_path), "--to", "html",
                 "-p", "seed", "abc"])
    err = capsys.readouterr().err
    assert code == 1
    assert "parameter 'seed': expected a whole number" in err and "Traceback" not in err


def test_declared_file_parameters_come_from_the_parameters_cell():
    from survey.reporting._render import (
        declared_parameters,
        file_parameters,
        report_notebook_path,
    )

    declared = declared_parameters(report_notebook_path("standard"))
    assert file_parameters(declared) == ("weighting",)


# --------------------------------------------------------------------------------------------
# Markdown representations

def test_markdown_reprs_render_labels_and_answers_as_text():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from survey.core.result import frame_to_markdown

    frame = pd.DataFrame(
        {"<img src=x onerror=alert(1)>": ["<script>alert(2)</script>", "a|b\n| x | y |"],
         "n": [1, 2]},
        index=pd.Index(["[l](javascript:alert(3))", "# h"], name="q"))
    md = frame_to_markdown(frame)
    html_text = markdown2html_mistune(md)
    assert_inert(html_text)
    tags = [t for t, _ in tags_of(html_text)]
    assert tags.count("tr") == 3 and "h1" not in tags and "a" not in tags
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html_text


def test_validation_report_markdown_holds_no_raw_html(tmp_path):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    import survey as sv

    t = tmp_path / "t.yaml"
    t.write_text("id: t\ntitle: t\nitems:\n  - {name: age, type: integer, range: [0, 120]}\n",
                 encoding="utf-8")
    d = tmp_path / "d.csv"
    d.write_text("age\n<img src=x onerror=alert(1)>\n5\n", encoding="utf-8")
    s = sv.read_responses(d, sv.load_questionnaire(t))
    md = s.validation.to_markdown()
    assert "<img" not in md
    assert_inert(markdown2html_mistune(md))


def test_a_weighting_file_that_is_not_a_targets_file_is_never_quoted(tmp_path):
    from survey.errors import WeightingError
    from survey.weighting import load_targets

    f = tmp_path / "passwd"
    f.write_text(f"root:{SECRET}:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n",
                 encoding="utf-8")  # shadow-like lines parse as keys with null values
    with pytest.raises(WeightingError, match="expected a targets file") as err:
        load_targets(f)
    assert SECRET not in str(err.value)


def test_no_script_handler_or_javascript_url_survives_the_exporter():
    """Chromium cannot print with scripts off (--blink-settings=scriptEnabled=false makes
    --print-to-pdf write nothing), so the printed HTML itself must carry no script: the
    allow-list drops every script element, on* handler and javascript: URL, from outputs and
    Markdown cells alike, and the page template adds none."""
    import re

    import nbformat

    from survey.reporting.exporters import SurveyHTMLExporter

    nb = _notebook_with_raw_outputs("javascript:alert(9)")
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "<script>alert(4)</script><img src=x onerror=alert(5)>"
        "<svg onload=alert(6)></svg><a href='JaVaScRiPt:alert(7)'>k</a>"
        "<p onclick='alert(8)'>p</p>[m](javascript:alert(10))"))
    html_text, _ = SurveyHTMLExporter().from_notebook_node(nb)
    assert_inert(html_text)
    assert not re.search(r"<\s*script", html_text, re.I)
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", html_text, re.I)  # no handler attribute
    assert not re.search(r"""<[^<>]*\s(href|src)\s*=\s*["']?\s*javascript:""", html_text,
                         re.I)  # (escaped text such as &lt;a href=javascript: is inert)
    assert "alert(4)" in html_text  # the script's text is shown escaped, not dropped
