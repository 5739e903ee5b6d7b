"""Start from the data: a questionnaire template built from what a file knows.

Labelled files (SPSS ``.sav``/``.zsav``/``.por``, Stata ``.dta``) carry variable labels, value
labels, missing values per variable, measure levels, multiple-response sets, string widths
and date formats: `infer_questionnaire` turns them into a template. Excel, CSV and Parquet
carry none of that, so their template is inferred from the values (few distinct values:
a choice list; numbers; dates; free text) and should be checked before use.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import IngestError, format_problem

LABELLED = {".sav": "sav", ".zsav": "sav", ".por": "por", ".dta": "dta"}
#: at most this many distinct values make a column without value labels a choice list
MAX_CATEGORIES = 10

_NAP = re.compile(r"\b(nap|iap|inap|inapplicable|not applicable|skip(ped)?|legitimate skip|"
                  r"not asked|filtered|not_applicable)\b|跳过|跳過|不适用|不適用|未问|未問",
                  re.IGNORECASE)
_INVALID = re.compile(r"\b(invalid|error|wild code|out of range|inconsistent)\b|无效|無效",
                      re.IGNORECASE)
_NAME_OK = re.compile(r"^[A-Za-z_\u00C0-\uFFFF][\w.\-\u00C0-\uFFFF]*$")


def infer_questionnaire(source: str | os.PathLike | pd.DataFrame, *, id: str | None = None,
                        title: str | None = None, language: str = "en",
                        max_categories: int = MAX_CATEGORIES, encoding: str | None = None,
                        sheet: str | int | None = None):
    """Build a `Questionnaire` from a data file or a DataFrame.

    Parameters
    ----------
    source : a ``.sav``/``.zsav``/``.por``/``.dta`` file (labels, value labels, user-missing
        values and ranges per variable, measure levels, multiple-response sets, string widths
        and date formats are used), a ``.csv``/``.xlsx``/``.parquet`` file or a DataFrame
        (types inferred from the values).
    id, title : the template's id and title (default: from the file name).
    language : the language tag of the labels (BCP-47), default ``en``.
    max_categories : without value labels, a column with at most this many distinct values
        becomes a single choice.

    Returns
    -------
    Questionnaire
        Its ``description`` says where it came from and what was decided; write it with
        ``q.to_yaml(path)`` to check and edit it.

    Examples
    --------
    >>> import pandas as pd
    >>> q = infer_questionnaire(pd.DataFrame({"sex": ["f", "m", "f", "f"], "age": [31, 45, 27, 60]}))
    >>> [(x.name, x.type) for x in q.questions()]
    [('sex', 'select_one'), ('age', 'integer')]
    """
    from ..questionnaire import Questionnaire

    if isinstance(source, pd.DataFrame):
        name, cols, notes = "data", _from_frame(source, max_categories), []
    else:
        path = Path(source)
        if not path.exists():
            raise IngestError(format_problem(where=str(path), expected="an existing file",
                                             found="no such file", hint="check the path"))
        name = path.stem
        kind = LABELLED.get(path.suffix.lower())
        if kind is not None:
            cols, notes = _from_labelled(path, kind, encoding=encoding, language=language,
                                         max_categories=max_categories)
        else:
            cols, notes = _from_frame(_plain_frame(path, encoding, sheet), max_categories), []
    tid = id or (re.sub(r"\W", "_", name.encode("ascii", "ignore").decode()).strip("_")
                 or "inferred")
    if not re.match(r"[A-Za-z]", tid):
        tid = "t_" + tid
    origin = "a DataFrame" if isinstance(source, pd.DataFrame) else Path(source).name
    desc = f"Inferred from {origin} by survey.infer_questionnaire; check it before use."
    if notes:
        desc += " " + " ".join(notes)
    doc: dict[str, Any] = {
        "id": tid, "title": {language: title or name}, "description": {language: desc},
        "languages": {"default": language, "available": {language: {"name": language}}},
        "choice_lists": {}, "items": [],
    }
    for c in cols:
        _emit(doc, c, language)
    return Questionnaire.from_dict(doc, source=str(origin))


# --- labelled files ---------------------------------------------------------------------------
def _read_meta(path: Path, kind: str, encoding: str | None):
    import pyreadstat

    reader = {"sav": pyreadstat.read_sav, "dta": pyreadstat.read_dta,
              "por": pyreadstat.read_por}[kind]
    opts: dict[str, Any] = {"apply_value_formats": False}
    if kind != "por":
        opts["user_missing"] = True
    if encoding and kind != "por":
        opts["encoding"] = encoding
    try:
        return reader(str(path), **opts)
    except Exception as exc:  # noqa: BLE001 - pyreadstat raises its own non-public types
        raise IngestError(format_problem(where=str(path), expected=f"a readable .{kind} file",
                                         found=f"{type(exc).__name__}: {exc}",
                                         hint="the file may be damaged; re-export it")) from None


def _from_labelled(path: Path, kind: str, *, encoding, language, max_categories):
    df, meta = _read_meta(path, kind, encoding)
    notes: list[str] = []
    labels = dict(getattr(meta, "column_names_to_labels", None) or {})
    vlabels = dict(getattr(meta, "variable_value_labels", None) or {})
    label_set = dict(getattr(meta, "variable_to_label", None) or {})
    measure = dict(getattr(meta, "variable_measure", None) or {})
    formats = dict(getattr(meta, "original_variable_types", None) or {})
    widths = dict(getattr(meta, "variable_storage_width", None) or {})
    mr_sets = dict(getattr(meta, "mr_sets", None) or {})
    in_sets: dict[str, str] = {}
    cols: list[dict] = []
    for set_name, mr in mr_sets.items():
        qname = _name(str(set_name).lstrip("$"))
        vars_ = [str(v) for v in mr.get("variable_list", []) if str(v) in df.columns]
        if not vars_:
            continue
        for v in vars_:
            in_sets[v] = qname
        col = {"name": qname, "type": "select_multiple", "label": mr.get("label") or qname,
               "list": qname, "source_vars": vars_}
        if mr.get("is_dichotomy"):
            col["choices"] = [(_name(v), labels.get(v) or v) for v in vars_]
        else:  # a category set: the variables' codes are the choices
            col["choices"] = _mention_choices(df, vars_, meta, vlabels)
        cols.append(col)
    emitted_sets: set[str] = set()
    out: list[dict] = []
    for var in df.columns:
        var = str(var)
        if var in in_sets:
            if in_sets[var] not in emitted_sets:
                emitted_sets.add(in_sets[var])
                out.append(next(c for c in cols if c["name"] == in_sets[var]))
            continue
        out.append(_labelled_column(var, df[var], meta, kind=kind, label=labels.get(var),
                                    value_labels=vlabels.get(var) or {},
                                    list_name=label_set.get(var), measure=measure.get(var),
                                    fmt=str(formats.get(var) or ""), width=widths.get(var),
                                    max_categories=max_categories, notes=notes))
    return out, notes


def _labelled_column(var, s: pd.Series, meta, *, kind, label, value_labels, list_name, measure,
                     fmt, width, max_categories, notes) -> dict:
    name = _name(var)
    col: dict[str, Any] = {"name": name, "label": label or var}
    if name != var:
        col["var"] = var
    missing = _missing_of(var, meta, kind, value_labels, notes)
    if missing:
        col["missing"] = missing
    miss_codes = {m["code"] for m in missing}
    miss_letters = {m.get("letter") for m in missing}
    if pd.api.types.is_datetime64_any_dtype(s) or _date_format(fmt):
        col["type"] = _date_format(fmt) or ("datetime" if _has_time(s) else "date")
        return col
    if s.dtype == object and kind == "dta":
        s = s.where(~s.isin(miss_letters))  # extended missing letters
    numeric = pd.to_numeric(s, errors="coerce") if s.dtype == object else s
    is_string = s.dtype != object and pd.api.types.is_string_dtype(s) or (
        s.dtype == object and numeric.notna().sum() < s.notna().sum())
    valid_labels = {k: v for k, v in value_labels.items()
                    if not (isinstance(k, (int, float)) and _int(k) in miss_codes)
                    and k not in miss_letters}
    if is_string:
        if valid_labels:
            col.update(type="select_one", list=list_name or name,
                       choices=[(str(k), str(v)) for k, v in valid_labels.items()])
            seen = {str(x) for x in s.dropna().unique() if str(x).strip()}
            extra = sorted(seen - {str(k) for k in valid_labels})
            col["choices"] += [(x, x) for x in extra]
        else:
            col["type"] = "text"
            if width:
                col["width"] = int(width)
        return col
    vals = numeric[numeric.notna() & ~numeric.isin(list(miss_codes))]
    integral = bool(((vals == np.round(vals)) | ~np.isfinite(vals)).all())
    distinct = np.unique(vals.to_numpy(dtype=float))
    codes = {_int(k): str(v) for k, v in valid_labels.items()
             if isinstance(k, (int, float)) and float(k).is_integer()}
    unlabelled = sorted({_int(x) for x in distinct if np.isfinite(x)} - set(codes))
    if valid_labels and integral and not (measure == "scale" and len(distinct) > max_categories) \
            and len(unlabelled) <= max(max_categories, len(codes)):
        if unlabelled:
            notes.append(f"{var}: values without a label ({', '.join(map(str, unlabelled[:5]))}"
                         f"{' ...' if len(unlabelled) > 5 else ''}) added as choices.")
        allc = {**codes, **{u: str(u) for u in unlabelled}}
        shared = list_name if not unlabelled else None
        col.update(type="select_one", list=shared or name,
                   choices=[(str(k), allc[k]) for k in sorted(allc)],
                   ordered=measure == "ordinal")
        return col
    if valid_labels:
        notes.append(f"{var}: read as a number, value labels dropped ({len(distinct)} "
                     f"distinct values, {len(unlabelled)} without a label).")
    col["type"] = "integer" if integral else "decimal"
    return col


def _mention_choices(df, vars_, meta, vlabels) -> list[tuple[str, str]]:
    """Choices of an SPSS category set: the labelled and the mentioned codes of its
    variables, without their user-missing values."""
    labels: dict = {}
    missing: set = set()
    for v in vars_:
        for k, lab in (vlabels.get(v) or {}).items():
            labels.setdefault(_int(k), str(lab))
        for r in (getattr(meta, "missing_ranges", None) or {}).get(v, []) or []:
            lo, hi = float(r["lo"]), float(r["hi"])
            missing |= {_int(x) for x in np.arange(lo, hi + 1)} if hi - lo <= 1000 else set()
    seen = set()
    for v in vars_:
        vals = pd.to_numeric(df[v], errors="coerce").dropna()
        seen |= {_int(x) for x in vals.unique()}
    codes = sorted((set(labels) | seen) - missing)
    return [(str(c), labels.get(c, str(c))) for c in codes]


def _missing_of(var, meta, kind, value_labels, notes) -> list[dict]:
    """Per-variable missing values: SPSS discrete values and ranges, Stata .a-.z letters."""
    out: list[dict] = []
    if kind == "dta":
        letters = sorted(set((getattr(meta, "missing_user_values", None) or {}).get(var, []))
                         | {k for k in value_labels if isinstance(k, str)
                            and re.fullmatch("[a-z]", k)})  # labelled .a-.z, used or not
        if not letters:
            return out
        top = max(ord(x) for x in letters) - ord("a")
        for i in range(top + 1):
            letter = chr(ord("a") + i)
            lab = str(value_labels.get(letter, "") or "")
            m = re.search(r"\((-?\d+)\)\s*$", lab)
            code = int(m.group(1)) if m else -(901 + i)
            text = re.sub(r"\s*\(-?\d+\)\s*$", "", lab) or f".{letter}"
            out.append({"code": code, "kind": _kind_of(text), "label": text, "letter": letter})
        return out
    codes: list[float] = []
    for v in (getattr(meta, "missing_user_values", None) or {}).get(var, []) or []:
        codes.append(float(v))
    for r in (getattr(meta, "missing_ranges", None) or {}).get(var, []) or []:
        lo, hi = float(r["lo"]), float(r["hi"])
        if lo == hi:
            codes.append(lo)
        elif hi - lo <= 1000 and lo.is_integer() and hi.is_integer():
            codes += [float(x) for x in range(int(lo), int(hi) + 1)]
        else:
            notes.append(f"{var}: the missing range {lo:g} thru {hi:g} is too wide to list; "
                         "values in it are read as data.")
    for c in dict.fromkeys(codes):
        if not float(c).is_integer():
            notes.append(f"{var}: missing value {c:g} is not a whole number; read as data.")
            continue
        lab = value_labels.get(c, value_labels.get(int(c), ""))
        out.append({"code": int(c), "kind": _kind_of(str(lab or "")),
                    **({"label": str(lab)} if lab else {})})
    return out


def _kind_of(label: str) -> str:
    if _NAP.search(label):
        return "not_applicable"
    if _INVALID.search(label):
        return "invalid"
    return "nonresponse"


def _date_format(fmt: str) -> str | None:
    f = fmt.upper()
    if f.startswith(("DATETIME", "YMDHMS", "%TC")):
        return "datetime"
    if f.startswith(("DATE", "ADATE", "EDATE", "SDATE", "JDATE", "%TD", "%D")):
        return "date"
    if f.startswith(("TIME", "DTIME")):
        return "time"
    return None


def _has_time(s: pd.Series) -> bool:
    d = pd.to_datetime(s, errors="coerce").dropna()
    return bool(len(d) and ((d - d.dt.normalize()) != pd.Timedelta(0)).any())


def _int(x) -> int | float:
    f = float(x)
    return int(f) if f.is_integer() else f


def _name(var: str) -> str:
    if _NAME_OK.match(var):
        return var
    s = re.sub(r"[^\w.\-]", "_", var).strip("_") or "v"
    return s if re.match(r"[A-Za-z_\u00C0-\uFFFF]", s) else "v_" + s


# --- plain files --------------------------------------------------------------------------
def _plain_frame(path: Path, encoding, sheet) -> pd.DataFrame:
    """The file's columns as text (our own readers: encoding, delimiter, Excel sheets)."""
    from ._spec import TemplateSpec
    from .read import NA_VALUES, _detect_format, _read_parquet, _read_text, _read_xlsx

    data = path.read_bytes()
    fmt = _detect_format(path, data)
    source: dict = {}
    if fmt == "csv":
        table = _read_text(path, data, TemplateSpec(fields=()), encoding=encoding,
                           delimiter=None, source=source, notes=[])
    elif fmt == "xlsx":
        table = _read_xlsx(path, sheet=sheet, source=source)
    elif fmt == "parquet":
        table = _read_parquet(path, source=source)
        return table.frame
    else:  # pragma: no cover - labelled formats go through _from_labelled
        raise IngestError(format_problem(where=str(path), expected="csv, xlsx or parquet",
                                         found=fmt))
    frame = table.frame
    if table.ragged is not None:
        frame = frame[table.ragged < 0]
    return frame.apply(lambda c: c.where(~c.astype(str).str.strip().isin(NA_VALUES)))


