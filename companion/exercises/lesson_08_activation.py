"""The exercises of lesson 08 (激活与输出, notebooks/08_activation.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic

__all__ = ["EXERCISES"]


EXERCISES: list[Exercise] = [
    Exercise(
        "08.ce_uniform",
        "10 个类别的 logits 全部相等（例如全是 0）时，nn.CrossEntropyLoss 的损失是多少？（保留 4 位小数）",
        lambda: nn.functional.cross_entropy(torch.zeros(1, 10), torch.tensor([3])).item(),
        lambda a, e: "logits 全相等时 softmax 给每个类别同样的概率；损失是正确类别概率的负对数（自然对数）。",
        kind="float",
        decimals=4,
    ),
    Exercise(
        "08.relu_zeros",
        "torch.relu(torch.arange(-3.0, 4.0)) 的结果里有几个 0？",
        lambda: int((torch.relu(torch.arange(-3.0, 4.0)) == 0).sum()),
        generic("先写出 arange 给出的所有数（不含终点），再数哪些会被 ReLU 变成 0——别漏了 0 本身。"),
    ),
    Exercise(
        "08.underflow_gap",
        "logits 为 [0, g]（float32，g 取整数）时，"
        "torch.log(torch.softmax(logits, 0))[0] 从哪个最小的 g 开始变成 -inf？",
        lambda: next(
            g for g in range(1, 400)
            if torch.isinf(torch.log(torch.softmax(torch.tensor([0.0, float(g)]), 0))[0])
        ),
        generic("softmax 的第 0 项约等于 exp(−g)；float32 最小的次正规数是 2 的 −149 次方，"
                 "比它一半还小的数会被舍入成 0。也可以写个循环直接试。"),
    ),
]
