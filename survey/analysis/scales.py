"""Rating scales: Likert item summaries, scale scores, and reliability (psych::alpha, omega)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ..core.result import Result
from ..errors import AnalysisError
from ._common import prepare, weighting_note, where_mask

__all__ = ["Likert", "Reliability", "likert", "reliability"]


def _scale_items(s, items, scale, reverse, func):
    """Resolve items and reverse-keyed items from the arguments or the template's scale."""
    rev = list(reverse) if reverse is not None else []
    if scale is not None:
        q = s.questionnaire
        scales = getattr(q, "scales", None) if q is not None else None
        if not scales or scale not in scales:
            known = list(scales) if scales else []
            raise AnalysisError(
                f"{func}: scale {scale!r} is not defined in the questionnaire"
                + (f"; known scales: {known}" if known else " (it defines no scales)")
                + ". Hint: pass items=[...] instead"
            )
        sc = scales[scale]
        get = (lambda k: sc.get(k)) if isinstance(sc, dict) else (lambda k: getattr(sc, k, None))
        items = list(items) if items is not None else list(get("items") or [])
        if reverse is None:
            rev = list(get("reverse") or [])
        scoring = get("scoring") or get("score")
    else:
        scoring = None
        if reverse is None and items:
            rev = _template_reverse_keys(s, items)
    if not items:
        raise AnalysisError(f"{func}: no items given; pass items=[...] or scale=<name>")
    items = list(items)
    missing = [i for i in items if i not in s.data.columns]
    if missing:
        from ..errors import did_you_mean

        hint = did_you_mean(missing[0], s.data.columns)
        raise AnalysisError(f"{func}: items {missing} are not in the data" + (f"; {hint}" if hint else ""))
    bad_rev = [r for r in rev if r not in items]
    if bad_rev:
        raise AnalysisError(f"{func}: reverse={bad_rev} are not among the items {items}")
    return items, rev, scoring


def _template_reverse_keys(s, items) -> list[str]:
    """Items the template marks reverse-keyed (grid rows with ``reverse: true``)."""
    q = s.questionnaire
    if q is None or not hasattr(q, "question"):
        return []
    out = []
    for it in items:
        if hasattr(q, "__contains__") and it not in q:
            continue
        if getattr(q.question(it), "reverse", False):
            out.append(it)
    return out


def _negative_on_first_component(R: np.ndarray, items) -> list[str]:
    """Items loading negatively on the first principal component of the correlation matrix,
    its sign chosen so the loadings sum to a positive number (psych::principal)."""
    if not np.all(np.isfinite(R)):
        return []
    values, vectors = np.linalg.eigh(R)
    first = vectors[:, -1] * math.sqrt(max(values[-1], 0.0))
    if first.sum() < 0:
        first = -first
    return [it for it, x in zip(items, first) if x < 0]


