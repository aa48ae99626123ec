"""Where the course keeps what it makes for itself: the parsed sample, downloads."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "MAX_DOWNLOAD_SECONDS"]

#: the longest a download may be given (one day)
MAX_DOWNLOAD_SECONDS = 86_400.0


def cache_dir() -> Path:
    """The course's cache folder: ``$COURSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/digit-course``,
    else ``~/.cache/digit-course``. Not created here."""
    if os.environ.get("COURSE_CACHE_DIR"):
        return Path(os.environ["COURSE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "digit-course"
