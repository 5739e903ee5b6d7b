"""Shared pieces of the weighting functions: target parsing, the report, the new Survey."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from ..core import _rows
from ..core._rows import bincount as row_bincount
from ..core.design import Design
from ..core.result import Result
from ..core.survey import Survey, as_survey, category_codes
from ..errors import WeightingError, did_you_mean


# ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, repr=False)
class WeightingReport(Result):
    """What a weighting step did: convergence, achieved vs target margins, weight spread.

    ``margins`` has one row per (var, category): ``target``, ``before`` (weighted count
    before), ``achieved`` and ``deviation`` (achieved - target, as a fraction of the total).
    ``weights`` summarises the new weights (min, max, mean, cv); ``deff_kish`` =
    n sum(w^2) / sum(w)^2, ``n_effective`` = n / deff_kish, ``efficiency`` = 1 / deff_kish.
    ``extreme`` lists the weighting cells whose weight is more than ``extreme_ratio`` times
    (or less than 1 / ``extreme_ratio`` of) the mean weight.
    """

    method: str
    weight_name: str
    converged: bool
    iterations: int
    max_deviation: float
    tol: float
    margins: pd.DataFrame
    weights: dict
    deff_kish: float
    n: int
    n_effective: float
    efficiency: float
    extreme: pd.DataFrame
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.margins.copy()

    @property
    def title(self) -> str:
        return f"Weighting report ({self.method})"

    def _summary(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        return (f"{self.method}, {state} in {self.iterations} iterations, max deviation "
                f"{self.max_deviation:.2g}; weights {self.weights['min']:.4g}-"
                f"{self.weights['max']:.4g}, Kish deff {self.deff_kish:.3f}, "
                f"effective n {self.n_effective:.1f} of {self.n}")

    def _display_frame(self) -> pd.DataFrame:
        if len(self.margins):
            return self.margins.set_index(["var", "category"])
        return pd.DataFrame({"value": [self.deff_kish, self.n_effective]},
                            index=["Kish deff", "effective n"])


def weight_summary(w: np.ndarray) -> tuple[dict, float, float, float]:
    """Min, max, mean, sum and cv (population sd / mean) of the weights, Kish's deff, the
    effective n and the efficiency: the sum, then one pass a block at a time for the rest
    (no n-length temporary)."""
    n = len(w)
    total = float(w.sum())
    stats = WeightStats(total / n if n else math.nan)
    for a in range(0, n, _rows.BLOCK):
        stats.add(w[a:a + _rows.BLOCK])
    return stats.summary(n, total)


class WeightStats:
    """Sums for `weight_summary` collected a block of weights at a time: squares about a
    known ``mean`` (the population sd), squares, min and max."""

    def __init__(self, mean: float):
        self.mean, self.ss, self.sq = mean, 0.0, 0.0
        self.lo, self.hi = math.inf, -math.inf

    def add(self, b: np.ndarray) -> None:
        d = b - self.mean
        self.ss += float(d @ d)
        self.sq += float(b @ b)
        self.lo, self.hi = min(self.lo, float(b.min())), max(self.hi, float(b.max()))

    def summary(self, n: int, total: float) -> tuple[dict, float, float, float]:
        """`weight_summary`'s result from the sums of ``n`` weights totalling ``total``."""
        mean = self.mean
        sd = math.sqrt(self.ss / n) if n else math.nan
        summary = {"min": self.lo if n else math.nan, "max": self.hi if n else math.nan,
                   "mean": mean, "sum": total, "cv": sd / mean if mean else math.nan}
        deff = n * self.sq / total**2 if total else math.nan
        neff = n / deff if deff else math.nan
        return summary, deff, neff, 1 / deff if deff else math.nan


# ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class Margin:
    var: str
    codes: np.ndarray  # (n,) 0..k-1 (no missing allowed)
    labels: list
    target: np.ndarray  # (k,) counts (after scaling proportions)
    is_proportion: bool


def _label_lookup(survey: Survey, var: str, info) -> dict[str, int]:
    lookup: dict[str, int] = {}
    for i, c in enumerate(info.codes):
        lookup[str(c)] = i
    for i, c in enumerate(info.categories):
        lookup[str(c)] = i
    q = survey.questionnaire
    langs = getattr(getattr(q, "languages", None), "available", None) or ()
    for lang in langs:
        try:
            other = q.var_info(var, language=lang)
        except Exception:  # noqa: BLE001 - a questionnaire without that language
            other = None
        if other is not None and len(other.categories) == len(info.categories):
            for i, c in enumerate(other.categories):
                lookup.setdefault(str(c), i)
    return lookup


