"""MNIST: its normalisation, its four files (IDX, read by ``companion.idx``), its download, and one
function that finds digits.

``load_digits`` gives train and test tensors from, in this order of preference:

1. a local folder with the four IDX files, raw or ``.gz`` (an argument or ``$COURSE_MNIST_DIR``);
2. torchvision's download into the course cache (``companion.cache.cache_dir() / 'mnist'``);
3. the embedded 5,000-digit sample (``companion.load_sample``), which needs no network.

Files that are truncated, corrupt or of the wrong shape raise ``ValueError`` naming the file;
they are never silently replaced by other data. torch is imported only when tensors are made,
so that ``check_folder`` (which ``python -m companion doctor`` uses: the loader's own checks)
works without it.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import _validate
from .cache import MAX_DOWNLOAD_SECONDS, cache_dir
from .files import remove_stale
from .idx import _read_bytes, read_idx, write_idx  # noqa: F401 - part of this module's interface
from .sample import load_sample

if TYPE_CHECKING:
    import torch

__all__ = [
    "MNIST_MEAN",
    "MNIST_STD",
    "normalize",
    "check_pixels",
    "FILES",
    "Digits",
    "read_idx",
    "write_idx",
    "find_files",
    "check_folder",
    "load_folder",
    "download",
    "load_digits",
]

#: torchvision's names for the four files (``.gz`` may be appended)
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
OFFICIAL_COUNTS = {"train": 60_000, "test": 10_000}
#: mean and standard deviation of MNIST's 60,000 training images in [0, 1]
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
SOURCES = ("auto", "sample", "mnist")
#: the file that marks a folder as a download of the course's: only such a folder is ever replaced
MARKER = ".digit-course-download"


@dataclass
class Digits:
    """Train and test digits as tensors: images float32 in [0, 1] shaped (N, 1, 28, 28),
    labels int64. ``source`` is ``'mnist'`` or ``'sample'``; ``description`` says where
    they came from in words."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str
    description: str

    def limit(self, n: int) -> Digits:
        """The first ``n`` digits of each split (for quick runs)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"limit={n!r} must be a positive integer")
        return Digits(
            self.x_train[:n], self.y_train[:n], self.x_test[:n], self.y_test[:n],
            self.source, f"{self.description}, first {n} of each split",
        )

    def __repr__(self) -> str:
        return (
            f"Digits(source={self.source!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"description={self.description!r})"
        )


def check_pixels(x) -> None:
    """Refuse images that are not floats in [0, 1] (a tensor or numpy array): pixels in
    0..255, uint8 or not, would make every later number wrong without a word."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        raise ValueError(f"images of type {type(x).__name__}: expected a tensor (or numpy array) of floats in [0, 1]")
    is_float = getattr(dtype, "is_floating_point", None)  # torch dtypes have it, numpy's do not
    if not (is_float if is_float is not None else np.issubdtype(dtype, np.floating)):
        raise ValueError(f"images of dtype {dtype}: expected floats in [0, 1]; for pixels in 0..255 divide by "
                         "255 first (x.float() / 255)")
    if (x.size if isinstance(x, np.ndarray) else x.numel()) == 0:
        return
    low, high = float(x.min()), float(x.max())
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"images with values from {low:g} to {high:g}: expected [0, 1]; for pixels in 0..255 "
                         "divide by 255 first (x / 255), and normalise only once")


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Standardise [0, 1] images with MNIST's training mean and std (0.1307, 0.3081).

    Anything else (uint8, values above 1, NaN) is a ``ValueError`` saying to divide by 255."""
    check_pixels(x)
    return (x - MNIST_MEAN) / MNIST_STD


# ── the four files ───────────────────────────────────────────────────────────


def find_files(folder: str | os.PathLike) -> dict[str, Path]:
    """Locate the four files in ``folder`` (or in torchvision's ``folder/MNIST/raw``).

    Accepts each name raw or with ``.gz`` (raw preferred: faster to read), and the
    ``t10k-images.idx3-ubyte`` spelling. Raises ``FileNotFoundError`` listing what is missing.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    found, missing = {}, []
    for key, name in FILES.items():
        names = [name, name.replace("-idx", ".idx")]
        candidates = [d / (n + ext) for d in (folder, folder / "MNIST" / "raw") for n in names for ext in ("", ".gz")]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            missing.append(name)
        else:
            found[key] = hit
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(missing)} (raw or .gz)")
    return found


