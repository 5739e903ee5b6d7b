"""Shared plumbing for the analysis functions: inputs, filters, codes, notes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.survey import Survey, VarInfo, as_survey, category_codes
from ..errors import AnalysisError, did_you_mean


def prepare(survey, weight: str | None = None) -> Survey:
    """A `Survey` from a Survey or DataFrame (``weight`` overrides the Survey's weight)."""
    return as_survey(survey, weight=weight)


def where_mask(s: Survey, where, *, func: str) -> np.ndarray | None:
    """Boolean row mask from ``where=`` (a boolean Series aligned on the index, or an array)."""
    if where is None:
        return None
    n = len(s.data)
    if isinstance(where, pd.Series):
        if not where.index.equals(s.data.index):
            where = where.reindex(s.data.index)
        arr = where.astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        arr = np.asarray(where)
        if arr.dtype != bool:
            try:
                arr = pd.array(arr, dtype="boolean").fillna(False).to_numpy(dtype=bool)
            except (TypeError, ValueError) as exc:
                raise AnalysisError(
                    f"{func}: where= must be a boolean Series or array, found dtype {arr.dtype}"
                ) from exc
    if arr.shape != (n,):
        raise AnalysisError(
            f"{func}: where= has {arr.size} values but the data has {n} rows. "
            "Hint: build the filter from the same data, e.g. where=s.data['rank'] == '...'"
        )
    return arr


def check_var(s: Survey, var: str, *, func: str) -> None:
    if not isinstance(var, str):
        raise AnalysisError(f"{func}: expected a variable name (str), found {var!r}")


MAX_NUMERIC_CATEGORIES = 50


def single(s: Survey, var: str, *, language, mask, func: str) -> tuple[np.ndarray, VarInfo]:
    """Integer codes (-1 = missing or filtered out) and VarInfo of a single-choice variable."""
    check_var(s, var, func=func)
    codes, info = category_codes(s, var, language=language)
    if info.kind == "multi":
        raise AnalysisError(
            f"{func}: '{var}' is a multiple-choice question; expected a single-choice one. "
            "Hint: use multi_response() for it"
        )
    if info.kind == "numeric" and not info.categories and var in s.data.columns:
        values = pd.to_numeric(s.data[var], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        uniq = np.unique(values[~np.isnan(values)])
        if len(uniq) <= MAX_NUMERIC_CATEGORIES:
            codes = np.full(len(values), -1, dtype=np.int64)
            ok = ~np.isnan(values)
            codes[ok] = np.searchsorted(uniq, values[ok])
            labels = tuple(f"{u:g}" for u in uniq)
            info = VarInfo(name=info.name, label=info.label, kind="single", categories=labels,
                           codes=labels, ordered=True, columns=info.columns, measure="ordinal")
            if mask is not None:
                codes = np.where(mask, codes, -1)
            return codes, info
    if info.kind in ("numeric", "date", "text") and not info.categories:
        raise AnalysisError(
            f"{func}: '{var}' is a {info.kind} variable"
            + (f" with more than {MAX_NUMERIC_CATEGORIES} distinct values"
               if info.kind == "numeric" else "")
            + "; expected a categorical (single-choice) one. Hint: band it with pd.cut, or use a "
            "test for numeric outcomes"
        )
    if mask is not None:
        codes = np.where(mask, codes, -1)
    return codes, info


def numeric(s: Survey, var: str, *, func: str) -> np.ndarray:
    """A numeric column as float (NaN = missing); ordered categoricals give position + 1."""
    check_var(s, var, func=func)
    if var not in s.data.columns:
        hint = did_you_mean(var, s.data.columns)
        raise AnalysisError(f"{func}: variable '{var}' is not in the data" + (f"; {hint}" if hint else ""))
    col = s.data[var]
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(float)
        codes[codes < 0] = np.nan
        return codes + 1.0
    try:
        return pd.to_numeric(col, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(
            f"{func}: column '{var}' must be numeric; found values like {col.dropna().iloc[:3].tolist()}"
        ) from exc


def weighting_note(s: Survey) -> str:
    if s.weight is None and not s.design.is_complex:
        return "Weighting: none (unweighted)."
    parts = []
    if s.weight is not None:
        parts.append(f"weight '{s.weight}'")
    if s.design.strata:
        parts.append(f"strata '{s.design.strata}'")
    if s.design.psu:
        parts.append("clusters " + ", ".join(f"'{p}'" for p in s.design.psu))
    if s.design.fpc:
        parts.append("fpc " + ", ".join(f"'{p}'" for p in s.design.fpc))
    return "Weighting: " + "; ".join(parts) + " (design-based inference)."


def fmt_n(x: float) -> str:
    """A count: whole numbers without decimals, weighted sums with one (a sum of raked weights
    that is 1,447 up to rounding prints as 1,447, not 1,447.0).

    >>> fmt_n(365), fmt_n(1446.99999999), fmt_n(1264.63)
    ('365', '1,447', '1,264.6')
    """
    x = round(float(x), 1)
    return f"{x:,.0f}" if x.is_integer() else f"{x:,.1f}"


def missing_reasons(s: Survey, var: str, info: VarInfo, codes: np.ndarray,
                    scope: np.ndarray | None, *, reason_codes: list | None = None,
                    ) -> tuple[np.ndarray, list[str]]:
    """Why each unanswered row is missing: index into the returned reason names (-1 = answered
    or out of scope). Reasons come from ``Survey.missing``, named by ``Survey.missing_scheme``
    (skipped, no answer, invalid; unknown codes as ``code N``); rows without a recorded reason
    are ``missing``. ``reason_codes``, when given, receives the code of each name (NaN for
    ``missing``)."""
    miss = codes < 0
    if scope is not None:
        miss &= scope
    out = np.full(len(codes), -1, dtype=np.int64)
    names: list[str] = []
    col = info.columns[0] if info.columns else var
    mm = s.missing
    vals = None
    if mm is not None and (var in mm.columns or col in mm.columns):
        m = mm[var if var in mm.columns else col]
        vals = pd.to_numeric(m, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if vals is not None:
        scheme = s.missing_scheme
        present = sorted({float(v) for v in vals[miss & ~np.isnan(vals)]}, key=lambda c: -c)
        for code in present:
            out[miss & (vals == code)] = len(names)
            names.append(scheme.reason(code, var))
            if reason_codes is not None:
                reason_codes.append(code)
        rest = miss & np.isnan(vals)
    else:
        rest = miss
    if rest.any():
        out[rest] = len(names)
        names.append("missing")
        if reason_codes is not None:
            reason_codes.append(np.nan)
    return out, names


def template_report_base(s: Survey, var: str) -> str | None:
    """The template's ``report: {base: ...}`` for ``var`` (e.g. "returned"), if any."""
    q = s.questionnaire
    if q is None or not hasattr(q, "question") or (hasattr(q, "__contains__") and var not in q):
        return None
    rep = getattr(q.question(var), "report", None)
    return getattr(rep, "base", None)


def solve_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.linalg.solve`` that refuses a numerically singular system as R's ``solve`` does.

    NumPy solves any matrix LAPACK can factor, so a covariance that is singular up to
    rounding gives an enormous Wald statistic, and whether it is exactly singular in floating
    point depends on the CPU's BLAS kernels. R stops when the reciprocal condition number is
    below machine epsilon ("system is computationally singular"); so does this, with
    ``np.linalg.LinAlgError``, which the callers turn into NaN or a refusal as they do for an
    exactly singular matrix.
    """
    a = np.asarray(a, dtype=float)
    if a.size:
        with np.errstate(all="ignore"):
            try:
                cond = np.linalg.cond(a, 1)
            except np.linalg.LinAlgError:
                cond = np.inf
        if not np.isfinite(cond) or cond * np.finfo(float).eps > 1.0:
            raise np.linalg.LinAlgError("system is computationally singular")
    return np.linalg.solve(a, b)
