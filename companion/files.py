"""Writing files without losing any: a destination is checked before the work that fills it,
a file is written under a temporary name that carries the writer's process id and renamed
into place only when complete, a read-only file is never replaced, and temporaries left by
processes that no longer run are removed at the next write."""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from . import _validate as v

__all__ = ["temp_name", "remove_stale", "is_read_only", "check_destination", "atomic_write"]


def temp_name(path: Path) -> Path:
    """The temporary name under which this process writes ``path``: ``.NAME.PID.tmp``."""
    path = v.path("path", path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (True when that cannot be told: nothing is then removed)."""
    if os.name == "nt":  # os.kill(pid, 0) would end the process on Windows
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() != 87  # ERROR_INVALID_PARAMETER: no such process
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return not ok or code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):  # another user's process, or a number no pid can be
        return True
    return True


def remove_stale(folder: Path, pattern: str) -> list[Path]:
    """Remove the entries of ``folder`` whose whole name matches ``pattern`` (a regular
    expression whose group ``pid`` is a process id) and whose process no longer runs.
    Nothing else is touched. Returns what was removed."""
    folder = v.path("folder", folder)
    v.text("pattern", pattern)
    try:
        if "pid" not in re.compile(pattern).groupindex:
            raise ValueError(f"pattern={pattern!r} has no group named pid: write (?P<pid>[0-9]+) where the id is")
    except re.error as exc:
        raise ValueError(f"pattern={pattern!r} is not a regular expression ({exc})") from None
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = re.fullmatch(pattern, entry.name)
        if match is None:
            continue
        pid = int(match.group("pid"))
        if pid == os.getpid() or _alive(pid):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # someone else's file after all, or already gone
        removed.append(entry)
    return removed


def _stale_temps(path: Path) -> list[Path]:
    return remove_stale(path.parent, rf"\.{re.escape(path.name)}\.(?P<pid>[1-9][0-9]{{0,9}})\.tmp")


def is_read_only(path: Path) -> bool:
    """Whether ``path`` (an existing file) must not be replaced: no write bit is set in its
    mode (``chmod 444``; checked on the bits because ``os.access`` says yes to root), or this
    user may not write it."""
    mode = v.path("path", path).stat().st_mode
    return not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK)


def check_destination(path: str | os.PathLike, *, overwrite: bool = False, allow: str = "overwrite=True") -> Path:
    """Check, before any work, that a file can be written at ``path``, and return it as a Path.

    Refused, each with an error that says what to do: an empty name, a folder (or a name
    ending in a separator), a parent that is not an existing folder, a folder this process
    cannot create files in (tried with a temporary file), an existing file unless
    ``overwrite`` (``allow`` names how a caller says so), and a read-only file always.
    """
    v.path("path", path)
    text = os.fspath(path)
    v.boolean("overwrite", overwrite)
    v.text("allow", allow)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"the file name {text!r} is empty: name a file, e.g. model.pt")
    target = Path(text).expanduser()
    if target.is_dir() or text.endswith(("/", os.sep)) or target.name in ("", ".", ".."):
        raise IsADirectoryError(f"{text} is a folder, not a file name: name a file in it, e.g. {target / 'model.pt'}")
    parent = target.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"{parent} is not an existing folder: create it first, or name a file elsewhere")
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{target} already exists and is never replaced silently: pass {allow} to "
                                  "replace it, or name another file")
        if target.exists() and is_read_only(target):
            raise PermissionError(f"{target} is read-only, so it is not replaced: make it writable "
                                  f"(chmod u+w {target}) or name another file")
    probe = temp_name(target)
    try:
        with open(probe, "wb"):
            pass
        probe.unlink()
    except OSError as exc:
        raise PermissionError(f"cannot create a file in {parent} ({exc.strerror or exc}): "
                              "name a file in a folder you can write to") from None
    return target


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object], *, overwrite: bool = True) -> Path:
    """Call ``write(tmp)`` to fill a temporary file next to ``path``, then rename it to
    ``path`` in one step: a reader sees the old file or the new one, never half of one, and
    an interrupted write (an error, Ctrl-C) leaves the old file as it was. An existing file is
    replaced only when ``overwrite``; a read-only one never. Temporaries that earlier,
    killed processes left for ``path`` are removed first."""
    target = v.path("path", path)
    v.function("write", write, "a function that fills the temporary file it is given")
    v.boolean("overwrite", overwrite)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a folder, not a file name: name a file in it")
    _stale_temps(target)
    if target.exists():
        if not overwrite:
            raise FileExistsError(f"{target} already exists and is not replaced (overwrite=False)")
        if is_read_only(target):
            raise PermissionError(f"{target} is read-only, so it is not replaced: make it writable "
                                  f"(chmod u+w {target}) or name another file")
    tmp = temp_name(target)
    try:
        write(tmp)
        if not overwrite and (target.exists() or target.is_symlink()):
            raise FileExistsError(f"{target} appeared while it was being written; it is not replaced")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