def _image_array(path: Path) -> np.ndarray:
    a = read_idx(path)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[1:] != (28, 28):
        raise ValueError(f"{path}: expected uint8 images shaped (N, 28, 28), found {a.dtype} {a.shape}")
    if len(a) == 0:
        raise ValueError(f"{path}: holds no images (its header says 0); each split needs at least one digit")
    return a


def _label_array(path: Path, n: int, images: Path) -> np.ndarray:
    a = read_idx(path)
    if a.dtype != np.uint8 or a.ndim != 1:
        raise ValueError(f"{path}: expected uint8 labels shaped (N,), found {a.dtype} {a.shape}")
    if len(a) != n:
        raise ValueError(f"{path}: {len(a)} labels for {n} images in {images.name}")
    if len(a) and a.max() > 9:
        raise ValueError(f"{path}: label {int(a.max())} is not a digit 0–9")
    return a


def _read_folder(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """The four arrays of ``folder``, each file read and checked (numpy only)."""
    files = find_files(folder)
    arrays = {}
    for split in ("train", "test"):
        images = files[f"{split}_images"]
        arrays[f"{split}_images"] = _image_array(images)
        arrays[f"{split}_labels"] = _label_array(files[f"{split}_labels"], len(arrays[f"{split}_images"]), images)
    return arrays


def check_folder(folder: str | os.PathLike) -> dict[str, int]:
    """Read and check the four files of ``folder`` exactly as ``load_folder`` does, without
    torch (``python -m companion doctor`` asks it): ``{"train": N, "test": M}``. A missing file
    is a ``FileNotFoundError``; a truncated, corrupt or wrongly shaped one a ``ValueError``
    naming the file."""
    arrays = _read_folder(folder)
    return {split: len(arrays[f"{split}_labels"]) for split in ("train", "test")}


def load_folder(folder: str | os.PathLike) -> Digits:
    """Read the four MNIST files from ``folder`` (see ``find_files``), checking every one."""
    import torch

    arrays = _read_folder(folder)

    def images(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.copy()).unsqueeze(1).float().div_(255.0)

    x_train, x_test = images(arrays["train_images"]), images(arrays["test_images"])
    y_train = torch.from_numpy(arrays["train_labels"].astype(np.int64))
    y_test = torch.from_numpy(arrays["test_labels"].astype(np.int64))
    counts = f"{len(y_train):,} train / {len(y_test):,} test"
    return Digits(x_train, y_train, x_test, y_test, "mnist", f"MNIST from {Path(folder)} ({counts})")


# ── download ─────────────────────────────────────────────────────────────────


def _complete(folder: Path) -> bool:
    try:
        find_files(folder)
    except FileNotFoundError:
        return False
    return True


def _foreign(folder: Path) -> list[str]:
    """What in ``folder`` a download of the course did not put there."""
    ours = {MARKER} | {n + ext for n in FILES.values() for ext in ("", ".gz")}
    return sorted(p.name for p in folder.iterdir() if p.name not in ours)


def _refuse_foreign(target: Path) -> None:
    """Raise unless ``target`` is absent or a download of the course's that holds nothing else."""
    if not target.exists() and not target.is_symlink():
        return
    why = None
    if not target.is_dir() or target.is_symlink():
        why = "is not a folder"
    elif not (target / MARKER).is_file():
        why = "was not made by a download of the course"
    elif _foreign(target):
        why = f"holds files a download did not put there ({', '.join(_foreign(target)[:3])})"
    if why:
        raise FileExistsError(
            f"{target} {why} and lacks some of the four MNIST files, so the download does not touch it: "
            "move it elsewhere, or set COURSE_CACHE_DIR to another folder (or use --data PATH for a "
            "folder that holds the four files)"
        )


def _torchvision_download(root: Path) -> None:
    """Fetch the four files with torchvision (its mirrors, MD5 checks) into ``root/MNIST/raw``."""
    from torchvision.datasets import MNIST

    MNIST(str(root), train=True, download=True)


def download(timeout: float = 60.0, folder: str | os.PathLike | None = None) -> Path:
    """Download MNIST with torchvision into ``folder`` (default ``cache_dir() / 'mnist'``).

    Returns the folder at once if it already holds the four files. The download goes to a
    fresh temporary folder, every file is parsed and checked, and only then is the folder
    renamed into place (with a ``MARKER`` file in it), so a half-written download is never
    used. A folder that exists without the four files is replaced only if a download of the
    course made it and it holds nothing else; any other is left untouched and is a
    ``FileExistsError`` saying what to do. Raises ``TimeoutError`` after ``timeout`` seconds
    (at most ``MAX_DOWNLOAD_SECONDS``) and ``RuntimeError`` when every mirror fails.
    """
    limit = MAX_DOWNLOAD_SECONDS
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= limit:
        raise ValueError(f"timeout={timeout!r} must be a number of seconds above 0 and at most {limit:g}")
    target = Path(folder).expanduser() if folder is not None else cache_dir() / "mnist"
    if _complete(target):
        return target
    _refuse_foreign(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.download-"
    remove_stale(target.parent, re.escape(prefix) + r"(?P<pid>[1-9][0-9]{0,9})-[0-9a-f]{8}")  # of killed runs
    tmp = target.parent / f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    outcome: dict[str, BaseException] = {}

    def work() -> None:
        try:
            _torchvision_download(tmp)
        except BaseException as exc:  # reported by the waiting thread, never raised here
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="mnist-download", daemon=True)
    worker.start()
    worker.join(timeout)
    try:
        if worker.is_alive():
            raise TimeoutError(f"the MNIST download did not finish within {timeout:g} s")
        if "error" in outcome:
            exc = outcome["error"]
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            summary = lines[-1][:160] if lines else type(exc).__name__
            raise RuntimeError(f"the MNIST download failed ({summary})") from exc
        raw = tmp / "MNIST" / "raw"
        load_folder(raw)  # parse and check everything before it becomes visible
        (raw / MARKER).write_text("made by companion.mnist.download; replaced only by another download\n")
        if target.exists():
            _refuse_foreign(target)  # checked again: something may have appeared meanwhile
            shutil.rmtree(target)  # an incomplete download of the course's, holding nothing else
        os.rename(raw, target)
    except OSError:
        if not _complete(target):  # another process may have renamed its copy first
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# ── one entry point ──────────────────────────────────────────────────────────


def _sample(reason: str | None) -> Digits:
    x_train, y_train = load_sample("train")
    x_test, y_test = load_sample("test")
    text = ("embedded 5,000-digit sample (3,500 train / 1,000 test, 500 more set aside for validation; "
            "all from MNIST's training set)")
    if reason:
        text += f" — {reason}"
    return Digits(x_train, y_train, x_test, y_test, "sample", text)


def load_digits(data: str | os.PathLike = "auto", *, timeout: float = 60.0, verbose: bool = True) -> Digits:
    """Train and test digits from ``data``:

    - a folder path: the four IDX files there (``load_folder``);
    - ``'mnist'``: the folder ``$COURSE_MNIST_DIR`` if set, else the cache, else download;
    - ``'sample'``: the embedded 5,000-digit sample;
    - ``'auto'``: tries ``$COURSE_MNIST_DIR``, then the cache/download, then the sample, and
      (when ``verbose``) prints one line saying which it used and why it fell back.

    Missing files and failed downloads make ``'auto'`` fall back; files that exist but are
    corrupt always raise ``ValueError`` naming the file.
    """
    _validate.boolean("verbose", verbose)
    if not isinstance(data, (str, os.PathLike)):
        raise ValueError(f"data={data!r} must be one of {list(SOURCES)} or a folder path")
    if isinstance(data, os.PathLike) or data not in SOURCES:
        path = Path(data).expanduser()
        if not path.is_dir():
            raise ValueError(f"data={str(data)!r} is neither one of {list(SOURCES)} nor an existing folder")
        digits = load_folder(path)
    elif data == "sample":
        digits = _sample(None)
    else:
        digits = _find_mnist(fallback=(data == "auto"), timeout=timeout)
    if verbose:
        print(f"data: {digits.description}", flush=True)
    return digits


def _find_mnist(fallback: bool, timeout: float) -> Digits:
    reasons = []
    env = os.environ.get("COURSE_MNIST_DIR", "").strip()
    if env:
        folder = Path(env).expanduser()
        try:
            digits = load_folder(folder)
        except FileNotFoundError as exc:
            if not fallback:
                raise FileNotFoundError(f"COURSE_MNIST_DIR: {exc}") from None
            reasons.append(f"COURSE_MNIST_DIR: {exc}")
        else:
            digits.description += " (COURSE_MNIST_DIR)"
            return digits
    else:
        reasons.append("COURSE_MNIST_DIR is not set")
    cached = cache_dir() / "mnist"
    was_cached = _complete(cached)
    try:
        folder = download(timeout=timeout, folder=cached)
    except (OSError, RuntimeError) as exc:  # TimeoutError is an OSError
        if not fallback:
            raise
        reasons.append(str(exc).splitlines()[0])
    else:
        digits = load_folder(folder)
        digits.description += " (cached download)" if was_cached else " (downloaded now)"
        if reasons and env:
            digits.description += f"; {reasons[0]}"
        return digits
    return _sample("; ".join(reasons))
