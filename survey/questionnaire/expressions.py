"""XLSForm expressions: a small recursive-descent parser and a vectorized evaluator.

The grammar is the XPath 1.0 subset used by XLSForm (``relevant``, ``constraint``,
``calculation``, ``required``, template ``checks``), lowest precedence first::

    expr    := or
    or      := and ("or" and)*
    and     := eq ("and" eq)*
    eq      := rel (("=" | "!=") rel)*
    rel     := add (("<" | "<=" | ">" | ">=") add)*
    add     := mul (("+" | "-") mul)*
    mul     := unary (("*" | "div" | "mod") unary)*
    unary   := "-" unary | union
    union   := primary ("|" primary)*
    primary := NUMBER | STRING | "${" NAME "}" | "." | ".." | FUNC "(" [expr ("," expr)*] ")"
               | "(" expr ")"

Nothing is ever passed to ``eval`` or ``exec``: text becomes a tree of small frozen
dataclasses, and :func:`evaluate` walks that tree with pandas/numpy operations over whole
columns.

>>> e = parse_expression("${age} >= 18 and selected(${gains}, 'other')")
>>> sorted(names(e))
['age', 'gains']
>>> to_text(e)
"${age} >= 18 and selected(${gains}, 'other')"
>>> parse_expression("${a} == 1")
Traceback (most recent call last):
...
survey.questionnaire.expressions.ExpressionError: expression "${a} == 1", column 6: '==' is not an XLSForm operator. Hint: write '=' to compare.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..errors import QuestionnaireError, did_you_mean

__all__ = [
    "Expr", "Num", "Str", "Ref", "Current", "Parent", "Func", "BinOp", "Neg", "Path",
    "ExpressionError", "parse_expression", "to_text", "names", "functions", "evaluate",
    "Name", "parse_choice_filter", "columns", "bind_names",
    "FUNCTIONS", "UNEVALUATED", "Opaque", "parse_or_keep",
]


class ExpressionError(QuestionnaireError):
    """An expression cannot be parsed or evaluated; ``pos`` is the 0-based offset (or None)."""

    def __init__(self, message: str, *, text: str = "", pos: int | None = None,
                 reason: str = "", hint: str | None = None):
        super().__init__(message)
        self.text, self.pos, self.reason, self.hint = text, pos, reason, hint


# --- the tree -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Expr:
    """Base class of expression nodes (compared by structure, not by position)."""


@dataclasses.dataclass(frozen=True)
class Num(Expr):
    text: str

    @property
    def value(self) -> float:
        return float(self.text)


@dataclasses.dataclass(frozen=True)
class Str(Expr):
    value: str


@dataclasses.dataclass(frozen=True)
class Ref(Expr):
    name: str
    prefix: str = ""  # e.g. "last-saved#"


@dataclasses.dataclass(frozen=True)
class Current(Expr):
    pass


@dataclasses.dataclass(frozen=True)
class Parent(Expr):
    pass


@dataclasses.dataclass(frozen=True)
class Root(Expr):
    """The document root of an absolute path (``/data/group/q``); kept verbatim."""


@dataclasses.dataclass(frozen=True)
class Func(Expr):
    name: str
    args: tuple[Expr, ...] = ()


@dataclasses.dataclass(frozen=True)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr


@dataclasses.dataclass(frozen=True)
class Neg(Expr):
    operand: Expr


@dataclasses.dataclass(frozen=True)
class Name(Expr):
    """A bare name in a ``choice_filter``: a column of the choices sheet (``state=${state}``)."""

    name: str


@dataclasses.dataclass(frozen=True)
class Opaque(Expr):
    """An expression the parser cannot read, kept verbatim and never evaluated.

    Only an XLSForm gives these (pyxform does not parse ``calculation``, ``relevant`` …, so a
    form it accepts may hold prose or a form-engine dialect): see `parse_or_keep`.
    """

    text: str
    reason: str = dataclasses.field(default="", compare=False)


@dataclasses.dataclass(frozen=True)
class Path(Expr):
    """A location path after a primary (``instance('x')/root/item[...]``); kept verbatim."""

    base: Expr
    path: str


# --- functions ---------------------------------------------------------------------------------
# name -> (min args, max args or None); evaluated by `evaluate`
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "selected": (2, 2), "count-selected": (1, 1), "selected-at": (2, 2), "not": (1, 1),
    "true": (0, 0), "false": (0, 0), "boolean": (1, 1), "boolean-from-string": (1, 1),
    "if": (3, 3), "coalesce": (2, 2), "string-length": (1, 1), "contains": (2, 2),
    "starts-with": (2, 2), "ends-with": (2, 2), "substr": (2, 3), "concat": (0, None),
    "normalize-space": (1, 1), "regex": (2, 2), "number": (1, 1), "int": (1, 1),
    "round": (1, 2), "string": (1, 1), "today": (0, 0), "date": (1, 1), "abs": (1, 1),
}
# accepted and kept verbatim for XLSForm, never evaluated
UNEVALUATED: dict[str, tuple[int, int | None]] = {
    "pulldata": (2, None), "instance": (1, 1), "position": (0, 1), "random": (0, 0),
    "uuid": (0, 1), "indexed-repeat": (3, None), "once": (1, 1), "jr:choice-name": (2, 2),
    "sum": (1, 1), "count": (1, 1), "count-non-empty": (1, 1), "max": (1, None),
    "min": (1, None), "now": (0, 0), "format-date": (2, 2), "format-date-time": (2, 2),
    "decimal-date-time": (1, 1), "decimal-time": (1, 1), "digest": (2, 3), "join": (2, 2),
    "randomize": (1, 2), "version": (0, 0), "property": (1, 1), "checklist": (3, None),
    "weighted-checklist": (3, None), "area": (1, 1), "distance": (1, None),
    "pow": (2, 2), "log": (1, 1), "exp": (1, 1), "sqrt": (1, 1), "floor": (1, 1),
    "ceiling": (1, 1), "translate": (3, 3), "substring-before": (2, 2),
    "substring-after": (2, 2), "string-length-bytes": (1, 1),
    # the rest of the ODK XForms function list (getodk/xforms-spec, getodk/docs
    # form-operators-functions) and XPath 1.0 core functions
    "sin": (1, 1), "cos": (1, 1), "tan": (1, 1), "asin": (1, 1), "acos": (1, 1),
    "atan": (1, 1), "atan2": (2, 2), "exp10": (1, 1), "log10": (1, 1), "pi": (0, 0),
    "date-time": (1, 1), "base64-decode": (1, 1), "extract-signed": (2, 2),
    "geofence": (2, 2), "current": (0, 0), "last": (0, 0), "substring": (2, 3),
    "local-name": (0, 1), "name": (0, 1), "namespace-uri": (0, 1), "lang": (1, 1),
    "id": (1, 1), "jr:itext": (1, 1),
}


# --- lexer -------------------------------------------------------------------------------------
_NCNAME = r"[A-Za-z_\u00C0-\uFFFF][\w.\-\u00B7\u00C0-\uFFFF]*"
_TOKEN = re.compile(
    rf"""(?P<ws>\s+)
    |(?P<num>\d+(?:\.\d*)?|\.\d+)
    |(?P<str>'[^']*'|"[^"]*")
    |(?P<ref>\$\{{(?P<refprefix>last-saved\#)?(?P<refname>{_NCNAME})\}})
    |(?P<bad>==|&&|\|\||!(?!=)|\$\{{[^}}]*\}}?)
    |(?P<op>!=|<=|>=|[=<>+\-*|(),/\[\]])
    |(?P<dots>\.\.|\.)
    |(?P<name>(?:jr:)?{_NCNAME}(?:::{_NCNAME})?)
    """,
    re.VERBOSE,
)
_BAD_HINTS = {
    "==": ("'==' is not an XLSForm operator", "write '=' to compare"),
    "&&": ("'&&' is not an XLSForm operator", "write 'and'"),
    "||": ("'||' is not an XLSForm operator", "write 'or'"),
    "!": ("'!' is not an XLSForm operator", "write not(...) to negate, '!=' for 'not equal'"),
}


@dataclasses.dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _error(text: str, pos: int | None, reason: str, hint: str | None = None) -> ExpressionError:
    shown = text if len(text) <= 200 else text[:200] + "..."
    where = f'expression "{shown}"' + (f", column {pos + 1}" if pos is not None else "")
    msg = f"{where}: {reason}." + (f" Hint: {hint.rstrip('.')}." if hint else "")
    return ExpressionError(msg, text=text, pos=pos, reason=reason, hint=hint)


def _tokens(text: str) -> Iterator[_Tok]:
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _error(text, pos, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup if m.lastgroup not in ("refprefix", "refname") else "ref"
        if kind == "bad":
            bad = m.group()
            if bad.startswith("${"):
                raise _error(text, pos, f"malformed reference {bad!r}",
                             "a reference is ${name}: a letter or _, then letters, digits, _ - .")
            reason, hint = _BAD_HINTS[bad]
            raise _error(text, pos, reason, hint)
        if kind == "ref":
            prefix = m.group("refprefix") or ""
            yield _Tok("ref", prefix + m.group("refname"), pos)
        elif kind != "ws":
            yield _Tok(kind, m.group(), pos)
        pos = m.end()
    yield _Tok("end", "", len(text))


# --- parser ------------------------------------------------------------------------------------
_LEVELS: list[tuple[str, ...]] = [
    ("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "div", "mod"),
]
PRECEDENCE = {op: i for i, ops in enumerate(_LEVELS) for op in ops}
PRECEDENCE["|"] = len(_LEVELS) + 1  # union binds tighter than unary minus


#: parentheses, function calls and unary minus inside each other (the parser recurses on them)
MAX_NESTING = 40
#: depth of the expression tree, chains included: a sum of 200 terms is 200 deep; every
#: consumer (evaluation, printing, the paper form) walks the tree recursively
MAX_DEPTH = 200


def _tree_depth(expr: Expr) -> int:
    """Depth of an expression tree, without recursion."""
    deepest, stack = 0, [(expr, 1)]
    while stack:
        e, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(e, BinOp):
            stack += [(e.left, d + 1), (e.right, d + 1)]
        elif isinstance(e, Func):
            stack += [(a, d + 1) for a in e.args]
        elif isinstance(e, Neg):
            stack.append((e.operand, d + 1))
        elif isinstance(e, Path):
            stack.append((e.base, d + 1))
    return deepest


class _Parser:
    def __init__(self, text: str, *, bare_names: bool = False):
        self.text = text
        self.bare_names = bare_names
        self.toks = list(_tokens(text))
        self.i = 0
        self.nesting = 0

    def nest(self, pos: int) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise _error(self.text, pos, f"parentheses, calls and signs nested more than "
                         f"{MAX_NESTING} levels deep", "split it into calculate questions")

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def is_op(self, ops: tuple[str, ...]) -> bool:
        t = self.tok
        return (t.kind == "op" or t.kind == "name") and t.text in ops

    def expect(self, text: str, what: str) -> _Tok:
        if self.tok.text != text or self.tok.kind not in ("op",):
            raise _error(self.text, self.tok.pos, f"expected {what}, found {self._found()}")
        return self.take()

    def _found(self) -> str:
        t = self.tok
        return "the end of the expression" if t.kind == "end" else repr(t.text)

    def parse(self) -> Expr:
        if self.tok.kind == "end":
            raise _error(self.text, 0, "the expression is empty")
        e = self.binary(0)
        if self.tok.kind == "end" and _tree_depth(e) > MAX_DEPTH:
            raise _error(self.text, 0, f"an expression more than {MAX_DEPTH} operations deep",
                         f"split long sums or chains into calculate questions of at most "
                         f"{MAX_DEPTH} terms")
        if self.tok.kind != "end":
            hint = None
            if self.tok.kind == "name" and self.tok.text.lower() in ("and", "or", "div", "mod"):
                hint = "keyword operators are lower case: and, or, div, mod"
            raise _error(self.text, self.tok.pos,
                         f"expected an operator or the end, found {self._found()}", hint)
        return e

    def binary(self, level: int) -> Expr:
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.is_op(_LEVELS[level]):
            op = self.take().text
            left = BinOp(op, left, self.binary(level + 1))
        return left

    def unary(self) -> Expr:
        if self.is_op(("-",)):
            self.nest(self.take().pos)
            e = Neg(self.unary())
            self.nesting -= 1
            return e
        left = self.postfix()
        while self.is_op(("|",)):
            self.take()
            left = BinOp("|", left, self.postfix())
        return left

    def postfix(self) -> Expr:
        e = self.primary()
        if self.tok.kind == "op" and self.tok.text == "/":
            start = self.tok.pos
            end = self._path_end(start)
            path = self.text[start:end]
            while self.tok.kind != "end" and self.tok.pos < end:
                self.take()
            return Path(e, path)
        return e

    def _path_end(self, start: int) -> int:
        """End offset of a location path starting at ``start`` (balanced brackets)."""
        depth, j = 0, start
        quote = None
        while j < len(self.text):
            c = self.text[j]
            if quote:
                quote = None if c == quote else quote
            elif c in "'\"":
                quote = c
            elif c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
            elif depth == 0 and (c.isspace() or c in ",)"):
                break
            j += 1
        return j

    def primary(self) -> Expr:
        t = self.tok
        if t.kind == "num":
            self.take()
            return Num(t.text)
        if t.kind == "str":
            self.take()
            return Str(t.text[1:-1])
        if t.kind == "ref":
            self.take()
            prefix, _, name = t.text.rpartition("#")
            return Ref(name, prefix + "#" if prefix else "")
        if t.kind == "dots":
            self.take()
            return Current() if t.text == "." else Parent()
        if t.kind == "op" and t.text == "(":
            self.nest(self.take().pos)
            e = self.binary(0)
            self.expect(")", "')'")
            self.nesting -= 1
            return e
        if t.kind == "name":
            return self.call()
        if t.kind == "op" and t.text == "/" and self.tok.pos + 1 < len(self.text) and \
                self.text[self.tok.pos + 1] not in " )":
            return Root()  # an absolute path: postfix() reads the steps
        raise _error(self.text, t.pos, f"expected a value, found {self._found()}")

    def call(self) -> Expr:
        t = self.take()
        if not (self.tok.kind == "op" and self.tok.text == "("):
            if self.bare_names and t.text not in ("and", "or", "div", "mod"):
                return Name(t.text)
            hint = f"write ${{{t.text}}} to refer to the question '{t.text}'"
            if t.text.lower() in ("and", "or", "div", "mod", "not"):
                hint = None
            raise _error(self.text, t.pos, f"bare name {t.text!r} is not allowed here", hint)
        arity = FUNCTIONS.get(t.text) or UNEVALUATED.get(t.text)
        if arity is None:
            hint = did_you_mean(t.text, [*FUNCTIONS, *UNEVALUATED])
            raise _error(self.text, t.pos, f"unknown function {t.text!r}", hint)
        self.nest(self.take().pos)
        args: list[Expr] = []
        if not (self.tok.kind == "op" and self.tok.text == ")"):
            args.append(self.binary(0))
            while self.tok.kind == "op" and self.tok.text == ",":
                self.take()
                args.append(self.binary(0))
        self.expect(")", "',' or ')'")
        self.nesting -= 1
        lo, hi = arity
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi is not None else f"at least {lo}"
            raise _error(self.text, t.pos,
                         f"{t.text}() takes {want} argument(s), found {len(args)}")
        _check_constants(self.text, t, args)
        return Func(t.text, tuple(args))


#: arguments that must be whole numbers: (function, argument index) -> what
_INT_ARGS = {("substr", 1): "substr() start", ("substr", 2): "substr() end",
             ("round", 1): "round() places", ("selected-at", 1): "the position in selected-at()"}
_ROUND_PLACES = 20


def _check_constants(text: str, t: _Tok, args: list[Expr]) -> None:
    """Refuse at parse time what evaluation would refuse on constant arguments."""
    for i, a in enumerate(args):
        what = _INT_ARGS.get((t.text, i))
        if what and isinstance(a, (Num, Str)):
            _whole(a.text if isinstance(a, Num) else a.value, what, text,
                   limit=_ROUND_PLACES if t.text == "round" else None)
    if t.text == "regex" and len(args) == 2 and isinstance(args[1], Str):
        _compile_regex(args[1].value, text)


def _whole(value, what: str, text: str, *, limit: int | None = None) -> int:
    """``value`` as a whole number, or an ExpressionError naming ``what``."""
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        f = float("nan")
    if not np.isfinite(f) or f != int(f) or (limit is not None and abs(f) > limit):
        span = f" between -{limit} and {limit}" if limit is not None else ""
        raise _error(text, None, f"{what} must be a whole number{span}, found {str(value)[:40]!r}")
    return int(f)


def _compile_regex(pattern: str, text: str):
    """A linear-time (RE2) compiled pattern: no answer can make matching take exponential time."""
    import re2

    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options=options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise _error(text, None, f"invalid regular expression {pattern[:80]!r}: {reason}",
                     "regex() uses RE2 syntax (linear time): no backreferences or lookarounds"
                     ) from None


@functools.lru_cache(maxsize=4096)
def parse_expression(text: str) -> Expr:
    """Parse an XLSForm expression into a tree (never evaluates anything).

    >>> parse_expression("1 + 2 * 3")
    BinOp(op='+', left=Num(text='1'), right=BinOp(op='*', left=Num(text='2'), right=Num(text='3')))
    >>> parse_expression("__import__('os')")
    Traceback (most recent call last):
    ...
    survey.questionnaire.expressions.ExpressionError: expression "__import__('os')", column 1: unknown function '__import__'.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, found {type(text).__name__}",
                              reason="not text")
    return _Parser(text).parse()


@functools.lru_cache(maxsize=1024)
def parse_choice_filter(text: str) -> Expr:
    """Parse a ``choice_filter``: bare names are columns of the choices sheet (`Name`).

    >>> sorted(columns(parse_choice_filter("state=${state} and label::English != ''")))
    ['label::English', 'state']
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, found {type(text).__name__}",
                              reason="not text")
    return _Parser(text, bare_names=True).parse()


def parse_or_keep(text: str, *, choice_filter: bool = False) -> Expr:
    """The parsed expression, or `Opaque` text (never evaluated) when it cannot be parsed.

    For expressions already accepted by a loader (which refuses unreadable ones in templates
    and warns about them in XLSForms): evaluating an `Opaque` raises `ExpressionError`, which
    validation turns into a "not checked" note.

    >>> parse_or_keep("the sum of a and b")
    Opaque(text='the sum of a and b', reason="bare name 'the' is not allowed here")
    """
    try:
        return (parse_choice_filter if choice_filter else parse_expression)(text)
    except ExpressionError as exc:
        if not isinstance(text, str):
            raise
        return Opaque(text, exc.reason or str(exc))


_OPAQUE_REF = re.compile(r"\$\{([^{}]+)\}")


# --- printing and inspection ---------------------------------------------------------------------
def _quote(s: str) -> str:
    return f'"{s}"' if "'" in s else f"'{s}'"


def to_text(expr: Expr) -> str:
    """Print an expression back in XLSForm syntax (minimal parentheses).

    >>> to_text(parse_expression("(1 + 2) * -(3)"))
    '(1 + 2) * -3'
    """
    if isinstance(expr, Num):
        return expr.text
    if isinstance(expr, Str):
        return _quote(expr.value)
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, Ref):
        return f"${{{expr.prefix}{expr.name}}}"
    if isinstance(expr, Current):
        return "."
    if isinstance(expr, Parent):
        return ".."
    if isinstance(expr, Root):
        return ""
    if isinstance(expr, Func):
        return f"{expr.name}({', '.join(to_text(a) for a in expr.args)})"
    if isinstance(expr, Path):
        return _wrap(expr.base, 99) + expr.path
    if isinstance(expr, Opaque):
        return expr.text
    if isinstance(expr, Neg):
        return "-" + _wrap(expr.operand, len(_LEVELS))
    if isinstance(expr, BinOp):
        p = PRECEDENCE[expr.op]
        sep = "|" if expr.op == "|" else f" {expr.op} "
        return _wrap(expr.left, p) + sep + _wrap(expr.right, p + 1)
    raise TypeError(f"not an expression: {expr!r}")


def _wrap(e: Expr, min_prec: int) -> str:
    if isinstance(e, BinOp) and PRECEDENCE[e.op] < min_prec:
        return f"({to_text(e)})"
    if isinstance(e, Neg) and min_prec > len(_LEVELS):
        return f"({to_text(e)})"
    return to_text(e)


def _walk(expr: Expr) -> Iterator[Expr]:
    yield expr
    if isinstance(expr, Func):
        for a in expr.args:
            yield from _walk(a)
    elif isinstance(expr, BinOp):
        yield from _walk(expr.left)
        yield from _walk(expr.right)
    elif isinstance(expr, Neg):
        yield from _walk(expr.operand)
    elif isinstance(expr, Path):
        yield from _walk(expr.base)


def names(expr: Expr) -> set[str]:
    """The ``${names}`` an expression refers to (in `Opaque` text: every ``${...}``)."""
    if isinstance(expr, Opaque):
        return {m.strip() for m in _OPAQUE_REF.findall(expr.text)}
    return {e.name for e in _walk(expr) if isinstance(e, Ref)}


def _rewrite(expr: Expr, leaf) -> Expr:
    """``expr`` with every node ``leaf`` returns a replacement for replaced (None: keep)."""
    new = leaf(expr)
    if new is not None:
        return new
    if isinstance(expr, Func):
        return Func(expr.name, tuple(_rewrite(a, leaf) for a in expr.args))
    if isinstance(expr, BinOp):
        return BinOp(expr.op, _rewrite(expr.left, leaf), _rewrite(expr.right, leaf))
    if isinstance(expr, Neg):
        return Neg(_rewrite(expr.operand, leaf))
    if isinstance(expr, Path):
        return Path(_rewrite(expr.base, leaf), expr.path)
    return expr


def bind_names(expr: Expr, values: dict[str, str]) -> Expr:
    """``expr`` with each bare `Name` replaced by its value (a string; '' when absent).

    >>> to_text(bind_names(parse_choice_filter("state=${state}"), {"state": "wa"}))
    "'wa' = ${state}"
    """
    return _rewrite(expr, lambda e: Str(values.get(e.name, "")) if isinstance(e, Name)
                    else None)


def rename_refs(expr: Expr, names: dict[str, str]) -> Expr:
    """``expr`` with ``${old}`` references renamed to ``${new}`` for each ``names`` entry."""
    if isinstance(expr, Opaque):
        return Opaque(_OPAQUE_REF.sub(lambda m: "${" + names.get(m[1].strip(), m[1]) + "}",
                                      expr.text), expr.reason)
    return _rewrite(expr, lambda e: Ref(names.get(e.name, e.name), e.prefix)
                    if isinstance(e, Ref) else None)


def columns(expr: Expr) -> set[str]:
    """The choices-sheet columns a ``choice_filter`` refers to by bare name."""
    return {e.name for e in _walk(expr) if isinstance(e, Name)}


def functions(expr: Expr) -> set[str]:
    """The function names an expression calls."""
    return {e.name for e in _walk(expr) if isinstance(e, Func)}


# --- evaluation ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _V:
    """A column of values of one XPath type: 'num', 'str', 'bool' or 'node' (a question's value)."""

    kind: str
    s: pd.Series


_EPOCH = pd.Timestamp("1970-01-01")
_DATE_RE = r"^\d{4}-\d{2}-\d{2}"


def _num(v: _V) -> pd.Series:
    if v.kind == "num":
        return v.s
    if v.kind == "bool":
        return v.s.astype(float)
    s = v.s
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(float)
    text = _str(v)
    out = pd.to_numeric(text.str.strip(), errors="coerce").astype(float)
    dates = out.isna() & text.str.match(_DATE_RE)
    if dates.any():
        d = pd.to_datetime(text[dates].str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
        out[dates] = ((d - _EPOCH) / pd.Timedelta(days=1)).astype(float)
    return out


#: at most this many rows take the pure-Python paths of `_fmt_num` / `_str` (one form keyed
#: in ``survey entry``); tests set it to 0 to compare them with the column-wise path.
SMALL_FRAME = 64


def _fmt_num_small(s: pd.Series) -> pd.Series | None:
    """`_fmt_num` of a few whole numbers or blanks without pandas' per-call cost (same
    values, index and name); ``None`` for anything else."""
    if len(s) > SMALL_FRAME:
        return None
    out = []
    for v in s.astype(float).tolist():
        if v != v:
            out.append("")
        elif abs(v) < 2.0 ** 53 and v == int(v):
            out.append(str(int(v)))
        else:
            return None
    return pd.Series(out, index=s.index, dtype=object, name=s.name)


def _str_small(s: pd.Series) -> pd.Series | None:
    """`_str` of a few cells of Python text or blanks (same values, index and name);
    ``None`` for anything else."""
    if len(s) > SMALL_FRAME or not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return None
    out = []
    for v in s.tolist():
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out.append("")
        elif type(v) is str:
            out.append(v)
        else:
            return None
    return pd.Series(out, index=s.index, dtype=object, name=s.name)


def _fmt_num(s: pd.Series) -> pd.Series:
    fast = _fmt_num_small(s)
    if fast is not None:
        return fast
    f = s.astype(float)
    integral = np.isfinite(f) & (f == np.round(f))
    out = f.astype(object).astype(str)
    out[integral] = f[integral].astype("int64").astype(str)
    out[f.isna()] = ""
    return out.astype(object)


def _str(v: _V) -> pd.Series:
    s = v.s
    if v.kind == "bool":
        return s.map({True: "true", False: "false"}).astype(object)
    if v.kind == "num" or (pd.api.types.is_numeric_dtype(s.dtype)
                           and not pd.api.types.is_bool_dtype(s.dtype)):
        return _fmt_num(s)
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype(object).map({True: "true", False: "false"})
        return out.where(s.notna(), "").astype(object)
    fast = _str_small(s)
    if fast is not None:
        return fast
    return s.astype(object).where(s.notna(), "").astype(str).astype(object)


def _bool(v: _V) -> pd.Series:
    if v.kind == "bool":
        return v.s
    if v.kind == "num":
        f = v.s.astype(float)
        return (f != 0) & f.notna()
    return _str(v).str.len() > 0


def _const(v: _V, what: str, text: str):
    vals = _str(v)
    if len(vals) == 0:
        return ""
    first = vals.iloc[0]
    if not (vals == first).all():
        raise _error(text, None, f"{what} must be the same for every row")
    return first


class _Eval:
    def __init__(self, text: str, frame: pd.DataFrame, current, today):
        self.text, self.frame, self.index = text, frame, frame.index
        self.current = current
        self.today = today or _dt.date.today()

    def full(self, value, kind: str) -> _V:
        return _V(kind, pd.Series(value, index=self.index, dtype=object if kind == "str" else None))

    def ev(self, e: Expr) -> _V:
        if isinstance(e, Opaque):
            raise _error(self.text, None, f"not read as an expression ({e.reason}), so not "
                         "evaluated")
        if isinstance(e, Num):
            return _V("num", pd.Series(e.value, index=self.index, dtype=float))
        if isinstance(e, Str):
            return self.full(e.value, "str")
        if isinstance(e, Ref):
            if e.name not in self.frame.columns:
                hint = did_you_mean(e.name, self.frame.columns)
                raise _error(self.text, None, f"${{{e.name}}} is not a column of the data", hint)
            return _V("node", self.frame[e.name])
        if isinstance(e, Current):
            if self.current is None:
                raise _error(self.text, None, "'.' needs the current question's values")
            cur = self.current
            if not isinstance(cur, pd.Series):
                cur = pd.Series(cur, index=self.index)
            return _V("node", cur)
        if isinstance(e, Neg):
            return _V("num", -_num(self.ev(e.operand)))
        if isinstance(e, BinOp):
            return self.binop(e)
        if isinstance(e, Func):
            return self.func(e)
        raise _error(self.text, None, f"{to_text(e)!r} cannot be evaluated on data",
                     "location paths and '..' are kept for XLSForm only")

    def binop(self, e: BinOp) -> _V:
        op = e.op
        if op == "or":
            return _V("bool", _bool(self.ev(e.left)) | _bool(self.ev(e.right)))
        if op == "and":
            return _V("bool", _bool(self.ev(e.left)) & _bool(self.ev(e.right)))
        a, b = self.ev(e.left), self.ev(e.right)
        if op in ("=", "!="):
            if "bool" in (a.kind, b.kind):
                eq = _bool(a) == _bool(b)
            elif "num" in (a.kind, b.kind):
                eq = _num(a) == _num(b)
            else:
                eq = _str(a) == _str(b)
            if op == "=":
                return _V("bool", eq)
            if "bool" not in (a.kind, b.kind) and "num" in (a.kind, b.kind):
                return _V("bool", _num(a) != _num(b))  # NaN != x is true (XPath)
            return _V("bool", ~eq)
        x, y = _num(a), _num(b)
        if op in ("<", "<=", ">", ">="):
            res = {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
            return _V("bool", res.astype(bool))
        if op == "+":
            return _V("num", x + y)
        if op == "-":
            return _V("num", x - y)
        if op == "*":
            return _V("num", x * y)
        with np.errstate(divide="ignore", invalid="ignore"):
            if op == "div":
                return _V("num", x / y)
            if op == "mod":
                return _V("num", pd.Series(np.fmod(x.to_numpy(float), y.to_numpy(float)),
                                           index=self.index))
        raise _error(self.text, None, f"operator {op!r} cannot be evaluated on data")

    def func(self, e: Func) -> _V:
        if e.name in UNEVALUATED:
            raise _error(self.text, None, f"{e.name}() is kept for XLSForm but is not evaluated "
                         "on data", "it depends on the form engine (device, instance, repeat)")
        args = [self.ev(a) for a in e.args]
        return getattr(self, "f_" + e.name.replace("-", "_"))(*args)

    # functions (one small method each)
    def f_true(self):
        return self.full(True, "bool")

    def f_false(self):
        return self.full(False, "bool")

    def f_not(self, a):
        return _V("bool", ~_bool(a))

    def f_boolean(self, a):
        return _V("bool", _bool(a))

    def f_boolean_from_string(self, a):
        return _V("bool", _str(a).isin(["true", "1"]))

    def f_selected(self, a, b):
        value = _const(b, "the choice in selected()", self.text)
        padded = " " + _str(a).str.split().str.join(" ").fillna("") + " "
        return _V("bool", padded.str.contains(f" {value} ", regex=False).astype(bool))

    def f_count_selected(self, a):
        return _V("num", _str(a).str.split().str.len().astype(float))

    def f_selected_at(self, a, n):
        k = _whole(_const(n, "the position in selected-at()", self.text),
                   "the position in selected-at()", self.text)
        return _V("str", _str(a).str.split().str.get(k).fillna("").astype(object))

    def f_if(self, c, a, b):
        cond = _bool(c).to_numpy(bool)
        if a.kind == "num" and b.kind == "num":
            return _V("num", pd.Series(np.where(cond, _num(a), _num(b)), index=self.index))
        if a.kind == "bool" and b.kind == "bool":
            return _V("bool", pd.Series(np.where(cond, a.s, b.s), index=self.index))
        return _V("str", pd.Series(np.where(cond, _str(a), _str(b)), index=self.index,
                                   dtype=object))

    def f_coalesce(self, a, b):
        sa = _str(a)
        if a.kind in ("num", "node") and b.kind == "num":
            return _V("num", _num(a).where(sa != "", _num(b)))
        return _V("str", sa.where(sa != "", _str(b)))

    def f_string_length(self, a):
        return _V("num", _str(a).str.len().astype(float))

    def f_contains(self, a, b):
        return _V("bool", _str(a).str.contains(_const(b, "contains()", self.text), regex=False)
                  .astype(bool))

    def f_starts_with(self, a, b):
        return _V("bool", _str(a).str.startswith(_const(b, "starts-with()", self.text))
                  .astype(bool))

    def f_ends_with(self, a, b):
        return _V("bool", _str(a).str.endswith(_const(b, "ends-with()", self.text)).astype(bool))

    def f_substr(self, a, start, end=None):
        i = _whole(_const(start, "substr() start", self.text), "substr() start", self.text)
        j = None if end is None else _whole(_const(end, "substr() end", self.text),
                                            "substr() end", self.text)
        return _V("str", _str(a).str.slice(i, j).astype(object))

    def f_concat(self, *args):
        out = pd.Series("", index=self.index, dtype=object)
        for a in args:
            out = out + _str(a)
        return _V("str", out)

    def f_normalize_space(self, a):
        return _V("str", _str(a).str.split().str.join(" ").fillna("").astype(object))

    def f_regex(self, a, b):
        compiled = _compile_regex(_const(b, "the pattern of regex()", self.text), self.text)
        values = _str(a)
        codes, uniq = pd.factorize(values)
        hits = np.array([compiled.search(u) is not None for u in uniq] + [False], dtype=bool)
        return _V("bool", pd.Series(hits[codes], index=values.index, dtype=bool))

    def f_number(self, a):
        return _V("num", _num(a))

    def f_int(self, a):
        return _V("num", np.trunc(_num(a)))

    def f_abs(self, a):
        return _V("num", _num(a).abs())

    def f_round(self, a, places=None):
        k = 0 if places is None else _whole(_const(places, "round() places", self.text),
                                            "round() places", self.text, limit=_ROUND_PLACES)
        scale = 10.0 ** k
        return _V("num", np.floor(_num(a) * scale + 0.5) / scale)

    def f_string(self, a):
        return _V("str", _str(a))

    def f_today(self):
        days = (pd.Timestamp(self.today) - _EPOCH) / pd.Timedelta(days=1)
        return _V("num", pd.Series(float(days), index=self.index))

    def f_date(self, a):
        return _V("num", _num(a))


def evaluate(expr: Expr | str, frame: pd.DataFrame, *, current=None,
             today: _dt.date | None = None) -> pd.Series:
    """Evaluate an expression over every row of a raw response frame at once.

    ``frame`` holds one column per question: single choices as choice names, multiple
    choices as space-separated choice names, numbers as numbers (or numeric strings),
    blanks as NA. Semantics follow XPath 1.0 / ODK: a blank is ``''``; in arithmetic and
    ``<``/``>`` it becomes NaN, so comparisons with it are false.

    >>> df = pd.DataFrame({"age": [17, None, 30], "gains": ["a other", "", None]})
    >>> evaluate("not(${age} >= 18)", df).tolist()
    [True, True, False]
    >>> evaluate("selected(${gains}, 'other')", df).tolist()
    [True, False, False]
    """
    text = expr if isinstance(expr, str) else to_text(expr)
    tree = parse_expression(expr) if isinstance(expr, str) else expr
    v = _Eval(text, frame, current, today).ev(tree)
    if v.kind == "bool":
        return v.s.astype(bool)
    if v.kind == "num":
        return v.s.astype(float)
    return _str(v)
