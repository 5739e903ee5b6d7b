"""Logistic and ordinal logistic regression with odds ratios (statsmodels; R glm / polr / svyglm).

Formulas accept any column name of the data, including names with dots (``sch.wide``) or
other characters patsy cannot read as Python names: the formula is tokenised (never
evaluated by us) and such names are rewritten as ``Q("name")`` before patsy sees them; term
labels are shown with the plain names again.
"""

from __future__ import annotations

import dataclasses
import json
import keyword
import math
import re

import numpy as np
import pandas as pd

from ..core.result import Result
from ..errors import AnalysisError, ConvergenceWarning, did_you_mean
from ._common import prepare, weighting_note, where_mask

__all__ = ["Model", "logit", "ordinal_logit", "rewrite_formula"]

_RESERVED = {"C", "I", "Q"}
_IDENT = re.compile(r"[\w.]")


def rewrite_formula(formula: str, columns) -> str:
    """Quote column names patsy cannot read as Python names (``sch.wide`` → ``Q("sch.wide")``).

    Longest names match first; text inside string literals is left alone; names that are
    valid identifiers are kept as they are.

    >>> rewrite_formula("sch.wide ~ C(stype) + api00", ["sch.wide", "stype", "api00"])
    'Q("sch.wide") ~ C(stype) + api00'
    >>> rewrite_formula("y ~ 年齡 + my var", ["y", "年齡", "my var"])
    'y ~ 年齡 + Q("my var")'
    """
    names = sorted({str(c) for c in columns}, key=len, reverse=True)
    out: list[str] = []
    i, n = 0, len(formula)
    while i < n:
        ch = formula[i]
        if ch in "'\"":
            j = formula.find(ch, i + 1)
            if j < 0:
                raise AnalysisError(f"formula {formula!r}: unterminated string starting at {i}")
            out.append(formula[i : j + 1])
            i = j + 1
            continue
        prev_ok = i == 0 or not _IDENT.match(formula[i - 1])
        matched = None
        if prev_ok:
            for nm in names:
                if formula.startswith(nm, i):
                    end = i + len(nm)
                    if end < n and _IDENT.match(formula[end]):
                        continue
                    matched = nm
                    break
        if matched is None:
            out.append(ch)
            i += 1
            continue
        plain = matched.isidentifier() and not keyword.iskeyword(matched) and matched not in _RESERVED
        out.append(matched if plain else f"Q({json.dumps(matched, ensure_ascii=False)})")
        i += len(matched)
    return "".join(out)


def _unquote(label: str) -> str:
    return re.sub(r'Q\("((?:[^"\\]|\\.)*)"\)', lambda m: json.loads(f'"{m.group(1)}"'), label)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Model(Result):
    """A fitted model: ``to_frame()`` one row per term in model order."""

    kind: str
    formula: str
    response: str
    table: pd.DataFrame
    n: int
    method: str
    confidence: float = 0.95
    converged: bool = True
    deviance: float = math.nan
    aic: float = math.nan
    notes: tuple[str, ...] = ()
    vcov: pd.DataFrame | None = None  # coefficient covariance (design-based with a design)
    df_resid: float = math.nan  # residual df of the t tests (R df.residual)
    dispersion: float = math.nan
    family: str = ""
    link: str = ""
    iterations: int = 0
    tol: float = math.nan
    term_columns: tuple = ()  # (term label, (first, stop) column slice) pairs, model order

    @property
    def title(self) -> str:
        return f"{self.method}: {self.formula}"

    def _summary(self) -> str:
        return f"{self.kind} {self.formula}, n={self.n}, {len(self.table)} terms"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _display_frame(self) -> pd.DataFrame:
        t = self.table.set_index("term")
        cols = ["estimate", "se", "p_value"] + [c for c in ("odds_ratio", "rate_ratio")
                                                 if c in t.columns] + ["ci_low", "ci_high"]
        return t[cols]


