"""The chart functions. Each returns a matplotlib ``Figure`` built with the object-oriented
API (no pyplot state: nothing leaks, nothing is shown); matplotlib is imported inside the
functions only. Numbers are computed here from integer codes (``numpy.bincount``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..analysis._common import template_report_base
from ..core.survey import Survey, as_survey, category_codes
from ..errors import AnalysisError
from ._theme import (
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    _ensure_cjk_fonts,
    _ensure_deterministic,
    colorblind,
    theme_rc,
    wrap_text,
)

_CI_NAMES = {"wilson": "Wilson", "logit": "logit", "clopper-pearson": "Clopper-Pearson",
             "agresti-coull": "Agresti-Coull"}


def _words(language: str | None) -> dict[str, str]:
    from ..i18n import words

    return words("chart", language, strict=False)


def _lang(s: Survey, language: str | None) -> str | None:
    if language:
        return language
    if s.language:
        return s.language
    q = s.questionnaire
    return getattr(q, "default_language", None) if q is not None else None


def _new_figure(language, height: float, width: float = 8.0):
    """A Figure (no pyplot) created under the house theme for ``language``."""
    import matplotlib as mpl

    from ._figure import SurveyFigure

    _ensure_cjk_fonts()
    _ensure_deterministic()
    with mpl.rc_context(theme_rc(language)):
        fig = SurveyFigure(figsize=(width, height), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def _themed(language):
    import matplotlib as mpl

    return mpl.rc_context(theme_rc(language))


def _titles(fig, ax, title: str, subtitle: str | None, width: int = 60) -> None:
    fig.suptitle(wrap_text(title, width), x=0.01, ha="left", fontsize=13, fontweight="bold")
    if subtitle:
        ax.set_title(wrap_text(subtitle, width + 20), loc="left", fontsize=9.5,
                     color="#555555", fontweight="normal")


# --- figure heights from the content ------------------------------------------------------
# A report prints the 8-inch figure at its 180 mm text width (x 0.87), so a chart's height
# is what decides whether it fits under the text before it or moves to the next page and
# leaves white behind. Heights are therefore the sum of what the chart holds: title and
# subtitle lines, the x axis, legend rows, and a fixed height per bar row (more for labels
# that wrap), never a fixed multiple of the bars alone. Text sizes are not touched.
_TITLE_LINE = 0.27  # inches: one line of the 13 pt title
_SUBTITLE_LINE = 0.19  # one line of the 9.5 pt subtitle
_X_AXIS = 0.50  # tick labels and the axis label
_LEGEND_ROW = 0.26  # one row of a legend under the axes
_ROW = 0.30  # one bar (a category, a group, an item); 0.65 of it is the bar (14 pt)
_LABEL_LINE = 0.19  # a line of a wrapped 10 pt tick label (CJK lines are the tallest)


def _lines(text: str | None, width: int) -> int:
    return wrap_text(text, width).count("\n") + 1 if text else 0


def _row_height(labels: Sequence[str], row: float = _ROW) -> float:
    """Height of one bar row: ``row``, or more when a (wrapped) label has more lines."""
    most = max((lab.count("\n") + 1 for lab in labels), default=1)
    return max(row, _LABEL_LINE * most + 0.06)


def _fit_height(rows: int, *, title: str, subtitle: str | None, labels: Sequence[str] = (),
                legend_rows: int = 0, row: float = _ROW, width: int = 60) -> float:
    """The figure height (inches) for ``rows`` bar rows under a title and subtitle (wrapped
    as :func:`_titles` wraps them) with ``legend_rows`` legend rows below the axes."""
    head = _TITLE_LINE * _lines(title, width) + _SUBTITLE_LINE * _lines(subtitle, width + 20)
    return round(head + 0.12 + _X_AXIS + _LEGEND_ROW * legend_rows
                 + rows * _row_height(labels, row), 2)


def _distribution(s: Survey, var: str, language):
    """Weighted counts of a single-choice variable, with n and Kish's effective n."""
    codes, info = category_codes(s, var, language=language)
    if info.kind != "single":
        raise AnalysisError(
            f"'{var}' is a {info.kind} question; this chart needs a single-choice question"
            + (". Hint: use multi_response_chart." if info.kind == "multi" else "."))
    k = len(info.categories)
    w = s.weights
    ok = codes >= 0
    nw = np.bincount(codes[ok], weights=w[ok], minlength=k)
    n = int(ok.sum())
    w2 = float((w[ok] ** 2).sum())
    neff = nw.sum() ** 2 / w2 if w2 > 0 else 0.0
    return info, nw, n, neff


