"""The exercises of lesson 05 (conv1 的参数与输出尺寸, notebooks/05_conv1.ipynb)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..exercise import Exercise, generic, hint_out_size, out_len, raises

__all__ = ["EXERCISES"]


def _torch_corr2d(x: torch.Tensor, k: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """What ``nn.Conv2d`` computes for one 2-D input and one 2-D kernel (no bias)."""
    return F.conv2d(x[None, None], k[None, None], stride=stride, padding=padding)[0, 0]


def _corr2d_cases() -> list[tuple[str, tuple]]:
    """Random inputs and kernels (odd and non-square sizes among them), strides 1–3, paddings 0–2."""
    g = torch.Generator().manual_seed(3)
    sizes = [((4, 4), (3, 3), 1, 0), ((5, 7), (2, 3), 1, 0), ((7, 7), (3, 3), 2, 0), ((6, 5), (3, 1), 2, 1),
             ((5, 5), (3, 3), 1, 2), ((9, 8), (2, 2), 3, 1), ((1, 9), (1, 4), 1, 0), ((28, 28), (3, 3), 2, 1)]
    return [(f"x 形状 {xs}，k 形状 {ks}，stride={s}，padding={p}",
             (torch.randn(xs, generator=g), torch.randn(ks, generator=g), s, p)) for xs, ks, s, p in sizes]


EXERCISES: list[Exercise] = [
    Exercise(
        "05.predict_shape",
        "先别运行，预测 nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=2)(torch.zeros(8, 3, 32, 32)).shape"
        "（答一个元组，例如 (1, 2, 3, 4)）。",
        lambda: tuple(nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=2)(torch.zeros(8, 3, 32, 32)).shape),
        lambda a, e: ("四个维度依次是批大小、通道、高、宽：批大小不变，通道数是 out_channels，"
                      "高和宽用 ⌊(n + 2p − k)/s⌋ + 1 算。"),
        kind="shape",
    ),
    Exercise(
        "05.predict_raises",
        "先别运行，预测 nn.Conv2d(1, 32, 3)(torch.zeros(4, 3, 28, 28)) 会不会报错"
        "（答 True 表示会报错，False 表示不会）。",
        lambda: raises(nn.Conv2d(1, 32, 3), torch.zeros(4, 3, 28, 28)),
        lambda a, e: "对照权重的形状 (out_channels, in_channels, k, k)：输入的第 1 维必须等于 in_channels。",
        kind="bool",
    ),
    Exercise(
        "05.corr2d",
        "写出函数 corr2d(x, k, stride, padding)：x 是一张二维图 (H, W)，k 是一个二维核 (kh, kw)，不一定是正方形；"
        "stride ≥ 1、padding ≥ 0 是整数。返回 nn.Conv2d 的算法（互相关，四周各填充 padding 圈 0，窗口每次挪 stride 格，"
        "没有偏置）给出的二维输出。不许调用 F.conv2d。",
        lambda: _torch_corr2d,
        lambda a, e: ("从第 04 课第 2 节的 corr2d_loops 出发：先把 x 四周各填充 padding 圈 0（F.pad），"
                      "输出 [i, j] 的窗口从填充后的第 i·stride 行、第 j·stride 列开始；输出的高和宽用输出尺寸公式分别算"
                      "（核的高、宽取自 k.shape，可以不同）。"),
        kind="function",
        cases=_corr2d_cases,
        forbidden=lambda: {"F.conv2d": F.conv2d},
        tolerance=1e-5,
    ),
    Exercise(
        "05.out_k5_s2_p1",
        "nn.Conv2d(1, 8, kernel_size=5, stride=2, padding=1) 作用于 28×28 输入，输出的边长是多少？",
        lambda: out_len(nn.Conv2d(1, 8, kernel_size=5, stride=2, padding=1), 28)[-1],
        hint_out_size,
    ),
    Exercise(
        "05.out_dilation2",
        "nn.Conv2d(1, 1, kernel_size=3, dilation=2) 作用于 28×28 输入，输出的边长是多少？",
        lambda: out_len(nn.Conv2d(1, 1, kernel_size=3, dilation=2), 28)[-1],
        generic("空洞（dilation）d 让 k×k 的核覆盖 d(k−1)+1 个像素；再代入输出尺寸公式。"),
    ),
    Exercise(
        "05.padding_for_14",
        "nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=p) 作用于 28×28 输入。要让输出正好是 14×14，p 最小取多少？",
        lambda: next(p for p in range(4) if out_len(nn.Conv2d(1, 1, 3, stride=2, padding=p), 28)[-1] == 14),
        generic("把 p 从 0 起逐个代入输出尺寸公式（n = 28、k = 3、s = 2），直到输出等于 14 为止。"),
    ),
]
