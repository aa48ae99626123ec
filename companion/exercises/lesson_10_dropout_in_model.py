"""The exercises of lesson 10 (模型里的两个 dropout, notebooks/10_dropout_in_model.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise

__all__ = ["EXERCISES"]

F = nn.functional


def _pool_order() -> bool:
    torch.manual_seed(0)
    z = torch.randn(2, 3, 4, 4)
    drop = nn.Dropout2d(0.5)
    torch.manual_seed(1)
    a = F.max_pool2d(drop(z), 2)
    torch.manual_seed(1)
    b = drop(F.max_pool2d(z, 2))
    return torch.equal(a, b)


def _flat_dropout2d() -> str:
    import warnings

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about exactly this use
        kept = nn.Dropout2d(0.5).train()(torch.ones(64, 128)) != 0
    whole_rows = bool((kept.all(dim=1) | (~kept).all(dim=1)).all())
    return "整行" if whole_rows else "元素"


EXERCISES: list[Exercise] = [
    Exercise(
        "10.pool_after_elem_drop",
        "对 torch.arange(1., 17.).view(1, 1, 4, 4)（第 07 课的例子）做一次 p=0.25 的元素级 dropout，"
        "掩码恰好只丢掉 7 和 8 两个元素；之后再做 F.max_pool2d(·, 2)。输出右上角的值是多少？（保留两位小数）",
        lambda: nn.functional.max_pool2d(
            torch.arange(1.0, 17.0).view(1, 1, 4, 4)
            * torch.tensor([[1.0, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]])
            / (1 - 0.25),
            2,
        )[0, 0, 0, 1].item(),
        lambda a, e: "被丢掉的元素变成 0，池化会在窗口里改选剩下的最大值；别忘了幸存者要乘 1/(1−p)。",
        kind="float",
        decimals=2,
    ),
    Exercise(
        "10.flat_dropout2d",
        "nn.Dropout2d(0.5) 作用在形状为 (N, 128) 的张量上（源笔记的 dropout2）。它是一次丢弃一整行（填“整行”），"
        "还是一个一个元素地丢弃（填“元素”）？",
        _flat_dropout2d,
        lambda a, e: "第 4 节的掩码图里，每一行是一个样本；看黑格是成行出现，还是散落在各处。"
        "(N, 128) 里已经没有“通道 × 空间”的结构了。",
        kind="choice",
    ),
    Exercise(
        "10.predict_pool_order",
        "先别运行，预测下面的代码打印 True 还是 False：\n"
        "torch.manual_seed(0); z = torch.randn(2, 3, 4, 4); drop = nn.Dropout2d(0.5)\n"
        "torch.manual_seed(1); a = F.max_pool2d(drop(z), 2)\n"
        "torch.manual_seed(1); b = drop(F.max_pool2d(z, 2))\n"
        "print(torch.equal(a, b))",
        _pool_order,
        lambda a, e: "两次用的是同一个种子，Dropout2d 为 (N, C) 个通道各抽一个随机数，与特征图多大无关；"
        "再想想第 2 节：通道掩码在一个池化窗口里是同一个非负数。",
        kind="bool",
    ),
]
