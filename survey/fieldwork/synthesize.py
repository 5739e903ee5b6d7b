"""Synthetic raw responses that respect a questionnaire (for planning, demos and tests).

The output is the canonical raw form that `survey.validation.validate` reads: a ``_row``
column (2, 3, ... as a spreadsheet numbers a file under its header), then one text column per
question: choice names, space-separated names for multiple choice, numbers and dates as text,
``None`` for blanks.

How values are drawn (all with one ``numpy.random.Generator`` seeded by ``seed``):

* Questions are generated in template order; a question whose ``relevant`` expression is false
  for a respondent (evaluated on the columns generated so far, groups and grids included)
  is left blank, so skip logic holds.
* Single choice: with a target ``{choice: share}`` the counts among the respondents who answer
  are allocated exactly (largest remainder), so marginals match to within 1/n; without one,
  shares are drawn from a Dirichlet(2, ..., 2) and counts from the multinomial.
* Association ``{"q": {"by": "x", "shift": s, "toward": "c"}}``: a latent score
  ``s · z(position of x's answer in its list) + logistic noise`` orders the respondents; the
  ``toward`` choice (default: the first) goes to the highest scores, so with ``s > 0``
  respondents at later levels of ``x`` choose ``toward`` more often, and the marginal counts
  are still exact.
* Multiple choice: each option is ticked for an exact number of respondents (target share,
  as % of respondents, or a random share), rarest option first; respondents with fewer ticks
  are chosen first (so the commonest option overlaps with the others) and
  nobody exceeds the question's maximum (``count-selected(.) <= N``); an exclusive option is
  ticked alone. Everyone who answers ticks at least one option when the shares allow.
* Grids: rows share a respondent factor (reverse-keyed rows use its negative) plus noise,
  so items correlate as in a real Likert battery.
* Numbers: uniform over the bounds of the constraint (``. >= a``, ``. <= b``; 0–100 without
  one); values that still break the constraint (cross-question bounds) are set to the lower
  bound. Texts: "other" texts get a short phrase; other free texts stay mostly blank.
* ``missing_rate``: each non-required, non-id question is left blank by that share of the
  respondents it applies to (item non-response), decided before values are allocated (so
  target marginals hold among the answers) and before later relevance is evaluated.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import SurveyError

_PHRASES = {
    "zh-Hans": ["提高了解决实际问题的能力", "更加了解基层情况", "锻炼了意志品质", "学会了与群众沟通"],
    "zh-Hant": ["提高了解決實際問題的能力", "更加了解基層情況", "鍛煉了意志品質", "學會了與群眾溝通"],
    "en": ["learned to solve practical problems", "understood local conditions better",
           "became more resilient", "learned to talk with residents"],
}


def _largest_remainder(n: int, shares: np.ndarray) -> np.ndarray:
    shares = np.asarray(shares, dtype=float)
    if shares.sum() <= 0:
        shares = np.ones_like(shares)
    shares = shares / shares.sum()
    raw = n * shares
    base = np.floor(raw).astype(int)
    left = n - base.sum()
    if left > 0:
        order = np.argsort(-(raw - base), kind="stable")
        base[order[:left]] += 1
    return base


def _bounds(q) -> tuple[float | None, float | None]:
    lo = hi = None
    text = q.constraint or ""
    for m in re.finditer(r"\.\s*(>=|>|<=|<)\s*(-?\d+(?:\.\d+)?)", text):
        op, v = m.group(1), float(m.group(2))
        if op == ">=":
            lo = v
        elif op == ">":
            lo = v + (1 if q.type == "integer" else 1e-6)
        elif op == "<=":
            hi = v
        else:
            hi = v - (1 if q.type == "integer" else 1e-6)
    return lo, hi


def _relevance(q, name: str, frame: pd.DataFrame, rel_map: dict, n: int) -> np.ndarray:
    from ..questionnaire.expressions import ExpressionError, evaluate

    parts = rel_map.get(name)
    if parts is None:
        qq = q.question(name)
        parts = [qq.relevant_ast] if qq.relevant else []
    ok = np.ones(n, bool)
    for p in parts:
        try:
            ok &= evaluate(p, frame).fillna(False).astype(bool).to_numpy()
        except ExpressionError:  # kept verbatim or form-engine only: asked on every row
            continue
    return ok


def synthesize(q, n: int, *, seed: int = 0, targets: dict | None = None,
               missing_rate: float = 0.0, associations: dict | None = None,
               _given: pd.DataFrame | None = None) -> pd.DataFrame:
    """Plausible raw responses for questionnaire ``q`` (see the module docstring).

    For a questionnaire with repeats this is the main table (``q.table()``); the rows of
    each repeat come from `synthesize_repeat`.

    Parameters
    ----------
    q : a `Questionnaire` (or a template path or library name).
    n : number of respondents.
    seed : seed of the random generator; the same seed gives the same data.
    targets : ``{question: {choice name: share}}``; for a single choice the shares of those
        who answer (normalized), for a multiple choice the share of respondents ticking each
        option, for ``fieldwork.unit_variable`` the share of each unit (default: in
        proportion to the returned forms).
    missing_rate : probability that a non-required answer is left blank.
    associations : ``{question: {"by": other question, "shift": float, "toward": choice}}``.

    Returns
    -------
    DataFrame in the canonical raw form (``_row`` then one column per question).

    Examples
    --------
    >>> import survey as sv
    >>> q = sv.load_questionnaire("grassroots_training")
    >>> df = sv.synthesize(q, 50, seed=1)
    >>> len(df), df.columns[0]
    (50, '_row')
    >>> df.equals(sv.synthesize(q, 50, seed=1))
    True
    """
    if isinstance(q, (str,)) or hasattr(q, "__fspath__"):
        from ..questionnaire import load_questionnaire

        q = load_questionnaire(q)
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise SurveyError(f"n must be a non-negative whole number, got {n!r}")
    if not 0 <= missing_rate < 1:
        raise SurveyError(f"missing_rate must be in [0, 1), got {missing_rate!r}")
    if callable(getattr(q, "repeats", None)) and q.repeats():
        q = q.table()  # the main table: each repeat is a table of its own
    targets = dict(targets or {})
    associations = dict(associations or {})
    questions = [qq for qq in q.questions() if qq.type != "note"]
    names_ = {qq.name for qq in questions}
    for key in list(targets) + list(associations):
        if key not in names_:
            from ..errors import did_you_mean

            hint = did_you_mean(key, names_)
            raise SurveyError(f"synthesize: no question named {key!r}"
                              + (f"; {hint}" if hint else ""))
    rng = np.random.default_rng(seed)
    from ..validation.engine import _effective_relevance

    rel_map = _effective_relevance(q)
    lang = q.default_language if hasattr(q, "default_language") else "en"
    phrases = _PHRASES.get(lang, _PHRASES["en"])
    fw = getattr(q, "fieldwork", None)
    unit_var = getattr(fw, "unit_variable", None)
    units = list(getattr(fw, "units", ()) or ())
    frame = pd.DataFrame(index=pd.RangeIndex(n))
    factors: dict[str, np.ndarray] = {}

    for qq in questions:
        name = qq.name
        if _given is not None and name in _given.columns:  # a repeat's outer questions
            frame[name] = _given[name].to_numpy(dtype=object)
            continue
        rel = _relevance(q, name, frame, rel_map, n)
        if (missing_rate > 0 and qq.required is not True and qq.role != "id"
                and name != unit_var and qq.type not in ("start", "end", "calculate")):
            # item non-response decided first, so allocated marginals hold among answers
            rel = rel & (rng.random(n) >= missing_rate)
        vals = np.full(n, None, dtype=object)
        idx = np.flatnonzero(rel)
        k = len(idx)
        if qq.role == "id" or name == "respondent_id":
            width = max(4, len(str(n)))
            vals[:] = [f"{i + 1:0{width}d}" for i in range(n)] if qq.type == "text" else \
                [str(i + 1) for i in range(n)]
            frame[name] = vals
            continue
        if qq.type == "select_one" and qq.list_name:
            lst = q.choices(qq.list_name)
            codes = lst.names()
            if name in targets:
                t = targets[name]
                bad = set(t) - set(codes)
                if bad:
                    raise SurveyError(f"synthesize: targets[{name!r}] names unknown choices "
                                      f"{sorted(bad)}; choices are {codes}")
                shares = np.array([float(t.get(c, 0.0)) for c in codes])
                counts = _largest_remainder(k, shares)
            elif name == unit_var and units:
                ids = [str(u.id) for u in units]
                shares = np.array([float(u.returned) for u in units])
                counts = _largest_remainder(k, np.array(
                    [shares[ids.index(c)] if c in ids else 0.0 for c in codes]))
            else:
                counts = rng.multinomial(k, rng.dirichlet(np.full(len(codes), 2.0)))
            pool = np.repeat(np.arange(len(codes)), counts)
            if qq.grid:
                g = qq.grid
                if g not in factors:
                    factors[g] = rng.normal(size=n)
                score = (-1 if qq.reverse else 1) * factors[g] + rng.normal(scale=0.8, size=n)
                order = idx[np.argsort(-score[idx], kind="stable")]
                # higher factor -> later (higher) categories of the ordered list
                pool = np.sort(pool)[::-1]
                vals[order] = np.array(codes, dtype=object)[pool]
            elif name in associations:
                a = associations[name]
                by = a.get("by")
                if by not in frame.columns:
                    raise SurveyError(f"synthesize: associations[{name!r}]['by'] must be a "
                                      f"question before {name!r}, got {by!r}")
                by_q = q.question(by)
                by_codes = q.choices(by_q.list_name).names() if by_q.list_name else []
                pos = pd.Series(frame[by]).map({c: i for i, c in enumerate(by_codes)})
                pos = pos.astype(float).to_numpy()
                z = (pos - np.nanmean(pos)) / (np.nanstd(pos) or 1.0)
                z = np.nan_to_num(z)
                score = float(a.get("shift", 1.0)) * z + rng.logistic(size=n)
                toward = str(a.get("toward", codes[0]))
                if toward not in codes:
                    raise SurveyError(f"synthesize: associations[{name!r}]['toward'] must be "
                                      f"one of {codes}, got {toward!r}")
                ti = codes.index(toward)
                order = idx[np.argsort(-score[idx], kind="stable")]
                rest = np.delete(np.arange(len(codes)), ti)
                others = np.repeat(rest, counts[rest])
                rng.shuffle(others)
                seq = np.concatenate([np.full(counts[ti], ti), others]).astype(int)
                vals[order] = np.array(codes, dtype=object)[seq]
            else:
                rng.shuffle(pool)
                vals[idx] = np.array(codes, dtype=object)[pool]
        elif qq.type == "select_multiple" and qq.list_name:
            codes = q.choices(qq.list_name).names()
            mx = qq.max_choices or len(codes)
            exclusive = set(qq.exclusive or ())
            t = targets.get(name)
            if t is not None:
                bad = set(t) - set(codes)
                if bad:
                    raise SurveyError(f"synthesize: targets[{name!r}] names unknown choices "
                                      f"{sorted(bad)}; choices are {codes}")
                shares = {c: float(t.get(c, 0.0)) for c in codes}
            else:
                base = rng.dirichlet(np.full(len(codes), 2.0)) * min(mx, 1.6)
                shares = {c: float(min(0.95, s)) for c, s in zip(codes, base)}
                for c in exclusive:
                    shares[c] = min(shares[c], 0.05)
            sel = {c: np.zeros(n, bool) for c in codes}
            count = np.zeros(n, int)
            # exclusive options first, then the rarest: the most common option is allocated last,
            # fills the respondents still without a tick and overlaps with the others
            order_codes = sorted(codes, key=lambda c: (c not in exclusive, shares[c]))
            for c in order_codes:
                want = int(round(shares[c] * k))
                if want <= 0 or k == 0:
                    continue
                cap = count[idx] < (1 if c in exclusive else mx)
                if c in exclusive:
                    cap &= count[idx] == 0
                cand = idx[cap]
                prio = count[cand] * 2.0 + rng.random(len(cand))
                chosen = cand[np.argsort(prio, kind="stable")[:want]]
                sel[c][chosen] = True
                count[chosen] += mx if c in exclusive else 1
            # respondents left with nothing: one option each (the most common non-exclusive)
            empty = idx[count[idx] == 0]
            if len(empty) and t is None:
                common = [c for c in order_codes if c not in exclusive]
                if common:
                    sel[common[-1]][empty] = True
            joined = np.full(n, "", dtype=object)
            for c in codes:
                joined = np.where(sel[c], np.where(joined == "", c, joined + " " + c), joined)
            joined = np.where(joined == "", None, joined)
            vals = np.where(rel, joined, None).astype(object)
            vals = _obey_multi_constraint(qq, name, frame, vals, rel)
        elif qq.type in ("integer", "decimal", "range"):
            lo, hi = _bounds(qq)
            lo = 0.0 if lo is None else lo
            hi = (lo + 100.0) if hi is None else hi
            if qq.type == "integer":
                x = _draw_int(rng, lo, hi, n)
            else:
                x = np.round(rng.uniform(lo, hi, size=n), 1)
            text = _fmt(x, qq.type)
            vals[idx] = text[idx]
            if qq.constraint_ast is not None and k:
                from ..questionnaire.expressions import ExpressionError, evaluate

                tmp = frame.copy()
                tmp[name] = vals
                try:
                    ok = evaluate(qq.constraint_ast, tmp, current=tmp[name]).fillna(False)
                except ExpressionError:  # kept verbatim or form-engine only: not obeyed
                    ok = pd.Series(True, index=tmp.index)
                ok = ok.astype(bool).to_numpy()
                fix = rel & ~ok
                if fix.any():
                    vals[fix] = _fmt(np.full(int(fix.sum()), lo), qq.type)
        elif qq.type in ("date", "datetime", "start", "end", "today"):
            period = getattr(fw, "period", None)
            start = pd.Timestamp(getattr(period, "start", None) or "2023-05-10")
            end = pd.Timestamp(getattr(period, "end", None) or start + pd.Timedelta(days=30))
            span = max(int((end - start).total_seconds()), 1)
            if qq.type == "end" and "__start__" in factors:
                dur = rng.lognormal(np.log(900), 0.35, size=n)
                t = factors["__start__"] + dur
            else:
                t = rng.integers(0, span, size=n).astype(float)
                if qq.type == "start":
                    factors["__start__"] = t
            stamps = start + pd.to_timedelta(t, unit="s")
            fmt = "%Y-%m-%d" if qq.type in ("date", "today") else "%Y-%m-%dT%H:%M:%S"
            text = pd.Series(stamps).dt.strftime(fmt).to_numpy(dtype=object)
            vals[idx] = text[idx]
        elif qq.type == "text":
            if getattr(qq, "other_of", None):
                vals[idx] = np.array(phrases, dtype=object)[rng.integers(0, len(phrases), k)]
            else:
                some = idx[rng.random(k) < 0.1]
                vals[some] = np.array(phrases, dtype=object)[
                    rng.integers(0, len(phrases), len(some))]
        elif qq.type == "calculate" and qq.calculation_ast is not None:
            from ..questionnaire.expressions import evaluate

            try:
                out = evaluate(qq.calculation_ast, frame).astype(str).to_numpy(dtype=object)
                vals[idx] = out[idx]
            except SurveyError:
                pass
        frame[name] = vals

    _satisfy_checks(q, frame, questions, rng)
    frame = frame.astype(object).where(frame.notna(), None)
    frame.insert(0, "_row", np.arange(2, n + 2, dtype="int64"))
    return frame


def _obey_multi_constraint(qq, name, frame, vals, rel) -> np.ndarray:
    """Answers that break the question's own constraint (e.g. 'none' with others, written as an
    expression rather than ``exclusive:``) keep only their first ticked option; answers that
    still break it are left blank."""
    from ..questionnaire.expressions import Opaque, evaluate

    if qq.constraint_ast is None or isinstance(qq.constraint_ast, Opaque) or not rel.any():
        return vals

    def broken(values):
        tmp = frame.assign(**{name: values})
        ok = evaluate(qq.constraint_ast, tmp, current=tmp[name]).fillna(True)
        return rel & pd.notna(values) & ~ok.astype(bool).to_numpy()

    bad = broken(vals)
    if bad.any():
        vals = vals.copy()
        vals[bad] = [str(v).split()[0] for v in vals[bad]]
        vals[broken(vals)] = None
    return vals


def _draw_int(rng, lo: float, hi: float, n: int) -> np.ndarray:
    """Whole numbers in [lo, hi], skewed toward the low end (as years or counts are)."""
    lo_i, hi_i = int(np.ceil(lo)), int(np.floor(hi))
    if hi_i <= lo_i:
        return np.full(n, float(lo_i))
    x = np.floor(rng.triangular(lo_i, lo_i + 0.2 * (hi_i - lo_i), hi_i + 1, size=n))
    return np.clip(x, lo_i, hi_i)


def _satisfy_checks(q, frame: pd.DataFrame, questions, rng, rounds: int = 30) -> None:
    """Redraw numbers so that the template's checks hold (in place).

    For each failing check the last numeric question it names is redrawn within its bounds;
    whatever still fails after ``rounds`` is set to the lower bound.
    """
    from ..questionnaire.expressions import evaluate, names

    numeric = {qq.name: qq for qq in questions if qq.type in ("integer", "decimal", "range")}
    order = [qq.name for qq in questions]
    checks = list(getattr(q, "checks", ()) or ())
    for final in [False] * rounds + [True]:
        clean = True
        for chk in checks:
            refs = [r for r in order if r in names(chk.expr_ast)]
            nums = [r for r in refs if r in numeric]
            if not nums or any(r not in frame.columns for r in refs):
                continue
            usable = frame[refs].notna().all(axis=1).to_numpy()
            ok = evaluate(chk.expr_ast, frame).fillna(False).astype(bool).to_numpy()
            bad = usable & ~ok
            if not bad.any():
                continue
            clean = False
            target = numeric[nums[-1]]
            lo, hi = _bounds(target)
            lo = 0.0 if lo is None else lo
            hi = (lo + 100.0) if hi is None else hi
            k = int(bad.sum())
            if final:
                x = np.full(k, lo)
            elif target.type == "integer":
                x = _draw_int(rng, lo, hi, k)
            else:
                x = np.round(rng.uniform(lo, hi, size=k), 1)
            col = frame[target.name].to_numpy(dtype=object).copy()
            col[bad] = _fmt(x, target.type)
            frame[target.name] = col
        if clean:
            break


def _fmt(x: np.ndarray, qtype: str) -> np.ndarray:
    if qtype == "integer":
        return pd.Series(x).astype("int64").astype(str).to_numpy(dtype=object)
    return pd.Series(np.round(x, 1)).astype(str).to_numpy(dtype=object)


def synthesize_repeat(q, parent: pd.DataFrame, repeat: str, *, seed: int = 0,
                      missing_rate: float = 0.0, per_parent: tuple[int, int] = (1, 4)
                      ) -> pd.DataFrame:
    """Plausible rows of repeat ``repeat`` (a household roster) for the rows of ``parent``.

    ``parent`` is the table the repeat hangs on: `synthesize`'s main table, or a repeat's rows
    for a nested repeat. Rows per parent row: its answer to ``${question}`` when the repeat's
    ``repeat_count`` is one (blank: none), the number when it is a number, otherwise drawn
    uniformly in ``per_parent``. The outer questions the repeat's expressions use are taken
    from the parent row, so its skip logic holds with the parent's answers.

    Returns the repeat's raw table: ``_row`` (2, 3, ...), ``_parent_row`` (the parent's
    ``_row``), then the repeat's own questions.

    >>> import survey as sv
    >>> q = sv.Questionnaire.from_dict({"id": "hh", "title": {"en": "H"}, "items": [
    ...     {"name": "n", "type": "integer", "constraint": ". <= 3"},
    ...     {"repeat": "members", "repeat_count": "${n}", "items": [
    ...         {"name": "age", "type": "integer"}]}]})
    >>> main = sv.synthesize(q, 5, seed=1)
    >>> members = synthesize_repeat(q, main, "members", seed=1)
    >>> members.groupby("_parent_row").size().reindex(main["_row"], fill_value=0).tolist() \\
    ...     == main["n"].astype(int).tolist()
    True
    """
    table = q.table(repeat)  # refuses an unknown repeat, naming the repeats
    group = q.repeats()[repeat]
    if "_row" not in parent.columns:
        raise SurveyError("synthesize_repeat: the parent table has no '_row' column; pass "
                          "what synthesize() returns (or the parent repeat's rows)")
    lo, hi = per_parent
    if not 0 <= lo <= hi:
        raise SurveyError(f"per_parent must be (low, high) with 0 <= low <= high, got "
                          f"{per_parent!r}")
    rng = np.random.default_rng(seed)
    rc = (group.repeat_count or "").strip()
    ref = re.fullmatch(r"\$\{\s*([^{}\s]+)\s*\}", rc)
    if ref:
        col = ref[1]
        if col not in parent.columns:
            raise SurveyError(f"synthesize_repeat: repeat {repeat!r} counts its rows with "
                              f"${{{col}}}, which is not a column of the parent table")
        counts = pd.to_numeric(parent[col], errors="coerce").fillna(0).clip(lower=0)
        counts = counts.astype(int).to_numpy()
    elif re.fullmatch(r"\d+", rc):
        counts = np.full(len(parent), int(rc))
    else:
        counts = rng.integers(lo, hi + 1, size=len(parent))
    pos = np.repeat(np.arange(len(parent)), counts)
    own = [x.name for x in table.questions() if q.repeat_of(x.name) == repeat]
    outer = [x.name for x in table.questions() if x.name not in own and x.name in parent]
    given = pd.DataFrame({c: parent[c].to_numpy(dtype=object)[pos] for c in outer})
    rows = synthesize(table, len(pos), seed=seed, missing_rate=missing_rate, _given=given)
    rows = rows.drop(columns=outer)
    rows.insert(1, "_parent_row", parent["_row"].to_numpy()[pos])
    return rows