def _base_text(words, s: Survey, n: int, neff: float) -> str:
    txt = words["base"].format(n=n)
    if s.is_weighted:
        txt += f"{words['sep']}{words['weighted']}, " + words["neff"].format(n=neff)
    return txt


# --- single choice ------------------------------------------------------------------------
def bar_chart(
    survey: Survey | pd.DataFrame,
    var: str,
    *,
    weight: str | None = None,
    language: str | None = None,
    confidence: float = 0.95,
    sort: bool = False,
    title: str | None = None,
):
    """Horizontal percent bars of a single-choice question, with CI whiskers.

    Bars, whiskers and the stated method are those of ``survey.frequencies(survey, var)``
    (the table the report prints beside the chart): Wilson when unweighted; under weights or a
    complex design the design-based estimate with R ``svyciprop``'s logit interval.
    Categories in template order (``sort=True``: largest first). Returns a matplotlib Figure.
    """
    from ..analysis.frequencies import frequencies

    s = as_survey(survey, weight=weight)
    lang = _lang(s, language)
    words = _words(lang)
    info, nw, n, neff = _distribution(s, var, lang)
    fr = frequencies(s, var, confidence=confidence, language=lang)
    f = fr.to_frame()
    p = f["estimate"].to_numpy(dtype=float)
    lo = f["ci_low"].to_numpy(dtype=float)
    hi = f["ci_high"].to_numpy(dtype=float)
    labels = [wrap_text(c, 28) for c in info.categories]
    order = np.argsort(-p, kind="stable") if sort else np.arange(len(p))
    ci = words["ci"].format(c=confidence) + words["ci_" + ("design" if s.has_design
                                                            else "plain")].format(
        m=_CI_NAMES.get(fr.ci_method, fr.ci_method))
    title = title or info.label
    sub = _base_text(words, s, n, neff) + words["sep"] + ci
    fig, ax = _new_figure(lang, _fit_height(len(p), title=title, subtitle=sub, labels=labels))
    with _themed(lang):
        y = np.arange(len(order))
        pct, lo_p, hi_p = p[order] * 100, lo[order] * 100, hi[order] * 100
        ax.barh(y, pct, color=colorblind()[0], height=0.65)
        # an interval the table cannot give (NaN end, e.g. a variable the weights were
        # calibrated on, SE ~ 0) gets no whisker rather than a made-up one; rounding can put
        # an end a hair inside the estimate
        ok = np.isfinite(lo_p) & np.isfinite(hi_p)
        lo_p, hi_p = np.where(ok, np.fmin(lo_p, pct), pct), np.where(ok, np.fmax(hi_p, pct), pct)
        ax.errorbar(pct, y, xerr=[pct - lo_p, hi_p - pct], fmt="none", ecolor="#333333",
                    elinewidth=1, capsize=3)
        for yi, v, h in zip(y, pct, hi_p):
            ax.text(h + 1, yi, f"{v:.1f}%", va="center", fontsize=10)
        ax.set_yticks(y, [labels[i] for i in order])
        ax.invert_yaxis()
        ax.set_xlim(0, float(np.max(hi_p, initial=0)) + 12)
        ax.set_xlabel(words["pct"] + " (%)")
        _titles(fig, ax, title, sub)
    return fig


