"""Disclosure control of banner cells: primary suppression of small counts and the
secondary (complementary) cells that keep them from being recovered from totals, nets or
means. Cut from :mod:`survey.analysis.banner` along its seam.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ._banner_table import _Block


def _suppress(b: _Block, columns: Sequence[dict], threshold: int) -> np.ndarray:
    """Primary and secondary suppression of one block (see :func:`banner`)."""
    R, C = b.n.shape
    hid = np.zeros((R, C), dtype=np.int8)
    if threshold <= 0 or R == 0:
        return hid
    countable = np.array([s in ("pct", "net") for s in b.stat])
    prim = countable[:, None] & (b.n > 0) & (b.n < threshold)
    hid[prim] = 1
    dist = np.flatnonzero(np.array([s == "pct" for s in b.stat]))
    partition = b.kind in ("single", "likert")
    by = np.array([c["by"] for c in columns], dtype=object)
    groups = [np.flatnonzero(by == g) for g in dict.fromkeys(by[1:])]

    def hide_one_more(cells_r: np.ndarray, cells_c: np.ndarray) -> bool:
        h = hid[cells_r, cells_c]
        if (h > 0).sum() != 1:
            return False
        cand = np.flatnonzero(h == 0)
        if cand.size == 0:
            return False
        nn = b.n[cells_r[cand], cells_c[cand]].astype(float)
        nn = np.where(nn > 0, nn, np.inf) if np.isfinite(np.where(nn > 0, nn, np.inf)).any() else nn
        k = cand[int(np.argmin(nn))]
        hid[cells_r[k], cells_c[k]] = 2
        return True

    changed = True
    while changed:
        changed = False
        if partition and dist.size:
            for c in range(C):  # categories of a column add up to its base
                changed |= hide_one_more(dist, np.full(dist.size, c))
        for r in dist:  # a row's by-columns add up to (about) its Total
            for g in groups:
                cells = np.r_[0, g]
                changed |= hide_one_more(np.full(cells.size, r), cells)
    # nets and Likert means would give a hidden cell back: hide them too
    for r, parts in enumerate(b.net_parts):
        if not parts:
            continue
        ph = hid[list(parts), :]
        if b.stat[r] == "net":
            reveal = ((ph > 0).sum(axis=0) == 1) & (hid[r] == 0)
        else:  # mean of a Likert item
            reveal = (ph > 0).any(axis=0)
        hid[r, reveal] = 2
    return hid
