"""The exercises of lesson 08 (三种池化与池化的作用, notebooks/08_pooling_effects.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic
from ..params import count_params

__all__ = ["EXERCISES"]

F = nn.functional


def _adaptive_cases() -> list[tuple[str, tuple]]:
    """Seeded random inputs for ``adaptive_max_pool2d(x, m)``: m that divides the side and m that does not,
    non-square inputs, m equal to the side and m = 1."""
    g = torch.Generator().manual_seed(8)
    shapes = [((1, 1, 4, 4), 2), ((1, 1, 4, 4), 3), ((2, 3, 25, 25), 12), ((1, 2, 7, 10), 3), ((1, 1, 5, 5), 5),
              ((2, 4, 24, 24), 1)]
    return [(f"x 形状 {shape}，m={m}", (torch.randn(shape, generator=g), m)) for shape, m in shapes]


def _adaptive_forbidden() -> dict:
    return {"F.adaptive_max_pool2d": F.adaptive_max_pool2d,
            "F.adaptive_max_pool2d_with_indices": F.adaptive_max_pool2d_with_indices,
            "torch._C._nn.adaptive_max_pool2d": torch._C._nn.adaptive_max_pool2d,
            "F.max_pool2d": F.max_pool2d, "torch.max_pool2d": torch.max_pool2d,
            "F.max_pool2d_with_indices": F.max_pool2d_with_indices,
            "nn.AdaptiveMaxPool2d": nn.AdaptiveMaxPool2d.forward}


EXERCISES: list[Exercise] = [
    Exercise(
        "08.avg_top_left",
        "对源笔记的 4×4 例子（1 到 16 按行排列）做 F.avg_pool2d(x, 2)，左上角的输出是多少？（保留一位小数）",
        lambda: nn.functional.avg_pool2d(torch.arange(1.0, 17.0).view(1, 1, 4, 4), 2)[0, 0, 0, 0].item(),
        lambda a, e: "找出左上角 2×2 窗口里的 4 个数，求它们的平均值（不是最大值）。",
        kind="float",
        decimals=1,
    ),
    Exercise(
        "08.fc1_params_pool3",
        "若把 DigitRecognizer 的池化改成 F.max_pool2d(x, 3)，fc1（输出仍为 128）需要多少个参数？",
        lambda: count_params(nn.Linear(nn.functional.max_pool2d(torch.zeros(1, 64, 24, 24), 3)[0].numel(), 128)),
        generic("先求 24×24 经过 3×3、步长 3 的池化后的边长，再算展平长度 = 64 × 边长²；"
                 "fc1 的参数 = 展平长度 × 128 + 128。"),
    ),
    Exercise(
        "08.adaptive_max_pool2d",
        "写出函数 adaptive_max_pool2d(x, m)：对形状 (N, C, H, W) 的 x 做输出 m×m 的自适应最大池化，"
        "结果与 F.adaptive_max_pool2d(x, m) 相同：高这一维的第 i 个窗口覆盖第 ⌊i·H/m⌋ 行到第 ⌈(i+1)·H/m⌉ 行（不含），"
        "宽同理。不许调用 torch 自己的池化函数。",
        lambda: F.adaptive_max_pool2d,
        lambda a, e: ("先按规则分别算出高和宽的 m 个窗口（第 1 节的 adaptive_windows 就是这条规则），"
                      "再对每一对窗口 (行段, 列段) 取 x[..., r0:r1, c0:c1] 的最大值（amax(dim=(-2, -1))），"
                      "最后把 m×m 个结果拼成 (N, C, m, m)。"),
        kind="function",
        cases=_adaptive_cases,
        forbidden=_adaptive_forbidden,
        tolerance=0.0,
    ),
]