def _item_matrix(s, items, func):
    """Numeric matrix of the items: ordered categoricals give position + 1; and k per item."""
    cols, ks, labels = [], [], []
    for it in items:
        col = s.data[it]
        if isinstance(col.dtype, pd.CategoricalDtype):
            c = col.cat.codes.to_numpy().astype(float)
            c[c < 0] = np.nan
            cols.append(c + 1)
            ks.append(len(col.cat.categories))
            labels.append([str(x) for x in col.cat.categories])
        else:
            try:
                v = pd.to_numeric(col, errors="raise").to_numpy(dtype=float, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise AnalysisError(
                    f"{func}: item '{it}' must be an ordered categorical or numeric; found values "
                    f"like {col.dropna().iloc[:3].tolist()}"
                ) from exc
            cols.append(v)
            ks.append(None)
            labels.append(None)
    return np.column_stack(cols), ks, labels


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Likert(Result):
    """Per item distribution and summary of a Likert battery, plus a scale score per respondent."""

    items: pd.DataFrame  # per item: n, mean, sd, median, top2, bottom2, reversed
    distribution: pd.DataFrame  # items x categories, percent of valid answers
    scores: pd.Series
    scoring: str = "mean"
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return "Likert items"

    def _summary(self) -> str:
        return f"{len(self.items)} items, scores n={int(self.scores.notna().sum())}"

    def to_frame(self) -> pd.DataFrame:
        return self.items.copy()

    def _display_frame(self) -> pd.DataFrame:
        d = self.distribution
        st = self.items.set_index("var")[["n", "mean", "sd", "top2", "bottom2"]]
        out = pd.concat([d, st], axis=1)
        out.attrs["column_kinds"] = dict.fromkeys(d.columns, "pct")
        return out


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Reliability(Result):
    """Internal consistency of a scale (psych::alpha) with McDonald's omega total."""

    alpha: float
    alpha_standardized: float
    ci_low: float
    ci_high: float
    omega: float
    average_r: float
    items: pd.DataFrame
    n: int
    n_items: int
    missing: str = "pairwise"
    confidence: float = 0.95
    loadings: tuple[float, ...] = ()
    notes: tuple[str, ...] = ()
    alpha_design: float = math.nan  # weighted Survey: R survey::svycralpha

    @property
    def title(self) -> str:
        return "Reliability"

    def _summary(self) -> str:
        return (f"alpha={self.alpha:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}], "
                f"omega={self.omega:.3f}, {self.n_items} items, n={self.n}")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "alpha": self.alpha, "alpha_standardized": self.alpha_standardized,
            "ci_low": self.ci_low, "ci_high": self.ci_high, "omega": self.omega,
            "average_r": self.average_r, "n": self.n, "n_items": self.n_items,
        }])

    def _display_frame(self) -> pd.DataFrame:
        return self.items.set_index("item")

    def _key_numbers(self) -> str:
        conf = int(round(self.confidence * 100))
        return (f"Cronbach's alpha = {self.alpha:.3f} ({conf}% CI {self.ci_low:.3f}–"
                f"{self.ci_high:.3f}); standardized alpha = {self.alpha_standardized:.3f}; "
                f"McDonald's omega = {self.omega:.3f}; average r = {self.average_r:.3f}; "
                f"{self.n_items} items, n = {self.n:,}")