def _from_frame(df: pd.DataFrame, max_categories: int) -> list[dict]:
    out = []
    for var in df.columns:
        s = df[var]
        name = _name(str(var))
        col: dict[str, Any] = {"name": name, "label": str(var)}
        if name != str(var):
            col["var"] = str(var)
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = [str(c) for c in s.cat.categories]
            col.update(type="select_one", list=name, choices=[(c, c) for c in cats],
                       ordered=bool(s.cat.ordered))
            out.append(col)
            continue
        if pd.api.types.is_datetime64_any_dtype(s):
            col["type"] = "datetime" if _has_time(s) else "date"
            out.append(col)
            continue
        text = s.dropna().astype(str).str.strip()
        text = text[text != ""]
        num = pd.to_numeric(text, errors="coerce")
        distinct = pd.unique(text)
        if len(text) and num.notna().all():
            integral = bool((num == np.round(num)).all())
            if integral and len(distinct) <= max_categories and len(text) >= 2 * len(distinct):
                codes = sorted({_int(x) for x in num})
                col.update(type="select_one", list=name,
                           choices=[(str(c), str(c)) for c in codes])
            else:
                col["type"] = "integer" if integral else "decimal"
        elif len(text) and _all_dates(text):
            col["type"] = "datetime" if text.str.contains(r"\d[T ]\d").any() else "date"
        elif len(text) and len(distinct) <= max_categories and len(text) >= 2 * len(distinct):
            col.update(type="select_one", list=name,
                       choices=[(str(c), str(c)) for c in sorted(distinct, key=str)])
        else:
            col["type"] = "text"
        out.append(col)
    return out


