"""Every exercise of every lesson (companion/exercises/, one module per lesson): its solution
passes, wrong answers get a hint, not the answer.

The solutions are the notebooks' cells tagged ``solution``. Each is run here on its own, as a
learner could run it after the lesson's first cell: with that cell's imports and the real
``companion``, whose ``verify`` records the answer instead of checking it. So each solution is
checked twice: by nbval in its lesson and here, against the checker and its hints. A solution
that cannot run that way fails its own test, naming the lesson, the cell and the exercise.
"""

import ast
import json
import re
from pathlib import Path

import pytest

import companion
from companion.checker import evaluate
from companion.exercises import EXERCISES, KEY, lesson_modules

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
_KEY_IN_CODE = re.compile(r"companion\.(?:check|verify)\(\s*[\"']([^\"']+)[\"']")


class _Recorder:
    """``companion`` as a solution cell sees it, except that ``verify`` records the answer."""

    def __init__(self, record: dict):
        self._record = record

    def verify(self, key, answer):
        self._record[key] = answer

    def __getattr__(self, name):
        return getattr(companion, name)


def _imports(source: str) -> str:
    """The import statements of a cell (what a learner has after running the lesson's first cell)."""
    tree = ast.parse(source)
    return "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))


def _solution_cells() -> list:
    found = []
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        first = "".join(code[0]["source"]) if code else ""
        for number, cell in enumerate(code, start=1):
            if "solution" in cell.get("metadata", {}).get("tags", []):
                source = "".join(cell["source"])
                keys = _KEY_IN_CODE.findall(source)
                found.append(pytest.param(path, number, first, source, keys,
                                          id=f"{path.stem}:code cell {number}:{','.join(keys) or '?'}"))
    return found


SOLUTION_CELLS = _solution_cells()


def _run_solution(path, number, first, source, keys) -> dict:
    where = (f"notebooks/{path.name}, code cell {number} (JupyterLab shows [{number}]), "
             f"exercise {', '.join(keys) or '?'}")
    record: dict = {}
    namespace: dict = {}
    try:
        exec(_imports(first), namespace)
        namespace["companion"] = _Recorder(record)
        exec(source, namespace)
    except Exception as exc:  # noqa: BLE001 - the message says which cell and why
        pytest.fail(f"{where}: the solution cannot run on its own: {type(exc).__name__}: {exc}. A solution cell "
                    "may use companion and what the lesson's first cell imports, not variables made by other cells "
                    "(docs/INSTRUCTORS.md, 'Writing exercises').", pytrace=False)
    assert len(record) == 1, f"{where}: a solution cell must call companion.verify for exactly one exercise"
    return record


@pytest.mark.parametrize("path, number, first, source, keys", SOLUTION_CELLS)
def test_solution_runs_alone_and_is_accepted(path, number, first, source, keys):
    record = _run_solution(path, number, first, source, keys)
    (key, answer), = record.items()
    status, message = evaluate(key, answer)
    assert status == "correct", f"notebooks/{path.name}, code cell {number}, exercise {key}: {message}"


def _wrong(sol):
    if isinstance(sol, bool):
        return not sol
    if isinstance(sol, str):
        return sol + "x"
    if isinstance(sol, tuple):
        return tuple(v + 1 for v in sol)
    if isinstance(sol, list):  # a kernel the learner designs: all zeros responds to nothing
        return [[0.0] * len(row) for row in sol]
    if callable(sol):  # a function the learner writes: off by one everywhere
        return lambda *args: sol(*args) + 1
    return sol + 7


@pytest.mark.parametrize("path, number, first, source, keys", SOLUTION_CELLS)
def test_wrong_answer_gets_a_hint_without_the_solution(path, number, first, source, keys):
    (key, sol), = _run_solution(path, number, first, source, keys).items()
    wrong = _wrong(sol)
    status, message = evaluate(key, wrong)
    assert status == "wrong" and "提示" in message, message
    if isinstance(sol, bool) or callable(sol):
        return  # a yes/no answer cannot be hidden by its hint; a function is not printed
    hint = message.split("提示：", 1)[1].replace(str(wrong), "")
    assert not re.search(rf"(?<![\d.]){re.escape(str(sol))}(?![\d.])", hint), hint


def test_every_exercise_has_exactly_one_solution_cell():
    keys = [k for p in SOLUTION_CELLS for k in p.values[4]]
    assert sorted(keys) == sorted(set(keys)), "an exercise has two solution cells"
    assert set(keys) == set(EXERCISES)


