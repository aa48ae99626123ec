"""Every exercise: its solution passes, wrong answers get a hint, not the answer.

The solutions are the notebooks' cells tagged ``solution``; they are executed here with
``companion.check`` replaced by a recorder, so each solution is checked twice: by nbval in
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

from companion import exercises
from companion.exercises import EXERCISES, check, evaluate, question

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _solutions() -> dict:
    found = {}
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code" or "solution" not in cell.get("metadata", {}).get("tags", []):
                continue
            record = {}
            shim = SimpleNamespace(check=record.__setitem__, question=lambda key: "")
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
    else:
        wrong = sol + 7
    status, message = evaluate(key, wrong)
    assert status == "wrong" and "提示" in message
    if isinstance(sol, bool):
        return  # a yes/no answer cannot be hidden by its hint
    hint = message.split("提示：", 1)[1].replace(str(wrong), "")
    assert not re.search(rf"(?<![\d.]){re.escape(str(sol))}(?![\d.])", hint), hint


def test_unanswered_and_types(capsys):
    assert check("03.params_rgb", None) is None
    assert "尚未作答" in capsys.readouterr().out
    assert evaluate("03.params_rgb", "896")[0] == "wrong"
    assert evaluate("03.params_rgb", 896.0)[0] == "correct"
    assert evaluate("00.shape_after_pool", torch.Size([1, 64, 12, 12]))[0] == "correct"
    assert evaluate("00.shape_after_pool", [1, 64, 12])[0] == "wrong"
    assert check("03.params_rgb", 896) is True
    assert check("03.params_rgb", 864) is False
    assert "偏置" in capsys.readouterr().out


def test_off_by_one_hint():
    _, message = evaluate("03.out_k5_s2_p1", SOLUTIONS["03.out_k5_s2_p1"] + 1)
    assert "+1" in message or "取整" in message


def test_unknown_key():
    with pytest.raises(ValueError, match="does not exist"):
        evaluate("99.nope", 1)
    with pytest.raises(ValueError, match="does not exist"):
        question("99.nope")


def test_expected_values_come_from_torch(monkeypatch):
    # If torch's conv changed its output size, the checker would follow it.
    real = nn.Conv2d.forward
    monkeypatch.setattr(nn.Conv2d, "forward", lambda self, x: real(self, x)[..., :-1, :-1])
    assert evaluate("03.out_k5_s2_p1", SOLUTIONS["03.out_k5_s2_p1"])[0] == "wrong"


def test_every_exercise_is_used_by_a_notebook_and_each_notebook_has_exercises():
    used = set()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
        keys = set(re.findall(r"check\(\"([0-9]{2}\.[a-z0-9_]+)\"", text))
        assert len(keys) >= 2, f"{path.name} has fewer than 2 checked exercises"
        used |= keys
    assert used == set(EXERCISES)
    assert exercises.UNANSWERED == "unanswered"


def test_bool_and_choice_kinds(monkeypatch):
    from companion.exercises import Exercise

    monkeypatch.setitem(EXERCISES, "zz.bool", Exercise("zz.bool", "?", lambda: True, lambda a, e: "想一想", kind="bool"))
    monkeypatch.setitem(EXERCISES, "zz.choice", Exercise("zz.choice", "?", lambda: "Max", lambda a, e: "想一想", kind="choice"))
    assert evaluate("zz.bool", True)[0] == "correct"
    assert evaluate("zz.bool", 1)[0] == "wrong"
    assert evaluate("zz.choice", " max ")[0] == "correct"
    assert evaluate("zz.choice", "avg")[0] == "wrong"
    assert evaluate("zz.choice", 3)[0] == "wrong"