def parse_margin(survey: Survey, var: str, spec: Any, *, language: str | None = None,
                 allow_empty: bool = False, narrow: bool = False, check: bool = True) -> Margin:
    """Resolve one margin: the codes of ``var`` and its targets in category order
    (``allow_empty``: targets of categories without respondents are kept, not refused;
    ``narrow``: a categorical's codes stay in their own small integer type, read-only;
    ``check=False``: the targets are not yet checked against the respondents per category;
    the caller passes the counts to `check_margin`, e.g. summed from a table of joint cells
    instead of one more pass over the rows)."""
    if var not in survey.data.columns and survey.questionnaire is None:
        hint = did_you_mean(var, survey.data.columns)
        raise WeightingError(
            f"targets name the variable '{var}', which is not in the data"
            + (f"; {hint}" if hint else "")
        )
    try:
        codes, info = category_codes(survey, var, language=language, narrow=narrow)
    except Exception as exc:  # noqa: BLE001 - turn into a weighting error
        raise WeightingError(f"targets for '{var}': {exc}") from exc
    labels = list(info.categories)
    if not labels:
        raise WeightingError(
            f"'{var}' is not a categorical variable; raking and post-stratification need "
            "categories. Hint: use calibrate() for numeric totals."
        )
    if not isinstance(spec, dict) or not spec:
        raise WeightingError(
            f"targets for '{var}' must be a mapping {{category: count or proportion}}; "
            f"found {type(spec).__name__}"
        )
    lookup = _label_lookup(survey, var, info)
    target = np.full(len(labels), np.nan)
    for key, value in spec.items():
        idx = lookup.get(str(key))
        if idx is None:
            hint = did_you_mean(str(key), list(lookup))
            raise WeightingError(
                f"targets for '{var}': category {key!r} is not one of its categories "
                f"({', '.join(map(str, labels))})" + (f"; {hint}" if hint else "")
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise WeightingError(
                f"targets for '{var}', category {key!r}: expected a number, found {value!r}"
            ) from None
        if not np.isfinite(v) or v < 0:
            raise WeightingError(
                f"targets for '{var}', category {key!r}: expected a non-negative number, found {value!r}"
            )
        target[idx] = v
    nmiss = int((codes < 0).sum())
    if nmiss:
        raise WeightingError(
            f"'{var}' is missing for {nmiss} respondents; every respondent needs a category to "
            "be weighted on it. Hint: impute the value, add a category for 'missing' with its "
            "own target, or filter those rows first."
        )
    m = Margin(var, codes if narrow else codes.astype(np.int64, copy=False), labels, target,
               False)
    if not check:
        return m
    return check_margin(m, row_bincount(codes, minlength=len(labels)), allow_empty=allow_empty)


def check_margin(m: Margin, counts: np.ndarray, *, allow_empty: bool = False) -> Margin:
    """The checks of a margin's targets against its respondents per category (``counts``)
    and whether the targets are proportions (see `parse_margin`)."""
    var, labels, target = m.var, m.labels, m.target
    no_target = [labels[i] for i in range(len(labels)) if np.isnan(target[i]) and counts[i] > 0]
    if no_target:
        raise WeightingError(
            f"targets for '{var}' have no value for categories that occur in the data: "
            f"{', '.join(map(str, no_target))}. Hint: give every category a target (0 is not "
            "allowed for a category with respondents)."
        )
    target = np.nan_to_num(target)
    zero_target = [labels[i] for i in range(len(labels)) if target[i] == 0 and counts[i] > 0]
    if zero_target:
        raise WeightingError(
            f"targets for '{var}' are 0 for categories with respondents: "
            f"{', '.join(map(str, zero_target))}. Hint: drop those respondents or merge the "
            "category with a neighbour."
        )
    empty = [labels[i] for i in range(len(labels)) if target[i] > 0 and counts[i] == 0]
    if empty and not allow_empty:
        raise WeightingError(
            f"targets for '{var}' name categories without any respondent (empty cells): "
            f"{', '.join(map(str, empty))}. Hint: merge them with a neighbouring category "
            "in the data and in the targets (poststratify: partial=True ignores them, as R "
            "postStratify(partial = TRUE))."
        )
    s = target.sum()
    is_prop = bool(abs(s - 1) < 1e-6 and (target <= 1).all())
    return dataclasses.replace(m, target=target, is_proportion=is_prop)


def scale_margins(margins: list[Margin], base_total: float, *, rtol: float = 1e-6) -> float:
    """Turn proportions into counts and check that count margins agree on the total."""
    count_totals = {m.var: float(m.target.sum()) for m in margins if not m.is_proportion}
    if count_totals:
        vals = list(count_totals.values())
        total = vals[0]
        if max(abs(v - total) for v in vals) > rtol * total:
            listing = ", ".join(f"{k}: {v:g}" for k, v in count_totals.items())
            raise WeightingError(
                f"target margins disagree on the population total ({listing}); raking cannot "
                "match all of them. Hint: correct the targets, or give them as proportions."
            )
    else:
        total = base_total
    for m in margins:
        if m.is_proportion:
            m.target = m.target * total
    return total


def margins_frame(margins: list[Margin], w_before: np.ndarray, w_after: np.ndarray,
                  total: float) -> pd.DataFrame:
    rows = []
    for m in margins:
        k = len(m.labels)
        before = row_bincount(m.codes, w_before, minlength=k)
        after = row_bincount(m.codes, w_after, minlength=k)
        for i in range(k):
            rows.append({"var": m.var, "category": m.labels[i], "target": m.target[i],
                         "before": before[i], "achieved": after[i],
                         "deviation": (after[i] - m.target[i]) / total if total else math.nan})
    return pd.DataFrame(rows, columns=["var", "category", "target", "before", "achieved",
                                       "deviation"])


def extreme_cells(cell_frame: pd.DataFrame, mean_w: float, ratio: float) -> pd.DataFrame:
    """Cells (one row each, with a ``weight`` column) whose weight is extreme."""
    if not len(cell_frame):
        return cell_frame
    r = cell_frame["weight"] / mean_w
    out = cell_frame[(r > ratio) | (r < 1 / ratio)].copy()
    out["ratio_to_mean"] = r[out.index]
    return out.reset_index(drop=True)


def base_weights(survey: Survey, *, copy: bool = True) -> np.ndarray:
    """The current weights of ``survey``: a copy, or (``copy=False``) a read-only view of
    the design's weights for a caller that only reads them."""
    w = Design.from_survey(survey).weights
    if copy:
        return w.copy()
    w = w.view()
    w.flags.writeable = False
    return w


def new_survey(survey: Survey, weights: np.ndarray, weight_name: str, report: WeightingReport,
               step=None) -> Survey:
    # the new column shares the (fresh) weights array: no copy of n floats
    data = survey.data.assign(**{weight_name: pd.Series(weights, index=survey.data.index,
                                                        copy=False)})
    calibration = tuple(survey.calibration) + ((step,) if step is not None else ())
    return survey.replace(data=data, weight=weight_name, weighting=report, calibration=calibration)


def as_input(survey) -> Survey:
    return as_survey(survey)


def replicate_aware(func):
    """Weighting on a replicate-weight Survey re-weights every replicate the same way (R's
    ``rake``/``postStratify``/``calibrate``/``trimWeights`` on an ``svrepdesign``): the
    function runs on the full sample (its report and weights), then once per replicate
    column with that column as the base weight; the results become the new replicate
    weights, so the variance reflects the calibration."""
    import functools
    import warnings

    @functools.wraps(func)
    def wrapper(survey, *args, **kwargs):
        from ..core.distributed import is_dask

        if is_dask(survey):  # Dask-backed: no replicate weights (see docs/scale.md)
            return func(survey, *args, **kwargs)
        s = as_survey(survey)
        spec = s.design.replicates
        if spec is None:
            return func(survey, *args, **kwargs)
        out = func(s, *args, **kwargs)
        plain = s.replace(design=dataclasses.replace(s.design, replicates=None))
        base = Design.from_survey(s).replicate.weights
        names = [f"_repw_{func.__name__}{i + 1}" for i in range(base.shape[1])]
        cols = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, name in enumerate(names):
                one = plain.replace(data=plain.data.assign(_rep_base=base[:, i]),
                                    weight="_rep_base", calibration=())
                cols[name] = func(one, *args, **kwargs).weights
        data = out.data.assign(**cols)  # the previous replicate columns stay in the data
        new_spec = dataclasses.replace(spec, columns=tuple(names), combined_weights=True)
        return out.replace(data=data, design=dataclasses.replace(out.design, replicates=new_spec),
                           calibration=())

    return wrapper