def _split(formula: str):
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise AnalysisError(
            f"formula must look like 'response ~ term + term'; found {formula!r}"
        )
    lhs, rhs = formula.split("~")
    lhs, rhs = lhs.strip(), rhs.strip()
    if not lhs or not rhs:
        raise AnalysisError(f"formula {formula!r}: both sides of '~' are needed")
    return lhs, rhs


def _relabel(s, data: pd.DataFrame, formula: str, language: str | None) -> pd.DataFrame:
    """Categorical columns named in the formula, relabelled in ``language`` (same order)."""
    if language is None:
        return data
    out = None
    for col in data.columns:
        if str(col) not in formula or not isinstance(data[col].dtype, pd.CategoricalDtype):
            continue
        info = s.var_info(str(col), language=language)
        if info.kind != "single" or len(info.categories) != len(data[col].cat.categories):
            continue
        if len(set(info.categories)) != len(info.categories):
            continue
        out = data.copy() if out is None else out
        out[col] = data[col].cat.rename_categories(list(info.categories))
    return data if out is None else out


def _design(s, formula, mask, *, intercept=True, language=None):
    import patsy

    lhs, rhs = _split(formula)
    data = _relabel(s, s.data, formula, language)
    if lhs not in data.columns:
        hint = did_you_mean(lhs, data.columns)
        raise AnalysisError(f"formula {formula!r}: response '{lhs}' is not in the data"
                            + (f"; {hint}" if hint else ""))
    rhs_q = rewrite_formula(rhs, data.columns)
    frame = _plain_numbers(data if mask is None else data[mask])
    try:
        X = patsy.dmatrix(rhs_q, frame, return_type="dataframe", NA_action="drop")
    except patsy.PatsyError as exc:
        raise AnalysisError(f"formula {formula!r}: {exc}. Hint: check the variable names") from exc
    if not intercept and "Intercept" in X.columns:
        # treatment coding as with an intercept, then the intercept dropped (thresholds take it)
        X = X.drop(columns="Intercept")
    return lhs, X, frame


def term_columns(X: pd.DataFrame) -> tuple:
    """(term label, (start, stop)) of each patsy term, labels with plain column names."""
    info = getattr(X, "design_info", None)
    if info is None:
        return tuple((str(c), (j, j + 1)) for j, c in enumerate(X.columns))
    return tuple((_unquote(name), (sl.start, sl.stop))
                 for name, sl in info.term_name_slices.items())


def model_rows(survey, formula, where, language, func, response):
    """Survey, where= mask, response name, model matrix and response of the complete rows,
    the frame, the terms' column slices and the response's description."""
    s = prepare(survey)
    mask = where_mask(s, where, func=func)
    lhs, X, frame = _design(s, formula, mask, language=language)
    terms = term_columns(X)
    y_all, what = response(frame[lhs], lhs)
    y = pd.Series(y_all, index=frame.index).loc[X.index]
    keep = y.notna().to_numpy()
    return s, mask, lhs, X[keep], y[keep].to_numpy(), frame, terms, what


def _separated_terms(X: pd.DataFrame, y: np.ndarray) -> list[str]:
    """Dummy terms (0/1 columns) within whose rows, or the baseline's, the response is constant."""
    out = []
    values = X.to_numpy()
    dummies = [j for j, name in enumerate(X.columns)
               if name != "Intercept" and np.isin(values[:, j], (0.0, 1.0)).all()]
    for j in dummies:
        inside = y[values[:, j] == 1]
        if len(inside) and np.all(inside == inside[0]):
            out.append(str(X.columns[j]))
    if dummies:
        baseline = ~values[:, dummies].astype(bool).any(axis=1)
        # the baseline category matters only when all dummies come from one factor
        factors = {str(X.columns[j]).split("[")[0] for j in dummies}
        inside = y[baseline]
        if len(factors) == 1 and len(inside) and np.all(inside == inside[0]):
            out.append(f"{factors.pop()} (baseline category)")
    return out


