"""Group comparisons: t-test, ANOVA, Mann-Whitney, Kruskal-Wallis, two proportions, post hoc.

Defaults follow R: ``ttest`` is Welch (``t.test``), ``anova`` is Welch (``oneway.test``),
``mann_whitney`` is ``wilcox.test(exact = FALSE, correct = TRUE)``, ``prop_test`` is
``prop.test(correct = TRUE)``. Each returns a frozen result with ``statistic``, ``df``,
``df_denom`` (NaN where there is one df), ``p_value``, an effect size, a CI and the group
descriptives (``groups``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ..core.result import Result
from ..errors import AnalysisError
from ._common import numeric, prepare, single, weighting_note, where_mask
from .padjust import adjust_pvalues

__all__ = [
    "GroupTest",
    "PostHoc",
    "anova",
    "dunn",
    "games_howell",
    "kruskal",
    "mann_whitney",
    "prop_test",
    "ttest",
    "tukey_hsd",
]

_ALTERNATIVES = ("two-sided", "less", "greater")


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class GroupTest(Result):
    """One hypothesis test comparing groups."""

    test: str
    method: str
    var: str
    by: str | None
    statistic: float
    df: float
    df_denom: float
    p_value: float
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    effect_size: float = math.nan
    effect_size_name: str = ""
    groups: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    alternative: str = "two-sided"
    confidence: float = 0.95
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.method

    def _summary(self) -> str:
        df = f"{self.df:.4g}" + ("" if math.isnan(self.df_denom) else f", {self.df_denom:.4g}")
        return f"{self.test} {self.var}" + (f" by {self.by}" if self.by else "") + (
            f": statistic={self.statistic:.4g}, df=({df}), p={self.p_value:.3g}"
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "test": self.test,
                    "var": self.var,
                    "by": self.by,
                    "statistic": self.statistic,
                    "df": self.df,
                    "df_denom": self.df_denom,
                    "p_value": self.p_value,
                    "estimate": self.estimate,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "effect_size": self.effect_size,
                    "effect_size_name": self.effect_size_name,
                }
            ]
        )

    def _display_frame(self) -> pd.DataFrame:
        g = self.groups.copy()
        return g.set_index(g.columns[0]) if len(g.columns) else g

    def _repr_markdown_(self) -> str:
        base = super()._repr_markdown_()
        line = (
            f"statistic = {self.statistic:.4g}, df = {self.df:.4g}"
            + ("" if math.isnan(self.df_denom) else f", {self.df_denom:.4g}")
            + f", p = {self.p_value:.3g}"
        )
        if self.effect_size_name:
            line += f", {self.effect_size_name} = {self.effect_size:.3g}"
        return base + "\n\n" + line

    def _repr_html_(self) -> str:
        import html as _html

        base = super()._repr_html_()
        line = _html.escape(self._repr_markdown_().rsplit("\n", 1)[-1])
        return base + f"<p>{line}</p>"


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class PostHoc(Result):
    """Pairwise comparisons after an omnibus test; ``to_frame()`` one row per pair."""

    test: str
    method: str
    var: str
    by: str
    table: pd.DataFrame
    groups: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.method

    def _summary(self) -> str:
        return f"{self.test} {self.var} by {self.by}, {len(self.table)} pairs"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _display_frame(self) -> pd.DataFrame:
        t = self.table.copy()
        t.index = [f"{a} vs {b}" for a, b in zip(t["group1"], t["group2"])]
        t.index.name = "pair"
        return t.drop(columns=["group1", "group2"])


# --- input helpers --------------------------------------------------------------------------


def _groups(survey, var, by, where, language, func, weight=None):
    s = prepare(survey, weight)
    mask = where_mask(s, where, func=func)
    y = numeric(s, var, func=func)
    codes, info = single(s, by, language=language, mask=mask, func=func)
    ok = ~np.isnan(y) & (codes >= 0)
    labels = list(info.categories)
    present = [k for k in range(len(labels)) if (ok & (codes == k)).any()]
    samples = [y[ok & (codes == k)] for k in present]
    names = [labels[k] for k in present]
    return s, samples, names, info, int((~ok & (mask if mask is not None else True)).sum())


def _design_groups(s, var, by, where, language, func):
    """Design, outcome, dense group codes (present groups, in order) and the rows used."""
    from ..core.design import Design

    mask = where_mask(s, where, func=func)
    y = numeric(s, var, func=func)
    codes, info = single(s, by, language=language, mask=mask, func=func)
    ok = ~np.isnan(y) & (codes >= 0)
    present = [k for k in range(len(info.categories)) if (ok & (codes == k)).any()]
    dense = np.full(len(codes), -1, dtype=np.int64)
    for i, k in enumerate(present):
        dense[codes == k] = i
    return Design.from_survey(s), np.nan_to_num(y), dense, ok, len(present)


def _design_group_test(test, s, var, by, where, language, samples, names, dropped, *, kind):
    """The design-based form of anova / mann_whitney / kruskal (see _design_group_tests)."""
    from ._design_group_tests import design_anova, design_ranktest

    design, y, g, use, k = _design_groups(s, var, by, where, language, test)
    if kind == "anova":
        r = design_anova(design, y, g, use, k)
        method = ("Design-based Wald F test of equal group means (R regTermTest(svyglm(y ~ g, "
                  "design), ~g)), F on (k - 1, design df + 1 - k)")
    else:
        r = design_ranktest(design, y, g, use, k)
        method = ("Design-based Wilcoxon rank test (R svyranktest(y ~ g, design)): difference in "
                  "mean weighted rank score, t on design df - 1" if k == 2 else
                  "Design-based Kruskal-Wallis test (R svyranktest(y ~ g, design, "
                  "test = 'KruskalWallis')): Wald F on (k - 1, design df - (k - 1))")
    return GroupTest(
        test=test, method=method, var=var, by=by, statistic=float(r["statistic"]),
        df=float(r["df"]), df_denom=float(r["df_denom"]), p_value=float(r["p_value"]),
        estimate=float(r.get("estimate", math.nan)), groups=_describe(names, samples),
        notes=(_base_note(samples, names, dropped, s),
               "Weighted and design-based: ranks/means use the weights; the variance uses the "
               "strata, clusters and fpc (rows outside the test keep the design, weight 0)."
               + (f" Estimate: mean rank score of {names[1]} − {names[0]}."
                  if kind == "rank" and k == 2 else ""),
               weighting_note(s)),
    )


def _describe(names, samples, *, ranks=None) -> pd.DataFrame:
    rows = []
    for i, (nm, x) in enumerate(zip(names, samples)):
        row = {
            "group": nm,
            "n": len(x),
            "mean": float(np.mean(x)) if len(x) else math.nan,
            "sd": float(np.std(x, ddof=1)) if len(x) > 1 else math.nan,
            "median": float(np.median(x)) if len(x) else math.nan,
        }
        if ranks is not None:
            row["mean_rank"] = float(np.mean(ranks[i])) if len(ranks[i]) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _need(k_needed, names, by, func, exact=True):
    if (exact and len(names) != k_needed) or (not exact and len(names) < k_needed):
        want = f"exactly {k_needed}" if exact else f"at least {k_needed}"
        raise AnalysisError(
            f"{func}: '{by}' must have {want} groups with data; found {len(names)}"
            + (f" ({', '.join(map(str, names))})" if names else "")
            + (". Hint: use anova()/kruskal() for more than two groups, or where= to pick two"
               if exact else ". Hint: check the grouping variable and the where= filter")
        )


def _check_alt(alternative, func):
    if alternative not in _ALTERNATIVES:
        raise AnalysisError(
            f"{func}: alternative must be one of {', '.join(_ALTERNATIVES)}; found {alternative!r}"
        )


def _check_conf(confidence, func):
    if not 0 < confidence < 1:
        raise AnalysisError(f"{func}: confidence must lie between 0 and 1, found {confidence!r}")


def _p_from_t(t, df, alternative):
    from scipy.stats import t as tdist

    if alternative == "two-sided":
        return float(2 * tdist.sf(abs(t), df))
    if alternative == "less":
        return float(tdist.cdf(t, df))
    return float(tdist.sf(t, df))


def _ci_t(est, se, df, confidence, alternative):
    from scipy.stats import t as tdist

    if alternative == "two-sided":
        q = tdist.ppf((1 + confidence) / 2, df)
        return est - q * se, est + q * se
    q = tdist.ppf(confidence, df)
    return (-math.inf, est + q * se) if alternative == "less" else (est - q * se, math.inf)


def _base_note(samples, names, dropped, s):
    counts = ", ".join(f"{nm} {len(x)}" for nm, x in zip(names, samples))
    note = f"Base: {sum(len(x) for x in samples)} respondents ({counts})"
    if dropped:
        note += f"; {dropped} with a missing value excluded"
    return note + "."


# --- tests ----------------------------------------------------------------------------------


def ttest(
    survey,
    var: str,
    by: str,
    *,
    equal_var: bool = False,
    paired: bool = False,
    alternative: str = "two-sided",
    confidence: float = 0.95,
    where=None,
    language: str | None = None,
) -> GroupTest:
    """Two-sample t-test of ``var`` between the two groups of ``by`` (R ``t.test``).

    Welch by default (R's default; ``equal_var=True`` for the pooled test). The estimate is
    first group − second group, as R's formula interface. ``paired=True`` compares two numeric
    columns ``var`` and ``by`` row by row (R ``t.test(x, y, paired = TRUE)``). With weights or
    a complex design the test is design-based (R ``svyttest``; estimate second − first).
    Effect size: Cohen's d with the pooled SD (paired: mean difference / SD of differences).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "g": list("aaabbb")})
    >>> r = ttest(df, "y", by="g")
    >>> round(r.statistic, 4), round(r.df, 1)
    (-3.6742, 4.0)
    """
    _check_alt(alternative, "ttest")
    _check_conf(confidence, "ttest")
    if paired:
        return _paired_ttest(survey, var, by, alternative, confidence, where)
    s, samples, names, info, dropped = _groups(survey, var, by, where, language, "ttest")
    _need(2, names, by, "ttest")
    groups = _describe(names, samples)
    if s.has_design:
        if alternative != "two-sided":
            raise AnalysisError("ttest: design-based tests are two-sided only; found "
                                f"alternative={alternative!r}")
        from ._design_tests import design_ttest

        ss = s
        mask = where_mask(s, where, func="ttest")
        if mask is not None:
            data = s.data.copy()
            data[var] = data[var].where(pd.Series(mask, index=data.index))
            ss = s.replace(data=data)
        r = design_ttest(ss, var, by, confidence=confidence, language=language)
        return GroupTest(
            test="ttest", method=r["method"], var=var, by=by, statistic=r["statistic"],
            df=r["df"], df_denom=math.nan, p_value=r["p_value"], estimate=r["estimate"],
            ci_low=r["ci_low"], ci_high=r["ci_high"], groups=groups, confidence=confidence,
            notes=(_base_note(samples, names, dropped, s),
                   f"Estimate: {r['groups'][1]} − {r['groups'][0]} (R svyttest convention).",
                   weighting_note(s)),
        )
    x, y = samples
    n1, n2 = len(x), len(y)
    if n1 < 2 or n2 < 2:
        raise AnalysisError(f"ttest: each group needs at least 2 values; found {n1} and {n2}")
    m1, m2 = x.mean(), y.mean()
    v1, v2 = x.var(ddof=1), y.var(ddof=1)
    diff = m1 - m2
    if equal_var:
        df = n1 + n2 - 2
        sp2 = ((n1 - 1) * v1 + (n2 - 1) * v2) / df
        se = math.sqrt(sp2 * (1 / n1 + 1 / n2))
        method = "Two Sample t-test (pooled variance; R t.test(var.equal = TRUE))"
    else:
        a, b = v1 / n1, v2 / n2
        se = math.sqrt(a + b)
        df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
        method = "Welch Two Sample t-test (R t.test default)"
    t = diff / se
    p = _p_from_t(t, df, alternative)
    lo, hi = _ci_t(diff, se, df, confidence, alternative)
    sp = math.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
    d = diff / sp if sp > 0 else math.nan
    notes = (
        _base_note(samples, names, dropped, s),
        f"Estimate: mean of {names[0]} − mean of {names[1]}; {confidence:.0%} CI; "
        f"alternative {alternative}; alpha not applied (p-value reported).",
        "Effect size: Cohen's d with the pooled SD.",
        weighting_note(s),
    )
    return GroupTest(
        test="ttest", method=method, var=var, by=by, statistic=float(t), df=float(df),
        df_denom=math.nan, p_value=p, estimate=float(diff), ci_low=float(lo), ci_high=float(hi),
        effect_size=float(d), effect_size_name="cohens_d", groups=groups,
        alternative=alternative, confidence=confidence, notes=notes,
    )


def _paired_ttest(survey, var, other, alternative, confidence, where):
    s = prepare(survey)
    mask = where_mask(s, where, func="ttest")
    x, y = numeric(s, var, func="ttest"), numeric(s, other, func="ttest")
    ok = ~np.isnan(x) & ~np.isnan(y)
    if mask is not None:
        ok &= mask
    d = x[ok] - y[ok]
    n = len(d)
    if n < 2:
        raise AnalysisError(f"ttest: a paired test needs at least 2 complete pairs; found {n}")
    if s.has_design:
        return _design_paired_ttest(s, var, other, x, y, ok, alternative, confidence)
    md, sd = d.mean(), d.std(ddof=1)
    se = sd / math.sqrt(n)
    t = md / se
    df = n - 1
    lo, hi = _ci_t(md, se, df, confidence, alternative)
    groups = _describe([var, other], [x[ok], y[ok]])
    return GroupTest(
        test="ttest", method="Paired t-test (R t.test(x, y, paired = TRUE))", var=var, by=other,
        statistic=float(t), df=float(df), df_denom=math.nan, p_value=_p_from_t(t, df, alternative),
        estimate=float(md), ci_low=float(lo), ci_high=float(hi),
        effect_size=float(md / sd) if sd > 0 else math.nan, effect_size_name="cohens_dz",
        groups=groups, alternative=alternative, confidence=confidence,
        notes=(f"Base: {n} complete pairs.", f"Estimate: mean of {var} − {other}.",
               "Effect size: mean difference / SD of the differences (d_z).", weighting_note(s)),
    )


def _design_paired_ttest(s, var, other, x, y, ok, alternative, confidence):
    """R ``svyttest(I(var - other) ~ 0, design)``: design-based mean difference, t on df - 1."""
    from ..core.design import Design
    from .estimates import _linearize, _subset_degf

    if alternative != "two-sided":
        raise AnalysisError("ttest: design-based tests are two-sided only; found "
                            f"alternative={alternative!r}")
    design = Design.from_survey(s)
    d = np.where(ok, np.nan_to_num(x - y), 0.0)
    lin = _linearize(design, d[:, None], ok, None, 1, "mean")
    md, se = float(lin.est[0, 0]), math.sqrt(max(float(lin.vcov[0, 0]), 0.0))
    df = float(_subset_degf(design, ok) - 1)
    t = md / se if se > 0 else math.nan
    lo, hi = _ci_t(md, se, df, confidence, alternative)
    return GroupTest(
        test="ttest", method="Design-based paired t-test (R svyttest(I(x - y) ~ 0, design)): "
        "weighted mean difference, linearised SE, t on design df - 1", var=var, by=other,
        statistic=float(t), df=df, df_denom=math.nan, p_value=_p_from_t(t, df, alternative),
        estimate=md, ci_low=float(lo), ci_high=float(hi),
        groups=_describe([var, other], [x[ok], y[ok]]), alternative=alternative,
        confidence=confidence,
        notes=(f"Base: {int(ok.sum())} complete pairs.",
               f"Estimate: weighted mean of {var} − {other}.", weighting_note(s)),
    )


def _refuse_design(s, func: str, alternative: str) -> None:
    """Tests without a design-based form refuse a weighted / complex Survey (never unweighted
    in silence)."""
    if s.has_design:
        raise AnalysisError(
            f"{func}: this test has no design-based form, and the Survey has weights or a "
            f"design (it would be analysed unweighted). Hint: use {alternative}; or pass the "
            "plain DataFrame (survey.data) to test the unweighted sample on purpose."
        )


def anova(
    survey,
    var: str,
    by: str,
    *,
    welch: bool = True,
    where=None,
    language: str | None = None,
) -> GroupTest:
    """One-way ANOVA of ``var`` across the groups of ``by``.

    Welch's F by default (R ``oneway.test(var.equal = FALSE)``); ``welch=False`` gives the
    classic F (R ``oneway.test(var.equal = TRUE)`` / ``aov``). Effect sizes eta² (reported)
    and omega² (in the notes and ``groups`` attrs) from the classic sums of squares.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6, 8, 9, 7], "g": list("aaabbbccc")})
    >>> round(anova(df, "y", by="g", welch=False).statistic, 4)
    27.0
    """
    s, samples, names, info, dropped = _groups(survey, var, by, where, language, "anova")
    _need(2, names, by, "anova", exact=False)
    if s.has_design:
        return _design_group_test("anova", s, var, by, where, language, samples, names,
                                  dropped, kind="anova")
    if any(len(x) < 2 for x in samples):
        raise AnalysisError("anova: each group needs at least 2 values; found "
                            + ", ".join(f"{nm} {len(x)}" for nm, x in zip(names, samples)))
    from scipy.stats import f as fdist

    k = len(samples)
    n_i = np.array([len(x) for x in samples], dtype=float)
    m_i = np.array([x.mean() for x in samples])
    v_i = np.array([x.var(ddof=1) for x in samples])
    N = n_i.sum()
    grand = np.concatenate(samples).mean()
    ssb = float((n_i * (m_i - grand) ** 2).sum())
    ssw = float(((n_i - 1) * v_i).sum())
    sst = ssb + ssw
    msw = ssw / (N - k)
    eta2 = ssb / sst if sst > 0 else math.nan
    omega2 = (ssb - (k - 1) * msw) / (sst + msw) if sst > 0 else math.nan
    if welch:
        w = n_i / v_i
        W = w.sum()
        mw = (w * m_i).sum() / W
        tmp = ((1 - w / W) ** 2 / (n_i - 1)).sum() / (k**2 - 1)
        F = ((w * (m_i - mw) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) * tmp)
        df1, df2 = k - 1.0, 1 / (3 * tmp)
        method = "One-way analysis of means, Welch (R oneway.test default)"
    else:
        F = (ssb / (k - 1)) / msw
        df1, df2 = k - 1.0, N - k
        method = "One-way ANOVA, classic F (R oneway.test(var.equal = TRUE) / aov)"
    p = float(fdist.sf(F, df1, df2))
    groups = _describe(names, samples)
    notes = (
        _base_note(samples, names, dropped, s),
        f"Effect sizes from the classic sums of squares: eta² = {eta2:.4f}, omega² = {omega2:.4f}.",
        "Unweighted test; no multiple-comparison correction.",
        weighting_note(s),
    )
    groups.attrs["omega_squared"] = omega2
    return GroupTest(
        test="anova", method=method, var=var, by=by, statistic=float(F), df=float(df1),
        df_denom=float(df2), p_value=p, effect_size=float(eta2), effect_size_name="eta_squared",
        groups=groups, notes=notes,
    )


def mann_whitney(
    survey,
    var: str,
    by: str,
    *,
    correct: bool = True,
    paired: bool = False,
    alternative: str = "two-sided",
    where=None,
    language: str | None = None,
) -> GroupTest:
    """Wilcoxon rank-sum / Mann-Whitney test (R ``wilcox.test(exact = FALSE, correct = TRUE)``).

    The statistic W is the U of the first group (R's W); the normal approximation with tie
    correction and continuity correction. Effect size: rank-biserial r = 2W/(n1 n2) − 1
    (positive when the first group tends to be larger); the estimate is the Hodges-Lehmann
    median of pairwise differences (first − second). With weights or a design the test is
    R's ``svyranktest`` (weighted mid-ranks, design-based t on design df − 1).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "g": list("aaabbb")})
    >>> mann_whitney(df, "y", by="g").statistic
    0.0

    ``paired=True`` runs the Wilcoxon signed-rank test of the numeric columns ``var`` and
    ``by`` row by row (R ``wilcox.test(x, y, paired = TRUE, exact = FALSE)``): V = sum of the
    ranks of the positive differences, zero differences dropped, tie and continuity corrected.
    """
    _check_alt(alternative, "mann_whitney")
    if paired:
        return _signed_rank(survey, var, by, correct, alternative, where)
    from scipy.stats import mannwhitneyu, rankdata

    s, samples, names, info, dropped = _groups(survey, var, by, where, language, "mann_whitney")
    _need(2, names, by, "mann_whitney")
    if s.has_design:
        if alternative != "two-sided":
            raise AnalysisError("mann_whitney: the design-based rank test is two-sided only; "
                                f"found alternative={alternative!r}")
        return _design_group_test("mann_whitney", s, var, by, where, language, samples, names,
                                  dropped, kind="rank")
    x, y = samples
    res = mannwhitneyu(x, y, method="asymptotic", use_continuity=correct,
                       alternative=alternative)
    n1, n2 = len(x), len(y)
    W = float(res.statistic)
    r = 2 * W / (n1 * n2) - 1
    hl = float(np.median(np.subtract.outer(x, y))) if n1 * n2 <= 4_000_000 else math.nan
    ranks = rankdata(np.concatenate([x, y]))
    groups = _describe(names, samples, ranks=[ranks[:n1], ranks[n1:]])
    return GroupTest(
        test="mann_whitney",
        method="Wilcoxon rank sum test" + (" with continuity correction" if correct else "")
        + " (R wilcox.test(exact = FALSE))",
        var=var, by=by, statistic=W, df=math.nan, df_denom=math.nan, p_value=float(res.pvalue),
        estimate=hl, effect_size=float(r), effect_size_name="rank_biserial", groups=groups,
        alternative=alternative,
        notes=(_base_note(samples, names, dropped, s),
               f"W = U of {names[0]}; normal approximation with tie correction; alternative "
               f"{alternative}.",
               "Estimate: Hodges-Lehmann median of pairwise differences (no CI).",
               weighting_note(s))
    )


def _signed_rank(survey, var, other, correct, alternative, where):
    from scipy.stats import norm, rankdata

    s = prepare(survey)
    _refuse_design(s, "mann_whitney(paired=True)", "the design-based paired t-test "
                   "sv.ttest(s, var, other, paired=True) (R svyttest on the difference)")
    mask = where_mask(s, where, func="mann_whitney")
    x, y = numeric(s, var, func="mann_whitney"), numeric(s, other, func="mann_whitney")
    ok = ~np.isnan(x) & ~np.isnan(y)
    if mask is not None:
        ok &= mask
    d = x[ok] - y[ok]
    zeros = int((d == 0).sum())
    d = d[d != 0]
    n = len(d)
    if n < 1:
        raise AnalysisError("mann_whitney: no non-zero paired differences")
    r = rankdata(np.abs(d))
    v = float(r[d > 0].sum())
    _, ties = np.unique(np.abs(d), return_counts=True)
    z = v - n * (n + 1) / 4
    sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - (ties**3 - ties).sum() / 48)
    if alternative == "two-sided":
        corr = 0.5 * np.sign(z) if correct else 0.0
        zz = (z - corr) / sigma
        p = float(2 * min(norm.cdf(zz), norm.sf(zz)))
    elif alternative == "greater":
        zz = (z - (0.5 if correct else 0.0)) / sigma
        p = float(norm.sf(zz))
    else:
        zz = (z + (0.5 if correct else 0.0)) / sigma
        p = float(norm.cdf(zz))
    groups = _describe([var, other], [x[ok], y[ok]])
    return GroupTest(
        test="mann_whitney",
        method="Wilcoxon signed rank test" + (" with continuity correction" if correct else "")
        + " (R wilcox.test(paired = TRUE, exact = FALSE))",
        var=var, by=other, statistic=v, df=math.nan, df_denom=math.nan, p_value=p,
        estimate=float(np.median(d)), effect_size=float(zz / math.sqrt(n)),
        effect_size_name="r (z / sqrt(n))", groups=groups, alternative=alternative,
        notes=(f"Base: {int(ok.sum())} complete pairs; {zeros} zero differences dropped.",
               f"V = sum of the ranks of positive differences ({var} − {other}); normal "
               "approximation with tie correction.", weighting_note(s)),
    )


def kruskal(survey, var: str, by: str, *, where=None, language: str | None = None) -> GroupTest:
    """Kruskal-Wallis rank-sum test (R ``kruskal.test``), tie-corrected; with weights or a
    design, R ``svyranktest(test = "KruskalWallis")`` (two groups: the Wilcoxon form).

    Effect size: epsilon² = H / (n − 1); eta²_H = (H − k + 1)/(n − k) is in the notes.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6, 8, 9, 7], "g": list("aaabbbccc")})
    >>> round(kruskal(df, "y", by="g").statistic, 4)
    7.2
    """
    from scipy.stats import kruskal as _kw
    from scipy.stats import rankdata

    s, samples, names, info, dropped = _groups(survey, var, by, where, language, "kruskal")
    _need(2, names, by, "kruskal", exact=False)
    if s.has_design:
        return _design_group_test("kruskal", s, var, by, where, language, samples, names,
                                  dropped, kind="rank")
    res = _kw(*samples)
    n = sum(len(x) for x in samples)
    k = len(samples)
    H = float(res.statistic)
    ranks = rankdata(np.concatenate(samples))
    cuts = np.cumsum([len(x) for x in samples])[:-1]
    groups = _describe(names, samples, ranks=np.split(ranks, cuts))
    eta = (H - k + 1) / (n - k) if n > k else math.nan
    return GroupTest(
        test="kruskal", method="Kruskal-Wallis rank sum test (R kruskal.test)", var=var, by=by,
        statistic=H, df=float(k - 1), df_denom=math.nan, p_value=float(res.pvalue),
        effect_size=H / (n - 1), effect_size_name="epsilon_squared", groups=groups,
        notes=(_base_note(samples, names, dropped, s), f"eta²_H = {eta:.4f}.",
               weighting_note(s)),
    )


def prop_test(
    survey,
    var: str,
    by: str,
    *,
    success: str | None = None,
    correct: bool = True,
    confidence: float = 0.95,
    where=None,
    language: str | None = None,
) -> GroupTest:
    """Compare the share of ``success`` in ``var`` between the two groups of ``by`` (R ``prop.test``).

    ``success`` defaults to the second category of a two-category ``var`` (R's convention for
    a binary response). X-squared is the pooled chi-square (Yates-corrected when
    ``correct=True``); the CI of p1 − p2 uses the unpooled SE plus the continuity correction,
    exactly as R. Effect size: Cohen's h. With weights or a design the test is design-based:
    R ``svyttest(I(var == success) ~ by, design)`` (estimate second − first group).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": pd.Categorical(["yes"] * 12 + ["no"] * 13 + ["yes"] * 24 + ["no"] * 9),
    ...                    "g": ["H"] * 25 + ["M"] * 33})
    >>> r = prop_test(df, "a", by="g")  # R: prop.test(c(12, 24), c(25, 33))
    >>> round(r.statistic, 6), round(r.p_value, 6)
    (2.718473, 0.099193)
    """
    _check_conf(confidence, "prop_test")
    from scipy.stats import chi2, norm

    s = prepare(survey)
    mask = where_mask(s, where, func="prop_test")
    a, ainfo = single(s, var, language=language, mask=mask, func="prop_test")
    g, ginfo = single(s, by, language=language, mask=mask, func="prop_test")
    cats = list(ainfo.categories)
    if success is None:
        if len(cats) != 2:
            raise AnalysisError(
                f"prop_test: '{var}' has {len(cats)} categories; say which one is the success "
                f"with success=, one of {cats}"
            )
        k_succ = 1
    else:
        choices = {c: i for i, c in enumerate(cats)} | {c: i for i, c in enumerate(ainfo.codes)}
        if success not in choices:
            raise AnalysisError(f"prop_test: success={success!r} is not a category of '{var}'; "
                                f"expected one of {cats}")
        k_succ = choices[success]
    ok = (a >= 0) & (g >= 0)
    kg = len(ginfo.categories)
    nn = np.bincount(g[ok], minlength=kg).astype(float)
    xx = np.bincount(g[ok & (a == k_succ)], minlength=kg).astype(float)
    present = np.flatnonzero(nn > 0)
    names = [ginfo.categories[i] for i in present]
    _need(2, names, by, "prop_test")
    x, n = xx[present], nn[present]
    if s.has_design:
        return _design_prop_test(s, var, by, a, g, k_succ, present, names, cats, confidence)
    est = x / n
    delta = est[0] - est[1]
    yates = 0.5 if correct else 0.0
    yates = min(yates, abs(delta) / (1 / n).sum())
    z = norm.ppf((1 + confidence) / 2)
    width = z * math.sqrt((est * (1 - est) / n).sum()) + yates * (1 / n).sum()
    lo, hi = max(delta - width, -1.0), min(delta + width, 1.0)
    pp = x.sum() / n.sum()
    obs = np.column_stack([x, n - x])
    exp = np.column_stack([n * pp, n * (1 - pp)])
    stat = float(((np.abs(obs - exp) - yates) ** 2 / exp).sum())
    pval = float(chi2.sf(stat, 1))
    h = 2 * math.asin(math.sqrt(est[0])) - 2 * math.asin(math.sqrt(est[1]))
    groups = pd.DataFrame({"group": names, "n": n.astype(int), "successes": x.astype(int),
                           "proportion": est})
    return GroupTest(
        test="prop_test",
        method="2-sample test for equality of proportions "
        + ("with" if correct else "without") + " continuity correction (R prop.test)",
        var=var, by=by, statistic=stat, df=1.0, df_denom=math.nan, p_value=pval,
        estimate=float(delta), ci_low=lo, ci_high=hi, effect_size=h, effect_size_name="cohens_h",
        groups=groups, confidence=confidence,
        notes=(f"Base: {int(n.sum())} respondents ({names[0]} {int(n[0])}, {names[1]} {int(n[1])}).",
               f"Success = '{cats[k_succ]}'; estimate = p({names[0]}) − p({names[1]}); CI with "
               "the unpooled SE" + (" and continuity correction" if correct else "") + ".",
               weighting_note(s)),
    )


def _design_prop_test(s, var, by, a, g, k_succ, present, names, cats, confidence):
    """Two weighted proportions: R ``svyttest(I(var == success) ~ by, design)``."""
    from ..core.design import Design
    from ._design_group_tests import design_two_group

    design = Design.from_survey(s)
    use = (a >= 0) & np.isin(g, present)
    dense = np.where(g == present[0], 0, np.where(g == present[1], 1, -1))
    y = (a == k_succ).astype(float)
    r = design_two_group(design, y, dense, use, confidence)
    p0, p1 = r["means"]
    n = np.array([int((use & (dense == j)).sum()) for j in (0, 1)])
    groups = pd.DataFrame({"group": names, "n": n, "proportion": [p0, p1]})
    return GroupTest(
        test="prop_test",
        method="Design-based test of two proportions (R svyttest(I(var == success) ~ by, "
        "design)): difference of weighted shares, t on design df - 1",
        var=var, by=by, statistic=float(r["statistic"]), df=float(r["df"]), df_denom=math.nan,
        p_value=float(r["p_value"]), estimate=float(r["estimate"]), ci_low=float(r["ci_low"]),
        ci_high=float(r["ci_high"]),
        effect_size=2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0)),
        effect_size_name="cohens_h", groups=groups, confidence=confidence,
        notes=(f"Base: {int(n.sum())} respondents ({names[0]} {n[0]}, {names[1]} {n[1]}).",
               f"Success = '{cats[k_succ]}'; estimate = p({names[1]}) − p({names[0]}) (R "
               "svyttest convention), weighted, with a design-based (linearised) SE.",
               weighting_note(s)),
    )


# --- post hoc -------------------------------------------------------------------------------


def _pairs(k):
    return [(i, j) for i in range(k - 1) for j in range(i + 1, k)]


def tukey_hsd(survey, var: str, by: str, *, confidence: float = 0.95, where=None,
              language: str | None = None) -> PostHoc:
    """Tukey's honest significant differences (R ``TukeyHSD(aov(var ~ by))``).

    One row per pair (group1, group2) with ``diff`` = mean(group2) − mean(group1) as R,
    the studentized-range p-value and simultaneous CI.
    """
    from scipy.stats import studentized_range

    s, samples, names, info, dropped = _groups(survey, var, by, where, language, "tukey_hsd")
    _refuse_design(s, "tukey_hsd", "pairwise design-based t-tests: sv.ttest(s, var, by, "
                   "where=s.data[by].isin([a, b])) for each pair, then sv.adjust_pvalues")
    _need(2, names, by, "tukey_hsd", exact=False)
    k = len(samples)
    n_i = np.array([len(x) for x in samples], float)
    m_i = np.array([x.mean() for x in samples])
    df = n_i.sum() - k
    mse = sum(((x - x.mean()) ** 2).sum() for x in samples) / df
    qcrit = studentized_range.ppf(confidence, k, df)
    rows = []
    for i, j in _pairs(k):
        d = m_i[j] - m_i[i]
        se = math.sqrt(mse / 2 * (1 / n_i[i] + 1 / n_i[j]))
        q = abs(d) / se
        rows.append({"group1": names[i], "group2": names[j], "diff": d, "se": se,
                     "statistic": q, "df": df, "p_value": float(studentized_range.sf(q, k, df)),
                     "ci_low": d - qcrit * se, "ci_high": d + qcrit * se})
    return PostHoc(test="tukey_hsd", method="Tukey HSD (R TukeyHSD)", var=var, by=by,
                   table=pd.DataFrame(rows), groups=_describe(names, samples),
                   notes=(_base_note(samples, names, dropped, s),
                          "diff = mean(group2) − mean(group1); statistic = studentized range q; "
                          f"{confidence:.0%} family-wise CI.", weighting_note(s)))


def games_howell(survey, var: str, by: str, *, confidence: float = 0.95, where=None,
                 language: str | None = None) -> PostHoc:
    """Games-Howell pairwise comparisons (unequal variances; Welch df, studentized range).

    q = |mean2 − mean1| / sqrt((v1/n1 + v2/n2)/2), p from the studentized range with k groups
    and the Welch df of the pair.
    """
    from scipy.stats import studentized_range

    s, samples, names, info, dropped = _groups(survey, var, by, where, language, "games_howell")
    _refuse_design(s, "games_howell", "pairwise design-based t-tests: sv.ttest(s, var, by, "
                   "where=s.data[by].isin([a, b])) for each pair, then sv.adjust_pvalues")
    _need(2, names, by, "games_howell", exact=False)
    k = len(samples)
    rows = []
    for i, j in _pairs(k):
        x, y = samples[i], samples[j]
        a, b = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
        d = y.mean() - x.mean()
        se = math.sqrt((a + b) / 2)
        df = (a + b) ** 2 / (a**2 / (len(x) - 1) + b**2 / (len(y) - 1))
        q = abs(d) / se
        qc = studentized_range.ppf(confidence, k, df)
        rows.append({"group1": names[i], "group2": names[j], "diff": d, "se": se,
                     "statistic": q, "df": df, "p_value": float(studentized_range.sf(q, k, df)),
                     "ci_low": d - qc * se, "ci_high": d + qc * se})
    return PostHoc(test="games_howell", method="Games-Howell pairwise comparisons", var=var,
                   by=by, table=pd.DataFrame(rows), groups=_describe(names, samples),
                   notes=(_base_note(samples, names, dropped, s),
                          "diff = mean(group2) − mean(group1); Welch df per pair.",
                          weighting_note(s)))


def dunn(survey, var: str, by: str, *, adjust: str = "holm", where=None,
         language: str | None = None) -> PostHoc:
    """Dunn's pairwise rank test after Kruskal-Wallis, tie-corrected, p adjusted (R names).

    z = (mean rank1 − mean rank2) / sqrt((N(N+1)/12 − Σ(t³−t)/(12(N−1))) (1/n1 + 1/n2)).
    """
    from scipy.stats import norm, rankdata

    s, samples, names, info, dropped = _groups(survey, var, by, where, language, "dunn")
    _refuse_design(s, "dunn", "pairwise design-based rank tests: sv.mann_whitney(s, var, by, "
                   "where=s.data[by].isin([a, b])) for each pair, then sv.adjust_pvalues")
    _need(2, names, by, "dunn", exact=False)
    allv = np.concatenate(samples)
    ranks = rankdata(allv)
    N = len(allv)
    _, tcounts = np.unique(allv, return_counts=True)
    s2 = N * (N + 1) / 12 - (tcounts**3 - tcounts).sum() / (12 * (N - 1))
    cuts = np.cumsum([len(x) for x in samples])[:-1]
    rk = np.split(ranks, cuts)
    rows = []
    for i, j in _pairs(len(samples)):
        z = (rk[i].mean() - rk[j].mean()) / math.sqrt(s2 * (1 / len(rk[i]) + 1 / len(rk[j])))
        rows.append({"group1": names[i], "group2": names[j], "diff": rk[i].mean() - rk[j].mean(),
                     "statistic": z, "p_unadjusted": float(2 * norm.sf(abs(z)))})
    table = pd.DataFrame(rows)
    table["p_value"] = adjust_pvalues(table["p_unadjusted"].to_numpy(), method=adjust)
    return PostHoc(test="dunn", method=f"Dunn's test ({adjust} adjustment)", var=var, by=by,
                   table=table, groups=_describe(names, samples, ranks=rk),
                   notes=(_base_note(samples, names, dropped, s),
                          "diff = mean rank(group1) − mean rank(group2); two-sided; "
                          f"p-values adjusted by {adjust} (R p.adjust).", weighting_note(s)))
