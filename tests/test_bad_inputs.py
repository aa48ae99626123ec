"""A sweep of bad inputs, by class, through the command line in-process and through the API.

Every bad input must end in one clear line (``error: …``, exit status 1, or argparse's usage
and error lines, exit status 2), never a traceback, never a hang, and never cost a file: a
model file that was there before keeps its bytes. The cases are many of each class on purpose,
so that the next one of the same class is covered too."""

from __future__ import annotations

import math
import os
import stat

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion import cli, mnist
from companion.checkpoint import save_checkpoint
from companion.model import build_model, make_model

FAST = ["--limit", "16", "--batch-size", "16", "--epochs", "0.5", "--no-progress", "--device", "cpu"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working folder holding a trained-looking model.pt, with no network and an empty cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_MNIST_DIR", raising=False)

    def no_network(root):
        raise RuntimeError("<urlopen error offline>")

    monkeypatch.setattr(mnist, "_torchvision_download", no_network)
    save_checkpoint(tmp_path / "model.pt", make_model("fixed", seed=1))
    return tmp_path


def _run(argv: list[str], capsys, workdir) -> tuple[int, str]:
    """Run the CLI; check the outcome's form and that model.pt kept its bytes; return (code, stderr)."""
    before = (workdir / "model.pt").read_bytes()
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse: usage errors
        code = exc.code
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err + captured.out, argv
    if code == 2:
        lines = err.strip().splitlines()
        assert lines[0].startswith("usage:") and ": error: " in lines[-1], (argv, err)
    elif code != 0:
        assert code == 1, (argv, code, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), (argv, err)
    assert (workdir / "model.pt").read_bytes() == before, f"{argv} changed model.pt"
    assert not [p.name for p in workdir.iterdir() if p.name.endswith(".tmp")], argv
    return code, err


# ── CLI arguments ────────────────────────────────────────────────────────────


@pytest.mark.parametrize("argv", [
    [], ["fly"], ["--bogus"], ["train", "--bogus"], ["train", "extra"],
] + [
    ["train", "--epochs", x] for x in ("0", "-1", "nan", "inf", "-inf", "1e9", "101", "abc", "", "0x10", "1e400")
] + [
    ["train", "--seed", x] for x in ("-1", "18446744073709551616", "9223372036854775808", "1.5", "abc", "", "1e3")
] + [
    ["train", "--timeout", x] for x in ("0", "-5", "inf", "nan", "1e400", "86401", "abc")
] + [
    ["train", "--batch-size", x] for x in ("0", "-3", "2147483648", "1e3", "99999999999999999999", "x")
] + [
    ["train", "--arch", "resnet"], ["train", "--recipe", "sgd"], ["train", "--limit", "0"],
    ["predict"], ["predict", "a.png", "b.png"], ["doctor", "--bogus"], ["train", "--out"],
])
def test_usage_errors(argv, capsys, workdir):
    code, _ = _run(argv, capsys, workdir)
    assert code == 2


@pytest.mark.parametrize("extra, message", [
    ([], "model.pt already exists"),  # the default --out
    (["--out", "model.pt"], "pass --force"),
    (["--out", "./model.pt", "--data", "nowhere"], "already exists"),  # --out is checked first
    (["--out", ""], "is empty"),
    (["--out", " "], "is empty"),
    (["--out", "/"], "is a folder"),
    (["--out", "."], "is a folder"),
    (["--out", ".."], "is a folder"),
    (["--out", "sub/"], "is a folder"),
    (["--out", "nowhere/m.pt"], "not an existing folder"),
    (["--out", "model.pt/m.pt"], "not an existing folder"),
    (["--out", "new.pt", "--device", "tpu"], "not a device choice"),
    (["--out", "new.pt", "--device", "cuda:abc"], "not a device choice"),
    (["--out", "new.pt", "--device", ""], "not a device choice"),
    (["--out", "new.pt", "--data", "nowhere"], "neither one of"),
    (["--out", "new.pt", "--data", "model.pt"], "neither one of"),
    (["--out", "new.pt", "--data", "mnist"], "download failed"),
])
def test_train_refuses_before_any_work(extra, message, capsys, workdir, monkeypatch):
    from companion import train

    monkeypatch.setattr(train, "fit", lambda *a, **k: pytest.fail("training started"))
    code, err = _run(["train", *FAST, *extra], capsys, workdir)
    assert code == 1 and message in err, err
    assert not (workdir / "new.pt").exists()


def test_a_read_only_file_is_kept_even_with_force(capsys, workdir, monkeypatch):
    from companion import train

    monkeypatch.setattr(train, "fit", lambda *a, **k: pytest.fail("training started"))
    (workdir / "model.pt").chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # 444: refused, even as root
    try:
        code, err = _run(["train", *FAST, "--force"], capsys, workdir)
    finally:
        (workdir / "model.pt").chmod(0o644)
    assert code == 1 and "read-only" in err


def test_a_damaged_sample_cache_is_rebuilt_by_train(capsys, workdir):
    import hashlib

    from companion import sample

    digest = hashlib.sha256(sample.sample_path().read_bytes()).hexdigest()[:16]
    cached = workdir / "cache" / f"mnist_5k-{sample._CACHE_LAYOUT}-{digest}.npz"
    cached.parent.mkdir()
    cached.write_bytes(b"")  # what a full disk or a killed copy leaves
    code, _ = _run(["train", "--data", "sample", *FAST, "--out", "new.pt"], capsys, workdir)
    assert code == 0 and (workdir / "new.pt").is_file() and cached.stat().st_size > 1_000_000


# ── data folders ─────────────────────────────────────────────────────────────


def _idx(folder, key, array):
    mnist.write_idx(folder / (mnist.FILES[key] + ".gz"), array)


DATA_CASES = {
    "empty folder": lambda f: None,
    "one file missing": lambda f: (f / "t10k-labels-idx1-ubyte.gz").unlink(),
    "truncated gzip": lambda f: (f / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00"),
    "empty file": lambda f: (f / "train-images-idx3-ubyte.gz").write_bytes(b""),
    "text instead of IDX": lambda f: (f / "train-images-idx3-ubyte.gz").write_bytes(b"pixel,pixel\n1,2\n"),
    "empty train split": lambda f: (_idx(f, "train_images", np.zeros((0, 28, 28), np.uint8)),
                                    _idx(f, "train_labels", np.zeros(0, np.uint8))),
    "empty test split": lambda f: (_idx(f, "test_images", np.zeros((0, 28, 28), np.uint8)),
                                   _idx(f, "test_labels", np.zeros(0, np.uint8))),
    "labels above 9": lambda f: _idx(f, "train_labels", np.full(12, 11, np.uint8)),
    "fewer labels": lambda f: _idx(f, "test_labels", np.zeros(2, np.uint8)),
    "32×32 images": lambda f: _idx(f, "test_images", np.zeros((5, 32, 32), np.uint8)),
    "float images": lambda f: _idx(f, "test_images", np.zeros((5, 28, 28), np.float32)),
    "overflowing header": lambda f: (f / "train-images-idx3-ubyte.gz").write_bytes(
        bytes([0, 0, 8, 4]) + (65536).to_bytes(4, "big") * 4),
    "a folder named like a file": lambda f: ((f / "train-images-idx3-ubyte.gz").unlink(),
                                            (f / "train-images-idx3-ubyte.gz").mkdir()),
}


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_bad_data_folders(case, capsys, workdir, fake_mnist):
    folder = workdir / "data"
    if case == "empty folder":
        folder.mkdir()
    else:
        fake_mnist(folder)
    DATA_CASES[case](folder)
    code, err = _run(["train", "--data", str(folder), *FAST, "--out", "new.pt"], capsys, workdir)
    assert code == 1, err
    assert not (workdir / "new.pt").exists()


def test_a_user_folder_in_the_cache_survives_auto(capsys, workdir, tiny_mnist, monkeypatch):
    mine = workdir / "cache" / "mnist"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes", encoding="utf-8")
    (mine / "digits.csv").write_text("label,pixel0\n7,0\n", encoding="utf-8")

    def download_ok(root):  # a download that works, into the temporary folder
        import shutil

        shutil.copytree(tiny_mnist, root / "MNIST" / "raw")

    monkeypatch.setattr(mnist, "_torchvision_download", download_ok)
    code, err = _run(["train", "--data", "mnist", *FAST, "--out", "new.pt"], capsys, workdir)
    assert code == 1 and "does not touch it" in err
    assert sorted(p.name for p in mine.iterdir()) == ["digits.csv", "notes.txt"]
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "my notes"


# ── images and checkpoints through `predict` ─────────────────────────────────


def _png(path, array, mode=None):
    from PIL import Image

    Image.fromarray(array, mode).save(path)
    return path


IMAGE_CASES = {
    "text file": lambda p: p.write_text("not an image", encoding="utf-8"),
    "empty file": lambda p: p.write_bytes(b""),
    "truncated PNG": lambda p: p.write_bytes(_png(p, np.zeros((40, 40), np.uint8)).read_bytes()[:60]),
    "1×1 pixel": lambda p: _png(p, np.zeros((1, 1), np.uint8)),
    "flat white": lambda p: _png(p, np.full((40, 40), 255, np.uint8)),
    "flat 16-bit": lambda p: _png(p, np.full((40, 40), 3000, np.uint16)),
    "a folder": lambda p: p.mkdir(),
    "missing": lambda p: None,
}


@pytest.mark.parametrize("case", sorted(IMAGE_CASES))
def test_bad_images(case, capsys, workdir):
    image = workdir / "digit.png"
    IMAGE_CASES[case](image)
    code, _ = _run(["predict", str(image)], capsys, workdir)
    assert code == 1


def test_an_image_over_the_bomb_limit(capsys, workdir, monkeypatch):
    from PIL import Image

    image = _png(workdir / "big.png", np.zeros((60, 60), np.uint8))
    for limit in (1000, 3000):  # over twice the limit (Pillow's error), and over the limit (its warning)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        code, err = _run(["predict", str(image)], capsys, workdir)
        assert code == 1 and "decompression-bomb" in err


def _checkpoint_cases(good: dict) -> dict:
    def edit(**changes):
        payload = dict(good)
        for key, value in changes.items():
            if value is KeyError:
                payload.pop(key)
            else:
                payload[key] = value
        return payload

    state = good["state_dict"]
    wide = {**state, "fc1.weight": torch.zeros(256, 9216), "fc1.bias": torch.zeros(256)}
    return {
        "no config": edit(config=KeyError),
        "config a string": edit(config="note"),
        "config a list": edit(config=["note"]),
        "unknown arch": edit(config={"arch": "resnet"}),
        "arch a list": edit(config={"arch": ["note"]}),
        "no state_dict": edit(state_dict=KeyError),
        "state_dict a list": edit(state_dict=[1, 2]),
        "a number among the tensors": edit(state_dict={**state, "fc1.bias": 3}),
        "a layer missing": edit(state_dict={k: v for k, v in state.items() if not k.startswith("fc2")}),
        "an extra tensor": edit(state_dict={**state, "fc3.weight": torch.zeros(2)}),
        "fc1 of 256": edit(state_dict=wide),
        "history a list": edit(history=[1, 2]),
        "history of strings": edit(history={"epoch": "one"}),
        "recipe a string": edit(recipe="course"),
        "info a list": edit(info=[]),
        "version 2": edit(version=2),
        "no marker": edit(format=KeyError),
        "a bare list": [1, 2, 3],
    }


def test_bad_checkpoints(capsys, workdir):
    image = _png(workdir / "digit.png", np.pad(np.full((20, 8), 255, np.uint8), 10))
    good = torch.load(workdir / "model.pt", weights_only=True)
    assert _run(["predict", str(image)], capsys, workdir)[0] == 0
    cases = _checkpoint_cases(good)
    cases["empty"] = b""
    cases["truncated"] = (workdir / "model.pt").read_bytes()[:500]
    cases["a pickle of a class"] = None
    for name, payload in cases.items():
        bad = workdir / "bad.pt"
        if isinstance(payload, bytes):
            bad.write_bytes(payload)
        elif payload is None:
            torch.save({"format": "digit-course-checkpoint", "version": 1, "obj": make_model()}, bad)
        else:
            torch.save(payload, bad)
        code, err = _run(["predict", str(image), "--model", str(bad)], capsys, workdir)
        assert code == 1 and f"{bad}" in err, (name, err)


# ── API arguments: many values, one rule ─────────────────────────────────────

ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                st.lists(st.integers(), max_size=3), st.just(math.inf), st.just(-0.0))


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(["lr", "epochs", "head_epochs", "head_lr", "weight_decay", "momentum", "gamma",
                              "warmup", "label_smoothing", "batch_size", "head_batch_size", "dropout", "freeze",
                              "optimizer", "schedule"]), value=ANY)
