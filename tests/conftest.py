"""Fixtures shared by the unit tests: real sample digits, MNIST folders made from them, and
figures drawn off screen in the lessons' font."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are drawn off screen in every test

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from companion import load_sample, mnist


@pytest.fixture(scope="session")
def tiny():
    """160 real test digits of the sample: 96 to train on, 64 to test on."""
    x, y = load_sample("test")
    return x[:96], y[:96], x[96:160], y[96:160]


def write_fake_mnist(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True, seed: int = 0) -> dict:
    """Write four small IDX files of random pixels into ``folder``; return the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in mnist.FILES.items():
        mnist.write_idx(folder / (name + (".gz" if gz else "")), arrays[key])
    return arrays


@pytest.fixture
def tiny_mnist(tmp_path):
    """A folder with four small IDX files made of real sample digits: 64 to train on, 32 to test on."""
    x, y = load_sample("test")
    pixels = (x[:, 0] * 255).round().to(torch.uint8).numpy()
    labels = y.numpy().astype(np.uint8)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for key, name in mnist.FILES.items():
        part = slice(0, 64) if key.startswith("train") else slice(64, 96)
        arr = pixels[part] if key.endswith("images") else labels[part]
        mnist.write_idx(folder / f"{name}.gz", arr)
    return folder


@pytest.fixture
def fake_mnist():
    """``write_fake_mnist`` as a fixture: ``fake_mnist(folder, n_train=…, n_test=…, gz=…)``."""
    return write_fake_mnist


@pytest.fixture
def figures():
    """Draw in the lessons' Chinese font; close every figure afterwards."""
    import matplotlib.pyplot as plt

    from companion import viz

    viz.use_chinese_font()
    yield
    plt.close("all")


def write_experiments_cache(folder: Path) -> list:
    """A complete, valid cache of ``companion.experiments`` in ``folder`` (an untrained network
    and made-up runs, each field in range, stored as the module stores them); return the runs."""
    from companion import experiments
    from companion.history import History
    from companion.model import make_model

    folder.mkdir(parents=True, exist_ok=True)
    history = History(epoch=[1.0], step=[10], seconds=[0.5], train_loss=[0.4], test_loss=[0.3], test_acc=[0.9],
                      lr=[1e-3])
    experiments._write_network(folder / "course_network.pt", (make_model("fixed", seed=0).eval(), history))
    runs = [experiments.Run(name, seed, 0.1 + seed / 100, 0.99, 0.3, 0.9 - seed / 100,
                            experiments._head_params(v), 0.2)
            for name, v in experiments.VARIANTS.items() for seed in experiments.SEEDS]
    experiments._write_runs(folder / "controlled_runs.json", runs)
    return runs


@pytest.fixture
def experiments_cache(tmp_path, monkeypatch):
    """``companion.experiments`` pointed at a complete cache in a temporary folder: ``(folder, runs)``."""
    from companion import experiments

    folder = tmp_path / "experiments" / "key"
    runs = write_experiments_cache(folder)
    monkeypatch.setattr(experiments, "_folder", lambda: folder)
    return folder, runs


@pytest.fixture
def make_experiments_cache():
    """``write_experiments_cache`` as a fixture: ``make_experiments_cache(folder) -> runs``."""
    return write_experiments_cache


#: run a command without root's permission overrides: a chmod'ed folder is then read-only to it
WITHOUT_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps=-all"]


@pytest.fixture
def unprivileged() -> list[str]:
    """The command prefix under which a chmod'ed folder is really read-only; skip if none."""
    if os.name == "nt":
        pytest.skip("POSIX modes and capabilities")
    prefix = [] if os.geteuid() != 0 else WITHOUT_OVERRIDE
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be made for this process")
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"readonly-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        probe.chmod(0o555)
        done = subprocess.run([*prefix, sys.executable, "-c", f"open({str(probe / 'x')!r}, 'w')"],
                              capture_output=True, timeout=60)
        if done.returncode == 0:
            pytest.skip("this process may write into a read-only folder (capabilities could not be dropped)")
    finally:
        probe.chmod(0o755)
        shutil.rmtree(probe, ignore_errors=True)
    return prefix


@pytest.fixture
def course(tmp_path) -> Path:
    """A copy of the course (companion, tools, tests, lessons and the root's settings; no .venv),
    for tests that run the course's commands on files they may change."""
    root = Path(__file__).resolve().parents[1]
    copy = tmp_path / "course"
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for folder in ("companion", "tools", "tests", "notebooks"):
        shutil.copytree(root / folder, copy / folder, ignore=ignore)
    for name in ("conftest.py", "constraints.txt", "pyproject.toml"):
        shutil.copy(root / name, copy / name)
    return copy
