"""Wald statistics refuse a numerically singular covariance, as R's solve() does."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey.analysis._common import solve_r


def test_computationally_singular_matrix_is_refused_like_r():
    # R: solve(matrix(c(1, 1, 1, 1 + 3e-16), 2), c(1, 2)) stops with "system is
    # computationally singular" (solve.default's tol = .Machine$double.eps on LAPACK's rcond);
    # the 1-norm rcond is 1 / kappa_1 = 5.55e-17 (computed here: R is not installed)
    a = np.array([[1.0, 1.0], [1.0, 1.0 + 3e-16]])
    b = np.array([1.0, 2.0])
    assert np.all(np.isfinite(np.linalg.solve(a, b)))  # NumPy answers with ~1e16 values
    with pytest.raises(np.linalg.LinAlgError, match="computationally singular"):
        solve_r(a, b)
    with pytest.raises(np.linalg.LinAlgError, match="computationally singular"):
        solve_r(np.array([[1.0, np.nan], [0.0, 1.0]]), b)


@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_well_conditioned_systems_solve_as_numpy(k, seed):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(k, k))
    a = m @ m.T + k * np.eye(k)  # a covariance, comfortably positive definite
    b = rng.normal(size=k)
    np.testing.assert_array_equal(solve_r(a, b), np.linalg.solve(a, b))


def test_wald_of_a_singular_covariance_is_nan_not_huge():
    from survey.analysis._design_group_tests import _wald

    beta = np.array([0.0, 1.0, 2.0])
    V = np.array([[1.0, 0, 0], [0, 1.0, 1.0], [0, 1.0, 1.0 + 3e-16]])
    assert np.isnan(_wald(beta, V))
    assert _wald(beta, np.eye(3)) == pytest.approx(5.0)
