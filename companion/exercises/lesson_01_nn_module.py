"""The exercises of lesson 01 (nn.Module, notebooks/01_nn_module.ipynb)."""

from __future__ import annotations

from torch import nn

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
