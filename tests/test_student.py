"""tools/student.py: exercise copies without the reference answers, each prompt once."""

import os

import nbformat
import pytest

from tools import notebooks, student


def test_student_copies_show_each_prompt_once(tmp_path, capsys):
    out = tmp_path / "student"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert student.student(out) == 0
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # nothing else in the folder is touched
    lessons = notebooks.notebook_paths()
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in lessons]
    removed = 0
    for path in lessons:
        orig = nbformat.read(path, as_version=4)
        copy = nbformat.read(out / path.name, as_version=4)
        solutions = [c for c in orig.cells if "solution" in c.metadata.get("tags", [])]
        removed += len(solutions)
        assert [c for c in orig.cells if c not in solutions] == copy.cells, f"{path.name}: another cell changed"
        text = nbformat.writes(copy)
        for cell in solutions:
            for line in cell.source.splitlines():
                if line.startswith("answer =") and line.strip() != "answer = None":
                    assert line not in text, f"{path.name}: solution leaked: {line}"
        prompts = [c.source for c in copy.cells if "exercise" in c.metadata.get("tags", [])]
        sources = "\n".join(c.source for c in copy.cells)
        assert len(prompts) == len(solutions) and all(sources.count(p) == 1 for p in prompts)
    assert removed >= 2 * len(lessons)
    assert f"{removed} reference answers removed" in capsys.readouterr().out


@pytest.mark.commands  # it executes the student copies: make test-commands
def test_student_notebooks_execute_and_report_unanswered(tmp_path):
    student.student(tmp_path)
    os.environ.setdefault("COURSE_DEVICE", "cpu")
    # a short lesson; the others differ from it only in the same way
    nb = notebooks.execute(tmp_path / "03_super.ipynb")
    exercises = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    assert exercises
    for cell in exercises:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "尚未作答" in text
