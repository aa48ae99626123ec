"""The exercises of lesson 02 (nn.Module 之二：搬家、存盘、梯度与钩子, notebooks/02_module_tools.ipynb)."""

from __future__ import annotations

import torch

from ..exercise import Exercise, generic
from ..model import DigitRecognizer

__all__ = ["EXERCISES"]


def _state_bytes(model: torch.nn.Module) -> int:
    """The bytes the tensors of ``model.state_dict()`` hold (elements × bytes per element)."""
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def _linear_weight_grad(x: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """What ``backward()`` leaves in ``weight.grad`` of a linear layer ``y = x Wᵀ + b`` when the
    loss's gradient with respect to ``y`` is ``dy``: autograd computes it."""
    weight = torch.zeros(dy.shape[1], x.shape[1], dtype=x.dtype, requires_grad=True)
    (x @ weight.T).backward(dy)
    return weight.grad


def _weight_grad_cases() -> list[tuple[str, tuple]]:
    """Random inputs and upstream gradients: batches of 1 to 16, widths 1 to 128."""
    g = torch.Generator().manual_seed(2)
    sizes = [(1, 3, 2), (4, 3, 2), (5, 1, 7), (16, 9216 // 64, 128 // 8), (8, 128, 10), (3, 7, 1)]
    return [(f"x 形状 {(n, i)}，dy 形状 {(n, o)}", (torch.randn(n, i, generator=g), torch.randn(n, o, generator=g)))
            for n, i, o in sizes]


EXERCISES: list[Exercise] = [
    Exercise(
        "02.float64_bytes",
        "DigitRecognizer 有 1,199,882 个参数、没有缓冲区。把它 .to(torch.float64) 之后，"
        "state_dict() 里所有张量的数据一共占多少字节？",
        lambda: _state_bytes(DigitRecognizer().to(torch.float64)),
        generic("字节数 = 元素个数 × 每个元素的字节数；float32 每个数 4 字节，float64 每个数 8 字节。"),
    ),
    Exercise(
        "02.grad_fn_plain",
        "先想后跑：print((torch.ones(2) * 2).grad_fn is None) 打印 True 还是 False？",
        lambda: (torch.ones(2) * 2).grad_fn is None,
        lambda a, e: ("只有参与运算的张量里有需要梯度的（requires_grad=True），结果才带 grad_fn；"
                      "torch.ones(2) 需要梯度吗？"),
        kind="bool",
    ),
    Exercise(
        "02.linear_weight_grad",
        "写出函数 linear_weight_grad(x, dy)：全连接层算 y = x Wᵀ + b，x 的形状是 (N, in)，"
        "损失对输出 y 的梯度 dy 的形状是 (N, out)。返回 backward() 之后 weight.grad 里的值（形状 (out, in)）。"
        "不许调用 backward 或 torch.autograd，用矩阵乘法亲手算。",
        lambda: _linear_weight_grad,
        lambda a, e: ("y[n, o] = Σᵢ x[n, i] · W[o, i] + b[o]，所以 ∂loss/∂W[o, i] = Σₙ dy[n, o] · x[n, i]："
                      "对批里的每个样本求和。形状 (out, in) 由 dyᵀ（out × N）乘 x（N × in）得到。"),
        kind="function",
        cases=_weight_grad_cases,
        forbidden=lambda: {"backward()": torch.Tensor.backward, "torch.autograd.backward": torch.autograd.backward,
                           "torch.autograd.grad": torch.autograd.grad},
        tolerance=1e-5,
    ),
]
