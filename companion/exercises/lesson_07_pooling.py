"""The exercises of lesson 07 (最大池化, notebooks/07_pooling.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic, hint_out_size, out_len

__all__ = ["EXERCISES"]

F = nn.functional


def _pool_cases() -> list[tuple[str, tuple]]:
    """Seeded random inputs for ``max_pool2d(x, k)``: even and odd sizes, sizes that k does not divide."""
    g = torch.Generator().manual_seed(5)
    shapes = [((1, 1, 4, 4), 2), ((2, 3, 24, 24), 2), ((2, 5, 7, 9), 2), ((1, 4, 13, 11), 3), ((3, 2, 10, 5), 4),
              ((1, 1, 3, 3), 3)]
    return [(f"x 形状 {shape}，k={k}", (torch.randn(shape, generator=g), k)) for shape, k in shapes]


def _pool_forbidden() -> dict:
    return {"F.max_pool2d": F.max_pool2d, "torch.max_pool2d": torch.max_pool2d,
            "F.max_pool2d_with_indices": F.max_pool2d_with_indices,
            "torch._C._nn.max_pool2d_with_indices": torch._C._nn.max_pool2d_with_indices,
            "F.adaptive_max_pool2d": F.adaptive_max_pool2d, "nn.MaxPool2d": nn.MaxPool2d.forward}


def _hint_shape_pool(answer, expected) -> str:
    if isinstance(answer, tuple) and len(answer) == 4 and answer[1] != 32:
        return "通道数不对：池化对每个通道各做各的，不在通道之间求和，所以通道数不变。"
    return "批大小和通道数都不变；高和宽各按 ⌊13 / 2⌋ 计算（默认向下取整）。"


def _pool_hint(answer, expected) -> str:
    return ("第 4 节的 2×2 写法要求边长能被窗口整除：先去掉最后放不下一个整窗口的行和列（torch 向下取整），"
            "再把写法里的 2 换成 k。")


EXERCISES: list[Exercise] = [
    Exercise(
        "07.out_k3_s2",
        "F.max_pool2d(x, kernel_size=3, stride=2) 作用于 conv2 的 24×24 输出，输出边长是多少？",
        lambda: out_len(nn.MaxPool2d(3, stride=2), 24)[-1],
        hint_out_size,
    ),
    Exercise(
        "07.ceil_mode_25",
        "F.max_pool2d(x, 2, ceil_mode=True) 作用于 25×25 的输入，输出边长是多少？",
        lambda: out_len(nn.MaxPool2d(2, ceil_mode=True), 25)[-1],
        generic("ceil_mode=True 时，除以步长后向上取整：最后那一截不足一个窗口的行列也会单独成为一个输出。"),
    ),
    Exercise(
        "07.predict_shape",
        "先别运行，预测一下：F.max_pool2d(torch.randn(8, 32, 13, 13), 2) 的形状是什么？（写成元组）",
        lambda: tuple(F.max_pool2d(torch.zeros(8, 32, 13, 13), 2).shape),
        _hint_shape_pool,
        kind="shape",
    ),
    Exercise(
        "07.max_pool2d",
        "写出函数 max_pool2d(x, k)：对形状 (N, C, H, W) 的 x 做 k×k 窗口、步长 k 的最大池化，"
        "结果与 F.max_pool2d(x, k) 相同（H、W 不是 k 的倍数时，像 torch 一样丢掉最后放不下一个窗口的行列）。"
        "不许调用 torch 自己的池化函数。",
        lambda: F.max_pool2d,
        _pool_hint,
        kind="function",
        cases=_pool_cases,
        forbidden=_pool_forbidden,
        tolerance=0.0,
    ),
]
