"""The full-MNIST loader: IDX parsing, clear errors, the auto fallback order. Offline and fast."""

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from companion import MNIST_MEAN, MNIST_STD, mnist, normalize

FULL_MNIST = Path("/work/shared/datasets/mnist")


def test_folder_round_trip_raw_and_gz(tmp_path, fake_mnist):
    for gz in (True, False):
        folder = tmp_path / f"gz{gz}"
        arrays = fake_mnist(folder, gz=gz)
        d = mnist.load_folder(folder)
        assert d.source == "mnist" and d.x_train.shape == (12, 1, 28, 28) and d.x_test.shape == (5, 1, 28, 28)
        assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
        assert torch.equal((d.x_train[:, 0] * 255).round().to(torch.uint8), torch.from_numpy(arrays["train_images"]))
        assert d.y_test.tolist() == arrays["test_labels"].tolist()


def test_torchvision_layout_and_dotted_names(tmp_path, fake_mnist):
    fake_mnist(tmp_path / "MNIST" / "raw")
    assert mnist.load_folder(tmp_path).y_train.shape == (12,)
    dotted = tmp_path / "kaggle"
    arrays = fake_mnist(dotted, gz=False)
    os.rename(dotted / "t10k-images-idx3-ubyte", dotted / "t10k-images.idx3-ubyte")
    assert mnist.find_files(dotted)["test_images"].name == "t10k-images.idx3-ubyte"
    assert mnist.load_folder(dotted).x_test.shape[0] == len(arrays["test_images"])


def test_missing_files_are_listed(tmp_path, fake_mnist):
    fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="missing t10k-labels-idx1-ubyte"):
        mnist.load_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        mnist.find_files(tmp_path / "nope")


def _corrupt(path: Path, how: str) -> None:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if how == "magic":
        raw = b"\x12\x34" + raw[2:]
    elif how == "type":
        raw = raw[:2] + b"\x07" + raw[3:]
    elif how == "truncated":
        raw = raw[:-10]
    elif how == "too long":
        raw = raw + b"\x00" * 3
    elif how == "short":
        raw = raw[:2]
    elif how == "header":
        raw = raw[:6]
    data = gzip.compress(raw) if path.suffix == ".gz" else raw
    path.write_bytes(data)


@pytest.mark.parametrize("how, message", [
    ("magic", "not an IDX file"),
    ("type", "not an IDX file"),
    ("truncated", "truncated: header"),
    ("too long", "longer than its header says"),
    ("short", "too short for an IDX header"),
    ("header", "header is truncated"),
])
def test_corrupt_files_name_the_file(tmp_path, how, message, fake_mnist):
    fake_mnist(tmp_path, gz=False)
    bad = tmp_path / "train-images-idx3-ubyte"
    _corrupt(bad, how)
    with pytest.raises(ValueError, match=message) as err:
        mnist.load_folder(tmp_path)
    assert str(bad) in str(err.value)


def test_truncated_gzip_names_the_file(tmp_path, fake_mnist):
    fake_mnist(tmp_path)
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-20])
    with pytest.raises(ValueError, match="gzip data is truncated or corrupt") as err:
        mnist.load_folder(tmp_path)
    assert str(bad) in str(err.value)


def test_wrong_shapes_and_values_name_the_file(tmp_path, fake_mnist):
    fake_mnist(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    mnist.write_idx(images, np.zeros((12, 32, 32), dtype=np.uint8))
    with pytest.raises(
        ValueError, match=r"expected uint8 images shaped \(N, 28, 28\), found uint8 \(12, 32, 32\)"
    ) as err:
        mnist.load_folder(tmp_path)
    assert str(images) in str(err.value)
    mnist.write_idx(images, np.zeros((12, 28, 28), dtype=np.float32))
    with pytest.raises(ValueError, match="found float32"):
        mnist.load_folder(tmp_path)
    mnist.write_idx(images, np.zeros((12, 28, 28), dtype=np.uint8))
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    mnist.write_idx(labels, np.zeros(11, dtype=np.uint8))
    with pytest.raises(ValueError, match="11 labels for 12 images") as err:
        mnist.load_folder(tmp_path)
    assert str(labels) in str(err.value)
    mnist.write_idx(labels, np.full(12, 10, dtype=np.uint8))
    with pytest.raises(ValueError, match="label 10 is not a digit"):
        mnist.load_folder(tmp_path)


@pytest.fixture(scope="module")
def sample_splits():
    """The real embedded sample, read once (from the user's cache) for this module."""
    from companion import load_sample

    return {split: load_sample(split) for split in ("train", "test")}


@pytest.fixture
def offline(tmp_path, monkeypatch, sample_splits):
    """No COURSE_MNIST_DIR, an empty cache, and a download that fails at once."""
    monkeypatch.delenv("COURSE_MNIST_DIR", raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist, "load_sample", lambda split: sample_splits[split])
    calls = []

    def no_network(root):
        calls.append(root)
        raise RuntimeError(
            "Error downloading train-images-idx3-ubyte.gz:\nTried https://mirror/, got:\n<urlopen error offline>"
        )

    monkeypatch.setattr(mnist, "_torchvision_download", no_network)
    return calls


def test_auto_prefers_course_mnist_dir(tmp_path, offline, monkeypatch, capsys, fake_mnist):
    calls = offline
    fake_mnist(tmp_path / "m")
    monkeypatch.setenv("COURSE_MNIST_DIR", str(tmp_path / "m"))
    d = mnist.load_digits("auto")
    assert d.source == "mnist" and calls == []
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"data: MNIST from {tmp_path / 'm'} (12 train / 5 test) (COURSE_MNIST_DIR)"]


