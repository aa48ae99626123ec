"""tools/tasks.py: the commands behind the Makefile."""

import os
import subprocess
import sys

import pytest

from tools import tasks


def test_test_cuda_fails_fast_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = subprocess.run([sys.executable, "tools/tasks.py", "test-cuda"], cwd=tasks.ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no CUDA device" in lines[0]


def test_venv_is_skipped_when_up_to_date(capsys, monkeypatch):
    if not tasks.STAMP.exists():
        pytest.skip("no installed .venv here")
    monkeypatch.setattr(tasks.subprocess, "check_call", lambda *a, **k: pytest.fail("would reinstall"))
    newest = max(p.stat().st_mtime for p in (tasks.ROOT / "pyproject.toml", tasks.ROOT / "constraints.txt"))
    if tasks.STAMP.stat().st_mtime < newest:
        pytest.skip("dependency files changed since the last install")
    assert tasks.venv() == 0 and "up to date" in capsys.readouterr().out
    assert os.path.exists(tasks.venv_python())


def test_make_test_runs_one_single_threaded_worker_per_cpu():
    cmd, env = tasks.test_command([], cpus=2)
    assert cmd[cmd.index("-n") + 1] == "2" and cmd[cmd.index("--dist") + 1] == "loadscope"
    assert "--nbval" in cmd and env["COURSE_DEVICE"] == "cpu"
    if "OMP_NUM_THREADS" not in os.environ:
        assert env["OMP_NUM_THREADS"] == "1"


def test_make_test_is_serial_on_one_cpu_or_when_asked():
    cmd, _ = tasks.test_command([], cpus=1)
    assert "-n" not in cmd
    cmd, _ = tasks.test_command(["-n", "0", "notebooks/03_conv1.ipynb"], cpus=8)
    assert cmd.count("-n") == 1 and cmd[-1] == "notebooks/03_conv1.ipynb"


def test_portable_check_lowers_the_cpu_dispatch_for_the_notebooks():
    cmd, env = tasks.portable_command([], cpus=2)
    assert cmd[-1] == "notebooks" and "--nbval" in cmd
    for key, value in tasks.PORTABLE_ENV.items():
        assert env[key] == value
    assert env["ATEN_CPU_CAPABILITY"] == "default" and env["OMP_NUM_THREADS"] == "1"
    cmd, _ = tasks.portable_command(["notebooks/03_conv1.ipynb"], cpus=2)
    assert cmd[-1] == "notebooks/03_conv1.ipynb" and "notebooks" not in cmd


def test_tasks_runs_without_make_from_any_python():
    proc = subprocess.run([sys.executable, str(tasks.ROOT / "tools" / "tasks.py"), "--help"],
                          capture_output=True, text=True, timeout=60, cwd="/")
    assert proc.returncode == 0 and "test-portable" in proc.stdout and "update-lesson" in proc.stdout


def test_lab_opens_the_learners_copy_not_the_tracked_lesson():
    cmd = tasks.lab_command(["--no-browser"], tasks.ROOT / "my-notebooks" / "00_overview.ipynb")
    assert cmd[-1] == "my-notebooks/00_overview.ipynb" and "--no-browser" in cmd


def test_test_portable_runs_its_self_check_first(monkeypatch, capsys):
    # the self-check itself (a notebook printing round-off digits must fail) runs in make test-portable
    calls = []
    monkeypatch.setattr(tasks, "portable_self_check", lambda: calls.append("self-check") or "it passed everything")
    monkeypatch.setattr(tasks.subprocess, "call", lambda *a, **k: calls.append("notebooks") or 0)
    real_run = tasks.subprocess.run

    def run(cmd, **kw):  # the capability probes: native AVX2, and the scalar kernels under PORTABLE_ENV
        out = "DEFAULT" if kw.get("env", {}).get("ATEN_CPU_CAPABILITY") == "default" else "AVX2"
        return real_run([sys.executable, "-c", f"print({out!r})"], capture_output=True, text=True)

    monkeypatch.setattr(tasks.subprocess, "run", run)
    assert tasks.test_portable([]) == 1 and calls == ["self-check"]
    assert "FAILED its self-check: it passed everything" in capsys.readouterr().err


def test_a_whole_run_starts_the_shared_training_runs_at_once(monkeypatch):
    started = []
    monkeypatch.setattr(tasks.subprocess, "Popen", lambda cmd, **kw: started.append((cmd, kw["env"])) or "proc")
    env = {"OMP_NUM_THREADS": "1"}
    assert tasks.warm_experiments([], env) == "proc" and "controlled_runs()" in started[0][0][-1]
    assert started[0][1] is env  # the workers' environment: the same cache key
    assert tasks.warm_experiments(["-x", "-n", "0"], env) == "proc"
    assert tasks.warm_experiments(["tests/test_shapes.py"], env) is None  # named tests: no head start
    assert tasks.warm_experiments(["notebooks/03_conv1.ipynb"], env) is None
