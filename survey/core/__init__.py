"""The `Survey` container, design arrays and the result base class."""

from .result import Result, frame_to_html, frame_to_markdown
from .survey import DesignSpec, Survey, VarInfo, as_survey, category_codes, infer_var_info

__all__ = [
    "DesignSpec",
    "Result",
    "Survey",
    "VarInfo",
    "as_survey",
    "category_codes",
    "frame_to_html",
    "frame_to_markdown",
    "infer_var_info",
]
