"""Fixed texts of the report notebooks (headings, methods, table headers) in three languages."""

from __future__ import annotations

from ..i18n import normalize_language, table

TEXTS: dict[str, dict[str, str]] = table("report")

#: short names of the validation rules (survey.validation.engine) in each language
RULE_NAMES: dict[str, dict[str, str]] = table("rule")


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
                    by_lang = {normalize_language(k, strict=False): v
                               for k, v in msg.items() if v}
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
