"""The exercises of lesson 03 (卷积层 conv1, notebooks/03_conv1.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic, hint_out_size, hint_params, out_len
from ..params import count_params

__all__ = ["EXERCISES"]


def _edge_images(n: int = 9) -> dict[str, torch.Tensor]:
    ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    return {"diagonal": (xs > ys).float(), "vertical": (xs >= n // 2).float(), "horizontal": (ys >= n // 2).float()}


def _prefers_diagonal(kernel) -> bool:
    """True when ``kernel`` (3×3) responds to a top-left-to-bottom-right edge more than to
    vertical and horizontal edges, by at least 20 % (responses: the largest absolute output)."""
    k = torch.as_tensor(kernel, dtype=torch.float32)
    if k.shape != (3, 3):
        raise ValueError(f"核的形状是 {tuple(k.shape)}，应为 (3, 3)")
    response = {name: nn.functional.conv2d(img[None, None], k[None, None]).abs().max().item()
                for name, img in _edge_images().items()}
    return response["diagonal"] > 1.2 * max(response["vertical"], response["horizontal"])


EXERCISES: list[Exercise] = [
    Exercise(
        "03.out_k5_s2_p1",
        "nn.Conv2d(1, 8, kernel_size=5, stride=2, padding=1) 作用于 28×28 输入，输出的边长是多少？",
        lambda: out_len(nn.Conv2d(1, 8, kernel_size=5, stride=2, padding=1), 28)[-1],
        hint_out_size,
    ),
    Exercise(
        "03.out_dilation2",
        "nn.Conv2d(1, 1, kernel_size=3, dilation=2) 作用于 28×28 输入，输出的边长是多少？",
        lambda: out_len(nn.Conv2d(1, 1, kernel_size=3, dilation=2), 28)[-1],
        generic("空洞（dilation）d 让 k×k 的核覆盖 d(k−1)+1 个像素；再代入输出尺寸公式。"),
    ),
    Exercise(
        "03.params_rgb",
        "若输入是 RGB 彩色图（3 通道），nn.Conv2d(3, 32, 3) 有多少个参数？",
        lambda: count_params(nn.Conv2d(3, 32, 3)),
        hint_params,
    ),
    Exercise(
        "03.same_padding_k7",
        "stride=1、kernel_size=7 时，padding 取多少才能让 28×28 的输出仍是 28×28？",
        lambda: next(p for p in range(8) if out_len(nn.Conv2d(1, 1, 7, padding=p), 28)[-1] == 28),
        generic("输出边长 = n + 2p − k + 1；要它等于 n，解出 p。"),
    ),
    Exercise(
        "03.padding_for_14",
        "nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=p) 作用于 28×28 输入。要让输出正好是 14×14，p 最小取多少？",
        lambda: next(p for p in range(4) if out_len(nn.Conv2d(1, 1, 3, stride=2, padding=p), 28)[-1] == 14),
        generic("把 p 从 0 起逐个代入输出尺寸公式（n = 28、k = 3、s = 2），直到输出等于 14 为止。"),
    ),
    Exercise(
        "03.diagonal_kernel",
        "设计一个 3×3 的卷积核（嵌套列表、numpy 数组或张量都行），让它对“从左上角到右下角”的斜边反应最强："
        "在分界线沿这条对角线的明暗图上，它输出的最大绝对值，要比在竖直边缘图和水平边缘图上都大两成以上。",
        lambda: _prefers_diagonal,
        lambda a, e: "Sobel 核沿一个方向由负到正；把它转 45°：让核的一个角为正、对角为负，而那条对角线上的三格为 0。",
        kind="judge",
    ),
]
