"""Nothing hangs: a controlled-runs computation killed while it holds the experiment cache's lock
delays the next one by no more than a few seconds, and the drawing functions refuse sizes beyond
their stated bounds at once (issue 23, classes 1 and 2)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from companion import DigitRecognizer, diagrams

# ── class 2: drawing with a bound ──────────────────────────────────────────────────


@pytest.mark.usefixtures("figures")
@pytest.mark.parametrize("kwargs, bound", [
    ({"size": 1000, "kernel_size": 3}, "MAX_SIDE = 64"),  # the example: no figure after 120 s
    ({"size": 200, "kernel_size": 3}, "MAX_SIDE = 64"),
    ({"size": 65, "kernel_size": 3}, "MAX_SIDE = 64"),
    ({"size": 60, "kernel_size": 3, "padding": 3}, "size \\+ 2·padding = 60 \\+ 2·3 = 66 cells"),
    ({"size": 5, "kernel_size": 3, "dilation": 40}, "the kernel's span .* = 81 cells"),  # refused, overhanging
    ({"size": 5, "kernel_size": 10**9}, "MAX_SIDE = 64"),
    ({"size": 10**12, "kernel_size": 2, "pool": True}, "MAX_SIDE = 64"),
    ({"size": 8, "kernel_size": 3, "positions": [(0, 0)] * 7}, "MAX_FRAMES = 6"),
    ({"size": 8, "kernel_size": 3, "max_frames": 7}, "MAX_FRAMES = 6"),
    ({"size": 8, "kernel_size": 3, "note": "x\n" * 21}, "21 lines: at most MAX_NOTE_LINES = 20"),
    ({"size": 8, "kernel_size": 3, "note": "x" * 95 * 21}, "MAX_NOTE_LINES = 20"),
])
def test_sliding_window_beyond_its_bounds_is_refused_at_once(kwargs, bound):
    started = time.perf_counter()
    with pytest.raises(ValueError, match=bound):
        diagrams.draw_sliding_window(**kwargs)
    assert time.perf_counter() - started < 1.0


@pytest.mark.usefixtures("figures")
@pytest.mark.parametrize("kwargs, match", [
    ({"positions": "00"}, "positions of type str"),
    ({"positions": [(0.0, 1)]}, "position \\(0.0, 1\\) is outside"),
    ({"positions": [(True, 0)]}, "outside"),
    ({"note": 5}, "note of type int"),
])
def test_sliding_window_arguments_near_the_bounds_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diagrams.draw_sliding_window(8, 3, **kwargs)


@pytest.mark.usefixtures("figures")
def test_the_largest_pictures_within_the_bounds_are_drawn_quickly():
    started = time.perf_counter()
    fig = diagrams.draw_sliding_window(64, 3, max_frames=3)  # the bound itself: drawn, and fully
    fig.canvas.draw()
    fig = diagrams.draw_sliding_window(62, kernel_size=32, padding=1, positions=[(0, 0)] * 6)
    fig.canvas.draw()
    fig = diagrams.draw_sliding_window(4, 3, dilation=31, note="x\n" * 20)  # span 63 > 4: refused, overhanging
    fig.canvas.draw()
    assert time.perf_counter() - started < 30  # about 1 s on two busy cores


@pytest.mark.usefixtures("figures")
def test_every_size_the_lessons_and_explorers_use_is_within_the_bounds():
    from companion.explorers import CONV_LIMITS, POOL_LIMITS

    for limits in (CONV_LIMITS, POOL_LIMITS):
        side = limits["size"][1] + 2 * limits["padding"][1]
        span = limits["dilation"][1] * (limits["kernel_size"][1] - 1) + 1
        assert max(side, span) <= diagrams.MAX_SIDE
    big = diagrams.draw_sliding_window(CONV_LIMITS["size"][1], CONV_LIMITS["kernel_size"][1],
                                       padding=CONV_LIMITS["padding"][1], dilation=CONV_LIMITS["dilation"][1])
    assert len(big.axes) == 3
    model = DigitRecognizer()
    assert diagrams.draw_data_flow(model, torch.zeros(1, 1, 28, 28))
    loss = model(torch.zeros(2, 1, 28, 28)).sum()
    assert len(diagrams.autograd_graph(loss)) <= diagrams.MAX_NODES
    diagrams.draw_autograd_graph(loss, dict(model.named_parameters()))


@pytest.mark.usefixtures("figures")
def test_a_data_flow_too_long_to_draw_is_refused():
    deep = nn.Sequential(*[nn.ReLU() for _ in range(diagrams.MAX_ROWS)])  # the input box makes MAX_ROWS + 1
    with pytest.raises(ValueError, match=f"{diagrams.MAX_ROWS + 1} steps: a data-flow picture draws at most "
                                         f"MAX_ROWS = {diagrams.MAX_ROWS}"):
        diagrams.draw_data_flow(deep, torch.zeros(1, 3))
    fits = nn.Sequential(*[nn.ReLU() for _ in range(diagrams.MAX_ROWS - 1)])
    assert len([p for p in diagrams.draw_data_flow(fits, torch.zeros(1, 3)).axes[0].patches
                if p.get_gid() == "layer"]) == diagrams.MAX_ROWS


def _chain(n: int) -> torch.Tensor:
    w = torch.ones(3, requires_grad=True)
    h = w
    for _ in range(n):
        h = h * 1.0
    return h.sum()


@pytest.mark.usefixtures("figures")
def test_an_autograd_graph_too_large_to_draw_is_refused_at_once():
    y = _chain(20_000)  # 20,002 nodes: listed in well under a second, never drawn
    started = time.perf_counter()
    nodes = diagrams.autograd_graph(y)
    assert len(nodes) == 20_002 and nodes[-1].depth == 20_001 and nodes[-1].leaf
    with pytest.raises(ValueError, match=f"20002 nodes: an autograd picture draws at most MAX_NODES = "
                                         f"{diagrams.MAX_NODES}"):
        diagrams.draw_autograd_graph(y)
    assert time.perf_counter() - started < 5
    fits = _chain(diagrams.MAX_NODES - 2)
    fig = diagrams.draw_autograd_graph(fits)
    assert len([p for p in fig.axes[0].patches if p.get_gid() == "node"]) == diagrams.MAX_NODES


def test_autograd_depths_are_the_longest_paths_measured_by_brute_force():
    torch.manual_seed(0)
    x = torch.randn(4, 3, requires_grad=True)
    lin = nn.Linear(3, 3)
    h = F.relu(lin(x))
    y = (h * lin(h) + h.exp() * x).sum()
    nodes = diagrams.autograd_graph(y, dict(lin.named_parameters()))

    def longest(i):  # the longest path from the output to node i, by trying every path
        return max((longest(j) + 1 for j, n in enumerate(nodes) if i in n.inputs), default=0)

    assert [n.depth for n in nodes] == [longest(i) for i in range(len(nodes))]


# ── class 1: a lock whose owner died ──────────────────────────────────────────────

HOLD = """
import sys, time
from pathlib import Path
from companion import experiments
MODE
with experiments._lock(Path(sys.argv[1]), "the controlled runs"):
    print("held", flush=True)
    time.sleep(600)
