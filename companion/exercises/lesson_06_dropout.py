"""The exercises of lesson 06 (Dropout, notebooks/06_dropout.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic

__all__ = ["EXERCISES"]


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
        "06.scale_p02",
        "nn.Dropout2d(p=0.2) 在训练模式下，没有被丢弃的通道里的每个值被乘以多少？（保留两位小数）",
        lambda: nn.Dropout2d(0.2).train()(torch.ones(1, 64, 2, 2)).max().item(),
        lambda a, e: "每个值以 1−p 的概率留下；要让平均输出仍等于输入，留下时必须乘上多少？",
        kind="float",
        decimals=2,
    ),
    Exercise(
        "06.eval_sum",
        "把源笔记的例子 x = torch.arange(1., 37.).view(1, 4, 3, 3).repeat(2, 1, 1, 1) 送进 eval 模式的 "
        "nn.Dropout2d(0.25)，输出的所有元素之和是多少？",
        lambda: int(
            nn.Dropout2d(0.25).eval()(torch.arange(1.0, 37.0).view(1, 4, 3, 3).repeat(2, 1, 1, 1)).sum().item()
        ),
        generic("评估模式下 Dropout 既不丢弃也不放大；剩下的就是对两个样本的 1..36 求和。"),
    ),
    Exercise(
        "06.pool_after_elem_drop",
        "对 torch.arange(1., 17.).view(1, 1, 4, 4)（第 05 课的例子）做一次 p=0.25 的元素级 dropout，"
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
        "06.flat_dropout2d",
        "nn.Dropout2d(0.5) 作用在形状为 (N, 128) 的张量上（源笔记的 dropout2）。它是一次丢弃一整行（填“整行”），"
        "还是一个一个元素地丢弃（填“元素”）？",
        _flat_dropout2d,
        lambda a, e: "第 9 节的掩码图里，每一行是一个样本；看黑格是成行出现，还是散落在各处。"
        "(N, 128) 里已经没有“通道 × 空间”的结构了。",
        kind="choice",
    ),
]
