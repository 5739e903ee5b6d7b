"""The validation engine: raw responses + questionnaire -> typed data, missing codes, report.

Every rule is computed column-wise (one vectorized pass per question, per grid or per check);
there is no Python loop over rows. See :mod:`survey.validation` for the rules and policies.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ValidationError, did_you_mean
from . import messages as M
from .report import FULL_COLUMNS, ValidationReport, empty_problems

FLAG, SET_MISSING, REJECT = "flag", "set_missing", "reject_row"


@dataclasses.dataclass(frozen=True)
class Rule:
    """A validation rule: its default action, severity, and what it is about (a whole row,
    a cell, or a column of the file). Messages are in the i18n catalogue (``validation``
    namespace, the rule's name; display names in ``rule``)."""

    name: str
    action: str
    severity: str
    scope: str = "cell"  # cell | row | column


#: every rule, in one place: adding a rule is one entry here, its messages in the
#: catalogue, and the few lines that find it (see the module docstring of survey.validation
#: for the reasons behind each default)
RULES: dict[str, Rule] = {r.name: r for r in (
    Rule("incomplete", REJECT, "warning", "row"),
    Rule("blank_form", REJECT, "warning", "row"),
    Rule("ragged_line", REJECT, "error", "row"),  # wrong number of fields: cannot be aligned
    Rule("duplicate_id", REJECT, "warning", "row"),  # exact copies: later copies rejected
    Rule("duplicate_id_conflict", FLAG, "error", "row"),  # same id, different answers: kept
    Rule("unknown_code", SET_MISSING, "error"),
    Rule("type", SET_MISSING, "error"),
    Rule("choice_filter", SET_MISSING, "error"),  # an option the cascading select hides
    Rule("orphan_repeat_row", FLAG, "error", "row"),  # set by ingest.repeats
    Rule("repeat_count", FLAG, "warning", "row"),  # rows of a repeat != its repeat_count
    Rule("formula_without_value", FLAG, "error"),  # Excel formula never computed: blank cell
    Rule("constraint", SET_MISSING, "error"),
    Rule("required", FLAG, "warning", "row"),
    Rule("skip_violation", FLAG, "warning"),
    Rule("max_choices", FLAG, "error"),
    Rule("exclusive", FLAG, "error"),
    Rule("other_without_text", FLAG, "warning"),
    Rule("text_without_other", FLAG, "warning"),
    Rule("straightlining", FLAG, "warning", "row"),
    Rule("speeder", FLAG, "warning", "row"),
    Rule("missing_column", FLAG, "warning", "column"),  # template question not in the file
    Rule("unknown_column", FLAG, "warning", "column"),  # file column not in the template
    Rule("check", FLAG, "warning", "row"),  # every template check; "check:<id>" overrides one
)}

#: default action per rule
DEFAULT_POLICIES: dict[str, str] = {r.name: r.action for r in RULES.values()}
_ROW_RULES = {r.name for r in RULES.values() if r.scope in ("row", "column")}
SEVERITY: dict[str, str] = {r.name: r.severity for r in RULES.values() if r.name != "check"}

#: a respondent faster than this fraction of the median completion time is a speeder
#: (Leiner 2019, "Too fast, too straight, too weird", Survey Research Methods 13(3):
#: flag completion faster than half the typical time)
SPEEDER_FRACTION = 0.5
#: straightlining is looked for on grids of at least this many rows
STRAIGHTLINE_MIN_ROWS = 3

_SELECT_ONE = ("select_one",)
_NUMERIC = ("integer", "decimal", "range")
_DATES = ("date", "datetime", "start", "end", "today")
_SKIP_TYPES = ("note",)
_TIMESTAMP_PAIRS = (("start", "end"), ("StartDate", "EndDate"), ("startdate", "submitdate"),
                    ("starttime", "endtime"))


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ValidationResult:
    """What :func:`validate` returns.

    Attributes
    ----------
    data : accepted rows, typed (categoricals of labels, ``q_<choice>`` booleans for
        multiple choice, numbers, dates, strings); index = source row number, named ``row``.
    missing : same index as ``data``, one column per question: the missing code that says why
        a cell is empty (not applicable, no answer, invalid), ``<NA>`` where answered.
    rejected : rows not accepted: the raw values, ``rule`` and ``reason``; index ``row``.
    report : the `ValidationReport` (problems of accepted and rejected rows).
    source : provenance copied from the raw table, plus ``rows_read``.
    """

    data: pd.DataFrame
    missing: pd.DataFrame
    rejected: pd.DataFrame
    report: ValidationReport
    source: dict = dataclasses.field(default_factory=dict)
    questionnaire: Any = None

    def __repr__(self) -> str:
        return (f"<ValidationResult: {len(self.data)} accepted, {len(self.rejected)} rejected, "
                f"{len(self.report.problems)} problems>")

    def to_survey(self, questionnaire: Any = None, *, language: str | None = None):
        """Wrap the result in a `Survey` (data, missing, rejected, validation, source); the
        questionnaire validated against unless another is given. Same as `read_responses`."""
        from ..core.survey import Survey

        q = self.questionnaire if questionnaire is None else questionnaire
        return Survey(data=self.data, questionnaire=q, validation=self.report,
                      rejected=self.rejected, missing=self.missing, source=dict(self.source),
                      language=language)


# --- policies ---------------------------------------------------------------------------------
def resolve_policies(policies: dict | None, check_ids=()) -> dict[str, str]:
    """Merge user ``policies`` over the defaults, checking names and actions."""
    out = dict(DEFAULT_POLICIES)
    for cid in check_ids:
        out[f"check:{cid}"] = DEFAULT_POLICIES["check"]
    for rule, action in (policies or {}).items():
        key = str(rule)
        if key not in out:
            hint = did_you_mean(key, list(out))
            raise ValidationError(
                f"policies: unknown rule {key!r}" + (f"; {hint}" if hint else "")
                + f". Known rules: {', '.join(sorted(out))}.")
        act = str(action)
        if act == "blank":
            act = SET_MISSING
        if act not in (FLAG, SET_MISSING, REJECT):
            raise ValidationError(
                f"policies[{key!r}]: expected 'flag', 'set_missing' or 'reject_row', "
                f"found {action!r}.")
        base = "check" if key.startswith("check") else key
        if act != FLAG and base in RULES and RULES[base].scope == "column":
            raise ValidationError(
                f"policies[{key!r}]: a rule about a column of the file can only 'flag'.")
        if act == SET_MISSING and base in _ROW_RULES:
            raise ValidationError(
                f"policies[{key!r}]: 'set_missing' does not apply to a rule about a whole row "
                "or an empty cell. Hint: use 'flag' or 'reject_row'.")
        out[key] = act
        if key == "check":
            for cid in check_ids:
                if f"check:{cid}" not in (policies or {}):
                    out[f"check:{cid}"] = act
    return out


# --- helpers ----------------------------------------------------------------------------------
def _as_text(s: pd.Series) -> pd.Series:
    """A column as stripped text (pandas ``str`` dtype, NaN for blanks).

    Integral floats lose their ``.0``; booleans become ``1``/``0``.
    """
    fast = _as_text_small(s)
    if fast is not None:
        return fast
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype(object).map({True: "1", False: "0"})
    elif pd.api.types.is_integer_dtype(s.dtype):
        out = s.astype("Int64").astype("string").astype(object)
    elif pd.api.types.is_float_dtype(s.dtype):
        f = s.astype(float)
        integral = np.isfinite(f) & (f == np.round(f))
        out = f.astype(object).where(f.notna(), None)
        out[integral] = f[integral].astype("int64").astype(str)
        out[~integral & f.notna()] = f[~integral & f.notna()].astype(str)
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.strftime("%Y-%m-%dT%H:%M:%S")
    else:
        out = s
    out = out.astype("str").str.strip()
    return out.mask(out == "")


#: at most this many rows take the pure-Python paths for tiny frames (one form keyed in
#: ``survey entry``); tests set it to 0 to compare them with the column-wise path.
SMALL_FRAME = 64


def _int_codes(code: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Missing-value codes (float, NaN where the cell is answered) as nullable Int64, built
    from values and mask (what ``pd.array(code, dtype="Float64").astype("Int64")`` gives,
    without its per-call cost); a code that is not a whole number takes that conversion."""
    mask = np.isnan(code)
    values = np.where(mask, 0.0, code)
    ints = values.astype(np.int64)
    if not np.array_equal(ints, values):
        return pd.array(code, dtype="Float64").astype("Int64")
    return pd.arrays.IntegerArray(ints, mask)


def _plain_edges(v: str) -> bool:
    """No character at either end that any strip could remove (conservative: anything not
    printable, e.g. a no-break or zero-width space, counts as removable)."""
    return not v or all(c.isprintable() and not c.isspace() for c in (v[0], v[-1]))


def _as_text_small(s: pd.Series) -> pd.Series | None:
    """`_as_text` of a few cells of Python text (or blanks) without pandas' per-call cost:
    the same values, dtype, index and name; ``None`` when the column is anything else or a
    value has edges to strip (the column-wise path decides those)."""
    if len(s) > SMALL_FRAME or not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return None
    vals = []
    for v in s.tolist():
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            vals.append(np.nan)
        elif type(v) is str and _plain_edges(v):
            vals.append(v if v else np.nan)
        else:
            return None
    return pd.Series(vals, index=s.index, dtype="str", name=s.name)


@functools.lru_cache(maxsize=1024)
def _code_index(codes: tuple[str, ...]) -> pd.Index:
    """The index of a question's codes (immutable: built once per code list, not per call)."""
    return pd.Index(list(codes), dtype="str")


@functools.lru_cache(maxsize=1024)
def _categories(cats: tuple, ordered: bool) -> pd.CategoricalDtype:
    """A question's categorical dtype (immutable), validated once rather than per call."""
    return pd.CategoricalDtype(list(cats), ordered=ordered)


def _to_number(s: pd.Series) -> pd.Series:
    """Parse a text column as float64 (NaN where blank or not a number)."""
    try:
        return s.astype("float64")
    except (ValueError, TypeError):
        return pd.to_numeric(s, errors="coerce").astype("float64")


def _split_multi(norm: pd.Series, codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n × k boolean matrix of ticked choices, rows holding a token that is no choice)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(norm)
    arr = pa.array(norm.to_numpy(dtype=object, na_value=None), type=pa.string())
    lists = pc.utf8_split_whitespace(arr)
    flat = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists).to_numpy()
    idx = pc.fill_null(pc.index_in(flat, value_set=pa.array(codes, type=pa.string())), -1)
    idx = idx.to_numpy()
    sel = np.zeros((n, len(codes)), dtype=bool)
    ok = idx >= 0
    sel[parents[ok], idx[ok]] = True
    unknown = np.zeros(n, dtype=bool)
    unknown[parents[~ok]] = True
    return sel, unknown


def _lang(q, language: str | None) -> str:
    if language:
        return language
    langs = getattr(q, "languages", None)
    default = getattr(langs, "default", None) or getattr(q, "default_language", None)
    return default or "en"


def _label(text, language: str, fallback: str) -> str:
    if isinstance(text, dict) and text:
        return text.get(language) or next(iter(text.values()))
    return fallback


def _constraint_message(item, lang: str, label_lang: str, values, /, **fields) -> _Lazy:
    """The constraint problem, quoting the form's own ``constraint_message`` when it has one
    (what the enumerator was told): in the report's language when the form has it, else in the
    form's default language."""
    text = getattr(item, "constraint_message", None) or {}
    own = text.get(lang) or _label(text, label_lang, "")
    if own:
        return _Lazy("constraint_form", lang, values, message=own, **fields)
    return _Lazy("constraint", lang, values, **fields)


def _conjuncts(e) -> list:
    from ..questionnaire.expressions import BinOp

    if isinstance(e, BinOp) and e.op == "and":
        return _conjuncts(e.left) + _conjuncts(e.right)
    return [e]


def _and_all(parts: list):
    from ..questionnaire.expressions import BinOp

    out = parts[0]
    for p in parts[1:]:
        out = BinOp("and", out, p)
    return out


def _effective_relevance(q) -> dict[str, list]:
    """question name -> list of relevance ASTs (enclosing groups, grid, own)."""
    from ..questionnaire.expressions import parse_expression, parse_or_keep
    from ..questionnaire.model import Grid, Group, Question, walk_items

    model = getattr(q, "model", None)
    items = getattr(model, "items", None) if model is not None else getattr(q, "items", None)
    out: dict[str, list] = {}
    if items is None:
        return out
    for it, parents in walk_items(items):
        outer = [parse_or_keep(p.relevant) for p in parents
                 if isinstance(p, Group) and p.relevant]
        if isinstance(it, Grid):
            grid_rel = [parse_or_keep(it.relevant)] if it.relevant else []
            for r in it.rows:
                own = [parse_or_keep(r.relevant)] if r.relevant else []
                out[r.name] = outer + grid_rel + own
        elif isinstance(it, Question):
            own = [it.relevant_ast] if it.relevant else []
            out[it.name] = outer + own
            if it.other is not None:
                out[it.other.text] = outer + own + [
                    parse_expression(f"selected(${{{it.name}}}, '{it.other.choice}')")]
    return out


class _Lazy:
    """A message rendered only for the rows that have the problem."""

    def __init__(self, key: str, language: str, values=None, /, **fields):
        self.key, self.language, self.values, self.fields = key, language, values, fields

    def at(self, pos: np.ndarray) -> np.ndarray:
        if self.values is None:
            text = M.render(self.key, self.language, **self.fields)
            return np.full(len(pos), text, dtype=object)
        vals = self.values.iloc[pos] if isinstance(self.values, pd.Series) else \
            pd.Series(np.asarray(self.values, dtype=object)[pos])
        return M.render(self.key, self.language, vals, **self.fields).to_numpy(dtype=object)


def _column_problems(P, raw, lang: str, pol: dict) -> None:
    """missing_column / unknown_column: one problem per column (no row), with a did-you-mean
    among the other side's names. Platform system columns (Kobo ``_uuid``...) are not unknown."""
    from ..errors import close_matches

    absent = dict(getattr(raw, "absent_columns", {}) or {})
    source = dict(getattr(raw, "source", {}) or {})
    platform_cols = set(source.get("platform_columns", ()) or ())
    unknown = [h for h in (getattr(raw, "unknown_columns", ()) or ())
               if h not in platform_cols and not str(h).startswith("_missing:")]

    def hint(names) -> str:
        return M.render("did_you_mean", lang, name=names[0]) if names else ""

    for qname, near in absent.items():
        P.add_column(question=qname, value=None, rule="missing_column",
                     severity=SEVERITY["missing_column"], action=pol["missing_column"],
                     message=M.render("missing_column", lang, question=qname,
                                      hint=hint(list(near))))
    for h in unknown:
        near = close_matches(str(h), list(absent), n=1)
        P.add_column(question="", value=str(h), rule="unknown_column",
                     severity=SEVERITY["unknown_column"], action=pol["unknown_column"],
                     message=M.MESSAGES["unknown_column"][lang].format(value=str(h),
                                                                       hint=hint(near)))


class _Problems:
    """Collects problems batch by batch (each batch is column-wise)."""

    def __init__(self, rows: np.ndarray, ids: pd.Series | None, suppress: np.ndarray):
        self.rows, self.suppress = rows, suppress
        self.ids = None if ids is None else np.where(
            ids.isna().to_numpy(), None, ids.to_numpy(dtype=object))
        self.parts: list[pd.DataFrame] = []

    def add(self, mask, *, question: str, value, rule: str, severity: str, message,
            action: str, keep_suppressed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        m = np.asarray(mask, dtype=bool)
        if not keep_suppressed:
            m = m & ~self.suppress
        pos = np.flatnonzero(m)
        if len(pos) == 0:
            return pos, np.empty(0, dtype=object)

        def pick(v):
            if isinstance(v, pd.Series):
                out = v.iloc[pos].to_numpy(dtype=object)
                return np.where(pd.isna(out), None, out)
            if isinstance(v, np.ndarray):
                return v[pos]
            return np.full(len(pos), v, dtype=object)

        msgs = message.at(pos) if isinstance(message, _Lazy) else pick(message)
        part = pd.DataFrame({
            "row": self.rows[pos],
            "respondent_id": (pick(self.ids) if self.ids is not None
                              else np.full(len(pos), None, dtype=object)),
            "question": question,
            "value": pick(value),
            "rule": rule,
            "severity": severity,
            "message": msgs,
            "action": action,
            "_pos": pos,
        })
        self.parts.append(part)
        return pos, msgs

    def add_column(self, *, question: str, value, rule: str, severity: str, message: str,
                   action: str) -> None:
        """A problem about a column of the file (no row); one frame for all of them (a file
        with 10,000 unknown columns stays linear)."""
        if not self.parts or not isinstance(self.parts[-1], list):
            self.parts.append([])
        self.parts[-1].append({
            "row": pd.NA, "respondent_id": None, "question": question, "value": value,
            "rule": rule, "severity": severity, "message": message, "action": action,
            "_pos": -1})

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            out = empty_problems()
            out["_pos"] = pd.Series(dtype="int64")
            return out
        parts = [pd.DataFrame(p) if isinstance(p, list) else p for p in self.parts]
        out = pd.concat(parts, ignore_index=True)
        out = out.sort_values(["_pos"], kind="stable").reset_index(drop=True)
        out["row"] = out["row"].astype("Int64")
        return out


# --- the engine -------------------------------------------------------------------------------
def validate(raw, questionnaire, *, policies: dict | None = None, language: str | None = None,
             id_column: str | None = None) -> ValidationResult:
    """Validate raw responses against ``questionnaire`` (see :mod:`survey.validation`)."""
    q = questionnaire
    source: dict = {}
    notes: list[str] = []
    if hasattr(raw, "frame") and isinstance(raw.frame, pd.DataFrame):
        source = dict(getattr(raw, "source", {}) or {})
        frame = raw.frame
    elif isinstance(raw, pd.DataFrame):
        frame = raw
    else:
        raise ValidationError(
            f"validate() expects a RawTable or a pandas DataFrame of raw responses, "
            f"got {type(raw).__name__}. Hint: read files with survey.read_responses().")
    if q is None or not hasattr(q, "questions"):
        raise ValidationError("validate() needs a Questionnaire (survey.load_questionnaire(...)).")

    lang = M.pick_language(language or _lang(q, None))
    label_lang = _lang(q, None)
    checks = tuple(getattr(q, "checks", ()) or ())
    pol = resolve_policies(policies, [c.id for c in checks])
    from ..core.missing import MissingScheme

    scheme = MissingScheme.from_questionnaire(q)

    n = len(frame)
    if "_row" in frame.columns:
        rows = pd.to_numeric(frame["_row"], errors="coerce").fillna(-1).astype("int64").to_numpy()
    else:
        rows = np.arange(1, n + 1, dtype="int64")
        notes.append("no _row column: rows are numbered 1..n in frame order")

    questions = [qq for qq in q.questions() if qq.type not in _SKIP_TYPES]
    qnames = [qq.name for qq in questions]

    # canonical text view of every question column (absent -> all blank)
    absent = [name for name in qnames if name not in frame.columns]
    raw_txt = {}
    for name in qnames:
        raw_txt[name] = (_as_text(frame[name]) if name in frame.columns
                         else pd.Series([None] * n, index=frame.index, dtype=object))
    raw_df = pd.DataFrame(raw_txt, index=frame.index)
    if absent:
        notes.append(f"{len(absent)} questions absent from the data (all blank): "
                     + ", ".join(absent[:10]) + (" ..." if len(absent) > 10 else ""))
    extras = [c for c in frame.columns if c not in raw_txt
              and c not in ("_row", "_incomplete", "_ragged")]

    # answered cells as one boolean matrix: a column, or a row's any/all over some columns,
    # is a numpy slice (a one-form frame took ~1 ms per DataFrame selection)
    answered = raw_df.notna().to_numpy()
    answered.setflags(write=False)  # columns of it are handed out as views
    column_of = {c: j for j, c in enumerate(raw_df.columns)}

    def answered_in(cols: list[str]) -> np.ndarray:
        return answered[:, [column_of[c] for c in cols]]

    # --- respondent id -----------------------------------------------------------------
    idcol = id_column
    if idcol is None:
        ids = [qq.name for qq in questions if getattr(qq, "role", None) == "id"]
        idcol = ids[0] if ids else next((c for c in ("respondent_id", "id", "_id")
                                         if c in raw_df.columns), None)
    elif idcol not in raw_df.columns and idcol not in frame.columns:
        hint = did_you_mean(idcol, list(frame.columns))
        raise ValidationError(f"id_column {idcol!r} is not a column of the data"
                              + (f"; {hint}" if hint else ""))
    id_series = None
    if idcol is not None:
        id_series = raw_df[idcol] if idcol in raw_df.columns else _as_text(frame[idcol])

    # --- whole-row rules (decided first: they suppress cell problems) -------------------
    unit_var = getattr(getattr(q, "fieldwork", None), "unit_variable", None)
    admin = {idcol, unit_var} | {qq.name for qq in questions
                                  if getattr(qq, "role", None) in ("id", "admin")
                                  or qq.type in ("start", "end", "today", "deviceid",
                                                 "calculate")}
    substantive = [c for c in qnames if c not in admin]
    blank = ~answered_in(substantive).any(axis=1) if substantive else np.zeros(n, bool)
    stated = getattr(raw, "missing", None)  # a cell coded "don't know" is not a blank form
    if stated is not None and len(stated) == n:
        cols = [c for c in stated.columns if c in substantive]
        if cols:
            blank &= ~stated[cols].notna().any(axis=1).to_numpy()
    ragged = np.zeros(n, bool)
    if "_ragged" in frame.columns:
        ragged = frame["_ragged"].notna().to_numpy()
        blank = blank & ~ragged
    incomplete = np.zeros(n, bool)
    if "_incomplete" in frame.columns:
        incomplete = frame["_incomplete"].fillna(False).astype(bool).to_numpy()

    exact_dup = np.zeros(n, bool)
    conflict = np.zeros(n, bool)
    first_row = None
    if id_series is not None and n == 1:  # one row: no copy of anything
        first_row = rows[:1]
    elif id_series is not None:
        has_id = id_series.notna().to_numpy()
        h = pd.util.hash_pandas_object(raw_df, index=False).to_numpy()
        key = pd.DataFrame({"id": id_series.fillna("").to_numpy(), "h": h})
        exact_dup = key.duplicated(keep="first").to_numpy() & has_id & ~blank
        live = has_id & ~exact_dup & ~blank
        ids_live = id_series.where(live)
        conflict = ids_live.duplicated(keep=False).to_numpy() & live
        # row of the first copy for each exact duplicate
        first_idx = key.groupby(["id", "h"], sort=False).ngroup().to_numpy()
        first_pos = pd.Series(np.arange(n)).groupby(first_idx).transform("min").to_numpy()
        first_row = rows[first_pos]

    suppress = blank | exact_dup | ragged
    P = _Problems(rows, id_series, suppress)
    reject = np.zeros(n, bool)
    reject_rule = np.full(n, None, dtype=object)
    reject_msg = np.full(n, None, dtype=object)

    def row_rule(mask, rule, key, value, message, *, severity=None, policy_key=None,
                 question="", keep_suppressed=True):
        action = pol[policy_key or rule]
        pos, msgs = P.add(mask, question=question, value=value, rule=rule,
                          severity=severity or SEVERITY.get(policy_key or rule, "warning"),
                          message=message, action=action, keep_suppressed=keep_suppressed)
        _reject(pos, msgs, rule, action)
        return pos

    def _reject(pos, msgs, rule, action):
        if action == REJECT and len(pos):
            fresh = ~reject[pos]
            new = pos[fresh]
            reject[new] = True
            reject_rule[new] = rule
            reject_msg[new] = msgs[fresh]

    if ragged.any():
        row_rule(ragged, "ragged_line", "ragged_line", frame["_ragged"],
                 _Lazy("ragged_line", lang, frame["_ragged"],
                       expected=source.get("header_fields", "?")))
    row_rule(incomplete & ~ragged, "incomplete", "incomplete", None, _Lazy("incomplete", lang))
    row_rule(blank, "blank_form", "blank_form", None, _Lazy("blank_form", lang))
    if id_series is not None:
        msg = pd.Series([""] * n, index=frame.index, dtype=object)
        if exact_dup.any():
            tmpl = M.MESSAGES["duplicate_exact"][lang]
            head, _, tail = tmpl.partition("{value}")
            mid, _, end = tail.partition("{first}")
            msg = head + id_series.fillna("").astype(str) + mid + pd.Series(
                first_row, index=frame.index).astype(str) + end
        row_rule(exact_dup, "duplicate_id", "duplicate_id", id_series, msg, question=idcol)
        if conflict.any():
            tmpl = M.MESSAGES["duplicate_conflict"][lang]
            head, _, tail = tmpl.partition("{value}")
            mid, _, end = tail.partition("{rows}")
            row_list = pd.Series(rows, index=frame.index).where(conflict).dropna().astype(
                "int64").astype(str).groupby(id_series[conflict]).agg(", ".join)
            msg = head + id_series.fillna("").astype(str) + mid + id_series.map(
                row_list).fillna("").astype(str) + end
            row_rule(conflict, "duplicate_id", "duplicate_id_conflict", id_series, msg,
                     policy_key="duplicate_id_conflict", question=idcol)

    _column_problems(P, raw, lang, pol)
    for row, qname, formula in source.get("formula_cells", ()) or ():
        message = M.render("formula_without_value", lang, pd.Series([formula]),
                           question=qname)[0]
        cell_at = rows == row
        if not cell_at.any():  # a header cell: its column has a placeholder name or none
            P.add_column(question=qname, value=formula, rule="formula_without_value",
                         severity=SEVERITY["formula_without_value"], message=message,
                         action=pol["formula_without_value"])
        elif qname in raw_df.columns:  # kept on a row that looks blank: the formula is why
            P.add(cell_at, question=qname, value=formula, rule="formula_without_value",
                  severity=SEVERITY["formula_without_value"], message=message,
                  action=pol["formula_without_value"], keep_suppressed=True)

    # --- per question ------------------------------------------------------------------
    # the frame expressions see: text, with numeric questions parsed once as numbers
    numbers = {qq.name: _to_number(raw_df[qq.name]) for qq in questions if qq.type in _NUMERIC}
    eval_df = raw_df.assign(**numbers) if numbers else raw_df
    relevance = _effective_relevance(q)
    rel_cache: dict[str, np.ndarray] = {}
    from ..questionnaire.expressions import ExpressionError, evaluate, names, to_text

    unevaluable: set[str] = set()
    from ..questionnaire.expressions import Opaque

    for qq in questions:  # calculations are read from the data; an unreadable one is noted
        calc = getattr(qq, "calculation_ast", None)
        if isinstance(calc, Opaque):
            notes.append(f"calculation of {qq.name!r} not checked against the data: "
                         f"{calc.text} (not read as an expression: {calc.reason})")

    def ev_bool(ast, unknown: bool = True) -> np.ndarray:
        """Per row; an expression only the form engine can evaluate (pulldata, position,
        instance paths, ...) counts as ``unknown`` on every row, with a note."""
        text = to_text(ast)
        if text not in rel_cache:
            try:
                rel_cache[text] = evaluate(ast, eval_df).fillna(False).astype(bool).to_numpy()
            except ExpressionError as exc:
                notes.append(f"not checked against the data: {text} ({exc.reason})")
                rel_cache[text] = np.full(n, unknown)
                unevaluable.add(text)
        return rel_cache[text]

    typed: dict[str, pd.Series] = {}
    datacol: dict[str, str] = {}
    set_missing: dict[str, np.ndarray] = {}  # question -> cells set to invalid
    blanked: dict[str, np.ndarray] = {}  # question -> cells blanked as not applicable
    relevant_of: dict[str, np.ndarray] = {}
    unusable: dict[str, np.ndarray] = {}  # cells with an unknown code, bad type or constraint
    other_texts = {qq.other.text: qq for qq in questions if getattr(qq, "other", None)}

    def cell_rule(mask, name, rule, message, *, value=None, policy_key=None):
        action = pol[policy_key or rule]
        v = raw_df[name] if value is None else value
        pos, msgs = P.add(mask, question=name, value=v, rule=rule,
                          severity=SEVERITY[policy_key or rule], message=message, action=action)
        if action == SET_MISSING and len(pos):
            target = blanked if rule == "skip_violation" else set_missing
            arr = target.setdefault(name, np.zeros(n, bool))
            arr[pos] = True
        _reject(pos, msgs, rule, action)
        return pos

    for qq in questions:
        name = qq.name
        s = raw_df[name]
        has = answered[:, column_of[name]]
        qlabel = name
        qtype = qq.type
        bad = np.zeros(n, bool)  # cells whose value cannot be used (unknown/type)
        info = q.var_info(name, language=label_lang) if hasattr(q, "var_info") else None
        # the data column (differs from the question name e.g. for an "other" text whose
        # name would clash with the q_other option column)
        col = info.columns[0] if info is not None and info.columns and qtype != \
            "select_multiple" else name
        datacol[name] = col
        if qtype in _SELECT_ONE:
            codes_ = list(info.codes) if info is not None else []
            ci = _code_index(tuple(codes_)).get_indexer(s)
            # codes are unique (get_indexer requires it): "in the codes" is "has a position"
            valid = ci >= 0 if all(type(c) is str for c in codes_) else \
                s.isin(codes_).to_numpy()
            wrong = has & ~valid
            if wrong.any():
                w = pd.Series(s.to_numpy(dtype=object)[wrong], dtype=object)
                exploded = w.str.split(r"[\s,;，；、/]+", regex=True).explode()
                exploded = exploded[exploded.notna() & (exploded != "")]
                all_ok = exploded.isin(codes_).groupby(level=0).all()
                ntok = exploded.groupby(level=0).size()
                dbl = (all_ok & (ntok > 1)).reindex(range(len(w)), fill_value=False)
                double = np.zeros(n, dtype=bool)
                double[np.flatnonzero(wrong)[dbl.to_numpy(dtype=bool)]] = True
                cell_rule(double, name, "unknown_code",
                          _Lazy("double_mark", lang, s, question=qlabel))
                cell_rule(wrong & ~double, name, "unknown_code",
                          _Lazy("unknown_code", lang, s, question=qlabel,
                                   valid=", ".join(codes_[:12])
                                   + (" …" if len(codes_) > 12 else "")))
                bad = wrong
            ordered = bool(info.ordered) if info is not None else False
            cats = codes_
            if info is not None and len(set(info.categories)) == len(info.categories):
                cats = list(info.categories)
            cat = pd.Categorical.from_codes(ci, dtype=_categories(tuple(cats), ordered))
            typed[col] = pd.Series(cat, index=frame.index)
        elif qtype == "select_multiple":
            codes_ = list(info.codes) if info is not None else []
            norm = s.str.replace(r"[,;，；、]+", " ", regex=True)
            matrix, unknown_tok = _split_multi(norm, codes_)
            sel = {c: matrix[:, i] for i, c in enumerate(codes_)}
            wrong = has & unknown_tok
            if wrong.any():
                cell_rule(wrong, name, "unknown_code",
                          _Lazy("unknown_code", lang, s, question=qlabel,
                                   valid=", ".join(codes_)))
                bad = wrong
            count = matrix.sum(axis=1)
            mx = qq.max_choices
            if mx is not None:
                over = has & (count > mx)
                cell_rule(over, name, "max_choices",
                          _Lazy("max_choices", lang, pd.Series(count, index=s.index),
                                   question=qlabel, max=mx), value=s)
            for ex in getattr(qq, "exclusive", ()) or ():
                if ex in sel:
                    viol = has & sel[ex] & (count > 1)
                    cell_rule(viol, name, "exclusive",
                              _Lazy("exclusive", lang, s, question=qlabel, choice=ex))
            cols = list(info.columns) if info is not None else [f"{name}_{c}" for c in codes_]
            for c, col in zip(codes_, cols):
                typed[col] = pd.Series(pd.array(sel[c], dtype="boolean"),
                                       index=frame.index).where(has, pd.NA)
            typed.setdefault("__multi__", {})  # marker
        elif qtype in _NUMERIC:
            num = numbers[name]
            wrong = has & num.isna().to_numpy()
            wrong |= has & ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan)) & \
                num.notna().to_numpy()  # inf, 1e999
            if qtype == "integer":
                frac = (num.notna() & (num != np.round(num))).to_numpy()
                wrong |= frac | (num.abs() >= 2.0 ** 63).fillna(False).to_numpy()  # 1e19
            if wrong.any():
                cell_rule(wrong, name, "type",
                          _Lazy("type", lang, s, question=qlabel,
                                   expected=M.expected_text(qtype, lang)))
                bad = wrong
            num = num.where(~wrong)
            if qtype == "integer":
                typed[col] = num.round().astype("Int64")
            else:
                typed[col] = num.astype("Float64")
        elif qtype in _DATES:
            d = pd.to_datetime(s, errors="coerce", format="ISO8601")
            retry = has & d.isna().to_numpy()
            if retry.any():
                d2 = pd.to_datetime(s.where(retry), errors="coerce", format="mixed")
                d = d.where(~retry, d2)
            wrong = has & d.isna().to_numpy()
            if wrong.any():
                cell_rule(wrong, name, "type",
                          _Lazy("type", lang, s, question=qlabel,
                                   expected=M.expected_text(
                                       "datetime" if qtype != "date" else "date", lang)))
                bad = wrong
            typed[col] = d
        elif qtype == "time":
            ok = s.str.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?",
                                 na=False).to_numpy()
            wrong = has & ~ok
            if wrong.any():
                cell_rule(wrong, name, "type",
                          _Lazy("type", lang, s, question=qlabel,
                                   expected=M.expected_text("time", lang)))
                bad = wrong
            typed[col] = s.where(~wrong)
        else:
            typed[col] = s
        if getattr(qq, "choice_filter", None) and qtype in (*_SELECT_ONE, "select_multiple"):
            from .choice_filter import outside_filter

            try:
                off = outside_filter(qq, q, s.where(~bad), eval_df,
                                     multi=qtype == "select_multiple")
            except ExpressionError as exc:  # position(), instance() ...: the form's engine
                notes.append(f"choice_filter of {name!r} not checked against the data: "
                             f"{qq.choice_filter} ({exc.reason})")
                off = np.zeros(n, bool)
            if off.any():
                cell_rule(off, name, "choice_filter",
                          _Lazy("choice_filter", lang, s, question=qlabel,
                                filter=qq.choice_filter))
                bad = bad | off

        # relevance, required, skip violations
        rel_parts = relevance.get(name)
        if rel_parts is None:
            rel_parts = [qq.relevant_ast] if getattr(qq, "relevant", None) else []
        rel = ev_bool(_and_all(rel_parts)) if rel_parts else np.ones(n, bool)
        relevant_of[name] = rel
        if name in other_texts:
            parent = other_texts[name]
            ptxt = raw_df[parent.name].fillna("")
            chosen = ptxt.str.contains(
                rf"(?:^|[\s,;，；、]){re.escape(parent.other.choice)}(?:[\s,;，；、]|$)",
                regex=True).to_numpy()
            # the other-text: its own rules replace skip_violation
            cell_rule(has & ~chosen, name, "text_without_other",
                      _Lazy("text_without_other", lang, s, question=parent.name,
                               choice=parent.other.choice, text=name))
            p_has = answered[:, column_of[parent.name]]
            cell_rule(p_has & chosen & ~has, parent.name, "other_without_text",
                      _Lazy("other_without_text", lang, None, question=parent.name,
                               choice=parent.other.choice, text=name),
                      value=raw_df[parent.name])
        elif rel_parts:
            viol = has & ~rel
            # an invalid answer upstream makes the skip undecidable: no skip_violation then
            for ref in set().union(*(names(p) for p in rel_parts)):
                if ref in unusable:
                    viol = viol & ~unusable[ref]
            if viol.any():
                rel_text = " and ".join(to_text(p) for p in rel_parts)
                cell_rule(viol, name, "skip_violation",
                          _Lazy("skip_violation", lang, s, question=qlabel,
                                   relevant=rel_text))
        req_ast = getattr(qq, "required_ast", None)
        if req_ast is not None:
            req = ev_bool(req_ast, unknown=False) & rel
            if rel_parts and to_text(_and_all(rel_parts)) in unevaluable:
                req = np.zeros(n, bool)  # asked or not is unknown: no "required" claim
            miss = req & ~has
            if miss.any():
                cell_rule(miss, name, "required", _Lazy("required", lang, question=qlabel))

        # constraint (own value, only when non-empty and usable)
        cons = getattr(qq, "constraint_ast", None)
        if cons is not None:
            parts = _conjuncts(cons)
            if qtype == "select_multiple" and qq.max_choices is not None:
                parts = [p for p in parts if "count-selected(.)" not in to_text(p)]
            if parts:
                ast = _and_all(parts)
                cur = eval_df[name]
                try:
                    okc = evaluate(ast, eval_df, current=cur).fillna(False).astype(bool) \
                        .to_numpy()
                except ExpressionError as exc:  # form-engine functions: not checkable here
                    notes.append(f"constraint of {name!r} not checked against the data: "
                                 f"{to_text(ast)} ({exc.reason})")
                    okc = np.ones(n, bool)
                viol = has & ~bad & ~okc
                if viol.any():
                    cell_rule(viol, name, "constraint", _constraint_message(
                        qq, lang, label_lang, s, question=qlabel, constraint=to_text(ast)))
                bad = bad | viol
        unusable[name] = bad

    typed.pop("__multi__", None)

    # --- grids: straightlining ---------------------------------------------------------
    grids: dict[str, list[str]] = {}
    for qq in questions:
        g = getattr(qq, "grid", None)
        if g:
            grids.setdefault(g, []).append(qq.name)
    for g, cols in grids.items():
        if len(cols) < STRAIGHTLINE_MIN_ROWS:
            continue
        first = raw_df[cols[0]]
        vals = raw_df[cols].to_numpy(dtype=object, na_value=None)
        same = answered_in(cols).all(axis=1) & (vals == vals[:, :1]).all(axis=1)
        if same.any():
            row_rule(same, "straightlining", "straightlining", first,
                     _Lazy("straightlining", lang, first, question=g, k=len(cols)),
                     question=g, keep_suppressed=False)
    # --- speeders ----------------------------------------------------------------------
    start_end = None
    starts = [qq.name for qq in questions if qq.type == "start"]
    ends = [qq.name for qq in questions if qq.type == "end"]
    if starts and ends:
        start_end = (raw_df[starts[0]], raw_df[ends[0]])
    else:
        cols = {str(c).removeprefix("_extra:"): c for c in frame.columns}
        for a, b in _TIMESTAMP_PAIRS:
            if a in cols and b in cols:
                start_end = (_as_text(frame[cols[a]]), _as_text(frame[cols[b]]))
                break
    if start_end is not None:
        t0 = pd.to_datetime(start_end[0], errors="coerce", format="mixed", utc=True)
        t1 = pd.to_datetime(start_end[1], errors="coerce", format="mixed", utc=True)
        secs = (t1 - t0).dt.total_seconds()
        okd = secs.notna() & (secs >= 0) & ~pd.Series(suppress, index=secs.index)
        if okd.sum() >= 5:
            med = float(secs[okd].median())
            fast = (okd & (secs < SPEEDER_FRACTION * med)).to_numpy()
            shown = secs.round(0).astype("Int64").astype("string").astype(object)
            row_rule(fast, "speeder", "speeder", shown,
                     _Lazy("speeder", lang, shown, median=f"{med:.0f}"),
                     keep_suppressed=False)
            notes.append(f"speeders: completion under {SPEEDER_FRACTION:g} × median "
                         f"({med:.0f} s)")
    # --- template checks ---------------------------------------------------------------
    for chk in checks:
        ast = chk.expr_ast
        refs = [r for r in qnames if r in names(ast)]
        unknown_refs = sorted(names(ast) - set(qnames))
        if unknown_refs:
            notes.append(f"check {chk.id!r} skipped: {', '.join(unknown_refs)} not in the data")
            continue
        usable = answered_in(refs).all(axis=1) if refs else np.ones(n, bool)
        for r in refs:
            if r in unusable:
                usable = usable & ~unusable[r]
        okc = evaluate(ast, eval_df).fillna(False).astype(bool).to_numpy()
        fail = usable & ~okc
        if not fail.any():
            continue
        shown = None
        for r in refs:
            piece = r + "=" + raw_df[r].fillna("").astype(str)
            shown = piece if shown is None else shown + "; " + piece
        if shown is None:
            shown = pd.Series([""] * n, index=frame.index, dtype=object)
        text = _label(getattr(chk, "message", None), lang, chk.expr)
        key = f"check:{chk.id}"
        row_rule(fail, key, key, shown,
                 _Lazy("check", lang, shown, id=chk.id, text=text),
                 severity=chk.severity, policy_key=key, question=",".join(refs),
                 keep_suppressed=False)

    # --- assemble ----------------------------------------------------------------------
    problems = P.frame()
    data = pd.DataFrame(typed, index=frame.index)
    missing_cols = {}
    for qq in questions:
        name = qq.name
        has = answered[:, column_of[name]]
        rel = relevant_of[name]
        code = np.where(has, np.nan, np.where(rel, scheme.code("nonresponse", name),
                                              scheme.code("not_applicable", name)))
        inv = set_missing.get(name)
        if inv is not None:
            code = np.where(inv, scheme.code("invalid", name), code)
        blk = blanked.get(name)
        if blk is not None:
            code = np.where(blk, scheme.code("not_applicable", name), code)
        missing_cols[name] = _int_codes(code)
        wipe = (inv if inv is not None else np.zeros(n, bool)) | (
            blk if blk is not None else np.zeros(n, bool))
        if wipe.any():
            if qq.type == "select_multiple":
                info = q.var_info(name, language=label_lang)
                for col in info.columns:
                    data[col] = data[col].where(~wipe, pd.NA)
            elif datacol.get(name, name) in data.columns:
                c = datacol.get(name, name)
                data[c] = data[c].where(~wipe)
    missing = _overlay_missing(pd.DataFrame(missing_cols, index=frame.index),
                               getattr(raw, "missing", None))
    extra_data: dict[str, Any] = {}  # added at once: 10,000 extra columns stay linear
    for c in extras:
        out_name = str(c).removeprefix("_extra:")
        if out_name in data.columns or out_name in extra_data:
            out_name = str(c)
        extra_data[out_name] = frame[c].to_numpy()
    if extra_data:
        data = pd.concat([data, pd.DataFrame(extra_data, index=data.index)], axis=1)

    index = pd.Index(rows, name="row")
    data.index = index
    missing.index = index
    keep = ~reject
    rejected = raw_df.copy()
    rejected.index = index
    if extras:
        added = pd.DataFrame({str(c): frame[c].to_numpy() for c in extras}, index=index)
        rejected = pd.concat([rejected.drop(columns=[c for c in added.columns
                                                     if c in rejected.columns]), added], axis=1)
    rejected = rejected[reject]
    rejected.insert(0, "rule", reject_rule[reject])
    rejected.insert(0, "reason", reject_msg[reject])
    data = data[keep]
    missing = missing[keep]

    notes.append(f"{n} rows read, {int(keep.sum())} accepted, {int(reject.sum())} rejected")
    report = ValidationReport(
        problems=problems.loc[:, list(FULL_COLUMNS)],
        rows_read=n,
        rows_accepted=int(keep.sum()),
        rows_rejected=int(reject.sum()),
        policies=pol,
        language=lang,
        notes=tuple(notes),
    )
    src = dict(source)
    src.setdefault("rows_read", n)
    return ValidationResult(data=data, missing=missing, rejected=rejected, report=report,
                            source=src, questionnaire=q)


def _overlay_missing(missing: pd.DataFrame, stated: pd.DataFrame | None) -> pd.DataFrame:
    """Codes the file stated (``RawTable.missing``, e.g. -77 invalid, or an SPSS user-missing
    8 = don't know) win over the reasons validation derived. Same index (frame order)."""
    if stated is None or not len(missing) or not len(stated.columns):
        return missing
    out = missing.copy()
    for col in stated.columns:
        if col not in out.columns:
            continue
        given = pd.to_numeric(stated[col], errors="coerce").to_numpy(dtype=float,
                                                                     na_value=np.nan)
        if len(given) != len(out):
            continue
        keep = ~np.isnan(given)
        if keep.any():
            vals = out[col].to_numpy(dtype=float, na_value=np.nan)
            vals[keep] = given[keep]
            arr = pd.array(vals, dtype="Float64")
            whole = np.isnan(vals) | (vals == np.round(vals))
            out[col] = arr.astype("Int64") if whole.all() else arr
    return out
