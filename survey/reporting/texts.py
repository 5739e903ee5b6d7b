"""Fixed texts of the report notebooks (headings, methods, table headers) in three languages."""

from __future__ import annotations

from .findings import normalize_language

TEXTS: dict[str, dict[str, str]] = {
    "cover_fieldwork": {"zh-Hant": "調查實施", "zh-Hans": "调查实施", "en": "Fieldwork"},
    "organization": {"zh-Hant": "調查單位", "zh-Hans": "调查单位", "en": "Organization"},
    "period": {"zh-Hant": "調查時間", "zh-Hans": "调查时间", "en": "Fieldwork period"},
    "mode": {"zh-Hant": "調查方式", "zh-Hans": "调查方式", "en": "Mode"},
    "issued": {"zh-Hant": "發放", "zh-Hans": "发放", "en": "Issued"},
    "returned": {"zh-Hant": "回收", "zh-Hans": "回收", "en": "Returned"},
    "valid": {"zh-Hant": "有效", "zh-Hans": "有效", "en": "Valid"},
    "response_rate": {"zh-Hant": "回收率", "zh-Hans": "回收率", "en": "Response rate"},
    "valid_rate": {"zh-Hant": "有效率", "zh-Hans": "有效率", "en": "Valid rate"},
    "unit": {"zh-Hant": "單位", "zh-Hans": "单位", "en": "Unit"},
    "total": {"zh-Hant": "合計", "zh-Hans": "合计", "en": "Total"},
    "cover_summary": {
        "zh-Hant": "共發放問卷 {issued} 份，回收 {returned} 份（回收率 {rr}），"
        "其中有效問卷 {valid} 份（佔回收的 {vr}）。",
        "zh-Hans": "共发放问卷 {issued} 份，回收 {returned} 份（回收率 {rr}），"
        "其中有效问卷 {valid} 份（占回收的 {vr}）。",
        "en": "{issued} questionnaires were issued and {returned} returned (response rate "
        "{rr}); {valid} were valid ({vr} of those returned).",
    },
    "cover_rows": {
        "zh-Hant": "資料檔共 {read} 行，接受 {accepted} 行，剔除 {rejected} 行。",
        "zh-Hans": "数据文件共 {read} 行，接受 {accepted} 行，剔除 {rejected} 行。",
        "en": "The data file has {read} rows: {accepted} accepted, {rejected} rejected.",
    },
    "methods": {"zh-Hant": "方法說明", "zh-Hans": "方法说明", "en": "Methods"},
    "methods_text": {
        "zh-Hant": "- 調查方式：{mode}；樣本：{sample}。\n"
        "- 加權：{weighting}\n"
        "- 單選題報告百分比及 {conf}% 信賴區間（{ci_method}）；多選題以受訪者人數為基數，"
        "百分比合計可超過100%。\n"
        "- 交叉分析使用{tests}；效果量為 Cramér's V。顯著水準 α={alpha}。\n"
        "- 全報告的 {m} 個檢驗以 {correction} 方法校正多重比較，文中與表中的 p 值均為校正後的值。\n"
        "- 小格抑制：人數少於 {k} 的格子顯示為「<{k}」，其百分比不顯示。\n"
        "- 缺失值（跳題、未答、無效填答）不計入基數。",
        "zh-Hans": "- 调查方式：{mode}；样本：{sample}。\n"
        "- 加权：{weighting}\n"
        "- 单选题报告百分比及 {conf}% 置信区间（{ci_method}）；多选题以受访者人数为基数，"
        "百分比合计可超过100%。\n"
        "- 交叉分析使用{tests}；效应量为 Cramér's V。显著性水平 α={alpha}。\n"
        "- 全报告的 {m} 个检验以 {correction} 方法校正多重比较，文中与表中的 p 值均为校正后的值。\n"
        "- 小格抑制：人数少于 {k} 的格子显示为“<{k}”，其百分比不显示。\n"
        "- 缺失值（跳题、未答、无效填答）不计入基数。",
        "en": "- Mode: {mode}; sample: {sample}.\n"
        "- Weighting: {weighting}\n"
        "- Single-choice questions: percentages with {conf}% confidence intervals ({ci_method}); "
        "multiple-response questions use respondents as the base, so shares can add up to more "
        "than 100%.\n"
        "- Cross-tabulations are tested with {tests}; effect size Cramér's V; "
        "significance level α = {alpha}.\n"
        "- The {m} tests of this report are adjusted for multiple comparisons ({correction}); "
        "p-values in text and tables are adjusted.\n"
        "- Small cells: counts below {k} are shown as “<{k}” and their percentages are not "
        "shown.\n"
        "- Missing answers (skipped, no answer, invalid) are excluded from the bases.",
    },
    "tests_unweighted": {
        "zh-Hant": " Pearson 卡方檢驗；若表中有任何格子的期望次數小於 5，改用 Fisher 精確檢定"
        "（自由度不超過 {df} 或人數不超過 {nmax} 的表精確計算，每表以 {sec} 秒為限；"
        "其餘以 {b} 次蒙地卡羅模擬估計 p 值，亂數種子 {seed}；"
        "本報告共 {nf} 個表使用 Fisher 精確檢定）",
        "zh-Hans": " Pearson 卡方检验；若表中有任何格子的期望频数小于 5，改用 Fisher 精确检验"
        "（自由度不超过 {df} 或人数不超过 {nmax} 的表精确计算，每表以 {sec} 秒为限；"
        "其余以 {b} 次蒙特卡罗模拟估计 p 值，随机种子 {seed}；"
        "本报告共 {nf} 个表使用 Fisher 精确检验）",
        "en": "Pearson's chi-squared test, or Fisher's exact test when any cell of the table has "
        "an expected count below 5 (exact for tables with at most {df} degrees of freedom or "
        "{nmax} respondents when the enumeration finishes within {sec} s, otherwise a Monte "
        "Carlo p-value from {b} simulated tables, seed {seed}, as R's "
        "fisher.test(simulate.p.value = TRUE); {nf} tables of this report use Fisher's test)",
    },
    "tests_weighted": {
        "zh-Hant": " Rao–Scott 校正卡方檢驗（二階，F 分佈）",
        "zh-Hans": " Rao–Scott 校正卡方检验（二阶，F 分布）",
        "en": "the Rao–Scott second-order corrected chi-squared test (F reference "
        "distribution)",
    },
    "no_weighting": {
        "zh-Hant": "未加權，結果代表回收樣本。",
        "zh-Hans": "未加权，结果代表回收样本。",
        "en": "none; results describe the returned sample.",
    },
    "raked": {
        "zh-Hant": "以反覆比例調整（raking）使樣本的 {vars} 分佈與母體一致（目標：{file}）。",
        "zh-Hans": "以迭代比例调整（raking）使样本的 {vars} 分布与总体一致（目标：{file}）。",
        "en": "raked (iterative proportional fitting) to population totals of {vars} "
        "(targets: {file}).",
    },
    "quality": {"zh-Hant": "資料品質", "zh-Hans": "数据质量", "en": "Data quality"},
    "quality_none": {
        "zh-Hant": "資料檢查未發現問題。", "zh-Hans": "数据检查未发现问题。",
        "en": "The validation found no problems.",
    },
    "quality_text": {
        "zh-Hant": "資料檢查共發現 {n} 個問題（錯誤 {e} 個、警告 {w} 個），依規則與題目彙總如下。",
        "zh-Hans": "数据检查共发现 {n} 个问题（错误 {e} 个、警告 {w} 个），按规则与题目汇总如下。",
        "en": "The validation found {n} problems ({e} errors, {w} warnings), summarised by rule "
        "and question below.",
    },
    "results": {"zh-Hant": "調查結果", "zh-Hans": "调查结果", "en": "Results"},
    "other_questions": {"zh-Hant": "其他題目", "zh-Hans": "其他题目", "en": "Other questions"},
    "crosstabs": {"zh-Hant": "交叉分析", "zh-Hans": "交叉分析", "en": "Cross-tabulations"},
    "crosstabs_text": {
        "zh-Hant": "各題按 {vars} 交叉分析的檢驗結果（p 值經 {correction} 校正）。"
        "只列出差異顯著的交叉表。",
        "zh-Hans": "各题按 {vars} 交叉分析的检验结果（p 值经 {correction} 校正）。"
        "只列出差异显著的交叉表。",
        "en": "Tests of each question by {vars} (p-values adjusted, {correction}). Full tables "
        "are shown for the significant differences only.",
    },
    "no_sig": {
        "zh-Hant": "校正後沒有顯著差異。", "zh-Hans": "校正后没有显著差异。",
        "en": "No difference is significant after adjustment.",
    },
    "appendix": {"zh-Hant": "附錄", "zh-Hans": "附录", "en": "Appendix"},
    "codebook": {"zh-Hant": "編碼簿", "zh-Hans": "编码簿", "en": "Codebook"},
    "manifest": {"zh-Hant": "可重現性記錄", "zh-Hans": "可重现性记录", "en": "Reproducibility record"},
    "manifest_text": {
        "zh-Hant": "以下記錄本報告所用的問卷範本與資料檔的 SHA-256、參數與軟體版本；"
        "以相同輸入重新產生，得到位元組完全相同的報告。",
        "zh-Hans": "以下记录本报告所用的问卷模板与数据文件的 SHA-256、参数与软件版本；"
        "以相同输入重新生成，得到字节完全相同的报告。",
        "en": "The SHA-256 of the template and data files, the parameters and the software "
        "versions used for this report; rebuilding from the same inputs gives byte-identical "
        "output.",
    },
    "question": {"zh-Hant": "題目", "zh-Hans": "题目", "en": "Question"},
    "category": {"zh-Hant": "選項", "zh-Hans": "选项", "en": "Category"},
    "n": {"zh-Hant": "人數", "zh-Hans": "人数", "en": "n"},
    "n_weighted": {"zh-Hant": "加權人數", "zh-Hans": "加权人数", "en": "Weighted n"},
    "pct": {"zh-Hant": "百分比", "zh-Hans": "百分比", "en": "%"},
    "ci": {"zh-Hant": "95% 信賴區間", "zh-Hans": "95% 置信区间", "en": "95% CI"},
    "pct_respondents": {"zh-Hant": "佔受訪者%", "zh-Hans": "占受访者%", "en": "% of respondents"},
    "pct_responses": {"zh-Hant": "佔回答%", "zh-Hans": "占回答%", "en": "% of responses"},
    "base": {"zh-Hant": "基數", "zh-Hans": "基数", "en": "Base"},
    "by": {"zh-Hant": "分組變項", "zh-Hans": "分组变量", "en": "By"},
    "test": {"zh-Hant": "檢驗", "zh-Hans": "检验", "en": "Test"},
    "p_adj": {"zh-Hant": "校正後 p", "zh-Hans": "校正后 p", "en": "adjusted p"},
    "p_raw": {"zh-Hant": "原始 p", "zh-Hans": "原始 p", "en": "raw p"},
    "effect": {"zh-Hant": "Cramér's V", "zh-Hans": "Cramér's V", "en": "Cramér's V"},
    "not_computed": {
        "zh-Hant": "無法計算：{why}", "zh-Hans": "无法计算：{why}", "en": "Not computed: {why}",
    },
    "reliability": {"zh-Hant": "信度", "zh-Hans": "信度", "en": "Reliability"},
    "rule": {"zh-Hant": "規則", "zh-Hans": "规则", "en": "Rule"},
    "problems": {"zh-Hant": "問題數", "zh-Hans": "问题数", "en": "Problems"},
    "rows": {"zh-Hant": "涉及行數", "zh-Hans": "涉及行数", "en": "Rows"},
    "response_rates_title": {
        "zh-Hant": "各單位問卷回收情況", "zh-Hans": "各单位问卷回收情况",
        "en": "Questionnaires by unit",
    },
    "sample_default": {"zh-Hant": "全體回收問卷", "zh-Hans": "全体回收问卷", "en": "all returned questionnaires"},
    "unknown": {"zh-Hant": "未說明", "zh-Hans": "未说明", "en": "not stated"},
    "mean": {"zh-Hant": "平均數", "zh-Hans": "平均数", "en": "Mean"},
    "sd": {"zh-Hant": "標準差", "zh-Hans": "标准差", "en": "SD"},
    "top2": {"zh-Hant": "前兩項 %", "zh-Hans": "前两项 %", "en": "Top 2 %"},
    "bottom2": {"zh-Hant": "後兩項 %", "zh-Hans": "后两项 %", "en": "Bottom 2 %"},
    "errors": {"zh-Hant": "錯誤", "zh-Hans": "错误", "en": "Errors"},
    "warnings": {"zh-Hant": "警告", "zh-Hans": "警告", "en": "Warnings"},
    "cb_variable": {"zh-Hant": "變數", "zh-Hans": "变量", "en": "Variable"},
    "cb_label": {"zh-Hant": "題目", "zh-Hans": "题目", "en": "Label"},
    "cb_type": {"zh-Hant": "題型", "zh-Hans": "题型", "en": "Type"},
    "cb_values": {"zh-Hant": "編碼", "zh-Hans": "编码", "en": "Codes"},
    "cb_skip": {"zh-Hant": "跳答條件", "zh-Hans": "跳答条件", "en": "Asked when"},
    "ci_method": {"zh-Hant": "Wilson 法或設計基礎法", "zh-Hans": "Wilson 法或设计基础法",
                  "en": "Wilson, or design-based when weighted"},
    # per-table footnotes, rendered from the facts each result carries
    "note_base_freq": {
        "zh-Hant": "基數：{valid} 個有效回答{w}（共 {total} 位受訪者{missing}）；百分比以有效回答為基數。",
        "zh-Hans": "基数：{valid} 个有效回答{w}（共 {total} 位受访者{missing}）；百分比以有效回答为基数。",
        "en": "Base: {valid} valid answers{w} of {total} respondents{missing}; percentages of "
        "the valid answers.",
    },
    "note_missing": {
        "zh-Hant": "，{m} 位未有效作答，不計入", "zh-Hans": "，{m} 位未有效作答，不计入",
        "en": "; {m} without a valid answer excluded",
    },
    "note_weighted_n": {
        "zh-Hant": "，加權後 {wn}", "zh-Hans": "，加权后 {wn}", "en": " (weighted {wn})",
    },
    "note_ci_wilson": {
        "zh-Hant": "{conf}% 信賴區間以 Wilson 法計算。",
        "zh-Hans": "{conf}% 置信区间以 Wilson 法计算。",
        "en": "{conf}% confidence intervals by the Wilson method.",
    },
    "note_ci_design": {
        "zh-Hant": "加權估計（設計基礎）；{conf}% 信賴區間為 logit 區間。",
        "zh-Hans": "加权估计（基于设计）；{conf}% 置信区间为 logit 区间。",
        "en": "Weighted (design-based) estimates; {conf}% logit confidence intervals.",
    },
    "note_ci_mean": {
        "zh-Hant": "標準誤以泰勒線性化計算；{conf}% 信賴區間使用常態分位數。",
        "zh-Hans": "标准误以泰勒线性化计算；{conf}% 置信区间使用正态分位数。",
        "en": "Standard error by Taylor linearisation; {conf}% confidence interval from the "
        "normal quantile.",
    },
    "note_base_mean": {
        "zh-Hant": "基數：{n} 位作答者{missing}。", "zh-Hans": "基数：{n} 位作答者{missing}。",
        "en": "Base: {n} respondents{missing}.",
    },
    "note_base_multi": {
        "zh-Hant": "基數：{base} {n} 份{w}，共 {resp} 個回答；可複選，百分比合計可超過 100%。",
        "zh-Hans": "基数：{base} {n} 份{w}，共 {resp} 个回答；可多选，百分比合计可超过 100%。",
        "en": "Base: {n} {base}{w}; {resp} responses; several answers allowed, so the "
        "percentages can add up to more than 100%.",
    },
    "base_returned": {"zh-Hant": "全部回收問卷", "zh-Hans": "全部回收问卷",
                      "en": "returned questionnaires"},
    "base_answered": {"zh-Hant": "作答本題的問卷", "zh-Hans": "作答本题的问卷",
                      "en": "questionnaires answering the question"},
    "note_likert": {
        "zh-Hant": "選項依序計為 1 至 {k} 分；前兩項／後兩項 % 為選擇最高／最低兩個選項的有效回答比例。",
        "zh-Hans": "选项依序计为 1 至 {k} 分；前两项／后两项 % 为选择最高／最低两个选项的有效回答比例。",
        "en": "Options scored 1 to {k} in their order; top 2 / bottom 2 % = share of the valid "
        "answers in the two highest / lowest options.",
    },
    "note_base_likert": {
        "zh-Hant": "基數：{n} 位受訪者；各題的作答人數見表。",
        "zh-Hans": "基数：{n} 位受访者；各题的作答人数见表。",
        "en": "Base: {n} respondents; the number answering each item is in the table.",
    },
    "note_base_ct": {
        "zh-Hant": "基數：兩題均有效作答的 {n} 位受訪者{w}；缺失不計入。",
        "zh-Hans": "基数：两题均有效作答的 {n} 位受访者{w}；缺失不计入。",
        "en": "Base: {n} respondents with valid answers to both questions{w}; missing answers "
        "excluded.",
    },
    "note_test": {
        "zh-Hant": "檢驗：{test}{adj}。", "zh-Hans": "检验：{test}{adj}。", "en": "Test: {test}{adj}.",
    },
    "note_adjusted": {
        "zh-Hant": "（p 值經 {correction} 校正）", "zh-Hans": "（p 值经 {correction} 校正）",
        "en": " (p adjusted, {correction})",
    },
    "note_small_expected": {
        "zh-Hant": "{cells} 個格子中有 {small} 個期望次數小於 5（最小 {min}），故報告 Fisher 精確檢定。",
        "zh-Hans": "{cells} 个格子中有 {small} 个期望频数小于 5（最小 {min}），故报告 Fisher 精确检验。",
        "en": "{small} of {cells} cells have an expected count below 5 (minimum {min}), so "
        "Fisher's exact test is reported.",
    },
    "note_suppressed": {
        "zh-Hant": "人數少於 {k} 的格子顯示為「<{k}」，其百分比不顯示。",
        "zh-Hans": "人数少于 {k} 的格子显示为“<{k}”，其百分比不显示。",
        "en": "Counts below {k} are shown as “<{k}” and their percentages are not shown.",
    },
    "note_unweighted": {"zh-Hant": "未加權。", "zh-Hans": "未加权。", "en": "Unweighted."},
    "note_weighted": {
        "zh-Hant": "已加權（{how}）。", "zh-Hans": "已加权（{how}）。", "en": "Weighted ({how}).",
    },
    "raking_short": {"zh-Hant": "反覆比例調整", "zh-Hans": "迭代比例调整",
                     "en": "raking"},
    "fisher_mc": {
        "zh-Hant": "（蒙地卡羅模擬，B={b}）", "zh-Hans": "（蒙特卡罗模拟，B={b}）",
        "en": " (Monte Carlo, B = {b})",
    },
    "note_raking": {
        "zh-Hant": "反覆比例調整經 {it} 次迭代{conv}；Kish 設計效應 {deff}，有效樣本量 {neff}；"
        "標準誤使用調整後的殘差計算。",
        "zh-Hans": "迭代比例调整经 {it} 次迭代{conv}；Kish 设计效应 {deff}，有效样本量 {neff}；"
        "标准误使用调整后的残差计算。",
        "en": "Raking took {it} iterations{conv}; Kish design effect {deff}, effective sample "
        "size {neff}; standard errors use the raking residuals.",
    },
    "targets_in_parameters": {"zh-Hant": "報告參數", "zh-Hans": "报告参数",
                              "en": "the report parameters"},
    "converged": {"zh-Hant": "後收斂", "zh-Hans": "后收敛", "en": " and converged"},
    "not_converged": {"zh-Hant": "仍未收斂", "zh-Hans": "仍未收敛", "en": " without converging"},
    # validation rules, for the data-quality summary
    "check_rule": {"zh-Hant": "校驗：{text}", "zh-Hans": "校验：{text}", "en": "Check: {text}"},
}

