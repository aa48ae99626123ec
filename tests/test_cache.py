"""companion/cache.py: where the course keeps what it makes for itself."""

from pathlib import Path

from companion.cache import cache_dir


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("COURSE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "digit-course"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "digit-course"
    assert not (tmp_path / "mine").exists()  # it only names the folder


def test_content_digest_is_sha256_of_length_prefixed_parts():
    import hashlib

    import pytest

    from companion.cache import content_digest

    want = hashlib.sha256((2).to_bytes(8, "little") + b"ab" + (1).to_bytes(8, "little") + b"c").hexdigest()
    assert content_digest(b"ab", b"c") == want
    assert content_digest(b"ab", b"c") != content_digest(b"a", b"bc")  # where the parts split counts
    assert content_digest() == hashlib.sha256().hexdigest() and content_digest(b"") != content_digest()
    assert content_digest(bytearray(b"x"), memoryview(b"y")) == content_digest(b"x", b"y")
    for bad in ("text", 5, None):
        with pytest.raises(TypeError, match=f"content_digest takes bytes, not {type(bad).__name__}"):
            content_digest(bad)
