"""Benchmark: raking 1,000,000 rows to 3 and 5 margins.

Reports (a) the raking core - joint cells, IPF on the small table, weights gathered back to
the rows (what the 10 ms target of issue 5 is about) - and (b) ``sv.rake`` end to end, which
also resolves the category labels of each margin, builds the WeightingReport and copies the
data frame with the new weight column.

    .venv/bin/python bench/bench_rake.py [N]
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _timing import timeit  # noqa: E402

SIZES = {"sex": 2, "age": 6, "region": 5, "edu": 4, "rank": 5}


def make(n, seed=3):
    rng = np.random.default_rng(seed)
    cols = {}
    base = rng.normal(size=n)
    for name, k in SIZES.items():
        z = base * 0.7 + rng.normal(size=n)
        codes = np.clip(np.floor((z + 2) / 4 * k), 0, k - 1).astype(np.int8)
        cols[name] = pd.Categorical.from_codes(codes, [f"{name}{i}" for i in range(k)])
    return pd.DataFrame(cols)


def main(n=1_000_000):
    import survey as sv
    from survey.weighting._common import parse_margin, scale_margins
    from survey.weighting._rake import _ipf, _joint_cells

    df = make(n)
    s = sv.Survey.from_frame(df)
    for m in (3, 5):
        names = list(SIZES)[:m]
        targets = {v: {f"{v}{i}": 1 / SIZES[v] for i in range(SIZES[v])} for v in names}
        margins = [parse_margin(s, v, targets[v]) for v in names]
        scale_margins(margins, float(n))
        w0 = np.ones(n)

        def core(margins=margins, w0=w0):
            cell, cc = _joint_cells(margins)
            cw = np.bincount(cell, weights=w0, minlength=len(cc))
            g, it, dev = _ipf(cw, cc, [mg.target for mg in margins], float(n), 1e-6, 100, None)
            return w0 * g[cell], it, dev, len(cc)

        w, it, dev, ncell = core()
        t_core = timeit(core)
        t_full = timeit(lambda targets=targets: sv.rake(s, targets), runs=5)
        r = sv.rake(s, targets)
        print(f"{m} margins, {ncell} joint cells: {it} sweeps, max deviation {dev:.2g} "
              f"(report: {r.weighting.max_deviation:.2g})")
        print(f"| raking core, {m} margins | {t_core[0] * 1e3:.1f} ms | "
              f"{t_core[1] * 1e3:.1f} - {t_core[2] * 1e3:.1f} ms |")
        print(f"| sv.rake end to end, {m} margins | {t_full[0] * 1e3:.1f} ms | "
              f"{t_full[1] * 1e3:.1f} - {t_full[2] * 1e3:.1f} ms |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
