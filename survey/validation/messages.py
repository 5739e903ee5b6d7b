"""Problem messages of the validation report, in zh-Hans, zh-Hant and English.

A template may hold ``{value}`` (the cell as read) and named fields filled once per batch
(``{question}``, ``{valid}``, ``{max}``, ...). Messages are built column-wise: the static
fields are formatted once, then the text around ``{value}`` is joined to the values.
"""

from __future__ import annotations

import pandas as pd

from ..i18n import normalize_language, table

MESSAGES: dict[str, dict[str, str]] = table("validation")

EXPECTED = table("expected")


def pick_language(language: str | None) -> str:
    """The message language for ``language`` (a BCP-47 tag); English when not available
    (a template may be written in a language the toolkit has no messages in).

    >>> pick_language("zh-TW"), pick_language("zh-Hans"), pick_language(None)
    ('zh-Hant', 'zh-Hans', 'en')
    """
    return normalize_language(language, strict=False)


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
