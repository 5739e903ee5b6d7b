"""Side by side with `svy` (Rust core, Polars) on the same Parquet file, in one run.

    .venv/bin/python bench/bench_svy.py [--n 1000000] [--runs 7] [--svy-python PATH]
                                        [--keep DIR] [--only ours|svy]

Data: ``--n`` rows, 10 strata, 50,000 PSUs (5 % of n, capped) nested in strata, lognormal
weights, a numeric ``y`` with a cluster effect, ``item`` (5 categories), ``grp`` (4), three
raking margins ``ma`` (3), ``mb`` (4), ``mc`` (5), 20 banner questions ``q0..q19`` (2-7
categories). Written once to a Parquet file that both sides read.

svy runs in its own virtual environment (never the project's): ``--svy-python`` or
``$SVY_PYTHON`` or ``/work/wt/svyenv/bin/python`` (``python3 -m venv DIR && DIR/bin/pip install
svy==0.35.0 polars pyarrow``). When that interpreter is absent the svy column is skipped with a
note. The same script is the svy worker (``--worker svy``): it imports only polars and svy there.

Every task is timed ``--runs`` times after one warm-up; medians are reported, and estimates
and SEs are compared between the two sides (max relative difference printed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
DEFAULT_SVY = os.environ.get("SVY_PYTHON", "/work/wt/svyenv/bin/python")
TASKS = [
    ("design", "design building"),
    ("mean", "mean of y with Taylor SE"),
    ("prop", "proportions of a 5-category variable with SEs"),
    ("domain", "mean by a 4-category domain"),
    ("crosstab", "crosstab 5x4: cell shares with SEs + Rao-Scott"),
    ("rake", "rake 3 margins"),
    ("raked_mean", "mean with SE on the raked design (prepared)"),
    ("banner", "banner, 20 questions x 4 banner variables, design-based letters"),
    ("raked_banner", "the same banner on the raked design"),
    ("rep_design", "replicate design (80 Fay-BRR replicates): building, once (grouping, df)"),
    ("rep_mean", "replicate design (80 Fay-BRR replicates): mean with SE"),
    ("rep_crosstab", "replicate design (80 Fay-BRR replicates): crosstab 5x4: cell shares "
                     "with SEs + Rao-Scott"),
    ("rep_mean_plain", "replicate design, general path (replicates not grouped): mean with SE"),
    ("rep_crosstab_plain", "replicate design, general path (replicates not grouped): crosstab"),
]
REPS = 80
MARGINS = {"ma": 3, "mb": 4, "mc": 5}
BANNER_BY = ["grp", "ma", "mb", "mc"]


def _timeit(fn, runs):
    """Median wall seconds per call; the median CPU seconds of the process
    (``time.process_time``, less sensitive to other jobs) is left in ``_timeit.cpu``."""
    fn()  # warm-up (caches, first-call imports)
    out, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    out.sort()
    cpu.sort()
    _timeit.cpu = cpu[len(cpu) // 2]
    return out[len(out) // 2]


def _peak_memory(df, tasks: dict) -> dict:
    """Peak memory each task allocates beyond what is already held (``tracemalloc``, which
    numpy reports its arrays to), after a warm-up call, beside the bytes of the columns the
    task reads (categorical columns: their codes). Returns ``{task: [peak, columns]}``."""
    import gc
    import tracemalloc

    out = {}
    for key, (fn, cols) in tasks.items():
        fn()
        gc.collect()
        used = 0
        for c in cols:
            col = df[c]
            used += col.cat.codes.nbytes if hasattr(col, "cat") else col.to_numpy().nbytes
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        res = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        del res
        out[key] = [peak, used]
    return out


def make_parquet(path: Path, n: int, seed: int = 1) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_psu = min(50_000, max(n // 20, 20))
    psu = np.sort(rng.integers(0, n_psu, n)).astype(np.int32)
    strata = (psu.astype(np.int64) * 10 // n_psu).astype(np.int32)
    effect = rng.normal(0, 0.8, n_psu)[psu]
    y = 50 + 10 * effect + rng.normal(0, 10, n)
    item = np.clip(np.round(2 + effect + rng.normal(0, 1, n)), 0, 4).astype(np.int32)
    cols = {"strata": strata, "psu": psu, "w": rng.lognormal(0, 0.5, n), "y": y,
            "item": item, "grp": rng.integers(0, 4, n).astype(np.int32)}
    for name, k in MARGINS.items():
        cols[name] = rng.integers(0, k, n).astype(np.int32)
    ks = rng.integers(2, 8, 20)
    for q in range(20):
        cols[f"q{q}"] = np.clip(np.round((ks[q] - 1) / 2 + effect + rng.normal(0, 1, n)),
                                0, ks[q] - 1).astype(np.int32)
    pq.write_table(pa.table(cols), path)


def make_replicates(path: Path, main: Path, seed: int = 2) -> None:
    """80 Fay-BRR replicate weights (rho = 0.5: w * 1.5 or w * 0.5 by half-sample) of the
    rows of ``main``, in their own file (the other tasks do not read them)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pq.read_table(main, columns=["strata", "psu", "w"])
    psu = t["psu"].to_numpy()
    w = t["w"].to_numpy()
    rng = np.random.default_rng(seed)
    half = rng.integers(0, 2, (int(psu.max()) + 1, REPS)).astype(bool)  # per PSU
    cols = {"w": w}
    for r in range(REPS):
        cols[f"rw{r + 1}"] = w * np.where(half[psu, r], 1.5, 0.5)
    for c in ("item", "grp", "y"):
        cols[c] = pq.read_table(main, columns=[c])[c].to_numpy()
    pq.write_table(pa.table(cols), path)


