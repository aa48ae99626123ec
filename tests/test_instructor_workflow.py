"""An instructor's path, scripted on a copy of the course exactly as docs/INSTRUCTORS.md §1 tells it:
add a cell to a lesson, add a checked exercise with `new-exercise`, fill it in, `refresh --stale`,
then the tests. Also: new-exercise's refusals."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from tools import new_exercise as ne

pytestmark = pytest.mark.commands  # make test-commands runs these; make test leaves them out


def _copy(course) -> Path:
    """The ``course`` copy, its lessons other than 02 marked fresh for the copy."""
    from tools import notebooks

    for path in (course / "notebooks").glob("*.ipynb"):  # the other lessons are not this test's subject:
        if not path.name.startswith("02_"):  # fresh in the copy even while the checkout's are being edited
            nb = nbformat.read(path, as_version=4)
            nb.metadata[notebooks.PROVENANCE] = notebooks.provenance(nb, course)
            nbformat.write(nb, path)
    return course


#: pytest without the start-up work these runs do not need: jsonschema's IRI parsers, hypothesis's plugin
_QUICK = ("-q", "-p", "tools.pytest_startup", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")


def _run(course, *args, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(course), "COURSE_DEVICE": "cpu"}
    return subprocess.run([sys.executable, *args], cwd=course, env=env, capture_output=True, text=True,
                          timeout=timeout, encoding="utf-8")


def test_add_a_cell_and_an_exercise_refresh_and_test(course):
    _copy(course)
    lesson = course / "notebooks" / "03_super.ipynb"
    # 1. a new cell, as an instructor adds it in JupyterLab (make lab-course)
    nb = nbformat.read(lesson, as_version=4)
    end = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## 小结"))
    nb.cells[end:end] = [new_markdown_cell("3×3 卷积让 28 变成 26："),
                         new_code_cell("print(companion.conv_output_size(28, 3))")]
    nbformat.write(nb, lesson)
    # 2. the exercise's cells and entry
    made = _run(course, "tools/tasks.py", "new-exercise", "03", "out_k3")
    assert made.returncode == 0, made.stderr
    assert "03.out_k3 (int) added" in made.stdout and "make refresh-stale" in made.stdout
    # 3. fill in what it says to write: the question, the expected value, the hint, the answer
    module = course / "companion" / "exercises" / "lesson_03_super.py"
    text = module.read_text(encoding="utf-8")
    text = text.replace("from torch import nn\n", "import torch\nfrom torch import nn\n", 1)
    text = text.replace('"题目：（用中文写出问题）"', '"3×3 卷积作用于 28×28 输入，输出边长是多少？"')
    text = text.replace("lambda: (_ for _ in ()).throw(NotImplementedError('03.out_k3: its expected answer is not "
                        "written yet')),", "lambda: nn.Conv2d(1, 1, 3)(torch.zeros(1, 1, 28, 28)).shape[-1],")
    text = text.replace('"（一条不泄露答案的提示）"', '"每个方向少 k − 1 个位置。"')
    module.write_text(text, encoding="utf-8")
    nb = nbformat.read(lesson, as_version=4)
    solution = next(c for c in nb.cells if c.get("id") == "c03-out-k3-sol")
    # a solution may use the companion (what a learner may use)
    solution.source = solution.source.replace("answer = None  # the reference answer",
                                              "answer = companion.conv_output_size(28, 3)")
    nbformat.write(nb, lesson)
    # 4. refresh what is stale: only this lesson
    refreshed = _run(course, "tools/tasks.py", "refresh", "--stale")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    assert "refresh: 1 refreshed" in refreshed.stdout and "04_convolution.ipynb is up to date" in refreshed.stdout
    assert "TCP" not in refreshed.stderr and "MissingIDField" not in refreshed.stderr
    out = nbformat.read(lesson, as_version=4)
    cells = {c.get("id"): c for c in out.cells}
    assert "⏳" in cells["c03-out-k3"].outputs[0]["text"] and cells["c03-out-k3-sol"].outputs == []
    # 5. the tests: the exercise is checked, the lesson's outputs are fresh and pass nbval
    tested = _run(course, "-m", "pytest", *_QUICK, "--nbval", "tests/test_exercises.py",
                  "tests/test_notebooks.py::test_stored_outputs_are_not_older_than_the_code",
                  "notebooks/03_super.ipynb")
    assert tested.returncode == 0, tested.stdout[-3000:]
    assert "failed" not in tested.stdout


def test_an_unwritten_exercise_fails_its_tests(course):
    _copy(course)
    assert _run(course, "tools/tasks.py", "new-exercise", "03", "later", "--kind", "function").returncode == 0
    tested = _run(course, "-m", "pytest", *_QUICK, "tests/test_exercises.py", "-k", "later")
    assert tested.returncode == 1 and "03.later" in tested.stdout


@pytest.mark.parametrize("args, message", [
    (("3", "x"), "must be two digits"),
    (("42", "x"), "there is no lesson 42"),
    (("03", "Bad-Name"), "must be lower-case letters"),
    (("03", "x", "text"), "kind 'text' must be one of"),
    (("03", "diamond_mro_len"), "already exists"),
])
def test_new_exercise_refuses_what_it_cannot_do(course, args, message):
    _copy(course)
    before = {p: p.read_bytes() for p in (course / "notebooks").glob("*.ipynb")}
    with pytest.raises(ne.ExerciseError, match=message):
        ne.new_exercise(*args, root=course)
    assert before == {p: p.read_bytes() for p in (course / "notebooks").glob("*.ipynb")}


def test_a_notebook_that_is_not_json_is_named(course):
    _copy(course)
    lesson = course / "notebooks" / "03_super.ipynb"
    lesson.write_text("<<<<<<< HEAD\n" + lesson.read_text(encoding="utf-8"), encoding="utf-8")
    module = course / "companion" / "exercises" / "lesson_03_super.py"
    before = module.read_bytes()
    with pytest.raises(ne.ExerciseError, match="03_super.ipynb is not a readable notebook"):
        ne.new_exercise("03", "x", root=course)
    assert module.read_bytes() == before  # neither file is written


def test_the_cells_are_tagged_and_the_solution_collapsed(course):
    _copy(course)
    ne.new_exercise("05", "stride_three", root=course)
    cells = json.loads((next((course / "notebooks").glob("05_*.ipynb"))).read_text(encoding="utf-8"))["cells"]
    i = next(i for i, c in enumerate(cells) if c.get("id") == "c05-stride-three")
    assert cells[i]["metadata"]["tags"] == ["exercise"]
    assert cells[i + 1]["metadata"] == {"tags": ["solution"], "jupyter": {"source_hidden": True,
                                                                           "outputs_hidden": True}}
    assert not any("solution" in c["metadata"].get("tags", []) for c in cells[i + 2:])  # after the last one
