"""Fieldwork: planning the sample, response rates per unit, and synthetic responses.

>>> from survey.fieldwork import response_rates, sample_size, margin_of_error, synthesize
"""

from __future__ import annotations

from .planning import MarginOfError, SampleSize, margin_of_error, sample_size
from .rates import ResponseRates, response_rates
from .synthesize import synthesize, synthesize_repeat

__all__ = ["response_rates", "ResponseRates", "sample_size", "SampleSize", "margin_of_error",
           "MarginOfError", "synthesize", "synthesize_repeat"]
