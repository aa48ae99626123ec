"""companion/doctor.py: versions, devices, data sources."""

import pytest

from companion import doctor
from companion.mnist import load_folder


def test_pins_and_mismatches(tmp_path, monkeypatch):
    f = tmp_path / "c.txt"
    f.write_text("# comment\ntorch==2.14.1\nNot_A_Real_Package==1.0\nnumpy==0.0.1  # old\n")
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
    assert doctor._local_mnist() == f"{folder}: all four files present"


def test_local_mnist_status(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_MNIST_DIR", str(tmp_path))
    assert "missing train-images-idx3-ubyte" in doctor._local_mnist()
    monkeypatch.delenv("COURSE_MNIST_DIR")
    assert "not configured" in doctor._local_mnist()


def test_main_prints(capsys):
    assert doctor.main(["--no-network"]) == 0
    assert "devices" in capsys.readouterr().out