def test_recipe_values_are_valid_or_a_value_error(field, value):
    from companion.recipes import COURSE, MAX_EPOCHS

    try:
        r = COURSE.with_(**{field: value})
    except ValueError as exc:
        assert field in str(exc) or "freeze item" in str(exc)
        return
    if field in ("lr", "head_lr"):
        assert math.isfinite(value) and value > 0
    if field in ("epochs", "head_epochs"):
        assert 0 <= value <= MAX_EPOCHS
    if field == "momentum":
        assert 0 <= value < 1
    if field == "gamma":
        assert 0 < value <= 1
    if field == "weight_decay":
        assert 0 <= value < math.inf
    assert r.with_() == r


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=ANY)
def test_devices_seeds_and_timeouts_are_valid_or_refused(value, tmp_path, monkeypatch):
    from companion import get_device, load_sample

    try:
        assert isinstance(get_device(value), torch.device)
    except (ValueError, RuntimeError):
        pass
    monkeypatch.setattr(mnist, "_torchvision_download", lambda root: pytest.fail("no download in this test"))
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    try:
        mnist.download(timeout=value, folder=tmp_path / "a-file" / "mnist")
    except ValueError as exc:
        assert "timeout=" in str(exc)
    except OSError:  # a valid timeout reaches the folder, which cannot be made inside a file
        assert 0 < value <= 86_400
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        with pytest.raises(ValueError, match="seed="):
            load_sample("test", seed=value)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.integers(-3, 12), st.floats(-1, 11), st.just(math.nan)), min_size=1, max_size=6))
