"""Banner words and footnotes: the test, base, weighting and suppression notes of a banner
in the chosen language, every sentence taken from the i18n catalogue (namespace ``banner``,
one file per language: Simplified and Traditional Chinese are each written in their own
script, not converted). Cut from :mod:`survey.analysis.banner` along its seam.
"""

from __future__ import annotations


def _text(language: str | None) -> dict[str, str]:
    """The banner's words in ``language`` (unknown languages give English), plus the
    normalised tag under ``"language"``."""
    from ..i18n import normalize_language, words

    lang = normalize_language(language, strict=False)
    return {**words("banner", lang), "language": lang}


def _footnotes(ctx, s, n, filtered, suppress_below, min_base, preset, base_returned=()):
    """The footnotes of a banner: tests and correction, base, weighting and variance, the
    untested small columns, suppression; in the language of ``ctx.txt``."""
    t = ctx.txt
    notes = [_tests_note(ctx, t, preset)]
    returned = (t["note_returned"].format(vars=t["note_list_sep"].join(base_returned), n=n)
                if base_returned else "")
    notes.append(t["note_base"].format(
        n=n, filtered=t["note_filtered"] if filtered else "", returned=returned,
        percent=t["note_percent_" + ctx.percent]))
    weighted_by = t["note_weighted_by"].format(weight=s.weight) if ctx.weighted else ""
    if ctx.se == "design" and ctx.replicate:
        notes.append(weighted_by + t["note_design_replicate"].format(type=ctx.replicate,
                                                                     df=ctx.degf))
    elif ctx.se == "design":
        notes.append(weighted_by + t["note_design"].format(df=ctx.degf))
    elif ctx.weighted:
        notes.append(t["note_effective"].format(weight=s.weight))
    else:
        notes.append(t["note_unweighted"])
    notes.append(t["note_min_base"].format(min_base=min_base))
    if suppress_below > 0:
        notes.append(t["note_suppress"].format(k=suppress_below))
    return notes


def _tests_note(ctx, t: dict, preset) -> str:
    if ctx.test == "none":
        return t["note_no_tests"]
    levels = (t["note_levels_two"].format(strict=f"{ctx.alpha_strict:g}", alpha=f"{ctx.alpha:g}")
              if ctx.alpha_strict is not None else t["note_levels_one"].format(
                  alpha=f"{ctx.alpha:g}"))
    return t["note_letters"].format(
        levels=levels, correction=t["note_correction_" + ctx.correction],
        scope=t["note_scope_" + ctx.scope],
        preset=t["note_preset"].format(preset=preset) if preset else "")
