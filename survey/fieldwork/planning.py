"""Sample size and margin of error for a proportion (planning the fieldwork).

Formulas (Cochran, *Sampling Techniques*, 3rd ed., 1977, §4.4, eq. 4.1–4.2)::

    n0 = z² · p(1 − p) · deff / e²                     (infinite population)
    n  = n0 / (1 + (n0 − 1) / N)                      (finite population correction)
    e  = z · sqrt(deff · p(1 − p) / n · (N − n) / (N − 1))   (the exact inverse)

``z`` is the two-sided standard normal quantile for ``confidence``. The number of forms to
issue is ``ceil(n / response_rate)``.
"""

from __future__ import annotations

import dataclasses
import math
from statistics import NormalDist

import pandas as pd

from ..core.result import Result
from ..errors import SurveyError


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise SurveyError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _check_p(p: float) -> None:
    if not 0 < p < 1:
        raise SurveyError(f"p must be a proportion strictly between 0 and 1, got {p!r}. "
                          "Hint: use p=0.5 when nothing is known (the most conservative).")


def _check_population(population: float | None) -> None:
    if population is not None and not population >= 2:
        raise SurveyError(f"population must be a count of at least 2, got {population!r}")


@dataclasses.dataclass(frozen=True, repr=False)
class SampleSize(Result):
    """Completed interviews needed (``n_complete``) and forms to issue (``n_issue``)."""

    n_complete: int
    n_issue: int
    n_infinite: float
    margin: float
    confidence: float
    p: float
    population: float | None
    design_effect: float
    response_rate: float
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return "Sample size"

    def _summary(self) -> str:
        return f"n_complete={self.n_complete}, n_issue={self.n_issue}"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "margin": [self.margin],
                "confidence": [self.confidence],
                "p": [self.p],
                "population": [self.population if self.population is not None else math.nan],
                "design_effect": [self.design_effect],
                "response_rate": [self.response_rate],
                "n_infinite": [self.n_infinite],
                "n_complete": [self.n_complete],
                "n_issue": [self.n_issue],
            }
        )


@dataclasses.dataclass(frozen=True, repr=False)
class MarginOfError(Result):
    """Half-width of the confidence interval of a proportion for ``n`` completed interviews."""

    margin: float
    n: int
    confidence: float
    p: float
    population: float | None
    design_effect: float
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return "Margin of error"

    def _summary(self) -> str:
        return f"±{100 * self.margin:.2f} points (n={self.n}, {100 * self.confidence:g}%)"

    def __float__(self) -> float:
        return float(self.margin)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "n": [self.n],
                "confidence": [self.confidence],
                "p": [self.p],
                "population": [self.population if self.population is not None else math.nan],
                "design_effect": [self.design_effect],
                "margin": [self.margin],
            }
        )


def sample_size(
    *,
    margin: float,
    confidence: float = 0.95,
    p: float = 0.5,
    population: float | None = None,
    design_effect: float = 1.0,
    response_rate: float = 1.0,
) -> SampleSize:
    """Completed interviews needed to estimate a proportion within ``± margin``.

    Parameters
    ----------
    margin : half-width of the confidence interval, as a proportion (0.05 = ±5 points).
    confidence : confidence level of the interval.
    p : the anticipated proportion (0.5, the default, is the most conservative).
    population : population size N for the finite population correction (None = infinite).
    design_effect : variance inflation of the design (clustering, weighting), >= 1 usually.
    response_rate : expected share of issued forms that come back usable; the number of
        forms to issue is ``ceil(n_complete / response_rate)``.

    Examples
    --------
    >>> sample_size(margin=0.05).n_complete
    385
    >>> r = sample_size(margin=0.05, population=1447, response_rate=0.915)
    >>> r.n_complete, r.n_issue
    (304, 333)
    """
    if not 0 < margin < 1:
        raise SurveyError(f"margin must be a proportion between 0 and 1 (0.05 = ±5 points), "
                          f"got {margin!r}")
    _check_p(p)
    _check_population(population)
    if not design_effect > 0:
        raise SurveyError(f"design_effect must be positive, got {design_effect!r}")
    if not 0 < response_rate <= 1:
        raise SurveyError(f"response_rate must be in (0, 1], got {response_rate!r}")
    z = _z(confidence)
    n0 = z * z * p * (1 - p) * design_effect / (margin * margin)
    n = n0 if population is None else n0 / (1 + (n0 - 1) / population)
    # guard against 384.00000000001 -> 385 from floating point noise
    n_complete = int(math.ceil(round(n, 9)))
    if population is not None:
        n_complete = min(n_complete, int(math.ceil(population)))
    n_issue = int(math.ceil(round(n_complete / response_rate, 9)))
    notes = [
        f"Cochran's formula for a proportion: z = {z:.4f}, p = {p:g}, margin = ±{margin:g}"
        + (f", design effect {design_effect:g}" if design_effect != 1 else "")
        + (f"; finite population correction with N = {population:g}" if population else "")
        + "."
    ]
    if response_rate < 1:
        notes.append(f"Forms to issue assume {100 * response_rate:g}% come back usable.")
    if population is not None and n_issue > population:
        notes.append("More forms than the population: issue to everyone (a census).")
    return SampleSize(
        n_complete=n_complete,
        n_issue=n_issue,
        n_infinite=n0,
        margin=margin,
        confidence=confidence,
        p=p,
        population=population,
        design_effect=design_effect,
        response_rate=response_rate,
        notes=tuple(notes),
    )


def margin_of_error(
    *,
    n: int,
    population: float | None = None,
    confidence: float = 0.95,
    p: float = 0.5,
    design_effect: float = 1.0,
) -> MarginOfError:
    """Margin of error of a proportion estimated from ``n`` completed interviews.

    The inverse of :func:`sample_size` (same formula, solved for the margin).

    Examples
    --------
    >>> round(margin_of_error(n=385).margin, 4)
    0.0499
    >>> round(margin_of_error(n=366, population=400).margin, 4)
    0.0149
    """
    if not n >= 1:
        raise SurveyError(f"n must be at least 1, got {n!r}")
    _check_p(p)
    _check_population(population)
    if population is not None and n > population:
        raise SurveyError(f"n ({n}) cannot exceed the population ({population})")
    z = _z(confidence)
    var = design_effect * p * (1 - p) / n
    if population is not None:
        var *= (population - n) / (population - 1)
    margin = z * math.sqrt(var)
    note = f"z = {z:.4f}, p = {p:g}" + (
        f"; finite population correction with N = {population:g}" if population else ""
    )
    return MarginOfError(
        margin=margin,
        n=int(n),
        confidence=confidence,
        p=p,
        population=population,
        design_effect=design_effect,
        notes=(note + ".",),
    )
