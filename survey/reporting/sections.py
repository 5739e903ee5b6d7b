"""Building blocks of the report notebooks: each function displays one section.

A report notebook creates one :class:`Report` from its parameters and then calls one method
per cell (cover, methods, data quality, the question groups, cross-tabulations, appendix), so
a failing section fails one named cell. Tables are rendered with deterministic HTML; charts are
SVG with fixed ids; nothing displayed depends on the output directory or the build time.
"""

from __future__ import annotations

import html
import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis._fisher import STATES_PER_SECOND
from ..core.disclosure import disclosure_mask
from ..core.result import frame_to_html
from ..core.safety import md_text
from ..errors import SurveyError
from . import findings as fd
from .texts import rule_name, t

SKIP_ROLES = {"id", "admin", "weight"}
#: Fisher's exact test in the report: budget of the exact enumeration per table, in seconds of
#: the nominal rate ``STATES_PER_SECOND`` (a count of expanded states, not a clock), and
#: the simulated tables of the Monte Carlo p-value beyond it (R's simulate.p.value, B = 2000)
FISHER_SECONDS = 0.5
#: the same budget as the methods state it: expanded states
FISHER_STATES = int(FISHER_SECONDS * STATES_PER_SECOND)
FISHER_B = 2000
#: the exact enumeration is only tried on tables with at most this many degrees of freedom
#: (2×k up to 2×5, 3×3) or at most FISHER_EXACT_N respondents: larger ones (a 3×4 with
#: n = 240, any 5×5 with n >= 60) never finish in FISHER_SECONDS, so the Monte Carlo p-value
#: is used at once (measured: bench notes in the report methods; keeps a build ~5 s)
FISHER_EXACT_DF = 4
FISHER_EXACT_N = 60


def fisher_budget(ct: Any) -> float:
    """Seconds for the exact enumeration of Fisher's test on ``ct``'s table (0 = Monte Carlo
    at once): deterministic screen by size, then the time budget.

    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> three, five = np.full((3, 3), 20), np.full((5, 5), 10)
    >>> fisher_budget(SimpleNamespace(table=three)), fisher_budget(SimpleNamespace(table=five))
    (0.5, 0.0)
    """
    import numpy as np

    tab = np.asarray(ct.table, dtype=float)
    tab = tab[tab.sum(axis=1) > 0][:, tab.sum(axis=0) > 0]
    r, c = tab.shape
    small = (r - 1) * (c - 1) <= FISHER_EXACT_DF or tab.sum() <= FISHER_EXACT_N
    return FISHER_SECONDS if small else 0.0
DATA_TYPES_SKIP = {"note", "calculate", "text", "date", "datetime", "time", "geopoint",
                   "image", "audio", "video", "file", "barcode", "acknowledge", "start", "end",
                   "today", "deviceid", "username", "phonenumber", "begin_group", "end_group"}


# ---------------------------------------------------------------------------------------------
# display helpers

#: a heading (and its introductory sentence) waiting for the table it introduces, so that
#: they print in one block (see show_table); any other output shows them first
_LEAD: list[str] = []
#: a table of at most this many rows (a sixth of a page) is kept on one page with its heading
#: and notes; a longer one may break across pages after its first three rows (the print CSS
#: keeps the heading with the header and those rows, and repeats the header), so it never
#: moves whole to the next page leaving the one before half empty
KEEP_ROWS = 8


def _display(obj: Any) -> None:
    from IPython.display import HTML, display

    if _LEAD:
        lead = "".join(_LEAD)
        _LEAD.clear()
        display(HTML(lead))
    display(obj)


def show_markdown(text: str, *, lead: bool = False) -> None:
    """Markdown text; ``lead=True``: plain text introducing the next table, printed with it."""
    if lead:
        _LEAD.append(f"<p>{html.escape(text)}</p>")
        return
    from IPython.display import Markdown

    _display(Markdown(text))


def show_html(text: str) -> None:
    from IPython.display import HTML

    _display(HTML(text))


def heading(text: str, level: int = 2, *, lead: bool = False) -> None:
    """A Markdown heading whose text is literal (labels and titles are never markup).

    ``lead=True``: the heading introduces the next table and is printed in one block with it,
    so a page break cannot fall between them."""
    if lead:
        _LEAD.append(f"<h{level}>{html.escape(text)}</h{level}>")
        return
    show_markdown("#" * level + " " + md_text(text))


def show_finding(text: str) -> None:
    show_html(f"<p class='sv-finding'>{html.escape(text)}</p>")


def show_table(frame: pd.DataFrame, *, caption: str | None = None, notes: Sequence[str] = (),
               keep: bool = False, klass: str = "") -> None:
    cap = f"<div class='sv-caption'><b>{html.escape(caption)}</b></div>" if caption else ""
    body = frame_to_html(frame)
    # the report states alpha and the correction once, in the methods (the per-table note
    # would speak of the table's own, uncorrected test)
    notes = [n for n in notes if n and not str(n).startswith("Alpha")]
    foot = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    foot = f"<ul class='sv-notes'>{foot}</ul>" if foot else ""
    lead = "".join(_LEAD)
    _LEAD.clear()
    # heading, introduction, table and notes in one block, kept on one page when the table is
    # short; a longer table is never kept whole (moving it would leave half a page blank)
    keep = (keep or bool(lead)) and len(frame) <= KEEP_ROWS
    cls = ("sv-table sv-keep" if keep else "sv-table") + (f" {klass}" if klass else "")
    show_html(f"<div class='{cls}'>{lead}{cap}{body}{foot}</div>")


def show_figure(fig: Any) -> None:
    import matplotlib.pyplot as plt

    _display(fig)
    plt.close(fig)


