"""survey: from questionnaire template to published report.

>>> import survey as sv
>>> sv.SurveyError.__name__
'SurveyError'

Public names are resolved lazily (PEP 562), so ``import survey`` stays light: no
statsmodels, scipy.stats, seaborn, matplotlib.pyplot, pingouin, nbconvert or nbclient
is imported until a function that needs it runs.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .errors import (
    AnalysisError,
    ConvergenceWarning,
    IngestError,
    QuestionnaireError,
    ReportError,
    SurveyError,
    SurveyWarning,
    ValidationError,
    WeightingError,
)

# public name -> module that defines it
_LAZY: dict[str, str] = {
    # core
    "Survey": "survey.core.survey",
    "DesignSpec": "survey.core.survey",
    "VarInfo": "survey.core.survey",
    "Result": "survey.core.result",
    "as_replicate": "survey.core.replicates",
    # questionnaire
    "Questionnaire": "survey.questionnaire",
    "load_questionnaire": "survey.questionnaire",
    "list_templates": "survey.questionnaire",
    "read_xlsform": "survey.questionnaire",
    "codebook": "survey.questionnaire",
    "render_questionnaire": "survey.questionnaire",
    "parse_expression": "survey.questionnaire",
    # fieldwork
    "response_rates": "survey.fieldwork",
    "sample_size": "survey.fieldwork",
    "margin_of_error": "survey.fieldwork",
    "synthesize": "survey.fieldwork",
    # ingestion and validation
    "read_responses": "survey.ingest",
    "infer_questionnaire": "survey.ingest",
    "read_raw": "survey.ingest",
    "RawTable": "survey.ingest",
    "compare_entries": "survey.ingest",
    "EntryComparison": "survey.ingest",
    # data entry in the browser
    "render_entry_app": "survey.entry",
    "entry_progress": "survey.entry",
    "entry_comparison": "survey.entry",
    "validate": "survey.validation",
    "ValidationReport": "survey.validation",
    # weighting
    "rake": "survey.weighting",
    "poststratify": "survey.weighting",
    "calibrate": "survey.weighting",
    "trim_weights": "survey.weighting",
    "nonresponse_adjust": "survey.weighting",
    "load_targets": "survey.weighting",
    "WeightingReport": "survey.weighting",
    # analysis: descriptive and tables
    "frequencies": "survey.analysis.frequencies",
    "multi_response": "survey.analysis.frequencies",
    "crosstab": "survey.analysis.crosstab",
    "CrossTab": "survey.analysis.crosstab",
    "likert": "survey.analysis.scales",
    "reliability": "survey.analysis.scales",
    # analysis: design-based estimates
    "mean": "survey.analysis.estimates",
    "total": "survey.analysis.estimates",
    "ratio": "survey.analysis.estimates",
    "quantile": "survey.analysis.estimates",
    "proportions": "survey.analysis.estimates",
    # analysis: tests and models
    "ttest": "survey.analysis.tests",
    "anova": "survey.analysis.tests",
    "mann_whitney": "survey.analysis.tests",
    "kruskal": "survey.analysis.tests",
    "prop_test": "survey.analysis.tests",
    "games_howell": "survey.analysis.tests",
    "tukey_hsd": "survey.analysis.tests",
    "dunn": "survey.analysis.tests",
    "logit": "survey.analysis.models",
    "ordinal_logit": "survey.analysis.models",
    "glm": "survey.analysis.glm",
    "wald_test": "survey.analysis.glm",
    "adjust_pvalues": "survey.analysis.padjust",
    "cor_test": "survey.analysis.classics",
    "mcnemar": "survey.analysis.classics",
    "pairwise_ttest": "survey.analysis.classics",
    # banner tables
    "banner": "survey.analysis.banner",
    "Banner": "survey.analysis.banner",
    # charts
    "set_theme": "survey.charts",
    "bar_chart": "survey.charts",
    "likert_chart": "survey.charts",
    "multi_response_chart": "survey.charts",
    "crosstab_chart": "survey.charts",
    "residual_heatmap": "survey.charts",
    "response_rate_chart": "survey.charts",
    # reporting
    "render_report": "survey.reporting",
    "findings": "survey.reporting",
}

__all__ = [
    "__version__",
    "AnalysisError",
    "ConvergenceWarning",
    "IngestError",
    "QuestionnaireError",
    "ReportError",
    "SurveyError",
    "SurveyWarning",
    "ValidationError",
    "WeightingError",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'survey' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
