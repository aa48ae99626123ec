"""companion/doctor.py: versions, devices, data sources."""

import pytest

from companion import doctor
from companion.mnist import load_folder


def test_pins_and_mismatches(tmp_path, monkeypatch):
    f = tmp_path / "c.txt"
    f.write_text("# comment\ntorch==2.14.1\nNot_A_Real_Package==1.0\nnumpy==0.0.1  # old\n", encoding="utf-8")
    pins = doctor.pinned_versions(f)
    assert pins == {"torch": "2.14.1", "not-a-real-package": "1.0", "numpy": "0.0.1"}
    monkeypatch.setattr(doctor, "installed", lambda name: {"torch": "2.14.1+cu130", "numpy": "2.4.6"}.get(name))
    assert doctor.version_mismatches(pins) == [("not-a-real-package", "1.0", None), ("numpy", "0.0.1", "2.4.6")]


def test_report_warns_on_a_different_torch(monkeypatch):
    text, warnings = doctor.report(check_network=False)
    for word in ("Python", "torch", "torchvision", "nbval", "jupyterlab", "devices", "sample", "mnist", "cache"):
        assert word in text
    real = doctor.installed
    monkeypatch.setattr(doctor, "installed", lambda name: "2.11.0" if name == "torch" else real(name))
    text, warnings = doctor.report(check_network=False)
    assert warnings >= 1 and "WARNING     torch 2.11.0 ≠ pinned 2.14.1" in text


@pytest.mark.parametrize("layout", ["raw", "gz", "torchvision MNIST/raw", "dotted .idx names"])
def test_doctor_sees_every_folder_that_train_accepts(tmp_path, monkeypatch, fake_mnist, layout):
    folder = tmp_path / "data"
    if layout == "torchvision MNIST/raw":
        fake_mnist(folder / "MNIST" / "raw")
    else:
        fake_mnist(folder, gz=(layout == "gz"))
        if layout == "dotted .idx names":
            for f in folder.iterdir():
                f.rename(f.with_name(f.name.replace("-idx", ".idx")))
    load_folder(folder)  # what `train --data FOLDER` reads
    monkeypatch.setenv("COURSE_MNIST_DIR", str(folder))
    assert doctor._local_mnist() == f"{folder}: all four files read and checked (12 train / 5 test digits)"


def test_local_mnist_status(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_MNIST_DIR", str(tmp_path))
    assert "missing train-images-idx3-ubyte" in doctor._local_mnist()
    monkeypatch.delenv("COURSE_MNIST_DIR")
    assert "not configured" in doctor._local_mnist()


def test_main_prints(capsys):
    assert doctor.main(["--no-network"]) == 0
    assert "devices" in capsys.readouterr().out


def test_the_network_check_is_bounded_as_a_whole(monkeypatch):
    import threading
    import time

    import torchvision.datasets  # noqa: F401 - imported before the clock starts

    release = threading.Event()
    monkeypatch.setattr(doctor, "_connect", lambda host: release.wait(10))  # a name lookup that hangs
    try:
        started = time.perf_counter()
        line = doctor._network(timeout=0.2)
        assert time.perf_counter() - started < 2 and "no answer within 0.2 s" in line
    finally:
        release.set()

    def refused(host):
        raise ConnectionRefusedError

    monkeypatch.setattr(doctor, "_connect", refused)
    assert "unreachable" in doctor._network() and "ConnectionRefusedError" in doctor._network()
    monkeypatch.setattr(doctor, "_connect", lambda host: None)
    assert doctor._network().startswith("reachable")


def test_a_failing_probe_is_one_line_not_a_crash(monkeypatch):
    def broken():
        raise OSError("disk on fire\nsecond line")

    monkeypatch.setattr(doctor, "_sample", broken)
    text, _ = doctor.report(check_network=False)
    assert "  sample    not checked (OSError: disk on fire)" in text.splitlines()


# ── where torch cannot be imported, the most common broken install ──────────────────

NO_TORCH = """
import importlib.abc, importlib.metadata as md, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("torch", "torchvision"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTorch())
if HIDE_DIST:  # not installed at all, rather than installed and broken
    real = md.version
    def version(name):
        if name in ("torch", "torchvision"):
            raise md.PackageNotFoundError(name)
        return real(name)
    md.version = version
sys.argv = ["companion", *ARGS]
import runpy
runpy.run_module("companion", run_name="__main__")
"""


def _without_torch(args, hide_dist, cwd):
    import os
    import subprocess
    import sys

    from companion.doctor import ROOT

    code = NO_TORCH.replace("HIDE_DIST", str(hide_dist)).replace("ARGS", repr(args))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120, encoding="utf-8")


