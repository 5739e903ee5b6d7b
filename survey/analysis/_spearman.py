"""R's p-value for Spearman's rho (``cor.test(method = "spearman")``).

R's default (``exact = NULL``): for n < 1290 without ties the null distribution of
S = sum d^2 = (n^3 - n)(1 - rho)/6 by algorithm AS 89 (Best & Roberts 1975): exact
enumeration of the n! permutations for n <= 9, the Edgeworth series beyond; with ties or
n >= 1290 the t approximation on n - 2 df. Written from the published algorithm.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

__all__ = ["spearman_p"]

_N_EXACT = 9  # R enumerates permutations up to n = 9
# AS 89 Edgeworth coefficients
_C = (0.2274, 0.2531, 0.1745, 0.0758, 0.1033, 0.3932, 0.0879, 0.0151, 0.0072, 0.0831,
      0.0131, 4.6e-4)


@cache
def _s_counts(n: int) -> tuple[int, ...]:
    """Number of permutations of 1..n with each value of S = sum (i - pi(i))^2 (bitmask DP)."""
    smax = (n ** 3 - n) // 3
    dp = {0: np.zeros(smax + 1, dtype=np.int64)}
    dp[0][0] = 1
    for mask in range(1 << n):
        if mask not in dp:
            continue
        i = bin(mask).count("1")
        if i == n:
            continue
        cur = dp.pop(mask)
        for j in range(n):
            if mask >> j & 1:
                continue
            nxt = mask | 1 << j
            d = (i - j) ** 2
            arr = dp.setdefault(nxt, np.zeros(smax + 1, dtype=np.int64))
            arr[d:] += cur[:smax + 1 - d]
    return tuple(int(c) for c in dp[(1 << n) - 1])


def _prho(n: int, s: float, lower: bool) -> float:
    """AS 89: P(S >= s), or P(S < s) when ``lower``."""
    pv = 0.0 if lower else 1.0
    if n <= 1 or s <= 0:
        return pv
    n3 = n * (n * n - 1) / 3
    if s > n3:
        return 1 - pv
    if n <= _N_EXACT:
        counts = np.asarray(_s_counts(n), dtype=float)
        total = counts.sum()
        upper = float(counts[np.arange(len(counts)) >= s].sum())
        return (total - upper) / total if lower else upper / total
    from scipy.stats import norm

    c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12 = _C
    b = 1 / n
    x = (6 * (s - 1) * b / (n * n - 1) - 1) * math.sqrt(n - 1)
    y = x * x
    u = x * b * (c1 + b * (c2 + c3 * b) + y * (-c4 + b * (c5 + c6 * b) - y * b * (
        c7 + c8 * b - y * (c9 - c10 * b + y * b * (c11 - c12 * y)))))
    y = u / math.exp(y / 2)
    pv = (-y if lower else y) + float(norm.cdf(x) if lower else norm.sf(x))
    return min(max(pv, 0.0), 1.0)


def spearman_p(rho: float, n: int, alternative: str, *, ties: bool) -> tuple[float, bool]:
    """(p-value, exact-or-Edgeworth) as R ``cor.test(method = "spearman")`` with its defaults;
    ``alternative`` is two-sided, greater (positive association) or less."""
    q = (n ** 3 - n) * (1 - rho) / 6
    as89 = n < 1290 and not ties

    def tail(lower: bool) -> float:
        if as89:
            return _prho(n, round(q) + 2 * lower, lower)
        from scipy.stats import t as tdist

        r = 1 - q / (n * (n * n - 1) / 6)
        stat = r / math.sqrt((1 - r * r) / (n - 2)) if abs(r) < 1 else math.copysign(math.inf, r)
        return float(tdist.sf(stat, n - 2) if lower else tdist.cdf(stat, n - 2))

    if alternative == "two-sided":
        p = tail(False) if q > (n ** 3 - n) / 6 else tail(True)
        return min(2 * p, 1.0), as89
    return tail(alternative == "greater"), as89
