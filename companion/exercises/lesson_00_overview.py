"""The exercises of lesson 00 (模型总览, notebooks/00_overview.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic, hint_shape
from ..model import DigitRecognizer, features
from ..params import count_params

__all__ = ["EXERCISES"]


def _shape_after_pool() -> tuple[int, ...]:
    return tuple(features(DigitRecognizer(), torch.zeros(1, 1, 28, 28)).shape)


def _fc1_share() -> float:
    model = DigitRecognizer()
    return 100.0 * count_params(model.fc1) / count_params(model)


def _params_fc1_256() -> int:
    model = DigitRecognizer()
    model.fc1 = nn.Linear(9216, 256)
    model.fc2 = nn.Linear(256, 10)
    return count_params(model)


EXERCISES: list[Exercise] = [
    Exercise(
        "00.shape_after_pool",
        "一张 1×1×28×28 的图片经过 conv1→ReLU→conv2→ReLU→max_pool2d(2) 后，形状是什么？（写成元组）",
        _shape_after_pool,
        hint_shape,
        kind="shape",
    ),
    Exercise(
        "00.fc1_share",
        "fc1 的参数占整个模型参数的百分之多少？（保留一位小数，如 12.3）",
        _fc1_share,
        lambda a, e: "fc1 的参数 = 9216×128 + 128；用它除以模型参数总数，再乘 100。",
        kind="float",
        decimals=1,
    ),
    Exercise(
        "00.params_fc1_256",
        "若把 fc1 改成 256 个输出（fc2 相应改成 256→10），模型共有多少参数？",
        _params_fc1_256,
        generic("卷积层不变；fc1 变成 9216×256+256，fc2 变成 256×10+10。"),
    ),
]
