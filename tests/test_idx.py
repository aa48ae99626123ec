"""companion/idx.py: the IDX file format, read and written."""

import gzip

import numpy as np
import pytest

from companion import idx


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("array", [
    np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-3, 7], dtype=np.int16),
    np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2),
    np.array([1.5, -2.25], dtype=np.float64),
])
def test_idx_round_trip(tmp_path, suffix, array):
    path = idx.write_idx(tmp_path / f"a{suffix}", array)
    back = idx.read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert not list(tmp_path.glob("*.tmp"))

def test_idx_header_is_big_endian_and_gzip_is_detected_by_content(tmp_path):
    path = idx.write_idx(tmp_path / "a", np.zeros((2, 3), dtype=np.uint8))
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 2]) and raw[4:12] == (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    disguised = tmp_path / "compressed-without-suffix"
    disguised.write_bytes(gzip.compress(raw))
    assert idx.read_idx(disguised).shape == (2, 3)

def test_write_idx_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="cannot be stored as IDX"):
        idx.write_idx(tmp_path / "a", np.zeros(3, dtype=np.uint64))


# ── the one entry point ──────────────────────────────────────────────────────

def test_overflowing_idx_dimensions_name_the_file(tmp_path):
    bad = tmp_path / "huge-idx3-ubyte"
    for dims in ((65536,) * 4, (2**32 - 1,) * 3, (0, 2**32 - 1, 2**32 - 1)):
        bad.write_bytes(bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims))
        try:
            a = idx.read_idx(bad)
        except ValueError as exc:
            assert str(bad) in str(exc)
        else:
            assert a.size == 0 and 0 in dims
