"""The exercises of lesson 04 (卷积在算什么, notebooks/04_convolution.ipynb)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..exercise import Exercise, generic, hint_params
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


#: the small input and kernel of the hand-computed exercise (its question prints them)
_X = [[1, 0, 2], [3, 1, 0], [0, 2, 1]]
_K = [[2, -1], [0, 1]]


def _torch_corr2d(x: torch.Tensor, k: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """What ``nn.Conv2d`` computes for one 2-D input and one 2-D kernel (no bias)."""
    return F.conv2d(x[None, None], k[None, None], stride=stride, padding=padding)[0, 0]


def _true_conv2d(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The convolution of mathematics for one 2-D input and one 2-D kernel: the kernel turned by
    180°, then ``nn.Conv2d``'s cross-correlation (stride 1, no padding, no bias)."""
    return _torch_corr2d(x, k.flip(0, 1))


def _true_conv_cases() -> list[tuple[str, tuple]]:
    """Random inputs and kernels, square and not, odd and even sizes."""
    g = torch.Generator().manual_seed(4)
    sizes = [((4, 4), (3, 3)), ((5, 7), (2, 3)), ((6, 5), (3, 1)), ((9, 8), (2, 2)), ((1, 9), (1, 4)),
             ((28, 28), (3, 3))]
    return [(f"x 形状 {xs}，k 形状 {ks}", (torch.randn(xs, generator=g), torch.randn(ks, generator=g)))
            for xs, ks in sizes]


EXERCISES: list[Exercise] = [
    Exercise(
        "04.worked_output",
        f"输入 X = {_X}，卷积核 K = {_K}（都按行写出）。nn.Conv2d 那样的互相关（核不翻转，步长 1，不填充）"
        "输出是 2×2。手算输出 [1, 0]（第 1 行、第 0 列，从 0 数起）。",
        lambda: int(_torch_corr2d(torch.tensor(_X, dtype=torch.float32), torch.tensor(_K, dtype=torch.float32))[1, 0]),
        generic("输出 [1, 0] 的窗口从输入的第 1 行、第 0 列开始，与 K 同样大小；"
                "把对齐的格子两两相乘再相加，核不翻转。"),
    ),
    Exercise(
        "04.diagonal_kernel",
        "设计一个 3×3 的卷积核（嵌套列表、numpy 数组或张量都行），让它对“从左上角到右下角”的斜边反应最强："
        "在分界线沿这条对角线的明暗图上，它输出的最大绝对值，要比在竖直边缘图和水平边缘图上都大两成以上。",
        lambda: _prefers_diagonal,
        lambda a, e: "Sobel 核沿一个方向由负到正；把它转 45°：让核的一个角为正、对角为负，而那条对角线上的三格为 0。",
        kind="judge",
    ),
    Exercise(
        "04.params_rgb",
        "若输入是 RGB 彩色图（3 通道），nn.Conv2d(3, 32, 3) 有多少个参数？",
        lambda: count_params(nn.Conv2d(3, 32, 3)),
        hint_params,
    ),
    Exercise(
        "04.true_conv2d",
        "写出函数 true_conv2d(x, k)：数学和信号处理里的卷积（不是 nn.Conv2d 的互相关）。x 是一张二维图 (H, W)，"
        "k 是一个二维核 (kh, kw)，不一定是正方形；步长 1、不填充，输出形状 (H − kh + 1, W − kw + 1)。"
        "不许调用 F.conv2d。",
        lambda: _true_conv2d,
        lambda a, e: ("数学上的卷积 = 先把核旋转 180°（上下、左右各翻一次，k.flip(0, 1)），再做互相关；"
                      "互相关可以照第 2 节的 corr2d：只遍历核内的 kh×kw 个偏移。"),
        kind="function",
        cases=_true_conv_cases,
        forbidden=lambda: {"F.conv2d": F.conv2d},
        tolerance=1e-5,
    ),
]
