"""Disclosure control shared by tables and charts: which cells of a table to hide."""

from __future__ import annotations

from typing import Any

import numpy as np


def disclosure_mask(unweighted: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(primary, secondary) boolean masks of the cells to hide.

    Primary: cells with 0 < n < ``k`` respondents (unweighted counts: a weight never makes
    one person into several). Secondary: a column whose total is known (a column of
    percentages adds up to 100 %, a base is printed) with exactly one primary cell would give
    that cell away by subtraction, so its smallest other non-empty cell is hidden too.

    >>> p, s = disclosure_mask([[1, 10], [20, 3], [30, 40]], 5)
    >>> p.astype(int).tolist(), s.astype(int).tolist()
    ([[1, 0], [0, 1], [0, 0]], [[0, 1], [1, 0], [0, 0]])
    """
    n = np.asarray(unweighted, dtype=float)
    if n.ndim == 1:
        n = n[:, None]
    primary = (n > 0) & (n < k)
    secondary = np.zeros_like(primary)
    for j in range(n.shape[1]):
        if primary[:, j].sum() != 1:
            continue
        candidates = [i for i in range(n.shape[0]) if not primary[i, j] and n[i, j] > 0]
        if not candidates:
            candidates = [i for i in range(n.shape[0]) if not primary[i, j]]
        if candidates:
            secondary[min(candidates, key=lambda i: (n[i, j], i)), j] = True
    return primary, secondary
