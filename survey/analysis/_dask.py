"""mean / total / proportions / crosstab of a `DaskSurvey` from per-partition statistics.

Two passes over the partitions (never collecting rows): the first gives the weighted sums
per domain and category (estimates, deff), the second the totals of the linearised scores
per PSU (or, rows as units, their centred cross-products per stratum), from which
`score_vcov` gives the covariance exactly as `Design` does in memory. The results are the
in-memory result objects, built by the same code (`_moment_result`, `_proportions_result`,
`crosstab_from_tables`, `rao_scott_from_cells`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.distributed import (
    DaskSurvey,
    _chan,
    categories,
    codes_of,
    gram_degf,
    map_reduce,
    replicate_totals,
    score_vcov,
)
from ..core.survey import VarInfo
from ..errors import AnalysisError


def _refuse(func: str, **options) -> None:
    for name, value in options.items():
        if value is not None:
            raise AnalysisError(f"{func}: {name}= is not supported on a Dask-backed Survey "
                                "(yet). Hint: see docs/scale.md for what runs on Dask.")


def _numeric(part: pd.DataFrame, var: str) -> np.ndarray:
    s = part[var]
    if isinstance(s.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise AnalysisError(f"variable '{var}' is not numeric (dtype {s.dtype}); expected "
                            "numbers. Hint: use sv.proportions() for a categorical question.")
    return pd.to_numeric(s, errors="coerce").astype("Float64").to_numpy(dtype=float,
                                                                       na_value=np.nan)


def _domain_codes(ds: DaskSurvey, by: str | None):
    if by is None:
        return [None], 1, lambda part: np.zeros(len(part), dtype=np.int64)
    labels = categories(ds, by)
    return list(labels), len(labels), lambda part: codes_of(part[by], labels)


def _check_design_columns(ds: DaskSurvey, part: pd.DataFrame, w: np.ndarray) -> None:
    for col in (ds.design.strata, *ds.design.psu, *ds.design.fpc):
        if col is not None and part[col].isna().any():
            raise AnalysisError(f"design column '{col}' has a missing value; every row needs "
                                "one. Hint: fill it or drop the row before building the design.")
    if not np.isfinite(w).all():
        raise AnalysisError(f"weight column '{ds.weight_column}' has a missing or non-finite value")


def moment(kind: str, ds: DaskSurvey, var: str, *, by, confidence, na_rm, language, where,
           df):
    from .estimates import _check_confidence, _df_option, _Lin, _moment_result

    _check_confidence(confidence)
    _refuse(kind, where=where)
    df_opt = _df_option(df, kind)
    labels, D, dcode = _domain_codes(ds, by)
    cols = [var, by]

    def pass1(part):
        y = _numeric(part, var)
        w = ds.part_weights(part)
        _check_design_columns(ds, part, w)
        d = dcode(part)
        ok = ~np.isnan(y) & (d >= 0)
        out = []
        for j in range(D):
            r = ok & (d == j)
            wj, yj = w[r], y[r]
            W = float(wj.sum())
            S = float(wj @ yj)
            m = S / W if W else 0.0
            M2 = float(wj @ (yj - m) ** 2)
            out.append((W, S, M2, float(np.count_nonzero(wj)), float(r.sum())))
        return out, int(np.isnan(y).sum())

    def combine(results):
        W, S, M2, nobs, n = (np.zeros(D) for _ in range(5))
        for j in range(D):
            parts = [(r[0][j][0], np.array([r[0][j][1] / r[0][j][0] if r[0][j][0] else 0.0]),
                      np.array([[r[0][j][2]]])) for r in results]
            tot, _, M = _chan(parts)
            W[j] = tot
            S[j] = sum(r[0][j][1] for r in results)
            M2[j] = M[0, 0] if M is not None else 0.0
            nobs[j] = sum(r[0][j][3] for r in results)
            n[j] = sum(r[0][j][4] for r in results)
        return W, S, M2, nobs, n, sum(r[1] for r in results)

    W, S, M2, nobs, ns, missing = map_reduce(ds, pass1, combine, cols + _dcols(ds))
    with np.errstate(divide="ignore", invalid="ignore"):
        means = S / W
        s2 = (M2 / W * nobs / (nobs - 1))[:, None]
    WD = np.where(W > 0, W, 1.0) if kind == "mean" else np.ones(D)
    mz = np.nan_to_num(means)

    def score(part):
        y = _numeric(part, var)
        w = ds.part_weights(part)
        d = dcode(part)
        col = np.where(~np.isnan(y) & (d >= 0), d, -1)
        dj = np.maximum(col, 0)
        yy = np.nan_to_num(y)
        val = (w * (yy - mz[dj]) if kind == "mean" else w * yy) / WD[dj]
        return col, val

    def domain(part):
        y = _numeric(part, var)
        d = dcode(part)
        return np.where(np.isnan(y), -1, d)

    est = (means if kind == "mean" else S)[:, None]
    if ds.design.replicates is not None:
        V, dfs, whole = _replicate_moment(ds, kind, var, dcode, D, cols, est[:, 0])
    else:
        V, dfs, whole = score_vcov(ds, score, D, cols, domain, D, whole="nonzero")
    if by is not None:  # R confint(svyby(...), df = degf(design)): the design's one df
        dfs = np.full(D, float(whole))
    lin = _Lin(est, V, W, nobs, s2)
    return _moment_result(kind, var, by, labels, lin, dfs, ns, missing=missing, na_rm=na_rm,
                          confidence=confidence, df_opt=df_opt, context=[_summary(ds)])


def _replicate_moment(ds: DaskSurvey, kind: str, var: str, dcode, D: int, cols, est):
    """Replicate designs: each replicate's mean (ratio of its totals) or total per domain,
    combined by R ``svrVar``; df per domain from the rank of the domain's replicate weights
    (as `_replicate_linearize` and `_domain_degf` in memory), and of all the rows'."""
    def cell(part):
        y = _numeric(part, var)
        d = dcode(part)
        return np.where(~np.isnan(y) & (d >= 0), d, -1)

    def values(part):
        y = np.nan_to_num(_numeric(part, var))
        return np.column_stack([np.ones(len(y)), y])

    _, Tr, G = replicate_totals(ds, cell, D, cols, values=values, domain=cell, D=D)
    with np.errstate(divide="ignore", invalid="ignore"):
        est_r = Tr[:, :, 1] / Tr[:, :, 0] if kind == "mean" else Tr[:, :, 1]
    V = ds.replicate_rule().var(est_r, est)
    return V, np.array([float(gram_degf(G[j])) for j in range(D)]), float(gram_degf(G[D]))


