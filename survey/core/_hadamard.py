"""Hadamard matrices for BRR half-samples, in R survey's 0/1 form (1 = +1).

* ``sylvester(order)``: Sylvester's doubling of [1], order a power of two (R's
  ``hadamard.doubler``: [[H, H], [H, 1 - H]]).
* ``paley(n)``: R survey's ``paley()`` construction for a prime p = 3 (mod 4), p >= n:
  rows/columns 1..p of the 0/1 matrix hold 0 where (i + j) mod p is a quadratic residue
  (or 0) and 1 otherwise, bordered by a first row and column of 1s; order p + 1.
* ``brr_matrix(values, n_strata)``: a user-supplied matrix read as R ``brrweights(...,
  hadamard.matrix = )`` reads it: the first value in column-major order becomes 0, the other
  1; at least n_strata + 1 rows; checked to be Hadamard (H H' = order * I in +-1 form).

R's own ``hadamard(n)`` takes several sizes from matrices stored in the survey package's
binary data (``R/sysdata.rda``: Sloane's 28, Plackett-Burman's 36, and others), which are not
reproducible from its source; pass R's matrix (``hadamard.matrix``) to get R's half-samples.
"""

from __future__ import annotations

import numpy as np

from ..errors import AnalysisError

__all__ = ["brr_matrix", "paley", "sylvester"]


def sylvester(order: int) -> np.ndarray:
    """Sylvester's Hadamard matrix of ``order`` (a power of two) in 0/1 form."""
    H = np.ones((1, 1), dtype=np.int8)
    while H.shape[0] < order:
        H = np.block([[H, H], [H, 1 - H]])
    return H


def _is_prime(p: int) -> bool:
    return p >= 2 and all(p % d for d in range(2, int(p ** 0.5) + 1))


def paley(n: int) -> np.ndarray:
    """R survey ``paley(prime = p)`` for the smallest prime p >= n with p + 1 divisible by 4
    (R ``paley(n)`` knows such primes up to 7919): a 0/1 Hadamard matrix of order p + 1 with
    a first row and column of 1s (full orthogonal balance)."""
    p = max(int(n), 3)
    while not (p % 4 == 3 and _is_prime(p)):
        p += 1
    residues = {(i * i) % p for i in range(p)}  # includes 0, as R's table does
    m = np.add.outer(np.arange(p), np.arange(p)) % p
    core = np.where(np.isin(m, list(residues)), 0, 1).astype(np.int8)
    H = np.ones((p + 1, p + 1), dtype=np.int8)
    H[1:, 1:] = core
    return H


def brr_matrix(values, n_strata: int) -> np.ndarray:
    """A user's Hadamard matrix as R ``brrweights(hadamard.matrix = )`` reads it."""
    try:
        A = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"as_replicate: hadamard= must be a matrix; {exc}") from exc
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise AnalysisError(f"as_replicate: hadamard= must be a square matrix; got shape "
                            f"{A.shape}")
    if A.shape[0] < n_strata + 1:
        raise AnalysisError(f"as_replicate: hadamard= has {A.shape[0]} rows; the design has "
                            f"{n_strata} strata, so at least {n_strata + 1} are needed (R: "
                            "'hadamard.matrix must be a matrix of dimension at least nstrata+1')")
    flat = A.ravel(order="F")
    levels = list(dict.fromkeys(flat.tolist()))
    if len(levels) != 2:
        raise AnalysisError(f"as_replicate: hadamard= must hold exactly two values (0/1 or "
                            f"-1/+1); found {len(levels)}")
    H = np.where(A == levels[0], 0, 1).astype(np.int8)  # R: first value -> 0
    S = 2 * H.astype(np.int64) - 1
    if not np.array_equal(S @ S.T, H.shape[0] * np.eye(H.shape[0], dtype=np.int64)):
        raise AnalysisError("as_replicate: hadamard= is not a Hadamard matrix (its rows are not "
                            "orthogonal in +-1 form). Hint: R's hadamard(n) or paley(p) give one")
    return H
