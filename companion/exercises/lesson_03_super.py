"""The exercises of lesson 03 (super(), notebooks/03_super.ipynb)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..exercise import Exercise, generic
from ..model import DigitRecognizerFixed

__all__ = ["EXERCISES"]


def _next_after_left() -> str:
    order: list[str] = []

    def init(name: str):
        def __init__(self):
            order.append(name)
            super(classes[name], self).__init__()
        return __init__

    classes: dict[str, type] = {}
    classes["Base"] = type("Base", (), {"__init__": init("Base")})
    classes["Left"] = type("Left", (classes["Base"],), {"__init__": init("Left")})
    classes["Right"] = type("Right", (classes["Base"],), {"__init__": init("Right")})
    classes["Child"] = type("Child", (classes["Left"], classes["Right"]), {"__init__": init("Child")})
    classes["Child"]()
    return order[order.index("Left") + 1]


def _scale_judge() -> Callable[[Any], bool]:
    """Whether a class the learner wrote is a working ``Scale(n)`` module: one registered
    parameter ``weight`` of n ones, ``forward(x) = x * weight``. A failed check is a
    ``ValueError`` that says which."""

    def judge(answer: Any) -> bool:
        if not (isinstance(answer, type) and issubclass(answer, nn.Module)):
            raise ValueError("答案应是一个 nn.Module 的子类，例如 class Scale(nn.Module): …")
        try:
            m = answer(5)
            names = [n for n, _ in m.named_parameters()]
        except Exception as exc:  # noqa: BLE001 - the learner's class may fail in any way
            raise ValueError(f"Scale(5) 构造或数参数时抛出了 {type(exc).__name__}: {exc}") from None
        if names != ["weight"]:
            raise ValueError(f"Scale(5).named_parameters() 的名字是 {names}，应只有 ['weight']")
        if tuple(m.weight.shape) != (5,) or not torch.equal(m.weight.detach(), torch.ones(5)):
            raise ValueError(f"weight 应是 5 个 1，收到形状 {tuple(m.weight.shape)}")
        g = torch.Generator().manual_seed(0)
        x = torch.randn(3, 5, generator=g)
        with torch.no_grad():
            m.weight.copy_(torch.randn(5, generator=g))
            try:
                out = m(x)
            except Exception as exc:  # noqa: BLE001
                raise ValueError(f"调用 m(x) 时抛出了 {type(exc).__name__}: {exc}") from None
            if not isinstance(out, torch.Tensor) or not torch.allclose(out, x * m.weight):
                raise ValueError("把 weight 换成随机数后，m(x) 不等于 x * weight")
        if list(m.state_dict()) != ["weight"]:
            raise ValueError(f"state_dict 的键是 {list(m.state_dict())}，应只有 ['weight']")
        return True

    return judge


EXERCISES: list[Exercise] = [
    Exercise(
        "03.diamond_mro_len",
        "class Left(Base)、class Right(Base)、class Child(Left, Right)（Base 直接继承 object）。"
        "len(Child.__mro__) 是多少？",
        lambda: (
            lambda base: len(type("Child", (type("Left", (base,), {}), type("Right", (base,), {})), {}).__mro__)
        )(type("Base", (), {})),
        generic("MRO 里每个类恰好出现一次，别忘了最末尾的 object；写出这几个类再 print(Child.__mro__) 验证。"),
    ),
    Exercise(
        "03.fixed_module_index",
        "在 companion.DigitRecognizerFixed.__mro__ 中，nn.Module 的下标（从 0 数起）是多少？",
        lambda: DigitRecognizerFixed.__mro__.index(nn.Module),
        generic("MRO 从类自己开始（下标 0），沿继承链一路向上；DigitRecognizerFixed 继承谁，那个类又继承谁？"),
    ),
    Exercise(
        "03.next_after_left",
        "先想后跑：四个类都协作地调用 super().__init__()。执行 Child() 时，Left.__init__ 里的 "
        "super().__init__() 调用的是哪个类的 __init__？（写类名，如 \"Base\"）",
        _next_after_left,
        lambda a, e: "super() 找的是 type(self).__mro__ 里排在 Left 后面的那个类，而 self 是一个 Child。",
        kind="choice",
    ),
    Exercise(
        "03.scale_module",
        "写一个 nn.Module 的子类 Scale：Scale(n) 登记一个名为 weight、形状 (n,)、初值全为 1 的参数；"
        "forward(x) 返回 x * weight。",
        _scale_judge,
        lambda a, e: ("__init__ 的第一行调用 super().__init__()，再把 nn.Parameter(torch.ones(n)) 赋给 "
                      "self.weight；forward 里用 self.weight。"),
        kind="judge",
    ),
]
