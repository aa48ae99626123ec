"""conftest.py's nbval report: the cell as JupyterLab numbers it, the diff's sides called stored and fresh."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

pytestmark = pytest.mark.commands  # make test-commands runs these; make test leaves them out

ROOT = Path(__file__).resolve().parents[1]


def test_an_nbval_difference_names_the_cell_and_the_sides(tmp_path):
    cell = new_code_cell("print('fresh line')\nprint('same')", execution_count=2)
    cell.outputs = [new_output("stream", name="stdout", text="stored line\nsame\n")]
    nb = new_notebook(cells=[new_markdown_cell("x"), new_code_cell("a = 1", execution_count=1), cell],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = tmp_path / "diff.ipynb"
    nbformat.write(nb, path)
    # the notebook lies outside the checkout, so the root conftest.py is loaded as a plugin
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "tools.pytest_startup", "--nbval", "-p", "conftest",
                           "-p", "no:cacheprovider", "--color=no", "-q", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, encoding="utf-8")
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "code cell 2 (JupyterLab shows [2] after a refresh; nbval calls it Cell 1)" in out
    assert "'+' lines are stored, '-' lines are fresh" in out
    assert "- fresh line" in out and "+ stored line" in out  # and that is what the signs mean
