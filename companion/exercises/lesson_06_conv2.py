"""The exercises of lesson 06 (卷积层 conv2, notebooks/06_conv2.ipynb)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..exercise import Exercise, generic, hint_params
from ..params import count_params
from ..shapes import receptive_field

__all__ = ["EXERCISES"]


def _torch_corr2d_multi_in(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """What one output channel of ``nn.Conv2d`` computes (no bias): x (C, H, W), k (C, kh, kw)."""
    return F.conv2d(x[None], k[None])[0, 0]


def _multi_in_cases() -> list[tuple[str, tuple]]:
    g = torch.Generator().manual_seed(4)
    sizes = [((2, 4, 4), (2, 3, 3)), ((3, 5, 7), (3, 2, 3)), ((1, 6, 6), (1, 3, 3)), ((5, 3, 8), (5, 3, 1)),
             ((32, 26, 26), (32, 3, 3))]
    return [(f"x 形状 {xs}，k 形状 {ks}", (torch.randn(xs, generator=g), torch.randn(ks, generator=g)))
            for xs, ks in sizes]


EXERCISES: list[Exercise] = [
    Exercise(
        "06.params_k5",
        "若 conv2 改用 5×5 的核，即 nn.Conv2d(32, 64, 5)，它有多少个参数？",
        lambda: count_params(nn.Conv2d(32, 64, 5)),
        hint_params,
    ),
    Exercise(
        "06.rf_three_convs",
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
        "06.macs_32px",
        "如果输入图片是 32×32（而不是 28×28），conv2 处理一张图要做多少次乘加？",
        lambda: nn.Conv2d(32, 64, 3)(nn.Conv2d(1, 32, 3)(torch.zeros(1, 1, 32, 32))).numel() * 32 * 3 * 3,
        generic("先求 conv2 的输出边长（32 经过两次 3×3 卷积），"
                 "再乘输出通道数和每个输出值的乘加次数（一个核的权重数）。"),
    ),
    Exercise(
        "06.groups_shape",
        "先别运行，预测 nn.Conv2d(32, 64, 3, groups=4).weight.shape（答一个元组）。",
        lambda: tuple(nn.Conv2d(32, 64, 3, groups=4).weight.shape),
        lambda a, e: ("权重是 (out_channels, 每个核看的输入通道数, k, k)；groups=g 把 32 个输入通道分成 g 组，"
                      "每个核只看其中一组。"),
        kind="shape",
    ),
    Exercise(
        "06.rf_after_pool",
        "conv1、conv2（3×3，步长 1）之后接 2×2、步长 2 的最大池化，再接一层 3×3、步长 1 的卷积。"
        "这一层的一个输出值在输入图片上的感受野边长是多少像素？",
        lambda: receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)])[-1],
        generic("用第 4 节的递推：r ← r + (k − 1)·j，j ← j·s，从 r = j = 1 开始；池化之后 j 变成 2。"),
    ),
    Exercise(
        "06.corr2d_multi_in",
        "写出函数 corr2d_multi_in(x, k)：x 是 C 张特征图 (C, H, W)，k 是一个核 (C, kh, kw)；返回 conv2 的一个输出通道"
        "（不加偏置）：每个输入通道与核的对应一片做二维互相关，再把 C 张结果加起来，形状 (H − kh + 1, W − kw + 1)。"
        "不许调用 F.conv2d。",
        lambda: _torch_corr2d_multi_in,
        lambda a, e: ("先写单通道的互相关（第 04 课的 corr2d，或本课第 3 节的那个），再对每个输入通道 c "
                      "把 x[c] 与 k[c] 的结果加起来；注意核可以不是正方形，通道数也不一定是 32。"),
        kind="function",
        cases=_multi_in_cases,
        forbidden=lambda: {"F.conv2d": F.conv2d},
        tolerance=1e-5,
    ),
]
