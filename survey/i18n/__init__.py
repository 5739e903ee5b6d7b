"""One language service for the whole toolkit: tag normalisation and the message catalogue.

Every module that shows words to a user (reports, charts, tables, validation messages, the
paper form, the codebook) takes its language through :func:`normalize_language` and its words
from one catalogue per language, ``survey/i18n/catalogue/<tag>.yaml``. Every file holds the
same keys (a test checks it), grouped by namespace: ``report.methods``, ``chart.base`` ...

>>> from survey import i18n
>>> i18n.normalize_language("zh_CN"), i18n.normalize_language("zh-HK"), i18n.normalize_language("EN-gb")
('zh-Hans', 'zh-Hant', 'en')
>>> i18n.text("report.appendix", "zh-TW")
'附錄'
>>> i18n.text("chart.base", "en", n=1200)
'Base: 1,200 respondents'
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from ..errors import SurveyError

__all__ = ["LANGUAGES", "LanguageError", "normalize_language", "text", "table", "words",
           "catalogue"]

#: The languages the toolkit speaks (its catalogue files), in the order they are listed.
LANGUAGES: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant")

_DIR = Path(__file__).with_name("catalogue")

# Chinese regions and scripts (BCP-47 subtags, lower case) that select each written form.
_HANT = {"hant", "tw", "hk", "mo"}
_HANS = {"hans", "cn", "sg", "my"}


class LanguageError(SurveyError, ValueError):
    """A language the toolkit has no words for was asked for."""


def _subtags(tag: str) -> list[str]:
    return [p for p in str(tag).strip().replace("_", "-").lower().split("-") if p]


def normalize_language(tag: str | None, *, default: str | None = None,
                       strict: bool = True) -> str:
    """The catalogue language for a BCP-47 tag, normalised once for every module.

    ``zh``, ``zh-CN``, ``zh-SG``, ``zh_hans``, ``zh-Hans-CN`` give ``zh-Hans``; ``zh-TW``,
    ``zh-HK``, ``zh-MO``, ``zh-Hant`` give ``zh-Hant``; ``en`` and ``en-*`` give ``en``.
    Case and ``_``/``-`` do not matter; a script subtag wins over a region (``zh-Hans-HK``
    is Simplified).

    Parameters
    ----------
    tag : str or None
        The tag; ``None`` or ``""`` gives ``default`` (``"en"`` when not given).
    default : str, optional
        What an empty tag means (itself normalised).
    strict : bool, default True
        Unknown languages raise :class:`LanguageError` listing the available ones; with
        ``strict=False`` they give ``"en"`` (for words chosen from a template's own language,
        which may be one the toolkit does not speak).

    >>> normalize_language("zh-SG"), normalize_language("zh-Hans-HK"), normalize_language(None)
    ('zh-Hans', 'zh-Hans', 'en')
    >>> normalize_language("fr")
    Traceback (most recent call last):
    ...
    survey.i18n.LanguageError: language 'fr': expected one of en, zh-Hans, zh-Hant (or a tag such as zh-TW, zh-CN, en-GB). Hint: choose one of these languages; the toolkit has no words in 'fr'.
    >>> normalize_language("fr", strict=False)
    'en'
    """
    if tag is None or not str(tag).strip():
        return normalize_language(default, strict=strict) if default else "en"
    parts = _subtags(tag)
    if parts and parts[0] == "zh":
        rest = parts[1:]
        for p in rest:  # the script subtag decides before any region
            if p in ("hant", "hans"):
                return "zh-Hant" if p == "hant" else "zh-Hans"
        if any(p in _HANT for p in rest):
            return "zh-Hant"
        if not rest or any(p in _HANS for p in rest):
            return "zh-Hans"
    elif parts and parts[0] == "en":
        return "en"
    if not strict:
        return "en"
    from ..errors import format_problem

    raise LanguageError(format_problem(
        where=f"language {str(tag)!r}",
        expected=f"one of {', '.join(LANGUAGES)} (or a tag such as zh-TW, zh-CN, en-GB)",
        hint=f"choose one of these languages; the toolkit has no words in {str(tag)!r}"))


@cache
def catalogue(language: str) -> dict[str, dict[str, Any]]:
    """The whole catalogue of one (normalised) language: ``{namespace: {key: text}}``."""
    import yaml

    lang = normalize_language(language)
    with open(_DIR / f"{lang}.yaml", encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return data


def _entry(key: str, lang: str) -> Any:
    ns, _, name = key.partition(".")
    try:
        return catalogue(lang)[ns][name]
    except KeyError:
        from ..errors import did_you_mean

        known = [f"{n}.{k}" for n, d in catalogue(lang).items() for k in d]
        hint = did_you_mean(key, known) or "keys are 'namespace.name', e.g. 'report.appendix'"
        raise KeyError(f"message {key!r} is not in the {lang} catalogue. Hint: {hint}") from None


def text(key: str, language: str | None, /, **fmt: Any) -> Any:
    """The message ``key`` (``"namespace.name"``) in ``language``, formatted with ``fmt``.

    A list entry (e.g. ``finding.effect``) comes back as a list, unformatted.

    >>> text("report.valid", "zh-Hans"), text("finding.effect", "en")[2]
    ('有效', 'a moderate association')
    """
    value = _entry(key, normalize_language(language))
    if fmt and isinstance(value, str):
        return value.format(**fmt)
    return value


def words(namespace: str, language: str | None, *, strict: bool = True) -> dict[str, Any]:
    """All messages of one namespace in one language: ``{name: text}`` (a copy).

    >>> words("banner", "zh-TW")["total"]
    '合計'
    """
    return dict(catalogue(normalize_language(language, strict=strict))[namespace])


def table(namespace: str) -> dict[str, dict[str, Any]]:
    """One namespace in every language: ``{name: {language: text}}``.

    >>> table("report")["appendix"]["en"]
    'Appendix'
    """
    out: dict[str, dict[str, Any]] = {}
    for lang in LANGUAGES:
        for name, value in catalogue(lang)[namespace].items():
            out.setdefault(name, {})[lang] = value
    return out
