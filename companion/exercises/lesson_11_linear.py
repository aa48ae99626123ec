"""The exercises of lesson 11 (全连接层, notebooks/11_linear.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic, raises
from ..model import DigitRecognizer, conv_maps
from ..params import count_params

__all__ = ["EXERCISES"]

F = nn.functional


def _in_features(size: int) -> int:
    with torch.no_grad():
        return nn.functional.max_pool2d(conv_maps(DigitRecognizer(), torch.zeros(1, 1, size, size)), 2)[0].numel()


def _linear_cases() -> list[tuple[str, tuple]]:
    """Seeded random ``(x, weight, bias)``: odd sizes, a 1-D x, extra batch dimensions, no bias."""
    g = torch.Generator().manual_seed(7)
    shapes = [((2, 3), 4, True), ((5, 7), 3, True), ((7,), 3, True), ((2, 3, 5), 4, True), ((6, 1), 1, True),
              ((4, 5), 3, False), ((2, 2, 3, 6), 5, False)]
    cases = []
    for shape, out, with_bias in shapes:
        x = torch.randn(shape, generator=g)
        weight = torch.randn(out, shape[-1], generator=g)
        bias = torch.randn(out, generator=g) if with_bias else None
        cases.append((f"x 形状 {shape}，weight 形状 {tuple(weight.shape)}，" + ("有偏置" if with_bias else "bias=None"),
                      (x, weight, bias)))
    return cases


def _linear_forbidden() -> dict:
    return {"F.linear": F.linear, "torch.addmm": torch.addmm, "Tensor.addmm": torch.Tensor.addmm,
            "nn.Linear": nn.Linear.forward}


def _linear_hint(answer, expected) -> str:
    return ("第 1 节的 x @ W.T + b 是出发点。再留意两件事：x 的形状可以是 (*, in_features)，"
            "前面有任意多个维度（也可以一个都没有），线性层只作用在最后一维；bias 可以是 None，这时没有偏置可加。")


EXERCISES: list[Exercise] = [
    Exercise(
        "11.params_fc1_512",
        "把 fc1 改成 nn.Linear(9216, 512)，这一层有多少个参数？",
        lambda: count_params(nn.Linear(9216, 512)),
        generic("权重矩阵的形状是 (out_features, in_features)，再给每个输出加一个偏置。"),
    ),
    Exercise(
        "11.in_features_32",
        "输入换成 1×32×32 的图片、卷积和池化都不变，fc1 的 in_features 要改成多少才能接得上？",
        lambda: _in_features(32),
        generic("两次 3×3 卷积各让边长减 2，2×2 池化再减半；最后乘上 64 个通道。"),
    ),
    Exercise(
        "11.params_direct",
        "如果去掉 fc1，直接用一个 nn.Linear 把展平后的 9216 维特征映射到 10 类，这一层有多少个参数（含偏置）？",
        lambda: count_params(nn.Linear(9216, 10)),
        generic("权重是 10 × 9216，偏置每个输出一个。"),
    ),
    Exercise(
        "11.predict_shape",
        "先别运行，预测 nn.Linear(12, 5)(torch.zeros(2, 3, 12)).shape（答一个元组，例如 (1, 2, 3)）。",
        lambda: tuple(nn.Linear(12, 5)(torch.zeros(2, 3, 12)).shape),
        lambda a, e: ("nn.Linear 只看输入的最后一维：它必须等于 in_features，并被换成 out_features；"
                      "前面的维度都当作批维度，原样保留。"),
        kind="shape",
    ),
    Exercise(
        "11.predict_raises",
        "先别运行，预测 nn.Linear(9216, 128)(torch.zeros(1, 64, 12, 12)) 会不会报错"
        "（答 True 表示会报错，False 表示不会）。",
        lambda: raises(nn.Linear(9216, 128), torch.zeros(1, 64, 12, 12)),
        lambda a, e: "nn.Linear 只看输入的最后一维，它必须等于 in_features；想想这个输入在送进 fc1 之前少了哪一步。",
        kind="bool",
    ),
    Exercise(
        "11.linear",
        "写出函数 linear(x, weight, bias)：x 的形状是 (*, in_features)（前面可以有任意多个维度），weight 是 "
        "(out_features, in_features)，bias 是 (out_features,) 或 None。结果与 F.linear(x, weight, bias) 相同。"
        "不许调用 F.linear、torch.addmm 或 nn.Linear。",
        lambda: F.linear,
        _linear_hint,
        kind="function",
        cases=_linear_cases,
        forbidden=_linear_forbidden,
        tolerance=1e-5,
    ),
]
