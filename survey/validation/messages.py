"""Problem messages of the validation report, in zh-Hans, zh-Hant and English.

A template may hold ``{value}`` (the cell as read) and named fields filled once per batch
(``{question}``, ``{valid}``, ``{max}``, ...). Messages are built column-wise: the static
fields are formatted once, then the text around ``{value}`` is joined to the values.
"""

from __future__ import annotations

import pandas as pd

LANGUAGES = ("en", "zh-Hans", "zh-Hant")

MESSAGES: dict[str, dict[str, str]] = {
    "unknown_code": {
        "en": "'{value}' is not a code of '{question}' (valid: {valid})",
        "zh-Hans": "「{value}」不是「{question}」的有效代码（有效：{valid}）",
        "zh-Hant": "「{value}」不是「{question}」的有效代碼（有效：{valid}）",
    },
    "double_mark": {
        "en": "several boxes marked on single-choice '{question}': '{value}' (coded invalid)",
        "zh-Hans": "单选题「{question}」勾选了多个选项：「{value}」（按无效处理）",
        "zh-Hant": "單選題「{question}」勾選了多個選項：「{value}」（按無效處理）",
    },
    "type": {
        "en": "'{value}' is not {expected} ('{question}')",
        "zh-Hans": "「{value}」不是{expected}（「{question}」）",
        "zh-Hant": "「{value}」不是{expected}（「{question}」）",
    },
    "constraint": {
        "en": "'{value}' breaks the constraint of '{question}': {constraint}",
        "zh-Hans": "「{value}」不符合「{question}」的约束：{constraint}",
        "zh-Hant": "「{value}」不符合「{question}」的約束：{constraint}",
    },
    "required": {
        "en": "required question '{question}' is blank",
        "zh-Hans": "必答题「{question}」未作答",
        "zh-Hant": "必答題「{question}」未作答",
    },
    "skip_violation": {
        "en": "'{question}' answered ('{value}') although it should be skipped: {relevant} is false",
        "zh-Hans": "「{question}」应跳过却有作答（「{value}」）：条件 {relevant} 不成立",
        "zh-Hant": "「{question}」應跳過卻有作答（「{value}」）：條件 {relevant} 不成立",
    },
    "max_choices": {
        "en": "{value} options ticked on '{question}', at most {max} allowed",
        "zh-Hans": "「{question}」勾选了 {value} 项，最多允许 {max} 项",
        "zh-Hant": "「{question}」勾選了 {value} 項，最多允許 {max} 項",
    },
    "exclusive": {
        "en": "'{question}': option '{choice}' excludes the others, found '{value}'",
        "zh-Hans": "「{question}」：选项「{choice}」不能与其他选项同选，实际为「{value}」",
        "zh-Hant": "「{question}」：選項「{choice}」不能與其他選項同選，實際為「{value}」",
    },
    "other_without_text": {
        "en": "'{question}': '{choice}' ticked but '{text}' is blank",
        "zh-Hans": "「{question}」选了「{choice}」但「{text}」未填写",
        "zh-Hant": "「{question}」選了「{choice}」但「{text}」未填寫",
    },
    "text_without_other": {
        "en": "'{text}' filled ('{value}') but '{choice}' not ticked on '{question}'",
        "zh-Hans": "「{text}」已填写（「{value}」）但「{question}」未选「{choice}」",
        "zh-Hant": "「{text}」已填寫（「{value}」）但「{question}」未選「{choice}」",
    },
    "duplicate_exact": {
        "en": "respondent id '{value}' repeated: exact copy of row {first} (later copy rejected)",
        "zh-Hans": "受访者编号「{value}」重复：与第 {first} 行完全相同（后一份剔除）",
        "zh-Hant": "受訪者編號「{value}」重複：與第 {first} 列完全相同（後一份剔除）",
    },
    "duplicate_conflict": {
        "en": "respondent id '{value}' used by rows {rows} with different answers",
        "zh-Hans": "受访者编号「{value}」在第 {rows} 行重复且答案不同",
        "zh-Hant": "受訪者編號「{value}」在第 {rows} 列重複且答案不同",
    },
    "blank_form": {
        "en": "blank form: no question answered",
        "zh-Hans": "空白问卷：没有作答任何题目",
        "zh-Hant": "空白問卷：沒有作答任何題目",
    },
    "incomplete": {
        "en": "the platform marks this response as incomplete",
        "zh-Hans": "平台标记此问卷未完成",
        "zh-Hant": "平台標記此問卷未完成",
    },
    "straightlining": {
        "en": "same answer '{value}' to all {k} items of grid '{question}'",
        "zh-Hans": "矩阵题「{question}」的 {k} 个小题答案完全相同（「{value}」）",
        "zh-Hant": "矩陣題「{question}」的 {k} 個小題答案完全相同（「{value}」）",
    },
    "speeder": {
        "en": "completed in {value} s, under half the median time ({median} s)",
        "zh-Hans": "作答用时 {value} 秒，不到中位用时（{median} 秒）的一半",
        "zh-Hant": "作答用時 {value} 秒，不到中位用時（{median} 秒）的一半",
    },
    "check": {
        "en": "check '{id}' failed: {text} ({value})",
        "zh-Hans": "校验「{id}」未通过：{text}（{value}）",
        "zh-Hant": "校驗「{id}」未通過：{text}（{value}）",
    },
}

EXPECTED = {
    "integer": {"en": "a whole number", "zh-Hans": "整数", "zh-Hant": "整數"},
    "decimal": {"en": "a number", "zh-Hans": "数字", "zh-Hant": "數字"},
    "date": {"en": "a date (YYYY-MM-DD)", "zh-Hans": "日期（YYYY-MM-DD）",
             "zh-Hant": "日期（YYYY-MM-DD）"},
    "datetime": {"en": "a date and time", "zh-Hans": "日期时间", "zh-Hant": "日期時間"},
    "time": {"en": "a time (HH:MM)", "zh-Hans": "时间（HH:MM）", "zh-Hant": "時間（HH:MM）"},
}


def pick_language(language: str | None) -> str:
    """The message language for ``language`` (a BCP-47 tag); English when not available.

    >>> pick_language("zh-TW"), pick_language("zh-Hans"), pick_language(None)
    ('zh-Hant', 'zh-Hans', 'en')
    """
    if not language:
        return "en"
    tag = str(language)
    if tag in LANGUAGES:
        return tag
    low = tag.lower()
    if low.startswith("zh"):
        return "zh-Hant" if any(k in low for k in ("hant", "tw", "hk", "mo")) else "zh-Hans"
    return "en"


def expected_text(qtype: str, language: str) -> str:
    return EXPECTED.get(qtype, EXPECTED["decimal"])[language]


def render(key: str, language: str, values: pd.Series | None = None, /, **fields) -> pd.Series | str:
    """Message ``key`` in ``language``; with ``values``, one message per value (vectorized).

    >>> render("required", "en", question="age")
    "required question 'age' is blank"
    >>> render("max_choices", "en", pd.Series(["3"]), question="gains", max=2).tolist()
    ["3 options ticked on 'gains', at most 2 allowed"]
    """
    template = MESSAGES[key][language]
    safe = {k: str(v) for k, v in fields.items()}
    if values is None:
        return template.format(value="", **safe)
    head, _, tail = template.partition("{value}")
    head = head.format(**safe)
    tail = tail.format(**safe) if tail else ""
    vals = values.astype(object).where(values.notna(), "").astype(str)
    return head + vals + tail
