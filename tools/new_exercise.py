"""``python tools/tasks.py new-exercise 03 KEY [--kind KIND]``: the two cells of a new exercise in a
lesson, and its entry in the lesson's exercise module, ready to be filled in.

It writes
- in ``notebooks/NN_*.ipynb``, after the lesson's last exercise (or at its end): the exercise cell
  (tag ``exercise``: the question, ``answer = None`` or a function to write, ``companion.check``)
  and the reference-answer cell (tag ``solution``, collapsed, ``companion.verify``);
- in ``companion/exercises/lesson_NN_*.py``, at the end of ``EXERCISES``: an ``Exercise`` whose
  question, expected value and hint say what to write there. Until they are written its expected
  value raises, so ``make test`` fails on it and nothing unfinished can pass.

Both files are checked before either is written, and each is written atomically.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from tools.notebooks import ROOT, CourseError, atomic_write_text, shown, writable_folder

#: the kinds an exercise can have (companion/exercise.py's KINDS), and what an answer looks like
ANSWERS = {
    "int": "answer = None",
    "float": "answer = None",
    "shape": "answer = None",
    "bool": "answer = None",
    "choice": "answer = None",
    "judge": "answer = None",
    "function": None,  # the learner writes a function
}
NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")
SOLUTION_NOTE = "# 参考答案（默认折叠；`make student` 生成的学生版不含它）。verify 在答案正确时什么也不打印"


class ExerciseError(CourseError, ValueError):
    """Why an exercise cannot be added (one line for the command line)."""


def _lesson(number: str, root: Path) -> Path:
    if not re.fullmatch(r"[0-9]{2}", number or ""):
        raise ExerciseError(f"lesson {number!r} must be two digits, e.g. 03")
    found = sorted((root / "notebooks").glob(f"{number}_*.ipynb"))
    if not found:
        raise ExerciseError(f"there is no lesson {number} (notebooks/{number}_*.ipynb)")
    return found[0]


def exercise_cells(key: str, kind: str) -> tuple[str, str]:
    """The sources of the exercise cell and of the solution cell."""
    name = key.split(".", 1)[1]
    if kind == "function":
        exercise = (f'print(companion.question("{key}"))\n\n\ndef {name}(x):\n'
                    f"    return None  # 在这里写出你的代码\n\n\ncompanion.check(\"{key}\", {name})")
        solution = (f"{SOLUTION_NOTE}\ndef {name}(x):\n    raise NotImplementedError(\"{key}: the reference "
                    f"solution\")\n\n\ncompanion.verify(\"{key}\", {name})")
    else:
        exercise = f'print(companion.question("{key}"))\n{ANSWERS[kind]}\ncompanion.check("{key}", answer)'
        solution = f'{SOLUTION_NOTE}\nanswer = None  # the reference answer\ncompanion.verify("{key}", answer)'
    return exercise, solution


def module_entry(key: str, kind: str) -> str:
    """The ``Exercise(...)`` text added to the lesson's module. Its expected value raises
    ``NotImplementedError`` until it is written; its question and hint say what to write."""
    todo = f"{key}: its expected answer is not written yet"
    extra = ""
    if kind == "float":
        extra = "\n        decimals=2,  # the decimals the question asks for"
    elif kind == "function":
        extra = ("\n        cases=lambda: [],  # [(description, args)]: seeded random inputs, odd sizes included"
                 "\n        forbidden=lambda: {},  # {'F.op': F.op}: torch's own operation the learner must not call")
    return (f"    Exercise(\n        {key!r},\n        \"题目：（用中文写出问题）\",\n"
            "        # how the expected answer is computed, from torch: a function of no arguments\n"
            f"        lambda: (_ for _ in ()).throw(NotImplementedError({todo!r})),\n"
            "        lambda answer, expected: \"（一条不泄露答案的提示）\",\n"
            f"        kind={kind!r},{extra}\n    ),\n")


def _insert_entry(text: str, entry: str, where: str) -> str:
    tree = ast.parse(text)
    target = next((n for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                   and any(isinstance(t, ast.Name) and t.id == "EXERCISES"
                           for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))), None)
    if target is None or not isinstance(target.value, ast.List):
        raise ExerciseError(f"{where} has no list EXERCISES = [...] to add to")
    lines = text.splitlines(keepends=True)
    end = target.value.end_lineno - 1  # the line of the closing bracket
    closing = lines[end]
    col = target.value.end_col_offset - 1
    before, after = closing[:col], closing[col:]
    if before.strip():  # `[... ]` on one line: break it
        return "".join(lines[:end]) + before.rstrip() + ("," if not before.rstrip().endswith(("[", ",")) else "") \
            + "\n" + entry + after + "".join(lines[end + 1:])
    return "".join(lines[:end]) + entry + closing + "".join(lines[end + 1:])


def new_exercise(number: str, name: str, kind: str = "int", root: Path = ROOT) -> str:
    """Add exercise ``NN.name`` of ``kind`` to lesson ``number``; return what was written."""
    import nbformat
    from nbformat.v4 import new_code_cell

    if kind not in ANSWERS:
        raise ExerciseError(f"kind {kind!r} must be one of {', '.join(ANSWERS)}")
    if not NAME.fullmatch(name or ""):
        raise ExerciseError(f"name {name!r} must be lower-case letters, digits and _ (starting with a letter)")
    key = f"{number}.{name}"
    lesson = _lesson(number, root)
    module_path = next(iter(sorted((root / "companion" / "exercises").glob(f"lesson_{number}_*.py"))), None)
    if module_path is None:
        module_path = root / "companion" / "exercises" / f"lesson_{lesson.stem}.py"
        module_text = (f'"""The exercises of lesson {number} (notebooks/{lesson.name})."""\n\nfrom __future__ import '
                       'annotations\n\nfrom ..exercise import Exercise\n\n__all__ = ["EXERCISES"]\n\n\n'
                       "EXERCISES: list[Exercise] = [\n]\n")
    else:
        module_text = module_path.read_text(encoding="utf-8")
    if re.search(rf"[\"']{re.escape(key)}[\"']", module_text):
        raise ExerciseError(f"exercise {key} already exists in {shown(module_path)}")
    try:
        nb = nbformat.reads(lesson.read_text(encoding="utf-8"), as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError, ValueError) as exc:
        raise ExerciseError(f"{shown(lesson)} is not a readable notebook ({exc}); fix it first") from None
    for path in (lesson, module_path):  # both folders before either file is written
        writable_folder(path.parent, f"the folder of {path.name}")
    new_module = _insert_entry(module_text, module_entry(key, kind), shown(module_path))
    exercise, solution = exercise_cells(key, kind)
    ids = {c.get("id") for c in nb.cells}
    base = f"c{number}-{name.replace('_', '-')}"[:60]
    if base in ids or f"{base}-sol" in ids:
        raise ExerciseError(f"{shown(lesson)} already has a cell with id {base}")
    cells = [new_code_cell(exercise, id=base, metadata={"tags": ["exercise"]}),
             new_code_cell(solution, id=f"{base}-sol", metadata={
                 "tags": ["solution"], "jupyter": {"source_hidden": True, "outputs_hidden": True}})]
    last = max((i for i, c in enumerate(nb.cells) if "solution" in c.metadata.get("tags", [])),
               default=len(nb.cells) - 1)
    nb.cells[last + 1:last + 1] = cells
    atomic_write_text(module_path, new_module)
    atomic_write_text(lesson, nbformat.writes(nb) + "\n")
    code_number = sum(1 for c in nb.cells[: last + 2] if c.cell_type == "code")
    return (f"new-exercise: {key} ({kind}) added:\n"
            f"  {shown(lesson)}: code cells {code_number} (the exercise) and {code_number + 1} (its solution, "
            "collapsed)\n"
            f"  {shown(module_path)}: its question, expected value and hint, to be written\n"
            f"Next: write those three, the solution cell's answer, then `make refresh-stale` and `make test`.")
