"""The exercises of lesson 12 (激活与输出, notebooks/12_activation.ipynb)."""

from __future__ import annotations

import torch
from torch import nn

from ..exercise import Exercise, generic

__all__ = ["EXERCISES"]

F = nn.functional


def _large_logits() -> torch.Tensor:
    """Logits near 1000: exp of them overflows float32 (its largest value is about 3.4e38)."""
    g = torch.Generator().manual_seed(80)
    return torch.randn(2, 9, generator=g) * 3 + 1000


def _log_softmax_cases() -> list[tuple[str, tuple]]:
    """Seeded random ``(z, dim)``: odd sizes, every dim, large logits where exp overflows."""
    g = torch.Generator().manual_seed(8)
    cases = [(f"z 形状 {shape}，dim={dim}", (torch.randn(shape, generator=g) * 3, dim))
             for shape, dim in [((4, 10), 1), ((1, 3), -1), ((6, 3), 0), ((3, 5, 7), -1), ((3, 5, 7), 1)]]
    cases.append(("z 形状 (2, 9)、数值约为 1000 的大 logits，dim=1", (_large_logits(), 1)))
    cases.append(("z 形状 (2, 9)、数值约为 −1000 的 logits，dim=1", (-_large_logits(), 1)))
    return cases


def _log_softmax_forbidden() -> dict:
    return {"F.log_softmax": F.log_softmax, "torch.log_softmax": torch.log_softmax,
            "Tensor.log_softmax": torch.Tensor.log_softmax, "F.softmax": F.softmax, "torch.softmax": torch.softmax,
            "Tensor.softmax": torch.Tensor.softmax, "torch.logsumexp": torch.logsumexp,
            "Tensor.logsumexp": torch.Tensor.logsumexp, "torch.special.log_softmax": torch.special.log_softmax}


def _log_softmax_hint(answer, expected) -> str:
    def finite(z: torch.Tensor) -> bool:
        try:
            out = answer(z, 1)
        except Exception:  # noqa: BLE001 - the verdict already names the error; the hint only looks for overflow
            return True
        return not isinstance(out, torch.Tensor) or bool(torch.isfinite(out).all())

    if not (finite(_large_logits()) and finite(-_large_logits())):
        return ("在数值约为 ±1000 的 logits 上，你的函数给出了 inf 或 nan：exp(1000) 超出了 float32 能表示的范围"
                "（上溢成 inf，inf / inf 就是 nan），exp(−1000) 则下溢成 0，取对数得 −inf。"
                "回到第 2 节：先做什么，才能让 exp 的自变量都不大于 0、而且最大的那个恰好是 0？")
    return ("第 2 节的稳定写法是出发点：最大值和求和都沿 dim 计算，并保留那一维（keepdim=True），"
            "减法才能广播回原来的形状。")


EXERCISES: list[Exercise] = [
    Exercise(
        "12.ce_uniform",
        "10 个类别的 logits 全部相等（例如全是 0）时，nn.CrossEntropyLoss 的损失是多少？（保留 4 位小数）",
        lambda: nn.functional.cross_entropy(torch.zeros(1, 10), torch.tensor([3])).item(),
        lambda a, e: "logits 全相等时 softmax 给每个类别同样的概率；损失是正确类别概率的负对数（自然对数）。",
        kind="float",
        decimals=4,
    ),
    Exercise(
        "12.predict_nll_logits",
        "先别运行，预测 F.nll_loss(torch.tensor([[0.0, 5.0]]), torch.tensor([1])) 的值"
        "（这是把 logits 直接交给 NLLLoss 的错误搭配；保留一位小数）。",
        lambda: F.nll_loss(torch.tensor([[0.0, 5.0]]), torch.tensor([1])).item(),
        generic("NLLLoss 不做 softmax，也不取对数：它只取出每个样本正确类别那一列的数，加负号，再对样本求平均。"),
        kind="float",
        decimals=1,
    ),
    Exercise(
        "12.underflow_gap",
        "logits 为 [0, g]（float32，g 取整数）时，"
        "torch.log(torch.softmax(logits, 0))[0] 从哪个最小的 g 开始变成 -inf？",
        lambda: next(
            g for g in range(1, 400)
            if torch.isinf(torch.log(torch.softmax(torch.tensor([0.0, float(g)]), 0))[0])
        ),
        generic("softmax 的第 0 项约等于 exp(−g)；float32 最小的次正规数是 2 的 −149 次方，"
                 "比它一半还小的数会被舍入成 0。也可以写个循环直接试。"),
    ),
    Exercise(
        "12.log_softmax",
        "写出函数 log_softmax(z, dim)：沿第 dim 维计算 log softmax，结果与 F.log_softmax(z, dim=dim) 相同，"
        "z 的数值很大（例如 1000 上下）时也要给出有限的正确结果。"
        "不许调用 torch 自己的 log_softmax、softmax 或 logsumexp。",
        lambda: F.log_softmax,
        _log_softmax_hint,
        kind="function",
        cases=_log_softmax_cases,
        forbidden=_log_softmax_forbidden,
        tolerance=1e-5,
    ),
]