def rake_targets(n_total: float) -> dict:
    """Population margins (shares differ from the sample's so the weights move)."""
    out = {}
    for name, k in MARGINS.items():
        shares = [(i + 1) / (k * (k + 1) / 2) for i in range(k)]
        out[name] = {i: n_total * s for i, s in enumerate(shares)}
    return out


# -------------------------------------------------------------------------------- svy side
def run_svy(path: str, runs: int) -> dict:
    import polars as pl
    import svy

    if os.environ.get("BENCH_REPLICATES_ONLY"):
        return _svy_replicates(path, runs, {"times": {}, "values": {}})
    data = pl.read_parquet(path)
    design = svy.Design(stratum="strata", psu="psu", wgt="w")
    res: dict = {"times": {}, "values": {}}
    T = res["times"]
    T["design"] = _timeit(lambda: svy.Sample(data, design), runs)
    sample = svy.Sample(data, design)
    est = sample.estimation
    T["mean"] = _timeit(lambda: est.mean("y"), runs)
    m = est.mean("y").to_polars()
    res["values"]["mean"] = [m["est"][0], m["se"][0]]
    T["prop"] = _timeit(lambda: est.prop("item"), runs)
    p = est.prop("item").to_polars().sort("item")
    res["values"]["prop"] = [p["est"].to_list(), p["se"].to_list()]
    T["domain"] = _timeit(lambda: est.mean("y", by="grp"), runs)
    d = est.mean("y", by="grp").to_polars().sort("grp")
    res["values"]["domain"] = [d["est"].to_list(), d["se"].to_list()]
    cat = sample.categorical
    T["crosstab"] = _timeit(lambda: cat.tabulate("item", "grp", share_of="col"), runs)
    tab = cat.tabulate("item", "grp", share_of="col")
    c = tab.to_polars().sort(["grp", "item"])
    res["values"]["crosstab"] = [c["est"].to_list(), c["se"].to_list()]
    try:
        res["values"]["rao_scott_f"] = float(tab.stats.f.value)
    except AttributeError:  # pragma: no cover - older/newer attribute names
        res["values"]["rao_scott_f"] = None
    total_w = float(data["w"].sum())
    targets = rake_targets(total_w)
    k = [0]

    def rake():
        k[0] += 1
        return sample.weighting.rake(controls=targets, wgt_name=f"rk{k[0]}", tol=1e-10,
                                     max_iter=200)

    T["rake"] = _timeit(rake, runs)
    raked = rake()
    T["raked_mean"] = _timeit(lambda: raked.estimation.mean("y"), runs)
    rm = raked.estimation.mean("y").to_polars()
    res["values"]["raked_mean"] = [rm["est"][0], rm["se"][0]]
    return _svy_replicates(path, runs, res)


