"""Every exercise of every lesson (companion/exercises.py and its two banks, exercises_00_05.py and
exercises_06_11.py): its solution passes, wrong answers get a hint, not the answer.

The solutions are the notebooks' cells tagged ``solution``; they are executed here with
``companion.verify`` replaced by a recorder, so each solution is checked twice: by nbval in
its lesson and here, against the checker and its hints.
"""

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from companion.checker import evaluate
from companion.exercises import EXERCISES

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _solutions() -> dict:
    found = {}
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code" or "solution" not in cell.get("metadata", {}).get("tags", []):
                continue
            record = {}
            shim = SimpleNamespace(verify=record.__setitem__, question=lambda key: "")
            exec("".join(cell["source"]), {"companion": shim, "torch": torch, "nn": nn, "F": F, "math": math})
            assert len(record) == 1, f"{path.name}: a solution cell must check exactly one exercise"
            found.update(record)
    return found


SOLUTIONS = _solutions()


def test_every_exercise_has_a_solution():
    assert set(SOLUTIONS) == set(EXERCISES)


@pytest.mark.parametrize("key", sorted(SOLUTIONS))
def test_solution_is_accepted(key):
    assert evaluate(key, SOLUTIONS[key])[0] == "correct"


@pytest.mark.parametrize("key", sorted(SOLUTIONS))
def test_wrong_answer_gets_a_hint_without_the_solution(key):
    sol = SOLUTIONS[key]
    if isinstance(sol, bool):
        wrong = not sol
    elif isinstance(sol, str):
        wrong = sol + "x"
    elif isinstance(sol, tuple):
        wrong = tuple(v + 1 for v in sol)
    elif isinstance(sol, list):  # a kernel the learner designs: all zeros responds to nothing
        wrong = [[0.0] * len(row) for row in sol]
    else:
        wrong = sol + 7
    status, message = evaluate(key, wrong)
    assert status == "wrong" and "提示" in message
    if isinstance(sol, bool):
        return  # a yes/no answer cannot be hidden by its hint
    hint = message.split("提示：", 1)[1].replace(str(wrong), "")
    assert not re.search(rf"(?<![\d.]){re.escape(str(sol))}(?![\d.])", hint), hint


def test_expected_values_come_from_torch(monkeypatch):
    # If torch's conv changed its output size, the checker would follow it.
    real = nn.Conv2d.forward
    monkeypatch.setattr(nn.Conv2d, "forward", lambda self, x: real(self, x)[..., :-1, :-1])
    assert evaluate("03.out_k5_s2_p1", SOLUTIONS["03.out_k5_s2_p1"])[0] == "wrong"


def test_every_exercise_is_used_by_a_notebook_and_each_notebook_has_exercises():
    used = set()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
        keys = set(re.findall(r"(?:check|verify)\(\"([0-9]{2}\.[a-z0-9_]+)\"", text))
        assert len(keys) >= 2, f"{path.name} has fewer than 2 checked exercises"
        used |= keys
    assert used == set(EXERCISES)
