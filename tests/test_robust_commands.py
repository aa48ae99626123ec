"""Issue class: the course's own commands (tools/tasks.py: lab, update-lesson, student, refresh, and
the make targets over them) fail in one line starting with `error:`, naming the path and what to do,
with exit status 1 and `--debug` for the traceback; nothing is written before the check that the
destination can be written; no file of the user's changes."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.commands  # make test-commands runs these; make test leaves them out


def _task(course, *args, prefix=()):
    env = {**os.environ, "PYTHONPATH": str(course), "COURSE_DEVICE": "cpu"}
    return subprocess.run([*prefix, sys.executable, "tools/tasks.py", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=300, encoding="utf-8")


def _one_error_line(proc, *words):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _snapshot(top: Path) -> dict:
    return {p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()}


def test_update_lesson_before_lab_ever_ran_makes_the_copy(course):
    proc = _task(course, "update-lesson", "04")
    assert proc.returncode == 0, proc.stderr
    assert "there was none before" in proc.stdout
    assert (course / "my-notebooks" / "04_convolution.ipynb").is_file()


@pytest.mark.parametrize("task", [("update-lesson", "03"), ("lab", "--no-browser")])
def test_my_notebooks_being_a_file(course, task):
    (course / "my-notebooks").write_text("my notes", encoding="utf-8")
    _one_error_line(_task(course, *task), "my-notebooks is a file", "rename or move")
    assert (course / "my-notebooks").read_text(encoding="utf-8") == "my notes"


def test_build_being_a_file(course):
    (course / "build").write_text("mine", encoding="utf-8")
    _one_error_line(_task(course, "student"), "build is a file")
    assert (course / "build").read_text(encoding="utf-8") == "mine"


def test_a_notebook_with_a_merge_conflict_marker(course):
    lesson = course / "notebooks" / "06_conv2.ipynb"
    lesson.write_text("<<<<<<< HEAD\n" + lesson.read_text(encoding="utf-8"), encoding="utf-8")
    before = _snapshot(course)
    for task in (("student",), ("refresh", "--stale"), ("update-lesson", "06"), ("lab", "--no-browser")):
        line = _one_error_line(_task(course, *task), "notebooks/06_conv2.ipynb", "merge-conflict markers",
                               "git checkout --")
        assert "--debug" in line
    after = _snapshot(course)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing of before changed
    assert not any(k.startswith("build/") for k in after)  # the student copies: all lessons read first


def test_debug_shows_the_traceback(course):
    (course / "build").write_text("mine", encoding="utf-8")
    proc = _task(course, "student", "--debug")
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "CourseError" in proc.stderr


def _read_only(path):
    path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.mark.parametrize("folder, task, word", [
    ("my-notebooks", ("lab", "--no-browser"), "my-notebooks is not writable"),
    ("my-notebooks", ("update-lesson", "03"), "my-notebooks is not writable"),
    ("build", ("student",), "build/student"),
])
def test_a_read_only_folder(course, unprivileged, folder, task, word):
    (course / folder).mkdir()
    _read_only(course / folder)
    try:
        _one_error_line(_task(course, *task, prefix=unprivileged), word)
        assert list((course / folder).iterdir()) == []  # not even a temporary file
    finally:
        (course / folder).chmod(0o755)
