"""Banner words and footnotes: the test, base, weighting and suppression notes of a banner
in the chosen language. Cut from :mod:`survey.analysis.banner` along its seam.
"""

from __future__ import annotations

_CORRECTION_TEXT = {
    "none": "no correction for multiple comparisons",
    "bonferroni": "Bonferroni correction",
    "holm": "Holm correction",
    "bh": "Benjamini-Hochberg (FDR) correction",
}


def _text(language: str | None) -> dict[str, str]:
    from ..i18n import normalize_language, words

    lang = normalize_language(language, strict=False)
    return {**words("banner", lang), "language": lang}


_ZH_CORRECTION = {"none": "未作多重比较校正", "bonferroni": "Bonferroni 校正",
                  "holm": "Holm 校正", "bh": "Benjamini-Hochberg（FDR）校正"}


def _footnotes(ctx, s, n, filtered, suppress_below, min_base, preset, base_returned=()):
    lang = ctx.txt.get("language")
    if lang != "en":
        notes = _footnotes_zh(ctx, s, n, filtered, suppress_below, min_base, preset,
                              base_returned)
        return notes if lang == "zh-Hans" else [_to_hant(x) for x in notes]
    notes = []
    if ctx.test == "none":
        notes.append("No significance tests.")
    else:
        lev = (f"upper case p < {ctx.alpha_strict:g}, lower case p < {ctx.alpha:g}"
               if ctx.alpha_strict is not None else f"p < {ctx.alpha:g}")
        scope = ("within each row of each by variable (as SPSS)" if ctx.scope == "row"
                 else "within each row variable x by variable block")
        notes.append(
            "Letters mark the columns of the same banner variable that a cell is significantly "
            f"higher than ({lev}, two-sided): pooled two-proportion z-tests for percentages, "
            f"Welch t-tests for means; {_CORRECTION_TEXT[ctx.correction]} {scope}"
            + (f" (preset '{preset}')" if preset else "") + ". The Total column is not tested.")
    notes.append(
        f"Base: respondents who answered each question ({n:,} rows"
        + (" after the where= filter" if filtered else "")
        + "); multiple-response percentages are of respondents who answered the question "
        "and can add up to more than 100%"
        + (f" (for {', '.join(base_returned)}, as the template asks: of all {n:,} returned "
           "forms, non-answers included)" if base_returned else "")
        + ". Percentages are "
        + {"column": "column", "row": "row", "total": "table"}[ctx.percent] + " percentages.")
    if ctx.se == "design":
        notes.append(
            ("Weighted by '" + str(s.weight) + "'. " if ctx.weighted else "")
            + "Tests use design-based (Taylor linearised) standard errors of the differences "
            f"of column proportions and means (weights, strata, clusters), t with {ctx.degf} "
            "design degrees of freedom (#PSU - #strata), as R's survey (svyby + svycontrast).")
    elif ctx.weighted:
        notes.append(
            f"Weighted by '{s.weight}'. Tests use Kish's effective base (sum w)^2 / sum w^2 per "
            "column; strata and clusters are not taken into account in the letters.")
    else:
        notes.append("Unweighted.")
    notes.append(f"Columns with a base below {min_base} are not tested and are shown in grey.")
    if suppress_below > 0:
        notes.append(
            f"Counts below {suppress_below} are shown as <{suppress_below}; cells marked x are "
            "hidden so that those counts cannot be recovered from totals, nets or means.")
    return notes


def _footnotes_zh(ctx, s, n, filtered, suppress_below, min_base, preset, base_returned):
    notes = []
    if ctx.test == "none":
        notes.append("未作显著性检验。")
    else:
        lev = (f"大写字母 p < {ctx.alpha_strict:g}，小写字母 p < {ctx.alpha:g}"
               if ctx.alpha_strict is not None else f"p < {ctx.alpha:g}")
        scope = ("在每个分组变量的每一行内（同 SPSS）" if ctx.scope == "row"
                 else "在每个行变量 × 分组变量的区块内")
        notes.append(
            f"字母表示该格显著高于同一分组变量中的哪些列（{lev}，双侧）：百分比用合并比例的双样本 "
            f"z 检验，均值用 Welch t 检验；{scope}作 {_ZH_CORRECTION[ctx.correction]}"
            + (f"（预设 '{preset}'）" if preset else "") + "。合计列不参与检验。")
    notes.append(
        f"样本量：各题作答者（{n:,} 行" + ("，已按 where= 筛选" if filtered else "")
        + "）；多选题百分比以该题作答者为基数，各项之和可超过100%"
        + (f"（{'、'.join(base_returned)} 按模板以全部 {n:,} 份回收问卷为基数，含未作答）"
           if base_returned else "")
        + "。百分比为" + {"column": "列", "row": "行", "total": "总"}[ctx.percent] + "百分比。")
    if ctx.se == "design":
        notes.append((f"按 '{s.weight}' 加权。" if ctx.weighted else "")
                     + "检验用基于抽样设计的标准误（泰勒线性化，考虑权重、分层与整群），"
                     f"t 分布自由度 {ctx.degf}（PSU 数 − 层数），同 R survey 包。")
    elif ctx.weighted:
        notes.append(f"按 '{s.weight}' 加权。检验用各列的 Kish 有效样本量 (Σw)²/Σw²；"
                     "字母检验未考虑分层与整群抽样。")
    else:
        notes.append("未加权。")
    notes.append(f"样本量低于 {min_base} 的列不作检验，以灰色显示。")
    if suppress_below > 0:
        notes.append(f"少于 {suppress_below} 的频数显示为 <{suppress_below}；标 x 的格也被隐藏，"
                     "以免由合计、合并项或均值推算出被隐藏的频数。")
    return notes


# Simplified -> Traditional for the characters of the footnotes above (not a general converter)
_HANT = str.maketrans("显检验样类数为该组变双侧区块内计与设预选题项过筛总权层频标隐并个这时单问误参于务业专据较写线准虑",
                      "顯檢驗樣類數為該組變雙側區塊內計與設預選題項過篩總權層頻標隱併個這時單問誤參於務業專據較寫線準慮")


def _to_hant(text: str) -> str:
    """zh-Hans footnote text in Traditional characters (only the characters used here)."""
    return text.translate(_HANT)
