"""The walkthrough notebooks run top to bottom on the bundled data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHART_CALL = re.compile(r"^(charts|sv|ch)\.\w+_chart\(", re.M)
WALKTHROUGHS = sorted(p.name for p in NOTEBOOKS.glob("0[0-9]_*.ipynb"))


def test_the_five_walkthroughs_exist():
    assert [n[:2] for n in WALKTHROUGHS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("name", WALKTHROUGHS)
def test_walkthrough_runs(name, tmp_path):
    import nbformat
    import papermill as pm

    from survey.reporting._render import encrypted_kernel_manager

    pm.execute_notebook(str(NOTEBOOKS / name), str(tmp_path / name), kernel_name="python3",
                        progress_bar=False, log_output=False, cwd=str(NOTEBOOKS),
                        kernel_manager_class=encrypted_kernel_manager())
    nb = nbformat.read(tmp_path / name, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        kinds = [o.get("name", o.output_type) for o in outputs]
        assert "error" not in kinds and "stderr" not in kinds, (name, i, outputs)
        if CHART_CALL.search(cell.source):  # a chart cell shows an image, not "<Figure ...>"
            mimes = {m for o in outputs for m in o.get("data", {})}
            assert mimes & {"image/png", "image/svg+xml"}, (name, i, cell.source, mimes)
