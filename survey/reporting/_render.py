"""``render_report``: run a report notebook with papermill, export it, record a manifest."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import html
import json
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ReportError, format_problem

#: packages whose versions go into every manifest
MANIFEST_PACKAGES = (
    "survey-toolkit",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "pingouin",
    "nbconvert",
    "papermill",
)
DEFAULT_SEED = 20240101
#: fixed build time seen by the kernel (matplotlib, pandas and friends honour it)
SOURCE_DATE_EPOCH = "946684800"
_FORMATS = ("ipynb", "html", "pdf", "weasy")


def library_path(kind: str, name: str | None = None) -> Path:
    """A folder (or file) of the bundled library: ``questionnaires``, ``notebooks``, ``data``.

    The repository's top-level folder when running from a checkout, else the copy packaged
    in the wheel under ``survey/_library``.
    """
    pkg = Path(__file__).resolve().parent.parent
    for base in (pkg.parent / kind, pkg / "_library" / kind):
        if base.is_dir():
            return base / name if name else base
    return (pkg.parent / kind / name) if name else pkg.parent / kind


def report_notebook_path(notebook: str | os.PathLike = "standard") -> Path:
    """Resolve a report notebook: a path, or a name (``standard``, ``grassroots_training``).

    Names are looked up as ``notebooks/report_<name>.ipynb`` in the library.
    """
    text = os.fspath(notebook)
    path = Path(text)
    if path.suffix == ".ipynb" or os.sep in text or "/" in text:
        if not path.exists():
            raise ReportError(
                format_problem(
                    where=f"report notebook {text!r}",
                    expected="an existing .ipynb file",
                    found="no such file",
                    hint="give a path or a name such as 'standard'",
                )
            )
        return path
    stem = text if text.startswith("report_") else f"report_{text}"
    candidate = library_path("notebooks", f"{stem}.ipynb")
    if not candidate.exists():
        known = sorted(p.stem.removeprefix("report_") for p in candidate.parent.glob("report_*.ipynb"))
        from ..errors import did_you_mean

        hint = did_you_mean(text, known) or f"known report notebooks: {', '.join(known) or 'none'}"
        raise ReportError(
            format_problem(
                where=f"report notebook {text!r}",
                expected=f"a notebook {stem}.ipynb in {candidate.parent}",
                found="none",
                hint=hint,
            )
        )
    return candidate


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    from importlib import metadata

    from .._version import __version__

    out: dict[str, str] = {}
    for name in MANIFEST_PACKAGES:
        if name == "survey-toolkit":
            out["survey"] = __version__
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _public_value(value: Any, *, is_file: bool = True) -> Any:
    """A parameter value as recorded in the manifest: a file parameter's file by name and hash
    (any other value as it is: a value that happens to name a file is never read)."""
    if not is_file:
        return value
    if isinstance(value, (str, os.PathLike)) and value and len(os.fspath(value)) < 4096:
        p = Path(os.fspath(value))
        try:
            if p.is_file():
                return {"file": p.name, "sha256": _sha256(p)}
        except OSError:
            pass
    return value


def build_manifest(
    *,
    template_id: str,
    questionnaire: Path,
    responses: Path | None,
    notebook: Path,
    parameters: Mapping[str, Any],
    seed: int,
    chromium: str | None,
    file_parameters: Sequence[str] = ("weighting",),
) -> dict[str, Any]:
    """The reproducibility record shown in the report's appendix and written next to it.

    Only file names (never directories) and content hashes are recorded, so the manifest, and
    the report that shows it, do not depend on where the build runs. Only the declared
    ``file_parameters`` are read and hashed.
    """
    hidden = {"questionnaire", "responses", "manifest"}
    return {
        "template_id": template_id,
        "questionnaire": {"file": questionnaire.name, "sha256": _sha256(questionnaire)},
        "responses": (
            {"file": responses.name, "sha256": _sha256(responses)} if responses else None
        ),
        "report_notebook": {"file": notebook.name, "sha256": _sha256(notebook)},
        "parameters": {
            k: _public_value(v, is_file=k in file_parameters)
            for k, v in sorted(parameters.items()) if k not in hidden
        },
        "seed": seed,
        "packages": _versions(),
        "python": ".".join(map(str, sys.version_info[:3])),
        "chromium": chromium,
    }


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """Where a report was written and how long each step took (seconds)."""

    template_id: str
    language: str
    notebook: Path
    manifest: Path
    html: Path | None = None
    pdf: Path | None = None
    timings: Mapping[str, float] = dataclasses.field(default_factory=dict)
    analyst_log: Path | None = None

    @property
    def paths(self) -> dict[str, Path]:
        out = {"ipynb": self.notebook, "manifest": self.manifest}
        if self.analyst_log:
            out["log"] = self.analyst_log
        if self.html:
            out["html"] = self.html
        if self.pdf:
            out["pdf"] = self.pdf
        return out

    def __repr__(self) -> str:
        files = ", ".join(p.name for p in self.paths.values())
        total = self.timings.get("total", float("nan"))
        return f"<ReportResult {self.template_id} ({self.language}): {files} in {total:.1f} s>"


def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return False
    return sys.stderr.isatty()


def _refuse_other_kind(manifest: Path, nb_path: Path) -> None:
    """A report of another kind (another notebook) under the same name is not overwritten."""
    try:
        before = json.loads(manifest.read_text(encoding="utf-8"))["report_notebook"]["file"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if before != nb_path.name:
        stem = manifest.name.removesuffix(".manifest.json")
        raise ReportError(format_problem(
            where=f"output {os.fspath(manifest.parent / stem)}.*",
            expected=f"no report, or one built from {nb_path.name}",
            found=f"a different report, built from {before}",
            hint="write to another folder (--out DIR) or replace it with --force "
                 "(render_report(..., force=True))"))


def _close_log(path: Path) -> Path:
    """The analyst log, with a line saying so when nothing was left out."""
    text = path.read_text(encoding="utf-8")
    if not text.rstrip().endswith("and why:") or "\n- " in text:
        return path
    path.write_text(text + "- nothing\n", encoding="utf-8")
    return path


@functools.cache
def encrypted_kernel_manager() -> type:
    """A kernel manager that provisions CurveZMQ keys when the kernel spec supports them.

    ipykernel warns "Kernel is running over TCP without encryption" on stderr for every plain
    TCP kernel, which every build printed and notebooks 04/05 showed as red output; with
    ``transport_encryption="auto"`` the channels are encrypted and the warning never arises.
    """
    from jupyter_client.manager import AsyncKernelManager

    class SurveyKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            import zmq

            if zmq.has("curve"):
                self.transport_encryption = "auto"

    return SurveyKernelManager


@contextlib.contextmanager
def _kernel_env(seed: int, **extra: str) -> Iterator[None]:
    """Environment the kernel inherits: fixed build time and hash seed (and ``extra``)."""
    new = {
        **extra,
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        "PYTHONHASHSEED": "0",
        "SURVEY_REPORT_SEED": str(seed),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    old = {k: os.environ.get(k) for k in new}
    os.environ.update(new)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


#: the parameters render_report sets itself (a notebook's parameters cell should declare them)
_RUNTIME_PARAMETERS = frozenset({"questionnaire", "responses", "language", "title", "seed",
                                 "manifest"})


def declared_parameters(nb_path: Path) -> dict[str, dict]:
    """The parameters declared in a notebook's ``parameters`` cell (papermill's inspection)."""
    import papermill as pm

    try:
        return dict(pm.inspect_notebook(str(nb_path)))
    except Exception as exc:  # noqa: BLE001 - unreadable notebook or parameters cell
        raise ReportError(format_problem(
            where=f"report notebook {nb_path.name}",
            expected="a notebook whose 'parameters' cell papermill can inspect",
            found=f"{type(exc).__name__}: {exc}",
        )) from None


def file_parameters(declared: Mapping[str, Mapping]) -> tuple[str, ...]:
    """Parameters that name a file: declared with a comment that mentions a file
    (``weighting = "none"  # "none" or a rake-targets YAML file``)."""
    return tuple(sorted(
        name for name, info in declared.items()
        if name not in _RUNTIME_PARAMETERS and re.search(r"\bfile\b", str(info.get("help") or ""))
    ))


def _default_of(info: Mapping) -> Any:
    import ast

    try:
        return ast.literal_eval(str(info.get("default")))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def check_parameters(params: Mapping[Any, Any], declared: Mapping[str, Mapping],
                     notebook: str) -> dict[str, Any]:
    """``params`` checked against the notebook's parameters cell.

    A name must be a Python identifier (papermill writes ``name = value`` into the notebook,
    escaping only the value) and declared in the cell; a value must have the type of the
    declared default (a number for a number, finite; text for text).

    >>> declared = {"alpha": {"default": "0.05"}, "seed": {"default": "1"},
    ...             "title": {"default": '""'}}
    >>> check_parameters({"alpha": 0.01, "title": 2024}, declared, "nb")
    {'alpha': 0.01, 'title': '2024'}
    >>> check_parameters({"x=__import__('os')": 1}, declared, "nb")
    Traceback (most recent call last):
    survey.errors.ReportError: report notebook nb, parameter "x=__import__('os')": expected a Python identifier declared in the notebook's parameters cell, found a name that is not an identifier. Hint: declared parameters: alpha, seed, title.
    """
    import keyword
    import math

    from ..errors import did_you_mean

    names = ", ".join(sorted(declared)) or "none"
    out: dict[str, Any] = {}
    for name, value in params.items():
        where = f"report notebook {notebook}, parameter {str(name)[:80]!r}"
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ReportError(format_problem(
                where=where, expected="a Python identifier declared in the notebook's "
                "parameters cell", found="a name that is not an identifier",
                hint=f"declared parameters: {names}"))
        if name not in declared and name not in _RUNTIME_PARAMETERS:
            raise ReportError(format_problem(
                where=where, expected="a parameter declared in the notebook's parameters cell",
                found="an undeclared name",
                hint=did_you_mean(name, declared) or f"declared parameters: {names}"))
        default = _default_of(declared.get(name, {}))
        if name == "seed" and not isinstance(default, int):
            default = 0
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        bad = None
        if isinstance(default, bool):
            bad = None if isinstance(value, bool) else "true or false"
        elif isinstance(default, int):
            bad = None if number and float(value).is_integer() and math.isfinite(value) \
                else "a whole number"
            value = int(value) if bad is None else value
        elif isinstance(default, float):
            bad = None if number and math.isfinite(value) else "a finite number"
        elif isinstance(default, str):
            if number:
                value = str(value)
            elif isinstance(value, os.PathLike):
                value = os.fspath(value)
            elif not isinstance(value, (str, Mapping)):
                bad = "text"
        if bad:
            raise ReportError(format_problem(
                where=where, expected=bad, found=f"{type(value).__name__} {str(value)[:60]!r}",
                hint=f"the notebook's default is {declared[name].get('default')}"))
        out[name] = value
    return out


def _resolve_questionnaire(questionnaire: Any) -> tuple[Path, Any]:
    """(template file, loaded Questionnaire or None) from a path, a template id or an object."""
    if isinstance(questionnaire, (str, os.PathLike)):
        text = os.fspath(questionnaire)
        path = Path(text)
        if not path.exists() and not path.suffix:
            path = library_path("questionnaires", f"{text}.yaml")
        if not path.exists():
            known = sorted(p.stem for p in library_path("questionnaires").glob("*.yaml"))
            from ..errors import did_you_mean

            raise ReportError(
                format_problem(
                    where=f"questionnaire {text!r}",
                    expected="a template file or the id of a bundled template",
                    found="no such file",
                    hint=did_you_mean(text, known) or f"bundled templates: {', '.join(known)}",
                )
            )
        q = None
        try:
            from ..questionnaire import load_questionnaire

            q = load_questionnaire(path)
        except ImportError:
            q = None
        return path.resolve(), q
    for attr in ("source", "path", "source_path"):
        src = getattr(questionnaire, attr, None)
        if isinstance(src, (str, os.PathLike)) and Path(os.fspath(src)).is_file():
            return Path(os.fspath(src)).resolve(), questionnaire
    raise ReportError(
        format_problem(
            where="render_report(questionnaire=...)",
            expected="a template path or id, or a Questionnaire loaded from a file",
            found=type(questionnaire).__name__,
            hint="pass the template's file path so the report can record its SHA-256",
        )
    )


def _text(value: Any, language: str | None) -> str | None:
    """A (possibly multilingual) text in ``language``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in (language, "en", *value.keys()):
            if key in value and value[key]:
                return str(value[key])
        return None
    for attr in ("get",):
        if hasattr(value, attr):
            try:
                return str(value.get(language))
            except Exception:  # noqa: BLE001 - best effort for unknown text objects
                return None
    return str(value)


def _template_info(path: Path, q: Any, language: str | None) -> tuple[str, str, str]:
    """(template id, language, title); a language the toolkit has no words in is refused
    (:class:`survey.i18n.LanguageError`) before anything runs."""
    from ..i18n import normalize_language

    tid = getattr(q, "id", None) or path.stem
    lang = normalize_language(language or getattr(q, "default_language", None))
    title = _text(getattr(q, "title", None), lang) or tid
    return str(tid), str(lang), title


def _failed_cell(nb_path: Path) -> tuple[int | None, str | None, str]:
    """(index in the report notebook, section heading, ``# section:`` name) of the failed cell."""
    import nbformat

    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:  # noqa: BLE001 - the partial notebook may be unreadable
        return None, None, ""
    index = -1
    section = None
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []) or [])
        if tags & {"papermill-error-cell-tag", "injected-parameters"}:
            continue
        index += 1
        src = cell.get("source", "")
        headings = []
        if cell.cell_type == "markdown":
            headings += re.findall(r"^#{1,4} (.+)$", src, flags=re.M)
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            headings += re.findall(r"^#{1,4} (.+)$", str(data.get("text/markdown", "")), re.M)
            headings += re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", str(data.get("text/html", "")))
        m = re.match(r"#\s*section:\s*(.+)", src)
        if headings:
            section = re.sub(r"<[^>]+>", "", headings[-1]).strip()
            section = html.unescape(re.sub(r"\\(.)", r"\1", section))  # md_text escapes
        if cell.cell_type == "code" and any(
            o.get("output_type") == "error" for o in cell.get("outputs", []) or []
        ):
            return index, section, (m.group(1).strip() if m else "")
    return None, section, ""


