"""Time the flagship report: execution, HTML export and PDF printing.

    .venv/bin/python bench/bench_report.py [--repeat 3]

Builds reports/… into a temporary directory (HTML only, then HTML + PDF) and prints a
Markdown table of wall-clock seconds per step (median over the repeats).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from survey.reporting import render_report

    data = ROOT / "data" / "grassroots_training_responses.csv"
    rows: dict[str, dict[str, list[float]]] = {}
    for label, formats in (("html", ["html"]), ("html+pdf", ["html", "pdf"])):
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                r = render_report("grassroots_training", data, notebook="grassroots_training",
                                  language="zh-Hant", output_dir=tmp, formats=formats,
                                  progress=False)
                wall = time.perf_counter() - t0
            steps = rows.setdefault(label, {})
            for k, v in {**r.timings, "wall": wall}.items():
                steps.setdefault(k, []).append(v)
    print("| build | prepare | execute | html | pdf | total (wall) |")
    print("|---|---|---|---|---|---|")
    for label, steps in rows.items():
        med = {k: statistics.median(v) for k, v in steps.items()}
        cells = [f"{med.get(k, float('nan')):.2f}" for k in ("prepare", "execute", "html", "pdf")]
        print(f"| {label} | " + " | ".join(cells) + f" | {med['wall']:.2f} |")


if __name__ == "__main__":
    main()