@pytest.mark.parametrize("hide_dist", [True, False])
def test_doctor_works_without_torch(tmp_path, hide_dist):
    proc = _without_torch(["doctor", "--no-network"], hide_dist, tmp_path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    if hide_dist:
        assert "torch       not installed" in lines and "torchvision not installed" in lines
        assert any(line.startswith("WARNING     torch missing ≠ pinned") for line in lines)
    else:
        assert any(line.startswith("torch ") and "but it cannot be imported (ModuleNotFoundError" in line
                   for line in lines), proc.stdout
    assert "devices     unknown: torch cannot be imported (see above)" in lines
    for word in ("Python", "nbval", "  sample    available", "  mnist ", "cache "):
        assert any(word in line for line in lines), word


def test_train_without_torch_is_one_line_pointing_to_doctor(tmp_path):
    proc = _without_torch(["train", "--data", "sample"], True, tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: torch cannot be imported") and "companion doctor" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and not list(tmp_path.iterdir())


# ── a Python that is not the course's (issue 24, item 14) ─────────────────────────────


def _checkout(tmp_path, with_venv):
    """A copy of the checkout's companion and constraints.txt, with or without a .venv."""
    import shutil

    from companion.doctor import ROOT

    root = tmp_path / "course"
    shutil.copytree(ROOT / "companion", root / "companion", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "constraints.txt", root / "constraints.txt")
    if with_venv:
        (root / ".venv" / "bin").mkdir(parents=True)
        (root / ".venv" / "bin" / "python").write_text("", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """A Python with none of the pinned packages: a virtual environment made from this one's base
    interpreter without pip (the situation of the system python3)."""
    import subprocess
    import sys
    import venv  # noqa: F401 - part of the standard library; fails loudly if it is not there

    where = tmp_path_factory.mktemp("bare") / "env"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    python = where / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    probe = subprocess.run([str(python), "-c", "import importlib.util as u; print(u.find_spec('torch') is None)"],
                           capture_output=True, text=True, timeout=60, encoding="utf-8")
    assert probe.stdout.strip() == "True", probe.stderr
    return python


@pytest.mark.parametrize("with_venv", [True, False])
def test_a_python_without_the_pins_is_pointed_to_the_course_python(tmp_path, bare_python, with_venv):
    import os
    import subprocess

    root = _checkout(tmp_path, with_venv)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    proc = subprocess.run([str(bare_python), "-m", "companion", "doctor", "--no-network"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120, encoding="utf-8")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    assert "torch       not installed" in lines
    hints = [line for line in lines if "-m companion doctor`" in line]
    if with_venv:
        assert hints == [f"hint        this Python ({bare_python}) lacks the pinned versions; the course's own is in "
                         ".venv: run `.venv/bin/python -m companion doctor`"]
    else:
        assert hints == []


def test_the_hint_names_the_full_path_elsewhere_and_is_not_given_inside_the_venv(tmp_path, monkeypatch):
    import sys

    root = _checkout(tmp_path, with_venv=True)
    real = doctor.installed
    monkeypatch.setattr(doctor, "installed", lambda name: None if name == "torch" else real(name))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "elsewhere"))
    text, _ = doctor.report(check_network=False, root=root)
    assert f"run `{root / '.venv' / 'bin' / 'python'} -m companion doctor`" in text.splitlines()[-1]
    monkeypatch.setattr(sys, "prefix", str(root / ".venv"))  # the course's own Python, one pin off
    text, _ = doctor.report(check_network=False, root=root)
    assert "hint" not in text and "WARNING     torch missing ≠ pinned" in text
    monkeypatch.setattr(doctor, "installed", real)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "elsewhere"))
    assert doctor.venv_python(root) == root / ".venv" / "bin" / "python"
    assert doctor.venv_python(tmp_path) is None