def _svy_replicates(path: str, runs: int, res: dict) -> dict:
    """The replicate-weight tasks on svy's side (the second Parquet file)."""
    import polars as pl
    import svy

    T = res["times"]
    rep = Path(path).with_suffix(".rep.parquet")
    if rep.exists() and os.environ.get("BENCH_REPLICATES"):
        rdata = pl.read_parquet(rep)
        rdes = svy.Design(wgt="w", rep_wgts=svy.BrrWgts(prefix="rw", n_reps=REPS,
                                                        fay_coef=0.5))
        rs = svy.Sample(rdata, rdes)
        T["rep_mean"] = _timeit(lambda: rs.estimation.mean("y", method="replication"), runs)
        v = rs.estimation.mean("y", method="replication").to_polars()
        res["values"]["rep_mean"] = [v["est"][0], v["se"][0]]
        T["rep_crosstab"] = _timeit(lambda: rs.categorical.tabulate(
            "item", "grp", share_of="col", method="replication"), runs)
        c = rs.categorical.tabulate("item", "grp", share_of="col",
                                    method="replication").to_polars().sort(["grp", "item"])
        res["values"]["rep_crosstab"] = [c["est"].to_list(), c["se"].to_list()]
        # svy has one replication path whatever the weights hold: the same figures
        T["rep_mean_plain"], T["rep_crosstab_plain"] = T["rep_mean"], T["rep_crosstab"]
    return res