#: short names of the validation rules (survey.validation.engine) in each language
RULE_NAMES: dict[str, dict[str, str]] = {
    "unknown_code": {"zh-Hant": "無效代碼", "zh-Hans": "无效代码", "en": "Invalid code"},
    "double_mark": {"zh-Hant": "單選題多選", "zh-Hans": "单选题多选",
                    "en": "Several boxes on a single-choice question"},
    "type": {"zh-Hant": "資料類型不符", "zh-Hans": "数据类型不符", "en": "Wrong type"},
    "constraint": {"zh-Hant": "不符合約束條件", "zh-Hans": "不符合约束条件",
                   "en": "Constraint not met"},
    "required": {"zh-Hant": "必答題未作答", "zh-Hans": "必答题未作答",
                 "en": "Required question blank"},
    "skip_violation": {"zh-Hant": "應跳過卻作答", "zh-Hans": "应跳过却作答",
                       "en": "Answered although skipped"},
    "max_choices": {"zh-Hant": "選項數超過上限", "zh-Hans": "选项数超过上限",
                    "en": "Too many options ticked"},
    "exclusive": {"zh-Hant": "互斥選項同選", "zh-Hans": "互斥选项同选",
                  "en": "Exclusive option combined"},
    "other_without_text": {"zh-Hant": "選「其他」未填寫", "zh-Hans": "选“其他”未填写",
                           "en": "“Other” without text"},
    "text_without_other": {"zh-Hant": "填寫「其他」但未勾選", "zh-Hans": "填写“其他”但未勾选",
                           "en": "Text without “other”"},
    "duplicate_id": {"zh-Hant": "受訪者編號重複（內容相同）", "zh-Hans": "受访者编号重复（内容相同）",
                     "en": "Duplicate respondent id (same answers)"},
    "duplicate_id_conflict": {"zh-Hant": "受訪者編號重複（內容不同）",
                              "zh-Hans": "受访者编号重复（内容不同）",
                              "en": "Duplicate respondent id (different answers)"},
    "blank_form": {"zh-Hant": "空白問卷", "zh-Hans": "空白问卷", "en": "Blank form"},
    "incomplete": {"zh-Hant": "平台標記未完成", "zh-Hans": "平台标记未完成",
                   "en": "Incomplete (platform)"},
    "straightlining": {"zh-Hant": "矩陣題答案完全相同", "zh-Hans": "矩阵题答案完全相同",
                       "en": "Straightlining"},
    "speeder": {"zh-Hant": "作答過快", "zh-Hans": "作答过快", "en": "Too fast"},
    "check": {"zh-Hant": "校驗未通過", "zh-Hans": "校验未通过", "en": "Check failed"},
}


