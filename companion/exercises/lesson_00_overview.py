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


def _print_lists_pool() -> bool:
    return "pool" in repr(DigitRecognizer()).lower()


def _forward_cases() -> list[tuple[str, tuple]]:
    """Untrained networks of three seeds in eval mode (dropout off), batches of 1, 3 and 5 digits."""
    g = torch.Generator().manual_seed(0)
    cases = []
    for seed, n in [(0, 1), (1, 3), (2, 5)]:
        torch.manual_seed(seed)
        model = DigitRecognizer().eval()
        cases.append((f"种子 {seed} 的网络，{n} 张图", (model, torch.randn(n, 1, 28, 28, generator=g))))
    return cases


def _reference_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x)


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
    Exercise(
        "00.print_lists_pool",
        "先想后跑：print(model) 打印出来的结构里，会不会出现最大池化（max_pool2d / MaxPool2d）这一步？"
        "（True 或 False）",
        _print_lists_pool,
        lambda a, e: "print(model) 只列出 __init__ 里登记的子模块；回头看 forward 里哪些步骤是直接调用的函数。",
        kind="bool",
    ),
    Exercise(
        "00.forward",
        "写出 forward(model, x)：不调用 model(x)，而是按数据流图的顺序亲手调用 model 的各层和函数式操作，"
        "返回与 model(x) 相同的 (N, 10) 对数概率。",
        lambda: _reference_forward,
        lambda a, e: ("对照数据流图逐步写：登记的层用 model.名字(x) 调用，函数式的步骤用 F.relu、F.max_pool2d、"
                      "torch.flatten、F.log_softmax；展平时保留批维度，log_softmax 作用在最后一维的 10 个数上。"),
        kind="function",
        cases=_forward_cases,
        forbidden=lambda: {"model(x)（即 DigitRecognizer.forward）": DigitRecognizer.forward},
    ),
]
