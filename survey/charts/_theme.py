"""House theme: readable sizes, colour-blind-safe palettes, Noto Sans CJK in the right form.

Nothing here imports matplotlib at module level; `import survey.charts` stays light.
"""

from __future__ import annotations

import glob
import os
import unicodedata
from functools import lru_cache
from typing import Any

# ColorBrewer RdBu ends (colour-blind safe); the neutral category is grey.
NEGATIVE = "#B2182B"
POSITIVE = "#2166AC"
NEUTRAL = "#BDBDBD"

_FONTS = {
    "zh-Hant": "Noto Sans CJK TC",
    "zh-TW": "Noto Sans CJK TC",
    "zh-HK": "Noto Sans CJK HK",
    "zh-Hans": "Noto Sans CJK SC",
    "zh-CN": "Noto Sans CJK SC",
    "zh": "Noto Sans CJK SC",
    "ja": "Noto Sans CJK JP",
    "ko": "Noto Sans CJK KR",
}
_CJK_GLOB = "/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc"


def font_family(language: str | None) -> list[str]:
    """Font fallback list for ``language``: the regional Noto Sans CJK face first.

    English text gets DejaVu Sans for Latin and Noto Sans CJK SC for any Chinese in the data
    (matplotlib falls back glyph by glyph through the list).
    """
    from ..i18n import normalize_language

    lang = (language or "en").replace("_", "-")
    if lang.lower().startswith("zh") and lang not in _FONTS:
        lang = normalize_language(lang, strict=False)  # zh-SG, zh_CN, zh-Hans-HK ...
    cjk = _FONTS.get(lang) or _FONTS.get(lang.split("-")[0])
    if cjk is None:
        return ["DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK TC"]
    others = [f for f in ("Noto Sans CJK SC", "Noto Sans CJK TC") if f != cjk]
    return [cjk, *others, "DejaVu Sans"]


def _ensure_cjk_fonts() -> None:
    """Guard against a font cache built before fonts-noto-cjk was installed."""
    from matplotlib import font_manager as fm

    names = {f.name for f in fm.fontManager.ttflist}
    if "Noto Sans CJK SC" not in names:
        for path in sorted(glob.glob(_CJK_GLOB)):
            try:
                fm.fontManager.addfont(path)
            except (OSError, RuntimeError):  # pragma: no cover - unreadable font file
                pass


@lru_cache(maxsize=1)
def _colorblind() -> tuple[str, ...]:
    import seaborn as sns

    return tuple(sns.color_palette("colorblind").as_hex())


def colorblind(k: int | None = None) -> list[str]:
    """Seaborn's colour-blind-safe qualitative palette (hex), ``k`` colours (cycled).

    Seaborn's ``"colorblind"`` palette is a variant of Okabe & Ito's (2008), distinguishable
    with the common colour-vision deficiencies. Imports seaborn on first use only.
    """
    cols = _colorblind()
    n = len(cols) if k is None else k
    return [cols[i % len(cols)] for i in range(n)]


@lru_cache(maxsize=1)
def _seaborn_base() -> tuple[tuple[str, Any], ...]:
    import seaborn as sns

    rc = {**sns.axes_style("whitegrid"), **sns.plotting_context("notebook")}
    return tuple(rc.items())


def theme_rc(language: str | None = None) -> dict[str, Any]:
    """The rcParams of the house theme (used by every chart through ``rc_context``).

    Seaborn's ``whitegrid`` style and ``notebook`` context, then our overrides: the font of
    the language, readable sizes, the colour-blind palette, reproducible SVG.
    """
    from cycler import cycler

    return {**dict(_seaborn_base()), **_overrides(language, cycler)}


def _overrides(language: str | None, cycler) -> dict[str, Any]:
    return {
        # concrete family names (not "sans-serif"): text keeps its font when drawn later,
        # outside this theme's rc_context
        "font.family": font_family(language),
        "font.sans-serif": font_family(language),
        "font.size": 11,
        "axes.titlesize": 13,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.labelsize": 11,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "legend.fontsize": 10,
        "legend.frameon": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "x",
        "grid.color": "#E5E5E5",
        "grid.linewidth": 0.8,
        "axes.axisbelow": True,
        "axes.prop_cycle": cycler(color=colorblind()),
        "axes.edgecolor": "#BBBBBB",
        "xtick.bottom": True,
        "ytick.left": False,
        "xtick.major.size": 3,
        "patch.force_edgecolor": False,
        "axes.unicode_minus": True,  # Noto CJK has U+2212
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "savefig.bbox": None,
        "svg.hashsalt": "survey",
        "svg.fonttype": "path",
        "pdf.fonttype": 42,
        "image.cmap": "RdBu_r",
    }