def likert(
    survey,
    items=None,
    *,
    scale: str | None = None,
    reverse=None,
    scoring: str | None = None,
    top: int = 2,
    where=None,
    language: str | None = None,
) -> Likert:
    """Summarise Likert items: distribution, mean, SD, median, top-2 / bottom-2 box, n.

    Items are ordered categoricals; their numeric value is the category position + 1
    (numeric items are used as they are). ``reverse`` (or the template scale's ``reverse``)
    lists reverse-keyed items: their score is (k + 1) − x. ``scores`` is the mean (default) or
    sum of the available (reversed) items per respondent; item summaries are of the raw items.

    >>> import pandas as pd
    >>> cats = ["disagree", "neutral", "agree"]
    >>> df = pd.DataFrame({"a": pd.Categorical(["agree", "neutral", "agree"], categories=cats, ordered=True),
    ...                    "b": pd.Categorical(["disagree", "agree", "agree"], categories=cats, ordered=True)})
    >>> lk = likert(df, ["a", "b"], reverse=["b"])
    >>> lk.scores.round(2).tolist()
    [3.0, 1.5, 2.0]
    """
    s = prepare(survey)
    items, rev, scoring_t = _scale_items(s, items, scale, reverse, "likert")
    scoring = scoring or scoring_t or "mean"
    if scoring not in ("mean", "sum"):
        raise AnalysisError(f"likert: scoring must be 'mean' or 'sum', found {scoring!r}")
    mask = where_mask(s, where, func="likert")
    X, ks, labels = _item_matrix(s, items, "likert")
    if mask is not None:
        X = X[mask]
        index = s.data.index[mask]
    else:
        index = s.data.index
    cat_labels = labels[0] if labels[0] is not None else None
    same = all(lb == cat_labels for lb in labels)
    rows, dist = [], []
    design = None
    if s.has_design:
        from ..core.design import Design

        design = Design.from_survey(s)
        w_in = design.weights if mask is None else design.weights[mask]
    for j, it in enumerate(items):
        x = X[:, j]
        ok = ~np.isnan(x)
        v = x[ok]
        k = ks[j] or (int(np.nanmax(X)) if np.isfinite(np.nanmax(X)) else 0)
        info = s.var_info(it, language=language)
        if design is None:
            counts = np.bincount(v.astype(int) - 1, minlength=k)[:k] if ks[j] else None
            pct = 100 * counts / max(len(v), 1) if counts is not None else None
            summary = {
                "mean": float(v.mean()) if len(v) else math.nan,
                "sd": float(v.std(ddof=1)) if len(v) > 1 else math.nan,
                "median": float(np.median(v)) if len(v) else math.nan,
            }
        else:
            wv = w_in[ok]
            counts = (np.bincount(v.astype(int) - 1, weights=wv, minlength=k)[:k]
                      if ks[j] else None)
            pct = 100 * counts / wv.sum() if counts is not None and wv.sum() > 0 else None
            summary = _design_item(design, s, it, mask, v, wv)
        rows.append({
            "var": it,
            "label": info.label or it,
            "n": len(v),
            **summary,
            f"top{top}" if top != 2 else "top2": float(pct[-top:].sum()) if pct is not None else math.nan,
            f"bottom{top}" if top != 2 else "bottom2": float(pct[:top].sum()) if pct is not None else math.nan,
            "reversed": it in rev,
        })
        if pct is not None:
            lab = info.categories if (same and len(info.categories) == k) else (
                labels[j] if labels[j] else [str(i + 1) for i in range(k)])
            dist.append(pd.Series(pct, index=list(lab) if same else list(range(1, k + 1)), name=it))
    distribution = pd.DataFrame(dist) if dist else pd.DataFrame(index=items)
    distribution.index.name = "item"
    # scores with reversal
    Y = X.copy()
    for j, it in enumerate(items):
        if it in rev:
            k = ks[j]
            if k is None:
                k = int(np.nanmax(X[:, j])) + int(np.nanmin(X[:, j])) - 1
            Y[:, j] = (k + 1) - Y[:, j]
    with np.errstate(invalid="ignore"):
        sc = np.nanmean(Y, axis=1) if scoring == "mean" else np.nansum(Y, axis=1)
    all_nan = np.isnan(Y).all(axis=1)
    sc = np.where(all_nan, np.nan, sc)
    scores = pd.Series(sc, index=index, name=scale or "score")
    notes = (
        f"Items valued 1..k by category position; top{top}/bottom{top} = % of valid answers in "
        f"the top/bottom {top} categories.",
        f"Score = {scoring} of the available items per respondent"
        + (f"; reverse-keyed: {', '.join(rev)} ((k + 1) − x)" if rev else "") + ".",
        f"Base: {len(X)} respondents" + (" within the where= filter" if mask is not None else "")
        + "; n per item in the table.",
        weighting_note(s) if not s.has_design else (
            "Estimates: design-based - mean with Taylor-linearised se and normal CI (R "
            "svymean, domains keep the full design), sd = sqrt(svyvar), median by R's "
            "svyquantile rule (qrule 'math'), distribution and top/bottom boxes as weighted "
            "shares (svymean of category indicators); scores are per respondent (unweighted). "
            + weighting_note(s)
        ),
    )
    return Likert(items=pd.DataFrame(rows), distribution=distribution, scores=scores,
                  scoring=scoring, notes=notes)


def _design_item(design, s, item, mask, v, wv) -> dict:
    """Design-based summary of one item: mean with SE and CI (svymean), sd (svyvar), median."""
    from .estimates import _linearize, _qrule_math, _z

    full = _item_matrix(s, [item], "likert")[0][:, 0]
    valid = ~np.isnan(full)
    if mask is not None:
        valid &= mask
    lin = _linearize(design, np.where(valid, full, 0.0)[:, None], valid, None, 1, "mean")
    m = float(lin.est[0, 0])
    se = float(math.sqrt(max(lin.vcov[0, 0], 0.0)))
    z = _z(0.95)
    order = np.argsort(v, kind="stable")
    med = _qrule_math(v[order], np.cumsum(wv[order]), float(wv.sum()), 0.5) if len(v) else math.nan
    return {"mean": m, "se": se, "ci_low": m - z * se, "ci_high": m + z * se,
            "sd": float(math.sqrt(lin.s2[0, 0])) if np.isfinite(lin.s2[0, 0]) else math.nan,
            "median": float(med), "n_weighted": float(wv.sum())}