def multi_response_chart(
    survey: Survey | pd.DataFrame,
    var: str,
    *,
    weight: str | None = None,
    language: str | None = None,
    sort: bool = True,
    title: str | None = None,
):
    """Percent of respondents choosing each option of a multiple-response question.

    The base (respondents who answered the question) is stated in the subtitle; the bars
    can add up to more than 100%. Returns a matplotlib Figure.
    """
    s = as_survey(survey, weight=weight)
    lang = _lang(s, language)
    words = _words(lang)
    info = s.var_info(var, language=lang)
    if info.kind != "multi":
        raise AnalysisError(f"'{var}' is not a multiple-response question (it is {info.kind}); "
                            "expected boolean columns named like "
                            f"'{var}_<option>'. Hint: use bar_chart for single choice.")
    cols = [c for c in info.columns]
    frame = s.data[cols]
    answered = frame.notna().any(axis=1).to_numpy()
    returned = template_report_base(s, var) == "returned"  # template: percent of all returned forms
    if returned:
        answered = np.ones(len(frame), dtype=bool)
    sel = frame.fillna(False).to_numpy(dtype=bool)
    w = s.weights
    base_w = w[answered].sum()
    pct = (w[answered] @ sel[answered]) / base_w * 100 if base_w > 0 else np.zeros(len(cols))
    n = int(answered.sum())
    order = np.argsort(-pct, kind="stable") if sort else np.arange(len(cols))
    labels = [wrap_text(info.categories[i], 28) for i in order]
    sub = words["multi_ret" if returned else "multi"].format(n=n)
    if s.is_weighted:
        sub += f"{words['sep']}{words['weighted']}"
    title = title or info.label
    fig, ax = _new_figure(lang, _fit_height(len(cols), title=title, subtitle=sub,
                                            labels=labels))
    with _themed(lang):
        y = np.arange(len(cols))
        ax.barh(y, pct[order], color=colorblind()[2], height=0.65)
        for yi, v in zip(y, pct[order]):
            ax.text(v + 1, yi, f"{v:.1f}%", va="center", fontsize=10)
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, float(pct.max(initial=0)) + 12)
        ax.set_xlabel(words["pct"] + " (%)")
        _titles(fig, ax, title, sub)
    return fig


# --- two variables ------------------------------------------------------------------------
def _table(s: Survey, var: str, by: str, language):
    rc, rinfo = category_codes(s, var, language=language)
    cc, cinfo = category_codes(s, by, language=language)
    for name, info in ((var, rinfo), (by, cinfo)):
        if info.kind != "single":
            raise AnalysisError(f"'{name}' must be a single-choice question; it is {info.kind}")
    k, m = len(rinfo.categories), len(cinfo.categories)
    ok = (rc >= 0) & (cc >= 0)
    w = s.weights
    tab = np.bincount(rc[ok] * m + cc[ok], weights=w[ok], minlength=k * m).reshape(k, m)
    w2 = float((w[ok] ** 2).sum())
    neff = tab.sum() ** 2 / w2 if w2 > 0 else 0.0
    return rinfo, cinfo, tab, int(ok.sum()), neff


def _respondents(s: Survey, var: str, by: str, language) -> np.ndarray:
    """Unweighted respondents per cell (rows: ``var``, columns: ``by``)."""
    rc, rinfo = category_codes(s, var, language=language)
    cc, cinfo = category_codes(s, by, language=language)
    k, m = len(rinfo.categories), len(cinfo.categories)
    ok = (rc >= 0) & (cc >= 0)
    return np.bincount(rc[ok] * m + cc[ok], minlength=k * m).reshape(k, m)


def _palette(k: int, ordered: bool) -> list:
    if not ordered or k < 3:
        return colorblind(k)
    return _diverging(k)