def test_labels_are_classes_or_refused(values):
    from companion.evaluate import confusion_matrix

    y = torch.tensor(values)
    try:
        m = confusion_matrix(y, y)
    except ValueError:
        assert y.is_floating_point() or y.min() < 0 or y.max() > 9
        return
    assert not y.is_floating_point() and m.trace() == len(y)


@settings(max_examples=80, deadline=None)
@given(low=st.floats(-300, 300, allow_nan=False), high=st.floats(-300, 300, allow_nan=False),
       dtype=st.sampled_from([torch.float32, torch.float64, torch.uint8, torch.int64]))
def test_pixels_are_in_0_1_or_refused(low, high, dtype):
    from companion.evaluate import predict_labels

    x = torch.linspace(min(low, high), max(low, high), 784).reshape(1, 1, 28, 28)
    x = x.to(dtype) if dtype.is_floating_point else x.clamp(0, 255).to(dtype)
    ok = dtype.is_floating_point and 0 <= x.min() and x.max() <= 1
    try:
        mnist.normalize(x)
        predict_labels(_model(), x)
    except ValueError as exc:
        assert not ok and "255" in str(exc)
    else:
        assert ok


_MODEL = []


def _model():
    if not _MODEL:
        _MODEL.append(make_model())
    return _MODEL[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.just("keep.pt"), st.text(alphabet=st.sampled_from("ab./ -_\u00e9"), max_size=12)))
