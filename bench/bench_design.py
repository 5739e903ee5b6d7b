"""Benchmark: design preparation, design-based mean with SE, Rao-Scott crosstab at 1M rows.

1,000,000 rows, 10 strata, 50,000 PSUs nested in strata (5,000 per stratum), weights, a
5-point item with a cluster effect and a 4-level grouping variable.

    .venv/bin/python bench/bench_design.py [N]

Targets (issue 5): design preparation <= 50 ms, mean with SE <= 15 ms, Rao-Scott <= 50 ms.
"""

from __future__ import annotations

import os
import sys

# one BLAS thread: on this shared 2-core machine OpenBLAS worker threads stall for seconds
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from _timing import timeit  # noqa: E402


def make(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_psu = 50_000 * n // 1_000_000 or 100
    psu = np.sort(rng.integers(0, n_psu, n))
    strata = psu * 10 // n_psu
    effect = rng.normal(0, 0.8, n_psu)[psu]
    y = np.clip(np.round(3 + effect + rng.normal(0, 1, n)), 1, 5).astype(np.int8)
    g = rng.integers(0, 4, n)
    return pd.DataFrame({
        "strata": strata.astype(np.int8), "psu": psu.astype(np.int32),
        "w": rng.uniform(0.5, 2.0, n), "y": y.astype(float),
        "item": pd.Categorical.from_codes(y - 1, ["1", "2", "3", "4", "5"]),
        "grp": pd.Categorical.from_codes(g, ["a", "b", "c", "d"]),
    })


def main(n: int = 1_000_000) -> None:
    import survey as sv
    from survey.analysis._design_tests import rao_scott_tests
    from survey.core.design import Design, build_design

    df = make(n)
    s = sv.Survey.from_frame(df, weight="w", strata="strata", psu="psu")
    prep = timeit(lambda: build_design(df, weights=df["w"].to_numpy(), strata="strata",
                                       psu=("psu",)))
    Design.from_survey(s)  # prepared and cached on the Survey
    mean = timeit(lambda: sv.mean(s, "y"))
    rc = df["item"].cat.codes.to_numpy().astype(np.int64)
    cc = df["grp"].cat.codes.to_numpy().astype(np.int64)
    rs = timeit(lambda: rao_scott_tests(s, rc, cc, 5, 4))
    e = sv.mean(s, "y")
    print(f"N = {n:,}: mean {e.estimate:.12g}, SE {e.se:.12g}, deff {e.deff:.4g}, df {e.df:g}")
    for name, (med, lo, hi) in [("design preparation (build_design)", prep),
                                ("design-based mean with SE (prepared design)", mean),
                                ("Rao-Scott 5x4 crosstab tests (prepared design)", rs)]:
        print(f"| {name} | {med * 1e3:.1f} ms | {lo * 1e3:.1f} - {hi * 1e3:.1f} ms |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
