"""The README's tour is code users copy: it must run as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make report" in text and "make test" in text


@pytest.mark.slow
def test_readme_tour_runs(monkeypatch, tmp_path):
    blocks = _python_blocks()
    assert blocks, "README has no python block"
    monkeypatch.chdir(ROOT)
    import matplotlib

    matplotlib.use("Agg")
    namespace: dict = {}
    for block in blocks:
        code = block.replace("/tmp/", f"{tmp_path}/")
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["s"].source["rows_read"] == 367