def _svycralpha(X: np.ndarray, w: np.ndarray) -> float:
    """R ``survey::svycralpha``: K/(K-1) (1 - sum of the items' svyvar / svyvar of their sum),
    on the complete rows (the n/(n-1) factor of svyvar cancels)."""
    ok = ~np.isnan(X).any(axis=1) & (w > 0)
    Xc, wc = X[ok], w[ok]
    if len(wc) < 2:
        return math.nan

    def wvar(v):
        m = (wc * v).sum() / wc.sum()
        return float((wc * (v - m) ** 2).sum() / wc.sum())

    k = X.shape[1]
    vt = wvar(Xc.sum(axis=1))
    return k / (k - 1) * (1 - sum(wvar(Xc[:, j]) for j in range(k)) / vt) if vt > 0 else math.nan


def _pair_r(a: np.ndarray, b: np.ndarray) -> float:
    ok = ~np.isnan(a) & ~np.isnan(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() > 1 else math.nan


def _alpha_from_cov(C: np.ndarray) -> tuple[float, float]:
    k = C.shape[0]
    R = C / np.sqrt(np.outer(np.diag(C), np.diag(C)))
    raw = (1 - np.trace(C) / C.sum()) * k / (k - 1)
    std = (1 - k / R.sum()) * k / (k - 1)
    return float(raw), float(std)


def _pingouin_alpha(X: np.ndarray) -> float:
    """Raw alpha by pingouin.cronbach_alpha (pairwise covariances, as R psych::alpha; its CI
    is rounded to 3 decimals, so the Feldt CI is computed here at full precision)."""
    import pingouin

    return float(pingouin.cronbach_alpha(pd.DataFrame(X), nan_policy="pairwise")[0])


def _pairwise_cov(X: np.ndarray) -> np.ndarray:
    """R's cov(x, use = "pairwise"): each entry from the rows complete for that pair."""
    k = X.shape[1]
    C = np.empty((k, k))
    ok = ~np.isnan(X)
    for i in range(k):
        for j in range(i, k):
            m = ok[:, i] & ok[:, j]
            a, b = X[m, i], X[m, j]
            C[i, j] = C[j, i] = ((a - a.mean()) * (b - b.mean())).sum() / (m.sum() - 1)
    return C


def one_factor_ml(R: np.ndarray, *, max_iter: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood one-factor fit of a correlation matrix (R ``factanal``'s method).

    Minimises factanal's objective over the uniquenesses Psi (L-BFGS-B, bounds [0.005, 1],
    start (1 - 0.5/p)/diag(R^-1)); returns (loadings, uniquenesses).
    """
    from scipy.optimize import minimize

    p = R.shape[0]
    q = 1

    def parts(psi):
        sc = 1 / np.sqrt(psi)
        sstar = R * np.outer(sc, sc)
        e, v = np.linalg.eigh(sstar)
        return e[::-1], v[:, ::-1]

    def fn(psi):
        e, _ = parts(psi)
        rest = e[q:]
        return -(np.sum(np.log(rest) - rest) - q + p)

    def gr(psi):
        e, v = parts(psi)
        load = v[:, :q] * np.sqrt(np.maximum(e[:q] - 1, 0))
        load = np.sqrt(psi)[:, None] * load
        g = load @ load.T + np.diag(psi) - R
        return np.diag(g) / psi**2

    start = np.clip((1 - 0.5 * q / p) / np.diag(np.linalg.pinv(R)), 0.005, 1.0)
    res = minimize(fn, start, jac=gr, method="L-BFGS-B", bounds=[(0.005, 1.0)] * p,
                   options={"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-12})
    psi = res.x
    e, v = parts(psi)
    load = np.sqrt(psi) * (v[:, 0] * np.sqrt(max(e[0] - 1, 0)))
    if load.sum() < 0:
        load = -load
    return load, psi


def reliability(
    survey,
    items=None,
    *,
    scale: str | None = None,
    reverse=None,
    missing: str = "pairwise",
    confidence: float = 0.95,
    where=None,
) -> Reliability:
    """Cronbach's alpha (raw and standardized) with the Feldt CI, item statistics and omega.

    Follows R ``psych::alpha``: pairwise covariances by default (``missing="listwise"`` drops
    incomplete rows first), standardized alpha from ``cov2cor`` of that covariance matrix,
    reverse-keyed items as (max + min) − x over all items (categorical items with k
    categories: (k + 1) − x, the same whenever every category occurs), Feldt CI with
    df1 = n − 1 (n = the rows analysed). ``items`` has per item ``r_drop`` (corrected item-total r), ``r_cor``
    (item-whole r corrected for overlap, with squared multiple correlations on the
    diagonal), ``raw_r``, ``std_r``, ``alpha_if_deleted`` (raw and standardized), ``n``,
    ``mean``, ``sd``.

    ``omega`` is McDonald's omega total from a one-factor maximum-likelihood fit of the
    correlation matrix (as R ``factanal``): 1 − Σψ / ΣR. psych::omega fits a bifactor model
    with group factors, which differs when the scale is not unidimensional.

    Weights: a weighted or complex-design `Survey` is analysed unweighted (psych::alpha has
    no weights and the Feldt interval assumes simple random sampling); the notes say so.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5.0], "b": [2, 2, 3, 5, 5.0], "c": [1, 3, 3, 4, 4.0]})
    >>> round(reliability(df, ["a", "b", "c"]).alpha, 4)
    0.9538
    """
    from scipy.stats import f as fdist

    if missing not in ("pairwise", "listwise"):
        raise AnalysisError(f"reliability: missing must be 'pairwise' or 'listwise', found {missing!r}")
    if not 0 < confidence < 1:
        raise AnalysisError(f"reliability: confidence must lie between 0 and 1, found {confidence!r}")
    s = prepare(survey)
    items, rev, _ = _scale_items(s, items, scale, reverse, "reliability")
    if len(items) < 2:
        raise AnalysisError(f"reliability: needs at least 2 items; found {len(items)}")
    X, ks, _ = _item_matrix(s, items, "reliability")
    mask = where_mask(s, where, func="reliability")
    wts = s.weights
    if mask is not None:
        X, wts = X[mask], wts[mask]
    answered = ~np.isnan(X).all(axis=1)
    X, wts = X[answered], wts[answered]
    if rev:
        # categorical items with a known scale 1..k: (k + 1) - x; otherwise psych's keys rule
        # (max + min) - x with max and min observed over all items
        known = {ks[j] for j, it in enumerate(items) if it in rev}
        if None not in known and len(known) == 1:
            mx, mn = float(known.pop()), 1.0
        else:
            mx, mn = np.nanmax(X), np.nanmin(X)
        for j, it in enumerate(items):
            if it in rev:
                X[:, j] = (mx + mn) - X[:, j]
    if missing == "listwise":
        X = X[~np.isnan(X).any(axis=1)]
    n = X.shape[0]
    if n < 3:
        raise AnalysisError(f"reliability: needs at least 3 respondents; found {n}")
    k = len(items)
    C = _pairwise_cov(X) if np.isnan(X).any() else np.cov(X, rowvar=False)
    sd = np.sqrt(np.diag(C))
    if (sd == 0).any():
        const = [items[i] for i in np.flatnonzero(sd == 0)]
        raise AnalysisError(f"reliability: items {const} have no variance; drop them")
    R = C / np.outer(sd, sd)
    _, std = _alpha_from_cov(C)
    raw = _pingouin_alpha(X)
    average_r = float((R.sum() - k) / (k * (k - 1)))
    a = 1 - confidence
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lo = 1 - (1 - raw) * fdist.ppf(1 - a / 2, df1, df2)
    hi = 1 - (1 - raw) * fdist.ppf(a / 2, df1, df2)
    # item statistics (psych::alpha)
    Vt = R.sum()
    std_r = R.sum(axis=0) / math.sqrt(Vt)
    if np.isnan(X).any():  # psych: cor(item, rowMeans(x, na.rm = TRUE), use = "pairwise")
        total = np.nanmean(X, axis=1)
        raw_r = np.array([_pair_r(X[:, j], total) for j in range(k)])
    else:
        raw_r = C.sum(axis=0) / np.sqrt(np.diag(C) * C.sum())
    RC = R.copy()
    # psych::smc: squared multiple correlations, kept within [0, 1] (a pairwise matrix may be
    # indefinite, a listwise one singular when n <= items: then pseudo-inverse)
    smc = np.clip(1 - 1 / np.diag(np.linalg.pinv(R)), 0.0, 1.0)
    np.fill_diagonal(RC, smc)
    # a scale whose items point both ways can have a negative total variance: NaN, as psych
    r_cor = RC.sum(axis=0) / (math.sqrt(RC.sum()) if RC.sum() > 0 else math.nan)
    r_drop, a_raw, a_std = [], [], []
    for i in range(k):
        keep = [j for j in range(k) if j != i]
        Ci = C[np.ix_(keep, keep)]
        rest = C[i, i] * Ci.sum()
        r_drop.append((C[:, i].sum() - C[i, i]) / (math.sqrt(rest) if rest > 0 else math.nan))
        if k > 2:
            ar, ast = _alpha_from_cov(Ci)
        else:
            ar = ast = math.nan
        a_raw.append(ar)
        a_std.append(ast)
    table = pd.DataFrame({
        "item": items,
        "n": (~np.isnan(X)).sum(axis=0),
        "mean": np.nanmean(X, axis=0),
        "sd": np.nanstd(X, axis=0, ddof=1),
        "raw_r": raw_r,
        "std_r": std_r,
        "r_cor": r_cor,
        "r_drop": r_drop,
        "alpha_if_deleted": a_raw,
        "alpha_std_if_deleted": a_std,
        "reversed": [it in rev for it in items],
    })
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            load, psi = one_factor_ml(R)
        omega = float(1 - psi.sum() / R.sum())
    except (np.linalg.LinAlgError, ValueError):
        load, omega = np.full(k, np.nan), math.nan
    if not np.isfinite(omega):
        omega = math.nan
    alpha_w = _svycralpha(X, wts) if s.has_design else math.nan
    notes = (
        f"Base: {n} respondents; {missing} deletion"
        + (" (covariances from the rows complete for each pair)" if missing == "pairwise" else "")
        + ".",
        "Cronbach's alpha as R psych::alpha (raw alpha by pingouin.cronbach_alpha); standardized alpha from cov2cor(covariance); "
        f"{confidence:.0%} Feldt CI with df1 = n − 1 = {df1}.",
        "Omega total from a one-factor maximum-likelihood fit (R factanal): 1 − Σψ/ΣR.",
        ("Reverse-keyed: " + ", ".join(rev) + f" ({mx + mn:g} − x).") if rev
        else "No reverse-keyed items.",
        *(() if not (negative := _negative_on_first_component(R, items)) else (
            "Warning: items loading negatively on the first principal component: "
            + ", ".join(negative) + "; they probably should be reversed (as psych::alpha warns). "
            "Hint: pass "
            "reverse=[...] or mark them reverse-keyed in the template.",)),
        weighting_note(s) if not s.has_design else (
            f"Design-weighted alpha (R survey::svycralpha, complete rows): {alpha_w:.4f} "
            "(alpha_design). alpha, omega, the item statistics and the Feldt CI are the "
            "unweighted psych::alpha ones (psych has no weighted form; the Feldt CI assumes "
            "simple random sampling): descriptive of the sample."),
    )
    return Reliability(
        alpha_design=alpha_w,
        alpha=raw, alpha_standardized=std, ci_low=float(lo), ci_high=float(hi), omega=omega,
        average_r=average_r, items=table, n=int(n), n_items=k, missing=missing,
        confidence=confidence, loadings=tuple(float(x) for x in load), notes=notes,
    )
