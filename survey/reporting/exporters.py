"""nbconvert exporters for survey reports: ``survey_html``, ``survey_pdf``, ``survey_weasy``.

Registered through the ``nbconvert.exporters`` entry point, so these work too::

    jupyter nbconvert --to survey_html reports/grassroots_training.ipynb
    jupyter nbconvert --to survey_pdf  reports/grassroots_training.ipynb

``survey_html`` is nbconvert's JupyterLab template without CDN scripts (require.js, MathJax,
mermaid), with inputs, prompts and the parameter cells hidden, cell ids renumbered, the
``lang`` attribute taken from the report language (notebook metadata ``survey.language``;
the wrong tag makes browsers draw Japanese glyph forms), a CJK font stack and print CSS
(A4, page numbers "x / N", table rows that never split, repeated table headers).
``survey_pdf`` prints that HTML with Debian's Chromium command line and rewrites the PDF
dates so that two builds are byte-identical; ``survey_weasy`` uses WeasyPrint instead (the
fallback when no Chromium is installed).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from nbconvert.exporters import HTMLExporter
from traitlets import Bool, Float, Unicode, default

from .._version import __version__
from ..errors import ReportError

TEMPLATE_DIR = Path(__file__).parent / "templates"

#: nbconvert tags of cells that never appear in a report
HIDDEN_TAGS = frozenset({"parameters", "injected-parameters", "remove-cell", "remove_cell"})

_FONT_STACKS = {
    "zh-Hant": "'Noto Sans CJK TC', 'Noto Sans CJK SC', 'Noto Sans', 'DejaVu Sans', sans-serif",
    "zh-Hans": "'Noto Sans CJK SC', 'Noto Sans CJK TC', 'Noto Sans', 'DejaVu Sans', sans-serif",
    "en": "'Noto Sans', 'DejaVu Sans', 'Noto Sans CJK SC', sans-serif",
}

_PRINT_CSS = """
:root {
  --jp-content-font-family: %(fonts)s;
  --jp-ui-font-family: %(fonts)s;
  --jp-content-font-size1: 11pt;
}
html, body { font-family: %(fonts)s; }
body.jp-Notebook { padding: 0; }
main { max-width: 180mm; margin: 0 auto; }
.jp-Notebook .jp-Cell { padding: 0; }
.jp-OutputArea-output pre, pre { white-space: pre-wrap; word-break: break-word; }
.jp-RenderedImage img, .jp-RenderedSVG img { max-width: 100%%; height: auto; }
table { border-collapse: collapse; }
thead { display: table-header-group; }
tr, img, svg, figure, .sv-keep { break-inside: avoid; page-break-inside: avoid; }
h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
.sv-table > p { break-after: avoid; page-break-after: avoid; }  /* a table's introduction */
.jp-RenderedHTMLCommon table { font-size: 9.5pt; margin: 4px 0 8px 0; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { padding: 2px 6px; }
/* a new page BEFORE what follows (a break after an empty div that fell onto a fresh page when
   the content before it filled the page exactly printed a blank page) */
.sv-page-break { break-before: page; page-break-before: always; height: 0; }
.sv-finding { border-left: 3px solid #4c72b0; padding: 2px 8px; margin: 6px 0; }
/* a finding is a sentence or two: never split (its last line alone on a page before a
   section's page break left a page with one line on it) */
.sv-finding, .sv-muted { break-inside: avoid; page-break-inside: avoid; }
.sv-cover h1 { font-size: 22pt; margin-top: 30mm; }
.sv-muted, .sv-notes { color: #555; font-size: 9pt; }
@page {
  size: A4;
  margin: 16mm 15mm 18mm 15mm;
  @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; color: #555; }
}
@media print {
  main { max-width: none; }
  .jp-Cell-inputWrapper, .jp-Cell-outputWrapper { display: block; }
  /* an image is never taller than the page body: Chromium cuts off what does not fit a
     page. Our charts are sized from their content and stay well below this. */
  .jp-OutputArea-output img { max-height: 245mm; object-fit: contain; }
}
/* tables fit the page: no sideways scrolling (a printed scrollbar, a cut last column), cells
   wrap; tables with many columns get a smaller font */
.jp-OutputArea-output, .jp-RenderedHTMLCommon, .jp-OutputArea { overflow: visible !important; }
.jp-RenderedHTMLCommon table { max-width: 100%%; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th {
  white-space: normal; overflow-wrap: break-word; text-wrap: pretty; }
.jp-RenderedHTMLCommon thead th { word-break: keep-all; }  /* 非常不同意, 人數: whole words */
.jp-RenderedHTMLCommon table:has(tr > :nth-child(8)) { font-size: 8pt; }
.jp-RenderedHTMLCommon table:has(tr > :nth-child(8)) :is(td, th) { padding: 2px 3px; }
.jp-RenderedHTMLCommon table:has(tr > :nth-child(12)) { font-size: 7pt; }
/* headings stay with the first rows of what follows them, not with the whole of it: an
   output that ends in a heading is kept with the next output; a table block's heading and
   introduction with its header and first three rows; its last two rows with its notes; the
   rows in between may break (the header repeats), so no half-empty page is left before a
   long table, nor a chart glued to the table before it */
/* JupyterLab prints each output as one unbreakable box (break-inside: avoid-page, a
   table-cell): a table output then moves whole to the next page; let them break */
.jp-OutputArea-child { display: block; break-inside: auto; page-break-inside: auto; }
.jp-OutputArea-child > .jp-OutputArea-output { display: block; }
.jp-OutputArea-child:has(> .jp-OutputArea-output > :is(h1, h2, h3, h4, h5):last-child) {
  break-after: avoid; page-break-after: avoid; }
.jp-OutputArea-child:has(> .jp-OutputArea-output > :is(h1, h2, h3, h4, h5):last-child)
  + .jp-OutputArea-child { break-before: avoid; page-break-before: avoid; }
.sv-table > :is(h1, h2, h3, h4, h5, p, .sv-caption) { break-after: avoid; page-break-after: avoid;
  break-inside: avoid; }  /* a table's introduction is never split from itself or its table */
.sv-table table { break-before: avoid; page-break-before: avoid; }
.sv-table tbody tr:nth-child(-n+3), .sv-table tbody tr:nth-last-child(-n+2) {
  break-before: avoid; page-break-before: avoid; }
.sv-table .sv-notes { break-before: avoid; page-break-before: avoid; break-inside: avoid; }
/* the codebook: readable column widths; a 16-character variable name (bold) and
   "select_multiple" fit their columns whole (they broke as "top_leader_year/s",
   "select_multipl/e") */
.jp-RenderedHTMLCommon .sv-codebook table { table-layout: fixed; width: 100%%; font-size: 8.5pt; }
.jp-RenderedHTMLCommon .sv-codebook thead th:nth-child(1) { width: 18%%; }
.jp-RenderedHTMLCommon .sv-codebook thead th:nth-child(2) { width: 28%%; }
.jp-RenderedHTMLCommon .sv-codebook thead th:nth-child(3) { width: 16%%; }
.jp-RenderedHTMLCommon .sv-codebook thead th:nth-child(4) { width: 26%%; }
.jp-RenderedHTMLCommon .sv-codebook thead th:nth-child(5) { width: 12%%; }
.jp-RenderedHTMLCommon .sv-codebook :is(td, th) { overflow-wrap: anywhere; text-align: left;
  word-break: normal; padding: 2px 4px; }
/* code and the manifest in a monospace font */
:root { --jp-code-font-family: 'DejaVu Sans Mono', 'Noto Sans Mono CJK SC', monospace; }
.jp-RenderedHTMLCommon :is(pre, code), pre.sv-manifest {
  font-family: 'DejaVu Sans Mono', 'Noto Sans Mono CJK SC', monospace; font-size: 8pt; }
"""

log = logging.getLogger(__name__)

#: the page may load nothing: no script, no frame, no remote or file: resource; images and fonts
#: only as data: URIs, styles only inline (the report is one self-contained file)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

#: what survives the second wall (:func:`clean_report_html`): the markup our sections emit
_SAFE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
})
_SAFE_ATTRS = frozenset({"class", "id", "title", "alt", "colspan", "rowspan", "width", "height",
                         "align", "data-mime-type"})


def _safe_attribute(tag: str, name: str, value: str) -> bool:
    if name in _SAFE_ATTRS:
        return True
    if tag == "a" and name == "href":
        return value.startswith("#")  # in-page anchors only
    if tag == "img" and name == "src":
        return value.startswith("data:image/")
    return False


def clean_report_html(text: Any) -> str:
    """The second wall: drop every tag, attribute and URL a report never emits.

    Section text is escaped before it becomes Markdown or HTML (``survey.core.safety``); this
    filter (nbconvert's ``clean_html`` slot, active because the exporters set
    ``sanitize_html``) escapes what slipped through anyway: scripts, frames, event handlers,
    ``javascript:``/``file:``/remote links and images.

    >>> clean_report_html("<h2 id='a'>T</h2><img src=x onerror=alert(1)><script>x()</script>")
    '<h2 id="a">T</h2><img>&lt;script&gt;x()&lt;/script&gt;'
    """
    import bleach

    text = text.decode() if isinstance(text, bytes) else str(text)
    return bleach.clean(text, tags=_SAFE_TAGS, attributes=_safe_attribute,
                        protocols=["data"], strip=False, strip_comments=True)


def language_tag(language: str | None) -> str:
    """The BCP 47 ``lang`` tag for a report language.

    >>> language_tag("zh-Hant"), language_tag("zh_CN"), language_tag(None)
    ('zh-Hant', 'zh-Hans', 'en')
    """
    from ..i18n import normalize_language

    return normalize_language(language, strict=False)


def report_language(nb: Any) -> str:
    """The report language recorded in a notebook (``metadata.survey.language``, else the
    papermill ``language`` parameter, else English)."""
    meta = nb.get("metadata", {})
    lang = (meta.get("survey") or {}).get("language")
    if not lang:
        lang = ((meta.get("papermill") or {}).get("parameters") or {}).get("language")
    return language_tag(lang)


def report_title(nb: Any, fallback: str = "") -> str:
    """Title: ``metadata.survey.title``, ``metadata.title``, else the first ``# `` heading."""
    meta = nb.get("metadata", {})
    title = (meta.get("survey") or {}).get("title") or meta.get("title")
    if title:
        return str(title)
    for cell in nb.get("cells", []):
        texts = []
        if cell.get("cell_type") == "markdown":
            texts.append(cell.get("source", ""))
        for out in cell.get("outputs", []) or []:
            texts.append((out.get("data") or {}).get("text/markdown", ""))
        for text in texts:
            if isinstance(text, list):
                text = "".join(text)
            m = re.search(r"^# (.+)$", text or "", flags=re.M)
            if m:
                return m.group(1).strip()
    return fallback


def prepare_notebook(nb: Any, *, keep_stderr: bool = False) -> Any:
    """A copy of ``nb`` ready for export: parameter cells dropped, stderr dropped, stable ids.

    Cell ids are renumbered ``cell-1``, ``cell-2`` ... (papermill gives its injected cell a
    random id), and execution counts are cleared (they differ between papermill and nbclient).
    """
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []) or [])
        if tags & HIDDEN_TAGS:
            continue
        if cell.get("cell_type") == "code":
            cell["execution_count"] = None
            outs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    if not keep_stderr:
                        continue
                if "execution_count" in out:
                    out["execution_count"] = None
                data = out.get("data")
                if data and "text/plain" in data and len(data) > 1:
                    # '<Styler at 0x7f..>' and similar reprs are never shown but vary per run
                    data.pop("text/plain")
                outs.append(out)
            cell["outputs"] = outs
        cells.append(cell)
    for i, cell in enumerate(cells, start=1):
        cell["id"] = f"cell-{i}"
    nb.cells = cells
    return nb


class SurveyHTMLExporter(HTMLExporter):
    """Self-contained, printable HTML for a survey report (no CDN, no code, stable bytes)."""

    export_from_notebook = "Survey report (HTML)"

    keep_stderr = Bool(False, help="Keep stderr stream outputs (warnings) in the report.").tag(
        config=True
    )

    @default("template_name")
    def _template_name_default(self) -> str:
        return "survey"

    @default("extra_template_basedirs")
    def _extra_basedirs_default(self) -> list[str]:
        return [str(TEMPLATE_DIR)]

    @default("exclude_input")
    def _exclude_input_default(self) -> bool:
        return True

    @default("exclude_input_prompt")
    def _exclude_in_prompt_default(self) -> bool:
        return True

    @default("exclude_output_prompt")
    def _exclude_out_prompt_default(self) -> bool:
        return True

    @default("embed_images")
    def _embed_images_default(self) -> bool:
        return True

    @default("sanitize_html")
    def _sanitize_default(self) -> bool:
        return True

    def default_filters(self):
        for name, fn in super().default_filters():
            yield name, (clean_report_html if name == "clean_html" else fn)

    def _survey_resources(self, nb: Any, resources: dict) -> dict:
        lang = report_language(nb)
        name = (resources.get("metadata") or {}).get("name") or "report"
        title = report_title(nb, fallback=name)
        resources["survey"] = {
            "lang": lang,
            "title": title,
            "version": __version__,
            "css": _PRINT_CSS % {"fonts": _FONT_STACKS.get(lang, _FONT_STACKS["en"])},
            "csp": CONTENT_SECURITY_POLICY,
        }
        return resources

    def from_notebook_node(self, nb, resources=None, **kw):
        nb = prepare_notebook(nb, keep_stderr=self.keep_stderr)
        resources = self._init_resources(resources)
        resources = self._survey_resources(nb, resources)
        return super().from_notebook_node(nb, resources=resources, **kw)


# ---------------------------------------------------------------------------------------------
# PDF through Chromium

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) ?\(D:(\d{14})([^)]*)\)")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable (``$SURVEY_CHROMIUM`` first), or ``None``."""
    env = os.environ.get("SURVEY_CHROMIUM")
    if env:
        return env if (os.path.exists(env) or shutil.which(env)) else None
    for name in _CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@functools.lru_cache(maxsize=8)
