"""The walkthrough notebooks run top to bottom on the bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WALKTHROUGHS = sorted(p.name for p in NOTEBOOKS.glob("0[0-9]_*.ipynb"))


def test_the_five_walkthroughs_exist():
    assert [n[:2] for n in WALKTHROUGHS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("name", WALKTHROUGHS)
def test_walkthrough_runs(name, tmp_path):
    import papermill as pm

    pm.execute_notebook(str(NOTEBOOKS / name), str(tmp_path / name), kernel_name="python3",
                        progress_bar=False, log_output=False, cwd=str(NOTEBOOKS))
