"""Run every benchmark in this folder, one after the other: ``python -m bench [name ...]``.

Each ``bench_<name>.py`` is a script with its own options (``--help``); this runner calls each
with its defaults and sets ``OPENBLAS_NUM_THREADS=1`` so BLAS threads do not distort timings on
a shared machine. Figures are written to the ``README*.md`` files beside the scripts by the
scripts that support it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [p for p in scripts if p.stem.removeprefix("bench_") in argv]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], env=env, cwd=HERE.parent).returncode:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
