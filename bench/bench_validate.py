"""Benchmark: validating N rows × 100 questions vs pandas.read_csv of the same file.

    .venv/bin/python bench/bench_validate.py [--rows 1000000] [--out bench/README-validate.md]

The template has 100 questions: 60 single choice (5 ordered options; every 10th is shown
only when the previous answer is 1), 10 multiple choice (6 options, at most 3), 20 integers
with a range constraint, 10 free texts, plus one cross-field check. The raw data are drawn
with numpy (about 0.1% out-of-range codes, values and double marks planted), written to a
CSV file, then timed:

1. ``pandas.read_csv(path, dtype=str)`` — the baseline;
2. ``survey.validation.validate(raw, q)`` on the frame read in (1) — the validation alone;
3. (1) + (2) together, as a ratio to (1).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def template() -> dict:
    five = [{"name": str(i), "label": {"en": f"option {i}"}} for i in range(1, 6)]
    six = [{"name": f"o{i}", "label": {"en": f"item {i}"}} for i in range(1, 7)]
    items = [{"name": "rid", "type": "text", "role": "id", "label": {"en": "id"}}]
    for i in range(1, 61):
        it = {"name": f"s{i:02d}", "type": "select_one", "list": "five",
              "label": {"en": f"single {i}"}}
        if i % 10 == 0:
            it["relevant"] = f"${{s{i - 1:02d}}} = '1'"
        items.append(it)
    for i in range(1, 11):
        items.append({"name": f"m{i:02d}", "type": "select_multiple", "list": "six",
                      "max_selected": 3, "label": {"en": f"multi {i}"}})
    for i in range(1, 21):
        items.append({"name": f"n{i:02d}", "type": "integer", "range": [0, 100],
                      "label": {"en": f"number {i}"}})
    for i in range(1, 10):
        items.append({"name": f"t{i:02d}", "type": "text", "label": {"en": f"text {i}"}})
    return {
        "schema": "survey-template/1", "id": "bench", "title": {"en": "Bench"},
        "languages": {"default": "en", "available": {"en": {"name": "English"}}},
        "choice_lists": {"five": {"ordered": True, "choices": five},
                         "six": {"choices": six}},
        "items": items,
        "checks": [{"id": "c1", "expr": "${n01} <= ${n02} + 100", "severity": "warning"}],
    }


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {"rid": np.char.add("r", np.arange(n).astype(str))}
    codes = np.array(["1", "2", "3", "4", "5", "7", "1 2", ""], dtype=object)
    p = np.array([0.2, 0.2, 0.2, 0.2, 0.188, 0.001, 0.001, 0.01])
    for i in range(1, 61):
        col = codes[rng.choice(len(codes), size=n, p=p / p.sum())]
        if i % 10 == 0:  # shown only when the previous answer is 1: skip, 0.1% violations
            skip = (cols[f"s{i - 1:02d}"] != "1") & (rng.random(n) >= 0.001)
            col = np.where(skip, "", col)
        cols[f"s{i:02d}"] = col
    pool = np.array(["o1", "o2 o3", "o1 o4", "o5", "o6 o2", "o1 o2 o3", "o3", "o1 o2 o3 o4", ""],
                    dtype=object)
    pp = np.array([0.2, 0.2, 0.2, 0.15, 0.1, 0.1, 0.04, 0.001, 0.01])
    for i in range(1, 11):
        cols[f"m{i:02d}"] = pool[rng.choice(len(pool), size=n, p=pp / pp.sum())]
    for i in range(1, 21):
        x = rng.integers(0, 101, size=n).astype(str).astype(object)
        x[rng.random(n) < 0.001] = "150"
        cols[f"n{i:02d}"] = x
    words = np.array(["", "", "", "good", "needs more time", "ok"], dtype=object)
    for i in range(1, 10):
        cols[f"t{i:02d}"] = words[rng.integers(0, len(words), size=n)]
    return pd.DataFrame(cols)


def timed(fn, repeat: int = 1):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    from survey.questionnaire import Questionnaire
    from survey.validation import validate

    q = Questionnaire.from_dict(template())
    n = args.rows
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        t_make, df = timed(lambda: make_frame(n))
        df.to_csv(path, index=False)
        del df
        size_mb = path.stat().st_size / 1e6
        t_read, raw = timed(lambda: pd.read_csv(path, dtype=str))
        raw.insert(0, "_row", np.arange(2, len(raw) + 2))
        t_val, res = timed(lambda: validate(raw, q))
    rep = res.report
    lines = [
        "# Validation benchmark",
        "",
        f"`bench/bench_validate.py --rows {n}`: {n:,} rows × 100 questions "
        f"(60 single, 10 multiple, 20 integer, 9 text + id), CSV of {size_mb:,.0f} MB.",
        f"Machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__} "
        "(2 shared cores).",
        "",
        "| step | seconds | × read_csv |",
        "|---|---|---|",
        f"| `pandas.read_csv(dtype=str)` | {t_read:.2f} | 1.0 |",
        f"| `validate(raw, q)` | {t_val:.2f} | {t_val / t_read:.2f} |",
        f"| read + validate | {t_read + t_val:.2f} | {(t_read + t_val) / t_read:.2f} |",
        "",
        f"Problems found: {len(rep):,} ({rep.n_errors:,} errors); accepted "
        f"{rep.rows_accepted:,}, rejected {rep.rows_rejected:,}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
