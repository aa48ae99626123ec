"""Test settings shared by the unit tests and the nbval run of the notebooks.

It sits at the repository root so that it applies to every pytest run, including one
that names a single notebook (``pytest --nbval notebooks/03_conv1.ipynb``)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent

# Notebooks run on the CPU unless a caller (make test-cuda) says otherwise; the kernel
# started by nbval inherits this environment.
os.environ.setdefault("COURSE_DEVICE", "cpu")
os.environ.setdefault("PYTHONHASHSEED", "0")


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


def pytest_collection_modifyitems(session, config, items):
    """Longest first: the notebooks before the unit tests, the notebook with the most cells
    first, each notebook's cells in their own order. pytest-xdist (``--dist loadscope``) hands
    out whole notebooks in this order, so the longest lesson starts at once instead of last,
    while the other worker takes the many short tests."""
    files: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        files[path] = files.get(path, 0) + 1
    first_seen = {path: n for n, path in enumerate(files)}

    def order(item):
        path = item.nodeid.split("::", 1)[0]
        notebook = path.endswith(".ipynb")
        return (0 if notebook else 1, -files[path] if notebook else 0, first_seen[path])

    items.sort(key=order)  # stable: the cells of a notebook keep their order
