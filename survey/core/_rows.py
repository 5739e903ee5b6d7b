"""Row passes in bounded memory: ``bincount``, ``take`` and combined codes a block of rows at
a time.

``np.bincount`` and ``np.take`` convert their index to ``intp`` first: an 8-byte copy of a
1-byte category code per row, and an arithmetic key such as ``unit * k + code`` is one more
8-byte array per row. At 10 million rows each such temporary is 80 MB. The functions here do
the same work over blocks of `BLOCK` rows, so the temporaries are one block long (a few MB)
whatever the number of rows, and codes can stay in the smallest integer type that holds
them (`small_int`). Results equal the one-pass NumPy calls; weighted sums can differ in the
last bits where a bin collects rows from several blocks (the order of the additions).
"""

from __future__ import annotations

import numpy as np

BLOCK = 1 << 17  # rows per block: 1 MB per float column, so a block's temporaries stay in cache

__all__ = ["BLOCK", "bincount", "combine_codes", "small_int", "take"]


def small_int(top: int) -> np.dtype:
    """The smallest signed integer type holding every value in ``-1 .. top``."""
    for dt in (np.int8, np.int16, np.int32):
        if top <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def bincount(key: np.ndarray, weights: np.ndarray | None = None, minlength: int = 0,
             ) -> np.ndarray:
    """``np.bincount(key, weights, minlength)`` a block at a time (``key`` of any integer
    type, no negative values; the result has ``max(minlength, key.max() + 1)`` bins)."""
    key = np.asarray(key)
    n = len(key)
    if n <= BLOCK:
        return np.bincount(key, weights, minlength=minlength)
    size = max(int(minlength), int(key.max()) + 1 if n else 0)
    out = np.zeros(size, dtype=np.int64 if weights is None else np.float64)
    for a in range(0, n, BLOCK):
        w = None if weights is None else weights[a:a + BLOCK]
        out += np.bincount(key[a:a + BLOCK], w, minlength=size)
    return out


def take(table: np.ndarray, idx: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``table[idx]`` for a 1-d ``table`` and integer ``idx`` of any type in
    ``0 .. len(table) - 1`` (not checked), a block at a time into ``out`` (allocated when
    ``None``)."""
    table = np.asarray(table)
    if out is None:
        out = np.empty(len(idx), dtype=table.dtype)
    for a in range(0, len(idx), BLOCK):  # mode="clip": NumPy buffers ``out`` under "raise"
        np.take(table, idx[a:a + BLOCK], out=out[a:a + BLOCK], mode="clip")
    return out


def combine_codes(codes, sizes, *, shift: int = 0) -> np.ndarray:
    """Mixed-radix key ``((c0 * k1 + c1) * k2 + c2) ...`` of per-row codes ``codes[j]`` in
    ``-shift .. sizes[j] - 1 - shift`` (``shift=1``: -1 = missing becomes level 0), computed
    a block at a time in the smallest integer type that holds the largest key."""
    n = len(codes[0])
    top = int(np.prod(sizes, dtype=np.float64)) - 1
    out = np.empty(n, dtype=small_int(top))
    for a in range(0, n, BLOCK):
        b = min(a + BLOCK, n)
        key = np.zeros(b - a, dtype=np.int64)
        for c, k in zip(codes, sizes):
            key *= k
            key += c[a:b]
            if shift:
                key += shift
        out[a:b] = key
    return out
