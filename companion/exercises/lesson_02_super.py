"""The exercises of lesson 02 (super(), notebooks/02_super.ipynb)."""

from __future__ import annotations

from torch import nn

from ..exercise import Exercise, generic
from ..model import DigitRecognizerFixed

__all__ = ["EXERCISES"]


EXERCISES: list[Exercise] = [
    Exercise(
        "02.diamond_mro_len",
        "class Left(Base)、class Right(Base)、class Child(Left, Right)（Base 直接继承 object）。"
        "len(Child.__mro__) 是多少？",
        lambda: (
            lambda base: len(type("Child", (type("Left", (base,), {}), type("Right", (base,), {})), {}).__mro__)
        )(type("Base", (), {})),
        generic("MRO 里每个类恰好出现一次，别忘了最末尾的 object；写出这几个类再 print(Child.__mro__) 验证。"),
    ),
    Exercise(
        "02.fixed_module_index",
        "在 companion.DigitRecognizerFixed.__mro__ 中，nn.Module 的下标（从 0 数起）是多少？",
        lambda: DigitRecognizerFixed.__mro__.index(nn.Module),
        generic("MRO 从类自己开始（下标 0），沿继承链一路向上；DigitRecognizerFixed 继承谁，那个类又继承谁？"),
    ),
]
