"""Shared timing helper of the benchmark scripts (run as scripts: this folder is on sys.path)."""

from __future__ import annotations

import time

import numpy as np


def timeit(fn, runs=7):
    """Run ``fn`` ``runs`` times; (median, min, max) wall-clock seconds."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return float(np.median(out)), float(np.min(out)), float(np.max(out))