# -------------------------------------------------------------------------------- our side
def run_ours(path: str, runs: int) -> dict:
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(HERE.parent))
    import survey as sv
    from survey.core.design import Design

    if os.environ.get("BENCH_REPLICATES_ONLY"):
        return _ours_replicates(path, runs, {"times": {}, "values": {}, "cpu": {}})
    df = pd.read_parquet(path)
    for col in ["item", "grp", *MARGINS, *[f"q{q}" for q in range(20)]]:
        k = int(df[col].max()) + 1
        df[col] = pd.Categorical.from_codes(df[col].to_numpy(), list(range(k)))
    res: dict = {"times": {}, "values": {}, "cpu": {}}
    T = res["times"]

    def build():
        s = sv.Survey.from_frame(df, weight="w", strata="strata", psu="psu")
        Design.from_survey(s)
        return s

    T["design"] = _timeit(build, runs)
    res["cpu"]["design"] = _timeit.cpu
    s = build()
    T["mean"] = _timeit(lambda: sv.mean(s, "y"), runs)
    res["cpu"]["mean"] = _timeit.cpu
    e = sv.mean(s, "y")
    res["values"]["mean"] = [e.estimate, e.se]
    T["prop"] = _timeit(lambda: sv.proportions(s, "item"), runs)
    res["cpu"]["prop"] = _timeit.cpu
    p = sv.proportions(s, "item")
    res["values"]["prop"] = [p.estimate.tolist(), p.se.tolist()]
    T["domain"] = _timeit(lambda: sv.mean(s, "y", by="grp"), runs)
    res["cpu"]["domain"] = _timeit.cpu
    d = sv.mean(s, "y", by="grp")
    res["values"]["domain"] = [d.estimate.tolist(), d.se.tolist()]

    def xtab():
        ct = sv.crosstab(s, "item", by="grp")
        return ct, ct.tests, ct.cell_estimates("column")

    T["crosstab"] = _timeit(xtab, runs)
    res["cpu"]["crosstab"] = _timeit.cpu
    ct, tests, cells = xtab()
    # svy sorted by (grp, item): column-major over our (item x grp) frames
    res["values"]["crosstab"] = [cells["estimate"].to_numpy().T.ravel().tolist(),
                                 cells["se"].to_numpy().T.ravel().tolist()]
    res["values"]["rao_scott_f"] = float(tests.loc["rao_scott_f", "statistic"])
    targets = rake_targets(float(df["w"].sum()))
    T["rake"] = _timeit(lambda: sv.rake(s, targets=targets, tol=1e-10, max_iter=200), runs)
    res["cpu"]["rake"] = _timeit.cpu
    raked = sv.rake(s, targets=targets, tol=1e-10, max_iter=200)
    T["raked_mean"] = _timeit(lambda: sv.mean(raked, "y"), runs)
    res["cpu"]["raked_mean"] = _timeit.cpu
    rm = sv.mean(raked, "y")
    res["values"]["raked_mean"] = [rm.estimate, rm.se]
    res["memory"] = _peak_memory(df, {
        "design": (build, ["strata", "psu", "w"]),
        "mean": (lambda: sv.mean(s, "y"), ["strata", "psu", "w", "y"]),
        "prop": (lambda: sv.proportions(s, "item"), ["strata", "psu", "w", "item"]),
        "domain": (lambda: sv.mean(s, "y", by="grp"), ["strata", "psu", "w", "y", "grp"]),
        "crosstab": (xtab, ["strata", "psu", "w", "item", "grp"]),
        "rake": (lambda: sv.rake(s, targets=targets, tol=1e-10, max_iter=200),
                 ["strata", "psu", "w", *MARGINS]),
        "raked_mean": (lambda: sv.mean(raked, "y"), ["strata", "psu", "w", "y", *MARGINS]),
    })
    rows = [f"q{q}" for q in range(20)]
    if not os.environ.get("BENCH_SKIP_BANNER"):
        T["banner"] = _timeit(lambda: sv.banner(s, rows=rows, by=BANNER_BY, suppress_below=0),
                              max(3, runs // 2))
        res["cpu"]["banner"] = _timeit.cpu
        res["memory"].update(_peak_memory(df, {"banner": (
            lambda: sv.banner(s, rows=rows, by=BANNER_BY, suppress_below=0),
            ["strata", "psu", "w", *rows, *BANNER_BY])}))
        T["raked_banner"] = _timeit(
            lambda: sv.banner(raked, rows=rows, by=BANNER_BY, suppress_below=0), 3)
        res["cpu"]["raked_banner"] = _timeit.cpu
    s = raked = df = None  # free the Taylor data before the replicate file is read
    _ours_replicates(path, runs, res)
    _ = np
    return res


def _read_columns(path: Path):
    """A Parquet file as a DataFrame whose float64 columns share one column-major block,
    read column by column (peak memory: the data plus one column; ``pd.read_parquet``
    holds the Arrow table and the DataFrame at once, 2x the 6.4 GB of 80 replicates at 10M
    rows)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path)
    schema = f.schema_arrow
    floats = [c for c in schema.names if pa.types.is_float64(schema.field(c).type)]
    block = np.empty((f.metadata.num_rows, len(floats)), order="F")
    for j, c in enumerate(floats):
        block[:, j] = f.read(columns=[c]).column(0).to_numpy()
    df = pd.DataFrame(block, columns=floats, copy=False)
    for c in schema.names:
        if c not in floats:
            df[c] = f.read(columns=[c]).column(0).to_numpy()
    return df


def _ours_replicates(path: str, runs: int, res: dict) -> dict:
    """The replicate-weight tasks on our side (the second Parquet file)."""
    import pandas as pd

    import survey as sv
    from survey.core.design import Design

    T = res["times"]
    rep = Path(path).with_suffix(".rep.parquet")
    if not rep.exists() or not os.environ.get("BENCH_REPLICATES"):
        return res
    rdf = _read_columns(rep)
    for col in ("item", "grp"):
        rdf[col] = pd.Categorical.from_codes(rdf[col].to_numpy(),
                                             list(range(int(rdf[col].max()) + 1)))

    def rep_tasks(suffix):
        rs = sv.Survey.from_frame(rdf, weight="w", replicate_weights=r"rw[0-9]+",
                                  replicate_type="Fay", rho=0.5)
        t0 = time.perf_counter()
        Design.from_survey(rs)
        T["rep_design" + suffix] = time.perf_counter() - t0
        T["rep_mean" + suffix] = _timeit(lambda: sv.mean(rs, "y"), runs)
        res["cpu"]["rep_mean" + suffix] = _timeit.cpu

        def rxt():  # the same work as svy's tabulate: cell shares with SEs, tests
            ct = sv.crosstab(rs, "item", by="grp")
            return ct.tests, ct.cell_estimates("column")

        T["rep_crosstab" + suffix] = _timeit(rxt, runs)
        res["cpu"]["rep_crosstab" + suffix] = _timeit.cpu
        if not suffix:
            v = sv.mean(rs, "y")
            res["values"]["rep_mean"] = [v.estimate, v.se]
            cells = rxt()[1]
            res["values"]["rep_crosstab"] = [cells["estimate"].to_numpy().T.ravel().tolist(),
                                             cells["se"].to_numpy().T.ravel().tolist()]
            res.setdefault("memory", {}).update(_peak_memory(rdf, {
                "rep_mean": (lambda: sv.mean(rs, "y"), ["w", "y", *rs.design.replicates.columns]),
                "rep_crosstab": (rxt, ["w", "item", "grp", *rs.design.replicates.columns]),
            }))

    rep_tasks("")
    from survey.core import replicates

    replicates.find_groups = lambda W, w: None  # as if the weights were row-specific
    rep_tasks("_plain")
    return res


# -------------------------------------------------------------------------------- compare
def _maxrel(a, b) -> float:
    import numpy as np

    a, b = np.ravel(np.asarray(a, float)), np.ravel(np.asarray(b, float))
    if a.shape != b.shape:
        return float("nan")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def _fmt(t):
    if t is None:
        return "-"
    return f"{t * 1e3:.0f} ms" if t < 1 else f"{t:.2f} s"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--svy-python", default=DEFAULT_SVY)
    ap.add_argument("--keep", help="folder for the Parquet file (default: a temporary one)")
    ap.add_argument("--only", choices=("ours", "svy"))
    ap.add_argument("--skip-banner", action="store_true", help="do not time the banner")
    ap.add_argument("--replicates", action="store_true",
                    help=f"also time a {REPS}-replicate Fay-BRR design (a second Parquet file)")
    ap.add_argument("--replicates-only", action="store_true",
                    help="time only the replicate-weight tasks (implies --replicates)")
    ap.add_argument("--worker", choices=("svy", "ours"), help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.replicates_only:
        args.replicates = True
        os.environ["BENCH_REPLICATES_ONLY"] = "1"  # read by the worker processes
    if args.skip_banner:
        os.environ["BENCH_SKIP_BANNER"] = "1"  # read by the worker processes
    if args.worker:
        fn = run_svy if args.worker == "svy" else run_ours
        print(json.dumps(fn(args.path, args.runs)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        path = folder / f"bench_svy_{args.n}.parquet"
        if not path.exists():
            make_parquet(path, args.n)
        rep = path.with_suffix(".rep.parquet")
        if args.replicates and not rep.exists():
            make_replicates(rep, path)
        if args.replicates:  # the workers time the replicate file only when asked (a kept
            os.environ["BENCH_REPLICATES"] = "1"  # file is never deleted: others share it)
        results = {}
        sides = ["ours", "svy"] if args.only is None else [args.only]
        for side in sides:
            exe = sys.executable if side == "ours" else args.svy_python
            if side == "svy" and not Path(exe).exists():
                print(f"note: svy skipped: no interpreter at {exe} (see the docstring)")
                continue
            out = subprocess.run([exe, __file__, "--worker", side, "--path", str(path),
                                  "--runs", str(args.runs)], capture_output=True, text=True)
            if out.returncode:
                print(f"note: {side} failed:\n{out.stderr[-2000:]}")
                continue
            results[side] = json.loads(out.stdout.strip().splitlines()[-1])
    ours, svy = results.get("ours"), results.get("svy")
    print(f"\n{args.n:,} rows, 10 strata, {min(50_000, max(args.n // 20, 20)):,} PSUs; "
          f"medians of {args.runs}\n")
    print("| task | ours | svy | svy/ours |")
    print("|---|---|---|---|")
    for key, label in TASKS:
        a = ours["times"].get(key) if ours else None
        b = svy["times"].get(key) if svy else None
        ratio = f"{b / a:.1f}x" if a and b else "-"
        print(f"| {label} | {_fmt(a)} | {_fmt(b)} | {ratio} |")
    if ours and ours.get("cpu"):
        print("\nCPU time of our side (median process_time per call; wall time above):")
        for key, label in TASKS:
            if key in ours["cpu"]:
                print(f"  {label}: {_fmt(ours['cpu'][key])}")
    if ours and ours.get("memory"):
        print("\npeak memory allocated by each of our tasks (tracemalloc, beyond the data and "
              "the cached design) vs the bytes of the columns it reads:")
        print("| task | peak | columns read | peak / columns |")
        print("|---|---|---|---|")
        for key, label in TASKS:
            if key in ours["memory"]:
                peak, used = ours["memory"][key]
                print(f"| {label} | {peak / 2**20:.0f} MB | {used / 2**20:.0f} MB | "
                      f"{peak / used:.2f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    if ours and svy:
        print("\nagreement (max relative difference, estimate / SE):")
        for key in ("mean", "prop", "domain", "crosstab", "raked_mean", "rep_mean",
                    "rep_crosstab"):
            if key not in ours["values"] or key not in svy["values"]:
                continue
            oa, sa = ours["values"][key], svy["values"][key]
            print(f"  {key}: {_maxrel(oa[0], sa[0]):.1e} / {_maxrel(oa[1], sa[1]):.1e}")
        f1, f2 = ours["values"].get("rao_scott_f"), svy["values"].get("rao_scott_f")
        if f1 is not None and f2 is not None:
            print(f"  Rao-Scott F: ours {f1:.10g}, svy {f2:.10g}")


if __name__ == "__main__":
    main()
