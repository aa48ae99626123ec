"""Test settings shared by the unit tests and the nbval run of the notebooks.

It sits at the repository root so that it applies to every pytest run, including one
that names a single notebook (``pytest --nbval notebooks/04_convolution.ipynb``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent

# Notebooks run on the CPU unless a caller (make test-cuda) says otherwise; the kernel
# started by nbval inherits this environment.
os.environ.setdefault("COURSE_DEVICE", "cpu")
os.environ.setdefault("PYTHONHASHSEED", "0")
# A lesson that waits for the controlled runs another process is computing (make test computes
# them in the background) waits without the stderr line it would print: its outputs are compared.
os.environ.setdefault("COURSE_QUIET_WAIT", "1")


def pytest_configure(config):
    # Always use the kernel of the environment pytest runs in (the project's venv),
    # whatever kernel a notebook's metadata names.
    if hasattr(config.option, "nbval_current_env"):
        config.option.nbval_current_env = True
        # Generous per-cell limit: the slowest lesson cells train for a while on 2 cores.
        config.option.nbval_cell_timeout = 600
        config.option.nbval_kernel_startup_timeout = 120
        if not config.option.nbval_sanitize_with and not config.option.sanitize_with:
            config.option.nbval_sanitize_with = str(ROOT / "tests" / "sanitize.cfg")


#: a scope that mentions these reads the controlled runs of ``companion.experiments``, which
#: ``make test`` starts computing in the background (about a minute of one core)
_SHARED_RUNS = re.compile(r"\b(experiments|claims)\b")


def pytest_collection_modifyitems(session, config, items):
    """Longest first, the shared runs last: the notebooks before the unit tests, the notebook
    with the most cells first; then whatever reads the controlled runs (lessons 15, 16 and 17, the
    ledger's and the runs' tests), so that the background computation has finished when they
    start instead of keeping a worker waiting. Each notebook's cells keep their order.
    ``make test`` hands out whole files in this order (``--dist loadscope --no-loadscope-reorder``)."""
    files: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        files[path] = files.get(path, 0) + 1
    first_seen = {path: n for n, path in enumerate(files)}
    shared = {}
    for path in files:
        try:
            shared[path] = bool(_SHARED_RUNS.search((ROOT / path).read_text(encoding="utf-8")))
        except OSError:
            shared[path] = False

    def order(item):
        path = item.nodeid.split("::", 1)[0]
        notebook = path.endswith(".ipynb")
        return (shared[path], 0 if notebook else 1, -files[path] if notebook else 0, first_seen[path])

    items.sort(key=order)  # stable: the cells of a notebook keep their order


#: nbval's words for the two sides of a difference, and the course's
_NBVAL_LABELS = {
    "assert reference_output == test_output failed:":
        "stored output (in the .ipynb) vs fresh output (this run): '+' lines are stored, '-' lines are fresh",
    "<<<<<<<<<<<< Reference outputs from ipynb file:": "<<<<<<<<<<<< stored (in the .ipynb):",
    "<<<<<<<<<<<< Reference output from ipynb file:": "<<<<<<<<<<<< stored (in the .ipynb):",
    "============ disagrees with newly computed (test) output:": "============ fresh (this run):",
}


def nbval_report(text: str, path: str, cell_num: int) -> str:
    """An nbval failure as the course words it: the cell numbered as JupyterLab shows it (nbval's
    ``Cell K`` counts code cells from 0: it is code cell K + 1), the two sides of a difference
    called stored and fresh."""
    for old, new in _NBVAL_LABELS.items():
        text = text.replace(old, new)
    number = cell_num + 1
    head = f"{path}, code cell {number} (JupyterLab shows [{number}] after a refresh; nbval calls it Cell {cell_num})"
    return f"{head}\n{text}"


def pytest_runtest_makereport(item, call):
    if call.excinfo is None or not hasattr(item, "cell_num") or type(item).__module__ != "nbval.plugin":
        return None
    from _pytest.reports import TestReport

    report = TestReport.from_item_and_call(item, call)
    if isinstance(report.longrepr, str):
        report.longrepr = nbval_report(report.longrepr, item.nodeid.split("::", 1)[0], item.cell_num)
    return report