def test_destinations_are_checked_without_touching_anything(name, tmp_path):
    from companion.files import check_destination

    folder = tmp_path / "dest"
    folder.mkdir(exist_ok=True)
    (folder / "keep.pt").write_bytes(b"mine")
    before = sorted(os.listdir(folder))
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        check_destination(name, overwrite=False)
    except (ValueError, OSError):
        pass
    finally:
        os.chdir(cwd)
    assert sorted(os.listdir(folder)) == before and (folder / "keep.pt").read_bytes() == b"mine"


ODD = [None, True, -1, 2.5, math.nan, math.inf, "abc", "", [1], (1, 2), {}, b"x", torch.zeros(2), np.zeros(2)]


def _api_calls():
    from companion import checkpoint, evaluate, params, predict, prepare, recipes, train
    from companion.history import History

    def fit(**kwargs):
        args = {"x": torch.rand(4, 1, 28, 28), "y": torch.zeros(4, dtype=torch.long)}
        args.update({k: v for k, v in kwargs.items() if k in args})
        rest = {k: v for k, v in kwargs.items() if k not in args}
        return train.fit(rest.pop("model", make_model()), args["x"], args["y"], progress=False,
                         **{"epochs": 0.1, **rest})

    return {
        "fit(x)": lambda v: fit(x=v), "fit(y)": lambda v: fit(y=v), "fit(model)": lambda v: fit(model=v),
        "fit(epochs)": lambda v: fit(epochs=v), "fit(seed)": lambda v: fit(seed=v),
        "fit(device)": lambda v: fit(device=v), "fit(evals_per_epoch)": lambda v: fit(evals_per_epoch=v),
        "fit(recipe)": lambda v: fit(recipe=v),
        "evaluate(x)": lambda v: evaluate.evaluate(_model(), v, torch.zeros(1, dtype=torch.long)),
        "evaluate(y)": lambda v: evaluate.evaluate(_model(), torch.zeros(2, 1, 28, 28), v),
        "predict_labels": lambda v: evaluate.predict_labels(_model(), v),
        "confusion_matrix": lambda v: evaluate.confusion_matrix(v, v),
        "prepare_image": lambda v: predict.prepare_image(v),
        "predict_image(model)": lambda v: predict.predict_image(v, np.eye(30)),
        "prepare(image)": lambda v: prepare.prepare(v),
        "prepare(ink_threshold)": lambda v: prepare.prepare(np.eye(30), v),
        "scale_ink(gray)": lambda v: prepare.scale_ink(v, True),
        "scale_ink(inverted)": lambda v: prepare.scale_ink(np.eye(30, dtype=np.float32), v),
        "separate_ink(gray)": lambda v: prepare.separate_ink(v),
        "remove_clutter(threshold)": lambda v: prepare.remove_clutter(np.eye(30, dtype=np.float32), v),
        "crop_to_ink(image)": lambda v: prepare.crop_to_ink(v),
        "resize_longer_side(size)": lambda v: prepare.resize_longer_side(np.eye(30, dtype=np.float32), v),
        "centre_by_mass(small)": lambda v: prepare.centre_by_mass(v),
        "save_checkpoint(model)": lambda v: checkpoint.save_checkpoint("never.pt", v),
        "save_checkpoint(history)": lambda v: checkpoint.save_checkpoint("never.pt", _model(), history=v),
        "save_checkpoint(recipe)": lambda v: checkpoint.save_checkpoint("never.pt", _model(), recipe=v),
        "save_checkpoint(info)": lambda v: checkpoint.save_checkpoint("never.pt", _model(), info=v),
        "History.from_dict": lambda v: History.from_dict(v),
        "lr_schedule(epochs)": lambda v: recipes.lr_schedule(recipes.COURSE, 3, epochs=v),
        "format_params": lambda v: params.format_params(v),
        "format_macs": lambda v: params.format_macs(v),
        "macs_table(model)": lambda v: params.macs_table(v, torch.zeros(1, 1, 28, 28)),
        "build_model": lambda v: build_model(v),
        "load_digits": lambda v: mnist.load_digits(v, verbose=False),
        "Digits.limit": lambda v: mnist.Digits(*[torch.zeros(2)] * 4, "sample", "two").limit(v),
    }


@pytest.mark.parametrize("name", sorted(_api_calls()))
def test_api_arguments_are_refused_in_words(name, tmp_path, monkeypatch):
    """Odd values are a ValueError (or OSError/RuntimeError) that says what is wanted, never a
    TypeError or AttributeError from deep inside, and no temporary file is left."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(mnist, "_torchvision_download", lambda root: pytest.fail("no download in this test"))
    call = _api_calls()[name]
    for value in ODD:
        try:
            call(value)
        except (ValueError, OSError, RuntimeError) as exc:
            assert str(exc).strip(), (name, value)
        except Exception as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{name}({value!r}) raised {type(exc).__name__}: {exc}")
    assert not list(tmp_path.glob(".*.tmp"))