def _replicate_shares(ds: DaskSurvey, cell, dom, D: int, K: int, cols, P: np.ndarray):
    """Replicate designs: the category shares per domain recomputed with each replicate's
    weights, combined by R ``svrVar``; df per domain from the rank of its replicate weights."""
    _, Tr, G = replicate_totals(ds, cell, D * K, cols, domain=dom, D=D)
    Tr3 = Tr[:, :, 0].reshape(len(Tr), D, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        est_r = Tr3 / Tr3.sum(2, keepdims=True)
    V = ds.replicate_rule().var(est_r.reshape(len(Tr), D * K), P.reshape(-1))
    return V, np.array([float(gram_degf(G[j])) for j in range(D)])


def _replicate_tests(ds: DaskSurvey, combined, Kf: int, cols, unw, tab, n_all, kr, kb):
    """R ``svychisq`` on a replicate design: the covariance of the cell totals and of the
    cell proportions from the replicate totals of the cells; nu = rank - 1 of all rows."""
    from ._design_tests import rao_scott_from_cells

    T, Tr, G = replicate_totals(ds, combined, Kf, cols)
    rule = ds.replicate_rule()
    Tr = Tr[:, :, 0]

    def replicate_vcov(idx, p):
        with np.errstate(divide="ignore", invalid="ignore"):
            pr = Tr[:, idx] / Tr[:, idx].sum(1, keepdims=True)
        return rule.var(pr, p)

    return rao_scott_from_cells(unw.reshape(kr + 1, kb + 1), tab, rule.var(Tr, T[:, 0]), n_all,
                                gram_degf(G[-1]), kr, kb, replicate_vcov)


def _dcols(ds: DaskSurvey) -> list[str]:
    from ..core.distributed import design_columns

    return design_columns(ds)


def _summary(ds: DaskSurvey) -> str:
    d = ds.design
    parts = [f"Design on Dask ({ds.ddf.npartitions} partitions, statistics per partition)"]
    if d.replicates is not None:
        r = d.replicates
        return "; ".join(parts + [f"{len(r.columns)} {r.type} replicate weights (R svrVar)",
                                  f"weight '{ds.weight}'"]) + "."
    if d.strata:
        parts.append(f"strata '{d.strata}'")
    stages = d.psu[:max(len(d.fpc), 1)]
    parts.append(("cluster sample (" + ", ".join(f"stage {i + 1} '{c}'" for i, c in
                                                  enumerate(stages)) + ")")
                 if d.psu else "each row its own PSU")
    if d.fpc:
        parts.append("fpc " + ", ".join(f"'{c}'" for c in d.fpc))
    parts.append(f"weight '{ds.weight}'" if ds.weight else "unweighted")
    if ds.raking:
        parts.append("variance uses raking residuals")
    return "; ".join(parts) + "."


def proportions(ds: DaskSurvey, var: str, *, by, confidence, na_rm, language, where,
                ci_method, df):
    from ._intervals import check_ci_method
    from .estimates import _check_confidence, _df_option, _Lin, _proportions_result

    _check_confidence(confidence)
    _refuse("proportions", where=where)
    check_ci_method(ci_method, "proportions")
    df_user = _df_option(df, "proportions")
    labels = categories(ds, var)
    K = len(labels)
    if K == 0:
        raise AnalysisError(f"variable '{var}' has no categories to count")
    blabels, D, dcode = _domain_codes(ds, by)
    cols = [var, by]

    def cells(part):
        c = codes_of(part[var], labels)
        d = dcode(part)
        return c, d, (c >= 0) & (d >= 0)

    def pass1(part):
        w = ds.part_weights(part)
        _check_design_columns(ds, part, w)
        c, d, ok = cells(part)
        key = np.where(ok, d * K + c, 0)
        Wc = np.bincount(key, weights=np.where(ok, w, 0.0), minlength=D * K)
        nc = np.bincount(key[ok], minlength=D * K)
        nobs = np.bincount(d[ok & (w != 0)], minlength=D)
        return Wc, nc, nobs, int((c < 0).sum()), len(part)

    def combine(results):
        return tuple(sum(r[i] for r in results) for i in range(5))

    Wc, n_cell, nobs, missing, n_all = map_reduce(ds, pass1, combine, cols + _dcols(ds))
    T = Wc.reshape(D, K)
    W = T.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        P = T / W[:, None]
        s2 = P * (1 - P) * (nobs / (nobs - 1))[:, None]
    Pz = np.nan_to_num(P)
    WD = np.where(W > 0, W, 1.0)

    def score(part):  # the weight in the row's (domain, category) cell ...
        w = ds.part_weights(part)
        c, d, ok = cells(part)
        return np.where(ok, d * K + c, -1), w

    def transform(C):  # ... -> w (1[category] - p) / W_d in the domain's block
        C3 = C.reshape(len(C), D, K)
        return ((C3 - Pz[None] * C3.sum(2)[:, :, None]) / WD[None, :, None]).reshape(len(C), -1)

    def domain(part):
        _, d, ok = cells(part)
        return np.where(ok, d, -1)

    if ds.design.replicates is not None:
        V, dfs = _replicate_shares(ds, lambda p: score(p)[0], domain, D, K, cols, P)
    else:
        V, dfs, _ = score_vcov(ds, score, D * K, cols, domain, D, transform)
    lin = _Lin(P, V, W, nobs.astype(float), s2)
    n_cell = n_cell.reshape(D, K)
    return _proportions_result(
        var, by, blabels, [str(x) for x in labels], lin, dfs, n_cell.sum(1), n_cell,
        na_rm=na_rm, all_valid=missing == 0, missing=missing, ci_method=ci_method,
        df_user=df_user, confidence=confidence, n_all=n_all if ds.raking else None,
        context=[_summary(ds)])


def crosstab(ds: DaskSurvey, row: str, by: str, *, alpha, margins, fisher, simulate_b, seed,
             fisher_seconds, missing, where, weight, language):
    from ._design_tests import rao_scott_from_cells
    from .crosstab import crosstab_from_tables

    _refuse("crosstab", where=where, weight=weight)
    if missing:
        raise AnalysisError("crosstab: missing=True is not supported on a Dask-backed Survey.")
    if not (0 < alpha < 1):
        raise AnalysisError(f"crosstab: alpha must lie between 0 and 1, found {alpha!r}")
    rl, bl = categories(ds, row), categories(ds, by)
    kr, kb = len(rl), len(bl)
    Kf = (kr + 1) * (kb + 1)
    cols = [row, by]

    def combined(part):
        return (codes_of(part[row], rl) + 1) * (kb + 1) + codes_of(part[by], bl) + 1

    def pass1(part):
        w = ds.part_weights(part)
        _check_design_columns(ds, part, w)
        cc = combined(part)
        return (np.bincount(cc, minlength=Kf), np.bincount(cc, weights=w, minlength=Kf),
                len(part))

    unw, tab, n_all = map_reduce(ds, pass1, lambda r: tuple(sum(x[i] for x in r)
                                                            for i in range(3)),
                                 cols + _dcols(ds))

    def design_tests():
        if ds.design.replicates is not None:
            return _replicate_tests(ds, combined, Kf, cols, unw, tab, n_all, kr, kb)

        def score(part):
            return combined(part), ds.part_weights(part)

        V, _, nu = score_vcov(ds, score, Kf, cols, None, 1)
        return rao_scott_from_cells(unw.reshape(kr + 1, kb + 1), tab, V, n_all, nu, kr, kb)

    return crosstab_from_tables(
        row, by, _info(ds, row, rl, "crosstab"), _info(ds, by, bl, "crosstab"), tab.reshape(kr + 1, kb + 1),
        unw.reshape(kr + 1, kb + 1), weighted=ds.weight is not None or bool(ds.raking),
        design_tests=design_tests if ds.has_design else None, alpha=alpha, margins=margins,
        fisher=fisher, simulate_b=simulate_b, seed=seed, fisher_seconds=fisher_seconds,
        filtered=False, wnote=_summary(ds), extra={}, design_context=None)


def _info(ds: DaskSurvey, var: str, labels, func: str) -> VarInfo:
    """`VarInfo` of a single-choice column, as `single` infers it in memory (a numeric
    column with few distinct values is an ordered scale labelled ``f"{value:g}"``)."""
    from ._common import MAX_NUMERIC_CATEGORIES

    dt = ds.ddf[var].dtype
    if pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt):
        if len(labels) > MAX_NUMERIC_CATEGORIES:
            raise AnalysisError(
                f"{func}: '{var}' is a numeric variable with more than "
                f"{MAX_NUMERIC_CATEGORIES} distinct values; expected a categorical "
                "(single-choice) one. Hint: band it with pd.cut, or use a test for numeric "
                "outcomes")
        cats = tuple(f"{u:g}" for u in labels)
        return VarInfo(name=var, label=var, kind="single", categories=cats, codes=cats,
                       ordered=True, columns=(var,), measure="ordinal")
    ordered = bool(isinstance(dt, pd.CategoricalDtype) and dt.ordered)
    return VarInfo(name=var, label=var, kind="single", categories=tuple(map(str, labels)),
                   ordered=ordered, columns=(var,))


