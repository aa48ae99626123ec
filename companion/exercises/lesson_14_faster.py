"""The exercises of lesson 14 (更快的训练, notebooks/14_faster.ipynb)."""

from __future__ import annotations

import math

import torch

from ..exercise import Exercise, generic
from ..model import build_model, features

__all__ = ["EXERCISES"]


def _feature_bytes_per_image() -> int:
    f = features(build_model("fixed"), torch.zeros(1, 1, 28, 28))
    return f.numel() * f.element_size()


EXERCISES: list[Exercise] = [
    Exercise(
        "14.feature_cache_mb",
        "第二阶段把每张训练图的特征图存起来。课程样本的 3,500 张训练图，这些特征图（float32）一共占多少 MB？"
        "（1 MB = 10⁶ 字节，四舍五入到整数）",
        lambda: round(3500 * _feature_bytes_per_image() / 1e6),
        generic("每张图的特征图是池化层的输出 64×12×12 个数，float32 每个数 4 字节。"),
    ),
    Exercise(
        "14.steps_per_head_epoch",
        "第二阶段的批大小是 256。课程样本的 3,500 张训练图，第二阶段一轮走多少步（最后一个不满的批次也算一步）？",
        lambda: math.ceil(3500 / 256),
        generic("和第一阶段一样：⌈N/B⌉ 步，N 是图的张数，B 是批大小。"),
    ),
]