def rule_name(key: str, language: str, checks=None) -> str:
    """The validation rule ``key`` (``check:<id>`` for a template check) in ``language``;
    a check is named by its own message in that language when ``checks`` (the template's
    checks) has it.

    >>> rule_name("straightlining", "zh-Hant"), rule_name("check:x", "en")
    ('矩陣題答案完全相同', 'Check: x')
    """
    lang = normalize_language(language)
    if key in RULE_NAMES:
        return RULE_NAMES[key][lang]
    if key.startswith("check:"):
        cid = key.split(":", 1)[1]
        text = cid
        for c in checks or ():
            if getattr(c, "id", None) == cid:
                msg = getattr(c, "message", None) or {}
                if isinstance(msg, str):
                    text = msg or cid
                elif msg:
                    from .findings import normalize_language as _norm

                    by_lang = {_norm(k): v for k, v in msg.items() if v}
                    order = [lang, "en"] if lang == "en" else [lang, "zh-Hant", "zh-Hans"]
                    text = next((by_lang[k] for k in order if k in by_lang),
                                next(iter(by_lang.values()), cid))
        return TEXTS["check_rule"][lang].format(text=text)
    return key


def t(key: str, language: str, **kw) -> str:
    """A fixed text in the report language.

    >>> t("appendix", "zh-Hant"), t("appendix", "en")
    ('附錄', 'Appendix')
    """
    lang = normalize_language(language)
    text = TEXTS[key][lang]
    return text.format(**kw) if kw else text
