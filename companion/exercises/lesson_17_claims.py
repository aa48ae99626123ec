"""The exercises of lesson 17 (说法台账, notebooks/17_claims.ipynb)."""

from __future__ import annotations

from torch import nn

from ..exercise import Exercise, generic, out_len
from ..params import count_params

__all__ = ["EXERCISES"]


EXERCISES: list[Exercise] = [
    Exercise(
        "17.floor_case",
        "n=27、kernel_size=4、stride=2、padding=0 时，笔记的原式给出 12.5。nn.Conv2d 实际输出的边长是多少？",
        lambda: out_len(nn.Conv2d(1, 1, kernel_size=4, stride=2), 27)[-1],
        generic("原式缺了一步：除以步长后要向下取整，再加 1。"),
    ),
    Exercise(
        "17.classifier_with_bias",
        "直接在 9216 维特征上接 10 类分类器 nn.Linear(9216, 10)，连同偏置共有多少参数？",
        lambda: count_params(nn.Linear(9216, 10)),
        generic("权重 9216×10，再加上每个输出一个偏置。"),
    ),
]