def frequencies(ds: DaskSurvey, var: str, *, confidence, ci_method, weight, where, language):
    """One pass of unweighted and weighted counts per category (first slot: missing); the
    design-based estimates are `proportions` on Dask; the table is built by the in-memory
    code (`frequencies_result`)."""
    from .estimates import proportions
    from .frequencies import _ci_method, frequencies_result

    _refuse("frequencies", where=where, weight=weight)
    if var not in ds.ddf.columns and any(str(c).startswith(f"{var}_") for c in ds.ddf.columns):
        raise AnalysisError(
            f"frequencies: '{var}' is a multiple-choice question (columns {var}_...); expected "
            "a single-choice one. Hint: use multi_response() for it (it runs on Dask too)")
    ci_method = _ci_method(ci_method, ds.has_design)
    labels = categories(ds, var)
    K = len(labels)
    weighted = ds.weight is not None or bool(ds.raking)

    def pass1(part):
        w = ds.part_weights(part)
        _check_design_columns(ds, part, w)
        c = codes_of(part[var], labels) + 1
        return (np.bincount(c, minlength=K + 1).astype(float),
                np.bincount(c, weights=w, minlength=K + 1))

    n, nw = map_reduce(ds, pass1, lambda r: (sum(x[0] for x in r), sum(x[1] for x in r)),
                       [var] + _dcols(ds))
    if not weighted:
        nw = n
    missing = pd.DataFrame({"reason": ["missing"] if n[0] else [],
                            "code": [np.nan] if n[0] else [],
                            "n": np.array([n[0]] if n[0] else [], dtype=int)})

    def estimates(method: str) -> pd.DataFrame:
        return proportions(ds, var, confidence=confidence, language=language,
                           ci_method=method).to_frame()

    return frequencies_result(
        ds, var, _info(ds, var, labels, "frequencies"), n[1:], nw[1:], float(n.sum()), float(nw.sum()),
        estimates=estimates, ci_method=ci_method, confidence=confidence, filtered=False,
        weighted=weighted, missing=missing)


