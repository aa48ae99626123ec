"""The IDX file format of MNIST's files: read and written with numpy, raw or gzip-compressed.

An IDX file is a magic number (two zero bytes, a type code, the number of dimensions), the
dimensions as big-endian 32-bit integers, then the data, big-endian. Every problem is a
``ValueError`` that names the file.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from . import _validate as v
from .files import atomic_write

__all__ = ["read_idx", "write_idx"]

# IDX type codes (third byte of the magic number) → big-endian numpy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(v).newbyteorder("=").str: k for k, v in _IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


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
    path = v.path("path", path)
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
    expected = math.prod(dims) * dtype.itemsize  # Python integers: no overflow
    found = len(data) - header
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise ValueError(f"{path}: file is {what}: header {dims} needs {expected} data bytes, found {found}")
    try:
        array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    except ValueError as exc:  # dimensions numpy cannot hold, even for no data
        raise ValueError(f"{path}: header dimensions {dims} cannot be read ({exc})") from None
    return array.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when the name ends in ``.gz``).

    The file appears atomically: written under a temporary name, then renamed.
    """
    path = v.path("path", path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=").str
    if native not in _IDX_CODES or not 1 <= array.ndim <= 4:
        raise ValueError(f"array of dtype {array.dtype} and {array.ndim} dims cannot be stored as IDX")
    code = _IDX_CODES[native]
    body = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body += np.ascontiguousarray(array, dtype=_IDX_TYPES[code]).tobytes()
    if path.suffix == ".gz":
        body = gzip.compress(body, compresslevel=6, mtime=0)
    return atomic_write(path, lambda tmp: tmp.write_bytes(body))
