"""Unweighted classic tests computed by scipy / statsmodels, which match R here:
correlation tests (R ``cor.test``), McNemar's test (R ``mcnemar.test``) and pairwise t-tests
(R ``pairwise.t.test``).

They have no design-based form in R's survey package; on a weighted or complex Survey they
refuse and name the design-based alternative (never silently unweighted).
"""

from __future__ import annotations

import dataclasses
import math
from itertools import combinations

import numpy as np
import pandas as pd

from ..core.result import Result
from ..errors import AnalysisError
from ._common import numeric, prepare, single, weighting_note, where_mask
from .tests import GroupTest

__all__ = ["cor_test", "mcnemar", "pairwise_ttest", "PairwiseTests"]

_COR = ("pearson", "spearman", "kendall")


def _refuse(s, func: str, alternative: str) -> None:
    if s.has_design:
        raise AnalysisError(
            f"{func}: R has no design-based form of this test and the Survey has weights or a "
            f"design (it would be analysed unweighted). Hint: {alternative}; or pass the plain "
            "DataFrame (survey.data) to test the unweighted sample on purpose."
        )


def _pingouin_corr(a: np.ndarray, b: np.ndarray, method: str, alternative: str):
    """Spearman's rho / Kendall's tau-b and the p-value of R ``cor.test`` by pingouin.corr."""
    import pingouin

    res = pingouin.corr(a, b, method=method, alternative=alternative)
    return float(res["r"].iloc[0]), float(res["p_val"].iloc[0])


def cor_test(survey, x: str, y: str, *, method: str = "pearson", alternative: str = "two-sided",
             confidence: float = 0.95, where=None) -> GroupTest:
    """Correlation test (R ``cor.test``) on the complete pairs.

    ``pearson``: t = r sqrt(n-2)/sqrt(1-r^2) on n - 2 df, Fisher-z CI (scipy ``pearsonr``,
    as R). ``spearman``: rho and S = (n^3 - n)(1 - rho)/6 with R's default p-value: algorithm
    AS 89 for n < 1290 without ties (exact for n <= 9, Edgeworth series beyond), else the t
    approximation on n - 2 df.
    ``kendall``: tau-b, exact p-value without ties and n < 50, else the normal approximation
    with tie-corrected variance (scipy ``kendalltau``, as R).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 1, 4, 3, 5]})
    >>> round(cor_test(df, "a", "b").estimate, 6)
    0.8
    """
    from scipy import stats

    if method not in _COR:
        raise AnalysisError(f"cor_test: method must be one of {', '.join(_COR)}; got {method!r}")
    if alternative not in ("two-sided", "less", "greater"):
        raise AnalysisError(f"cor_test: alternative must be two-sided, less or greater; got "
                            f"{alternative!r}")
    s = prepare(survey)
    _refuse(s, "cor_test", f"sv.glm(s, '{y} ~ {x}') gives the design-based slope and its test")
    mask = where_mask(s, where, func="cor_test")
    a, b = numeric(s, x, func="cor_test"), numeric(s, y, func="cor_test")
    ok = ~np.isnan(a) & ~np.isnan(b)
    if mask is not None:
        ok &= mask
    a, b = a[ok], b[ok]
    n = len(a)
    if n < 3:
        raise AnalysisError(f"cor_test: {n} complete pairs; at least 3 are needed")
    lo = hi = math.nan
    notes = [f"Base: {n} complete pairs of '{x}' and '{y}'."]
    if method == "pearson":
        res = stats.pearsonr(a, b, alternative=alternative)
        r = float(res.statistic)
        stat, df = r * math.sqrt(n - 2) / math.sqrt(1 - r * r) if abs(r) < 1 else math.inf, n - 2
        if n > 3:
            ci = res.confidence_interval(confidence_level=confidence)
            lo, hi = float(ci.low), float(ci.high)
        p = float(res.pvalue)
        name = "Pearson's product-moment correlation (R cor.test)"
    elif method == "spearman":
        from ._spearman import spearman_p

        r, _ = _pingouin_corr(a, b, method, alternative)
        ties = min(len(np.unique(a)), len(np.unique(b))) < n
        p, as89 = spearman_p(r, n, alternative, ties=ties)
        stat, df = (n**3 - n) * (1 - r) / 6, math.nan  # R's S
        name = "Spearman's rank correlation rho (R cor.test)"
        notes.append(
            "p-value as R cor.test: " + ("algorithm AS 89 (exact permutation distribution for "
                                         "n <= 9, Edgeworth series beyond)." if as89 else
                                         "the t approximation on n - 2 df (ties or n >= 1290; "
                                         "R warns it cannot compute an exact p-value)."))
    else:
        r, p = _pingouin_corr(a, b, method, alternative)
        stat, df = r, math.nan
        name = "Kendall's rank correlation tau (tau-b; R cor.test)"
        notes.append("tau-b and its p-value by pingouin.corr (exact without ties for n < 50, "
                     "else the tie-corrected normal approximation, as R cor.test).")
    notes.append(weighting_note(s))
    return GroupTest(test="cor_test", method=name, var=x, by=y, statistic=float(stat),
                     df=float(df), df_denom=math.nan, p_value=p, estimate=r, ci_low=lo,
                     ci_high=hi, effect_size=r, effect_size_name=method, alternative=alternative,
                     confidence=confidence, notes=tuple(notes))


