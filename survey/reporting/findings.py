"""Findings written out: one sentence per key result, in Traditional or Simplified Chinese or
English, generated from the result objects.

The wording follows the numbers: a difference is only called significant when the (adjusted)
p-value is below ``alpha``; the direction (which group is highest/lowest) is only stated for
significant differences; a multiple-comparison correction is named when one was applied.

>>> from types import SimpleNamespace
>>> import pandas as pd
>>> freq = SimpleNamespace(to_frame=lambda: pd.DataFrame(
...     {"n": [333, 33], "pct": [91.0, 9.0], "ci_low": [87.6, 6.4], "ci_high": [93.5, 12.4]},
...     index=pd.Index(["有必要", "沒有必要"], name="category")))
>>> describe_proportion(freq, "有必要", "zh-Hant", statement="認為年輕幹部到基層鍛煉有必要")
'91.0%（95% CI 87.6%–93.5%）的受訪者認為年輕幹部到基層鍛煉有必要（基數：366人）。'
>>> describe_proportion(freq, "有必要", "en")
'91.0% (95% CI 87.6%–93.5%) of respondents answered “有必要” (base: 366 respondents).'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..errors import ReportError
from ..i18n import LANGUAGES, normalize_language, table  # noqa: F401 (LANGUAGES re-exported)
from ..i18n import text as _text

_T: dict[str, dict[str, str]] = table("finding")

_METHOD_NAMES = {"holm": "Holm", "bh": "Benjamini–Hochberg", "fdr_bh": "Benjamini–Hochberg",
                 "bonferroni": "Bonferroni", "hochberg": "Hochberg", "hommel": "Hommel",
                 "by": "Benjamini–Yekutieli"}


def _t(key: str, language: str, **kw: Any) -> str:
    return _T[key][language].format(**kw)


def fmt_pct(value: float, digits: int = 1) -> str:
    """``91.0%``; values are percentages (0–100).

    >>> fmt_pct(91.04), fmt_pct(float("nan"))
    ('91.0%', '–')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}%"


