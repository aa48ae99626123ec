"""The exercises of lesson 07 (全连接层, notebooks/07_linear.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic
from ..model import DigitRecognizer, conv_maps
from ..params import count_params

__all__ = ["EXERCISES"]


def _in_features(size: int) -> int:
    with torch.no_grad():
        return nn.functional.max_pool2d(conv_maps(DigitRecognizer(), torch.zeros(1, 1, size, size)), 2)[0].numel()


EXERCISES: list[Exercise] = [
    Exercise(
        "07.params_fc1_512",
        "把 fc1 改成 nn.Linear(9216, 512)，这一层有多少个参数？",
        lambda: count_params(nn.Linear(9216, 512)),
        generic("权重矩阵的形状是 (out_features, in_features)，再给每个输出加一个偏置。"),
    ),
    Exercise(
        "07.in_features_32",
        "输入换成 1×32×32 的图片、卷积和池化都不变，fc1 的 in_features 要改成多少才能接得上？",
        lambda: _in_features(32),
        generic("两次 3×3 卷积各让边长减 2，2×2 池化再减半；最后乘上 64 个通道。"),
    ),
    Exercise(
        "07.params_direct",
        "如果去掉 fc1，直接用一个 nn.Linear 把展平后的 9216 维特征映射到 10 类，这一层有多少个参数（含偏置）？",
        lambda: count_params(nn.Linear(9216, 10)),
        generic("权重是 10 × 9216，偏置每个输出一个。"),
    ),
]
