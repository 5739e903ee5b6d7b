"""Design-based tests: Rao-Scott / Wald tests of association (R ``svychisq``) and the
design-based two-group t-test (R ``svyttest``).

Used by the cross-tabulation and the t-test when a `Survey` has weights or a design; both
take integer codes (``-1`` = missing: the row is left out with weight 0, the design is kept,
as R's ``na.rm=TRUE``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..core.design import Design
from ..core.survey import Survey, as_survey, category_codes
from ..errors import AnalysisError
from ._common import solve_r

__all__ = ["rao_scott_tests", "design_ttest", "cell_vcov"]


def cell_vcov(design: Design, cell: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted totals of the K cells (codes ``cell``, -1 = left out) and their covariance."""
    return design.cell_totals_vcov(cell, K)


def rao_scott_tests(survey: Survey, row_codes: np.ndarray, col_codes: np.ndarray,
                    n_rows: int, n_cols: int, *, combined: np.ndarray | None = None,
                    full_table: np.ndarray | None = None,
                    full_weighted: np.ndarray | None = None,
                    domain: np.ndarray | None = None,
                    keep: dict | None = None) -> pd.DataFrame:
    """Design-based tests of independence for an r x c table, as R ``svychisq``.

    Returns a DataFrame indexed by test name with columns ``statistic, df, df_denom, p_value``:

    * ``rao_scott_f`` - second-order Rao-Scott (R ``statistic="F"``, the default): Pearson X^2
      on the weighted table rescaled to n, F = X^2 / trace(Delta) on ndf = trace(Delta)^2 /
      trace(Delta^2) and ddf = ndf * nu (nu = #PSU - #strata);
    * ``rao_scott_chisq`` - first order (R ``statistic="Chisq"``): the statistic is the
      unadjusted X^2 (as R prints it); the p-value is from X^2 / mean(delta) on (r-1)(c-1) df;
    * ``wald`` - W / d on (d, nu); ``adj_wald`` - W (nu - d + 1) / (d nu) on (d, nu - d + 1),
      d = (r-1)(c-1).

    Categories that never occur are dropped first (R uses the levels present in the data).
    ``combined`` ((row + 1) * (n_cols + 1) + col + 1, one code per row including the
    missing levels), ``full_table`` and ``full_weighted`` (its unweighted and weighted
    (n_rows + 1) x (n_cols + 1) counts) may be passed by a caller that has them; they are
    computed otherwise. ``domain`` (bool per row) is a ``where=`` filter with R's subset()
    semantics: the Pearson X^2 is rescaled to the domain's rows (all rows of a calibrated
    design, which R keeps) and nu is the domain's #PSU - #strata. The covariance of all cells comes from one call of
    `Design.cell_totals_vcov` (bincounts over the combined codes), and the cells with a
    missing value are then left out of it (rows keep their place in the design).
    """
    s = as_survey(survey)
    design = Design.from_survey(s)
    n_all = len(design.weights)
    if combined is None:
        rc = np.asarray(row_codes, dtype=np.int64)
        cc = np.asarray(col_codes, dtype=np.int64)
        if len(rc) != n_all or len(cc) != n_all:
            raise AnalysisError("row and column codes must have one entry per row of the survey")
        combined = (rc + 1) * (n_cols + 1) + (cc + 1)
    Kf = (n_rows + 1) * (n_cols + 1)
    if full_table is None:
        full_table = np.bincount(combined, minlength=Kf).reshape(n_rows + 1, n_cols + 1)
    Tr = None
    if design.replicate is not None:  # replicate cell totals once: cell vcov and proportions
        tot_full, Tr, norms = design.replicate.cell_totals_norms(design.weights, combined, Kf)
        V_full = design.replicate.var(Tr, tot_full)
        if keep is not None:  # reused by CrossTab.cell_estimates (shares, SEs and dfs)
            keep["replicate_totals"] = (tot_full, Tr)
            keep["replicate_norms"] = norms
    else:
        tot_full, V_full = design.cell_totals_vcov(
            combined, Kf, totals=None if full_weighted is None else np.ravel(full_weighted),
            keep=keep)  # keep: the PSU x cell totals, reused by CrossTab.cell_estimates
    N = n_all  # R: nrow(model matrix), every row of the design
    nu = design.degf if design.replicate is not None else design.n_psu - design.n_strata
    if domain is not None:  # R svychisq(subset(design, ...)): the domain's rows and df
        from .estimates import _subset_degf

        domain = np.asarray(domain, dtype=bool)
        if not design.calibration:
            N = int(domain.sum())
        nu = _subset_degf(design, domain)
    replicate_vcov = None
    if design.replicate is not None:

        def replicate_vcov(idx, p):
            with np.errstate(divide="ignore", invalid="ignore"):
                pr = Tr[:, idx] / Tr[:, idx].sum(1, keepdims=True)
            return design.replicate.var(pr, p)

    return rao_scott_from_cells(full_table, tot_full, V_full, N, nu, n_rows, n_cols,
                                replicate_vcov)


