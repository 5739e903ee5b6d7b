"""Banner options and inputs: the keyword options checked and resolved (presets,
corrections, letter levels), the row and column variables read as small integer codes, the
``where=`` mask and its domain design, nets and Likert detection, the column letters.

Cut from :mod:`survey.analysis.banner` along its seam: nothing here counts or tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.survey import Survey, VarInfo, category_codes
from ..errors import AnalysisError, did_you_mean

_CORRECTIONS = {"none": "none", "bonferroni": "bonferroni", "holm": "holm", "bh": "bh",
                "fdr": "bh", "benjamini-hochberg": "bh"}


def _letters_for(n: int) -> list[str]:
    out = []
    for i in range(n):
        s, x = "", i
        while True:
            s = chr(65 + x % 26) + s
            x = x // 26 - 1
            if x < 0:
                break
        out.append(s)
    return out


def _resolve_options(preset, correction, alpha, alpha_strict, letters, test, percent):
    scope = "block"
    if preset is not None:
        p = str(preset).lower()
        if p == "spss":
            correction, scope = "bonferroni", "row"
        elif p == "q":
            correction, letters, alpha_strict = "bh", "two-level", 0.001
        else:
            raise AnalysisError(f"preset must be None, 'spss' or 'q'; got {preset!r}")
    key = str(correction).lower()
    if key not in _CORRECTIONS:
        raise AnalysisError(
            f"correction must be one of none, bonferroni, holm, bh; got {correction!r}")
    correction = _CORRECTIONS[key]
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be between 0 and 1; got {alpha!r}")
    if letters not in ("single", "two-level"):
        raise AnalysisError(f"letters must be 'single' or 'two-level'; got {letters!r}")
    if letters == "two-level" and not 0 < alpha_strict < alpha:
        raise AnalysisError(
            f"alpha_strict must be between 0 and alpha={alpha}; got {alpha_strict!r}")
    if test not in ("column_proportions", "none"):
        raise AnalysisError(f"test must be 'column_proportions' or 'none'; got {test!r}")
    if percent not in ("column", "row", "total"):
        raise AnalysisError(f"percent must be 'column', 'row' or 'total'; got {percent!r}")
    return correction, alpha, alpha_strict, letters, test, percent, scope


def _info(s: Survey, var: str, lang: str | None, role: str, cache: dict | None = None):
    if s.questionnaire is None and var in s.data.columns:
        arr = s.data[var].array
        if isinstance(arr, pd.Categorical):  # fast path of infer_var_info for categoricals
            if cache is not None:
                cache[var] = arr
            cats = tuple(map(str, arr.categories.tolist()))
            return VarInfo(name=var, label=var, kind="single", categories=cats, codes=cats,
                           ordered=bool(arr.ordered), columns=(var,),
                           measure="ordinal" if arr.ordered else "nominal")
    try:
        return s.var_info(var, language=lang)
    except AnalysisError as exc:
        cols = list(s.data.columns)
        hint = did_you_mean(var, cols)
        raise AnalysisError(
            f"banner {role} variable '{var}' is not in the data"
            + (f"; {hint}" if hint else f"; columns are {cols[:12]}")) from exc


def _single_codes(s: Survey, var: str, info, lang: str | None,
                  cache: dict | None = None) -> np.ndarray:
    """Integer codes (-1 missing) of a single-choice variable, as small ints.

    Fast path for a categorical column that matches its VarInfo; otherwise
    :func:`survey.core.survey.category_codes`.
    """
    arr = (cache or {}).get(var)
    if arr is None:
        arr = (s.data[info.columns[0]] if info.columns else s.data[var]).array
    if isinstance(arr, pd.Categorical) and len(arr.categories) == len(info.categories):
        codes = arr.codes
    else:
        codes = category_codes(s, var, language=lang)[0]
    if codes.dtype.itemsize > 1 and len(info.categories) < 127:
        codes = codes.astype(np.int8)
    return codes


def _where_mask(s: Survey, where: Any) -> np.ndarray:
    if isinstance(where, str) or callable(where):
        raise AnalysisError(
            "where= takes a boolean mask (array or Series) aligned with the data; got "
            f"{type(where).__name__}. Hint: where=s.data['rank'] == '科级'.")
    mask = np.asarray(where.to_numpy() if isinstance(where, pd.Series) else where)
    if mask.shape != (len(s.data),):
        raise AnalysisError(
            f"where= mask has shape {mask.shape}; expected ({len(s.data)},) to match the data")
    if mask.dtype != bool:
        try:
            mask = pd.array(mask, dtype="boolean").fillna(False).to_numpy(dtype=bool)
        except (TypeError, ValueError) as exc:
            raise AnalysisError("where= must hold booleans") from exc
    return mask


def _domain_design(full: Survey, mask: np.ndarray):
    """The design of ``full`` for the domain ``mask`` with R ``subset()`` semantics: every
    row and sampling unit (and any calibration or replicate weights) stays in the variance,
    rows outside the domain enter with weight 0 (their cell codes are -1); the degrees of
    freedom are the domain's (R ``degf(subset(design, ...))``). A stratum with a single PSU
    is refused here (R's lonely-PSU rules on a domain see only the strata it reaches; the
    banner's covariance paths do not carry that), naming the estimators that handle it."""
    from .estimates import _subset_degf

    design = full.design_info()
    if design.has_lonely and not mask.all():
        raise AnalysisError(
            "banner: where= with design-based letters is not available when a stratum has a "
            "single PSU (the lonely-PSU rule would have to see only the domain's strata). "
            "Hint: use sv.proportions / sv.mean / sv.crosstab with where= (they apply R's "
            "rule on the domain), or se='effective'.")
    return dataclasses.replace(design, _degf=int(_subset_degf(design, mask)))


def _spread(codes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Codes of the domain's rows placed back among all rows; -1 (left out) elsewhere."""
    out = np.full(mask.size, -1, dtype=codes.dtype)
    out[mask] = codes
    return out


def _is_likert(var: str, info, likert) -> bool:
    if likert is True or likert is False:
        return bool(likert)
    if likert == "auto":
        return bool(info.ordered) and 4 <= len(info.categories) <= 11
    return var in set(likert)


def _member_index(var: str, info, members: Sequence[str]) -> list[int]:
    out = []
    for m in members:
        m = str(m)
        if m in info.categories:
            out.append(info.categories.index(m))
        elif m in info.codes:
            out.append(info.codes.index(m))
        else:
            hint = did_you_mean(m, list(info.categories) + list(info.codes))
            raise AnalysisError(
                f"net of '{var}': '{m}' is not one of its categories {list(info.categories)}"
                + (f"; {hint}" if hint else ""))
    return out


def _multi_matrix(s: Survey, info) -> tuple[np.ndarray, np.ndarray]:
    cols = list(info.columns)
    missing = [c for c in cols if c not in s.data.columns]
    if missing:
        raise AnalysisError(f"multiple-response '{info.name}': columns {missing} not in the data")
    sel = np.empty((len(s.data), len(cols)), dtype=bool)
    answered = np.zeros(len(s.data), dtype=bool)
    for i, c in enumerate(cols):
        col = s.data[c]
        na = col.isna().to_numpy()
        vals = col.to_numpy(dtype=float, na_value=0.0) if not pd.api.types.is_bool_dtype(
            col.dtype) or na.any() else col.to_numpy(dtype=float)
        sel[:, i] = vals > 0
        answered |= ~na
    return sel, answered
