"""Read-only shared caches: a classroom may compute the course cache once and share it read-only.
Reading a complete cache takes no lock and writes nothing; an incomplete one is computed (or
parsed) without storing, saying so, never a raw PermissionError (issue 23, class 5).

Root may write into a folder whatever its mode says (CAP_DAC_OVERRIDE), so a chmod alone tests
nothing here. The real checks run the reader in a child process that lacks that capability
(``setpriv --bounding-set -dac_override``: the owner's mode bits then apply to root too), or,
for a user that is not root, as that user; where neither can be arranged they are skipped. The
in-process checks make the writes fail with PermissionError by monkeypatching, and run always."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import companion.sample as sample
from companion import experiments, load_sample, mnist

ROOT = Path(__file__).resolve().parents[1]


def _read_only(top: Path) -> None:
    for path in [top, *top.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _writable(top: Path) -> None:
    for path in [top, *top.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _tree(top: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(top)): (p.read_bytes() if p.is_file() else None) for p in sorted(top.rglob("*"))}


READER = """
import json, sys
from pathlib import Path
from companion import experiments, load_sample, mnist
folder = Path(sys.argv[1])
experiments._folder = lambda: folder
if len(sys.argv) > 2:  # an incomplete cache: what a computation would give, without training
    experiments._compute_runs = lambda: experiments._read_runs(Path(sys.argv[2]))
runs = experiments.controlled_runs()
model, history = experiments.course_network()
x, y = load_sample("test")
digits = mnist.load_digits("mnist", verbose=False)
print(json.dumps({"runs": len(runs), "acc": history.test_acc[-1], "test": len(y), "mnist": len(digits.y_train),
                  "first": [runs[0].variant, runs[0].val_acc]}))