def rao_scott_from_cells(full_table: np.ndarray, tot_full: np.ndarray, V_full: np.ndarray,
                         N: int, nu: float, n_rows: int, n_cols: int,
                         replicate_vcov=None) -> pd.DataFrame:
    """`rao_scott_tests` from the (n_rows + 1) x (n_cols + 1) unweighted table (first row and
    column: missing), the weighted totals of its cells and their covariance; ``N`` rows in
    the design, ``nu`` its df; ``replicate_vcov(idx, p)`` gives the covariance of the cell
    proportions of a replicate-weight design. Shared by the in-memory and the Dask paths."""
    from scipy.stats import chi2
    from scipy.stats import f as fdist

    # levels present in the data (each variable on its own, as R's unique())
    rpres = np.flatnonzero(full_table[1:].sum(axis=1) > 0)
    cpres = np.flatnonzero(full_table[:, 1:].sum(axis=0) > 0)
    nr, nc = len(rpres), len(cpres)
    names = ["rao_scott_f", "rao_scott_chisq", "rao_scott_saddlepoint", "wald", "adj_wald"]
    empty = pd.DataFrame(
        {"statistic": np.nan, "df": np.nan, "df_denom": np.nan, "p_value": np.nan},
        index=pd.Index(names, name="test"),
    )
    if nr < 2 or nc < 2:
        return empty
    K = nr * nc
    # the table's cells, rows varying fastest (R interaction order)
    idx = ((rpres[None, :] + 1) * (n_cols + 1) + (cpres[:, None] + 1)).ravel()
    totals = tot_full[idx]
    Vt = V_full[np.ix_(idx, idx)]
    W = totals.sum()
    if W <= 0:
        return empty
    p = totals / W
    if replicate_vcov is not None:  # R svychisq.svyrep.design: replicate proportions
        V = replicate_vcov(idx, p)
    else:  # covariance of the cell proportions (svymean linearisation)
        J = (np.eye(K) - p[:, None]) / W
        V = J @ Vt @ J.T
    # Pearson X^2 on the table rescaled to N
    tab = (p * N).reshape(nc, nr).T
    E = np.outer(tab.sum(1), tab.sum(0)) / N
    with np.errstate(divide="ignore", invalid="ignore"):
        X2 = float(np.nansum((tab - E) ** 2 / E))
    # design effect matrix Delta
    grid_r = np.tile(np.arange(nr), nc)
    grid_c = np.repeat(np.arange(nc), nr)
    X1 = np.column_stack([np.ones(K)] + [(grid_r == i).astype(float) for i in range(1, nr)]
                         + [(grid_c == j).astype(float) for j in range(1, nc)])
    X12i = np.column_stack([((grid_r == i) & (grid_c == j)).astype(float)
                            for j in range(1, nc) for i in range(1, nr)])
    coef, *_ = np.linalg.lstsq(X1, X12i, rcond=None)
    C = X12i - X1 @ coef
    iD = np.diag(np.where(p == 0, 0.0, 1 / np.where(p == 0, 1, p)))
    denom = C.T @ (iD / N) @ C
    numr = C.T @ iD @ V @ iD @ C
    Delta = np.linalg.solve(denom, numr)
    tr = float(np.trace(Delta))
    tr2 = float(np.trace(Delta @ Delta))
    d0 = tr**2 / tr2 if tr2 > 0 else math.nan
    d = (nr - 1) * (nc - 1)
    F = X2 / tr if tr > 0 else math.nan
    rows = {}
    rows["rao_scott_f"] = (F, d0, d0 * nu, _sf(fdist, F, d0, d0 * nu))
    mean_delta = tr / Delta.shape[0]
    rows["rao_scott_chisq"] = (X2, float(d), math.nan,
                               float(chi2.sf(X2 / mean_delta, d)) if mean_delta > 0 else math.nan)
    rows["rao_scott_saddlepoint"] = (X2, math.nan, math.nan,
                                     saddlepoint_p(X2, np.linalg.eigvals(Delta).real, d0 * nu))
    # Wald tests on the interaction contrasts of the cell totals
    Rm = np.zeros((K, nr))
    Rm[np.arange(K), grid_r] = 1
    Cm = np.zeros((K, nc))
    Cm[np.arange(K), grid_c] = 1
    M = np.column_stack([np.eye(K), Rm, Cm, np.ones(K)])  # cells, rows, cols, one
    allt = totals @ M
    Vall = M.T @ Vt @ M
    rowt, colt, Nh = allt[K:K + nr], allt[K + nr:K + nr + nc], allt[-1]
    Jcb = np.column_stack([
        np.eye(K),
        -Rm * (colt[grid_c] / Nh)[:, None],
        -Cm * (rowt[grid_r] / Nh)[:, None],
        rowt[grid_r] * colt[grid_c] / Nh**2,
    ])
    Y = totals - rowt[grid_r] * colt[grid_c] / Nh
    VW = Jcb @ Vall @ Jcb.T
    use = (grid_r > 0) & (grid_c > 0)
    try:
        Wst = float(Y[use] @ solve_r(VW[np.ix_(use, use)], Y[use]))
    except np.linalg.LinAlgError:
        Wst = math.nan
    rows["wald"] = (Wst / d, float(d), float(nu), _sf(fdist, Wst / d, d, nu))
    ddf = nu - d + 1
    adj = Wst * ddf / (d * nu) if nu > 0 else math.nan
    rows["adj_wald"] = (adj, float(d), float(ddf), _sf(fdist, adj, d, ddf))
    out = pd.DataFrame.from_dict(rows, orient="index",
                                 columns=["statistic", "df", "df_denom", "p_value"])
    out.index.name = "test"
    return out


