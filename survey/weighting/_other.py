"""Trimming, non-response adjustment, targets from YAML, and a design from the fieldwork."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.survey import DesignSpec, Survey
from ..errors import SurveyWarning, WeightingError, did_you_mean
from ._common import (
    WeightingReport,
    as_input,
    base_weights,
    extreme_cells,
    new_survey,
    replicate_aware,
    weight_summary,
)

__all__ = ["trim_weights", "nonresponse_adjust", "load_targets", "design_from_fieldwork"]


def _empty_margins() -> pd.DataFrame:
    return pd.DataFrame(columns=["var", "category", "target", "before", "achieved", "deviation"])


@replicate_aware
def trim_weights(survey: Survey | pd.DataFrame, *, upper: float = math.inf,
                 lower: float = -math.inf, redistribute: bool = True, relative: bool = False,
                 max_iter: int = 100, weight_name: str = "weight",
                 extreme_ratio: float = 3.0, strict: bool = False) -> Survey:
    """Trim weights to ``[lower, upper]`` (R ``trimWeights``).

    With ``redistribute=True`` the trimmed amount is shared equally among the weights inside
    the limits, so the total is kept: once (R's default ``strict=FALSE``; a weight pushed
    past a limit by the sharing stays there, and the notes say so), or repeated until every
    weight is inside with ``strict=True`` (R ``trimWeights(strict=TRUE)``). ``relative=True``
    reads the limits as multiples of the mean weight. Calibration steps recorded for variance are kept (as R keeps postStrata).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"w": [1.0, 1.0, 1.0, 9.0]})
    >>> trim_weights(Survey.from_frame(df, weight="w"), upper=5).weights.tolist()  # R trimWeights
    [2.333333333333333, 2.333333333333333, 2.333333333333333, 5.0]
    """
    s = as_input(survey)
    w0 = base_weights(s)
    lo, hi = float(lower), float(upper)
    if relative:
        mean = float(w0.mean())
        lo, hi = lo * mean, hi * mean
    if lo > hi:
        raise WeightingError(f"trim_weights: lower ({lo:g}) is above upper ({hi:g})")
    w = w0.copy()
    it = 0
    while True:
        outside = (w < lo) | (w > hi)
        if not outside.any():
            break
        new = np.clip(w, lo, hi)
        if redistribute:
            if outside.all():
                raise WeightingError(
                    "trim_weights: every weight is outside the limits; the total cannot be kept. "
                    "Hint: widen the limits."
                )
            new[~outside] += (w - new).sum() / (~outside).sum()
        w = new
        it += 1
        if not redistribute or not strict or it >= max_iter:
            break
    n_trim = int(((w0 < lo) | (w0 > hi)).sum())
    summary, deff, neff, eff = weight_summary(w)
    cells = pd.DataFrame({"row": np.arange(len(w)), "weight": w})
    notes = [f"{n_trim} weights trimmed to [{lo:g}, {hi:g}]"
             + ("; the excess was shared equally among the others (total kept)"
                + (", repeated until all are inside (strict)" if strict else ", once (R's "
                   "default strict=FALSE)") if redistribute else "; the total is not kept") + "."]
    still = int(((w < lo - 1e-9) | (w > hi + 1e-9)).sum())
    if still:
        notes.append(f"{still} weight(s) are outside the limits after sharing the trimmed "
                     "amount" + ("." if strict else "; pass strict=True to repeat (R strict=TRUE)."))
        if strict:
            warnings.warn(notes[-1], SurveyWarning, stacklevel=2)
    report = WeightingReport(
        method="trim", weight_name=weight_name, converged=True, iterations=it,
        max_deviation=0.0, tol=0.0, margins=_empty_margins(), weights=summary, deff_kish=deff,
        n=len(w), n_effective=neff, efficiency=eff,
        extreme=extreme_cells(cells, summary["mean"], extreme_ratio), notes=tuple(notes),
    )
    return new_survey(s, w, weight_name, report)


def _fieldwork(s: Survey):
    q = s.questionnaire
    fw = getattr(q, "fieldwork", None)
    if fw is None:
        model = getattr(q, "model", None)
        fw = getattr(model, "fieldwork", None)
    return fw


def _unit_counts(s: Survey, by: str, issued: Mapping | None):
    fw = _fieldwork(s)
    var = by
    if issued is None:
        if fw is None or not getattr(fw, "units", None):
            raise WeightingError(
                "no issued counts: the survey's questionnaire has no fieldwork units. Hint: pass "
                "issued={unit: number issued} (and by=<unit column>)."
            )
        if by == "unit":
            var = getattr(fw, "unit_variable", None) or "unit"
        issued = {u.id: u.issued for u in fw.units}
    if var not in s.data.columns:
        hint = did_you_mean(var, s.data.columns)
        raise WeightingError(f"unit column '{var}' is not in the data" + (f"; {hint}" if hint else ""))
    col = s.data[var]
    # match data values to unit ids (by id, or by a label of the unit)
    lookup = {str(k): str(k) for k in issued}
    if fw is not None:
        for u in getattr(fw, "units", ()):
            for lab in (getattr(u, "label", None) or {}).values():
                lookup.setdefault(str(lab), str(u.id))
    if isinstance(col.dtype, pd.CategoricalDtype):
        info = s.var_info(var)
        for code, lab in zip(info.codes, info.categories):
            if str(code) in lookup:
                lookup.setdefault(str(lab), lookup[str(code)])
    vals = col.astype("string")
    unit = vals.map(lambda v: lookup.get(v) if v is not pd.NA else None)
    return var, {str(k): float(v) for k, v in issued.items()}, unit


@replicate_aware
def nonresponse_adjust(survey: Survey | pd.DataFrame, by: str = "unit", *,
                       issued: Mapping | None = None, weight_name: str = "weight",
                       extreme_ratio: float = 3.0) -> Survey:
    """Weighting-class non-response adjustment: within each unit, weights are multiplied by
    issued / responded (responded = respondents of that unit in the data).

    The issued counts come from the template's ``fieldwork.units`` (the data column is
    ``fieldwork.unit_variable``) or from ``issued={unit: n}`` with ``by=<column>``.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"unit": ["a", "a", "b"]})
    >>> nonresponse_adjust(df, "unit", issued={"a": 4, "b": 3}).weights.tolist()
    [2.0, 2.0, 3.0]
    """
    s = as_input(survey)
    var, iss, unit = _unit_counts(s, by, issued)
    w0 = base_weights(s)
    bad = unit.isna()
    if bad.any():
        found = sorted({str(v) for v in s.data.loc[bad.to_numpy(), var].dropna().unique()})
        nmiss = int(s.data[var].isna().sum())
        raise WeightingError(
            f"nonresponse_adjust: {int(bad.sum())} respondents have a unit in '{var}' without an "
            f"issued count ({', '.join(found[:8]) or 'missing unit'}"
            + (f"; {nmiss} missing" if nmiss else "") + f"). Units with issued counts: "
            f"{', '.join(list(iss)[:12])}. Hint: fix the unit values or add the units."
        )
    ids = list(iss)
    code = unit.map({u: i for i, u in enumerate(ids)}).to_numpy(dtype=np.int64)
    n_resp = np.bincount(code, minlength=len(ids)).astype(float)
    iss_arr = np.array([iss[u] for u in ids])
    notes = []
    zero = [u for u, k, i in zip(ids, n_resp, iss_arr) if k == 0 and i > 0]
    if zero:
        msg = (f"units with questionnaires issued but no respondent in the data: "
               f"{', '.join(zero)}; their share of the sample cannot be represented.")
        warnings.warn(msg, SurveyWarning, stacklevel=2)
        notes.append(msg)
    over = [u for u, k, i in zip(ids, n_resp, iss_arr) if k > i]
    if over:
        raise WeightingError(
            f"more respondents than questionnaires issued in units {', '.join(over)}; check "
            "the issued counts or the unit column"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_resp > 0, iss_arr / n_resp, 0.0)
    w = w0 * factor[code]
    summary, deff, neff, eff = weight_summary(w)
    rate = np.where(iss_arr > 0, n_resp / iss_arr, np.nan)
    margins = pd.DataFrame({"var": var, "category": ids, "target": iss_arr, "before": n_resp,
                            "achieved": np.bincount(code, weights=w / np.where(w0 > 0, w0, 1),
                                                    minlength=len(ids)),
                            "deviation": 0.0})
    cells = pd.DataFrame({var: ids, "n": n_resp.astype(int), "response_rate": rate,
                          "weight": np.bincount(code, weights=w, minlength=len(ids))
                          / np.maximum(n_resp, 1), "factor": factor})
    notes.insert(0, "Weighting-class non-response adjustment by "
                    f"'{var}': factor = issued / respondents in the data, per unit "
                    f"(overall response {n_resp.sum():g} of {iss_arr.sum():g} issued).")
    report = WeightingReport(
        method="nonresponse", weight_name=weight_name, converged=True, iterations=1,
        max_deviation=0.0, tol=0.0, margins=margins, weights=summary, deff_kish=deff, n=len(w),
        n_effective=neff, efficiency=eff,
        extreme=extreme_cells(cells, summary["mean"], extreme_ratio), notes=tuple(notes),
    )
    return new_survey(s, w, weight_name, report)


def design_from_fieldwork(survey: Survey, *, by: str = "unit",
                          issued: Mapping | None = None, lonely_psu: str = "fail") -> Survey:
    """A stratified design from the fieldwork: distribution units as strata, the issued
    counts as population sizes (fpc), the respondents as the sample in each stratum.

    Unweighted surveys get the weights implied (issued / respondents per unit), as R's
    ``svydesign(strata=~unit, fpc=~issued)``.
    """
    s = as_input(survey)
    var, iss, unit = _unit_counts(s, by, issued)
    if unit.isna().any():
        raise WeightingError(
            f"design_from_fieldwork: {int(unit.isna().sum())} respondents have no unit with an "
            f"issued count in '{var}'"
        )
    fpc = unit.map(iss).to_numpy(dtype=float)
    data = s.data.assign(_fpc_issued=fpc)
    spec = DesignSpec(strata=var, psu=(), fpc=("_fpc_issued",), nest=False, lonely_psu=lonely_psu)
    out = s.replace(data=data, design=spec)
    if s.weight is None:
        codes = unit.to_numpy()
        counts = pd.Series(codes).value_counts()
        n_h = pd.Series(codes).map(counts).to_numpy(dtype=float)
        out = out.replace(data=data.assign(_design_weight=fpc / n_h), weight="_design_weight")
    return out


def load_targets(path: str | Path) -> dict:
    """Read raking/post-stratification targets from YAML.

    The file holds ``{variable: {category: count or proportion}}``, optionally under a
    ``targets:`` key; categories may be labels (any language) or codes.
    """
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise WeightingError(f"cannot read targets file {p}: {exc.strerror or exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}, line {mark.line + 1}" if mark is not None else str(p)
        raise WeightingError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if isinstance(raw, dict) and "targets" in raw:
        raw = raw["targets"]
    if not isinstance(raw, dict) or not raw:
        raise WeightingError(
            f"{p}: expected a mapping of variables to {{category: target}}, found "
            f"{type(raw).__name__}"
        )
    def _target(v) -> bool:
        return isinstance(v, dict) or (isinstance(v, (int, float)) and not isinstance(v, bool))

    if not any(_target(v) for v in raw.values()):  # not a targets file: never quote it
        raise WeightingError(
            f"{p}: expected a targets file (variables mapped to {{category: target}}), found a "
            "file that is not one"
        )
    out = {}
    for var, spec in raw.items():
        if isinstance(spec, dict):
            for k, v in spec.items():
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise WeightingError(
                        f"{p}, variable '{var}', category {k!r}: expected a number, found {v!r}"
                    )
            out[str(var)] = {k: v for k, v in spec.items()}
        elif isinstance(spec, (int, float)) and not isinstance(spec, bool):
            out[str(var)] = spec
        else:
            raise WeightingError(
                f"{p}, variable '{var}': expected {{category: number}} or a number, found {spec!r}"
            )
    return out
