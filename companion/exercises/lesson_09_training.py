"""The exercises of lesson 09 (训练, notebooks/09_training.ipynb)."""

from __future__ import annotations

import torch

from ..exercise import Exercise, generic
from ..model import build_model, features

__all__ = ["EXERCISES"]


def _feature_bytes_per_image() -> int:
    f = features(build_model("fixed"), torch.zeros(1, 1, 28, 28))
    return f.numel() * f.element_size()


EXERCISES: list[Exercise] = [
    Exercise(
        "09.steps_per_epoch",
        "用 3,500 张训练图、batch_size=128 训练一轮（最后一个不满的批次也算一步），优化器一共走多少步？",
        lambda: len(torch.arange(3500).split(128)),
        generic("每一步处理一个批次；3500 除以 128 除不尽时，剩下的图单独组成最后一批。"),
    ),
    Exercise(
        "09.min_smoothed_loss",
        "label_smoothing=0.1、10 个类别时，若网络的预测分布恰好等于平滑后的目标分布，"
        "交叉熵损失是多少？（保留两位小数）",
        lambda: torch.nn.functional.cross_entropy(
            torch.tensor([[0.91] + [0.01] * 9]).log(), torch.tensor([0]), label_smoothing=0.1
        ).item(),
        lambda a, e: "平滑后正确类别的目标概率是 1 − ε + ε/K，其余每类 ε/K；预测等于目标时，"
        "损失就是目标分布的熵 −Σ q·ln q。",
        kind="float",
        decimals=2,
    ),
    Exercise(
        "09.state_dict_tensors",
        "保存的检查点里，state_dict 一共有多少个张量？",
        lambda: len(build_model("fixed").state_dict()),
        generic("只有 Conv2d 和 Linear 有参数，每层一个 weight、一个 bias；Dropout 没有参数，也没有缓冲区。"),
    ),
    Exercise(
        "09.feature_cache_mb",
        "第二阶段把每张训练图的特征图存起来。课程样本的 3,500 张训练图，这些特征图（float32）一共占多少 MB？"
        "（1 MB = 10⁶ 字节，四舍五入到整数）",
        lambda: round(3500 * _feature_bytes_per_image() / 1e6),
        generic("每张图的特征图是池化层的输出 64×12×12 个数，float32 每个数 4 字节。"),
    ),
]
