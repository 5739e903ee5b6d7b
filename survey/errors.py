"""Errors and warnings of the toolkit.

Every error on bad input derives from :class:`SurveyError`, so user code can catch one class.
Messages say where (file, line or row, column), what was expected, what was found, and a hint.
"""

from __future__ import annotations


class SurveyError(Exception):
    """Base class of every error the toolkit raises on bad input."""


class QuestionnaireError(SurveyError):
    """A questionnaire template (YAML or XLSForm) is invalid."""


class IngestError(SurveyError):
    """A response file cannot be read or mapped to the questionnaire."""


class ValidationError(SurveyError):
    """Validation could not run (not: the data has problems; those go to the ValidationReport)."""


class WeightingError(SurveyError):
    """Weights cannot be computed (empty target cells, inconsistent totals, ...)."""


class AnalysisError(SurveyError):
    """An analysis was asked for something the data cannot give (unknown variable, no cases, ...)."""


class ReportError(SurveyError):
    """A report could not be executed or exported."""


class SurveyWarning(UserWarning):
    """A statistical or data caveat that does not stop the computation."""


class QuestionnaireWarning(SurveyWarning):
    """A questionnaire loads, but part of it is kept as written and not used (e.g. an XLSForm
    expression the parser cannot read: kept verbatim, never evaluated)."""


class ConvergenceWarning(SurveyWarning):
    """An iterative procedure (raking, calibration, model fit) did not converge."""


def format_problem(
    *,
    where: str,
    expected: str,
    found: str | None = None,
    hint: str | None = None,
) -> str:
    """Format one problem in the house style: ``where: expected X, found Y. Hint: Z``.

    >>> format_problem(where="data.csv, row 7, column 'age'", expected="a whole number",
    ...                found="'abc'", hint="fix the cell or declare the column as text")
    "data.csv, row 7, column 'age': expected a whole number, found 'abc'. Hint: fix the cell or declare the column as text."
    """
    text = f"{where}: expected {expected}"
    if found is not None:
        text += f", found {found}"
    text += "."
    if hint:
        text += f" Hint: {hint.rstrip('.')}."
    return text


def close_matches(word: str, candidates, *, n: int = 3) -> list[str]:
    """Return up to ``n`` candidates close to ``word`` (for "did you mean" hints).

    >>> close_matches("educaton", ["education", "age_band", "rank"])
    ['education']
    """
    import difflib

    return difflib.get_close_matches(str(word), [str(c) for c in candidates], n=n, cutoff=0.6)


def did_you_mean(word: str, candidates) -> str | None:
    """A hint naming the closest candidate, or ``None``.

    >>> did_you_mean("agre5", ["agree5", "yesno"])
    "did you mean 'agree5'?"
    """
    found = close_matches(word, candidates, n=1)
    return f"did you mean '{found[0]}'?" if found else None