def _all_dates(text: pd.Series) -> bool:
    if not text.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        return False
    return bool(pd.to_datetime(text, errors="coerce", format="ISO8601").notna().all())


# --- the template ---------------------------------------------------------------------------
def _emit(doc: dict, c: Mapping, language: str) -> None:
    q: dict[str, Any] = {"name": c["name"], "type": c["type"],
                         "label": {language: str(c["label"])}}
    if c.get("choices"):
        lst = _list_name(doc, c)
        q["list"] = lst
    if c.get("missing"):
        q["missing"] = [{"code": m["code"], "kind": m["kind"],
                         **({"label": {language: m["label"]}} if m.get("label") else {})}
                        for m in c["missing"]]
    if c.get("var"):
        q["x_source_name"] = c["var"]
    if c.get("width"):
        q["x_width"] = c["width"]
    if c.get("source_vars"):
        q["x_source_vars"] = list(c["source_vars"])
    doc["items"].append(q)


def _list_name(doc: dict, c: Mapping) -> str:
    lists = doc["choice_lists"]
    body = {"choices": [{"name": n, "label": {_lang(doc): lab}} for n, lab in c["choices"]]}
    if c.get("ordered"):
        body["ordered"] = True
    for name, existing in lists.items():
        if existing == body:
            return name  # a value-label set shared by several variables
    name = _name(str(c["name"]))
    base, k = name, 1
    while name in lists:
        k += 1
        name = f"{base}_{k}"
    lists[name] = body
    return name


def _lang(doc: dict) -> str:
    return doc["languages"]["default"]