def _multi_columns(ds: DaskSurvey, var: str) -> list[str]:
    cols = [c for c in ds.ddf.columns if str(c).startswith(f"{var}_")]
    if var in ds.ddf.columns or not cols:
        raise AnalysisError(
            f"multi_response: '{var}' is not a multiple-choice question. Hint: its options "
            f"must be boolean columns named '{var}_<option>'; use frequencies() for a "
            "single-choice question")
    return cols


def _selections(part: pd.DataFrame, cols: list[str], base: str):
    """Each row's chosen options (rows x k, missing = not chosen) and whether it is in the
    base (``respondents``: answered at least one option; else every row)."""
    block = part[cols]
    for c in cols:
        vals = pd.unique(block[c].dropna())
        if not (pd.api.types.is_bool_dtype(block[c])
                or set(np.asarray(vals, dtype=object).tolist()) <= {0, 1}):
            raise AnalysisError(f"multi_response: option column '{c}' holds "
                                f"{vals[:3].tolist()}; expected True/False or 1/0")
    sel = np.column_stack([block[c].astype("boolean").fillna(False).to_numpy(dtype=bool)
                           for c in cols])
    answered = block.notna().any(axis=1).to_numpy()
    return sel, answered if base == "respondents" else np.ones(len(part), dtype=bool)


