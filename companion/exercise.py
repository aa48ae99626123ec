"""What an exercise is: its question, how its answer is computed, its hints; and the hint
helpers the lessons' exercises share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import _validate as v

__all__ = ["KINDS", "Exercise", "out_len", "raises", "generic", "hint_out_size", "hint_params", "hint_shape"]

#: int | shape | float | bool | choice (a short string, case-insensitive) | judge (``expected()``
#: returns a function that says whether an answer is right, for answers with many right forms) |
#: function (write the code: the answer is a function, run on ``cases()`` against ``expected()``,
#: torch's own operation; see ``companion.function_check``)
KINDS = ("int", "shape", "float", "bool", "choice", "judge", "function")


@dataclass(frozen=True)
class Exercise:
    """One exercise: its question, how to compute the expected answer, and hints.

    A float asks for ``decimals`` decimals, and the checker accepts half a unit of the last one.
    A function exercise names its ``cases`` (a callable returning ``(description, args)`` pairs,
    odd sizes included), the torch operations the learner's function must not call
    (``forbidden``, a callable returning them) and the ``tolerance`` of the comparison."""

    key: str
    question: str
    expected: Callable[[], Any]
    hint: Callable[[Any, Any], str]
    kind: str = "int"
    decimals: int | None = None
    cases: Callable[[], list[tuple[str, tuple]]] | None = None
    forbidden: Callable[[], dict[str, Callable]] | None = None
    tolerance: float = 1e-5

    def __post_init__(self) -> None:
        v.text("key", self.key, empty=False)
        v.text("question", self.question, empty=False)
        v.function("expected", self.expected, "a function that computes the answer")
        v.function("hint", self.hint, "a function of (answer, expected) that returns a str")
        if self.decimals is not None:
            v.integer("decimals", self.decimals, 0, 15)
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} must be one of {KINDS}")
        if (self.kind == "float") != (self.decimals is not None):
            raise ValueError(f"{self.key}: a float exercise states its decimals, and only a float one")
        if (self.kind == "function") != (self.cases is not None):
            raise ValueError(f"{self.key}: a function exercise names its cases, and only a function one")


def out_len(layer: nn.Module, size: int, channels: int = 1) -> tuple[int, ...]:
    """The output shape of ``layer`` on one zero image of ``channels``×``size``×``size``."""
    if not isinstance(layer, nn.Module):
        raise v.wrong_type("layer", layer, "an nn.Module")
    v.integer("size", size, 1)
    v.integer("channels", channels, 1)
    with torch.no_grad():
        return tuple(layer(torch.zeros(1, channels, size, size)).shape)


def raises(layer: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``layer(x)`` refuses its input: True when it raises a ``RuntimeError`` or a
    ``ValueError`` (what torch raises for a wrong shape or channel count), False when it runs."""
    if not isinstance(layer, nn.Module):
        raise v.wrong_type("layer", layer, "an nn.Module")
    if not isinstance(x, torch.Tensor):
        raise v.wrong_type("x", x, "a tensor")
    try:
        with torch.no_grad():
            layer(x)
    except (RuntimeError, ValueError):
        return True
    return False


def generic(rule: str) -> Callable[[Any, Any], str]:
    """A hint that says whether a number is too large or too small, then states ``rule``."""
    v.text("rule", rule)

    def hint(answer: Any, expected: Any) -> str:
        if isinstance(expected, int) and isinstance(answer, int):
            direction = "偏大" if answer > expected else "偏小"
            return f"{answer} {direction}了。{rule}"
        return rule

    return hint


def hint_out_size(answer: Any, expected: Any) -> str:
    if isinstance(answer, int) and abs(answer - expected) == 1:
        return "只差 1：检查公式末尾的 “+1”，以及除以步长后是向下取整。"
    return "用公式 ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1，逐项代入 n、k、s、p、d。"


def hint_params(answer: Any, expected: Any) -> str:
    if isinstance(answer, int) and answer > 0 and expected % answer == 0:
        return "像是只数了一部分：权重是 out×in×k×k，别漏了每个输出通道的偏置。"
    return "参数量 = 权重（out_channels × in_channels × k × k）+ 偏置（out_channels）。"


def hint_shape(answer: Any, expected: Any) -> str:
    if isinstance(answer, tuple) and len(answer) != len(expected):
        return f"维度个数不对：答案应有 {len(expected)} 个维度（批大小、通道、高、宽）。"
    return "从 28×28 出发，两次 3×3 卷积各减 2，2×2 池化再减半；通道数看 conv2。"
