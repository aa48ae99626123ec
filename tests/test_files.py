"""companion/files.py: destinations checked first, whole files only, nothing else touched."""

import os
import stat
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion import files
from companion.files import atomic_write, check_destination, is_read_only, remove_stale, temp_name


def _dead_pid() -> int:
    """The id of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temp_name_carries_the_pid(tmp_path):
    assert temp_name(tmp_path / "model.pt") == tmp_path / f".model.pt.{os.getpid()}.tmp"


def test_atomic_write_replaces_only_when_complete(tmp_path):
    path = tmp_path / "m.pt"
    atomic_write(path, lambda tmp: tmp.write_bytes(b"one"))
    assert path.read_bytes() == b"one"

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, broken)

    def interrupted(tmp):
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, interrupted)
    assert path.read_bytes() == b"one" and sorted(os.listdir(tmp_path)) == ["m.pt"]
    atomic_write(path, lambda tmp: tmp.write_bytes(b"two"))
    assert path.read_bytes() == b"two"


def test_atomic_write_keeps_existing_read_only_files_and_folders(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        atomic_write(path, lambda tmp: tmp.write_bytes(b"new"), overwrite=False)
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # chmod 444: refused by its bits, even for root
    try:
        assert is_read_only(path)
        with pytest.raises(PermissionError, match="read-only"):
            atomic_write(path, lambda tmp: tmp.write_bytes(b"new"))
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == b"mine" and not is_read_only(path)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        atomic_write(tmp_path, lambda tmp: tmp.write_bytes(b"new"))
    assert sorted(os.listdir(tmp_path)) == ["m.pt"]


def test_stale_temporaries_of_ended_processes_are_removed_and_nothing_else(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    keep = [f".m.pt.{alive}.tmp", ".m.pt.abc.tmp", ".m.pt.tmp", f".other.pt.{dead}.tmp", f"m.pt.{dead}.tmp",
            "notes.txt", f".m.pt.{dead}.tmp.bak"]
    for name in keep + [f".m.pt.{dead}.tmp"]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    atomic_write(tmp_path / "m.pt", lambda tmp: tmp.write_bytes(b"new"))
    assert sorted(os.listdir(tmp_path)) == sorted(keep + ["m.pt"])


def test_remove_stale_removes_folders_of_ended_processes(tmp_path):
    dead = _dead_pid()
    (tmp_path / f"job-{dead}").mkdir()
    (tmp_path / f"job-{dead}" / "part").write_text("x", encoding="utf-8")
    (tmp_path / f"job-{os.getpid()}").mkdir()
    removed = remove_stale(tmp_path, r"job-(?P<pid>\d+)")
    assert removed == [tmp_path / f"job-{dead}"] and os.listdir(tmp_path) == [f"job-{os.getpid()}"]
    assert remove_stale(tmp_path / "missing", r"job-(?P<pid>\d+)") == []


@pytest.mark.parametrize("name, error, words", [
    ("", ValueError, "is empty"),
    ("   ", ValueError, "is empty"),
    (".", IsADirectoryError, "is a folder"),
    ("..", IsADirectoryError, "is a folder"),
    ("sub", IsADirectoryError, "is a folder"),
    ("sub/", IsADirectoryError, "is a folder"),
    ("new/", IsADirectoryError, "is a folder"),
    ("missing/m.pt", FileNotFoundError, "not an existing folder"),
    ("m.pt/x.pt", FileNotFoundError, "not an existing folder"),
    ("m.pt", FileExistsError, "pass overwrite=True"),
])
def test_check_destination_refuses_with_a_reason(tmp_path, monkeypatch, name, error, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "m.pt").write_bytes(b"mine")
    with pytest.raises(error, match=words):
        check_destination(name)
    assert sorted(os.listdir(tmp_path)) == ["m.pt", "sub"]


def test_check_destination_allows_and_refuses(tmp_path, monkeypatch):
    (tmp_path / "m.pt").write_bytes(b"mine")
    assert check_destination(tmp_path / "new.pt") == tmp_path / "new.pt"
    assert check_destination(tmp_path / "m.pt", overwrite=True) == tmp_path / "m.pt"
    with pytest.raises(FileExistsError, match="pass --force"):
        check_destination(tmp_path / "m.pt", allow="--force")
    (tmp_path / "m.pt").chmod(0o444)
    try:
        with pytest.raises(PermissionError, match="read-only"):
            check_destination(tmp_path / "m.pt", overwrite=True)
    finally:
        (tmp_path / "m.pt").chmod(0o644)

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "open", no_space, raising=False)  # the probe fails, whoever runs the test
    with pytest.raises(PermissionError, match="cannot create a file in .*No space left"):
        check_destination(tmp_path / "new.pt")
    assert sorted(os.listdir(tmp_path)) == ["m.pt"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=2000), overwrite=st.booleans())
def test_atomic_write_leaves_one_whole_file(tmp_path, content, overwrite):
    folder = tmp_path / "w"
    folder.mkdir(exist_ok=True)
    for p in folder.iterdir():
        p.unlink()
    atomic_write(folder / "f.bin", lambda tmp: tmp.write_bytes(content), overwrite=overwrite)
    assert os.listdir(folder) == ["f.bin"] and (folder / "f.bin").read_bytes() == content
