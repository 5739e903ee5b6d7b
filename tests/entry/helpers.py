"""Shared helpers of the data-entry tests: a small template, a logged-in client, forms."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]

SMALL_YAML = """\
schema: survey-template/1
id: small_entry
title: {en: Small entry test, zh-Hant: 小型錄入測試}
languages:
  default: en
  available: {en: {name: English}, zh-Hant: {name: 繁體中文}}
fieldwork:
  unit_variable: unit
  units:
    - {id: north, label: {en: North}, issued: 10, returned: 8}
    - {id: south, label: {en: South}, issued: 10, returned: 9}
  issued: 20
  returned: 17
choice_lists:
  units:
    choices:
      - {name: north, code: 1, label: {en: North, zh-Hant: 北}}
      - {name: south, code: 2, label: {en: South, zh-Hant: 南}}
  yn:
    choices:
      - {name: "1", label: {en: "LABEL_YES", zh-Hant: 是}}
      - {name: "2", label: {en: "No", zh-Hant: 否}}
items:
  - {name: rid, type: text, role: id, label: {en: Form number}}
  - {name: unit, type: select_one, list: units, role: admin, label: {en: Unit}}
  - {name: smoker, type: select_one, list: yn, label: {en: "SMOKER_LABEL"}}
  - name: cigs
    type: integer
    range: [1, 80]
    relevant: "${smoker} = '1'"
    constraint_message: {en: CIGS_MESSAGE between 1 and 80}
    label: {en: Cigarettes a day}
"""


def small_template(tmp_path, *, label: str = "SMOKER_LABEL", yes: str = "LABEL_YES"):
    import survey as sv

    path = tmp_path / "small.yaml"
    path.write_text(SMALL_YAML.replace("SMOKER_LABEL", label).replace("LABEL_YES", yes),
                    encoding="utf-8")
    return sv.load_questionnaire(path), path


def csrf_of(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


def without_csrf(html: str) -> str:
    """The page without its random CSRF token, which can contain any short text ("D1", "Q0")
    that a test asserts is absent."""
    return re.sub(r'(name="_csrf" value=")[^"]*"', r'\1"', html)


def login(client, *, clerk: str = "clerk A", pass_: int = 1) -> str:
    """Open the start page, name the clerk and the pass; returns the CSRF token."""
    token = csrf_of(client.get("/").text)
    r = client.post("/start", data={"_csrf": token, "clerk": clerk, "pass": str(pass_)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return token


def problems_in(html: str) -> list[str]:
    """The problem lines of the summary at the top of a refused form (unescaped)."""
    import html as _html

    box = re.search(r'<ul class="summary"[^>]*>(.*?)</ul>', html, re.S)
    return [_html.unescape(m) for m in re.findall(r"<li[^>]*>(.*?)</li>", box.group(1))] \
        if box else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(template, db, *args: str):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "survey.cli", "entry", str(template), "--db", str(db),
         "--port", str(port), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the entry server did not start: " + proc.stderr.read().decode())
