"""Nothing trusts damaged data: caches that read well but are wrong are rebuilt, saying so, and
doctor judges a data folder by the loader's own checks (issue 23, classes 3 and 4)."""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import companion.sample as sample
from companion import doctor, experiments, load_sample, mnist
from companion.history import History
from companion.model import make_model

ROOT = Path(__file__).resolve().parents[1]

# ── class 3: the sample's cache ───────────────────────────────────────────────────


@pytest.fixture
def sample_cache(tmp_path, monkeypatch):
    """A fresh sample cache in a temporary folder: its .npz path, after one load."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sample, "_REPORTED", set())
    load_sample("all")
    (cached,) = (tmp_path / "cache").glob("mnist_5k-v2-*.npz")
    return cached


def _rewrite(cached: Path, **change) -> None:
    """Store other arrays in the cache, keeping its stored digest unless ``digest`` is given."""
    with np.load(cached) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(change)
    with open(cached, "wb") as fh:
        np.savez(fh, **arrays)


def _relabel(labels, where, value):
    labels = labels.copy()
    labels[where] = value
    return labels


def _whole(cached):
    with np.load(cached) as z:
        return z["images"].copy(), z["labels"].copy()


DAMAGES = {
    # the example: labels outside 0..9 made the test split 700 digits instead of 1,000
    "labels above 9": lambda i, lab: {"labels": np.where(lab == 9, 12, lab)},
    "a negative label": lambda i, lab: {"labels": _relabel(lab, 0, -1)},
    "one class short": lambda i, lab: {"labels": _relabel(lab, np.flatnonzero(lab == 3)[0], 4)},
    "float labels": lambda i, lab: {"labels": lab.astype(np.float64)},
    "uint8 labels": lambda i, lab: {"labels": lab.astype(np.uint8)},
    "fewer digits": lambda i, lab: {"images": i[:4000], "labels": lab[:4000]},
    "images of another shape": lambda i, lab: {"images": np.zeros((5000, 32, 32), np.uint8)},
    "float images": lambda i, lab: {"images": i.astype(np.float32) / 255},
    "one pixel changed": lambda i, lab: {"images": np.where(np.arange(i.size).reshape(i.shape) == 1000, 7, i)
                                         .astype(np.uint8)},
    "two digits swapped": lambda i, lab: {"images": i[[1, 0, *range(2, 5000)]], "labels": lab[[1, 0, *range(2, 5000)]]},
    "no digest": lambda i, lab: {"digest": None},
    "a digest of another shape": lambda i, lab: {"digest": np.array(["a", "b"])},
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_sample_cache_that_loads_but_is_wrong_is_rebuilt_and_said(sample_cache, damage, capfd):
    images, labels = _whole(sample_cache)
    change = DAMAGES[damage](images, labels)
    if change.get("digest", 0) is None:
        with np.load(sample_cache) as z:
            arrays = {k: z[k] for k in z.files if k != "digest"}
        with open(sample_cache, "wb") as fh:
            np.savez(fh, **arrays)
    else:
        _rewrite(sample_cache, **change)
    capfd.readouterr()
    x, y = load_sample("test")
    assert x.shape == (1000, 1, 28, 28) and torch.bincount(y).tolist() == [100] * 10
    err = capfd.readouterr().err
    assert err.startswith(f"sample: {sample_cache} could not be used (") and "rebuilt it from mnist_5k.csv.gz" in err
    again = _whole(sample_cache)
    assert np.array_equal(again[0], images) and np.array_equal(again[1], labels)  # rebuilt as it was
    load_sample("train")
    assert capfd.readouterr().err == ""  # whole again: read without a word


def test_the_messages_name_what_is_wrong(sample_cache, capfd):
    images, labels = _whole(sample_cache)
    for change, words in [({"labels": np.where(labels == 9, 12, labels)}, "labels from 0 to 12, not digits 0–9"),
                          ({"labels": _relabel(labels, np.flatnonzero(labels == 3)[0], 4)},
                           "[500, 500, 500, 499, 501, 500, 500, 500, 500, 500] digits of each class"),
                          ({"images": images[::-1].copy()}, "its arrays differ from the digest stored with them")]:
        _rewrite(sample_cache, **change)
        load_sample("all")
        assert words in capfd.readouterr().err


def test_a_read_only_damaged_cache_is_said_once_and_the_digits_stay_right(sample_cache, capfd, monkeypatch):
    images, labels = _whole(sample_cache)
    _rewrite(sample_cache, labels=np.where(labels == 9, 12, labels))

    def read_only(path, write, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(sample, "atomic_write", read_only)
    capfd.readouterr()
    for _ in range(3):
        x, y = load_sample("test")
        assert torch.bincount(y).tolist() == [100] * 10
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "nor replaced (Permission denied)" in err and "parsed from mnist_5k.csv.gz" in err


def test_a_cache_of_the_older_layout_is_neither_read_nor_touched(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    digest = sample.hashlib.sha256(sample.sample_path().read_bytes()).hexdigest()[:16]
    old = tmp_path / f"mnist_5k-{digest}.npz"
    with open(old, "wb") as fh:
        np.savez(fh, images=np.zeros((5000, 28, 28), np.uint8), labels=np.zeros(5000, np.int64))
    before = old.read_bytes()
    x, y = load_sample("test")
    assert torch.bincount(y).tolist() == [100] * 10 and capfd.readouterr().err == ""
    assert old.read_bytes() == before


@pytest.mark.parametrize("csv, message", [
    ("1,2\n", "expected 5000×785"),
    ("\n".join([",".join(["0"] * 784 + [str(d % 10)]) for d in range(4999)] + [",".join(["0"] * 784 + ["0"])]),
     r"\[501, 500, 500, 500, 500, 500, 500, 500, 500, 499\] digits of each class"),
    ("\n".join([",".join(["0.5"] * 784 + [str(d % 10)]) for d in range(5000)]), "whole numbers"),
])
def test_a_sample_csv_that_is_not_the_sample_is_refused(tmp_path, csv, message):
    bad = tmp_path / "bad.csv.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write(csv)
    with pytest.raises(ValueError, match=message):
        sample._parse_csv(bad)


# ── class 3: the controlled runs' cache ───────────────────────────────────────────


def _store(path: Path, runs: list[dict], digest: str | None = None) -> None:
    """Write runs as the module does, with a digest that matches them unless one is given."""
    data = {"format": experiments._RUNS_FORMAT, "runs": runs,
            "sha256": experiments._runs_digest(runs) if digest is None else digest}
    path.write_text(json.dumps(data), encoding="utf-8")


def _stored(folder):
    return json.loads((folder / "controlled_runs.json").read_text(encoding="utf-8"))["runs"]


def _edit(index, **change):
    def edit(runs):
        runs[index] = {k: v for k, v in {**runs[index], **change}.items() if v is not DROP}
        return runs

    return edit


DROP = object()
RUN_DAMAGES = {
    # the example: valid JSON, one run missing
    "a run missing": (lambda runs: runs[:-1], "missing no_pool seed 2"),
    "a variant missing": (lambda runs: [r for r in runs if r["variant"] != "no_relu"],
                          "missing no_relu seed 0, no_relu seed 1, no_relu seed 2"),
    "no runs": (lambda runs: [], "missing baseline seed 0"),
    "a run twice": (lambda runs: runs[:-1] + [runs[0]], "more than once: baseline seed 0"),
    "a field missing": (_edit(4, val_acc=DROP), "run 4 lacks val_acc"),
    "a field more": (_edit(2, note="x"), "run 2 lacks nothing and has unexpected note"),
    "an unknown variant": (_edit(0, variant="wide"), "variant 'wide'"),
    "a variant that is not a name": (_edit(0, variant=["baseline"]), "variant \\['baseline'\\]"),
    "a seed out of range": (_edit(1, seed=7), "seed 7 is not one of"),
    "a seed that is text": (_edit(1, seed="1"), "seed='1' is not an integer"),
    "a seed that is a bool": (_edit(1, seed=True), "seed=True is not an integer"),
    "params of another head": (_edit(3, params=10), "run 3: params=10 but the no_dropout head has 1181066"),
    "an accuracy above 1": (_edit(5, val_acc=1.5), "val_acc=1.5 is not a fraction"),
    "a negative loss": (_edit(6, train_loss=-0.1), "train_loss=-0.1 is not a finite number"),
    "a loss that is NaN": (_edit(7, val_loss=math.nan), "val_loss=nan"),
    "a loss that is text": (_edit(7, val_loss="0.3"), "val_loss='0.3'"),
    "a run that is a list": (lambda runs: [list(runs[0].values())] + runs[1:], "run 0 is a list, not a run"),
}


@pytest.mark.parametrize("damage", list(RUN_DAMAGES))
def test_controlled_runs_that_read_well_but_are_incomplete_are_computed_again(damage, experiments_cache,
                                                                              monkeypatch, capfd):
    folder, runs = experiments_cache
    edit, words = RUN_DAMAGES[damage]
    _store(folder / "controlled_runs.json", edit([r.__dict__.copy() for r in runs]))
    computed = []
    monkeypatch.setattr(experiments, "_compute_runs", lambda: computed.append(1) or runs)
    capfd.readouterr()
    assert experiments.controlled_runs() == runs and computed == [1]
    err = capfd.readouterr().err
    assert err.startswith(f"experiments: {folder / 'controlled_runs.json'} cannot be used (")
    assert "computing the controlled runs again" in err
    assert re.search(words, err), err
    assert experiments._read_runs(folder / "controlled_runs.json") == runs  # stored whole again
    assert experiments.controlled_runs() == runs and computed == [1]  # and read, not computed, next time


@pytest.mark.parametrize("content, words", [
    ('{"format": "digit-course-controlled-runs", "runs": [], "sha256": "0"}', "differ from the digest"),
    ("[]", "not a file of controlled runs"),  # the first layout: a bare list
    ('{"runs": []}', "not a file of controlled runs"),
    ("", "not readable JSON"),
    ("{not json", "not readable JSON"),
    (b"\xff\xfe\x00", "not readable JSON"),
])
def test_controlled_runs_files_that_are_not_whole_are_computed_again(content, words, experiments_cache, monkeypatch,
                                                                      capfd):
    folder, runs = experiments_cache
    path = folder / "controlled_runs.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    monkeypatch.setattr(experiments, "_compute_runs", lambda: runs)
    assert experiments.controlled_runs() == runs
    assert words in capfd.readouterr().err


def test_a_value_changed_by_hand_differs_from_the_digest(experiments_cache, monkeypatch, capfd):
    folder, runs = experiments_cache
    stored = _stored(folder)
    digest = json.loads((folder / "controlled_runs.json").read_text(encoding="utf-8"))["sha256"]
    stored[0]["val_acc"] = 0.95  # in range, every field there: only the digest can tell
    _store(folder / "controlled_runs.json", stored, digest=digest)
    monkeypatch.setattr(experiments, "_compute_runs", lambda: runs)
    assert experiments.controlled_runs() == runs
    assert "its runs differ from the digest stored with them" in capfd.readouterr().err


def _quick_network():
    return make_model("fixed", seed=1).eval(), History(epoch=[1.0], step=[1], seconds=[0.1], train_loss=[2.0],
                                                       test_loss=[2.0], test_acc=[0.5], lr=[0.001])


@pytest.mark.parametrize("damage, words", [
    ("truncated", "not a readable checkpoint"),
    ("empty", "an empty file"),
    ("another architecture", "holds a 'note' model, not the 'fixed' architecture"),
    ("no digest", "it carries no digest"),
    ("weights changed", "differ from the digest stored with them"),
    ("history changed", "differ from the digest stored with them"),
    ("accuracy out of range", "no validation accuracies in [0, 1]"),
])
def test_a_cached_network_that_is_damaged_is_trained_again(damage, words, experiments_cache, monkeypatch, capfd):
    from companion.checkpoint import save_checkpoint

    folder, _ = experiments_cache
    path = folder / "course_network.pt"
    good = experiments._read_network(path)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "another architecture":
        save_checkpoint(path, make_model("note", seed=0), history=good[1])
    elif damage == "no digest":
        save_checkpoint(path, good[0], history=good[1])
    else:
        model, history = good
        digest = experiments._network_digest(model, history)
        if damage == "weights changed":
            with torch.no_grad():
                model.fc2.bias[0] += 1e-3
        elif damage == "history changed":
            history.test_acc[0] = 0.99
        else:
            history.test_acc[0] = 1.5
            digest = experiments._network_digest(model, history)
        save_checkpoint(path, model, history=history, info={"sha256": digest})
    monkeypatch.setattr(experiments, "_train_network", _quick_network)
    model, history = experiments.course_network()
    assert history.test_acc == [0.5] and not model.training
    err = capfd.readouterr().err
    assert f"{path} cannot be used (" in err and words in err and "computing the course network again" in err
    model2, _ = experiments.course_network()  # stored whole: read next time
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), model2.state_dict().values()))
    assert capfd.readouterr().err == ""


# ── class 4: doctor asks the loader ────────────────────────────────────────────────


def _damage_file(path: Path, how: str) -> None:
    gz = path.suffix == ".gz"
    raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    edits = {"magic": lambda r: b"\x12\x34" + r[2:], "type": lambda r: r[:2] + b"\x07" + r[3:],
             "truncated": lambda r: r[:-10], "too long": lambda r: r + b"\x00" * 3, "short": lambda r: r[:2],
             "header": lambda r: r[:6]}
    raw = edits[how](raw)
    path.write_bytes(gzip.compress(raw) if gz else raw)


CASES = {
    # the example: a .gz cut short, which doctor called "all four files present"
    "truncated .gz": lambda f: (f / "t10k-images-idx3-ubyte.gz").write_bytes(
        (f / "t10k-images-idx3-ubyte.gz").read_bytes()[:-20]),
    "an empty .gz": lambda f: (f / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b"),
    "bad magic": lambda f: _damage_file(f / "train-images-idx3-ubyte.gz", "magic"),
    "unknown type": lambda f: _damage_file(f / "t10k-labels-idx1-ubyte.gz", "type"),
    "data truncated": lambda f: _damage_file(f / "train-images-idx3-ubyte.gz", "truncated"),
    "data too long": lambda f: _damage_file(f / "t10k-images-idx3-ubyte.gz", "too long"),
    "short header": lambda f: _damage_file(f / "train-labels-idx1-ubyte.gz", "short"),
    "header cut": lambda f: _damage_file(f / "train-images-idx3-ubyte.gz", "header"),
    "images 32×32": lambda f: mnist.write_idx(f / "train-images-idx3-ubyte.gz", np.zeros((12, 32, 32), np.uint8)),
    "no images": lambda f: mnist.write_idx(f / "t10k-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8)),
    "labels for fewer images": lambda f: mnist.write_idx(f / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8)),
    "label 10": lambda f: mnist.write_idx(f / "t10k-labels-idx1-ubyte.gz", np.full(5, 10, np.uint8)),
    "float images": lambda f: mnist.write_idx(f / "train-images-idx3-ubyte.gz", np.zeros((12, 28, 28), np.float32)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_doctor_reports_what_the_loader_refuses_in_the_loaders_words(case, tmp_path, monkeypatch, fake_mnist):
    folder = tmp_path / "data"
    fake_mnist(folder)
    CASES[case](folder)
    with pytest.raises(ValueError) as refused:
        mnist.load_folder(folder)
    with pytest.raises(ValueError) as checked:
        mnist.check_folder(folder)
    assert str(checked.value) == str(refused.value)
    monkeypatch.setenv("COURSE_MNIST_DIR", str(folder))
    line = doctor._local_mnist()
    assert line == f"cannot be used: {refused.value}" and "all four files" not in line
    text, _ = doctor.report(check_network=False)
    assert f"  mnist     cannot be used: {refused.value}" in text.splitlines()


def test_doctor_and_the_loader_agree_on_a_whole_folder_and_a_missing_file(tmp_path, monkeypatch, fake_mnist):
    folder = tmp_path / "data"
    fake_mnist(folder, n_train=7, n_test=3)
    assert mnist.check_folder(folder) == {"train": 7, "test": 3} == {"train": len(mnist.load_folder(folder).y_train),
                                                                    "test": 3}
    monkeypatch.setenv("COURSE_MNIST_DIR", str(folder))
    assert doctor._local_mnist() == f"{folder}: all four files read and checked (7 train / 3 test digits)"
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as missing:
        mnist.load_folder(folder)
    assert doctor._local_mnist() == str(missing.value)
    monkeypatch.setenv("COURSE_MNIST_DIR", str(folder / "train-images-idx3-ubyte.gz"))  # a file, not a folder
    assert doctor._local_mnist().endswith("is not a folder")


NO_TORCH = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("torch", "torchvision"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoTorch())
from companion import doctor
print(doctor._local_mnist())
print("torch" in sys.modules)
"""


def test_doctor_checks_the_files_where_torch_is_missing(tmp_path, fake_mnist):
    folder = tmp_path / "data"
    fake_mnist(folder)
    CASES["truncated .gz"](folder)
    env = {**os.environ, "COURSE_MNIST_DIR": str(folder), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", NO_TORCH], capture_output=True, text=True, env=env, timeout=120,
                          encoding="utf-8")
    assert proc.returncode == 0, proc.stderr
    line, imported = proc.stdout.splitlines()
    assert line.startswith("cannot be used: ") and "t10k-images-idx3-ubyte.gz: the gzip data is truncated" in line
    assert imported == "False"