def multi_response(ds: DaskSurvey, var: str, *, base, confidence, weight, where, language):
    """One pass of counts per option and of the base; with a design the options'
    indicators are means over the base as a domain (Taylor scores as a matrix, or
    replicate totals), and the table is built by the in-memory code (`multi_result`)."""
    from .estimates import _Lin
    from .frequencies import _multi_estimates, multi_design_estimates, multi_result

    _refuse("multi_response", where=where, weight=weight)
    if base == "shown":
        raise AnalysisError("multi_response: base='shown' needs the missing reasons of the "
                            "validation in memory; on Dask use 'respondents' or 'returned'")
    cols = _multi_columns(ds, var)

    def pass1(part):
        w = ds.part_weights(part)
        _check_design_columns(ds, part, w)
        sel, ib = _selections(part, cols, base)
        wb = w[ib]
        return (sel[ib].sum(0).astype(float), wb @ sel[ib], float(ib.sum()), float(wb.sum()),
                float(np.count_nonzero(wb)))

    n_opt, t_opt, n_base, w_base, nobs = map_reduce(
        ds, pass1, lambda r: tuple(sum(x[i] for x in r) for i in range(5)), cols + _dcols(ds))
    if n_base == 0:
        raise AnalysisError(f"multi_response: the base for '{var}' is empty")
    weighted = ds.weight is not None or bool(ds.raking)
    if not ds.has_design:
        est = _multi_estimates(ds, None, None, n_opt, n_base, confidence)
    else:
        P = t_opt / w_base
        V, df = _multi_vcov(ds, cols, base, P, w_base)
        s2 = (P * (1 - P) * nobs / (nobs - 1))[None, :]
        lin = _Lin(P[None, :], V, np.array([w_base]), np.array([nobs]), s2)
        est = multi_design_estimates(lin, df, confidence)
    names = tuple(str(c)[len(var) + 1:] for c in cols)
    info = VarInfo(name=var, label=var, kind="multi", categories=names, codes=names,
                   columns=tuple(cols))
    return multi_result(ds, var, info, base, n_opt, t_opt if weighted else n_opt, n_base,
                        w_base if weighted else n_base, est, weighted=weighted, filtered=False)


def _multi_vcov(ds: DaskSurvey, cols: list[str], base: str, P: np.ndarray, W: float):
    """Covariance of the options' shares over the base, and the base's design df."""
    k = len(cols)

    def in_base(part):
        return np.where(_selections(part, cols, base)[1], 0, -1)

    if ds.design.replicates is not None:
        def values(part):
            sel, _ = _selections(part, cols, base)
            return np.column_stack([np.ones(len(part)), sel])

        _, Tr, G = replicate_totals(ds, in_base, 1, cols, values=values, domain=in_base)
        with np.errstate(divide="ignore", invalid="ignore"):
            est_r = Tr[:, 0, 1:] / Tr[:, 0, :1]
        return ds.replicate_rule().var(est_r, P), float(gram_degf(G[0]))

    def score(part):
        sel, ib = _selections(part, cols, base)
        w = ds.part_weights(part)
        return np.where(ib[:, None], w[:, None] * (sel - P[None, :]) / W, 0.0)

    V, dfs, _ = score_vcov(ds, score, k, cols, in_base, 1, matrix=True)
    return V, float(dfs[0])
