"""Benchmark: the Dask backend on a partitioned Parquet dataset larger than a worker's memory.

    .venv/bin/python bench/bench_dask.py [--n 50000000] [--part 1000000] [--workers 2]
                                         [--memory 2GB] [--folder DIR] [--keep]
                                         [--replicates 16] [--replicate-only]
                                         [--banner-only]

Writes ``--n`` rows (10 strata, 50,000 PSUs, lognormal weights, numeric ``y``, a 5-category
``item``, a 4-category ``grp``, three raking margins, and ``--replicates`` float64 bootstrap
replicate weights, Poisson(1) multipliers per PSU) as Parquet files of ``--part`` rows,
chunk by chunk (the generator never holds more than one chunk), starts a
``distributed.LocalCluster`` with ``--workers`` worker processes limited to ``--memory``
each, and times, through `Survey.from_dask`:

* crosstab item x grp with the Rao-Scott tests (weighted counts + design-based tests);
* mean of y with its Taylor SE;
* rake on three margins (IPF on the joint cells, new weights lazily per partition), and
  the mean of y with its SE on the raked design;
* on the replicate-weight design (R ``svrepdesign``, type bootstrap): the mean of y with
  its replicate SE and the crosstab item x grp with Rao-Scott. These read the replicate
  columns: with 50M rows and 16 replicates, 7.2 GB of float64 per task, more than the two
  2 GB workers hold together;
* the banner of item, ma and mc by grp and mb (categoricals of known categories) with
  design-based letters on the Taylor design: the stacked counts and the PSU totals of the
  cells' scores per partition (``--banner-only``: this step alone);

and reports the wall time, the in-memory size of the columns each task reads, and the peak
resident memory of each worker process (its ``ru_maxrss``). The data folder is deleted
afterwards unless ``--keep`` or ``--folder``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# the workers inherit these: Arrow's default (jemalloc) pool keeps freed Parquet buffers,
# which took a 2 GB worker past its limit; the system allocator returns them
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", "65536")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def write_parts(folder: Path, n: int, part: int, replicates: int = 16, seed: int = 1) -> int:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_psu = 50_000
    effect_psu = rng.normal(0, 0.8, n_psu)
    # bootstrap multipliers per PSU and replicate (Poisson(1) resampling of the PSUs)
    mult = rng.poisson(1.0, (n_psu, replicates)).astype(float)
    files = 0
    for start in range(0, n, part):
        m = min(part, n - start)
        # PSUs in order across the files (as survey files are sorted), 20+ rows each
        psu = (np.arange(start, start + m, dtype=np.int64) * n_psu // n).astype(np.int32)
        eff = effect_psu[psu]
        w = rng.lognormal(0, 0.5, m)
        cols = {
            "strata": (psu.astype(np.int64) * 10 // n_psu).astype(np.int32), "psu": psu,
            "w": w, "y": 50 + 10 * eff + rng.normal(0, 10, m),
            "item": np.clip(np.round(2 + eff + rng.normal(0, 1, m)), 0, 4).astype(np.int8),
            "grp": rng.integers(0, 4, m).astype(np.int8),
            "ma": rng.integers(0, 3, m).astype(np.int8),
            "mb": rng.integers(0, 4, m).astype(np.int8),
            "mc": rng.integers(0, 5, m).astype(np.int8),
        }
        for r in range(replicates):  # float64 replicate weights: what makes the data big
            cols[f"rep{r + 1:02d}"] = w * mult[psu, r]
        pq.write_table(pa.table(cols), folder / f"part{files:05d}.parquet")
        files += 1
    return files


def taylor_steps(sv, s, ddf, timed):
    """Crosstab, mean, rake and the raked mean on the Taylor design (strata, PSUs)."""
    taylor = ["w", "strata", "psu"]
    tests = timed("crosstab item x grp + Rao-Scott", ["item", "grp", *taylor],
                  lambda: sv.crosstab(s, "item", by="grp").tests)
    e = timed("mean of y with Taylor SE", ["y", *taylor], lambda: sv.mean(s, "y"))
    total = float(ddf["w"].sum().compute())
    targets = {k: {i: total * (i + 1) / (n * (n + 1) / 2) for i in range(n)}
               for k, n in (("ma", 3), ("mb", 4), ("mc", 5))}
    margins = ["ma", "mb", "mc"]
    r = timed("rake, 3 margins", ["w", *margins], lambda: sv.rake(s, targets=targets, tol=1e-8))
    er = timed("mean of y on the raked design", ["y", *taylor, *margins],
               lambda: sv.mean(r, "y"))
    return tests, e, r, er


def banner_step(sv, ddf, timed):
    """The banner on the Taylor design: 3 questions x 2 banner variables, design letters."""
    import pandas as pd

    sizes = {"item": 5, "grp": 4, "ma": 3, "mb": 4, "mc": 5}
    cats = ddf.astype({c: pd.CategoricalDtype(range(k)) for c, k in sizes.items()})
    s = sv.Survey.from_dask(cats, weight="w", strata="strata", psu="psu")
    return timed("banner item, ma, mc x grp, mb: design-based letters",
                 [*sizes, "w", "strata", "psu"],
                 lambda: sv.banner(s, rows=["item", "ma", "mc"], by=["grp", "mb"]))


def rows(folder: Path) -> int:
    """Rows of the Parquet files of ``folder``, from their footers (no data read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.glob("*.parquet"))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000_000)
    ap.add_argument("--part", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory", default="2GB")
    ap.add_argument("--replicates", type=int, default=16)
    ap.add_argument("--replicate-only", action="store_true",
                    help="time only the replicate-weight steps")
    ap.add_argument("--banner-only", action="store_true", help="time only the banner")
    ap.add_argument("--folder")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)

    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import survey as sv

    folder = Path(args.folder or tempfile.mkdtemp(prefix="bench_dask_"))
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    files = len(list(folder.glob("*.parquet"))) or write_parts(folder, args.n, args.part,
                                                                  args.replicates)
    t_write = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in folder.glob("*.parquet")) / 2**20
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           memory_limit=args.memory, dashboard_address=None)
    client = Client(cluster)
    try:
        ddf = dd.read_parquet(str(folder))
        s = sv.Survey.from_dask(ddf, weight="w", strata="strata", psu="psu")
        reps = [c for c in ddf.columns if c.startswith("rep")]
        rs = sv.Survey.from_dask(ddf, weight="w", replicate_weights=reps,
                                 replicate_type="bootstrap") if reps else None
        nbytes = ddf.dtypes.map(lambda d: d.itemsize) * rows(folder) / 1e9
        res = {}

        def timed(name, cols, fn):
            t = time.perf_counter()
            out = fn()
            res[name] = (time.perf_counter() - t, float(nbytes[cols].sum()))
            print(f"{name}: {res[name][0]:.1f} s", flush=True)  # progress, if a step is slow
            return out

        only = args.replicate_only or args.banner_only
        if not only:
            tests, e, r, er = taylor_steps(sv, s, ddf, timed)
        if not args.replicate_only:
            b = banner_step(sv, ddf, timed)
        if reps and not args.banner_only:
            erep = timed(f"replicate design ({len(reps)} bootstrap): mean of y with SE",
                         ["y", "w", *reps], lambda: sv.mean(rs, "y"))
            trep = timed(f"replicate design ({len(reps)} bootstrap): crosstab + Rao-Scott",
                         ["item", "grp", "w", *reps],
                         lambda: sv.crosstab(rs, "item", by="grp").tests)
        peaks = client.run(_peak_rss_mb)
    finally:
        client.close()
        cluster.close()
        if not args.keep and not args.folder:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"{args.n:,} rows in {files} Parquet files ({size:,.0f} MiB on disk, written in "
          f"{t_write:.0f} s); {args.workers} worker processes x 1 thread, memory_limit "
          f"{args.memory} each")
    if not args.replicate_only:
        f = b.to_frame()
        print(f"banner: {len(f)} cells, {int((f['sig_letters'] != '').sum())} with letters; "
              + b.notes[2])
    if not only:
        print(f"mean {e.estimate:.10g} (SE {e.se:.6g}, df {e.df:g}); raked mean "
              f"{er.estimate:.10g} (SE {er.se:.6g}); Rao-Scott F "
              f"{tests.loc['rao_scott_f', 'statistic']:.6g}; rake converged: "
              f"{r.weighting.converged}")
    if reps and not args.banner_only:
        print(f"replicate mean SE {erep.se:.6g} (df {erep.df:g}); replicate Rao-Scott F "
              f"{trep.loc['rao_scott_f', 'statistic']:.6g}")
    print("| step | wall time | columns read, in memory |")
    print("|---|---|---|")
    for k, (v, gb) in res.items():
        print(f"| {k} | {v:.1f} s | {gb:.2f} GB |")
    print("peak resident memory per worker: " + ", ".join(
        f"{v:,.0f} MiB" for v in peaks.values()))


if __name__ == "__main__":
    main()
