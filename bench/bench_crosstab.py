"""Benchmark: one weighted cross-tab with its tests and effect sizes, ours vs pandas.crosstab.

Run: .venv/bin/python bench/bench_crosstab.py [--n 1000000] [--rounds 15]

Data as research/performance.md §1: q (6 categories) × b (7 categories), int codes in pandas
categoricals, lognormal weights scaled to mean 1, seeded. For each N the methods run in turn
(A B C A B C ...) and the median is reported, plus the median of the round-by-round ratio.

* ``ours: crosstab weighted`` - sv.crosstab(s, "q", by="b") on a weighted Survey: Σw table,
  design-based Rao-Scott tests (weights only: each row its own PSU), Cramér's V with its CI.
* ``ours: crosstab frequency-weighted engine`` - the counting + chi-square + LR + effect
  sizes core (`count_table` and the formulas) without the design-based variance.
* ``ours: crosstab unweighted`` - Pearson, LR, Cramér's V (no Fisher at this size).
* ``pandas.crosstab(values=w, aggfunc=sum)`` - the table alone, for comparison.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np
import pandas as pd


def make(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 6, n).astype(np.int8)
    b = (q + rng.integers(0, 7, n)) % 7
    w = rng.lognormal(0, 0.6, n)
    w /= w.mean()
    return pd.DataFrame({
        "q": pd.Categorical.from_codes(q, [f"q{i}" for i in range(6)]),
        "b": pd.Categorical.from_codes(b.astype(np.int8), [f"b{i}" for i in range(7)]),
        "w": w,
    })


def timeit(fn, min_time=0.003):
    gc.collect()
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    reps = 1 if dt >= min_time else int(min_time / max(dt, 1e-7)) + 1
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def engine(df):
    """The frequency-weighted core: one bincount per table, then closed-form statistics."""
    from survey.analysis.crosstab import _chi2_parts, _cramers_v_ci, _lr, _pearson, count_table

    a = df["q"].cat.codes.to_numpy()
    b = df["b"].cat.codes.to_numpy()
    w = df["w"].to_numpy()
    t = count_table(a.astype(np.intp), 6, b.astype(np.intp), 7, w)
    n, rs, cs, e = _chi2_parts(t)
    x2, g2 = _pearson(t, e), _lr(t, e)
    v = (x2 / (n * 5)) ** 0.5
    _cramers_v_ci(x2, 30, n, 6, 0.95)
    return x2, g2, v


def main() -> None:
    import survey as sv

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="*", default=[366, 100_000, 1_000_000])
    ap.add_argument("--rounds", type=int, default=11)
    args = ap.parse_args()
    for n in args.n:
        df = make(n)
        s_w = sv.Survey.from_frame(df, weight="w")
        s_u = sv.Survey.from_frame(df)
        methods = {
            "ours: crosstab weighted (design-based tests)":
                lambda s_w=s_w: sv.crosstab(s_w, "q", by="b"),
            "ours: frequency-weighted engine (bincount + X2 + G2 + V)": lambda df=df: engine(df),
            "ours: crosstab unweighted":
                lambda s_u=s_u: sv.crosstab(s_u, "q", by="b", fisher=False),
            "pandas.crosstab(values=w, aggfunc=sum)": lambda df=df: pd.crosstab(
                df["q"], df["b"], values=df["w"], aggfunc="sum"),
        }
        times = {k: [] for k in methods}
        for _ in range(args.rounds):
            for k, fn in methods.items():
                times[k].append(timeit(fn))
        base = times["pandas.crosstab(values=w, aggfunc=sum)"]
        print(f"\nN = {n:,}")
        print(f"{'method':60s} {'median':>10s} {'min':>10s} {'x pandas':>9s}")
        for k, ts in times.items():
            ratio = statistics.median(t / p for t, p in zip(ts, base))
            print(f"{k:60s} {statistics.median(ts) * 1e3:9.3f}ms {min(ts) * 1e3:9.3f}ms {ratio:8.3f}x")


if __name__ == "__main__":
    main()
