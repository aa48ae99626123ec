"""Where the course keeps what it makes for itself (the parsed sample, downloads, the
controlled runs), and the digest its cached files carry, so that a file that reads well but
was changed is noticed."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["cache_dir", "content_digest", "MAX_DOWNLOAD_SECONDS"]

#: the longest a download may be given (one day)
MAX_DOWNLOAD_SECONDS = 86_400.0


def cache_dir() -> Path:
    """The course's cache folder: ``$COURSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/digit-course``,
    else ``~/.cache/digit-course``. Not created here."""
    if os.environ.get("COURSE_CACHE_DIR"):
        return Path(os.environ["COURSE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "digit-course"


def content_digest(*parts: bytes) -> str:
    """The SHA-256 of ``parts``, each preceded by its length (so that no two different lists of
    parts give the same digest), in hex."""
    h = hashlib.sha256()
    for part in parts:
        if not isinstance(part, (bytes, bytearray, memoryview)):
            raise TypeError(f"content_digest takes bytes, not {type(part).__name__}")
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()
