"""Encoding detection for survey text files (formats.md §6).

Order: a BOM; strict UTF-8 of the whole file; then GB18030 and CP950 (Big5), which can both
decode the same bytes, scored against the template's own strings (question names and choice
labels in zh-Hans and zh-Hant); charset-normalizer restricted to those encodings only when
the template says nothing; an explicit ``encoding=`` always wins.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

from ..errors import IngestError, format_problem

CJK_CANDIDATES = ("gb18030", "cp950", "big5hkscs")


def _position(data: bytes, exc: UnicodeDecodeError) -> str:
    start = exc.start
    line = data.count(b"\n", 0, start) + 1
    col = start - (data.rfind(b"\n", 0, start) + 1) + 1
    return f"line {line}, byte {col} (offset {start}: {data[start:start + 4]!r})"


def decode_with(data: bytes, encoding: str, *, path: str = "<data>") -> str:
    """Decode ``data`` strictly; an `IngestError` names the line and byte on failure."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise IngestError(format_problem(
            where=str(path), expected="a known text encoding", found=repr(encoding),
            hint="use e.g. 'utf-8', 'utf-8-sig', 'gb18030', 'cp950', 'utf-16'")) from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise IngestError(format_problem(
            where=f"{path}, {_position(data, exc)}",
            expected=f"text in the {encoding} encoding",
            found="bytes that do not decode",
            hint="pass the right encoding= (gb18030 for Simplified Chinese Excel CSVs, cp950 "
                 "for Traditional, utf-16 for Excel 'Unicode Text'), or save the file as "
                 "'CSV UTF-8' from Excel")) from None


def _score(text: str, expected: Iterable[str]) -> int:
    return sum(len(s) for s in expected if s and s in text)


def _utf8_or_lookalike(data: bytes, text: str, expected: list[str]) -> tuple[str, float, str]:
    """Strict UTF-8 decoded; a short GB18030/Big5 file can decode as UTF-8 too (女 = C5 AE = Ů).

    UTF-8 stands unless another candidate matches strictly more of the template's own strings.
    """
    if text.isascii() or not expected:
        return "utf-8", 1.0, "strict UTF-8"
    best, best_score = "utf-8", _score(text, expected)
    for enc in CJK_CANDIDATES:
        try:
            score = _score(data.decode(enc), expected)
        except UnicodeDecodeError:
            continue
        if score > best_score:
            best, best_score = enc, score
    if best == "utf-8":
        return "utf-8", 1.0, "strict UTF-8"
    return best, 0.95, (
        f"the bytes are valid UTF-8 too, but {best.upper()} matches the template "
        f"{best_score} characters vs {_score(text, expected)}"
    )


def detect_encoding(
    data: bytes, *, expected: Iterable[str] = (), path: str = "<data>"
) -> tuple[str, float, str]:
    """Guess the encoding of ``data``: returns (encoding, confidence 0-1, how it was decided).

    >>> detect_encoding("性别,女".encode("gb18030"), expected=["性别", "女"])
    ('gb18030', 0.99, 'GB18030 and CP950 both decode; GB18030 matches the template 3 characters vs 0')
    >>> detect_encoding("a,b\\n1,2".encode())
    ('utf-8', 1.0, 'strict UTF-8')
    >>> detect_encoding("sex\\n女".encode("gb18030"), expected=["女", "男"])[0]  # also valid UTF-8
    'gb18030'
    >>> detect_encoding("sex\\n女".encode("utf-8"), expected=["女", "男"])[0]
    'utf-8'
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", 1.0, "UTF-8 byte-order mark"
    if data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
        return "utf-32", 1.0, "UTF-32 byte-order mark"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", 1.0, "UTF-16 byte-order mark"
    expected = [s for s in set(expected) if s and any(ord(ch) > 127 for ch in s)]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return _utf8_or_lookalike(data, text, expected)
    decoded = {}
    for enc in CJK_CANDIDATES:
        try:
            decoded[enc] = data.decode(enc)
        except UnicodeDecodeError:
            continue
    if len(decoded) == 1:
        enc = next(iter(decoded))
        return enc, 0.9, f"only {enc.upper()} decodes the bytes"
    if decoded:
        scores = {enc: _score(text, expected) for enc, text in decoded.items()}
        gb = scores.get("gb18030", -1)
        big5_enc = "cp950" if "cp950" in scores else "big5hkscs"
        big5 = scores.get(big5_enc, -1)
        if gb != big5 and max(gb, big5) > 0:
            best, other = ("gb18030", big5) if gb > big5 else (big5_enc, gb)
            return best, 0.99, (
                f"GB18030 and CP950 both decode; {best.upper()} matches the template "
                f"{scores[best]} characters vs {max(other, 0)}"
            )
    from charset_normalizer import from_bytes

    match = from_bytes(data, cp_isolation=["utf_8", "gb18030", "cp950", "big5hkscs", "utf_16"]).best()
    if match is not None:
        enc = codecs.lookup(match.encoding).name
        return enc, round(max(0.0, 1.0 - float(match.chaos)) * 0.8, 3), (
            "charset-normalizer (template strings did not decide)")
    if decoded:
        enc = next(iter(decoded))
        return enc, 0.3, f"{enc.upper()} decodes; nothing else confirmed it"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(format_problem(
            where=f"{path}, {_position(data, exc)}",
            expected="text in UTF-8, GB18030 or Big5",
            found="bytes that decode in none of them",
            hint="pass encoding= explicitly, or save the file as 'CSV UTF-8' from Excel")) from None
    raise AssertionError("unreachable")  # pragma: no cover