def _render_report(
    questionnaire: Any,
    responses: str | os.PathLike | None,
    *,
    notebook: str | os.PathLike,
    output_dir: Path,
    kernel_cwd: Path,
    formats: Sequence[str],
    language: str | None,
    parameters: Mapping[str, Any] | None,
    progress: bool | None,
    force: bool = False,
) -> ReportResult:
    """:func:`render_report` writing every file into ``output_dir`` (the staging folder)."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    formats = tuple(f.strip().lower() for f in ([formats] if isinstance(formats, str) else formats))
    bad = [f for f in formats if f not in _FORMATS]
    if bad:
        raise ReportError(
            format_problem(
                where="render_report(formats=...)",
                expected="some of html, pdf, weasy",
                found=", ".join(bad),
            )
        )
    q_path, q = _resolve_questionnaire(questionnaire)
    nb_path = report_notebook_path(notebook)
    data_path = None
    if responses is not None:
        data_path = Path(os.fspath(responses))
        if not data_path.is_file():
            raise ReportError(
                format_problem(
                    where=f"responses {os.fspath(responses)!r}",
                    expected="an existing data file",
                    found="no such file",
                )
            )
        data_path = data_path.resolve()
    declared = declared_parameters(nb_path)
    params = check_parameters(dict(parameters or {}), declared, nb_path.name)
    template_id, lang, title = _template_info(q_path, q, language or params.get("language"))
    title = params.get("title") or title
    seed = int(params.get("seed", DEFAULT_SEED))

    from .exporters import chromium_version, find_chromium

    chromium = find_chromium()
    manifest = build_manifest(
        template_id=template_id,
        questionnaire=q_path,
        responses=data_path,
        notebook=nb_path,
        parameters={**params, "language": lang, "title": title},
        seed=seed,
        chromium=chromium_version(chromium) if chromium else None,
        file_parameters=file_parameters(declared),
    )
    params.update(
        questionnaire=str(q_path),
        responses=str(data_path) if data_path else "",
        language=lang,
        title=title,
        seed=seed,
        manifest=manifest,
    )
    out_dir = Path(os.fspath(output_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    out_nb = out_dir / f"{template_id}.ipynb"
    if not force:
        _refuse_other_kind(kernel_cwd / f"{template_id}.manifest.json", nb_path)
    log_path = out_dir / f"{template_id}.analyst-log.md"
    log_path.write_text(f"# Analyst log: {template_id} ({nb_path.name}, {lang})\n\n"
                        "What the report leaves out, and why:\n\n", encoding="utf-8")
    timings["prepare"] = time.perf_counter() - t0

    show = _progress_enabled(progress)
    import logging

    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    t1 = time.perf_counter()
    pm_logger = logging.getLogger("papermill")
    old_level = pm_logger.level
    pm_logger.setLevel(logging.WARNING)
    try:
        with _kernel_env(seed, SURVEY_ANALYST_LOG=str(log_path.resolve())):
            pm.execute_notebook(
                str(nb_path),
                str(out_nb),
                parameters=params,
                kernel_name="python3",
                progress_bar={"desc": "cells", "leave": False} if show else False,
                log_output=False,
                cwd=str(kernel_cwd),
                request_save_on_cell_execute=False,
                kernel_manager_class=encrypted_kernel_manager(),
                # every output is in once the last cell is idle: the kernel (and its process
                # group) is killed rather than asked to tidy up (IPython's exit hooks, a full
                # garbage collection, module teardown: 0.2-0.4 s of a build, nothing kept)
                shutdown_kernel="immediate",
            )
    except PapermillExecutionError as exc:
        index, section, name = _failed_cell(out_nb)
        where = f"cell {index if index is not None else exc.cell_index}"
        if name:
            where += f" [{name}]"
        if section:
            where += f" in section {section!r}"
        raise ReportError(
            f"report {nb_path.name}: {where} failed: {exc.ename}: {exc.evalue}\n"
            f"The partly executed notebook is {out_nb}; open it to see the traceback."
        ) from None
    except ReportError:
        raise
    except Exception as exc:  # kernel died, missing kernel spec, ...
        raise ReportError(
            f"report {nb_path.name} could not be executed: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        pm_logger.setLevel(old_level)
    timings["execute"] = time.perf_counter() - t1

    import nbformat

    nb = nbformat.read(out_nb, as_version=4)
    nb.metadata.setdefault("survey", {})
    nb.metadata["survey"].update(
        {"language": lang, "title": title, "template_id": template_id}
    )
    nbformat.write(nb, out_nb)

    html_path = pdf_path = None
    steps = [f for f in formats if f != "ipynb"]
    bar = None
    if show and steps:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(steps), desc="export", leave=False)
    try:
        html_text = None
        if steps:
            from .exporters import SurveyHTMLExporter

            t2 = time.perf_counter()
            html_text, _ = SurveyHTMLExporter().from_notebook_node(
                nb, resources={"metadata": {"name": template_id}}
            )
            timings["html"] = time.perf_counter() - t2
        if "html" in formats:
            html_path = out_dir / f"{template_id}.html"
            html_path.write_text(html_text, encoding="utf-8")
            if bar:
                bar.update(1)
        for fmt in ("pdf", "weasy"):
            if fmt not in formats:
                continue
            from .exporters import check_cjk_font, chromium_print, weasy_print

            t3 = time.perf_counter()
            check_cjk_font(lang if lang.startswith("zh") else "en")
            if fmt == "pdf" and chromium:
                pdf = chromium_print(html_text, chromium=chromium)
            else:
                if fmt == "pdf":
                    print(
                        "survey: Chromium not found (Debian/Ubuntu: apt-get install chromium); "
                        "printing the PDF with WeasyPrint instead.",
                        file=sys.stderr,
                    )
                pdf = weasy_print(html_text)
            pdf_path = out_dir / f"{template_id}.pdf"
            pdf_path.write_bytes(pdf)
            timings["pdf"] = time.perf_counter() - t3
            if bar:
                bar.update(1)
    finally:
        if bar:
            bar.close()

    timings["total"] = time.perf_counter() - t0
    record = dict(manifest)
    record["outputs"] = {
        p.name: _sha256(p) for p in (html_path, pdf_path) if p is not None and p.exists()
    }
    manifest_path = out_dir / f"{template_id}.manifest.json"
    manifest_path.write_text(
        json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return ReportResult(
        template_id=template_id,
        language=lang,
        notebook=out_nb,
        manifest=manifest_path,
        html=html_path,
        pdf=pdf_path,
        timings={k: round(v, 3) for k, v in timings.items()},
        analyst_log=_close_log(log_path),
    )


def render_report(
    questionnaire: Any,
    responses: str | os.PathLike | None,
    *,
    notebook: str | os.PathLike = "standard",
    output_dir: str | os.PathLike = "reports",
    formats: Sequence[str] = ("html", "pdf"),
    language: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    force: bool = False,
) -> ReportResult:
    """Execute a report notebook on a questionnaire and its responses; export HTML and PDF.

    Parameters
    ----------
    questionnaire : path, template id or Questionnaire
        The template (a Questionnaire must have been loaded from a file).
    responses : path
        The response file (csv, xlsx, sav, ...), read by ``read_responses`` in the notebook.
    notebook : str or path
        ``"standard"`` (any questionnaire), ``"grassroots_training"`` (the flagship), or a path
        to a notebook with a cell tagged ``parameters``.
    output_dir : path
        Receives ``<template-id>.ipynb``, ``.html``, ``.pdf`` and ``.manifest.json``.
    formats : sequence of {"html", "pdf", "weasy"}
        ``pdf`` prints with Chromium (WeasyPrint when Chromium is missing); ``weasy`` forces
        WeasyPrint. The executed ``.ipynb`` is always written.
    language : {"zh-Hant", "zh-Hans", "en"}, optional
        Report language; default: the questionnaire's default language.
    parameters : mapping, optional
        Extra notebook parameters (``alpha``, ``correction``, ``banner``, ``weighting``,
        ``suppress_below``, ``title``, ``seed`` ...).
    progress : bool, optional
        Progress bar; default: on a terminal, off when not a TTY or ``CI`` is set.
    force : bool, default False
        Replace a report of the same name in ``output_dir`` that was built from another
        notebook (e.g. the standard report over the flagship); without it that is refused.

    Returns
    -------
    ReportResult
        Paths and timings.

    Raises
    ------
    ReportError
        A cell failed (the message names the cell and its section; the partial executed
        notebook is left in ``output_dir`` as ``<template-id>.failed.ipynb``), an export
        failed, or ``output_dir`` is a file or one of the outputs would replace an input.

    Notes
    -----
    The report is built in a hidden staging folder inside ``output_dir`` and moved in place
    when complete: the old manifest is removed first, the new one written last, so a set
    with a manifest is always complete and consistent. An interrupted or failed build
    (Ctrl-C, SIGTERM, a failing cell) leaves the previous report untouched and removes the
    staging folder and Chromium's temporary files (Chromium's process group is killed).
    """
    out_dir = _output_folder(output_dir)
    with _sigterm_as_interrupt(), _staging(out_dir) as stage:
        try:
            result = _render_report(
                questionnaire, responses, notebook=notebook, output_dir=stage,
                kernel_cwd=out_dir, formats=formats, language=language,
                parameters=parameters, progress=progress, force=force)
        except ReportError as exc:
            partial = next(stage.glob("*.ipynb"), None)
            if partial is None:
                raise
            kept = out_dir / f"{partial.stem}.failed.ipynb"
            os.replace(partial, kept)
            raise ReportError(str(exc).replace(str(partial), str(kept))) from None
        inputs = [p for p in (_source_of(questionnaire), responses) if p is not None]
        return _publish(result, out_dir, inputs)


def _output_folder(output_dir: str | os.PathLike) -> Path:
    out_dir = Path(os.fspath(output_dir))
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(format_problem(
            where=f"output_dir {os.fspath(output_dir)!r}", expected="a folder",
            found="a file", hint="choose another --out"))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(format_problem(
            where=f"output_dir {os.fspath(output_dir)!r}", expected="a folder that can be "
            "created and written", found=exc.strerror or str(exc),
            hint="choose a writable place")) from None
    return out_dir


def _source_of(questionnaire: Any) -> Any:
    if isinstance(questionnaire, (str, os.PathLike)):
        return questionnaire
    return getattr(questionnaire, "source_path", None) or getattr(questionnaire, "source", None)


@contextlib.contextmanager
def _staging(out_dir: Path) -> Iterator[Path]:
    """A hidden sibling folder of the outputs (same file system: moves are atomic)."""
    import shutil
    import tempfile

    stage = Path(tempfile.mkdtemp(prefix=".survey-build-", dir=out_dir))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the staging folder and Chromium are cleaned up."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _publish(result: ReportResult, out_dir: Path, inputs: Sequence[Any]) -> ReportResult:
    """Move a complete build in place: old manifest out first, new manifest in last."""
    from ..core.safety import same_file

    tid = result.template_id
    built = {p.name: p for p in (result.notebook, result.html, result.pdf, result.analyst_log)
             if p is not None}
    targets = [out_dir / name for name in (*built, result.manifest.name)]
    for target in targets:
        for src in inputs:
            if same_file(target, os.fspath(src)):
                raise ReportError(format_problem(
                    where=str(target), expected="an output that is not one of the inputs",
                    found="the input file itself", hint="choose another --out"))
    (out_dir / result.manifest.name).unlink(missing_ok=True)
    for stale in (f"{tid}.html", f"{tid}.pdf", f"{tid}.failed.ipynb"):
        if stale not in built:
            (out_dir / stale).unlink(missing_ok=True)  # from an earlier build: not this set
    moved = {}
    for name, src in built.items():
        os.replace(src, out_dir / name)
        moved[name] = out_dir / name
    manifest = out_dir / result.manifest.name
    os.replace(result.manifest, manifest)
    return dataclasses.replace(
        result, notebook=moved[result.notebook.name], manifest=manifest,
        html=moved.get(result.html.name) if result.html else None,
        pdf=moved.get(result.pdf.name) if result.pdf else None,
        analyst_log=moved.get(result.analyst_log.name) if result.analyst_log else None)