"""


def _make_shared_cache(cache: Path, fake_mnist, make_experiments_cache, monkeypatch) -> list:
    """A complete course cache, as a classroom would share it: the parsed sample, a download of
    MNIST and the controlled runs; returns the runs."""
    with monkeypatch.context() as m:
        m.setenv("COURSE_CACHE_DIR", str(cache))
        load_sample("all")
    fake_mnist(cache / "mnist", n_train=12, n_test=5)
    (cache / "mnist" / mnist.MARKER).write_text("made by the test\n", encoding="utf-8")
    return make_experiments_cache(cache / "experiments" / "key")


def _read_as_unprivileged(prefix, cache, *extra):
    env = {**os.environ, "COURSE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    env.pop("COURSE_MNIST_DIR", None)
    return subprocess.run([*prefix, sys.executable, "-c", READER, str(cache / "experiments" / "key"), *extra],
                          capture_output=True, text=True, env=env, timeout=300, encoding="utf-8")


def test_a_complete_read_only_cache_is_read_without_a_lock_or_a_word(unprivileged, tmp_path, fake_mnist,
                                                                    make_experiments_cache, monkeypatch):
    cache = tmp_path / "shared"
    runs = _make_shared_cache(cache, fake_mnist, make_experiments_cache, monkeypatch)
    before = _tree(cache)
    assert not (cache / "experiments" / "key" / ".lock").exists()
    _read_only(cache)
    try:
        proc = _read_as_unprivileged(unprivileged, cache)
    finally:
        _writable(cache)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no PermissionError, no message: nothing needed writing
    assert json.loads(proc.stdout) == {"runs": len(runs), "acc": 0.9, "test": 1000, "mnist": 12,
                                       "first": [runs[0].variant, runs[0].val_acc]}
    assert _tree(cache) == before  # not a byte written, no .lock made


def test_an_incomplete_read_only_cache_is_computed_without_storing_and_said(unprivileged, tmp_path, fake_mnist,
                                                                          make_experiments_cache, monkeypatch):
    cache = tmp_path / "shared"
    runs = _make_shared_cache(cache, fake_mnist, make_experiments_cache, monkeypatch)
    folder = cache / "experiments" / "key"
    shutil.copy(folder / "controlled_runs.json", tmp_path / "whole.json")
    data = json.loads((folder / "controlled_runs.json").read_text(encoding="utf-8"))
    data["runs"] = data["runs"][:-1]  # valid JSON, a run missing: the other example
    data["sha256"] = experiments._runs_digest(data["runs"])
    (folder / "controlled_runs.json").write_text(json.dumps(data), encoding="utf-8")
    before = _tree(cache)
    _read_only(cache)
    try:
        proc = _read_as_unprivileged(unprivileged, cache, str(tmp_path / "whole.json"))
    finally:
        _writable(cache)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["runs"] == len(runs)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"experiments: {folder} cannot be written (Permission denied) and holds no usable "
                               "controlled_runs.json (missing no_pool seed 2): computing the controlled runs here")
    assert _tree(cache) == before


def test_an_empty_read_only_cache_falls_back_to_the_sample_in_one_line(unprivileged, tmp_path):
    cache = tmp_path / "empty"
    cache.mkdir()
    _read_only(cache)
    code = ("from companion import load_sample, mnist\n"
            "x, y = load_sample('test'); print(len(y))\n"
            "d = mnist.load_digits('auto', timeout=20)\n")
    env = {**os.environ, "COURSE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    env.pop("COURSE_MNIST_DIR", None)
    try:
        proc = subprocess.run([*unprivileged, sys.executable, "-c", code], capture_output=True, text=True, env=env,
                              timeout=300, encoding="utf-8")
    finally:
        _writable(cache)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0] == "1000" and out[1].startswith("data: embedded 5,000-digit sample") and len(out) == 2
    assert "Traceback" not in proc.stderr and not list(cache.iterdir())


# ── the same paths in this process, the writes refused by monkeypatching ──────────────


def test_reading_a_complete_cache_takes_no_lock_even_while_another_computes(experiments_cache, monkeypatch):
    fcntl = pytest.importorskip("fcntl")
    folder, runs = experiments_cache
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT)  # someone else's computation holds the lock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        monkeypatch.setattr(experiments, "LOCK_WAIT", 0.2)  # a wait would fail this test at once
        started = time.monotonic()
        assert experiments.controlled_runs() == runs
        model, history = experiments.course_network()
        assert history.test_acc == [0.9] and time.monotonic() - started < 5
    finally:
        os.close(fd)


def _refuse_lock_files(monkeypatch):
    real = os.open

    def fake(path, flags, *args, **kwargs):
        if Path(path).name in (".lock", ".lock.pid"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(experiments.os, "open", fake)


def test_a_complete_cache_is_read_where_the_lock_file_cannot_be_made(experiments_cache, monkeypatch, capfd):
    folder, runs = experiments_cache
    _refuse_lock_files(monkeypatch)
    assert experiments.controlled_runs() == runs
    assert experiments.course_network()[1].test_acc == [0.9]
    assert capfd.readouterr().err == "" and not (folder / ".lock").exists()


@pytest.mark.parametrize("missing", ["controlled_runs.json", "course_network.pt"])
def test_an_incomplete_cache_without_a_lock_is_computed_and_not_stored(missing, experiments_cache, monkeypatch, capfd):
    folder, runs = experiments_cache
    (folder / missing).unlink()
    _refuse_lock_files(monkeypatch)
    from companion.history import History
    from companion.model import make_model

    net = (make_model("fixed", seed=3).eval(), History(test_acc=[0.7]))
    monkeypatch.setattr(experiments, "_compute_runs", lambda: runs)
    monkeypatch.setattr(experiments, "_train_network", lambda: net)
    got = experiments.controlled_runs() if missing.endswith(".json") else experiments.course_network()
    assert got == (runs if missing.endswith(".json") else net)
    err = capfd.readouterr().err
    what = "the controlled runs" if missing.endswith(".json") else "the course network"
    assert err == (f"experiments: {folder} cannot be written (Permission denied) and holds no usable {missing}: "
                   f"computing {what} here without storing it\n")
    assert not (folder / missing).exists()


def test_a_result_that_cannot_be_stored_is_returned_and_said(experiments_cache, monkeypatch, capfd):
    folder, runs = experiments_cache
    (folder / "controlled_runs.json").unlink()
    monkeypatch.setattr(experiments, "_compute_runs", lambda: runs)

    def full(path, runs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(experiments, "_write_runs", full)
    assert experiments.controlled_runs() == runs
    assert "cannot store the controlled runs in" in capfd.readouterr().err


def test_a_read_only_sample_cache_folder_only_costs_the_parse(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sample, "_REPORTED", set())

    def read_only(path, write, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(sample, "atomic_write", read_only)
    x, y = load_sample("test")
    assert torch.bincount(y).tolist() == [100] * 10
    assert capfd.readouterr().err == ""  # nothing was there to be damaged: nothing to say
    assert not list((tmp_path / "cache").glob("*.npz"))