def chromium_version(path: str | None = None) -> str | None:
    """``chromium --version`` (e.g. ``'Chromium 156.0.8078.79 built on Debian ...'``), or None."""
    path = path or find_chromium()
    if not path:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"(Chrom\w*[^\n]*?\d+\.\d+\.\d+\.\d+)", out.stdout)
    return m.group(1).strip() if m else (out.stdout.strip() or None)


def cjk_font_installed() -> bool:
    """True when fontconfig knows a Noto Sans CJK font (Debian package ``fonts-noto-cjk``)."""
    fc = shutil.which("fc-list")
    if not fc:
        return any(Path("/usr/share/fonts").rglob("NotoSansCJK*"))
    try:
        out = subprocess.run([fc, ":", "family"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "Noto Sans CJK" in out.stdout


_CJK_WARNED = False


def check_cjk_font(nb_lang: str) -> None:
    """Log (once) that Chinese text will not render when no CJK font is installed."""
    global _CJK_WARNED
    if _CJK_WARNED or not nb_lang.startswith("zh"):
        return
    if not cjk_font_installed():
        _CJK_WARNED = True
        msg = (
            "no Noto Sans CJK font found (fc-list): Chinese text will print as empty boxes. "
            "Install it: sudo apt-get install fonts-noto-cjk (Debian/Ubuntu), then rebuild."
        )
        log.warning(msg)
        import warnings

        from ..errors import SurveyWarning

        warnings.warn(msg, SurveyWarning, stacklevel=3)


def normalize_pdf_dates(pdf: bytes, stamp: str = "20000101000000") -> bytes:
    """Rewrite ``/CreationDate`` and ``/ModDate`` in place (same length, xref stays valid).

    >>> normalize_pdf_dates(b"<</CreationDate (D:20261122103000+00'00')>>")
    b"<</CreationDate (D:20000101000000+00'00')>>"
    """
    stamp_b = stamp.encode("ascii")
    return _PDF_DATE.sub(lambda m: m.group(0).replace(m.group(2), stamp_b), pdf)


_PDF_NODE_ID = re.compile(rb"\(node(\d{8})\)")


def normalize_pdf_node_ids(pdf: bytes) -> bytes:
    """Renumber Chromium's tagged-PDF element ids ``(node00000064)`` by rank, in place.

    The ids are DOM node ids, which shift between two prints of the same HTML (nodes created
    along the way); ranking keeps their order (the ``/IDTree`` stays sorted), their length
    (the xref offsets stay valid) and every reference (``/ID``, ``/Headers``, the tree).

    >>> normalize_pdf_node_ids(b"/ID (node00000064) /Headers [(node00000070) (node00000064)]")
    b'/ID (node00000001) /Headers [(node00000002) (node00000001)]'
    """
    found = sorted({int(m) for m in _PDF_NODE_ID.findall(pdf)})
    rank = {n: i for i, n in enumerate(found, start=1)}
    return _PDF_NODE_ID.sub(lambda m: b"(node%08d)" % rank[int(m.group(1))], pdf)


_SOCKET_PATH_MAX = 107  # sun_path of a Unix socket, less its final NUL


def _chromium_env(tmp: str) -> dict[str, str]:
    """Chromium's environment: its own scratch folder (``org.chromium.Chromium.*``, holding
    the singleton socket) goes inside ``tmp``, so a killed print leaves nothing behind in the
    system temporary folder. Only when the socket path fits: a longer one makes Chromium
    abort, so a very long TMPDIR keeps the system folder (the print matters more)."""
    socket = os.path.join(tmp, "org.chromium.Chromium.XXXXXX", "SingletonSocket")
    if len(os.fsencode(socket)) > _SOCKET_PATH_MAX:
        return dict(os.environ)
    return {**os.environ, "TMPDIR": tmp}


def chromium_print(html: str, *, chromium: str, timeout: float = 120.0) -> bytes:
    """Print an HTML string to PDF bytes with the Chromium command line."""
    with tempfile.TemporaryDirectory(prefix="survey-pdf-") as tmp:
        src = Path(tmp) / "report.html"
        out = Path(tmp) / "report.pdf"
        src.write_text(html, encoding="utf-8")
        args = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--no-pdf-header-footer",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            cwd=tmp,
            env=_chromium_env(tmp),
        )
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ReportError(
                f"Chromium did not finish printing the report within {timeout:.0f} s ({chromium})."
            ) from None
        except BaseException:  # Ctrl-C, SIGTERM (see render_report): no Chromium left behind
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        if proc.returncode != 0 or not out.exists() or out.stat().st_size < 1000:
            tail = "\n".join(err.decode("utf-8", "replace").splitlines()[-15:])
            raise ReportError(
                f"Chromium could not print the report (exit code {proc.returncode}, {chromium}).\n"
                f"{tail}"
            )
        return normalize_pdf_node_ids(normalize_pdf_dates(out.read_bytes()))


class SurveyPDFExporter(SurveyHTMLExporter):
    """PDF of the ``survey_html`` page printed by Chromium (A4, page numbers, stable bytes).

    Falls back to WeasyPrint, with a logged message, when no Chromium is installed.
    """

    export_from_notebook = "Survey report (PDF, Chromium)"
    output_mimetype = "application/pdf"
    template_extension = ".html.j2"

    chromium_path = Unicode(
        "", help="Chromium executable (default: $SURVEY_CHROMIUM or chromium on PATH)."
    ).tag(config=True)
    timeout = Float(120.0, help="Seconds before the Chromium print is abandoned.").tag(config=True)

    @default("file_extension")
    def _file_extension_default(self) -> str:
        return ".pdf"

    def from_notebook_node(self, nb, resources=None, **kw):
        html, resources = super().from_notebook_node(nb, resources=resources, **kw)
        check_cjk_font(resources["survey"]["lang"])
        chromium = self.chromium_path or find_chromium()
        if not chromium:
            msg = (
                "Chromium not found (Debian/Ubuntu: apt-get install chromium); "
                "printing the PDF with WeasyPrint instead."
            )
            log.warning(msg)
            print(f"survey: {msg}")
            pdf = weasy_print(html)
            resources["survey"]["pdf_engine"] = "weasyprint"
        else:
            pdf = chromium_print(html, chromium=chromium, timeout=self.timeout)
            resources["survey"]["pdf_engine"] = "chromium"
        resources["output_extension"] = ".pdf"
        return pdf, resources


def weasy_print(html: str) -> bytes:
    """Print an HTML string to PDF bytes with WeasyPrint (its CSS warnings silenced)."""
    try:
        import weasyprint
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ReportError(
            "no PDF engine: neither Chromium (apt-get install chromium) nor WeasyPrint "
            "(pip install weasyprint) is installed."
        ) from exc
    quiet = [logging.getLogger(n) for n in ("weasyprint", "fontTools", "fontTools.subset")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.ERROR)
    try:
        return weasyprint.HTML(string=html, base_url=None,
                               url_fetcher=data_only_fetcher()).write_pdf()
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)


