"""The words of the data-entry screens: the ``entry`` namespace of the toolkit's catalogue
(`survey.i18n`). Problem messages come from the validation catalogue and the template."""

from __future__ import annotations


def language_of(tag: str | None) -> str:
    """The screen language for a BCP-47 tag (zh-TW -> zh-Hant; unknown -> en)."""
    from ..i18n import normalize_language

    return normalize_language(tag, strict=False)


def word(key: str, language: str, **fields: object) -> str:
    """The screen word ``key`` in ``language``, fields filled in."""
    from ..i18n import text

    return text(f"entry.{key}", language, **fields)
