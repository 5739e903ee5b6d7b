"""The few words of the data-entry screens, in the template languages (one small catalogue).

Problem messages come from the validation catalogue and the template itself; these are only
the words of the screens. Language tags are normalised by the validation catalogue's
``pick_language`` (zh-TW -> zh-Hant, zh-CN -> zh-Hans, anything else -> en).
"""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "app": {"en": "Data entry", "zh-Hans": "数据录入", "zh-Hant": "資料錄入"},
    "clerk": {"en": "Clerk", "zh-Hans": "录入员", "zh-Hant": "錄入員"},
    "pass": {"en": "Pass", "zh-Hans": "录入遍次", "zh-Hant": "錄入遍次"},
    "pass1": {"en": "First entry", "zh-Hans": "第一遍录入", "zh-Hant": "第一遍錄入"},
    "pass2": {"en": "Second entry (blind)", "zh-Hans": "第二遍录入（盲录）",
              "zh-Hant": "第二遍錄入（盲錄）"},
    "start": {"en": "Start keying", "zh-Hans": "开始录入", "zh-Hant": "開始錄入"},
    "save": {"en": "Save form", "zh-Hans": "保存本份问卷", "zh-Hant": "儲存本份問卷"},
    "saved": {"en": "Saved form {id}. Next form:", "zh-Hans": "已保存问卷 {id}。下一份：",
              "zh-Hant": "已儲存問卷 {id}。下一份："},
    "refused": {"en": "Not saved: correct the problems below.",
                "zh-Hans": "未保存：请更正以下问题。", "zh-Hant": "未儲存：請更正以下問題。"},
    "confirm_needed": {
        "en": "Not saved yet: check the warnings below against the paper form, then tick "
              "the box and save again.",
        "zh-Hans": "尚未保存：请对照纸质问卷核对以下提示，勾选确认后再保存。",
        "zh-Hant": "尚未儲存：請對照紙本問卷核對以下提示，勾選確認後再儲存。"},
    "confirm": {"en": "The answers are as on the paper form",
                "zh-Hans": "答案与纸质问卷一致", "zh-Hant": "答案與紙本問卷一致"},
    "id_missing": {"en": "the questionnaire number is required to save a form",
                   "zh-Hans": "必须填写问卷编号才能保存", "zh-Hant": "必須填寫問卷編號才能儲存"},
    "duplicate": {"en": "questionnaire {id} is already keyed in this pass (by {clerk})",
                  "zh-Hans": "问卷 {id} 在本遍已录入（录入员：{clerk}）",
                  "zh-Hant": "問卷 {id} 在本遍已錄入（錄入員：{clerk}）"},
    "stale": {"en": "someone saved form {id} meanwhile; reopen it and key the change again",
              "zh-Hans": "问卷 {id} 已被他人更新，请重新打开后再修改",
              "zh-Hant": "問卷 {id} 已被他人更新，請重新開啟後再修改"},
    "unknown_field": {"en": "'{name}' is not a question of the template",
                      "zh-Hans": "「{name}」不是模板中的题目", "zh-Hant": "「{name}」不是範本中的題目"},
    "blank": {"en": "the form is blank", "zh-Hans": "问卷为空白", "zh-Hant": "問卷為空白"},
    "editing": {"en": "Correcting form {id} (pass {pass_})", "zh-Hans": "修改问卷 {id}（第 {pass_} 遍）",
                "zh-Hant": "修改問卷 {id}（第 {pass_} 遍）"},
    "codes": {"en": "Type the code", "zh-Hans": "输入代码", "zh-Hant": "輸入代碼"},
    "at_most": {"en": "at most {n}", "zh-Hans": "最多选 {n} 项", "zh-Hant": "最多選 {n} 項"},
    "compare": {"en": "Compare the two entries", "zh-Hans": "比对两遍录入",
                "zh-Hant": "比對兩遍錄入"},
    "no_disagreements": {"en": "The two entries agree on every field.",
                         "zh-Hans": "两遍录入全部一致。", "zh-Hant": "兩遍錄入全部一致。"},
    "form_id": {"en": "Questionnaire", "zh-Hans": "问卷编号", "zh-Hant": "問卷編號"},
    "question": {"en": "Question", "zh-Hans": "题目", "zh-Hant": "題目"},
    "first": {"en": "First entry", "zh-Hans": "第一遍", "zh-Hant": "第一遍"},
    "second": {"en": "Second entry", "zh-Hans": "第二遍", "zh-Hant": "第二遍"},
    "decision": {"en": "Decision", "zh-Hans": "裁定", "zh-Hant": "裁定"},
    "decide": {"en": "Decide", "zh-Hans": "裁定", "zh-Hant": "裁定"},
    "decided": {"en": "decided by {clerk} at {at}", "zh-Hans": "由 {clerk} 于 {at} 裁定",
                "zh-Hant": "由 {clerk} 於 {at} 裁定"},
    "other_value": {"en": "other value", "zh-Hans": "其他值", "zh-Hant": "其他值"},
    "blank_value": {"en": "(blank)", "zh-Hans": "（空白）", "zh-Hant": "（空白）"},
    "only_one_pass": {"en": "Keyed in one pass only", "zh-Hans": "只录入了一遍",
                      "zh-Hant": "只錄入了一遍"},
    "progress": {"en": "Progress", "zh-Hans": "进度", "zh-Hant": "進度"},
    "unit": {"en": "Unit", "zh-Hans": "单位", "zh-Hant": "單位"},
    "returned": {"en": "Returned", "zh-Hans": "回收", "zh-Hant": "回收"},
    "keyed": {"en": "Keyed", "zh-Hans": "已录入", "zh-Hant": "已錄入"},
    "double_keyed": {"en": "Double-keyed", "zh-Hans": "已双录", "zh-Hant": "已雙錄"},
    "open": {"en": "Disagreements open", "zh-Hans": "待裁定差异", "zh-Hant": "待裁定差異"},
    "forbidden": {"en": "Refused: the page is out of date or came from another site. Reload "
                  "the form and try again.",
                  "zh-Hans": "已拒绝：页面已过期或来自其他网站。请重新载入后再试。",
                  "zh-Hant": "已拒絕：頁面已過期或來自其他網站。請重新載入後再試。"},
    "token": {"en": "This entry server needs its access token: open the link with ?token=… "
              "that was printed when it started.",
              "zh-Hans": "本录入服务需要访问令牌：请打开启动时打印的带 ?token=… 的链接。",
              "zh-Hant": "本錄入服務需要存取權杖：請開啟啟動時印出的帶 ?token=… 的連結。"},
    "clerk_needed": {"en": "enter your name to start", "zh-Hans": "请输入姓名后开始",
                     "zh-Hant": "請輸入姓名後開始"},
    "home": {"en": "Start page", "zh-Hans": "首页", "zh-Hant": "首頁"},
    "new_form": {"en": "New form", "zh-Hans": "新问卷", "zh-Hant": "新問卷"},
}


def word(key: str, language: str, **fields: object) -> str:
    """The screen word ``key`` in ``language`` (already normalised), fields filled in."""
    text = WORDS[key].get(language) or WORDS[key]["en"]
    return text.format(**fields) if fields else text