def test_expected_values_come_from_torch(monkeypatch):
    # If torch's conv changed its output size, the checker would follow it.
    from torch import nn

    real = nn.Conv2d.forward
    monkeypatch.setattr(nn.Conv2d, "forward", lambda self, x: real(self, x)[..., :-1, :-1])
    assert evaluate("05.out_k5_s2_p1", (28 + 2 * 1 - 5) // 2 + 1)[0] == "wrong"


def test_each_lesson_has_its_own_exercise_module_with_its_own_keys():
    lessons = {p.name[:2]: p.stem for p in NOTEBOOKS}
    modules = lesson_modules()
    assert set(modules) == set(lessons), "each lesson has one exercise module, named lesson_<notebook name>.py"
    for number, name in modules.items():
        assert name == f"lesson_{lessons[number]}", f"companion/exercises/{name}.py is not named after its lesson"
    for key in EXERCISES:
        assert KEY.fullmatch(key), key


def test_every_exercise_is_used_by_its_notebook_and_each_notebook_has_exercises():
    used = set()
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        keys = set(_KEY_IN_CODE.findall(text))
        assert len(keys) >= 2, f"{path.name} has fewer than 2 checked exercises"
        assert all(k[:2] == path.name[:2] for k in keys), f"{path.name} checks another lesson's exercise"
        used |= keys
    assert used == set(EXERCISES)


def test_every_solution_cell_is_collapsed_and_follows_its_exercise():
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        for number, cell in enumerate(code, start=1):
            tags = cell.get("metadata", {}).get("tags", [])
            if "solution" not in tags:
                continue
            where = f"notebooks/{path.name}, code cell {number}"
            jupyter = cell["metadata"].get("jupyter", {})
            assert jupyter.get("source_hidden") is True, f"{where}: a solution cell is collapsed (source_hidden)"
            previous = code[number - 2]
            assert "exercise" in previous.get("metadata", {}).get("tags", []), \
                f"{where}: a solution cell follows its exercise cell (tag 'exercise')"
            assert _KEY_IN_CODE.findall("".join(previous["source"])) == _KEY_IN_CODE.findall("".join(cell["source"])), \
                f"{where}: the solution checks the same exercise as the cell before it"


def test_the_channel_dropout_rule_is_what_torch_computes_with_its_own_mask():
    # 09.channel_dropout gives the learner a mask; its expected answer must be torch's output for that mask
    import torch
    from torch import nn

    from companion.exercises.lesson_09_dropout import channel_dropout_rule

    for layer, shape in [(nn.Dropout1d(0.5), (6, 7, 5)), (nn.Dropout2d(0.25), (8, 16, 5, 5)),
                         (nn.Dropout3d(0.1), (4, 3, 2, 3, 4))]:
        torch.manual_seed(3)
        x = torch.rand(shape) + 0.5  # no zeros, so the mask can be read from the output
        y = layer.train()(x)
        keep = (y != 0).flatten(2).all(-1)
        assert torch.equal((y != 0).flatten(2).any(-1), keep)  # whole channels
        assert torch.equal(channel_dropout_rule(x, keep, layer.p), y)
    with pytest.raises(ValueError, match="keep has shape"):
        channel_dropout_rule(torch.ones(2, 3, 4), torch.ones(3, 2, dtype=torch.bool), 0.5)
    with pytest.raises(ValueError, match="p=1"):
        channel_dropout_rule(torch.ones(2, 3, 4), torch.ones(2, 3, dtype=torch.bool), 1)


def _linear(x, weight, bias):
    y = x @ weight.T
    return y if bias is None else y + bias


def _log_softmax(z, dim):
    m = z.amax(dim=dim, keepdim=True)
    return z - m - (z - m).exp().sum(dim=dim, keepdim=True).log()


def test_the_linear_exercise_accepts_x_at_w_t_plus_b_and_catches_a_missing_bias():
    import torch
    from torch.nn import functional as F

    assert evaluate("11.linear", _linear)[0] == "correct"
    status, message = evaluate("11.linear", lambda x, w, b: x @ w.T + b)  # forgets that bias may be None
    assert status == "wrong" and "bias=None" in message and "TypeError" in message
    assert "None" in message.split("提示：")[1]
    for cheat, name in [(lambda x, w, b: F.linear(x, w, b), "F.linear"),
                        (lambda x, w, b: torch.nn.functional.linear(x, w, b), "F.linear"),
                        (lambda x, w, b: torch.addmm(b, x, w.T), "torch.addmm"),
                        (lambda x, w, b: b.addmm(x, w.T), "Tensor.addmm")]:
        status, message = evaluate("11.linear", cheat)
        assert status == "wrong" and name in message and "亲手写出" in message
    cases = EXERCISES["11.linear"].cases()
    assert any(args[2] is None for _, args in cases) and any(args[0].dim() != 2 for _, args in cases)
    assert any(n % 2 for _, args in cases for n in args[0].shape)  # odd sizes


def test_the_log_softmax_exercise_needs_the_stable_formula_and_says_why_the_naive_one_fails():
    import torch

    assert evaluate("12.log_softmax", _log_softmax)[0] == "correct"
    for naive in [lambda z, dim: (z.exp() / z.exp().sum(dim=dim, keepdim=True)).log(),
                  lambda z, dim: z - z.exp().sum(dim=dim, keepdim=True).log()]:
        status, message = evaluate("12.log_softmax", naive)
        assert status == "wrong" and "1000" in message and "上溢" in message.split("提示：")[1]
    status, message = evaluate("12.log_softmax", lambda z, dim: _log_softmax(z, 1))  # ignores dim
    assert status == "wrong" and "dim=0" in message and "keepdim" in message.split("提示：")[1]
    for cheat, name in [(lambda z, dim: z.log_softmax(dim), "Tensor.log_softmax"),
                        (lambda z, dim: torch.log_softmax(z, dim), "torch.log_softmax"),
                        (lambda z, dim: z.softmax(dim).log(), "Tensor.softmax"),
                        (lambda z, dim: z - torch.logsumexp(z, dim, keepdim=True), "torch.logsumexp")]:
        status, message = evaluate("12.log_softmax", cheat)
        assert status == "wrong" and name in message and "亲手写出" in message
    big = [args[0] for _, args in EXERCISES["12.log_softmax"].cases() if args[0].abs().min() > 900]
    assert len(big) == 2 and all(torch.isinf(b.exp()).any() or (b.exp() == 0).all() for b in big)


def test_the_predict_exercises_of_lessons_07_and_08():
    assert evaluate("11.predict_shape", (2, 3, 5))[0] == "correct"
    assert evaluate("11.predict_shape", (2, 5))[0] == "wrong"
    assert evaluate("11.predict_raises", True)[0] == "correct"  # (1, 64, 12, 12) is not flattened
    assert evaluate("12.predict_nll_logits", -5.0)[0] == "correct"
    assert evaluate("12.predict_nll_logits", 5.0)[0] == "wrong"  # NLLLoss takes the column as it is, negated