def _saddle(x: float, lam: np.ndarray, mult: np.ndarray | None = None) -> float:
    """R survey's ``saddle``: saddlepoint upper tail of sum(lambda_i chi2_1) at x (NaN where R
    gives NA). ``mult``: how many times each ``lam`` occurs (R repeats the -X2/ddf weight
    ddf times, ~10^5-10^6 copies for a clustered design; every sum below is then one term
    per distinct value times its multiplicity)."""
    from scipy.stats import norm

    from ._intervals import zeroin

    m = np.ones(len(lam)) if mult is None else np.asarray(mult, dtype=float)
    dmax = lam.max()
    lam = lam / dmax
    x = x / dmax

    def k0(z):
        return -(m * np.log(1 - 2 * z * lam)).sum() / 2

    def k1(z):
        return float((m * lam / (1 - 2 * z * lam)).sum())

    def k2(z):
        return float(2 * (m * lam**2 / (1 - 2 * z * lam) ** 2).sum())

    if (lam < 0).any():
        lmin = (1 / (2 * lam[lam < 0])).max() * 0.99999
    elif x > (m * lam).sum():
        lmin = -0.01
    else:
        lmin = -m.sum() / (2 * x)
    lmax = (1 / (2 * lam[lam > 0])).min() * 0.99999
    z = zeroin(lambda t: k1(t) - x, lmin, lmax, tol=1e-8)
    if abs(z) < 1e-4:
        return math.nan
    w = math.copysign(math.sqrt(2 * (z * x - k0(z))), z)
    v = z * math.sqrt(k2(z))
    return float(norm.sf(w + math.log(v / w) / w))


