"""MNIST: its normalisation, its four IDX files read with numpy, and one function that finds digits.

``load_digits`` gives train and test tensors from, in this order of preference:

1. a local folder with the four IDX files, raw or ``.gz`` (an argument or ``$COURSE_MNIST_DIR``);
2. torchvision's download into the course cache (``companion.cache.cache_dir() / 'mnist'``);
3. the embedded 5,000-digit sample (``companion.load_sample``), which needs no network.

Files that are truncated, corrupt or of the wrong shape raise ``ValueError`` naming the file;
they are never silently replaced by other data.
"""

from __future__ import annotations

import gzip
import os
import shutil
import threading
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .cache import cache_dir
from .sample import load_sample

__all__ = [
    "MNIST_MEAN",
    "MNIST_STD",
    "normalize",
    "FILES",
    "Digits",
    "read_idx",
    "write_idx",
    "find_files",
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

# IDX type codes (third byte of the magic number) → big-endian numpy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(v).newbyteorder("=").str: k for k, v in _IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


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


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Standardise [0, 1] images with MNIST's training mean and std (0.1307, 0.3081)."""
    return (x - MNIST_MEAN) / MNIST_STD


# ── IDX files ────────────────────────────────────────────────────────────────


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:  # truncated or damaged gzip stream
        raise ValueError(f"{path}: the gzip data is truncated or corrupt ({exc})") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (raw or gzip-compressed, detected by content) into a numpy array.

    Checks the magic number (two zero bytes, a known type code, 1–4 dimensions) and that
    the data are exactly as long as the header says. Any problem is a ``ValueError`` that
    names the file.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes is too short for an IDX header (truncated?)")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _IDX_TYPES or not 1 <= ndim <= 4:
        raise ValueError(
            f"{path}: not an IDX file (magic number {data[:4].hex()}; expected 0000 then a type "
            f"code in {[hex(c) for c in _IDX_TYPES]} and 1–4 dimensions)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: the header is truncated ({len(data)} of {header} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise ValueError(f"{path}: file is {what}: header {dims} needs {expected} data bytes, found {found}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when the name ends in ``.gz``).

    The file appears atomically: written under a temporary name, then renamed.
    """
    path = Path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=").str
    if native not in _IDX_CODES or not 1 <= array.ndim <= 4:
        raise ValueError(f"array of dtype {array.dtype} and {array.ndim} dims cannot be stored as IDX")
    code = _IDX_CODES[native]
    body = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body += np.ascontiguousarray(array, dtype=_IDX_TYPES[code]).tobytes()
    if path.suffix == ".gz":
        body = gzip.compress(body, compresslevel=6, mtime=0)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(body)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


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


def _images(path: Path) -> torch.Tensor:
    a = read_idx(path)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[1:] != (28, 28):
        raise ValueError(f"{path}: expected uint8 images shaped (N, 28, 28), found {a.dtype} {a.shape}")
    return torch.from_numpy(a.copy()).unsqueeze(1).float().div_(255.0)


def _labels(path: Path, n: int, images: Path) -> torch.Tensor:
    a = read_idx(path)
    if a.dtype != np.uint8 or a.ndim != 1:
        raise ValueError(f"{path}: expected uint8 labels shaped (N,), found {a.dtype} {a.shape}")
    if len(a) != n:
        raise ValueError(f"{path}: {len(a)} labels for {n} images in {images.name}")
    if len(a) and a.max() > 9:
        raise ValueError(f"{path}: label {int(a.max())} is not a digit 0–9")
    return torch.from_numpy(a.astype(np.int64))


def load_folder(folder: str | os.PathLike) -> Digits:
    """Read the four MNIST files from ``folder`` (see ``find_files``), checking every one."""
    files = find_files(folder)
    x_train = _images(files["train_images"])
    y_train = _labels(files["train_labels"], len(x_train), files["train_images"])
    x_test = _images(files["test_images"])
    y_test = _labels(files["test_labels"], len(x_test), files["test_images"])
    counts = f"{len(y_train):,} train / {len(y_test):,} test"
    return Digits(x_train, y_train, x_test, y_test, "mnist", f"MNIST from {Path(folder)} ({counts})")


# ── download ─────────────────────────────────────────────────────────────────


def _complete(folder: Path) -> bool:
    try:
        find_files(folder)
    except FileNotFoundError:
        return False
    return True


def _torchvision_download(root: Path) -> None:
    """Fetch the four files with torchvision (its mirrors, MD5 checks) into ``root/MNIST/raw``."""
    from torchvision.datasets import MNIST

    MNIST(str(root), train=True, download=True)


def download(timeout: float = 60.0, folder: str | os.PathLike | None = None) -> Path:
    """Download MNIST with torchvision into ``folder`` (default ``cache_dir() / 'mnist'``).

    Returns the folder at once if it already holds the four files. The download goes to a
    fresh temporary folder, every file is parsed and checked, and only then is the folder
    renamed into place, so a half-written download is never used. Raises ``TimeoutError``
    after ``timeout`` seconds and ``RuntimeError`` when every mirror fails.
    """
    if not timeout > 0:
        raise ValueError(f"timeout={timeout!r} must be a positive number of seconds")
    target = Path(folder).expanduser() if folder is not None else cache_dir() / "mnist"
    if _complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.download-{uuid.uuid4().hex[:8]}"
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
        if target.exists():
            shutil.rmtree(target)  # an incomplete folder left by hand; complete ones returned above
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
    text = "embedded 5,000-digit sample (4,000 train / 1,000 test; all from MNIST's training set)"
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
    if isinstance(data, os.PathLike) or (isinstance(data, str) and data not in SOURCES):
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