def set_theme(language: str | None = "zh-Hant", *, deterministic: bool = True) -> None:
    """Apply the house theme globally: ``seaborn.set_theme`` plus our rc overrides.

    Seaborn's whitegrid style, readable sizes, seaborn's colour-blind-safe palette and the
    Noto Sans CJK face
    of the language's regional form (zh-Hant -> TC, zh-Hans -> SC, en -> DejaVu Sans with SC
    as fallback). With ``deterministic`` (default), SVG output is reproducible: a fixed
    ``svg.hashsalt``, glyphs as paths, and ``SOURCE_DATE_EPOCH=0`` (if not set) so no build
    date enters SVG/PDF metadata.

    >>> set_theme("zh-Hans")
    >>> import matplotlib as mpl
    >>> mpl.rcParams["font.sans-serif"][0]
    'Noto Sans CJK SC'
    """
    import seaborn as sns

    _ensure_cjk_fonts()
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind",
                  rc=theme_rc(language))
    if deterministic:
        os.environ.setdefault("SOURCE_DATE_EPOCH", "0")


def _ensure_deterministic() -> None:
    """Make SVG ids reproducible even when the user never called `set_theme`."""
    import matplotlib as mpl

    if mpl.rcParams.get("svg.hashsalt") is None:
        mpl.rcParams["svg.hashsalt"] = "survey"


# --- text --------------------------------------------------------------------------------
_NO_LINE_START = set("，。、；：？！）》」』】〕,.;:?!)]}%…")
_NO_LINE_END = set("（《「『【〔([{")
_BREAK_AFTER = set("，、；：。")


def char_width(ch: str) -> int:
    """Display width: 2 for East Asian wide/full-width characters, else 1."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def wrap_text(text: str, width: int = 24) -> str:
    """Wrap ``text`` to lines of at most ``width`` columns (a CJK character counts 2).

    Latin words are not split (break at spaces); CJK text breaks between characters, but
    never puts closing punctuation at a line start or opening punctuation at a line end.

    >>> wrap_text("培训内容贴近基层实际，针对性强", 12)
    '培训内容贴近\\n基层实际，\\n针对性强'
    >>> wrap_text("Content fits grassroots work", 12)
    'Content fits\\ngrassroots\\nwork'
    """
    text = str(text)
    total = text_width(text)
    if total <= width:
        return text
    # balance the lines: as many lines as needed, each about equally long; where breaking
    # at words makes one line more than that, widen towards ``width`` until it does not
    n_lines = -(-total // width)
    tokens = _tokens(text)
    target = min(width, -(-total // n_lines) + 2)
    lines = _fill(tokens, target)
    while len(lines) > n_lines and target < width:
        target += 1
        lines = _fill(tokens, target)
    return "\n".join(lines)


def _tokens(text: str) -> list[str]:
    """Runs of non-space Latin characters stay together; CJK characters and spaces alone."""
    tokens: list[str] = []
    buf = ""
    for ch in text:
        if char_width(ch) == 2 or ch.isspace():
            if buf:
                tokens.append(buf)
                buf = ""
            tokens.append(ch)
        else:
            buf += ch
    if buf:
        tokens.append(buf)
    return tokens


def _fill(tokens: list[str], width: int) -> list[str]:
    """Greedy lines of at most ``width`` columns (punctuation rules of :func:`wrap_text`)."""
    lines: list[str] = []
    cur = ""
    for tok in tokens:
        if tok.isspace() and not cur:
            continue
        if cur and text_width(cur) + text_width(tok) > width and not tok.isspace():
            if tok[0] in _NO_LINE_START:  # keep closing punctuation on the line
                cur += tok
                continue
            carry = ""
            if cur[-1] in _NO_LINE_END:
                cur, carry = cur[:-1], cur[-1]
            else:  # prefer to break just after CJK punctuation near the end of the line
                for back in (1, 2, 3):
                    if len(cur) > back + 1 and cur[-back - 1] in _BREAK_AFTER:
                        cur, carry = cur[:-back], cur[-back:]
                        break
            lines.append(cur.rstrip())
            cur = carry + tok
        else:
            cur += tok
    if cur.strip():
        lines.append(cur.rstrip())
    return lines
