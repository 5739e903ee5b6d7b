"""Weighting: raking, post-stratification, calibration, trimming and non-response adjustment.

Every function returns a NEW `Survey` with a new weight column, a `WeightingReport` in
``survey.weighting`` and, for calibration methods, the step recorded in
``survey.calibration`` so that design-based standard errors use the calibration residuals
exactly as R's ``survey`` package (``postStratify``, ``rake``, ``calibrate``).
"""

from __future__ import annotations

from ._calibrate import calibrate
from ._common import WeightingReport
from ._other import design_from_fieldwork, load_targets, nonresponse_adjust, trim_weights
from ._rake import poststratify, rake

__all__ = [
    "WeightingReport",
    "calibrate",
    "design_from_fieldwork",
    "load_targets",
    "nonresponse_adjust",
    "poststratify",
    "rake",
    "trim_weights",
]
