"""Validation of raw responses against the questionnaire: every problem in one report.

>>> from survey.validation import validate, ValidationReport, DEFAULT_POLICIES

:func:`validate` takes the canonical raw form (a `survey.ingest.RawTable` or a DataFrame with
``_row`` and one text column per question) and returns a `ValidationResult`: typed ``data``
(accepted rows, index = source row number ``row``), ``missing`` (why each empty cell is empty),
``rejected`` (rows not accepted, with ``rule`` and ``reason``) and ``report``
(`ValidationReport`, one row per problem). Nothing is lost: ``len(data) + len(rejected)`` is
the number of rows read, and every cell that was set to missing is in the report with the
value that was read.

Rules (names fixed by DESIGN.md §2) and the default policy of each
------------------------------------------------------------------
Actions: ``flag`` (keep the value, report it), ``set_missing`` (empty the cell, code it
``invalid``, report the original value), ``reject_row`` (move the row to ``rejected``).

=======================  ============  =========  ==============================================
rule                     default       severity   why this default
=======================  ============  =========  ==============================================
incomplete               reject_row    warning    the platform says the form was not finished
blank_form               reject_row    warning    a returned but empty form is not a respondent
duplicate_id (exact)     reject_row    warning    a form keyed twice: keep the first copy only
duplicate_id (conflict)  flag          error      same id, different answers: two people or a
                                                  keying error; deleting either would guess,
                                                  so both are kept for a human to settle
unknown_code             set_missing   error      a code outside the list (or two boxes ticked
                                                  on a single choice) cannot be analysed; it is
                                                  coded invalid (kind ``invalid``), the mark
                                                  stays in the report for checking against
                                                  the paper form
type                     set_missing   error      not a number / date: same reasoning
constraint               set_missing   error      out of the declared range (age 150) is an
                                                  invalid answer; keeping it would bias means
required                 flag          warning    item non-response is normal; ``nonresponse``
skip_violation           flag          warning    paper respondents often answer what they
                                                  should skip; the answer is real, so it is
                                                  kept (``"blank"``/``"set_missing"`` codes it
                                                  not applicable instead)
max_choices              flag          error      the ticks are the respondent's; analysts
                                                  decide (``set_missing`` invalidates the item)
exclusive                flag          error      e.g. "none" together with other options
other_without_text       flag          warning    "other" ticked, nothing written
text_without_other       flag          warning    something written, "other" not ticked
straightlining           flag          warning    same answer to every row of a grid (>= 3
                                                  rows): suspicious, not proof
speeder                  flag          warning    completed in under half the median time
                                                  (Leiner 2019), when start/end times exist
check:<id>               flag          template   the template's cross-field checks
ragged_line              reject_row    error      a line with more or fewer fields than the
                                                  header cannot be aligned; the rest is read
formula_without_value    flag          error      an Excel formula never computed (no saved
                                                  result): the cell is blank, say why
missing_column           flag          warning    a template question not in the file (one
                                                  problem, no row; did-you-mean)
unknown_column           flag          warning    a file column no question matches: kept as
                                                  an extra column, listed (did-you-mean)
=======================  ============  =========  ==============================================

Override with ``policies={"skip_violation": "blank", "constraint": "flag", ...}``; the keys
are the rule names plus ``duplicate_id_conflict``, ``incomplete``, ``check`` (all checks) and
``check:<id>``. ``set_missing`` applies only to rules about a cell's value.

Semantics (formats.md §7.5, XLSForm): a question's relevance is the conjunction of its own
``relevant`` and that of its enclosing groups and grid; ``required`` applies only when
relevant; a constraint is checked only on non-empty, well-typed values; a blank cell is coded
``not_applicable`` when not relevant and ``nonresponse`` when relevant (the question's codes
of those kinds in ``Survey.missing_scheme``); no skip
violation is reported when the question controlling the skip holds an invalid answer; template
checks are evaluated only on rows where every question they name holds a usable answer. Blank
forms and the later copies of exact duplicates get only their row problem (their cells are
not examined further). Expressions are evaluated column-wise from the parsed AST, never ``eval``.
See docs/validation.md.
"""

from __future__ import annotations

from .engine import DEFAULT_POLICIES, SEVERITY, ValidationResult, resolve_policies, validate
from .report import ValidationReport

__all__ = ["validate", "ValidationReport", "ValidationResult", "DEFAULT_POLICIES", "SEVERITY",
           "resolve_policies"]