"""

#: a stand-in for Windows' msvcrt.locking, on POSIX byte-range locks: mandatory-style one-byte
#: locks at the file position, refused with EACCES while another process holds them
FAKE_MSVCRT = """
import errno, fcntl, os
LK_UNLCK, LK_NBLCK = 0, 2
def locking(fd, mode, nbytes):
    pos = os.lseek(fd, 0, os.SEEK_CUR)
    if mode == LK_UNLCK:
        fcntl.lockf(fd, fcntl.LOCK_UN, nbytes, pos, 0)
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, nbytes, pos, 0)
    except OSError:
        raise OSError(errno.EACCES, "Permission denied") from None
"""

MODES = {
    "flock": "",
    "msvcrt": "import fake_msvcrt; experiments.fcntl = None; experiments.msvcrt = fake_msvcrt",
    "pid file": "def none(fd): raise experiments._NoOSLock(38, 'no lock here')\nexperiments._os_lock = none",
}


def _use_mode(mode, monkeypatch, tmp_path):
    """Make this process lock the way the holder does."""
    import importlib
    import sys

    from companion import experiments

    if mode == "msvcrt":
        monkeypatch.syspath_prepend(str(tmp_path))
        fake = importlib.import_module("fake_msvcrt")
        monkeypatch.setattr(experiments, "fcntl", None)
        monkeypatch.setattr(experiments, "msvcrt", fake)
        monkeypatch.delitem(sys.modules, "fake_msvcrt")
    elif mode == "pid file":
        def none(fd):
            raise experiments._NoOSLock(38, "no lock here")

        monkeypatch.setattr(experiments, "_os_lock", none)


def _holder(folder, mode, tmp_path):
    """A process that takes the lock on ``folder`` (the way ``mode`` says) and keeps it."""
    import os
    import subprocess
    import sys

    (tmp_path / "fake_msvcrt.py").write_text(FAKE_MSVCRT, encoding="utf-8")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", HOLD.replace("MODE", MODES[mode]), str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "held", proc.stderr.read()
    return proc


@pytest.mark.parametrize("mode", list(MODES))
def test_a_killed_owner_delays_the_next_computation_by_no_more_than_a_few_seconds(mode, tmp_path, monkeypatch,
                                                                                 capfd):
    import os
    import signal

    from companion import experiments

    folder = tmp_path / "experiments" / "key"
    proc = _holder(folder, mode, tmp_path)
    _use_mode(mode, monkeypatch, tmp_path)
    monkeypatch.delenv(experiments.QUIET_ENV, raising=False)
    try:
        with pytest.raises(TimeoutError, match=rf"waited \d+ s for process {proc.pid} on "):
            with experiments._lock(folder, "the controlled runs", wait=0.6):  # alive: it is waited for
                pass
        err = capfd.readouterr().err
        assert f"experiments: waiting for process {proc.pid} on " in err and "computing the controlled runs" in err
        assert err.count("waiting for") == 1  # said once, not at every poll
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the kernel restart of the issue: nothing runs a finally
        proc.wait()
    started = time.monotonic()
    with experiments._lock(folder, "the controlled runs", wait=30):
        taken = time.monotonic() - started
    assert taken < 3, f"{mode}: {taken:.1f} s"
    if mode == "pid file":
        assert f"left by process {proc.pid} on" in capfd.readouterr().err and not (folder / ".lock.pid").exists()


def test_controlled_runs_after_a_killed_computation_start_at_once(tmp_path, monkeypatch, capfd, experiments_cache):
    """The issue's case end to end: a computation of the runs is killed; the next one computes."""
    import os
    import signal
    import subprocess
    import sys

    from companion import experiments

    folder = tmp_path / "killed"
    code = ("import sys, time\nfrom pathlib import Path\nfrom companion import experiments\n"
            "experiments._folder = lambda: Path(sys.argv[1])\n"
            "def slow():\n    print('computing', flush=True)\n    time.sleep(600)\n"
            "experiments._compute_runs = slow\nexperiments.controlled_runs()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "computing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (folder / ".lock").exists() and not (folder / "controlled_runs.json").exists()
    _, want = experiments_cache  # runs as the computation would return them
    monkeypatch.setattr(experiments, "_folder", lambda: folder)
    monkeypatch.setattr(experiments, "_compute_runs", lambda: want)
    started = time.monotonic()
    assert experiments.controlled_runs() == want
    assert time.monotonic() - started < 3
    assert experiments._read_runs(folder / "controlled_runs.json") == want
    assert "waiting" not in capfd.readouterr().err


def test_waiting_is_quiet_where_the_notebook_checks_ask(tmp_path, monkeypatch, capfd):
    import os
    import signal

    from companion import experiments

    folder = tmp_path / "key"
    proc = _holder(folder, "flock", tmp_path)
    try:
        monkeypatch.setenv(experiments.QUIET_ENV, "1")
        with pytest.raises(TimeoutError, match="it is still running"):
            with experiments._lock(folder, wait=0.3):
                pass
        assert capfd.readouterr().err == ""
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_pid_file_of_another_host_is_waited_for_and_named(tmp_path, monkeypatch, capfd):
    from companion import experiments

    _use_mode("pid file", monkeypatch, tmp_path)
    monkeypatch.delenv(experiments.QUIET_ENV, raising=False)
    (tmp_path / ".lock.pid").write_text("4242 another-host\n", encoding="utf-8")
    with pytest.raises(TimeoutError, match="process 4242 on another-host.*if that process no longer runs, remove "):
        with experiments._lock(tmp_path, wait=0.3):
            pass
    assert "waiting for process 4242 on another-host" in capfd.readouterr().err
    (tmp_path / ".lock.pid").write_text("garbage",
                                        encoding="utf-8")  # a line that names nobody: waited for, never removed
    with pytest.raises(TimeoutError, match="for another process"):
        with experiments._lock(tmp_path, wait=0.2):
            pass
    assert (tmp_path / ".lock.pid").read_text(encoding="utf-8") == "garbage"
    (tmp_path / ".lock.pid").unlink()
    with experiments._lock(tmp_path, wait=0.2):
        assert (tmp_path / ".lock.pid").read_text(encoding="utf-8").split()[0] == str(__import__("os").getpid())
    assert not (tmp_path / ".lock.pid").exists()


def test_a_file_system_without_locks_falls_back_to_the_pid_file(tmp_path, monkeypatch):
    import errno

    from companion import experiments

    class NoLocks:
        LOCK_EX, LOCK_NB, LOCK_UN = 2, 4, 8

        @staticmethod
        def flock(fd, op):
            raise OSError(errno.ENOLCK, "No locks available")  # what some network file systems say

    monkeypatch.setattr(experiments, "fcntl", NoLocks)
    with experiments._lock(tmp_path, wait=0.2):
        assert (tmp_path / ".lock.pid").exists()
    assert not (tmp_path / ".lock.pid").exists()
