"""A real uvicorn on 127.0.0.1: three clerks keying at once, and a server killed mid-stream."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from survey.entry import EntryStore

from .helpers import csrf_of, small_template, start_server


def _clerk(url: str, name: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=30)
    token = csrf_of(client.get("/").text)
    r = client.post("/start", data={"_csrf": token, "clerk": name, "pass": "1"})
    assert r.status_code == 303
    return client, token


def _form(rid: str, i: int) -> dict:
    return {"rid": rid, "unit": str(1 + i % 2), "smoker": "1", "cigs": str(1 + i % 40)}


def test_three_clerks_key_100_forms_each_at_once(tmp_path):
    _, template = small_template(tmp_path)
    db = tmp_path / "e.sqlite"
    proc, url = start_server(template, db)
    acknowledged: dict[str, list[str]] = {}
    failures: list[str] = []

    def clerk(name: str) -> None:
        client, token = _clerk(url, name)
        done = acknowledged.setdefault(name, [])
        for i in range(100):
            rid = f"{name}-{i:03d}"
            r = client.post("/form", data={"_csrf": token, **_form(rid, i)})
            if r.status_code == 303:
                done.append(rid)
            else:
                failures.append(f"{rid}: {r.status_code}")
        client.close()

    try:
        threads = [threading.Thread(target=clerk, args=(n,)) for n in ("a", "b", "c")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=240)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert failures == []
    forms = EntryStore(db).forms(1)
    ids = [f["respondent_id"] for f in forms]
    assert len(ids) == 300 and len(set(ids)) == 300
    assert sorted(ids) == sorted(sum(acknowledged.values(), []))
    assert {f["clerk"] for f in forms} == {"a", "b", "c"}
    assert all(f["data"]["cigs"] == str(1 + int(f["respondent_id"][2:]) % 40) for f in forms)
    assert EntryStore(db).integrity() == "ok"


@pytest.mark.skipif(os.name != "posix", reason="kills the server with SIGKILL")
def test_server_killed_mid_stream_loses_at_most_the_form_in_flight(tmp_path):
    _, template = small_template(tmp_path)
    db = tmp_path / "e.sqlite"
    proc, url = start_server(template, db)
    client, token = _clerk(url, "k")
    acknowledged: list[str] = []
    stop = threading.Event()

    def key() -> None:
        for i in range(10_000):
            if stop.is_set():
                return
            rid = f"k-{i:05d}"
            try:
                r = client.post("/form", data={"_csrf": token, **_form(rid, i)})
            except httpx.TransportError:
                return
            if r.status_code == 303:
                acknowledged.append(rid)

    t = threading.Thread(target=key)
    t.start()
    while len(acknowledged) < 25:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # no clean shutdown: as if the machine's process died
    proc.wait(timeout=30)
    stop.set()
    t.join(timeout=30)
    store = EntryStore(db)
    assert store.integrity() == "ok"
    ids = [f["respondent_id"] for f in store.forms()]
    assert set(acknowledged) <= set(ids)  # everything the clerk was told is saved, is saved
    assert len(ids) - len(acknowledged) <= 1  # at most the form in flight
    assert len(ids) == len(set(ids))