def saddlepoint_p(x2: float, delta_eigen: np.ndarray, ddf: float) -> float:
    """R ``svychisq(statistic = "saddlepoint")``: ``pFsum(X2, 1, eigen(Delta), ddf = d0 nu,
    method = "saddlepoint", lower.tail = FALSE)`` - the saddlepoint tail of
    sum(delta_i chi2_1) - X2/ddf chi2_ddf at 0 (its ddf copies truncated as R's ``rep``), the
    Satterthwaite F where the saddlepoint is undefined."""
    from scipy.stats import f as fdist

    a = np.asarray(delta_eigen, dtype=float)
    if not (np.isfinite(x2) and np.isfinite(ddf) and len(a) and (a > 0).any()):
        return math.nan
    tr = a.mean()
    tr2 = (a**2).mean() / tr**2
    ndf = len(a) / tr2
    rval = float(fdist.sf(x2 / ndf / (tr * tr2), ndf, ddf))
    reps = int(ddf)  # R: rep(-X2/ddf, ddf), carried as one value with its multiplicity
    lam = np.concatenate([a, [-x2 / ddf]]) if reps else a
    mult = np.concatenate([np.ones(len(a)), [reps]]) if reps else None
    try:
        s = _saddle(0.0, lam, mult)
    except (AnalysisError, ValueError, ZeroDivisionError, FloatingPointError):
        s = math.nan
    return rval if not np.isfinite(s) else s


def _sf(dist, x, d1, d2) -> float:
    if not (np.isfinite(x) and np.isfinite(d1) and np.isfinite(d2)) or d1 <= 0 or d2 <= 0:
        return math.nan
    return float(dist.sf(x, d1, d2))


def design_ttest(survey: Survey | pd.DataFrame, var: str, by: str, *, confidence: float = 0.95,
                 language: str | None = None) -> dict:
    """Design-based two-group t-test (R ``svyttest(var ~ by, design)``).

    The estimate is the difference of domain means, second group minus first (R's
    ``svyglm`` coefficient of the group); its SE is the linearised SE of that difference,
    df = design df - 1 (R: ``degf + 1 - p`` with p = 2), Student t for the p-value and the
    confidence interval.

    Returns a dict with ``statistic, df, p_value, estimate, se, ci_low, ci_high, groups,
    means`` and ``method``.
    """
    from scipy.stats import t as tdist

    from .estimates import _linearize, _numeric, _subset_degf

    s = as_survey(survey)
    design = Design.from_survey(s)
    y = _numeric(s, var)
    codes, info = category_codes(s, by, language=language)
    labels = list(info.categories)
    present = [k for k in range(len(labels)) if ((codes == k) & ~np.isnan(y)).any()]
    if len(present) != 2:
        found = [labels[k] for k in present]
        raise AnalysisError(
            f"a design-based t-test needs exactly two groups in '{by}'; found {len(present)}"
            f" with data ({', '.join(map(str, found))}). Hint: use anova for more groups or "
            "filter the survey first."
        )
    g = np.where(codes == present[0], 0, np.where(codes == present[1], 1, -1))
    valid = ~np.isnan(y) & (g >= 0)
    lin = _linearize(design, np.nan_to_num(y)[:, None], valid, g, 2, "mean")
    diff = float(lin.est[1, 0] - lin.est[0, 0])
    a = np.array([-1.0, 1.0])
    se = float(math.sqrt(max(a @ lin.vcov @ a, 0.0)))
    df = float(_subset_degf(design, valid) - 1)
    stat = diff / se if se > 0 else math.nan
    p = float(2 * tdist.sf(abs(stat), df)) if df > 0 and np.isfinite(stat) else math.nan
    q = float(tdist.ppf(0.5 + confidence / 2, df)) if df > 0 else math.nan
    return {
        "statistic": stat, "df": df, "p_value": p, "estimate": diff, "se": se,
        "ci_low": diff - q * se, "ci_high": diff + q * se,
        "groups": (labels[present[0]], labels[present[1]]),
        "means": (float(lin.est[0, 0]), float(lin.est[1, 0])),
        "method": "Design-based t-test (R survey::svyttest): difference of domain means "
                  f"({labels[present[1]]} - {labels[present[0]]}), linearised SE, "
                  "t with design df - 1",
    }