def _t_p(t: float, df: float, alternative: str) -> float:
    from scipy.stats import t as tdist

    if alternative == "two-sided":
        return float(2 * tdist.sf(abs(t), df))
    return float(tdist.sf(t, df) if alternative == "greater" else tdist.cdf(t, df))


def mcnemar(survey, a: str, b: str, *, correct: bool = True, where=None,
            language: str | None = None) -> GroupTest:
    """McNemar's test of symmetry for two paired categorical answers (R ``mcnemar.test``).

    2 x 2: X^2 = (|n12 - n21| - 1)^2 / (n12 + n21) with the continuity correction (``correct``,
    R's default), 1 df; k x k (same categories): Bowker's sum over i < j of
    (nij - nji)^2 / (nij + nji) on k(k - 1)/2 df, no correction (as R).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"before": ["y"] * 30 + ["n"] * 20, "after": ["y"] * 20 + ["n"] * 30})
    >>> round(mcnemar(df, "before", "after").statistic, 4)
    8.1
    """
    from scipy.stats import chi2

    s = prepare(survey)
    _refuse(s, "mcnemar", f"the design-based paired t-test on the 0/1 indicators, "
            f"sv.ttest(s, '<{a} indicator>', '<{b} indicator>', paired=True)")
    mask = where_mask(s, where, func="mcnemar")
    ca, ia = single(s, a, language=language, mask=mask, func="mcnemar")
    cb, ib = single(s, b, language=language, mask=mask, func="mcnemar")
    if list(ia.categories) != list(ib.categories):
        raise AnalysisError(f"mcnemar: '{a}' and '{b}' must have the same categories; found "
                            f"{list(ia.categories)} and {list(ib.categories)}")
    k = len(ia.categories)
    ok = (ca >= 0) & (cb >= 0)
    t = np.bincount(ca[ok] * k + cb[ok], minlength=k * k).reshape(k, k).astype(float)
    iu = np.triu_indices(k, 1)
    num, den = t[iu], t[iu] + t.T[iu]
    use = den > 0
    if k == 2 and correct:
        stat = float((abs(t[0, 1] - t[1, 0]) - 1) ** 2 / den[0]) if den[0] > 0 else math.nan
        method = "McNemar's chi-squared test with continuity correction (R mcnemar.test)"
    else:
        stat = float(((num - t.T[iu])[use] ** 2 / den[use]).sum())
        method = ("McNemar's chi-squared test (R mcnemar.test, correct = FALSE)" if k == 2
                  else "McNemar-Bowker test of symmetry (R mcnemar.test)")
    df = k * (k - 1) / 2
    return GroupTest(test="mcnemar", method=method, var=a, by=b, statistic=stat, df=float(df),
                     df_denom=math.nan, p_value=float(chi2.sf(stat, df)),
                     groups=pd.DataFrame(t, index=list(ia.categories), columns=list(ib.categories)),
                     notes=(f"Base: {int(ok.sum())} respondents with both answers.",
                            weighting_note(s)))


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class PairwiseTests(Result):
    """Pairwise comparisons: one row per pair with the adjusted p-value."""

    method: str
    var: str
    by: str
    table: pd.DataFrame
    adjust: str
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"Pairwise t-tests of {self.var} by {self.by}"

    def _summary(self) -> str:
        return f"{len(self.table)} pairs, p-values adjusted by {self.adjust}"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _display_frame(self) -> pd.DataFrame:
        return self.table.set_index(["group1", "group2"])