def _diverging(k: int) -> list:
    """Colour-blind-safe diverging colours (RdBu), grey in the middle when k is odd."""
    import matplotlib as mpl

    cmap = mpl.colormaps["RdBu"]
    xs = np.linspace(0.1, 0.9, k)
    cols = [mpl.colors.to_hex(cmap(x)) for x in xs]
    if k % 2 == 1:
        cols[k // 2] = NEUTRAL
    return cols


_GROUPED_MAX_HEIGHT = 8.0  # inches: a 5 x 5 grouped chart still fits a report page


def crosstab_chart(
    survey: Survey | pd.DataFrame,
    var: str,
    *,
    by: str,
    kind: str = "grouped",
    weight: str | None = None,
    language: str | None = None,
    title: str | None = None,
    suppress_below: int = 0,
):
    """Column percentages of ``var`` within each category of ``by`` as bars.

    ``kind="grouped"``: one group of bars per category of ``var``, a bar per ``by`` group;
    ``kind="stacked"``: one 100% bar per ``by`` group. Returns a matplotlib Figure.

    ``suppress_below=k`` (stacked only) applies the tables' disclosure control: cells of
    fewer than ``k`` respondents, and the cells hidden with them so that they cannot be
    recovered from the column total, are drawn as one grey "hidden" segment at the end of
    their bar, whose size only shows their sum (which the table's total gives away anyway).
    """
    if kind not in ("grouped", "stacked"):
        raise AnalysisError(f"kind must be 'grouped' or 'stacked'; got {kind!r}")
    if suppress_below and kind != "stacked":
        raise AnalysisError("suppress_below applies to kind='stacked' charts only")
    s = as_survey(survey, weight=weight)
    lang = _lang(s, language)
    words = _words(lang)
    rinfo, cinfo, tab, n, neff = _table(s, var, by, lang)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.nan_to_num(tab / tab.sum(axis=0, keepdims=True) * 100)
    k, m = pct.shape
    sub = words["of"].format(pct=words["pct"], by=cinfo.label) + words["sep"] + _base_text(
        words, s, n, neff)
    title = title or rinfo.label
    if kind == "grouped":
        # height grows with the bars but is capped; thinner bars and smaller labels beyond
        labels = [wrap_text(c, 24) for c in rinfo.categories]
        height = min(_fit_height(k, title=title, subtitle=sub, labels=labels,
                                 row=0.22 * m + 0.12), _GROUPED_MAX_HEIGHT)
        fig, ax = _new_figure(lang, height)
        bar = (height - _fit_height(0, title=title, subtitle=sub)) / k * 0.8 / m
        size = 8.5 if bar >= 0.17 else 7.5
        with _themed(lang):
            h = 0.8 / m
            y = np.arange(k)
            colors = colorblind(m)
            for j in range(m):
                ax.barh(y - 0.4 + h * (j + 0.5), pct[:, j], height=h * 0.95,
                        color=colors[j], label=wrap_text(cinfo.categories[j], 20))
                for yi, v, c in zip(y, pct[:, j], tab[:, j]):
                    if c <= 0:  # no label on an empty bar
                        continue
                    ax.text(v + 0.8, yi - 0.4 + h * (j + 0.5), f"{v:.0f}" if v >= 0.5 else "<1",
                            va="center", fontsize=size, color="#333333")
            ax.set_yticks(y, labels)
            ax.invert_yaxis()
            ax.set_xlim(0, pct.max(initial=0) + 10)
            ax.set_xlabel(words["pct"] + " (%)")
            ax.legend(title=wrap_text(cinfo.label, 30), loc="upper left",
                      bbox_to_anchor=(1.01, 1), alignment="left")
            _titles(fig, ax, title, sub)
        return fig
    hidden = np.zeros(m)
    if suppress_below:
        from ..core.disclosure import disclosure_mask

        primary, secondary = disclosure_mask(_respondents(s, var, by, lang), suppress_below)
        mask = primary | secondary
        hidden = (pct * mask).sum(axis=0)
        pct = np.where(mask, 0.0, pct)
    groups = [wrap_text(c, 20) for c in cinfo.categories]
    keys = [wrap_text(c, 20) for c in rinfo.categories]
    if hidden.any():
        keys.append(wrap_text(words["hidden"].format(k=suppress_below), 24))
    ncol, legend_rows = _legend_grid(keys, 5)
    fig, ax = _new_figure(lang, _fit_height(m, title=title, subtitle=sub, labels=groups,
                                            legend_rows=legend_rows))
    with _themed(lang):
        colors = _palette(k, rinfo.ordered)
        y = np.arange(m)
        left = np.zeros(m)
        for i in range(k):
            ax.barh(y, pct[i], left=left, color=colors[i], height=0.65,
                    label=keys[i], edgecolor="white", linewidth=0.5)
            for yi, l0, v in zip(y, left, pct[i]):
                if v >= 6:
                    dark = _is_dark(colors[i])
                    ax.text(l0 + v / 2, yi, f"{v:.0f}", ha="center", va="center",
                            fontsize=8.5, color="white" if dark else "#222222")
            left += pct[i]
        if hidden.any():
            ax.barh(y, hidden, left=left, color="#E0E0E0", height=0.65, hatch="///",
                    edgecolor="white", linewidth=0.5, label=keys[-1])
        ax.set_yticks(y, groups)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(words["pct"] + " (%)")
        # under the axes, in the space the layout keeps for it (an anchor relative to the
        # axes would overlap the axis label when the axes is short)
        fig.legend(loc="outside lower center", ncol=ncol, frameon=False)
        _titles(fig, ax, title, sub)
    return fig


def _legend_grid(keys: Sequence[str], most: int, *, pad: float = 0.6,
                 width: float = 7.6) -> tuple[int, float]:
    """Columns and height (in legend rows) of a legend of ``keys`` under the axes: as many
    columns as fit ``width`` inches (at most ``most``), the rows filled evenly (6 keys: 3 + 3,
    not 5 + 1); a row is as high as its longest (wrapped) key. A legend wider than the figure
    would widen the saved image and so shrink the whole chart on the printed page. ``pad``:
    inches of handle and spacing per key (0.6 for matplotlib's defaults)."""
    from ._theme import text_width

    widest = max((text_width(line) for key in keys for line in key.split("\n")), default=1)
    entry = pad + widest * 6 / 72  # 10 pt text: a column of text_width is ~ 6 pt wide
    fit = max(1, min(most, int(width // entry)))
    rows = -(-len(keys) // fit)
    ncol = -(-len(keys) // rows)
    lines = max((key.count("\n") + 1 for key in keys), default=1)
    return ncol, rows * (1 + (lines - 1) * 0.6)


def _is_dark(color: str) -> bool:
    import matplotlib as mpl

    r, g, b = mpl.colors.to_rgb(color)
    return 0.299 * r + 0.587 * g + 0.114 * b < 0.5


def residual_heatmap(
    survey: Survey | pd.DataFrame,
    var: str,
    *,
    by: str,
    weight: str | None = None,
    language: str | None = None,
    title: str | None = None,
):
    """Adjusted (standardised) residuals of ``var`` x ``by`` on a diverging palette.

    r = (O - E) / sqrt(E (1 - row/n) (1 - col/n)) (R's ``chisq.test()$stdres``). Weighted
    data: the weighted table is rescaled to Kish's effective n first (stated in the subtitle).
    """
    s = as_survey(survey, weight=weight)
    lang = _lang(s, language)
    words = _words(lang)
    rinfo, cinfo, tab, n, neff = _table(s, var, by, lang)
    if s.is_weighted and tab.sum() > 0:
        tab = tab / tab.sum() * neff
    tot = tab.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        rs = tab.sum(axis=1, keepdims=True)
        cs = tab.sum(axis=0, keepdims=True)
        e = rs * cs / tot
        res = (tab - e) / np.sqrt(e * (1 - rs / tot) * (1 - cs / tot))
    res = np.where(np.isfinite(res), res, 0.0)
    k, m = res.shape
    vmax = max(2.5, float(np.abs(res).max(initial=0)))
    fig, ax = _new_figure(lang, 1.9 + 0.5 * k, width=max(6.5, 2.6 + 1.15 * m))
    with _themed(lang):
        import seaborn as sns

        annot = np.array([[f"{v:.1f}" for v in row] for row in res], dtype=object)
        sns.heatmap(res, ax=ax, cmap="RdBu_r", vmin=-vmax, vmax=vmax, annot=annot,  # symmetric
                    fmt="", annot_kws={"fontsize": 9.5}, linewidths=0.5, linecolor="white",
                    cbar_kws={"shrink": 0.8, "label": words["resid"]},
                    xticklabels=[wrap_text(c, 10) for c in cinfo.categories],
                    yticklabels=[wrap_text(c, 22) for c in rinfo.categories])
        for txt, v in zip(ax.texts, res.ravel()):  # seaborn annotates row by row
            if abs(v) > 1.96:
                txt.set_fontweight("bold")
        ax.tick_params(axis="x", labelsize=9, rotation=0, length=0)
        ax.tick_params(axis="y", rotation=0, length=0)
        ax.set_xlabel(wrap_text(cinfo.label, 50))
        sub = words["resid_note"] + words["sep"] + _base_text(words, s, n, neff)
        _titles(fig, ax, title or rinfo.label, sub)
    return fig


# --- Likert ---------------------------------------------------------------------------------
def likert_chart(
    survey: Survey | pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    scale: str | None = None,
    weight: str | None = None,
    language: str | None = None,
    title: str | None = None,
):
    """Diverging stacked bars of Likert items, centred on the neutral category.

    ``items``: the item variables (ordered single-choice sharing one answer scale), or
    ``scale``: the name of a scale of the questionnaire (its items). Disagreement extends
    left of zero, agreement right; a neutral middle category straddles zero. Items are
    sorted by the share of the categories above the middle. Items are plotted as answered
    (reverse keys are not applied), so the subtitle names the right-hand category rather
    than calling that side agreement or a positive view. Weighted.
    """
    s = as_survey(survey, weight=weight)
    lang = _lang(s, language)
    words = _words(lang)
    items = _likert_items(s, items, scale)
    rows, labels, cats, n_max = [], [], None, 0
    for it in items:
        info, nw, n, _ = _distribution(s, it, lang)
        if cats is None:
            cats = info.categories
        elif len(info.categories) != len(cats):
            raise AnalysisError(
                f"likert_chart: item '{it}' has {len(info.categories)} answer categories, the "
                f"first item has {len(cats)}; expected items sharing one scale")
        rows.append(nw / nw.sum() * 100 if nw.sum() > 0 else np.zeros_like(nw))
        labels.append(info.label)
        n_max = max(n_max, n)
    pct = np.vstack(rows)
    k = pct.shape[1]
    mid = k // 2
    neutral = k % 2 == 1
    pos = pct[:, mid + 1 :].sum(axis=1) if neutral else pct[:, mid:].sum(axis=1)
    order = np.argsort(-pos, kind="stable")
    pct = pct[order]
    labels = [labels[i] for i in order]
    left_total = pct[:, :mid].sum(axis=1) + (pct[:, mid] / 2 if neutral else 0)
    colors = _diverging(k)
    colors[0], colors[-1] = NEGATIVE, POSITIVE
    ticks = [wrap_text(lab, 30) for lab in labels]
    keys = [wrap_text(c, 13) for c in cats]  # 5 keys of a Likert scale in one row
    sub = words["likert_sub"].format(n=n_max, right=cats[-1])
    if s.is_weighted:
        sub += f"{words['sep']}{words['weighted']}"
    title = title or _likert_title(s, scale, lang, items)
    ncol, legend_rows = _legend_grid(keys, k, pad=0.4)  # short handles, narrow spacing
    fig, ax = _new_figure(lang, _fit_height(len(items), title=title, subtitle=sub, labels=ticks,
                                            legend_rows=legend_rows))
    with _themed(lang):
        y = np.arange(len(items))
        start = -left_total
        for j in range(k):
            ax.barh(y, pct[:, j], left=start, color=colors[j], height=0.65,
                    label=keys[j], edgecolor="white", linewidth=0.5)
            for yi, l0, v in zip(y, start, pct[:, j]):
                if v >= 7:
                    ax.text(l0 + v / 2, yi, f"{v:.0f}", ha="center", va="center",
                            fontsize=8.5, color="white" if j in (0, k - 1) else "#222222")
            start = start + pct[:, j]
        ax.axvline(0, color="#333333", linewidth=0.8, zorder=0.5)  # behind the bars and their numbers
        ax.set_yticks(y, ticks)
        ax.invert_yaxis()
        lim = max(50.0, float(np.max(left_total, initial=0)),
                  float(np.max(pct.sum(axis=1) - left_total, initial=0)))
        lim = min(100.0, np.ceil((lim + 5) / 10) * 10)
        ax.set_xlim(-lim, lim)
        step = 25 if lim > 60 else 20
        top = np.floor(lim / step) * step
        ticks = np.arange(-top, top + 1, step)
        ax.set_xticks(ticks, [f"{abs(t):.0f}" for t in ticks])
        ax.set_xlabel(words["pct"] + " (%)")
        fig.legend(loc="outside lower center", ncol=ncol, frameon=False, handlelength=1.2,
                   columnspacing=1.0)
        _titles(fig, ax, title, sub)
    return fig


def _likert_items(s: Survey, items, scale) -> list[str]:
    if items is not None:
        items = [items] if isinstance(items, str) else list(items)
        if not items:
            raise AnalysisError("likert_chart: items=[] is empty")
        return items
    q = s.questionnaire
    scales = getattr(q, "scales", None) or {}
    if scale is not None:
        if scale not in scales:
            raise AnalysisError(f"likert_chart: no scale named '{scale}' in the questionnaire; "
                                f"scales are {sorted(scales)}")
        return list(scales[scale].items)
    if len(scales) == 1:
        return list(next(iter(scales.values())).items)
    ordered = [c for c in s.data.columns if isinstance(s.data[c].dtype, pd.CategoricalDtype)
               and s.data[c].cat.ordered and len(s.data[c].cat.categories) >= 3]
    if not ordered:
        raise AnalysisError("likert_chart: give items=[...] (ordered single-choice questions) "
                            "or scale=<name>; none found in the data")
    first = list(s.data[ordered[0]].cat.categories)
    return [c for c in ordered if list(s.data[c].cat.categories) == first]


def _likert_title(s: Survey, scale, lang, items) -> str:
    """The question the items answer (their grid's label); else the label of the scale they
    form, unless it is reverse-keyed (the chart shows the items as answered, so a scale label
    such as "positive view" would misname the raw answers) or was asked for by ``scale=``;
    else the items' own labels, never their variable names."""
    q = s.questionnaire
    scales = getattr(q, "scales", None) or {}
    sc = scales.get(scale) if scale else None
    label = None
    if sc is None:
        grids = q.grids() if hasattr(q, "grids") else []
        grid = next((g for g in grids if set(items) <= {r.name for r in g.rows}), None)
        label = getattr(grid, "label", None)
        if not label:
            sc = next((cand for cand in scales.values()
                       if list(getattr(cand, "items", ())) == list(items)
                       and not getattr(cand, "reverse", None)), None)
    if not label:
        label = getattr(sc, "label", None)
    if isinstance(label, dict) and label:
        return label.get(lang) or next(iter(label.values()))
    if isinstance(label, str) and label:
        return label
    labels = [s.var_info(it, language=lang).label or it for it in items]
    return labels[0] if len(labels) == 1 else _words(lang)["likert_title"].format(k=len(labels))


# --- fieldwork ------------------------------------------------------------------------------
def response_rate_chart(obj: Any, *, language: str | None = None, title: str | None = None):
    """Questionnaires issued vs returned by distribution unit, with the response rate.

    ``obj``: the `ResponseRates` of ``survey.response_rates(q, data)`` (its total row is
    not drawn as a unit), a Questionnaire (its ``fieldwork.units``: id, label, issued,
    returned), a DataFrame with columns ``unit``, ``issued``, ``returned`` (optional
    ``label``; a row ``unit == "total"`` is skipped), or a list of such dicts. Returns a
    matplotlib Figure.
    """
    lang = language or getattr(obj, "language", None) or getattr(obj, "default_language", None)
    if not isinstance(obj, pd.DataFrame) and callable(getattr(obj, "to_frame", None)) \
            and getattr(obj, "fieldwork", None) is None:
        obj = obj.to_frame()  # a ResponseRates result
    units = _units(obj, language)
    if not units:
        raise AnalysisError("response_rate_chart: no units with issued/returned counts found")
    words = _words(lang)
    labels = [wrap_text(u[0], 22) for u in units]
    issued = np.array([u[1] for u in units], dtype=float)
    returned = np.array([u[2] for u in units], dtype=float)
    m = len(units)
    tot_i, tot_r = issued.sum(), returned.sum()
    sub = words["rr_sub"].format(i=int(tot_i), r=int(tot_r),
                                 p=tot_r / tot_i if tot_i else float("nan"))
    title = title or words["rr_title"]
    fig, ax = _new_figure(lang, _fit_height(m, title=title, subtitle=sub, labels=labels,
                                            legend_rows=1, row=0.45))
    with _themed(lang):
        y = np.arange(m)
        ax.barh(y - 0.18, issued, height=0.36, color="#BDBDBD", label=words["issued"])
        ax.barh(y + 0.18, returned, height=0.36, color=colorblind()[0], label=words["returned"])
        top = float(np.max(np.maximum(issued, returned), initial=1))
        for yi, i, r in zip(y, issued, returned):
            rate = r / i if i > 0 else float("nan")
            ax.text(max(i, r) + 0.02 * top, yi, f"{rate:.1%}", va="center", fontsize=10,
                    fontweight="bold")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.2)
        ax.set_xlabel(words["count"])
        # legend outside the data area (below the axes), so no rate label can sit under it
        fig.legend(loc="outside lower center", ncol=2, frameon=False)
        _titles(fig, ax, title, sub)
    return fig


def _label(value: Any, language: str | None, fallback: str) -> str:
    if isinstance(value, dict):
        if language and value.get(language):
            return str(value[language])
        for v in value.values():
            if v:
                return str(v)
        return fallback
    return str(value) if value not in (None, "") else fallback


def _units(obj: Any, language) -> list[tuple[str, float, float]]:
    if isinstance(obj, pd.DataFrame):
        need = {"unit", "issued", "returned"}
        if not need <= set(obj.columns):
            raise AnalysisError(
                f"response_rate_chart: the DataFrame needs columns unit, issued, returned; "
                f"found {list(obj.columns)}")
        rows = obj[obj["unit"].astype(str).str.lower() != "total"]
        lab = rows["label"] if "label" in rows.columns else rows["unit"]
        return [(_label(lb, language, str(u)), float(i), float(r))
                for lb, u, i, r in zip(lab, rows["unit"], rows["issued"], rows["returned"])]
    fw = getattr(obj, "fieldwork", None)
    units = getattr(fw, "units", None) if fw is not None else None
    if units is None and isinstance(obj, (list, tuple)):
        units = obj
    if units is None:
        raise AnalysisError(
            "response_rate_chart: expected a Questionnaire with fieldwork.units, or a "
            f"DataFrame with unit, issued, returned; got {type(obj).__name__}")
    out = []
    for u in units:
        get = u.get if isinstance(u, dict) else (lambda k, _u=u: getattr(_u, k, None))
        uid = str(get("id") or get("unit") or "")
        if get("issued") is None or get("returned") is None:
            continue
        out.append((_label(get("label"), language, uid), float(get("issued")),
                    float(get("returned"))))
    return out
