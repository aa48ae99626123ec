"""The exercises of lesson 01 (nn.Module, notebooks/01_nn_module.ipynb)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..exercise import Exercise, generic
from ..params import count_params

__all__ = ["EXERCISES"]


EXERCISES: list[Exercise] = [
    Exercise(
        "01.plain_list_params",
        "某模型的 __init__ 里写了 self.layers = [nn.Linear(10, 10) for _ in range(3)] 和 "
        "self.out = nn.Linear(10, 2)。"
        "sum(p.numel() for p in model.parameters()) 等于多少？",
        lambda: (lambda m: (setattr(m, "layers", [nn.Linear(10, 10) for _ in range(3)]),
                            setattr(m, "out", nn.Linear(10, 2)), count_params(m))[-1])(nn.Module()),
        generic("parameters() 只找得到登记过的子模块；想一想普通 list 会落进哪个“抽屉”。"),
    ),
    Exercise(
        "01.myblock_params",
        "源笔记的 MyBlock（nn.Conv2d(3, 64, 3) 后接 nn.BatchNorm2d(64)）共有多少个参数"
        "（parameters() 的元素总数）？",
        lambda: count_params(nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64))),
        generic("卷积：权重 out×in×k×k 加每个输出通道一个偏置；BatchNorm 每个通道一个缩放、一个平移；"
                 "running_mean/running_var 是缓冲区，不算参数。"),
    ),
    Exercise(
        "01.bn_state_dict_len",
        "nn.BatchNorm2d(64).state_dict() 里有几个键？",
        lambda: len(nn.BatchNorm2d(64).state_dict()),
        generic("state_dict 收录参数和缓冲区；"
                 "把 named_parameters() 与 named_buffers() 的名字都数上，别漏了那个整数计数器。"),
    ),
]


def _bn_cases() -> list[tuple[str, tuple]]:
    """Running means and batches (N, C, H, W), odd sizes among them."""
    g = torch.Generator().manual_seed(0)
    cases = []
    for n, c, h, w in [(2, 3, 5, 7), (1, 1, 3, 3), (3, 4, 2, 5)]:
        cases.append((f"running_mean ({c},)，批 ({n}, {c}, {h}, {w})",
                      (torch.randn(c, generator=g), 2 + torch.randn(n, c, h, w, generator=g))))
    return cases


def _bn_running_mean(running_mean: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """torch's own update: one training-mode forward of BatchNorm2d (momentum 0.1)."""
    bn = nn.BatchNorm2d(x.shape[1]).train()
    with torch.no_grad():
        bn.running_mean.copy_(running_mean)
        bn(x)
    return bn.running_mean.clone()


EXERCISES.append(
    Exercise(
        "01.bn_running_mean",
        "写出 bn_running_mean(running_mean, x)：一个 BatchNorm2d（momentum=0.1）在训练模式下前向一次 "
        "(N, C, H, W) 的批 x 之后，它的 running_mean 变成什么？返回形状 (C,) 的新值，不要调用 BatchNorm 本身。",
        lambda: _bn_running_mean,
        lambda a, e: ("新值 = (1 − momentum) × 旧值 + momentum × 这一批的均值；"
                      "每个通道的均值要在批、高、宽三个维度上一起求。"),
        kind="function",
        cases=_bn_cases,
        forbidden=lambda: {"F.batch_norm": F.batch_norm, "torch.batch_norm": torch.batch_norm},
    )
)