def log_skip(section: str, detail: str) -> None:
    """Record what the report leaves out, and why, in the analyst log beside the outputs
    (``$SURVEY_ANALYST_LOG``, set by ``render_report``); the reader sees neutral words."""
    import os

    path = os.environ.get("SURVEY_ANALYST_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"- [{section}] {' '.join(str(detail).split())}\n")


def show_problem(why: str, language: str, *, key: str = "not_shown",
                 section: str = "report") -> None:
    """A neutral line for the reader (``key`` in the catalogue); ``why`` goes to the log."""
    log_skip(section, why)
    show_html(f"<p class='sv-muted'>{html.escape(t(key, language))}</p>")


def setup_plotting(language: str = "zh-Hant", seed: int = 20240101) -> None:
    """Determinism recipe + CJK fonts for the report kernel (SVG, fixed ids, no dates)."""
    import random

    import matplotlib as mpl
    import numpy as np
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    random.seed(seed)
    np.random.seed(seed % (2**32))
    lang = fd.normalize_language(language)
    face = {"zh-Hant": "Noto Sans CJK TC", "zh-Hans": "Noto Sans CJK SC"}.get(lang, "Noto Sans CJK SC")
    try:
        from ..charts import set_theme

        set_theme(language=lang)
    except (ImportError, AttributeError, TypeError):
        try:
            import seaborn as sns

            sns.set_theme(style="whitegrid", font=face)
        except ImportError:  # pragma: no cover
            pass
    from matplotlib import font_manager as fm

    if face not in {f.name for f in fm.fontManager.ttflist}:
        import glob

        for p in glob.glob("/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc"):
            fm.fontManager.addfont(p)
    mpl.rcParams.update({
        "svg.hashsalt": "survey",
        "svg.fonttype": "path",
        "axes.unicode_minus": False,
        "figure.dpi": 100,
    })
    fonts = list(mpl.rcParams["font.sans-serif"])
    mpl.rcParams["font.sans-serif"] = [face] + [f for f in fonts if f != face] + ["DejaVu Sans"]
    set_matplotlib_formats("svg", metadata={"Date": None})
    warnings.filterwarnings("ignore", category=UserWarning, module="matplotlib")


# ---------------------------------------------------------------------------------------------
# questionnaire access (tolerant of the exact model shape)

def text_in(value: Any, language: str, default: str = "") -> str:
    """A multilingual text (dict lang -> str, or str) in ``language``."""
    if value is None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in (language, fd.normalize_language(language), "en", "zh-Hant", "zh-Hans"):
            if value.get(key):
                return str(value[key])
        for v in value.values():
            if v:
                return str(v)
        return default
    return str(value)


def _model(q: Any) -> Any:
    for attr in ("model", "spec", "_model"):
        m = getattr(q, attr, None)
        if m is not None and hasattr(m, "items"):
            return m
    return q


def q_title(q: Any, language: str) -> str:
    title = getattr(q, "title", None)
    if callable(title):
        try:
            title = title(language)
        except TypeError:
            title = title()
    return text_in(title if title is not None else getattr(_model(q), "title", None), language,
                   getattr(q, "id", "report"))


def q_fieldwork(q: Any) -> Any:
    fw = getattr(q, "fieldwork", None)
    if callable(fw):
        fw = fw()
    return fw if fw is not None else getattr(_model(q), "fieldwork", None)


def q_questions(q: Any) -> list[Any]:
    qs = getattr(q, "questions", None)
    if callable(qs):
        qs = qs()
    if qs is None:
        from ..questionnaire.model import expand_questions

        qs = expand_questions(_model(q).items)
    return list(qs.values()) if isinstance(qs, Mapping) else list(qs)


def q_groups(q: Any, language: str) -> list[tuple[str, list[str]]]:
    """[(group label, [question or grid names in order])]; ungrouped items form their own
    groups between the groups, in questionnaire order."""
    items = getattr(_model(q), "items", None) or ()
    out: list[tuple[str, list[str]]] = []
    loose: list[str] = []

    def names(item) -> Iterable[str]:
        if hasattr(item, "rows") and hasattr(item, "list_name"):  # grid
            yield "grid:" + item.name
        elif hasattr(item, "items") and not hasattr(item, "type"):  # group
            for sub in item.items:
                yield from names(sub)
        elif hasattr(item, "name"):
            yield item.name

    for item in items:
        if hasattr(item, "items") and not hasattr(item, "type") and not hasattr(item, "rows"):
            if loose:
                out.append(("", loose))
                loose = []
            out.append((text_in(getattr(item, "label", None), language, item.name),
                        list(names(item))))
        else:
            loose.extend(names(item))
    if loose:
        out.append(("", loose))
    if not out:
        out = [("", [qq.name for qq in q_questions(q)])]
    return out


def q_grid(q: Any, name: str) -> Any:
    def walk(items):
        for it in items:
            if hasattr(it, "rows") and getattr(it, "name", None) == name:
                return it
            sub = getattr(it, "items", None)
            if sub and not hasattr(it, "rows") and not isinstance(sub, dict):
                found = walk(sub)
                if found is not None:
                    return found
        return None

    return walk(getattr(_model(q), "items", None) or ())


def q_demographics(q: Any) -> list[str]:
    dem = getattr(q, "demographics", None)
    if callable(dem):
        dem = dem()
    if dem:
        return [d if isinstance(d, str) else d.name for d in dem]
    return [qq.name for qq in q_questions(q) if getattr(qq, "role", None) == "demographic"]


def q_scales(q: Any) -> dict[str, Any]:
    sc = getattr(q, "scales", None)
    if callable(sc):
        sc = sc()
    if sc is None:
        sc = getattr(_model(q), "scales", None)
    return dict(sc or {})


# ---------------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return fd.fmt_pct(x)


def _fmt_conf(conf: float) -> str:
    """``95`` from 0.95 (or 95)."""
    c = float(conf) * (100 if float(conf) <= 1 else 1)
    return f"{c:g}"


def suppress_counts(frame: pd.DataFrame, unweighted: Any, k: int,
                    *, tally: dict | None = None) -> pd.DataFrame:
    """The cells of ``frame`` as text, with disclosure control decided on ``unweighted``
    (the number of respondents behind each cell, same shape): a cell of fewer than ``k``
    respondents shows ``"<k"`` (count and percentage alike); a cell hidden so that such a
    cell cannot be recovered from its column total shows ``"x"``. ``tally`` (a dict) counts
    the hidden cells under ``"primary"`` and ``"secondary"``.

    >>> n = pd.DataFrame({"a": [3, 10, 40]}); p = pd.DataFrame({"a": [5.7, 18.9, 75.5]})
    >>> suppress_counts(p, n, 5)["a"].tolist()
    ['<5', 'x', '75.5%']
    >>> suppress_counts(n, n, 5)["a"].tolist()
    ['<5', 'x', '40']
    """
    out = frame.copy().astype(object)
    primary, secondary = disclosure_mask(
        unweighted.to_numpy() if isinstance(unweighted, pd.DataFrame) else unweighted, k)
    same = frame is unweighted or (isinstance(unweighted, pd.DataFrame)
                                   and frame.equals(unweighted))
    for j, col in enumerate(out.columns):
        vals = []
        for i, v in enumerate(out[col].tolist()):
            if primary[i, j]:
                vals.append(f"<{k}")
            elif secondary[i, j]:
                vals.append("x")
            elif same:
                vals.append(f"{float(v):,.0f}")
            else:
                vals.append(_pct(float(v)))
        out[col] = vals
    if tally is not None:
        tally["primary"] = tally.get("primary", 0) + int(primary.sum())
        tally["secondary"] = tally.get("secondary", 0) + int(secondary.sum())
    return out


class Report:
    """Everything a report notebook needs, built once from the notebook's parameters."""

    def __init__(
        self,
        *,
        questionnaire: str,
        responses: str,
        language: str = "zh-Hant",
        title: str = "",
        organization: str = "",
        banner: Sequence[str] | None = None,
        weighting: str | Mapping | None = "none",
        alpha: float = 0.05,
        correction: str = "holm",
        suppress_below: int = 5,
        seed: int = 20240101,
        manifest: Mapping | None = None,
    ) -> None:
        import survey as sv

        self.sv = sv
        self.language = fd.normalize_language(language)
        setup_plotting(self.language, seed)
        self.q = sv.load_questionnaire(questionnaire)
        self.survey = sv.read_responses(responses, self.q)
        self.raw_survey = self.survey
        self.title = title or q_title(self.q, self.language)
        self.organization = organization
        self.alpha = float(alpha)
        self.correction = correction or "none"
        self.k = int(suppress_below)
        self.disclosure: dict[str, int] = {}  # hidden cells: primary, secondary
        self.seed = seed
        self.manifest = dict(manifest or {})
        self.weighting_text = t("no_weighting", self.language)
        self.weighting = weighting
        if weighting and weighting != "none":
            self.apply_weighting(weighting)
        dem = q_demographics(self.q)
        self.banner = [b for b in (banner or dem) if b in self.survey.data.columns
                       or self._var(b) is not None]
        self.tests: pd.DataFrame | None = None
        self._crosstabs: dict[tuple[str, str], Any] = {}
        self._shown: set[tuple[str, str]] = set()  # (var, by) cross-tabs shown in full

    # -- helpers -------------------------------------------------------------------------
    def _var(self, name: str) -> Any:
        try:
            return self.survey.var_info(name, language=self.language)
        except (SurveyError, KeyError, AttributeError):
            return None

    def label(self, name: str) -> str:
        vi = self._var(name)
        return (getattr(vi, "label", None) or name) if vi is not None else name

    def short_label(self, name: str) -> str:
        """Variable label (``var_label``) when the template has one, else the question text."""
        for qq in q_questions(self.q):
            if qq.name == name:
                vl = text_in(getattr(qq, "var_label", None), self.language)
                if vl:
                    return vl
        label = self.label(name)
        for prefix in ("您的", "你的", "Your ", "your "):
            if label.startswith(prefix) and len(label) > len(prefix) + 1:
                return label[len(prefix):].rstrip("？?：:")
        return label.rstrip("：:")

    def apply_weighting(self, weighting: str | Mapping) -> None:
        sv = self.sv
        if isinstance(weighting, Mapping):
            targets, source = dict(weighting), t("targets_in_parameters", self.language)
        else:
            targets = sv.load_targets(weighting)
            source = Path(str(weighting)).name
        self.survey = sv.rake(self.survey, targets=targets)
        names = "、".join(self.short_label(v) for v in targets) if self.language != "en" else \
            ", ".join(self.short_label(v) for v in targets)
        self.weighting_text = t("raked", self.language, vars=names, file=source)

    # -- sections ------------------------------------------------------------------------
    def cover(self) -> None:
        lang = self.language
        show_html("<div class='sv-cover'></div>")
        heading(self.title, 1)
        fw = q_fieldwork(self.q)
        lines = []
        if self.organization:
            org = md_text(self.organization)
            lines.append(f"**{t('organization', lang)}**：{org}" if lang != "en"
                         else f"**{t('organization', lang)}:** {org}")
        period = getattr(fw, "period", None) if fw is not None else None
        if period is not None and (period.start or period.end):
            span = md_text(f"{period.start or ''} – {period.end or ''}")
            lines.append(f"**{t('period', lang)}**：{span}" if lang != "en"
                         else f"**{t('period', lang)}:** {span}")
        mode = None
        if fw is not None:
            mode = text_in(getattr(fw, "instrument", None), lang) or getattr(fw, "mode", None)
        if mode:
            mode = md_text(mode)
            lines.append(f"**{t('mode', lang)}**：{mode}" if lang != "en"
                         else f"**{t('mode', lang)}:** {mode}")
        if lines:
            show_markdown("  \n".join(lines))
        self.fieldwork_section()

    def fieldwork_section(self) -> None:
        lang = self.language
        v = self.survey.validation
        read = getattr(v, "rows_read", len(self.survey.data))
        acc = getattr(v, "rows_accepted", len(self.survey.data))
        rej = getattr(v, "rows_rejected", 0)
        rr = None
        try:
            rr = self.sv.response_rates(self.q, self.raw_survey, language=lang)
        except TypeError:
            rr = self.sv.response_rates(self.q)
        except SurveyError as exc:
            show_problem(str(exc), lang, key="rates_not_recorded", section="fieldwork")
        if rr is not None:
            frame = rr.to_frame() if hasattr(rr, "to_frame") else pd.DataFrame(rr)
            tot = frame[frame.get("unit", pd.Series(dtype=str)).astype(str) == "total"]
            row = tot.iloc[0] if len(tot) else frame.sum(numeric_only=True)
            issued, returned = row.get("issued"), row.get("returned")
            valid = row.get("valid")
            if valid is None or pd.isna(valid):
                valid = acc
            if issued and returned is not None and not pd.isna(issued):
                show_markdown(t(
                    "cover_summary", lang, issued=f"{int(issued):,}", returned=f"{int(returned):,}",
                    valid=f"{int(valid):,}", rr=_pct(100 * returned / issued),
                    vr=_pct(100 * valid / returned if returned else float("nan")),
                ))
                if int(returned) > int(valid):
                    show_markdown(t("cover_not_valid", lang, d=f"{int(returned) - int(valid):,}",
                                    valid=f"{int(valid):,}"))
            show_table(self._rates_table(frame), caption=t("response_rates_title", lang),
                       keep=True)
            try:
                from ..charts import response_rate_chart

                show_figure(response_rate_chart(frame, language=lang))
            except SurveyError as exc:
                show_problem(str(exc), lang, key="chart_not_shown", section="fieldwork")
        why = self._rejected_why()
        show_markdown(t("cover_rows_why" if why else "cover_rows", lang, read=read, accepted=acc,
                        rejected=rej, why=why))
        show_html("<div class='sv-page-break'></div>")

    def _rejected_why(self) -> str:
        """Why rows of the data file were not accepted (rule and count), so that the rows read,
        the questionnaires returned and the valid ones can be reconciled on the cover."""
        rejected = getattr(self.raw_survey, "rejected", None)
        if rejected is None or not len(rejected) or "rule" not in rejected.columns:
            return ""
        from .texts import rule_name

        counts = rejected["rule"].astype(str).value_counts(sort=False)
        return t("cover_rows_sep", self.language).join(
            t("cover_rows_item", self.language, rule=rule_name(r, self.language), n=int(n))
            for r, n in counts.items())

    def _rates_table(self, frame: pd.DataFrame) -> pd.DataFrame:
        lang = self.language
        cols = {"unit": t("unit", lang), "issued": t("issued", lang),
                "returned": t("returned", lang), "valid": t("valid", lang)}
        keep = [c for c in ("unit", "issued", "returned", "valid") if c in frame.columns]
        out = frame[keep].copy()
        if "label" in frame.columns:
            out["unit"] = frame["label"].where(frame["label"].notna(), frame.get("unit"))
        if "unit" in out:
            out["unit"] = out["unit"].astype(str).replace({"total": t("total", lang)})
        for c in ("issued", "returned", "valid"):
            if c in out:
                out[c] = [("" if pd.isna(x) else f"{int(x):,}") for x in out[c]]
        for src, key in (("response_rate", "response_rate"), ("valid_rate", "valid_rate")):
            if src in frame.columns:
                vals = pd.to_numeric(frame[src], errors="coerce")
                factor = 100.0 if vals.max() <= 1.0 else 1.0
                out[t(key, lang)] = [("" if pd.isna(x) else _pct(x * factor)) for x in vals]
        out = out.rename(columns=cols).set_index(t("unit", lang)) if "unit" in out else out
        return out

    def methods(self) -> None:
        lang = self.language
        heading(t("methods", lang))
        fw = q_fieldwork(self.q)
        mode = ((text_in(getattr(fw, "instrument", None), lang) or getattr(fw, "mode", None))
                if fw is not None else None) or t("unknown", lang)
        m = 0 if self.tests is None else int(self.tests["p_value"].notna().sum())
        nf = 0 if self.tests is None else int((self.tests["test"] == "fisher").sum())
        tests = t("tests_weighted", lang) if self.survey.has_design else t(
            "tests_unweighted", lang, states=f"{FISHER_STATES:,}", df=FISHER_EXACT_DF,
            nmax=FISHER_EXACT_N, b=FISHER_B, seed=self.seed, nf=nf)
        corr = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "—"}.get(
            self.correction.lower(), self.correction)
        show_markdown(t(
            "methods_text", lang, mode=md_text(mode), sample=t("sample_default", lang),
            weighting=md_text(self.weighting_text), conf=95, ci_method=t("ci_method", lang), tests=tests,
            alpha=self.alpha, m=m, correction=corr, k=self.k,
        ))

    def data_quality(self) -> None:
        lang = self.language
        heading(t("quality", lang), lead=True)
        v = self.survey.validation
        n = len(v) if v is not None else 0
        if not n:
            show_markdown(t("quality_none", lang))
            return
        show_markdown(t("quality_text", lang, n=n, e=v.n_errors, w=v.n_warnings), lead=True)
        summ = v.summary(by="rule")
        checks = getattr(_model(self.q), "checks", None) or ()
        summ = summ.assign(key=[rule_name(str(k), lang, checks) for k in summ["key"]])
        tab = summ[["key", "problems", "errors", "warnings", "rows"]].rename(columns={
            "key": t("rule", lang), "problems": t("problems", lang), "rows": t("rows", lang),
            "errors": t("errors", lang), "warnings": t("warnings", lang)})
        show_table(tab.set_index(t("rule", lang)))
        byq = v.summary(by="question").head(15)
        byq = byq.assign(key=[self._question_key_label(k) for k in byq["key"]])
        tab = byq[["key", "problems", "rows"]].rename(columns={
            "key": t("question", lang), "problems": t("problems", lang), "rows": t("rows", lang)})
        show_table(tab.set_index(t("question", lang)))

    def _question_key_label(self, key: str) -> str:
        """A validation ``question`` key in the report language: question, grid (its label)
        or several questions joined by commas (a template check)."""
        if not key:
            return "—"
        sep = "、" if self.language != "en" else ", "
        out = []
        for name in str(key).split(","):
            grid = q_grid(self.q, name.strip())
            out.append(text_in(getattr(grid, "label", None), self.language, name)
                       if grid is not None else self.short_label(name.strip()))
        return sep.join(out)

    # -- analyses --------------------------------------------------------------------------
    def outcome_questions(self) -> list[str]:
        """Single-choice questions (incl. grid rows) that are analysed by the banner."""
        out = []
        for qq in q_questions(self.q):
            if getattr(qq, "role", None) in SKIP_ROLES or qq.name in self.banner:
                continue
            vi = self._var(qq.name)
            if vi is not None and getattr(vi, "kind", None) in ("single", "categorical", "ordinal"):
                out.append(qq.name)
        return out

    def plan_tests(self) -> pd.DataFrame:
        """Cross-tabulate every outcome by every banner variable; adjust all p-values at once."""
        rows = []
        for var in self.outcome_questions():
            for by in self.banner:
                try:
                    # Rao-Scott when weighted; else Pearson, or Fisher's exact test when an
                    # expected count is below 5 (fd.pick_test): exact within fisher_budget(),
                    # else R's seeded Monte Carlo p-value with FISHER_B tables
                    ct = self.sv.crosstab(self.survey, var, by=by, language=self.language,
                                          fisher=False)
                    if not self.survey.has_design and fd.small_expected(ct)[0] > 0:
                        ct = self.sv.crosstab(
                            self.survey, var, by=by, language=self.language, fisher=True,
                            fisher_seconds=fisher_budget(ct), simulate_b=FISHER_B,
                            seed=self.seed)
                    name, test = fd.pick_test(ct)
                except (SurveyError, ValueError) as exc:
                    rows.append({"var": var, "by": by, "test": "", "p_value": math.nan,
                             "fisher_b": 0, "small_expected": 0, "error": str(exc)})
                    continue
                self._crosstabs[(var, by)] = ct
                eff = fd._effect(ct)
                small, cells, e_min = fd.small_expected(ct)
                rows.append({"var": var, "by": by, "test": name,
                             "fisher_b": (ct.fisher_b or 0) if name == "fisher" else 0,
                             "small_expected": small if name == "fisher" else 0,
                             "statistic": float(test["statistic"]),
                             "df": float(test.get("df", math.nan)),
                             "df_denom": float(test.get("df_denom", math.nan)),
                             "p_value": float(test["p_value"]),
                             "cramers_v": math.nan if eff is None else eff, "error": ""})
        tests = pd.DataFrame(rows, columns=["var", "by", "test", "fisher_b", "small_expected",
                                            "statistic", "df", "df_denom", "p_value",
                                            "cramers_v", "error"])
        if len(tests):
            tests["p_adjusted"] = self.sv.adjust_pvalues(
                tests["p_value"].to_numpy(dtype=float),
                method=self.correction if self.correction.lower() != "none" else "none",
            )
        else:
            tests["p_adjusted"] = []
        self.tests = tests
        return tests

    def question(self, name: str) -> None:
        """Frequencies (single), multiple response (multi) or a Likert battery (grid:...)."""
        if name.startswith("grid:"):
            return self.battery(name[5:])
        qq = next((x for x in q_questions(self.q) if x.name == name), None)
        if qq is None or getattr(qq, "role", None) in SKIP_ROLES:
            return None
        if str(getattr(qq, "type", "")).split(" ")[0] in DATA_TYPES_SKIP:
            return None
        vi = self._var(name)
        kind = getattr(vi, "kind", None)
        try:
            if kind == "multi":
                return self.multiple(name)
            if kind in ("single", "categorical", "ordinal"):
                return self.single(name)
            if kind in ("numeric", "scale", "integer", "decimal"):
                return self.numeric(name)
        except SurveyError as exc:
            heading(self.label(name), 4)
            show_problem(str(exc), self.language)
        return None

    def single(self, name: str, *, findings: bool = True) -> None:
        lang = self.language
        sv = self.sv
        heading(self.label(name), 4, lead=True)
        fr = sv.frequencies(self.survey, name, language=lang)
        frame = fr.to_frame()
        show_table(self._freq_table(frame), notes=self.freq_notes(fr), keep=True)
        # the sentence under the table whose numbers it quotes, then the chart: a chart that
        # does not fit moves to the next page whole, a sentence after it would go with it
        if findings:
            col, factor = fd._pct_column(frame)
            top = frame[col].astype(float).idxmax()
            if "category" in frame.columns:
                top = frame.loc[top, "category"]
            show_finding(fd.describe_proportion(fr, top, lang,
                                                weighted=self.survey.is_weighted))
        try:
            from ..charts import bar_chart

            show_figure(bar_chart(self.survey, name, language=lang))
        except SurveyError as exc:
            show_problem(f"chart: {exc}", lang, key="chart_not_shown")
        if findings:
            self._crosstab_findings(name)

    # -- per-table footnotes, in the report language, from the facts each result carries ----
    # (the analysis results' own `notes` are English and name R functions: not for readers)
    def _n(self, x: float) -> str:
        x = float(x)
        return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.1f}"

    def weight_note(self) -> str:
        lang = self.language
        if not self.survey.is_weighted:
            return t("note_unweighted", lang)
        raked = self.weighting not in (None, "none") or getattr(
            getattr(self.survey, "weighting", None), "method", None) is not None
        how = t("raking_short", lang) if raked else str(self.survey.weight)
        return t("note_weighted", lang, how=how)

    def _hidden(self, counts: pd.Series) -> list[str | None]:
        """What replaces each cell of a one-column table of respondent counts ("<k", "x") or
        None; the hidden cells are counted for the appendix."""
        primary, secondary = disclosure_mask(counts.fillna(0).to_numpy(), self.k)
        for key, mask in (("primary", primary), ("secondary", secondary)):
            self.disclosure[key] = self.disclosure.get(key, 0) + int(mask.sum())
        return [f"<{self.k}" if p else "x" if s else None
                for p, s in zip(primary[:, 0], secondary[:, 0])]

    def _suppressed(self, counts: Iterable[float]) -> list[str]:
        c = pd.to_numeric(pd.Series(list(counts), dtype=object), errors="coerce")
        return [t("note_suppressed", self.language, k=self.k)] if ((c > 0) & (c < self.k)).any() \
            else []

    def freq_notes(self, fr: Any) -> list[str]:
        """Base (valid of all, weighted), CI method, suppression, weighting."""
        lang = self.language
        frame = fr.to_frame()
        valid = getattr(fr, "n_valid", None)
        total = getattr(fr, "n_total", None)
        counts = pd.to_numeric(frame.get("n", pd.Series(dtype=float)), errors="coerce")
        valid = float(counts.sum()) if valid is None else float(valid)
        total = valid if total is None else float(total)
        w = ""
        if self.survey.is_weighted and "n_weighted" in frame.columns:
            w = t("note_weighted_n", lang, wn=self._n(frame["n_weighted"].astype(float).sum()))
        missing = t("note_missing", lang, m=self._n(total - valid)) if total > valid else ""
        conf = _fmt_conf(getattr(fr, "confidence", 0.95))
        ci = t("note_ci_wilson" if getattr(fr, "ci_method", "wilson") == "wilson"
               else "note_ci_design", lang, conf=conf)
        return [t("note_base_freq", lang, valid=self._n(valid), total=self._n(total), w=w,
                  missing=missing), ci, *self._suppressed(counts), self.weight_note()]

    def multi_notes(self, mr: Any, counts: Any = None) -> list[str]:
        lang = self.language
        n = getattr(mr, "n_base", None)
        w = ""
        wn = getattr(mr, "n_base_weighted", None)
        if self.survey.is_weighted and wn is not None:
            w = t("note_weighted_n", lang, wn=self._n(wn))
        base = t("base_returned" if getattr(mr, "base", "") == "returned" else "base_answered",
                 lang)
        out = []
        if n is not None:
            out.append(t("note_base_multi", lang, n=self._n(n), w=w, base=base,
                         resp=self._n(getattr(mr, "n_responses", 0) or 0)))
        if counts is not None:
            out += self._suppressed(counts)
        return out + [self.weight_note()]

    def mean_notes(self, frame: pd.DataFrame) -> list[str]:
        lang = self.language
        n = float(pd.to_numeric(frame.get("n", pd.Series([len(self.survey.data)]))).iloc[0])
        total = float(len(self.survey.data))
        missing = t("note_missing", lang, m=self._n(total - n)) if total > n else ""
        return [t("note_base_mean", lang, n=self._n(n), missing=missing),
                t("note_ci_mean", lang, conf=_fmt_conf(0.95)), self.weight_note()]

    def likert_notes(self, lk: Any, items: Sequence[str]) -> list[str]:
        lang = self.language
        k = None
        if items:
            vi = self._var(items[0])
            k = len(getattr(vi, "categories", ()) or ()) or None
        scores = getattr(lk, "scores", None)
        n = len(scores) if scores is not None else len(self.survey.data)
        out = [t("note_likert", lang, k=k)] if k else []
        return out + [t("note_base_likert", lang, n=self._n(n)), self.weight_note()]

    def crosstab_notes(self, ct: Any, row: Any = None) -> list[str]:
        """Base (and weighted n), the quoted test with its adjusted p, why Fisher's test,
        suppression, weighting."""
        lang = self.language
        import numpy as np

        n = float(np.asarray(ct.unweighted, dtype=float).sum())
        w = ""
        if getattr(ct, "weighted", False):
            w = t("note_weighted_n", lang, wn=self._n(float(np.asarray(ct.table).sum())))
        out = [t("note_base_ct", lang, n=self._n(n), w=w)]
        try:
            name, test = fd.pick_test(ct)
        except SurveyError:
            name = None
        if name is not None:
            p = None if row is None else float(row["p_adjusted"])
            corr = self.correction.lower() != "none" and p is not None
            adj = t("note_adjusted", lang, correction=fd._METHOD_NAMES.get(
                self.correction.lower(), self.correction)) if corr else ""
            stats = fd.format_test(name, test, lang, p_value=p,
                                   simulated=getattr(ct, "fisher_b", None)
                                   if name == "fisher" else None)
            out.append(t("note_test", lang, test=stats, adj=adj))
            if name == "fisher":
                small, cells, e_min = fd.small_expected(ct)
                out.append(t("note_small_expected", lang, small=small, cells=cells,
                             min=f"{e_min:.2f}"))
        out += self._suppressed(np.asarray(ct.unweighted).ravel())
        return out + [self.weight_note()]

    def _freq_table(self, frame: pd.DataFrame) -> pd.DataFrame:
        lang = self.language
        f = frame.copy()
        if "category" in f.columns:
            f = f.set_index("category")
        col, factor = fd._pct_column(f)
        counts = pd.to_numeric(f.get("n", pd.Series(index=f.index, dtype=float)), errors="coerce")
        out = pd.DataFrame(index=pd.Index([str(i) for i in f.index], name=t("category", lang)))
        hide = self._hidden(counts)
        out[t("n", lang)] = [h or (f"{int(c):,}" if not pd.isna(c) else "")
                             for c, h in zip(counts, hide)]
        if "n_weighted" in f.columns and self.survey.is_weighted:
            out[t("n_weighted", lang)] = [h or f"{float(x):,.1f}"
                                          for x, h in zip(f["n_weighted"], hide)]
        out[t("pct", lang)] = [h or _pct(float(v) * factor) for v, h in zip(f[col], hide)]
        if "ci_low" in f.columns and "ci_high" in f.columns:
            cf = factor if factor != 1 else (100.0 if f["ci_high"].max() <= 1 else 1.0)
            out[t("ci", lang)] = [
                h or ("–" if pd.isna(lo) else f"{float(lo) * cf:.1f}–{float(hi) * cf:.1f}")
                for lo, hi, h in zip(f["ci_low"], f["ci_high"], hide)
            ]
        return out

    def multiple(self, name: str) -> None:
        lang = self.language
        heading(self.label(name), 4, lead=True)
        mr = self.sv.multi_response(self.survey, name, language=lang)
        frame = mr.to_frame()
        f = frame.set_index("category") if "category" in frame.columns else frame
        out = pd.DataFrame(index=pd.Index([str(i) for i in f.index], name=t("category", lang)))
        counts = pd.to_numeric(f["n"], errors="coerce") if "n" in f else None
        hide = [None] * len(f)
        if counts is not None:  # the ticks add up to the stated number of responses
            hide = self._hidden(counts)
            out[t("n", lang)] = [h or f"{int(c):,}" for c, h in zip(counts.fillna(0), hide)]
        # MultiResponse.to_frame(): pct = % of the stated base (respondents or returned forms),
        # pct_responses = % of all ticks; both already in percent (0-100)
        for col, key in (("pct", "pct_respondents"), ("pct_responses", "pct_responses")):
            vals = pd.to_numeric(f[col], errors="coerce")
            out[t(key, lang)] = [h or _pct(v) for v, h in zip(vals, hide)]
        show_table(out, notes=self.multi_notes(mr, counts), keep=True)
        show_finding(fd.describe_multi_response(mr, lang, weighted=self.survey.is_weighted))
        try:
            from ..charts import multi_response_chart

            show_figure(multi_response_chart(self.survey, name, language=lang))
        except SurveyError as exc:
            show_problem(f"chart: {exc}", lang, key="chart_not_shown")

    def numeric(self, name: str) -> None:
        lang = self.language
        heading(self.label(name), 4, lead=True)
        est = self.sv.mean(self.survey, name)
        frame = est.to_frame()
        cols = [c for c in ("estimate", "se", "ci_low", "ci_high") if c in frame.columns]
        heads = {"estimate": {"zh-Hant": "平均數", "zh-Hans": "平均数", "en": "Mean"}[lang],
                 "se": {"zh-Hant": "標準誤", "zh-Hans": "标准误", "en": "SE"}[lang],
                 "ci_low": t("ci", lang) + " ↓", "ci_high": t("ci", lang) + " ↑"}
        out = pd.DataFrame({heads[c]: [f"{float(v):.2f}" for v in frame[c]] for c in cols},
                           index=pd.Index([self.short_label(name)] * len(frame),
                                          name=t("question", lang)))
        show_table(out, notes=self.mean_notes(frame), keep=True)

    def battery(self, grid_name: str, *, crosstabs: bool = True) -> None:
        lang = self.language
        sv = self.sv
        grid = q_grid(self.q, grid_name)
        items = [r.name for r in grid.rows] if grid is not None else []
        items = [i for i in items if i in self.survey.data.columns] or [
            qq.name for qq in q_questions(self.q) if getattr(qq, "grid", None) == grid_name]
        heading(text_in(getattr(grid, "label", None), lang, grid_name), 4, lead=True)
        lk = sv.likert(self.survey, items=items, language=lang)
        show_table(self._likert_table(lk), notes=self.likert_notes(lk, items), keep=True)
        top_box = self._top_box(lk)
        if top_box is not None:
            show_finding(fd.describe_top_box(*top_box, lang))
        try:
            from ..charts import likert_chart

            show_figure(likert_chart(self.survey, items, language=lang))
        except SurveyError as exc:
            show_problem(f"chart: {exc}", lang, key="chart_not_shown")
        for sname, scale in q_scales(self.q).items():
            s_items = list(getattr(scale, "items", ()) or ())
            if set(s_items) & set(items):
                rel = sv.reliability(self.survey, items=s_items,
                                     reverse=list(getattr(scale, "reverse", ()) or ()))
                heading(f"{t('reliability', lang)}：{text_in(getattr(scale, 'label', None), lang, sname)}"
                        if lang != "en" else
                        f"{t('reliability', lang)}: {text_in(getattr(scale, 'label', None), lang, sname)}",
                        5)
                show_finding(fd.describe_reliability(rel, lang))
        if crosstabs:
            for item in items:
                self._crosstab_findings(item)

    def _top_box(self, lk: Any) -> tuple[pd.Series, list[str]] | None:
        """(top-2 share per item, by its short label; the labels of the top 2 categories of
        the scale), or None when the items do not share one labelled scale."""
        frame = lk.to_frame()
        cats = list(getattr(lk, "distribution", pd.DataFrame()).columns)
        # numbered columns: the items have no shared labelled scale to name the answers by
        if "top2" not in frame.columns or len(frame) < 2 or len(cats) < 3 or not all(
                isinstance(c, str) for c in cats):
            return None
        shares = pd.Series(pd.to_numeric(frame["top2"], errors="coerce").to_numpy(),
                           index=[self.short_label(str(v)) for v in frame["var"]])
        return shares, [str(c) for c in cats[-2:]]

    def _likert_table(self, lk: Any) -> pd.DataFrame:
        """Item labels as rows, percentages with one decimal, n, mean, sd, top/bottom 2."""
        frame = lk._display_frame() if hasattr(lk, "_display_frame") else lk.to_frame()
        frame = frame.copy()
        labels = {str(i): self.short_label(str(i)) for i in frame.index}
        frame.index = pd.Index([labels[str(i)] for i in frame.index], name=t("question", self.language))
        out = pd.DataFrame(index=frame.index)
        for col in frame.columns:
            vals = pd.to_numeric(frame[col], errors="coerce")
            if col == "n":
                out[t("n", self.language)] = [f"{int(v):,}" if not pd.isna(v) else "" for v in vals]
            elif col in ("mean", "sd"):
                out[t(col, self.language)] = [f"{v:.2f}" if not pd.isna(v) else "" for v in vals]
            else:
                name = t(col, self.language) if col in ("top2", "bottom2") else col
                out[name] = [f"{v:.1f}" if not pd.isna(v) else "" for v in vals]
        return out

    def _crosstab_findings(self, var: str) -> None:
        if self.tests is None or not len(self.tests):
            return
        rows = self.tests[(self.tests["var"] == var) & (self.tests["error"] == "")]
        for _, row in rows.iterrows():
            if row["p_adjusted"] < self.alpha:
                ct = self._crosstabs[(var, row["by"])]
                show_finding(self._ct_sentence(ct, var, row))

    def _ct_sentence(self, ct: Any, var: str, row: pd.Series) -> str:
        cat = None
        try:
            fr = ct.percent("column")
            cat = fr.index[0]
        except (AttributeError, SurveyError, IndexError):
            pass
        return fd.describe_crosstab(
            ct, self.language, by_label=self.short_label(row["by"]), category=cat,
            alpha=self.alpha, p_value=float(row["p_adjusted"]),
            correction=None if self.correction.lower() == "none" else self.correction,
        )

    def groups(self) -> None:
        lang = self.language
        heading(t("results", lang))
        for label, names in q_groups(self.q, lang):
            roles = {qq.name: getattr(qq, "role", None) for qq in q_questions(self.q)}
            shown = [n for n in names if n.startswith("grid:") or (
                self._var(n) is not None and roles.get(n) not in SKIP_ROLES
                and str(getattr(self._var(n), "kind", "")) not in ("text", "other", "note"))]
            if not shown:
                continue
            heading(label or t("other_questions", lang), 3)
            for n in shown:
                if n in self.banner:
                    try:
                        self.single(n, findings=False)
                    except SurveyError as exc:
                        show_problem(str(exc), lang)
                else:
                    self.question(n)

    def crosstab_section(self) -> None:
        lang = self.language
        heading(t("crosstabs", lang), lead=True)
        if self.tests is None:
            self.plan_tests()
        tests = self.tests
        corr = {"holm": "Holm", "bh": "Benjamini–Hochberg"}.get(self.correction.lower(),
                                                                 self.correction)
        sep = "、" if lang != "en" else ", "
        show_markdown(t("crosstabs_text", lang,
                        vars=sep.join(self.short_label(b) for b in self.banner),
                        correction=corr), lead=True)
        if not len(tests):
            return
        tab = pd.DataFrame({
            t("question", lang): [self.short_label(v) for v in tests["var"]],
            t("by", lang): [self.short_label(b) for b in tests["by"]],
            t("test", lang): [self._test_cell(r) for r in tests.itertuples()],
            t("p_raw", lang): [fd.fmt_p(p, lang).replace("p", "", 1).strip(" =") for p in tests["p_value"]],
            t("p_adj", lang): [fd.fmt_p(p, lang).replace("p", "", 1).strip(" =") for p in tests["p_adjusted"]],
            t("effect", lang): ["" if pd.isna(v) else f"{v:.2f}" for v in tests["cramers_v"]],
        })
        show_table(tab.set_index(t("question", lang)))
        sig = tests[tests["p_adjusted"] < self.alpha]
        if not len(sig):
            show_markdown(t("no_sig", lang))
            return
        for _, row in sig.iterrows():
            if (row["var"], row["by"]) in self._shown:
                continue  # shown in full (table, chart, sentence) earlier in the report
            ct = self._crosstabs[(row["var"], row["by"])]
            heading(f"{self.short_label(row['var'])} × {self.short_label(row['by'])}", 4,
                    lead=True)
            pct = ct.percent("column")
            factor = 100.0 if pct.max().max() <= 1.0 else 1.0
            show_table(suppress_counts(pct * factor, ct.unweighted, self.k, tally=self.disclosure),
                       notes=self.crosstab_notes(ct, row), keep=True)
            show_finding(self._ct_sentence(ct, row["var"], row))
            self.crosstab_figure(row["var"], row["by"])

    def _test_cell(self, r: Any) -> str:
        """The test column of the tests table: statistic and df, or Fisher's test by name."""
        if not r.test:
            log_skip("tests", f"{r.var} × {r.by}: {r.error}")
            return "—"
        if r.test == "fisher":
            return fd.quoted_test_name("fisher", self.language, simulated=int(r.fisher_b) or None)
        text = fd.format_test(r.test, r._asdict(), self.language)
        return text.rsplit("，" if self.language != "en" else ", ", 1)[0]

    def crosstab_figure(self, var: str, by: str) -> None:
        """100% stacked bars of ``var`` within each group of ``by`` (one bar per group: a
        grouped chart of a 5-point item by five groups would take a page)."""
        try:
            from ..charts import crosstab_chart

            show_figure(crosstab_chart(self.survey, var, by=by, kind="stacked",
                                       language=self.language, suppress_below=self.k))
        except SurveyError as exc:
            show_problem(f"chart: {exc}", self.language, key="chart_not_shown")

    def appendix(self) -> None:
        lang = self.language
        show_html("<div class='sv-page-break'></div>")
        heading(t("appendix", lang))
        if self.disclosure.get("primary"):
            show_markdown(t("disclosure_counts", lang, k=self.k, p=self.disclosure["primary"],
                            s=self.disclosure.get("secondary", 0)))
        heading(t("codebook", lang), 3)
        try:
            cb = self.sv.codebook(self.q, language=lang)
        except ImportError:  # codebook not available: list the variables ourselves
            cb = None
        if cb is not None:
            show_table(self._codebook_table(cb.to_frame()), klass="sv-codebook")
        else:
            rows = []
            for qq in q_questions(self.q):
                vi = self._var(qq.name)
                if vi is None:
                    continue
                cats = "; ".join(f"{c}={lab}" for c, lab in zip(vi.codes, vi.categories))
                rows.append({t("question", lang): qq.name, "label": vi.label,
                             "kind": vi.kind, t("category", lang): cats})
            show_table(pd.DataFrame(rows).set_index(t("question", lang)))
        self.show_manifest()

    def _codebook_table(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The codebook's columns that a reader needs, headed in the report language."""
        lang = self.language
        label = f"label_{lang}" if f"label_{lang}" in frame.columns else next(
            (c for c in frame.columns if str(c).startswith("label")), None)
        heads = {label: t("cb_label", lang), "type": t("cb_type", lang),
                 "values": t("cb_values", lang), "skip_logic": t("cb_skip", lang)}
        keep = [c for c in heads if c is not None and c in frame.columns]
        out = frame[keep].rename(columns=heads)
        out.index = pd.Index([str(i) for i in frame.index], name=t("cb_variable", lang))
        return out.fillna("")

    def show_manifest(self) -> None:
        lang = self.language
        heading(t("manifest", lang), 3)
        show_markdown(t("manifest_text", lang))
        text = json.dumps(self.manifest, ensure_ascii=False, indent=1, sort_keys=True)
        show_html(f"<pre class='sv-manifest'>{html.escape(text)}</pre>")
