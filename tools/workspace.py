"""The learner's own copies of the lessons, in a folder git ignores.

``make lab`` opens these copies, never the tracked lessons: JupyterLab saves whatever the
learner does (answers, outputs, the kernel's metadata) into the copy, so the tracked files
stay exactly as committed and ``git pull`` never conflicts. A copy is made once, on first
use, and never overwritten. When a tracked lesson changes later, ``make lab`` says so;
``make update-lesson NB=…`` moves the learner's copy aside (nothing is deleted) and makes a
fresh one.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from tools.notebooks import ROOT, CourseError, notebook_paths, read_notebook, shown, writable_folder

WORKSPACE = "my-notebooks"
OLD = "old"
#: notebook-metadata key of a copy: which lesson, and a fingerprint of the lesson it was made from
ORIGIN = "copied_from"


def lesson_digest(nb) -> str:
    """A fingerprint of a lesson as the course ships it (every cell's source, in order)."""
    h = hashlib.sha256()
    for cell in nb.cells:
        h.update(f"{cell.cell_type}\0{cell.source}\0".encode())
    return h.hexdigest()[:16]


def _copy_text(lesson: Path, root: Path) -> str:
    import nbformat

    nb = read_notebook(lesson)
    nb.metadata[ORIGIN] = {"lesson": lesson.relative_to(root).as_posix(), "digest": lesson_digest(nb)}
    return nbformat.writes(nb) + "\n"


def _create_new(path: Path, text: str) -> bool:
    """Write ``path`` atomically only if it does not exist yet; False if it already did."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, path)  # fails if path exists: an existing copy is never replaced
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: exclusive create instead
        try:
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(text)
            return True
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)


def copy_path(lesson: Path, root: Path = ROOT) -> Path:
    return root / WORKSPACE / lesson.name


def prepare(root: Path = ROOT) -> tuple[list[Path], list[Path]]:
    """Make the copies that are missing. Returns ``(made, outdated)``: the copies made now,
    and the existing copies whose lesson has changed since they were made."""
    import nbformat

    writable_folder(root / WORKSPACE, "your copies of the lessons")
    made, outdated = [], []
    for lesson in notebook_paths(root=root):
        target = copy_path(lesson, root)
        if _create_new(target, _copy_text(lesson, root)):
            made.append(target)
            continue
        try:
            origin = nbformat.read(target, as_version=4).metadata.get(ORIGIN, {})
        except Exception:  # the learner's file, whatever state it is in, is theirs
            continue
        if origin.get("digest") not in (None, lesson_digest(read_notebook(lesson))):
            outdated.append(target)
    return made, outdated


def retired(root: Path = ROOT) -> list[tuple[Path, str]]:
    """The learner's copies whose lesson the course no longer has (lessons are renumbered when one
    is split in two): ``(copy, the lesson it was made from)``, in name order. Only copies the course
    made are listed (they record their lesson); the learner's own notebooks are not."""
    import json

    current = {p.relative_to(root).as_posix() for p in notebook_paths(root=root)}
    found = []
    folder = root / WORKSPACE
    for copy in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        try:
            origin = json.loads(copy.read_text(encoding="utf-8")).get("metadata", {}).get(ORIGIN, {})
        except (OSError, ValueError, AttributeError):  # the learner's file, whatever state it is in, is theirs
            continue
        lesson = origin.get("lesson") if isinstance(origin, dict) else None
        if isinstance(lesson, str) and lesson not in current:
            found.append((copy, lesson))
    return found


def update(name: str, root: Path = ROOT) -> Path:
    """Replace the learner's copy of lesson ``name`` (``04`` or ``04_convolution``) by a fresh one;
    the old copy is moved to ``my-notebooks/old/`` with the time in its name. Returns the
    path of the old copy (or of the new one if there was no old copy)."""
    lessons = [p for p in notebook_paths(root=root) if p.stem == name or p.stem.split("_")[0] == name]
    if len(lessons) != 1:
        choices = ", ".join(p.stem for p in notebook_paths(root=root))
        raise SystemExit(f"error: NB={name!r} names no single lesson; use one of: {choices}")
    lesson = lessons[0]
    text = _copy_text(lesson, root)  # a lesson that cannot be read stops here, before anything moves
    writable_folder(root / WORKSPACE, "your copies of the lessons")  # made here if `make lab` never ran
    target = copy_path(lesson, root)
    if target.is_dir():
        raise CourseError(f"{shown(target)} is a folder, not your copy of the lesson; move it away first")
    moved = None
    if target.exists():
        old = writable_folder(root / WORKSPACE / OLD, "your earlier copies")
        moved = old / f"{lesson.stem}-{time.strftime('%Y%m%d-%H%M%S')}.ipynb"
        n = 1
        while moved.exists():
            n += 1
            moved = moved.with_name(f"{lesson.stem}-{time.strftime('%Y%m%d-%H%M%S')}-{n}.ipynb")
        os.rename(target, moved)
    if not _create_new(target, text):
        raise SystemExit(f"error: {target} appeared while it was being replaced; nothing was changed")
    return moved or target


def report(made: list[Path], outdated: list[Path], root: Path = ROOT,
           gone: list[tuple[Path, str]] = ()) -> str:
    """What ``make lab`` says about the copies, in a few lines; ``gone`` is what :func:`retired` found."""
    lines = []
    if made:
        lines.append(f"lab: made {len(made)} copies of the lessons in {WORKSPACE}/ — your work is saved there; "
                     "notebooks/ stays as the course ships it")
    for path in outdated:
        lines.append(f"lab: notebooks/{path.name} has changed since your copy {WORKSPACE}/{path.name} was made; "
                     f"your copy is kept. For the new version: make update-lesson NB={path.stem.split('_')[0]} "
                     f"(your copy moves to {WORKSPACE}/{OLD}/)")
    for path, lesson in gone:
        lines.append(f"lab: {WORKSPACE}/{path.name} is your copy of {lesson}, which the course no longer has "
                     "(the lessons were renumbered); your copy is kept as it is, and the current lessons' copies "
                     "are beside it (lesson 00's course map says which lesson is which)")
    return "\n".join(lines)