def _plain_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable numbers (Int64, Float64, boolean) as float64 with NaN, which patsy understands."""
    nullable = [
        c for c in frame.columns
        if isinstance(frame[c].dtype, pd.api.extensions.ExtensionDtype)
        and not isinstance(frame[c].dtype, pd.CategoricalDtype)
        and (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    if not nullable:
        return frame
    return frame.assign(**{c: frame[c].astype("float64") for c in nullable})


def _binary_response(col: pd.Series, name: str):
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = list(col.cat.categories)
        if len(cats) != 2:
            raise AnalysisError(
                f"logit: the response '{name}' must have two categories; found {len(cats)} "
                f"({cats[:6]}). Hint: recode it, or use ordinal_logit for an ordered scale"
            )
        y = col.cat.codes.to_numpy().astype(float)
        y[y < 0] = np.nan
        return y, f"P({name} = {cats[1]})"
    if pd.api.types.is_bool_dtype(col):
        return col.astype("Float64").to_numpy(dtype=float, na_value=np.nan), f"P({name} = True)"
    if pd.api.types.is_numeric_dtype(col):
        y = col.to_numpy(dtype=float, na_value=np.nan)
        vals = set(np.unique(y[~np.isnan(y)]).tolist())
        if not vals <= {0.0, 1.0}:
            raise AnalysisError(f"logit: numeric response '{name}' must be 0/1; found {sorted(vals)[:6]}")
        return y, f"P({name} = 1)"
    vals = sorted(col.dropna().astype(str).unique())
    if len(vals) != 2:
        raise AnalysisError(f"logit: the response '{name}' must have two values; found {vals[:6]}")
    y = np.where(col.isna(), np.nan, (col.astype(str) == vals[1]).astype(float))
    return y, f"P({name} = {vals[1]})"


def _table(names, est, se, stat, p, z, or_mask=None):
    lo, hi = est - z * se, est + z * se
    with np.errstate(over="ignore"):
        t = pd.DataFrame({
            "term": [_unquote(n) for n in names],
            "estimate": est, "se": se, "statistic": stat, "p_value": p,
            "odds_ratio": np.exp(est), "ci_low": np.exp(lo), "ci_high": np.exp(hi),
        })
    if or_mask is not None:
        t.loc[~or_mask, ["odds_ratio", "ci_low", "ci_high"]] = np.nan
    return t


def logit(survey, formula: str, *, confidence: float = 0.95, where=None,
          language: str | None = None) -> Model:
    """Logistic regression (R ``glm(family = binomial)``; with a design, R ``svyglm``).

    A two-level categorical response models the probability of its second category (R's
    convention). ``to_frame()``: ``term, estimate`` (log-odds), ``se, statistic, p_value,
    odds_ratio, ci_low, ci_high`` (Wald CI of the odds ratio). Unweighted: z tests. Weighted or
    complex design: coefficients from the weights rescaled to mean 1, design-based sandwich SEs
    and t tests on the design residual df, as R ``svyglm(family = quasibinomial)``; the CI uses
    the normal quantile as R's ``confint`` on an svyglm. Categorical terms are labelled with the
    questionnaire's labels (``language=`` to choose), e.g. ``C(rank)[T.副縣處級]``.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"ok": pd.Categorical(["no", "yes"] * 6 + ["yes", "no"]),
    ...                    "x.1": [1.0, 2, 1, 3, 2, 4, 3, 5, 4, 6, 5, 7, 6, 2]})
    >>> logit(df, "ok ~ x.1").to_frame()["term"].tolist()
    ['Intercept', 'x.1']
    """
    import warnings

    import statsmodels.api as sm
    from scipy.stats import norm
    from scipy.stats import t as tdist

    if not 0 < confidence < 1:
        raise AnalysisError(f"logit: confidence must lie between 0 and 1, found {confidence!r}")
    s, mask, lhs, X, y, frame, terms, what = model_rows(
        survey, formula, where, language, "logit", _binary_response)
    if len(y) <= X.shape[1]:
        raise AnalysisError(f"logit: {len(y)} complete rows for {X.shape[1]} terms; too few")
    if np.all(y == y[0]):
        raise AnalysisError(f"logit: the response '{lhs}' has one value only in the rows used")
    names = list(X.columns)
    notes = [f"Model: logit {what}; {len(y)} complete rows used of "
             f"{len(frame)}" + (" within the where= filter" if mask is not None else "") + "."]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if s.has_design:
            w = s.weights[s.data.index.get_indexer(X.index)]
            w = w / w.mean()
            res = sm.GLM(y, X.to_numpy(), family=sm.families.Binomial(), var_weights=w).fit(
                tol=1e-14, maxiter=100)
        else:
            res = sm.GLM(y, X.to_numpy(), family=sm.families.Binomial()).fit(tol=1e-14, maxiter=100)
    converged = bool(getattr(res, "converged", True))
    if not converged or any("converge" in str(c.message).lower() for c in caught):
        warnings.warn(f"logit {formula!r} did not converge", ConvergenceWarning, stacklevel=2)
        notes.append("Warning: the fit did not converge; estimates are unreliable.")
    beta = np.asarray(res.params)
    if s.has_design:
        try:
            from ._design_models import svyglm_vcov
        except ImportError as exc:
            raise AnalysisError("logit: design-based standard errors not available") from exc
        rows = np.zeros(len(s.data), dtype=bool)
        rows[s.data.index.get_indexer(X.index)] = True
        mu = np.asarray(res.fittedvalues)
        vcov, df_resid = svyglm_vcov(s, X.to_numpy(), y, beta, mu, rows=rows)
        se = np.sqrt(np.diag(vcov))
        stat = beta / se
        p = 2 * tdist.sf(np.abs(stat), df_resid)
        z = norm.ppf((1 + confidence) / 2)
        method = "Survey-weighted logistic regression (R svyglm, quasibinomial)"
        notes.append(f"Design-based sandwich SEs; t tests on {df_resid} residual df; "
                     f"{confidence:.0%} Wald CI of the odds ratio (normal quantile, R confint).")
    else:
        se = np.asarray(res.bse)
        stat = beta / se
        p = 2 * norm.sf(np.abs(stat))
        z = norm.ppf((1 + confidence) / 2)
        method = "Logistic regression (R glm, binomial)"
        notes.append(f"Wald z tests; {confidence:.0%} Wald CI of the odds ratio.")
    separated = _separated_terms(X, y)
    if separated:
        warnings.warn(f"logit {formula!r}: (quasi-)complete separation in {', '.join(separated)}",
                      ConvergenceWarning, stacklevel=2)
        notes.append(
            "Warning: (quasi-)complete separation — the response does not vary within "
            + ", ".join(separated)
            + "; the estimates and standard errors of these terms are not meaningful "
            "(R glm reports 'fitted probabilities numerically 0 or 1 occurred'). "
            "Hint: merge sparse categories or use a penalised model."
        )
    notes.append(weighting_note(s))
    table = _table(names, beta, se, stat, p, z)
    labels = [_unquote(n) for n in names]
    V = vcov if s.has_design else np.asarray(res.cov_params())
    return Model(kind="logit", formula=formula, response=lhs, table=table, n=len(y),
                 method=method, confidence=confidence, converged=converged,
                 deviance=float(res.deviance), aic=float(res.aic) if not s.has_design else math.nan,
                 notes=tuple(notes), vcov=pd.DataFrame(V, index=labels, columns=labels),
                 df_resid=float(df_resid) if s.has_design else math.inf,
                 dispersion=1.0 if not s.has_design else math.nan, family="binomial",
                 link="logit", tol=1e-14, term_columns=terms)


def _near_singular(hessian: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether an information matrix is singular for inference, scale-free.

    Whether statsmodels manages to invert a separated fit's Hessian depends on the last bits
    of the optimiser's stopping point (it did on one CPU, not on another), so the decision is
    made here: the smallest eigenvalue of the information scaled to unit diagonal (the
    correlation form: eigenvalues sum to the number of parameters) below ``tol``. Separated
    fits give about 1e-8, well-determined ones 0.05 and more.
    """
    info = -np.asarray(hessian, dtype=float)
    d = np.diag(info)
    if not np.all(np.isfinite(info)) or np.any(d <= 0):
        return True
    scaled = info / np.sqrt(np.outer(d, d))
    return bool(np.linalg.eigvalsh(scaled)[0] < tol)


