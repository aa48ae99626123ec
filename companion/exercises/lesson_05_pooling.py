"""The exercises of lesson 05 (最大池化, notebooks/05_pooling.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic, hint_out_size, out_len
from ..params import count_params

__all__ = ["EXERCISES"]


EXERCISES: list[Exercise] = [
    Exercise(
        "05.avg_top_left",
        "对源笔记的 4×4 例子（1 到 16 按行排列）做 F.avg_pool2d(x, 2)，左上角的输出是多少？（保留一位小数）",
        lambda: nn.functional.avg_pool2d(torch.arange(1.0, 17.0).view(1, 1, 4, 4), 2)[0, 0, 0, 0].item(),
        lambda a, e: "找出左上角 2×2 窗口里的 4 个数，求它们的平均值（不是最大值）。",
        kind="float",
        decimals=1,
    ),
    Exercise(
        "05.out_k3_s2",
        "F.max_pool2d(x, kernel_size=3, stride=2) 作用于 conv2 的 24×24 输出，输出边长是多少？",
        lambda: out_len(nn.MaxPool2d(3, stride=2), 24)[-1],
        hint_out_size,
    ),
    Exercise(
        "05.ceil_mode_25",
        "F.max_pool2d(x, 2, ceil_mode=True) 作用于 25×25 的输入，输出边长是多少？",
        lambda: out_len(nn.MaxPool2d(2, ceil_mode=True), 25)[-1],
        generic("ceil_mode=True 时，除以步长后向上取整：最后那一截不足一个窗口的行列也会单独成为一个输出。"),
    ),
    Exercise(
        "05.fc1_params_pool3",
        "若把 DigitRecognizer 的池化改成 F.max_pool2d(x, 3)，fc1（输出仍为 128）需要多少个参数？",
        lambda: count_params(nn.Linear(nn.functional.max_pool2d(torch.zeros(1, 64, 24, 24), 3)[0].numel(), 128)),
        generic("先求 24×24 经过 3×3、步长 3 的池化后的边长，再算展平长度 = 64 × 边长²；"
                 "fc1 的参数 = 展平长度 × 128 + 128。"),
    ),
]