def fmt_p(p: float, language: str = "en") -> str:
    """A p-value the way each language writes it: APA style in English (``p = .015``,
    ``p < .001``), ``p=0.015`` in Chinese.

    >>> fmt_p(0.01534, "en"), fmt_p(0.01534, "zh-Hant"), fmt_p(0.0002, "en"), fmt_p(0.52, "zh-Hans")
    ('p = .015', 'p=0.015', 'p < .001', 'p=0.52')
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p = NA" if language == "en" else "p=NA"
    if p < 0.001:
        return "p < .001" if language == "en" else "p<0.001"
    text = f"{p:.3f}" if p < 0.1 else f"{p:.2f}"
    if language == "en":
        return "p = " + text.lstrip("0")
    return "p=" + text


def _fmt_num(x: float, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if abs(x - round(x)) < 1e-9:
        return f"{round(x):d}"
    return f"{x:.{digits}f}"


def _fmt_coef(x: float, language: str) -> str:
    """Effect sizes and alphas: two decimals; English drops the leading zero (APA)."""
    text = f"{x:.2f}"
    return text


# ---------------------------------------------------------------------------------------------
# reading result objects (duck-typed: the documented attributes, or their to_frame())


def _frame(result: Any) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return result
    if hasattr(result, "to_frame"):
        return result.to_frame()
    raise ReportError(f"expected a result with to_frame(), found {type(result).__name__}")


def _pct_column(frame: pd.DataFrame) -> tuple[str, float]:
    """(column, factor to percent) of the share column of a frequency-like frame."""
    for col in ("pct", "percent", "pct_respondents", "proportion", "estimate"):
        if col in frame.columns:
            vals = pd.to_numeric(frame[col], errors="coerce")
            factor = 100.0 if col in ("proportion", "estimate") or vals.max() <= 1.0 else 1.0
            if col in ("pct", "percent", "pct_respondents") and vals.max() > 1.0:
                factor = 1.0
            return col, factor
    raise ReportError(
        f"expected a share column (pct, percent or estimate), found {list(frame.columns)}"
    )


def _row_for(frame: pd.DataFrame, category: Any) -> pd.Series:
    if "category" in frame.columns:
        keys = frame["category"].astype(str).tolist()
        frame = frame.set_index(pd.Index(keys))
    keys = [str(k) for k in frame.index]
    text = str(category)
    for i, k in enumerate(keys):
        if k == text:
            return frame.iloc[i]
    lowered = [k.casefold() for k in keys]
    if text.casefold() in lowered:
        return frame.iloc[lowered.index(text.casefold())]
    from ..errors import did_you_mean

    hint = did_you_mean(text, keys)
    raise ReportError(
        f"category {text!r} not in the result; categories: {', '.join(keys)}"
        + (f" ({hint})" if hint else "")
    )


def _base_n(result: Any, frame: pd.DataFrame) -> float | None:
    for attr in ("base", "n_valid", "n"):
        value = getattr(result, attr, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    if "n" in frame.columns:
        total = pd.to_numeric(frame["n"], errors="coerce").sum()
        return float(total) if total > 0 else None
    return None


def _is_weighted(frame: pd.DataFrame, weighted: bool | None) -> bool:
    if weighted is not None:
        return bool(weighted)
    if "n_weighted" in frame.columns and "n" in frame.columns:
        nw = pd.to_numeric(frame["n_weighted"], errors="coerce").to_numpy(dtype=float)
        n = pd.to_numeric(frame["n"], errors="coerce").to_numpy(dtype=float)
        return not bool(((nw - n) ** 2 < 1e-18).all())
    return False


def _base_text(n: float | None, lang: str, weighted: bool) -> str:
    """`` (base: 365 respondents)``; a weighted share says it is a weighted estimate."""
    if not n:
        return ""
    return _t("base_weighted" if weighted else "base", lang, n=_fmt_num(n, 0))


def describe_proportion(
    result: Any,
    category: Any,
    language: str = "en",
    *,
    statement: str | None = None,
    confidence: float | None = None,
    show_base: bool = True,
    weighted: bool | None = None,
) -> str:
    """One sentence giving the share of respondents in ``category`` with its confidence interval.

    Parameters
    ----------
    result : frequencies result (or its frame)
        One row per category with ``pct`` (0–100) or ``estimate`` (0–1), ``ci_low``, ``ci_high``.
    category : str
        A category label as shown in the result.
    language : {"zh-Hant", "zh-Hans", "en"}
    statement : str, optional
        What the respondents did, e.g. "認為年輕幹部到基層鍛煉有必要" / "consider it necessary";
        default: "answered “<category>”".
    weighted : bool, optional
        Whether the share is a weighted estimate (then the base says so: the respondents are
        counted, the percentage is not their share); by default read off the result
        (``n_weighted`` differing from ``n``).
    """
    lang = normalize_language(language)
    frame = _frame(result)
    row = _row_for(frame, category)
    col, factor = _pct_column(frame)
    pct = float(row[col]) * factor
    conf = confidence or getattr(result, "confidence", None) or 0.95
    conf_txt = _fmt_num(conf * 100 if conf <= 1 else conf, 0)
    stmt = statement or _t("answered", lang, cat=category)
    n = _base_n(result, frame)
    base = _base_text(n, lang, _is_weighted(frame, weighted)) if show_base else ""
    lo = row.get("ci_low") if hasattr(row, "get") else None
    hi = row.get("ci_high") if hasattr(row, "get") else None
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return _t("prop_noci", lang, pct=fmt_pct(pct), statement=stmt, base=base)
    lo, hi = float(lo), float(hi)
    # intervals may be proportions while the share is a percentage
    ci_factor = factor if factor != 1.0 else (100.0 if hi <= 1.0 and pct > 1.0 else 1.0)
    return _t(
        "prop",
        lang,
        pct=fmt_pct(pct),
        conf=conf_txt,
        lo=fmt_pct(lo * ci_factor),
        hi=fmt_pct(hi * ci_factor),
        statement=stmt,
        base=base,
    )


#: preference order of the test reported for a cross-tab
TEST_ORDER = ("rao_scott_f", "rao_scott_chisq", "pearson", "likelihood_ratio", "fisher")


def small_expected(ct: Any) -> tuple[int, int, float]:
    """(cells with an expected count below 5, cells, smallest expected count) of the table a
    cross-tab tests (empty rows and columns dropped, as the test does).

    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> small_expected(SimpleNamespace(table=np.array([[10, 2], [20, 3], [0, 0]])))
    (2, 4, 1.71)
    """
    import numpy as np

    t = np.asarray(ct.table, dtype=float)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.size == 0 or t.sum() <= 0:
        return 0, 0, float("nan")
    e = np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum()
    return int((e < 5).sum()), int(e.size), round(float(e.min()), 2)


def pick_test(ct: Any) -> tuple[str, pd.Series]:
    """(name, row) of the test a report quotes: Rao–Scott for weighted data; for unweighted
    tables Fisher's exact test when any expected count is below 5 and the cross-tab ran it
    (the rule of ``crosstab``'s own notes), else Pearson's chi-square."""
    tests = getattr(ct, "tests", None)
    if not isinstance(tests, pd.DataFrame) or tests.empty:
        raise ReportError("the cross-tab has no tests to describe")
    design = any(n in tests.index for n in ("rao_scott_f", "rao_scott_chisq"))
    if (not design and "fisher" in tests.index and not pd.isna(tests.loc["fisher", "p_value"])
            and small_expected(ct)[0] > 0):
        return "fisher", tests.loc["fisher"]
    for name in TEST_ORDER:
        if name in tests.index and not pd.isna(tests.loc[name, "p_value"]):
            return name, tests.loc[name]
    name = tests.index[0]
    return str(name), tests.loc[name]






def quoted_test_name(name: str, language: str = "en", *, simulated: int | None = None) -> str:
    """The name of a test as the report writes it (Fisher's with its Monte Carlo B).

    >>> quoted_test_name("fisher", "zh-Hant", simulated=2000)
    'Fisher 精確檢定（蒙地卡羅模擬，B=2000）'
    """
    lang = normalize_language(language)
    if name == "fisher":
        name = _text("finding.fisher", lang)
        return name + (_text("finding.fisher_mc", lang, b=simulated) if simulated else "")
    return name


def format_test(name: str, row: Mapping[str, Any] | pd.Series, language: str = "en",
                *, p_value: float | None = None, simulated: int | None = None) -> str:
    """``χ²(4) = 12.3, p = .015`` (en) / ``χ²(4)=12.3，p=0.015`` (zh).

    >>> format_test("pearson", {"statistic": 12.31, "df": 4, "p_value": 0.0153}, "en")
    'χ²(4) = 12.3, p = .015'
    >>> format_test("rao_scott_f", {"statistic": 2.1, "df": 3.84, "df_denom": 1390.2,
    ...             "p_value": 0.081}, "zh-Hant")
    'F(3.84, 1390.2)=2.10，p=0.081'
    >>> format_test("fisher", {"statistic": None, "p_value": 0.0123}, "zh-Hant")
    'Fisher 精確檢定，p=0.012'
    >>> format_test("fisher", {"statistic": None, "p_value": 0.0123}, "en", simulated=2000)
    "Fisher's exact test (Monte Carlo, B = 2000), p = .012"
    """
    lang = normalize_language(language)
    p = float(row["p_value"]) if p_value is None else float(p_value)
    sep = ", " if lang == "en" else "，"
    if name == "fisher":
        return f"{quoted_test_name(name, lang, simulated=simulated)}{sep}{fmt_p(p, lang)}"
    stat = float(row["statistic"]) if row.get("statistic") is not None else float("nan")
    df = row.get("df")
    eq = " = " if lang == "en" else "="
    if name == "rao_scott_f":
        d1, d2 = float(row.get("df", float("nan"))), float(row.get("df_denom", float("nan")))
        head = f"F({d1:.2f}, {d2:.1f}){eq}{stat:.2f}"
    else:
        symbol = "G²" if name == "likelihood_ratio" else "χ²"
        d = "" if df is None or pd.isna(df) else f"({_fmt_num(float(df), 2)})"
        head = f"{symbol}{d}{eq}{stat:.1f}"
    return f"{head}{sep}{fmt_p(p, lang)}"


def _effect(ct: Any) -> float | None:
    eff = getattr(ct, "effect_sizes", None)
    if isinstance(eff, pd.DataFrame) and "cramers_v" in eff.index:
        col = "value" if "value" in eff.columns else eff.columns[0]
        v = eff.loc["cramers_v", col]
        return None if pd.isna(v) else float(v)
    return None


def _df_star(ct: Any) -> int:
    """min(r, c) − 1 of the cross-tab's observed table (rows and columns with any answer)."""
    import numpy as np

    counts = getattr(ct, "unweighted", None)  # CrossTab: an ndarray; stand-ins: a frame
    if counts is None:
        counts = getattr(ct, "counts", None)
    if counts is None and hasattr(ct, "percent"):
        counts = ct.percent("column").fillna(0)
    if counts is None:
        raise ReportError("a cross-tab without counts: cannot tell its df* = min(r, c) - 1")
    arr = np.asarray(counts, dtype=float)
    if arr.ndim != 2:
        raise ReportError(f"expected a two-way table of counts, found shape {arr.shape}")
    r = int((arr.sum(axis=1) > 0).sum())
    c = int((arr.sum(axis=0) > 0).sum())
    return max(min(r, c) - 1, 1)


def effect_word(v: float, df_star: int, language: str) -> str:
    """Words for Cramér's V by the table's df* = min(r, c) − 1 (Cohen 1988, §7.2).

    Cohen's thresholds are for w = V·√df*: 0.1 small, 0.3 medium, 0.5 large; so V's
    thresholds shrink as the table grows (0.07 / 0.21 / 0.35 when df* = 2).

    >>> effect_word(0.29, 1, "en"), effect_word(0.29, 2, "en"), effect_word(0.29, 3, "en")
    ('a weak association', 'a moderate association', 'a strong association')
    >>> effect_word(0.30, 3, "zh-Hant")
    '關聯較強'
    """
    words = _text("finding.effect", normalize_language(language))
    w = float(v) * math.sqrt(max(int(df_star), 1))
    return words[0] if w < 0.1 else words[1] if w < 0.3 else words[2] if w < 0.5 else words[3]


def _label(obj: Any, *names: str) -> str | None:
    for n in names:
        v = getattr(obj, n, None)
        if isinstance(v, str) and v:
            return v
    return None


def describe_crosstab(
    ct: Any,
    language: str = "en",
    *,
    by_label: str | None = None,
    category: Any = None,
    alpha: float = 0.05,
    p_value: float | None = None,
    correction: str | None = None,
    test: str | None = None,
) -> str:
    """One sentence on whether the distribution differs between the ``by`` groups.

    Parameters
    ----------
    ct : CrossTab
        With ``tests`` (index = test names; ``statistic``, ``df``, ``df_denom``, ``p_value``),
        ``effect_sizes`` (``cramers_v``) and ``percent("column")``.
    by_label : str, optional
        Name of the grouping (default: the cross-tab's ``by_label`` or ``by``).
    category : str, optional
        Row category whose share names the highest/lowest group when the test is significant.
    alpha : float
        Significance level.
    p_value : float, optional
        The adjusted p-value when the report corrects for multiple comparisons.
    correction : str, optional
        Name of the correction (``holm``, ``BH``); stated in the sentence when given.
    test : str, optional
        Which row of ``ct.tests`` to report (default: :func:`pick_test` — Rao–Scott F if
        present, else Fisher's exact test when an expected count is below 5, else Pearson).
    """
    lang = normalize_language(language)
    if test is not None:
        if test not in ct.tests.index:
            raise ReportError(f"test {test!r} not in the cross-tab; have {list(ct.tests.index)}")
        name, row = test, ct.tests.loc[test]
    else:
        name, row = pick_test(ct)
    p = float(row["p_value"]) if p_value is None else float(p_value)
    stats = format_test(name, row, lang, p_value=p, simulated=getattr(ct, "fisher_b", None)
                        if name == "fisher" else None)
    v = _effect(ct)
    if v is not None:
        stats += (", " if lang == "en" else "，") + f"Cramér's V{' = ' if lang == 'en' else '='}"
        stats += _fmt_coef(v, lang)
    by = by_label or _label(ct, "by_label", "by") or ("group" if lang == "en" else "組別")
    significant = (not math.isnan(p)) and p < alpha
    text = _t("sig" if significant else "nonsig", lang, by=by, stats=stats)
    if significant and v is not None:
        word = effect_word(v, _df_star(ct), lang)
        text = text[:-1] + (f"; {word})" if lang == "en" else f"，{word}）")
    if significant and category is not None and hasattr(ct, "percent"):
        try:
            pc = ct.percent("column")
            row_pct = _row_for(pc, category)
            row_pct = pd.to_numeric(row_pct, errors="coerce").dropna()
            if len(row_pct) >= 2:
                factor = 100.0 if row_pct.max() <= 1.0 else 1.0
                hi_g, lo_g = row_pct.idxmax(), row_pct.idxmin()
                text += _t(
                    "direction", lang, cat=category, hi_group=hi_g, lo_group=lo_g,
                    hi=fmt_pct(row_pct[hi_g] * factor), lo=fmt_pct(row_pct[lo_g] * factor),
                )
        except ReportError:
            pass
    if correction:
        method = _METHOD_NAMES.get(str(correction).lower(), str(correction))
        text += _t("corrected", lang, method=method)
    if lang == "en":
        text = text[0].upper() + text[1:]
    return text + _t("end", lang)


def describe_multi_response(
    result: Any, language: str = "en", *, top: int = 3, show_base: bool = True,
    weighted: bool | None = None,
) -> str:
    """The most chosen options of a multiple-response question, as % of respondents (a
    weighted estimate says so in its base)."""
    lang = normalize_language(language)
    frame = _frame(result)
    weighted = _is_weighted(frame, weighted)
    if "category" in frame.columns:
        frame = frame.set_index(frame["category"].astype(str))
    col = next(
        (c for c in ("pct_respondents", "pct_cases", "pct_of_respondents", "pct") if c in frame),
        None,
    )
    if col is None:
        raise ReportError(f"expected a column pct_respondents, found {list(frame.columns)}")
    vals = pd.to_numeric(frame[col], errors="coerce")
    factor = 100.0 if vals.max() <= 1.0 else 1.0
    order = vals.sort_values(ascending=False, kind="stable").head(top)
    items = _text("finding.list_sep", lang).join(
        _t("multi_item", lang, cat=k, pct=fmt_pct(v * factor)) for k, v in order.items()
    )
    if lang == "en" and len(order) > 1:
        parts = items.rsplit(", ", 1)
        items = (", " if len(order) > 2 else " ").join([parts[0], "and " + parts[1]])
    n = None
    for attr in ("n_base", "base", "n_respondents", "n"):
        value = getattr(result, attr, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            n = float(value)
            break
    base = _base_text(n, lang, weighted) if show_base else ""
    avg = float((vals * factor).sum() / 100.0)
    return _t("multi", lang, items=items, base=base, avg=f"{avg:.1f}")


def describe_reliability(result: Any, language: str = "en") -> str:
    """Cronbach's alpha with its CI and the usual quality label (George & Mallery)."""
    lang = normalize_language(language)
    alpha = float(result.alpha)
    labels = _text("finding.alpha_quality", lang)
    cuts = [0.5, 0.6, 0.7, 0.8, 0.9]
    quality = labels[sum(alpha >= c for c in cuts)]
    lo, hi = getattr(result, "ci_low", None), getattr(result, "ci_high", None)
    ci = ""
    if lo is not None and hi is not None and not (pd.isna(lo) or pd.isna(hi)):
        ci = (", " if lang == "en" else "，") + f"95% CI {float(lo):.2f}–{float(hi):.2f}"
    items = getattr(result, "items", None)
    k = len(items) if items is not None else getattr(result, "k", "?")
    return _t("alpha", lang, quality=quality, alpha=f"{alpha:.2f}", ci=ci, k=k)


def describe_top_box(shares: Mapping[str, float] | pd.Series, categories: Sequence[Any],
                     language: str = "en") -> str:
    """Which item of a battery has the largest and the smallest share of answers in the top
    ``categories`` of its scale (shares in percent), in the scale's own words.

    The sentence names the categories (“Agree” or “Strongly agree”, 「滿意」或「非常滿意」,
    “Often” or “Always” ...), never a fixed word such as “agreement”: the scale may measure
    satisfaction, frequency or importance, and items are described as answered (reverse keys
    are not applied).

    >>> describe_top_box({"A": 80.0, "B": 35.5, "C": 60.0}, ["Satisfied", "Very satisfied"], "en")
    'The share answering “Satisfied” or “Very satisfied” is highest for “A” (80.0%) and lowest for “B” (35.5%).'
    >>> describe_top_box({"甲": 61.0, "乙": 20.0}, ["經常", "總是"], "zh-Hant")
    '選擇「經常」或「總是」的比例以「甲」最高（61.0%），以「乙」最低（20.0%）。'
    """
    lang = normalize_language(language)
    s = pd.Series(shares, dtype=float).dropna()
    cats = [str(c) for c in categories]
    if len(s) < 2:
        raise ReportError("need at least two items to compare their top answer categories")
    if not cats:
        raise ReportError("need the names of the top answer categories of the scale")
    quoted = [_t("likert_cat", lang, cat=c) for c in cats]
    top = ", ".join(quoted[:-1]) if lang == "en" else "、".join(quoted[:-1])
    top = _t("likert_or", lang, a=top, b=quoted[-1]) if len(quoted) > 1 else quoted[0]
    hi_item, lo_item = s.idxmax(), s.idxmin()
    if math.isclose(s[hi_item], s[lo_item], abs_tol=0.05):  # equal at the precision shown
        return _t("likert_top_equal", lang, top=top, hi=fmt_pct(s[hi_item]))
    return _t("likert_top", lang, top=top, hi_item=hi_item, lo_item=lo_item,
              hi=fmt_pct(s[hi_item]), lo=fmt_pct(s[lo_item]))
