"""The exercises of lesson 09 (Dropout, notebooks/09_dropout.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic

__all__ = ["EXERCISES", "channel_dropout_rule"]

F = nn.functional


def channel_dropout_rule(x: torch.Tensor, keep: torch.Tensor, p: float) -> torch.Tensor:
    """What ``nn.Dropout2d(p)`` computes once its mask is drawn: channels with ``keep`` False
    become 0, the others are multiplied by 1/(1−p) (torch multiplies by the mask divided by 1−p).
    ``x`` is (N, C, *), ``keep`` is (N, C)."""
    if keep.shape != x.shape[:2]:
        raise ValueError(f"keep has shape {tuple(keep.shape)}; expected (N, C) = {tuple(x.shape[:2])}")
    if not 0 <= p < 1:
        raise ValueError(f"p={p!r} must be in [0, 1)")
    noise = keep.to(x.dtype).div(1 - p)
    return x * noise.view(*keep.shape, *([1] * (x.dim() - 2)))


def _dropout_cases() -> list[tuple[str, tuple]]:
    """Seeded inputs (N, C, *) with a keep-mask per (sample, channel): 2, 1 and 3 spatial dimensions."""
    g = torch.Generator().manual_seed(6)
    specs = [((2, 4, 3, 3), 0.25), ((5, 64, 12, 12), 0.25), ((3, 7, 5), 0.5), ((2, 3, 4, 5, 6), 0.1),
             ((1, 1, 1, 1), 0.5), ((4, 16, 7, 9), 0.75)]
    cases = []
    for shape, p in specs:
        x = torch.randn(shape, generator=g)
        keep = torch.rand(shape[:2], generator=g) >= p
        cases.append((f"x 形状 {shape}，keep 形状 {shape[:2]}，p={p}", (x, keep, p)))
    return cases


def _dropout_forbidden() -> dict:
    return {"F.dropout": F.dropout, "F.dropout1d": F.dropout1d, "F.dropout2d": F.dropout2d,
            "F.dropout3d": F.dropout3d, "torch.dropout": torch.dropout, "torch.feature_dropout": torch.feature_dropout,
            "nn.Dropout2d": nn.Dropout2d.forward, "nn.Dropout": nn.Dropout.forward}


def _dropout_hint(answer, expected) -> str:
    return ("keep 只有 (N, C) 两维：先把它变成浮点数，再在后面补上长度为 1 的维度，让它在空间维度上广播"
            "（x 可能有 1、2 或 3 个空间维度）；幸存的通道还要乘 1/(1−p)。")


EXERCISES: list[Exercise] = [
    Exercise(
        "09.scale_p02",
        "nn.Dropout2d(p=0.2) 在训练模式下，没有被丢弃的通道里的每个值被乘以多少？（保留两位小数）",
        lambda: nn.Dropout2d(0.2).train()(torch.ones(1, 64, 2, 2)).max().item(),
        lambda a, e: "每个值以 1−p 的概率留下；要让平均输出仍等于输入，留下时必须乘上多少？",
        kind="float",
        decimals=2,
    ),
    Exercise(
        "09.eval_sum",
        "把源笔记的例子 x = torch.arange(1., 37.).view(1, 4, 3, 3).repeat(2, 1, 1, 1) 送进 eval 模式的 "
        "nn.Dropout2d(0.25)，输出的所有元素之和是多少？",
        lambda: int(
            nn.Dropout2d(0.25).eval()(torch.arange(1.0, 37.0).view(1, 4, 3, 3).repeat(2, 1, 1, 1)).sum().item()
        ),
        generic("评估模式下 Dropout 既不丢弃也不放大；剩下的就是对两个样本的 1..36 求和。"),
    ),
    Exercise(
        "09.channel_dropout",
        "写出函数 channel_dropout(x, keep, p)：x 的形状是 (N, C, *)（批、通道，再跟 1 到 3 个空间维度），"
        "keep 是形状 (N, C) 的布尔掩码（True = 留下）。返回 Dropout2d 在抽到这份掩码时的输出："
        "被丢弃的通道整片为 0，留下的通道乘以 1/(1−p)。不许调用 torch 的 dropout 函数。",
        lambda: channel_dropout_rule,
        _dropout_hint,
        kind="function",
        cases=_dropout_cases,
        forbidden=_dropout_forbidden,
        tolerance=1e-6,
    ),
]
