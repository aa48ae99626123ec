"""The exercises of lesson 04 (卷积层 conv2, notebooks/04_conv2.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic, hint_params
from ..params import count_params

__all__ = ["EXERCISES"]


EXERCISES: list[Exercise] = [
    Exercise(
        "04.params_k5",
        "若 conv2 改用 5×5 的核，即 nn.Conv2d(32, 64, 5)，它有多少个参数？",
        lambda: count_params(nn.Conv2d(32, 64, 5)),
        hint_params,
    ),
    Exercise(
        "04.rf_three_convs",
        "在 conv2 之后再接一层 3×3、步长 1 的卷积。第三层的一个输出值受输入图片中多大的正方形区域影响？"
        "答边长（像素）。",
        lambda: int(
            (nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1, bias=False) for _ in range(3)])(
                nn.functional.pad(torch.ones(1, 1, 1, 1), (7, 7, 7, 7))
            ) != 0)[0, 0].any(dim=0).sum()
        ),
        generic("回想第 4 节：conv1 的一个输出看 3×3，conv2 看 5×5；每多一层 3×3 卷积，四周各多看一圈。"),
    ),
    Exercise(
        "04.macs_32px",
        "如果输入图片是 32×32（而不是 28×28），conv2 处理一张图要做多少次乘加？",
        lambda: nn.Conv2d(32, 64, 3)(nn.Conv2d(1, 32, 3)(torch.zeros(1, 1, 32, 32))).numel() * 32 * 3 * 3,
        generic("先求 conv2 的输出边长（32 经过两次 3×3 卷积），"
                 "再乘输出通道数和每个输出值的乘加次数（一个核的权重数）。"),
    ),
]
