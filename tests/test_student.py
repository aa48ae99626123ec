"""tools/student.py: exercise copies without the reference answers."""

import os

import nbformat
import pytest

from tools import notebooks, student


def test_stub_source_keeps_the_checker_call():
    src = '# 参考答案\nanswer = 32 * 3 * 3 * 3 + 32\ncompanion.check("03.params_rgb", answer)'
    stub = student.stub_source(src)
    assert 'companion.check("03.params_rgb", answer)' in stub and "answer = None" in stub
    assert "32 * 3" not in stub
    with pytest.raises(ValueError, match="companion.verify"):
        student.stub_source("answer = 3")


def test_student_copies(tmp_path):
    out = tmp_path / "student"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert student.student(out) == 0
    assert (out / "notes.txt").read_text() == "mine"  # nothing else in the folder is touched
    lessons = notebooks.notebook_paths()
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in lessons]
    n_solutions = 0
    for path in lessons:
        orig = nbformat.read(path, as_version=4)
        copy = nbformat.read(out / path.name, as_version=4)
        assert len(orig.cells) == len(copy.cells)
        for a, b in zip(orig.cells, copy.cells):
            if "solution" in a.metadata.get("tags", []):
                n_solutions += 1
                assert "exercise-stub" in b.metadata["tags"] and b.outputs == [] and b.execution_count is None
                assert "answer = None" in b.source and "companion.check(" in b.source
                for line in a.source.splitlines():
                    if line.startswith("answer =") and line.strip() != "answer = None":
                        assert line not in nbformat.writes(copy), f"{path.name}: solution leaked: {line}"
            else:
                assert a == b, f"{path.name}: a non-solution cell changed"
    assert n_solutions >= 2 * len(lessons) or n_solutions == 0


def test_student_notebooks_execute_and_report_unanswered(tmp_path):
    student.student(tmp_path)
    os.environ.setdefault("COURSE_DEVICE", "cpu")
    # a short lesson; the others differ from it only in the same way
    nb = notebooks.execute(tmp_path / "02_super.ipynb")
    stubs = [c for c in nb.cells if "exercise-stub" in c.metadata.get("tags", [])]
    assert stubs
    for cell in stubs:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "尚未作答" in text