def test_auto_falls_back_to_the_sample_in_one_line(offline, capsys):
    calls = offline
    d = mnist.load_digits("auto")
    assert d.source == "sample" and len(calls) == 1
    assert d.x_train.shape == (3500, 1, 28, 28) and d.x_test.shape == (1000, 1, 28, 28)
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("data: embedded 5,000-digit sample")
    assert "COURSE_MNIST_DIR is not set" in line and "download failed (<urlopen error offline>)" in line


def test_auto_explains_a_bad_course_mnist_dir_then_falls_back(tmp_path, offline, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MNIST_DIR", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    assert mnist.load_digits("auto").source == "sample"
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert "COURSE_MNIST_DIR:" in line and "missing train-images-idx3-ubyte" in line and "download failed" in line


def test_auto_raises_on_corrupt_files_instead_of_hiding_them(tmp_path, offline, monkeypatch, fake_mnist):
    fake_mnist(tmp_path / "m")
    _corrupt(tmp_path / "m" / "train-labels-idx1-ubyte.gz", "truncated")
    monkeypatch.setenv("COURSE_MNIST_DIR", str(tmp_path / "m"))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz: file is truncated"):
        mnist.load_digits("auto")


def test_mnist_does_not_fall_back(offline):
    with pytest.raises(RuntimeError, match="download failed"):
        mnist.load_digits("mnist", verbose=False)


def test_download_goes_through_a_temporary_folder(tmp_path, offline, monkeypatch, capsys, fake_mnist):
    calls = offline

    def fake(root):
        calls.append(root)
        fake_mnist(Path(root) / "MNIST" / "raw")
        # the files exist under the temporary name only, never under the final one
        assert not (tmp_path / "cache" / "mnist").exists()

    monkeypatch.setattr(mnist, "_torchvision_download", fake)
    d = mnist.load_digits("auto")
    assert d.source == "mnist" and "(downloaded now)" in d.description
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["mnist"]  # temporary folder removed
    d = mnist.load_digits("auto")  # second time: from the cache, no download
    assert len(calls) == 1 and "(cached download)" in d.description


def test_a_corrupt_download_is_never_moved_into_place(tmp_path, offline, monkeypatch, fake_mnist):
    def fake(root):
        raw = Path(root) / "MNIST" / "raw"
        fake_mnist(raw)
        _corrupt(raw / "t10k-images-idx3-ubyte.gz", "truncated")

    monkeypatch.setattr(mnist, "_torchvision_download", fake)
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz"):
        mnist.download()
    assert not (tmp_path / "cache" / "mnist").exists() and not list((tmp_path / "cache").iterdir())


def test_download_timeout(tmp_path, monkeypatch):
    import threading

    release = threading.Event()
    monkeypatch.setattr(mnist, "_torchvision_download", lambda root: release.wait(5))
    try:
        with pytest.raises(TimeoutError, match="did not finish within 0.05 s"):
            mnist.download(timeout=0.05, folder=tmp_path / "mnist")
    finally:
        release.set()
    assert not (tmp_path / "mnist").exists()
    with pytest.raises(ValueError, match="timeout=0"):
        mnist.download(timeout=0)


def test_path_and_bad_source(tmp_path, capsys, fake_mnist):
    fake_mnist(tmp_path, gz=False)
    assert mnist.load_digits(tmp_path, verbose=False).y_test.shape == (5,)
    assert mnist.load_digits(str(tmp_path)).source == "mnist"
    assert capsys.readouterr().out.startswith("data: MNIST from")
    with pytest.raises(ValueError, match="neither one of"):
        mnist.load_digits("fashion")


def test_limit(tmp_path, fake_mnist):
    fake_mnist(tmp_path)
    d = mnist.load_folder(tmp_path).limit(3)
    assert len(d.y_train) == 3 and len(d.y_test) == 3 and "first 3" in d.description
    with pytest.raises(ValueError, match="limit=0"):
        d.limit(0)


@pytest.mark.skipif(not FULL_MNIST.is_dir(), reason="the full MNIST folder is not on this machine")
def test_the_real_mnist():
    d = mnist.load_folder(FULL_MNIST)
    assert d.x_train.shape == (60000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    assert torch.bincount(d.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(d.x_train.mean().item() - 0.1307) < 1e-4 and abs(d.x_train.std().item() - 0.3081) < 1e-4
    raw = mnist._read_bytes(FULL_MNIST / "train-images-idx3-ubyte.gz")
    assert hashlib.md5(raw).hexdigest() == "6bbc9ace898e44ae57da46a324031adb"


def test_normalize():
    x = torch.tensor([MNIST_MEAN, MNIST_MEAN + MNIST_STD])
    assert torch.allclose(normalize(x), torch.tensor([0.0, 1.0]))


# ── the download never touches what it did not make ─────────────────────────


@pytest.fixture
def downloads(offline, monkeypatch, fake_mnist):
    """A download that works (fake files) and counts its calls."""
    calls = []

    def fake(root):
        calls.append(root)
        fake_mnist(Path(root) / "MNIST" / "raw", gz=False)
        fake_mnist(Path(root) / "MNIST" / "raw", gz=True)  # torchvision keeps both

    monkeypatch.setattr(mnist, "_torchvision_download", fake)
    return calls


def test_a_user_folder_where_the_download_would_go_is_left_alone(tmp_path, downloads, capsys):
    mine = tmp_path / "cache" / "mnist"
    mine.mkdir(parents=True)
    (mine / "mnist.csv").write_text("label,pixel0\n", encoding="utf-8")
    (mine / "train-images-idx3-ubyte.gz").write_bytes(b"my own half download")
    with pytest.raises(FileExistsError, match="was not made by a download of the course") as err:
        mnist.download()
    assert "COURSE_CACHE_DIR" in str(err.value) and downloads == []
    d = mnist.load_digits("auto")  # auto says why and falls back, without touching the folder
    assert d.source == "sample" and "does not touch it" in capsys.readouterr().out
    assert sorted(p.name for p in mine.iterdir()) == ["mnist.csv", "train-images-idx3-ubyte.gz"]
    assert (mine / "train-images-idx3-ubyte.gz").read_bytes() == b"my own half download"
    with pytest.raises(FileExistsError, match="does not touch it"):
        mnist.load_digits("mnist")
    (tmp_path / "cache" / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(FileExistsError, match="is not a folder"):
        mnist.download(folder=tmp_path / "cache" / "afile")


def test_an_incomplete_download_of_the_course_is_replaced(tmp_path, downloads):
    folder = mnist.download()
    assert (folder / mnist.MARKER).is_file() and len(downloads) == 1
    (folder / "t10k-labels-idx1-ubyte").unlink()
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    assert mnist.download() == folder and len(downloads) == 2
    assert mnist.load_folder(folder).y_test.shape == (5,)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    (folder / "my-notes.txt").write_text("mine", encoding="utf-8")  # something the course did not put there
    with pytest.raises(FileExistsError, match=r"holds files a download did not put there \(my-notes.txt\)"):
        mnist.download()
    assert (folder / "my-notes.txt").read_text(encoding="utf-8") == "mine"


def test_temporary_download_folders_of_ended_processes_are_removed(tmp_path, downloads):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    cache = tmp_path / "cache"
    stale = cache / f".mnist.download-{proc.pid}-0123abcd"
    live = cache / f".mnist.download-{os.getppid()}-0123abcd"
    other = cache / ".mnist.download-notes"
    for folder in (stale, live, other):
        (folder / "MNIST").mkdir(parents=True)
    mnist.download()
    assert sorted(p.name for p in cache.iterdir()) == sorted(["mnist", live.name, other.name])


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan"), 86_401, True, "60", None])
def test_download_timeout_is_a_bounded_number(timeout):
    with pytest.raises(ValueError, match="timeout="):
        mnist.download(timeout=timeout)


# ── data folders ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize("split", ["train", "t10k"])
def test_an_empty_split_is_refused_naming_the_file(tmp_path, fake_mnist, split):
    fake_mnist(tmp_path)
    images = tmp_path / f"{split}-images-idx3-ubyte.gz"
    mnist.write_idx(images, np.zeros((0, 28, 28), dtype=np.uint8))
    mnist.write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.zeros(0, dtype=np.uint8))
    with pytest.raises(ValueError, match="holds no images") as err:
        mnist.load_folder(tmp_path)
    assert str(images) in str(err.value)


@pytest.mark.parametrize("x, words", [
    (torch.full((2, 1, 28, 28), 255, dtype=torch.uint8), "dtype torch.uint8"),
    (torch.full((2, 1, 28, 28), 255.0), "values from 255 to 255"),
    (torch.full((2, 1, 28, 28), -0.1), "values from -0.1"),
    (torch.tensor([0.5, float("nan")]), "nan"),
    (np.arange(4, dtype=np.uint8), "dtype uint8"),
    (np.array([0.0, 2.0]), "values from 0 to 2"),
    ([0.5], "type list"),
])
def test_normalize_refuses_pixels_outside_0_1(x, words):
    with pytest.raises(ValueError, match=words) as err:
        normalize(x)
    assert "255" in str(err.value) or "tensor" in str(err.value)


def test_normalize_takes_floats_in_0_1():
    assert normalize(np.array([MNIST_MEAN])) == pytest.approx([0.0])
    assert normalize(torch.empty(0, 1, 28, 28)).shape == (0, 1, 28, 28)
    assert normalize(torch.ones(1, dtype=torch.float64)).dtype == torch.float64
