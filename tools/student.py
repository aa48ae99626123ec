"""Exercise copies for learners: every lesson without its reference answers.

Each exercise is already a cell of its own (tag ``exercise``: the question, ``answer = None``
and ``companion.check``); its reference answer is the collapsed cell after it (tag
``solution``). A student copy keeps the exercise cell and leaves the solution out, so each
prompt appears once."""

from __future__ import annotations

import copy
from pathlib import Path

from tools.notebooks import ROOT, notebook_paths, read_notebook, shown, writable_folder, write

STUDENT_DIR = ROOT / "build" / "student"


def student_notebook(nb):
    """A copy of ``nb`` without its solution cells, and the number removed."""
    nb = copy.deepcopy(nb)
    kept = [c for c in nb.cells if not (c.cell_type == "code" and "solution" in c.metadata.get("tags", []))]
    removed = len(nb.cells) - len(kept)
    nb.cells = kept
    return nb, removed


def student(out_dir: Path = STUDENT_DIR) -> int:
    """Write into ``out_dir`` (default build/student/) every lesson without its solution cells.
    Only the lessons' own file names are (re)written there; nothing else in the folder is touched."""
    writable_folder(out_dir, "the student copies")
    lessons = notebook_paths()
    copies = [student_notebook(read_notebook(path)) for path in lessons]  # every lesson read before any write
    total = 0
    for path, (nb, removed) in zip(lessons, copies):
        total += removed
        write(nb, out_dir / path.name)
    print(f"student: {len(lessons)} notebooks in {shown(out_dir)}, {total} reference answers removed")
    return 0
