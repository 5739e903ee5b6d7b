"""Benchmark: the data-entry app on a real uvicorn on 127.0.0.1 (flagship template).

    .venv/bin/python bench/bench_entry.py [--forms 30] [--out bench/README-entry.md]

Times, per form, as a clerk's browser sees them (httpx over HTTP, wall clock):

1. ``POST /check`` — the live check the page asks for as the clerk leaves a field (the whole
   form judged by the ingest mapping and the validation engine);
2. ``POST /form`` right after that check (the keyboard flow: Enter on the last field checks,
   then Save posts the same answers) — the engine's verdict on those answers is reused, so
   this is the store: one SQLite transaction (WAL, synchronous=NORMAL) with its history rows;
3. ``POST /form`` cold (no check before, e.g. without JavaScript): engine + store;
4. ``GET /form`` — the next blank form after a save.

Targets (issue 16): saving a form <= 50 ms, loading the next blank form <= 200 ms.
"""

from __future__ import annotations

import argparse
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def form(rid: str, i: int) -> dict:
    return {"respondent_id": rid, "unit": str(1 + i % 4), "rank_level": str(1 + i % 5),
            "age_band": str(2 + i % 4), "education": str(1 + i % 3), "sex": str(1 + i % 2),
            "grassroots_years": str(i % 17), "top_leader": "2", "posts_held": str(1 + i % 5),
            "necessity": str(1 + i % 3), "gains": ["mass_work", "style"],
            **{f"att_{k}": str(1 + (i + k) % 5) for k in range(1, 7)}}


def serve(db: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "survey.cli", "entry", "grassroots_training",
                             "--db", str(db), "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(url + "/", timeout=1)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("server did not start: " + proc.stderr.read().decode())


def in_process(n: int, db: Path) -> list[float]:
    """CPU seconds of the serving thread for a cold save (judge + store), without HTTP: what
    the save costs on a quiet core, whatever the other processes on the machine do."""
    from survey.entry.form import EntryForm
    from survey.entry.store import EntryStore
    from survey.ingest.read import _load

    q = _load("grassroots_training")
    entry, store = EntryForm(q), EntryStore(db, template_id=str(q.id))
    out = []
    for i in range(n + 3):
        posted = {k: v if isinstance(v, list) else [v] for k, v in form(f"P{i:04d}", i).items()}
        t0 = time.thread_time()
        checked = entry.check(posted, "en")
        assert not checked.errors, checked.errors
        store.save(checked.respondent_id, 1, checked.values, clerk="bench")
        if i >= 3:
            out.append(time.thread_time() - t0)
    return out


def main() -> None:
    import httpx

    ap = argparse.ArgumentParser()
    ap.add_argument("--forms", type=int, default=30)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    db = Path(tempfile.mkdtemp()) / "bench.sqlite"
    proc, url = serve(db)
    times: dict[str, list[float]] = {"check": [], "save_after_check": [], "save_cold": [],
                                     "next_form": []}
    try:
        c = httpx.Client(base_url=url, timeout=30)
        token = re.search(r'name="_csrf" value="([^"]+)"', c.get("/").text).group(1)
        c.post("/start", data={"_csrf": token, "clerk": "bench", "pass": "1"})
        for i in range(args.forms + 3):  # the first 3 warm up
            warm = i >= 3
            data = {"_csrf": token, **form(f"W{i:04d}", i)}
            t0 = time.perf_counter()
            c.post("/check", data=data)
            t1 = time.perf_counter()
            r = c.post("/form", data=data)
            t2 = time.perf_counter()
            assert r.status_code == 303, r.text[:500]
            c.get("/form")
            t3 = time.perf_counter()
            cold = {"_csrf": token, **form(f"C{i:04d}", i + 1)}
            t4 = time.perf_counter()
            r = c.post("/form", data=cold)
            t5 = time.perf_counter()
            assert r.status_code == 303, r.text[:500]
            if warm:
                times["check"].append(t1 - t0)
                times["save_after_check"].append(t2 - t1)
                times["next_form"].append(t3 - t2)
                times["save_cold"].append(t5 - t4)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    cpu = in_process(args.forms, db.parent / "cpu.sqlite")
    rows = []
    labels = {"check": ("live check of a field (`POST /check`, whole form judged)", "-"),
              "save_after_check": ("save after the live check (`POST /form`: store)", "<= 50 ms"),
              "save_cold": ("save cold, no check before (`POST /form`: engine + store)",
                            "<= 50 ms"),
              "next_form": ("next blank form (`GET /form`)", "<= 200 ms")}
    for key, (label, target) in labels.items():
        t = np.array(times[key]) * 1000
        rows.append(f"| {label} | {np.median(t):.1f} ms | {t.min():.1f} - {t.max():.1f} ms | "
                    f"{target} |")
    t = np.array(cpu) * 1000
    rows.append(f"| cold save in process, CPU time of the serving thread (mapping + engine + "
                f"store) | {np.median(t):.1f} ms | {t.min():.1f} - {t.max():.1f} ms | <= 50 ms |")
    table = ("| step | median | min - max | target |\n|---|---|---|---|\n" + "\n".join(rows))
    head = (f"{args.forms} flagship forms over HTTP to uvicorn on 127.0.0.1, "
            f"{platform.machine()}, Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC")
    print(head)
    print(table)
    if args.out:
        Path(args.out).write_text(f"## Data entry (issue 16)\n\n{head}\n\n{table}\n",
                                  encoding="utf-8")


if __name__ == "__main__":
    main()
