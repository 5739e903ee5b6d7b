"""One-way frequency tables and multiple-response tables."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ..core.result import Result
from ..errors import AnalysisError
from ._common import (
    fmt_n,
    missing_reasons,
    prepare,
    single,
    template_report_base,
    weighting_note,
    where_mask,
)

__all__ = ["Frequencies", "MultiResponse", "frequencies", "multi_response", "proportion_ci"]

_CI_METHODS = ("wilson", "clopper-pearson", "agresti-coull", "logit")


def proportion_ci(x, n, *, confidence: float = 0.95, method: str = "wilson", df: float = math.inf):
    """Confidence interval for a proportion ``x / n`` (arrays allowed).

    ``wilson`` = R ``prop.test(x, n, correct = FALSE)$conf.int``; ``clopper-pearson`` = R
    ``binom.test``; ``agresti-coull`` adds z²/2 successes and failures; ``logit`` is the Wald
    interval on the log-odds scale. With a finite ``df`` the normal quantile is replaced by
    t(df) (design-based use with an effective n).

    >>> [round(v, 6) for v in proportion_ci(12, 25)]
    [0.300313, 0.665015]
    """
    from scipy.stats import beta, norm, t

    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence must lie between 0 and 1, found {confidence!r}")
    q = (1 + confidence) / 2
    z = float(norm.ppf(q)) if not np.isfinite(df) else float(t.ppf(q, df))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        if method == "wilson":
            z2 = z * z
            centre = (x + z2 / 2) / (n + z2)
            half = z * np.sqrt(n * p * (1 - p) + z2 / 4) / (n + z2)
            lo, hi = centre - half, centre + half
        elif method == "clopper-pearson":
            a = 1 - confidence
            lo = np.where(x > 0, beta.ppf(a / 2, x, n - x + 1), 0.0)
            hi = np.where(x < n, beta.ppf(1 - a / 2, x + 1, n - x), 1.0)
        elif method == "agresti-coull":
            z2 = z * z
            pt = (x + z2 / 2) / (n + z2)
            half = z * np.sqrt(pt * (1 - pt) / (n + z2))
            lo, hi = pt - half, pt + half
        elif method == "logit":
            lg = np.log(p / (1 - p))
            half = z / np.sqrt(n * p * (1 - p))
            lo, hi = 1 / (1 + np.exp(-(lg - half))), 1 / (1 + np.exp(-(lg + half)))
            lo = np.where(x == 0, 0.0, lo)
            hi = np.where(x == n, 1.0, hi)
        else:
            raise AnalysisError(
                f"unknown ci_method {method!r}; expected one of {', '.join(_CI_METHODS)}"
            )
    lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Frequencies(Result):
    """A one-way frequency table; ``to_frame()`` has one row per valid category."""

    var: str
    label: str
    table: pd.DataFrame
    missing: pd.DataFrame
    n_valid: float
    n_total: float
    confidence: float = 0.95
    ci_method: str = "wilson"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.label

    def to_frame(self) -> pd.DataFrame:
        out = self.table.copy()
        out.attrs["missing"] = self.missing.copy()
        return out

    def _summary(self) -> str:
        return f"{self.var}, {len(self.table)} categories, n={fmt_n(self.n_valid)} valid of {fmt_n(self.n_total)}"

    def _display_frame(self) -> pd.DataFrame:
        t = self.table.set_index("category")
        pct = int(round(self.confidence * 100))
        out = pd.DataFrame(
            {
                "n": t["n"],
                "%": t["pct"].round(1),
                "% of all": t["pct_all"].round(1),
                f"{pct}% CI": [
                    f"{100 * lo:.1f}–{100 * hi:.1f}" for lo, hi in zip(t["ci_low"], t["ci_high"])
                ],
            }
        )
        if t["cum_pct"].notna().any():
            out["cum. %"] = t["cum_pct"].round(1)
        if len(self.missing):
            for _, row in self.missing.iterrows():
                out.loc[f"({row['reason']})", "n"] = row["n"]
        out.index.name = self.label
        return out


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class MultiResponse(Result):
    """A multiple-response table: per option n, % of respondents and % of responses."""

    var: str
    label: str
    table: pd.DataFrame
    base: str
    n_base: float
    n_base_weighted: float
    n_responses: float
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.label

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _summary(self) -> str:
        return f"{self.var}, {len(self.table)} options, base {fmt_n(self.n_base)} ({self.base})"

    def _display_frame(self) -> pd.DataFrame:
        t = self.table.set_index("category")
        out = pd.DataFrame(
            {"n": t["n"], "% of respondents": t["pct"].round(1),
             "% of responses": t["pct_responses"].round(1)}
        )
        out.index.name = self.label
        return out


def frequencies(
    survey,
    var: str,
    *,
    confidence: float = 0.95,
    ci_method: str | None = None,
    weight: str | None = None,
    where=None,
    language: str | None = None,
) -> Frequencies:
    """Counts, percents and confidence intervals of a single-choice question.

    ``pct`` is the percent of valid answers, ``pct_all`` of all respondents (within
    ``where``); ``cum_pct`` only for ordered scales. ``estimate`` is the proportion (0-1) with
    ``se``, ``ci_low``, ``ci_high``, ``df`` and ``deff``. ``ci_method`` is one of ``"wilson"``,
    ``"clopper-pearson"``, ``"agresti-coull"``, ``"logit"``, or R ``svyciprop``'s ``"likelihood"``,
    ``"asin"``, ``"beta"`` (Korn-Graubard), ``"mean"``, ``"xlogit"``; by default Wilson when unweighted
    (R ``prop.test(correct = FALSE)``) and logit with a design (R ``svyciprop``'s default).
    Unweighted: binomial SE sqrt(p(1-p)/n), normal quantile (df = inf), deff = 1. Weighted or
    complex design: the design-based estimate and SE of R's ``svymean``
    (survey.analysis.estimates.proportions), the CI by ``ci_method`` with the effective
    n = p(1-p)/SE² and t(design df) - for ``"logit"`` exactly R's ``svyciprop(method = "logit")``.
    Missing answers are counted by reason in ``to_frame().attrs["missing"]``.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": pd.Categorical(["x", "y", "y", None], categories=["x", "y"])})
    >>> frequencies(df, "a").to_frame()[["category", "n", "pct", "pct_all"]]
      category  n        pct    pct_all
    0        x  1  33.333333  25.000000
    1        y  2  66.666667  50.000000
    """
    from ..core.distributed import is_dask

    if is_dask(survey):
        from . import _dask

        return _dask.frequencies(survey, var, confidence=confidence, ci_method=ci_method,
                                 weight=weight, where=where, language=language)
    s = prepare(survey, weight)
    ci_method = _ci_method(ci_method, s.has_design)
    mask = where_mask(s, where, func="frequencies")
    codes, info = single(s, var, language=language, mask=mask, func="frequencies")
    k = len(info.categories)
    weighted = s.weight is not None
    w = s.weights
    in_scope = mask if mask is not None else np.ones(len(codes), dtype=bool)
    n_k = np.bincount(codes + 1, minlength=k + 1)[1:].astype(float)
    nw_k = np.bincount(codes + 1, weights=w, minlength=k + 1)[1:] if weighted else n_k
    n_all = float(in_scope.sum())
    nw_all = float(w[in_scope].sum()) if weighted else n_all

    def estimates(method: str) -> pd.DataFrame:
        from .estimates import proportions

        return proportions(s, var, confidence=confidence, language=language, where=mask,
                           ci_method=method).to_frame()

    return frequencies_result(
        s, var, info, n_k, nw_k, n_all, nw_all, estimates=estimates, ci_method=ci_method,
        confidence=confidence, filtered=mask is not None, weighted=weighted,
        missing=_missing_counts(s, info, var, codes, in_scope))


_SVY_METHODS = ("logit", "likelihood", "asin", "beta", "mean", "xlogit")


def _ci_method(ci_method: str | None, has_design: bool) -> str:
    """``ci_method`` checked; by default logit with a design, Wilson without."""
    if ci_method is None:
        return "logit" if has_design else "wilson"
    if ci_method not in _CI_METHODS and ci_method not in _SVY_METHODS:
        raise AnalysisError(
            f"frequencies: unknown ci_method {ci_method!r}; expected one of "
            f"{', '.join(dict.fromkeys(_CI_METHODS + _SVY_METHODS))}"
        )
    return ci_method


def frequencies_result(s, var: str, info, n_k: np.ndarray, nw_k: np.ndarray, n_all: float,
                       nw_all: float, *, estimates, ci_method: str, confidence: float,
                       filtered: bool, weighted: bool, missing: pd.DataFrame) -> Frequencies:
    """The `Frequencies` of a single-choice question from its counts per category (shared by
    the in-memory and the Dask paths): ``n_k``/``nw_k`` unweighted and weighted counts of the
    valid answers, ``n_all``/``nw_all`` of all rows in scope (``weighted``: ``nw`` are
    weighted); ``estimates(ci_method)`` gives
    the design-based `proportions` frame; ``missing`` the counts by reason."""
    k = len(info.categories)
    n_valid, nw_valid = n_k.sum(), nw_k.sum()
    if n_valid == 0:
        raise AnalysisError(f"frequencies: '{var}' has no valid answers" +
                            (" within the where= filter" if filtered else ""))
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100 * nw_k / nw_valid
        pct_all = 100 * nw_k / nw_all
    cum = np.cumsum(pct) if info.ordered else np.full(k, np.nan)
    notes = []
    if s.has_design or ci_method in _SVY_METHODS and ci_method != "logit":
        by_svy = ci_method in _SVY_METHODS
        est = estimates(ci_method if by_svy else "logit")
        p = est["estimate"].to_numpy(dtype=float)
        se = est["se"].to_numpy(dtype=float)
        df = est["df"].to_numpy(dtype=float)
        deff = est["deff"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = np.where(se > 0, p * (1 - p) / se**2, n_valid)
        if by_svy:  # R svyciprop(method = ci_method) on each category's indicator
            lo, hi = est["ci_low"].to_numpy(dtype=float), est["ci_high"].to_numpy(dtype=float)
            notes.append(
                "Estimates: design-based (R survey::svymean of category indicators); "
                f"{ci_method} CI as R svyciprop(method = '{ci_method}') with t({df[0]:g})"
                + (" (where=: R subset() semantics)." if filtered else ".")
            )
        else:
            lo, hi = proportion_ci(p * n_eff, n_eff, confidence=confidence, method=ci_method,
                                   df=df[0])
            notes.append(
                "Estimates: design-based (R survey::svymean of category indicators); "
                f"{ci_method} CI with the effective n = p(1-p)/SE² and t({df[0]:g})."
            )
    else:
        p = n_k / n_valid
        se = np.sqrt(p * (1 - p) / n_valid)
        lo, hi = proportion_ci(n_k, np.full(k, n_valid), confidence=confidence, method=ci_method)
        df = np.full(k, np.inf)
        deff = np.ones(k)
        notes.append(
            f"Estimates: proportion of valid answers, binomial SE; {confidence:.0%} {ci_method} CI"
            + (" (R prop.test(correct = FALSE))" if ci_method == "wilson" else "")
            + "."
        )
    table = pd.DataFrame(
        {
            "var": var,
            "category": list(info.categories),
            "n": n_k.astype(np.int64),
            "n_weighted": nw_k.astype(float),
            "pct": pct,
            "pct_all": pct_all,
            "cum_pct": cum,
            "estimate": p,
            "se": se,
            "ci_low": lo,
            "ci_high": hi,
            "df": df,
            "deff": deff,
        }
    )
    base = (f"Base: {fmt_n(n_valid)} respondents with a valid answer to '{var}' (of "
            f"{fmt_n(n_all)} respondents" + (" within the where= filter" if filtered
                                            else "") + ")")
    if weighted:  # the percentages are not shares of the respondents counted above
        base += (f"; weighted estimates: pct = weighted % of the valid answers (weighted base "
                 f"{fmt_n(nw_valid)} of {fmt_n(nw_all)}), pct_all = weighted % of all "
                 "respondents.")
    else:
        base += "; pct = % of the valid answers, pct_all = % of all respondents."
    miss_txt = ", ".join(f"{r} {int(c)}" for r, c in zip(missing["reason"], missing["n"]))
    notes = [
        base,
        *notes,
        ("Missing (excluded from pct): " + miss_txt + ".") if miss_txt else "No missing answers.",
        weighting_note(s),
    ]
    return Frequencies(
        var=var, label=info.label or var, table=table, missing=missing, n_valid=float(n_valid),
        n_total=n_all, confidence=confidence, ci_method=ci_method, notes=tuple(notes),
    )


def _missing_counts(s, info, var, codes, in_scope) -> pd.DataFrame:
    """Counts of missing answers by reason (from Survey.missing), within scope."""
    reason_codes: list = []
    reason, names = missing_reasons(s, var, info, codes, in_scope, reason_codes=reason_codes)
    counts = np.bincount(reason[reason >= 0], minlength=len(names))
    return pd.DataFrame({"reason": names, "code": reason_codes, "n": counts.astype(int)})


def _multi_estimates(s, sel, in_base, n_opt, n_base, confidence):
    """Per option: proportion of the base with SE, CI, df, deff (design-based with a design)."""
    k = len(n_opt)
    if not s.has_design:
        p = n_opt / n_base
        lo, hi = proportion_ci(n_opt, np.full(k, n_base), confidence=confidence, method="wilson")
        cols = {"estimate": p, "se": np.sqrt(p * (1 - p) / n_base), "ci_low": lo,
                "ci_high": hi, "df": np.full(k, np.inf), "deff": np.ones(k)}
        return (f"Estimates: proportion of the base, binomial SE; {confidence:.0%} Wilson CI "
                "(R prop.test(correct = FALSE)).", cols)
    from ..core.design import Design
    from .estimates import _linearize, _subset_degf

    design = Design.from_survey(s)
    lin = _linearize(design, sel.astype(float), in_base, None, 1, "mean")
    return multi_design_estimates(lin, float(_subset_degf(design, in_base)), confidence)


def multi_design_estimates(lin, df: float, confidence: float) -> tuple[str, dict]:
    """The design-based columns of `multi_response` from the linearisation of the options'
    indicators over the base (shared by the in-memory and the Dask paths)."""
    from .estimates import _deff, _logit_ci, _t

    p = lin.est[0]
    k = len(p)
    se = np.sqrt(np.clip(np.diag(lin.vcov), 0, None))
    t = _t(confidence, df)
    ci = np.array([_logit_ci(float(pj), float(sj), t) for pj, sj in zip(p, se)]).reshape(k, 2)
    cols = {"estimate": p, "se": se, "ci_low": ci[:, 0], "ci_high": ci[:, 1],
            "df": np.full(k, df), "deff": _deff(lin, "mean")[0]}
    return ("Estimates: design-based (R survey::svymean of each option's 0/1 indicator with the "
            f"base as a domain, full design kept); {confidence:.0%} logit CI with t({df:g}), as "
            "R svyciprop(method = 'logit').", cols)


def multi_response(
    survey,
    var: str,
    *,
    base: str | None = None,
    confidence: float = 0.95,
    weight: str | None = None,
    where=None,
    language: str | None = None,
) -> MultiResponse:
    """Per option of a multiple-choice question: n, % of respondents and % of responses.

    base : "respondents" (answered the question: at least one option not missing),
        "returned" (every row, within ``where``), or "shown" (every row except those whose
        missing reason is of kind ``not_applicable``). Default: the template's ``report: {base: ...}``
        for the question, else "respondents". The base count is stated in the notes.

    ``estimate`` is the proportion of the base choosing the option (0-1) with ``se``,
    ``ci_low``, ``ci_high``, ``df`` and ``deff``. Unweighted: binomial SE and the Wilson
    interval (R ``prop.test(correct = FALSE)``). Weighted or complex design: the
    design-based mean of the option's 0/1 indicator over the base as a domain (the full
    design is kept, as R's ``subset()``/``svyby``), with the logit interval on t(design df
    of the base) - exactly R's ``svyciprop(~I(option), subset(design, base),
    method = "logit")``.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"g_a": pd.array([True, True, False, None], dtype="boolean"),
    ...                    "g_b": pd.array([True, False, True, None], dtype="boolean")})
    >>> multi_response(df, "g").to_frame()[["category", "n", "pct", "pct_responses"]]
      category  n        pct  pct_responses
    0        a  2  66.666667           50.0
    1        b  2  66.666667           50.0
    """
    from ..core.distributed import is_dask

    if is_dask(survey):
        from . import _dask

        return _dask.multi_response(survey, var, base=_base(base, None), confidence=confidence,
                                    weight=weight, where=where, language=language)
    s = prepare(survey, weight)
    base = _base(base, template_report_base(s, var))
    mask = where_mask(s, where, func="multi_response")
    info = s.var_info(var, language=language)
    if info.kind != "multi":
        raise AnalysisError(
            f"multi_response: '{var}' is not a multiple-choice question (kind {info.kind!r}). "
            "Hint: its options must be boolean columns named "
            f"'{var}_<option>'; use frequencies() for a single-choice question"
        )
    data = s.data
    cols = list(info.columns)
    block = data[cols]
    sel = np.column_stack(
        [block[c].astype("boolean").fillna(False).to_numpy(dtype=bool) for c in cols]
    )
    answered = block.notna().any(axis=1).to_numpy()
    scope = mask if mask is not None else np.ones(len(data), dtype=bool)
    base_txt = BASE_TEXT[base]
    if base == "respondents":
        in_base = answered & scope
    else:
        in_base = scope.copy()
    if base == "shown":
        mm = s.missing
        if mm is not None and var in mm.columns:
            skipped = s.missing_scheme.is_kind(
                pd.to_numeric(mm[var], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
                "not_applicable", var)
            in_base &= ~skipped
    w = s.weights
    weighted = s.weight is not None
    n_opt = sel[in_base].sum(axis=0).astype(float)
    nw_opt = (sel[in_base] * w[in_base, None]).sum(axis=0) if weighted else n_opt
    n_base = float(in_base.sum())
    nw_base = float(w[in_base].sum()) if weighted else n_base
    if n_base == 0:
        raise AnalysisError(f"multi_response: the base for '{var}' is empty ({base_txt})")
    est = _multi_estimates(s, sel, in_base, n_opt, n_base, confidence)
    return multi_result(s, var, info, base, n_opt, nw_opt, n_base, nw_base, est,
                        weighted=weighted, filtered=mask is not None)


BASE_TEXT = {"respondents": "respondents who answered the question",
             "returned": "respondents (every accepted questionnaire, answered or not)",
             "shown": "respondents shown the question (not skipped)"}


def _base(base: str | None, template_base: str | None) -> str:
    """``base=`` checked; by default the template's ``report: {base: ...}``, else
    "respondents"."""
    if base is None:
        base = template_base or "respondents"
    if base not in BASE_TEXT:
        raise AnalysisError(
            f"multi_response: base must be 'respondents', 'returned' or 'shown', found {base!r}"
        )
    return base


def multi_result(s, var: str, info, base: str, n_opt, nw_opt, n_base: float, nw_base: float,
                 est: tuple[str, dict], *, weighted: bool, filtered: bool) -> MultiResponse:
    """The `MultiResponse` from the counts per option and of the base and the estimates
    (shared by the in-memory and the Dask paths)."""
    est_note, est_cols = est
    base_txt = BASE_TEXT[base]
    n_resp = float(nw_opt.sum())
    table = pd.DataFrame(
        {
            "var": var,
            "category": list(info.categories),
            "n": n_opt.astype(np.int64),
            "n_weighted": nw_opt,
            "pct": 100 * nw_opt / nw_base,
            "pct_responses": 100 * nw_opt / n_resp if n_resp else np.nan,
            **est_cols,
        }
    )
    total_pct = float(table["pct"].sum())
    notes = [
        f"Base: {fmt_n(n_base)} {base_txt}"
        + (" within the where= filter" if filtered else "")
        + (f"; weighted estimates (weighted base {fmt_n(nw_base)})" if weighted else "")
        + f"; {fmt_n(float(n_opt.sum()))} responses.",
        f"pct = % of respondents (sums to {total_pct:.1f}%: each respondent may choose several "
        "options, so the shares can add up to more than 100%); pct_responses = % of all "
        "responses (sums to 100%).",
        est_note,
        weighting_note(s),
    ]
    return MultiResponse(
        var=var, label=info.label or var, table=table, base=base, n_base=n_base,
        n_base_weighted=nw_base, n_responses=n_resp, notes=tuple(notes),
    )