def ordinal_logit(survey, formula: str, *, confidence: float = 0.95, where=None,
                  language: str | None = None, tol: float | None = None) -> Model:
    """Proportional-odds (ordinal) logistic regression (statsmodels ``OrderedModel``; R ``polr``).

    logit P(Y ≤ k) = ζ_k − xβ, as R ``MASS::polr``. ``to_frame()`` lists the coefficients
    (with odds ratios) then the thresholds ``a|b`` (odds-ratio columns NaN; SEs by the delta
    method). With weights or a design: R ``survey::svyolr`` (weighted likelihood, design
    sandwich with R's numerical Hessian, thresholds by the delta method), fitted along R's own
    path (its starting values and ``optim`` BFGS steps) so that it stops where R stops: ``tol``
    is optim's ``reltol`` (default R's sqrt(machine epsilon), which leaves the coefficients
    ~1e-5 short of the exact optimum exactly as R does; ``tol=1e-14`` reproduces
    ``svyolr(..., control = list(reltol = 1e-14))``).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": pd.Categorical(list("abcabcbcab"), ordered=True),
    ...                    "x": [1.0, 4, 3, 2, 1, 4, 3, 5, 2, 3]})
    >>> ordinal_logit(df, "y ~ x").to_frame()["term"].tolist()
    ['x', 'a|b', 'b|c']
    """
    import warnings

    from scipy.stats import norm
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    s = prepare(survey)
    if tol is not None and not s.has_design:
        raise AnalysisError("ordinal_logit: tol= is the reltol of R svyolr's optimiser and applies "
                            "to weighted or design-based fits; this one is unweighted (fitted to "
                            "the exact maximum). Hint: leave tol out")
    mask = where_mask(s, where, func="ordinal_logit")
    lhs, X, frame = _design(s, formula, mask, intercept=False, language=language)
    col = frame[lhs]
    if not isinstance(col.dtype, pd.CategoricalDtype):
        raise AnalysisError(f"ordinal_logit: the response '{lhs}' must be an (ordered) categorical")
    codes = pd.Series(col.cat.codes.to_numpy(), index=frame.index).loc[X.index]
    keep = (codes >= 0).to_numpy()
    X, codes = X[keep], codes[keep].to_numpy()
    present = np.unique(codes)
    cats = [str(c) for c in np.asarray(col.cat.categories)[present]]
    if len(present) < 3:
        raise AnalysisError(f"ordinal_logit: the response '{lhs}' needs at least 3 observed levels; "
                            f"found {cats}. Hint: use logit()")
    yy = np.searchsorted(present, codes)
    names = list(X.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = OrderedModel(yy, X.to_numpy(), distr="logit")
        try:
            res = mod.fit(method="newton", disp=False, maxiter=200)
        except (np.linalg.LinAlgError, ValueError):
            res = None
        if res is None or not res.mle_retvals.get("converged", False):
            res = mod.fit(method="bfgs", disp=False, maxiter=5000)
    converged = bool(res.mle_retvals.get("converged", True))
    if not converged:
        warnings.warn(f"ordinal_logit {formula!r} did not converge", ConvergenceWarning, stacklevel=2)
    params = np.asarray(res.params)
    if s.has_design:
        return _svyolr_model(s, formula, lhs, X, yy, params, cats, confidence, tol)
    singular = res.normalized_cov_params is None or _near_singular(mod.hessian(params))
    if singular:  # (quasi-)separation: the information matrix cannot be inverted
        warnings.warn(f"ordinal_logit {formula!r}: the Hessian is singular or nearly so "
                      "((quasi-)separation or collinear terms); standard errors, tests and "
                      "intervals are not available", ConvergenceWarning, stacklevel=2)
        cov = np.full((len(params), len(params)), np.nan)
    else:
        cov = np.asarray(res.cov_params())
    p_x = X.shape[1]
    # thresholds: statsmodels stores zeta_1 and log increments
    raw = params[p_x:]
    zeta = np.cumsum(np.concatenate([[raw[0]], np.exp(raw[1:])]))
    J = np.zeros((len(raw), len(raw)))
    for k in range(len(raw)):
        J[k, 0] = 1.0
        for m in range(1, k + 1):
            J[k, m] = math.exp(raw[m])
    cz = J @ cov[p_x:, p_x:] @ J.T
    est = np.concatenate([params[:p_x], zeta])
    se = np.concatenate([np.sqrt(np.diag(cov)[:p_x]), np.sqrt(np.diag(cz))])
    stat = est / se
    p = 2 * norm.sf(np.abs(stat))
    z = norm.ppf((1 + confidence) / 2)
    labels = names + [f"{cats[k]}|{cats[k + 1]}" for k in range(len(cats) - 1)]
    or_mask = np.array([True] * p_x + [False] * len(zeta))
    table = _table(labels, est, se, stat, p, z, or_mask)
    notes = (
        f"Model: logit P({lhs} ≤ k) = ζ_k − xβ (R MASS::polr parameterisation); "
        f"{len(yy)} complete rows used.",
        f"Wald z tests; {confidence:.0%} Wald CI of the odds ratios; threshold SEs by the delta "
        "method.",
        weighting_note(s),
    ) + (("The Hessian is singular or nearly so ((quasi-)separation in the data or collinear "
          "terms): standard errors, tests and intervals are not available (NaN).",)
         if singular else ())
    return Model(kind="ordinal_logit", formula=formula, response=lhs, table=table, n=len(yy),
                 method="Ordinal logistic regression (proportional odds)", confidence=confidence,
                 converged=converged, aic=float(res.aic), notes=notes)


def _svyolr_model(s, formula, lhs, X, yy, start, cats, confidence, tol=None) -> Model:
    """R ``svyolr``: weighted proportional-odds fit with a design-based covariance."""
    from scipy.stats import norm

    from ..core.design import Design
    from ._svyolr import svyolr

    rows = np.zeros(len(s.data), dtype=bool)
    pos = s.data.index.get_indexer(X.index)
    rows[pos] = True
    order = np.argsort(pos)  # rows of the design in data order
    Xm, ym = X.to_numpy()[order], yy[order]
    est, V, converged = svyolr(Design.from_survey(s), Xm, ym, rows, start, reltol=tol)
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    stat = est / se
    p = 2 * norm.sf(np.abs(stat))
    z = norm.ppf((1 + confidence) / 2)
    p_x = X.shape[1]
    labels = list(X.columns) + [f"{cats[k]}|{cats[k + 1]}" for k in range(len(cats) - 1)]
    table = _table(labels, est, se, stat, p, z, np.array([True] * p_x + [False] * (len(est) - p_x)))
    names = [_unquote(n) for n in labels]
    notes = (
        f"Model: logit P({lhs} ≤ k) = ζ_k − xβ, weighted (R survey::svyolr); "
        f"{len(ym)} complete rows used.",
        ("Replicate-weight covariance: the model refitted under each replicate's weights, "
         "R svrVar of the coefficients and cut points (svyolr.svyrep.design); Wald z tests."
         if s.design.replicates is not None else
         "Design-based sandwich covariance (svyrecvar of the scores times the inverse of R's "
         "numerically differentiated Hessian); Wald z tests; thresholds by the delta method."),
        weighting_note(s),
    ) + (() if converged else ("Warning: the optimisation did not converge.",))
    return Model(kind="ordinal_logit", formula=formula, response=lhs, table=table, n=len(ym),
                 method="Survey-weighted ordinal logistic regression (R svyolr)",
                 confidence=confidence, converged=converged, notes=notes,
                 vcov=pd.DataFrame(V, index=names, columns=names), df_resid=math.inf,
                 family="ordinal", link="logit")
