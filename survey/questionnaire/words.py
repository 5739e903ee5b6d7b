"""Skip logic and constraints in words, in the questionnaire's languages.

``condition(expr, q)`` reduces a ``relevant`` expression to "question P has one of these
choices" when it can (``${p} = 'v'``, ``!=``, ``selected()``, ``not()``, ``and``/``or`` on one
question); the paper form and the codebook phrase that in words, and fall back to the
expression text otherwise.
"""

from __future__ import annotations

from .expressions import BinOp, Expr, Func, Num, Ref, Str, to_text


def phrases(language: str | None) -> dict[str, str]:
    """The phrase table for a BCP-47 tag (zh-TW/zh-HK -> zh-Hant, other zh -> zh-Hans)."""
    from ..i18n import words

    return words("form", language, strict=False)


def _value(e: Expr) -> str | None:
    if isinstance(e, Str):
        return e.value
    if isinstance(e, Num):
        return e.text
    return None


def condition(expr: Expr | None, q) -> tuple[str, set[str]] | None:
    """``(question name, choice names for which expr is true)`` or None if not that simple."""
    if expr is None:
        return None
    if isinstance(expr, Func) and expr.name == "not" and len(expr.args) == 1:
        inner = condition(expr.args[0], q)
        return None if inner is None else (inner[0], _all(q, inner[0]) - inner[1])
    if isinstance(expr, Func) and expr.name == "selected" and len(expr.args) == 2:
        ref, v = expr.args
        if isinstance(ref, Ref) and _value(v) is not None and _is_select(q, ref.name):
            return ref.name, {_value(v)}
        return None
    if isinstance(expr, BinOp) and expr.op in ("=", "!="):
        ref, v = expr.left, expr.right
        if isinstance(v, Ref):
            ref, v = v, ref
        if not (isinstance(ref, Ref) and _value(v) is not None and _is_select(q, ref.name)):
            return None
        if q.question(ref.name).type != "select_one":
            return None
        names = {c for c in _all(q, ref.name) if _same(c, _value(v), v)}
        return ref.name, names if expr.op == "=" else _all(q, ref.name) - names
    if isinstance(expr, BinOp) and expr.op in ("and", "or"):
        a, b = condition(expr.left, q), condition(expr.right, q)
        if a is None or b is None or a[0] != b[0]:
            return None
        return a[0], (a[1] | b[1]) if expr.op == "or" else (a[1] & b[1])
    return None


def _same(choice: str, value: str, node: Expr) -> bool:
    if isinstance(node, Num):
        try:
            return float(choice) == float(value)
        except ValueError:
            return False
    return choice == value


def _is_select(q, name: str) -> bool:
    return name in q and q.question(name).type in ("select_one", "select_multiple")


def _all(q, name: str) -> set[str]:
    return set(q.choices(q.question(name).list_name).names())


def choice_words(q, name: str, names: set[str], language: str | None) -> str:
    """The labels of ``names`` (in list order), quoted and joined with 'or'."""
    p = phrases(language)
    lst = q.choices(q.question(name).list_name)
    labels = [q.text(c.label, language) or c.name for c in lst.unique_choices() if c.name in names]
    return p["or"].join(p["quote"].format(label) for label in labels)


def asked_if(q, question, language: str | None) -> str:
    """The codebook's skip logic in words ('' when always asked)."""
    if not question.relevant:
        return ""
    language = language or q.default_language
    p = phrases(language)
    cond = condition(question.relevant_ast, q)
    if cond is None:
        return p["asked_if_expr"].format(expr=to_text(question.relevant_ast))
    name, allowed = cond
    key, names = phrase_for(q, name, allowed)
    if q.question(name).type == "select_multiple":
        key += "_multi"
    return p["asked_" + key].format(var=name, choices=choice_words(q, name, names, language))


def phrase_for(q, name: str, allowed: set[str]) -> tuple[str, set[str]]:
    """('if', allowed) or, when shorter, ('if_not', the other choices)."""
    others = _all(q, name) - allowed
    return ("if_not", others) if others and len(allowed) > len(others) else ("if", allowed)
