"""sv.glm (R glm / svyglm) for every family and sv.wald_test (R regTermTest).

R values: tests/analysis/reference/svyglm.json (R 4.2.2, survey 4.1.1; converged fits with
glm.control(epsilon = 1e-14, maxit = 100)). Gamma has no R value here: it is checked against an
independent solution of the weighted estimating equations and sandwich (stated in the test).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import root
from scipy.stats import f as fdist
from test_design_reference import DESIGNS, close, load

import survey as sv


def _mat(m):
    return np.asarray(m["values"], dtype=float)


@pytest.fixture(scope="module")
def dstrat():
    return DESIGNS["dstrat"]()


CASES = [
    # svyglm(api00 ~ ell + meals + mobility, design = dstrat, family = gaussian(),
    #        control = glm.control(epsilon = 1e-14, maxit = 100))
    ("gaussian", "api00 ~ ell + meals + mobility", "dstrat/svyglm/gaussian/api00~ell+meals+mobility"),
    # svyglm(enroll ~ stype + meals, design = dstrat, family = quasipoisson(), control = ...)
    ("quasipoisson", "enroll ~ stype + meals", "dstrat/svyglm/quasipoisson/enroll~stype+meals"),
    # svyglm(sch.wide ~ ell + meals, design = dstrat, family = quasibinomial(), control = ...)
    ("quasibinomial", "sch.wide ~ ell + meals", "dstrat/svyglm/logit/sch.wide~ell+meals"),
]


@pytest.mark.parametrize("family,formula,key", CASES)
def test_svyglm_families_match_r(dstrat, svyglm_ref, family, formula, key):
    r = svyglm_ref[key]
    m = sv.glm(dstrat, formula, family=family)
    t = m.to_frame()
    close(t["estimate"], r["coefficients"])
    close(t["se"], r["se"])
    close(t["statistic"], r["t_value"])
    close(t["p_value"], r["p_value"])
    close(m.vcov.to_numpy(), _mat(r["vcov"]))
    assert m.df_resid == r["df_residual"]
    close(m.dispersion, r["dispersion_reported"])  # summary(m)$dispersion (svyvar of Pearson)
    assert m.converged and m.iterations >= 2


@pytest.mark.parametrize("family,formula,key", CASES)
def test_svyglm_at_r_default_epsilon_matches_r_default_output(dstrat, svyglm_ref, family,
                                                              formula, key):
    # the same calls without control= (R's default glm.control(epsilon = 1e-8)): R stops the
    # IRLS early and reports the last iteration's covariance - up to ~5e-6 off the converged
    # SEs; tol=1e-8 follows R's glm.fit step for step and stops where it stops
    r = svyglm_ref[key + "/default_glm_control"]
    m = sv.glm(dstrat, formula, family=family, tol=1e-8)
    t = m.to_frame()
    close(t["estimate"], r["coefficients"])
    close(t["se"], r["se"])
    close(t["p_value"], r["p_value"])
    close(m.vcov.to_numpy(), _mat(r["vcov"]))
    if family != "gaussian":  # the default stop is visibly not the converged one
        conv = sv.glm(dstrat, formula, family=family).to_frame()["se"].to_numpy()
        assert np.max(np.abs(t["se"].to_numpy() / conv - 1)) > 1e-8


@pytest.mark.parametrize("quasi,plain", [("quasipoisson", "poisson"),
                                         ("quasibinomial", "binomial")])
def test_design_families_share_the_fit(dstrat, quasi, plain):
    # svyglm with family = poisson()/binomial() gives the same coefficients and design SEs as
    # the quasi family (only R's warnings differ)
    f = "enroll ~ stype + meals" if plain == "poisson" else "sch.wide ~ ell + meals"
    a, b = sv.glm(dstrat, f, family=quasi), sv.glm(dstrat, f, family=plain)
    close(b.to_frame()[["estimate", "se"]].to_numpy(), a.to_frame()[["estimate", "se"]].to_numpy(),
          rtol=1e-12)


def test_unweighted_binomial_glm_matches_r(svyglm_ref):
    # glm(sch.wide ~ ell + meals, data = apiclus1, family = binomial(),
    #     control = glm.control(epsilon = 1e-14, maxit = 100))
    r = svyglm_ref["unweighted/glm/logit/sch.wide~ell+meals"]
    m = sv.glm(load("apiclus1"), "sch.wide ~ ell + meals", family="binomial")
    t = m.to_frame()
    close(t["estimate"], r["coefficients"])
    close(t["se"], r["se"])
    close(t["statistic"], r["z_value"])
    close(t["p_value"], r["p_value"])
    assert m.dispersion == 1 and np.isinf(m.df_resid)


def test_unweighted_gaussian_is_ols():
    # independent: least squares by numpy, sigma^2 = RSS / (n - p), t tests on n - p
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=30), "z": rng.normal(size=30)})
    df["y"] = 1 + 2 * df["x"] - df["z"] + rng.normal(size=30)
    m = sv.glm(df, "y ~ x + z")
    X = np.column_stack([np.ones(30), df["x"], df["z"]])
    b, rss, *_ = np.linalg.lstsq(X, df["y"], rcond=None)
    s2 = rss[0] / 27
    close(m.to_frame()["estimate"], b, rtol=1e-10)
    close(m.to_frame()["se"], np.sqrt(np.diag(s2 * np.linalg.inv(X.T @ X))), rtol=1e-10)
    assert m.df_resid == 27 and m.dispersion == pytest.approx(s2, rel=1e-10)


def test_gamma_design_matches_independent_sandwich():
    # Independent: solve sum w x (y - 1/(x'b)) = 0 (Gamma, inverse link) with scipy, then
    # V = n/(n-1) A^-1 (sum s s') A^-1 with A = sum w mu^2 x x' and s = w x (y - mu): the
    # with-replacement design variance of a weights-only design (each row its own PSU).
    d = load("apisrs")[["api00", "ell"]].dropna().reset_index(drop=True)
    d["w"] = np.linspace(1, 3, len(d))
    s = sv.Survey.from_frame(d, weight="w")
    m = sv.glm(s, "api00 ~ ell", family="Gamma")
    X = np.column_stack([np.ones(len(d)), d["ell"]])
    y, w = d["api00"].to_numpy(), d["w"].to_numpy()
    sol = root(lambda b: X.T @ (w * (y - 1 / (X @ b))), x0=[1 / y.mean(), 0.0], tol=1e-14)
    mu = 1 / (X @ sol.x)
    A = X.T @ (X * (w * mu**2)[:, None])
    S = X * (w * (y - mu))[:, None]
    Ai = np.linalg.inv(A)
    n = len(y)
    V = n / (n - 1) * Ai @ (S.T @ S) @ Ai
    close(m.to_frame()["estimate"], sol.x, rtol=1e-8)
    close(m.vcov.to_numpy(), V, rtol=1e-6)
    assert m.link == "inverse" and m.df_resid == n - 1 + 1 - 2


def test_glm_refuses_bad_input(dstrat):
    with pytest.raises(sv.AnalysisError, match="family must be one of gaussian, binomial"):
        sv.glm(dstrat, "api00 ~ ell", family="negbin")
    with pytest.raises(sv.AnalysisError, match="family='Gamma' needs a response > 0"):
        sv.glm(pd.DataFrame({"y": [0.0, 1, 2, 3], "x": [1.0, 2, 3, 4]}), "y ~ x", family="Gamma")
    with pytest.raises(sv.AnalysisError, match="is categorical"):
        sv.glm(dstrat, "stype ~ ell", family="poisson")


def test_non_convergence_is_reported(dstrat):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = sv.glm(dstrat, "enroll ~ stype + meals", family="quasipoisson", max_iter=1)
    assert not m.converged
    assert any(issubclass(c.category, sv.ConvergenceWarning) for c in caught)
    assert any("did not converge" in n for n in m.notes)


# --- wald_test (regTermTest) -------------------------------------------------------------
def test_wald_test_one_coefficient_is_the_t_test(dstrat, svyglm_ref):
    # regTermTest(m, ~meals) on one coefficient: F = t^2 on (1, df.residual), p = the t test's
    # (R values from svyglm(enroll ~ stype + meals, dstrat, quasipoisson))
    r = svyglm_ref["dstrat/svyglm/quasipoisson/enroll~stype+meals"]
    m = sv.glm(dstrat, "enroll ~ stype + meals", family="quasipoisson")
    w = sv.wald_test(m, "meals")
    close(w.statistic, r["t_value"][3] ** 2)
    close(w.p_value, r["p_value"][3])
    assert (w.df, w.df_denom) == (1, 194)


def test_wald_test_factor_term_from_r_coefficients(dstrat, svyglm_ref):
    # regTermTest(m, ~stype): F = b' V^-1 b / 2 on (2, 194), b and V the stype rows of R's
    # coef(m) and vcov(m)
    r = svyglm_ref["dstrat/svyglm/quasipoisson/enroll~stype+meals"]
    b = np.asarray(r["coefficients"][1:3])
    V = _mat(r["vcov"])[1:3, 1:3]
    F = b @ np.linalg.solve(V, b) / 2
    m = sv.glm(dstrat, "enroll ~ stype + meals", family="quasipoisson")
    w = sv.wald_test(m, ["stype"])
    close(w.statistic, F)
    close(w.p_value, fdist.sf(F, 2, 194))
    assert w.to_frame().loc[0, "df_denom"] == 194
    same = sv.wald_test(m, ["stype[T.H]", "stype[T.M]"])
    assert same.statistic == pytest.approx(w.statistic, rel=1e-14)


def test_wald_test_on_logit_and_unknown_term(dstrat):
    m = sv.logit(dstrat, "sch.wide ~ ell + meals")
    g = sv.glm(dstrat, "sch.wide ~ ell + meals", family="quasibinomial")
    assert sv.wald_test(m, ["ell", "meals"]).statistic == pytest.approx(
        sv.wald_test(g, ["ell", "meals"]).statistic, rel=1e-8)
    with pytest.raises(sv.AnalysisError, match="'mobility' is not a term"):
        sv.wald_test(m, "mobility")