def data_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that loads ``data:`` URIs and refuses everything else
    (``file:`` attachments, remote images and style sheets)."""
    from weasyprint import urls

    if hasattr(urls, "URLFetcher"):
        return urls.URLFetcher(allowed_protocols=["data"])

    def fetch(url: str, *args: Any, **kw: Any) -> Any:  # WeasyPrint < 66
        if not url.lower().startswith("data:"):
            raise ValueError(f"the report may only load data: URIs, not {url[:60]!r}")
        return urls.default_url_fetcher(url, *args, **kw)

    return fetch


class SurveyWeasyExporter(SurveyHTMLExporter):
    """PDF of the ``survey_html`` page rendered by WeasyPrint (no browser needed)."""

    export_from_notebook = "Survey report (PDF, WeasyPrint)"
    output_mimetype = "application/pdf"
    template_extension = ".html.j2"

    @default("file_extension")
    def _file_extension_default(self) -> str:
        return ".pdf"

    def from_notebook_node(self, nb, resources=None, **kw):
        html, resources = super().from_notebook_node(nb, resources=resources, **kw)
        check_cjk_font(resources["survey"]["lang"])
        pdf = weasy_print(html)
        resources["survey"]["pdf_engine"] = "weasyprint"
        resources["output_extension"] = ".pdf"
        return pdf, resources