def pairwise_ttest(survey, var: str, by: str, *, pool_sd: bool = True, adjust: str = "holm",
                   alternative: str = "two-sided", where=None,
                   language: str | None = None) -> PairwiseTests:
    """Pairwise t-tests between the groups of ``by`` (R ``pairwise.t.test``).

    ``pool_sd=True`` (R's default): one SD pooled over all groups, df = N - k; else Welch's
    t-test per pair. p-values adjusted by ``adjust`` (R ``p.adjust`` names; default holm).
    ``diff`` = mean(group2) - mean(group1), pairs in R's order (group2 after group1).
    """
    from scipy.stats import ttest_ind

    from .padjust import adjust_pvalues

    s = prepare(survey)
    _refuse(s, "pairwise_ttest", f"design-based t-tests per pair: sv.ttest(s, '{var}', "
            f"'{by}', where=s.data['{by}'].isin([a, b])), then sv.adjust_pvalues")
    mask = where_mask(s, where, func="pairwise_ttest")
    y = numeric(s, var, func="pairwise_ttest")
    codes, info = single(s, by, language=language, mask=mask, func="pairwise_ttest")
    ok = ~np.isnan(y) & (codes >= 0)
    groups = [(lab, y[ok & (codes == k)]) for k, lab in enumerate(info.categories)]
    groups = [(lab, v) for lab, v in groups if len(v)]
    if len(groups) < 2:
        raise AnalysisError(f"pairwise_ttest: '{by}' needs at least two groups with data")
    n = np.array([len(v) for _, v in groups], dtype=float)
    dfp = n.sum() - len(groups)
    sp = math.sqrt(sum(((v - v.mean()) ** 2).sum() for _, v in groups) / dfp) if dfp > 0 else math.nan
    rows = []
    for (i, (g1, v1)), (j, (g2, v2)) in combinations(enumerate(groups), 2):
        d = v2.mean() - v1.mean()
        if pool_sd:
            se = sp * math.sqrt(1 / n[i] + 1 / n[j])
            t, df = d / se, dfp
            p = _t_p(t, df, alternative)
        else:
            res = ttest_ind(v2, v1, equal_var=False, alternative=alternative)
            t, p = float(res.statistic), float(res.pvalue)
            df = float(res.df)
        rows.append({"group1": g1, "group2": g2, "diff": d, "statistic": t, "df": df,
                     "p_unadjusted": p})
    table = pd.DataFrame(rows)
    table["p_value"] = np.asarray(adjust_pvalues(table["p_unadjusted"].to_numpy(), method=adjust))
    method = ("t tests with pooled SD (R pairwise.t.test)" if pool_sd
              else "Welch t tests with non-pooled SD (R pairwise.t.test(pool.sd = FALSE))")
    return PairwiseTests(method=method, var=var, by=by, table=table, adjust=adjust,
                         notes=(f"p-values adjusted by {adjust} (R p.adjust) over "
                                f"{len(table)} pairs.", weighting_note(s)))
