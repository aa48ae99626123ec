"""The exercises of lesson 13 (训练循环与评估, notebooks/13_training.ipynb)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..exercise import Exercise, generic

__all__ = ["EXERCISES"]

F = nn.functional


def _twice_over_once() -> int:
    """How many times larger a gradient is after two ``backward`` calls without ``zero_grad``."""
    layer = nn.Linear(3, 2)
    x = torch.arange(6.0).view(2, 3)
    layer(x).sum().backward()
    once = layer.weight.grad.clone()
    layer(x).sum().backward()
    return round((layer.weight.grad / once).mean().item())


def _nll_cases() -> list[tuple[str, tuple]]:
    """Seeded ``(log_probs, target)`` pairs: odd batch sizes and class counts, one sample alone."""
    g = torch.Generator().manual_seed(9)
    cases = []
    for batch, classes in [(4, 10), (1, 10), (7, 3), (5, 2), (64, 10)]:
        log_probs = F.log_softmax(torch.randn(batch, classes, generator=g) * 2, dim=1)
        target = torch.randint(0, classes, (batch,), generator=g)
        cases.append((f"log_probs 形状 ({batch}, {classes})，target 形状 ({batch},)", (log_probs, target)))
    return cases


def _nll_forbidden() -> dict:
    return {"F.nll_loss": F.nll_loss, "F.cross_entropy": F.cross_entropy, "nn.NLLLoss": nn.NLLLoss,
            "nn.CrossEntropyLoss": nn.CrossEntropyLoss}


EXERCISES: list[Exercise] = [
    Exercise(
        "13.steps_per_epoch",
        "用 3,500 张训练图、batch_size=128 训练一轮（最后一个不满的批次也算一步），优化器一共走多少步？",
        lambda: len(torch.arange(3500).split(128)),
        generic("每一步处理一个批次；3500 除以 128 除不尽时，剩下的图单独组成最后一批。"),
    ),
    Exercise(
        "13.grad_accumulates",
        "先别运行，预测：不调用 zero_grad，对同一批数据连做两次前向和 loss.backward()，"
        "参数的 .grad 是只做一次时的几倍？",
        _twice_over_once,
        generic("backward 不会替换 .grad 里已有的数，而是把新算出的梯度加上去；这正是每一步开头要 zero_grad 的原因。"),
    ),
    Exercise(
        "13.se_val",
        "网络在 500 张验证图上的准确率是 96%。这个准确率的标准误是多少个百分点？（保留两位小数）",
        lambda: 100 * math.sqrt(0.96 * 0.04 / 500),
        lambda a, e: "标准误是 √(p(1−p)/n)，p 写成小数（0.96），算出来再乘以 100 换成百分点。",
        kind="float",
        decimals=2,
    ),
    Exercise(
        "13.nll_loss",
        "写出函数 nll_loss(log_probs, target)：log_probs 的形状是 (批大小, 类别数)，target 是每个样本正确类别的下标；"
        "返回与 F.nll_loss(log_probs, target) 相同的平均损失。不许调用 torch 自己的 nll_loss 或 cross_entropy。",
        lambda: F.nll_loss,
        lambda a, e: "NLLLoss 从每一行取出正确类别那一列（行下标 torch.arange(批大小)，列下标 target），"
        "加负号，再对样本求平均。",
        kind="function",
        cases=_nll_cases,
        forbidden=_nll_forbidden,
        tolerance=1e-6,
    ),
]
