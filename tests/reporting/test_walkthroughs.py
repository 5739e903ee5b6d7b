"""The walkthrough notebooks run top to bottom on the bundled data.

Each walkthrough is executed once per test session: in JupyterLab by test_browser.py
(``test_walkthrough_in_jupyterlab_runs_and_shows_its_charts``, which saves the notebook and
applies :func:`executed_notebook_problems` to it) when Debian's Chromium is there, else here
under papermill with the same checks. Running it twice cost the suite about 50 s of one
worker's time and checked nothing more: both runs fail on any error or stderr output and on
a chart cell without an image.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WALKTHROUGHS = sorted(p.name for p in NOTEBOOKS.glob("0[0-9]_*.ipynb"))
IN_JUPYTERLAB = Path("/usr/bin/chromium").exists()  # test_browser.py's condition


def test_the_five_walkthroughs_exist():
    assert [n[:2] for n in WALKTHROUGHS] == ["01", "02", "03", "04", "05"]


@pytest.mark.skipif(IN_JUPYTERLAB, reason="run once per session, in JupyterLab, by test_browser."
                    "py::test_walkthrough_in_jupyterlab_runs_and_shows_its_charts, with the "
                    "same checks on the notebook JupyterLab saved")
@pytest.mark.parametrize("name", WALKTHROUGHS)
def test_walkthrough_runs(name, tmp_path, notebook_problems):
    import papermill as pm

    from survey.reporting._render import encrypted_kernel_manager

    pm.execute_notebook(str(NOTEBOOKS / name), str(tmp_path / name), kernel_name="python3",
                        progress_bar=False, log_output=False, cwd=str(NOTEBOOKS),
                        kernel_manager_class=encrypted_kernel_manager())
    assert notebook_problems(tmp_path / name) == []


def test_the_checks_catch_errors_stderr_and_charts_without_an_image(tmp_path, notebook_problems):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    cells = [
        new_code_cell("import warnings", outputs=[new_output("stream", name="stderr", text="W")]),
        new_code_cell("1/0", outputs=[new_output("error", ename="ZeroDivisionError",
                                                 evalue="division by zero", traceback=[])]),
        new_code_cell("sv.bar_chart(s, 'q1')", outputs=[new_output(
            "execute_result", data={"text/plain": "<Figure size 800x275 with 1 Axes>"})]),
        new_code_cell("sv.bar_chart(s, 'q2')", outputs=[new_output(
            "display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})]),
        new_code_cell("print('fine')", outputs=[new_output("stream", name="stdout", text="ok")]),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    assert [p[1] for p in notebook_problems(path)] == [0, 1, 2]
