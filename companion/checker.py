"""Checking a learner's answer to an exercise: a wrong answer gets a hint, never the solution.

``check`` is what an exercise cell calls: it prints one line (⏳ not answered yet, ✅ right,
❌ wrong with a hint) and returns nothing, so a notebook shows no stray ``True``.
``verify`` is what a reference-answer cell calls: silent when the answer is right, an error
when it is not, so running a whole lesson never prints a success mark the learner did not earn.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import torch

from . import _validate as v
from . import exercises
from .function_check import run_cases

__all__ = ["question", "evaluate", "check", "verify", "UNANSWERED", "CORRECT", "WRONG"]

UNANSWERED = "unanswered"
CORRECT = "correct"
WRONG = "wrong"


def _exercise(key: str):
    if not isinstance(key, str):
        raise v.wrong_type("key", key, "an exercise's key, a str such as '04.params_rgb'")
    return exercises.get(key)


def question(key: str) -> str:
    """The text of exercise ``key``."""
    return _exercise(key).question


def _plain(answer: Any) -> Any:
    """A learner's answer as plain Python: numpy and torch scalars (``np.int64``, a 0-d tensor)
    become int, float or bool; ``torch.Size`` and lists become tuples."""
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1 or answer.dim() > 1:
            return answer  # refused below with a message naming its type
        answer = answer.item()
    if isinstance(answer, (torch.Size, list)):
        return tuple(_plain(item) for item in answer)
    if isinstance(answer, tuple):
        return tuple(_plain(item) for item in answer)
    if type(answer).__module__ == "numpy":  # numpy scalars without importing numpy
        item = getattr(answer, "item", None)
        if callable(item) and getattr(answer, "shape", None) == ():
            return item()
    return answer


def evaluate(key: str, answer: Any) -> tuple[str, str]:
    """Return ``(status, message)``; status is ``unanswered``, ``correct`` or ``wrong``.

    A number asked for with ``d`` decimals counts as right within half a unit of its last
    digit (``0.5·10⁻ᵈ``)."""
    ex = _exercise(key)
    if answer is None or answer is ...:
        return UNANSWERED, f"[{key}] 尚未作答：把 None 换成你的答案，再运行本单元。"
    expected = ex.expected()
    if ex.kind == "function":  # write the code: run it against torch's own operation
        right, why = run_cases(answer, expected, ex.cases(), ex.forbidden() if ex.forbidden else None, ex.tolerance)
        if right:
            return CORRECT, f"[{key}] 正确！{why}"
        return WRONG, f"[{key}] 还不对：{why} 提示：{ex.hint(answer, None)}"
    if ex.kind == "judge":  # many right forms: a function decides
        try:
            right = bool(expected(answer))
        except (TypeError, ValueError, RuntimeError, ArithmeticError, IndexError) as exc:  # an answer of the wrong form
            return WRONG, f"[{key}] 答案的形式不对（{exc}）。提示：{ex.hint(answer, None)}"
        if right:
            return CORRECT, f"[{key}] 正确！"
        return WRONG, f"[{key}] 还不对。提示：{ex.hint(answer, None)}"
    answer = _plain(answer)
    wrong_type = None
    if ex.kind == "float":
        if isinstance(answer, bool) or not isinstance(answer, Real):
            wrong_type = "一个数"
        elif abs(_float(answer) - float(expected)) <= 0.5 * 10.0 ** -ex.decimals + 1e-12:
            return CORRECT, f"[{key}] 正确！"
        else:
            return WRONG, f"[{key}] 还不对。提示：{ex.hint(answer, expected)}"
    elif ex.kind == "int":
        if isinstance(answer, float) and answer.is_integer():
            answer = int(answer)
        if isinstance(answer, bool) or not isinstance(answer, Integral):
            wrong_type = "整数"
        else:
            answer = int(answer)
    elif ex.kind == "bool" and not isinstance(answer, bool):
        wrong_type = "True 或 False"
    elif ex.kind == "shape" and not (
        isinstance(answer, tuple) and all(isinstance(n, Integral) and not isinstance(n, bool) for n in answer)
    ):
        return WRONG, f"[{key}] 答案应是由整数组成的元组，例如 (1, 2, 3, 4)。"
    elif ex.kind == "choice":
        if not isinstance(answer, str):
            wrong_type = "一个字符串"
        else:
            answer, expected = answer.strip().lower(), str(expected).strip().lower()
    if wrong_type:
        return WRONG, f"[{key}] 答案应是{wrong_type}，收到的是 {type(answer).__name__}。"
    if answer == expected:
        return CORRECT, f"[{key}] 正确！"
    return WRONG, f"[{key}] 还不对。提示：{ex.hint(answer, expected)}"


def _float(answer: Real) -> float:
    """``answer`` as a float; an integer too large for one is infinitely far from any answer."""
    try:
        return float(answer)
    except OverflowError:
        return math.copysign(math.inf, answer)


def check(key: str, answer: Any = None) -> None:
    """Print the verdict on a learner's answer in one line (nothing is returned); no answer
    given is an answer not given yet."""
    status, message = evaluate(key, answer)
    print(("✅ " if status == CORRECT else "❌ " if status == WRONG else "⏳ ") + message)


def verify(key: str, answer: Any) -> None:
    """For reference answers: nothing happens when ``answer`` is right; otherwise a
    ``ValueError`` with the checker's message."""
    status, message = evaluate(key, answer)
    if status != CORRECT:
        raise ValueError(f"the reference answer is not accepted: {message}")
