"""The exercises of lesson 16 (训练之后, notebooks/16_trained.ipynb)."""

from __future__ import annotations

import torch

from ..exercise import Exercise, generic
from ..model import DigitRecognizer, conv_maps, features

__all__ = ["EXERCISES"]


def _unpooled_over_pooled() -> int:
    x = torch.zeros(1, 1, 28, 28)
    with torch.no_grad():
        return conv_maps(DigitRecognizer(), x)[0].numel() // features(DigitRecognizer(), x)[0].numel()


EXERCISES: list[Exercise] = [
    Exercise(
        "16.se_1000",
        "在 1,000 张测试图上测得准确率 97.0%。把每张图看成一次对错的抽样，这个准确率的标准误是多少个百分点？"
        "（保留一位小数）",
        lambda: 100 * (0.97 * 0.03 / 1000) ** 0.5,
        lambda a, e: "标准误 = √(p(1−p)/n)，p 用小数 0.97，n 是测试图的张数；最后乘 100 换成百分点。",
        kind="float",
        decimals=1,
    ),
    Exercise(
        "16.nopool_macs_ratio",
        "去掉最大池化后，fc1 处理一张图的乘加次数是原来的几倍（fc1 的输出仍是 128）？",
        lambda: _unpooled_over_pooled(),
        generic("fc1 的乘加次数 = 输入维数 × 输出维数；比一比池化前后每张图的特征图各有多少个数。"),
    ),
    Exercise(
        "16.overfitting_word",
        "训练损失 0.004、测试损失 0.11，训练准确率 100%、测试准确率 97.6%。"
        "这是“过拟合”还是“欠拟合”？（填这两个词之一）",
        lambda: "过拟合",
        lambda a, e: "欠拟合时训练集上也学不好；这里训练集几乎全对，没见过的图却差一截。",
        kind="choice",
    ),
]
