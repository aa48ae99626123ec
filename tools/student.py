"""Exercise copies for learners: every lesson with its reference answers replaced by stubs."""

from __future__ import annotations

import copy
import re
from pathlib import Path

from tools.notebooks import CHECK_TAG, ROOT, notebook_paths, shown, write

STUDENT_DIR = ROOT / "build" / "student"
STUB_NOTE = "# 参考答案不在学生版中：把 None 换成你的答案，再运行本单元。"


def stub_source(source: str) -> str:
    """The exercise stub for a solution cell (which calls ``companion.verify(KEY, answer)``):
    the learner's ``companion.check(KEY, answer)`` with the answer None."""
    keys = re.findall(r"companion\.(?:verify|check)\(\s*([\"'][^\"']+[\"'])", source)
    if not keys:
        raise ValueError("a cell tagged 'solution' must call companion.verify(KEY, answer)")
    lines = [STUB_NOTE]
    for key in keys:
        lines += ["answer = None", f"companion.check({key}, answer)"]
    return "\n".join(lines)


def student_notebook(nb):
    """A copy of ``nb`` whose solution cells are replaced by stubs with cleared outputs."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
            cell.source = stub_source(cell.source)
            cell.outputs = []
            cell.execution_count = None
            cell.metadata["tags"] = [
                t for t in cell.metadata["tags"] if t not in ("solution", CHECK_TAG)
            ] + ["exercise-stub"]
            cell.metadata.pop("jupyter", None)
    return nb


def student(out_dir: Path = STUDENT_DIR) -> int:
    """Write into ``out_dir`` (default build/student/) every lesson with its solution cells
    replaced by stubs. Only the lessons' own file names are (re)written there; nothing else
    in the folder is touched."""
    import nbformat

    out_dir.mkdir(parents=True, exist_ok=True)
    lessons = notebook_paths()
    for path in lessons:
        nb = nbformat.read(path, as_version=4)
        if any("solution" in c.metadata.get("tags", []) for c in nb.cells):
            nb = student_notebook(nb)
        write(nb, out_dir / path.name)
    print(f"student: {len(lessons)} notebooks in {shown(out_dir)}")
    return 0
