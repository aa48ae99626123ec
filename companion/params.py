"""Parameter counts and multiply-adds per layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from . import _validate as v
from .hooks import run_with_hooks
from .tables import text_table

__all__ = [
    "ParamRow",
    "param_table",
    "count_params",
    "MacRow",
    "macs_table",
    "format_params",
    "format_macs",
]


@dataclass(frozen=True)
class ParamRow:
    """One named parameter tensor."""

    name: str
    shape: tuple[int, ...]
    count: int
    trainable: bool

    def __post_init__(self) -> None:
        v.boolean("trainable", self.trainable)


def param_table(model: nn.Module) -> list[ParamRow]:
    """Every registered parameter of ``model`` with its shape and element count."""
    if not isinstance(model, nn.Module):
        raise v.wrong_type("model", model, "an nn.Module")
    return [
        ParamRow(name, tuple(p.shape), p.numel(), p.requires_grad)
        for name, p in model.named_parameters()
    ]


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Total number of parameter elements (optionally only those with ``requires_grad``)."""
    v.boolean("trainable_only", trainable_only)
    return sum(r.count for r in param_table(model) if r.trainable or not trainable_only)


@dataclass(frozen=True)
class MacRow:
    """Multiply-adds one layer spends on one forward pass of the given input."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    macs: int


def _layer_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = (module.in_channels // module.groups) * kh * kw
        return out.numel() * per_output
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    return 0


def macs_table(model: nn.Module, x: torch.Tensor) -> list[MacRow]:
    """Multiply-adds of each Conv2d and Linear layer for input ``x``, measured with hooks.

    A convolution output element costs ``in_channels/groups * kh * kw`` multiply-adds, a
    linear output element ``in_features``. Bias additions, activations and pooling are
    not counted (they are comparisons or single adds, far fewer). The counts are for the
    whole batch in ``x``; pass one image to get per-image numbers.

    A layer with parameters of another kind (Conv1d, BatchNorm2d, LSTM, …) is not counted
    here, and a total without it would be wrong: such models are a ``ValueError`` naming
    those layers.
    """
    if not isinstance(model, nn.Module):
        raise v.wrong_type("model", model, "an nn.Module")
    counted = (nn.Conv2d, nn.Linear)
    unknown = [
        f"{name} ({type(m).__name__})" for name, m in model.named_modules()
        if not isinstance(m, counted) and any(True for _ in m.parameters(recurse=False))
    ]
    if unknown:
        raise ValueError(f"macs_table counts Conv2d and Linear layers only; {type(model).__name__} also has "
                         f"{', '.join(unknown)}, whose multiply-adds it cannot count")
    rows: list[MacRow] = []

    def make_hook(name: str):
        def hook(module: nn.Module, inputs, output) -> None:
            rows.append(
                MacRow(name, type(module).__name__, tuple(output.shape), _layer_macs(module, inputs[0], output))
            )

        return hook

    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, counted)]
    run_with_hooks(model, x, layers, make_hook)
    return rows


def _share(part: int, total: int) -> str:
    """``part`` as a percentage of ``total``; ``-`` when the total is zero (no share to give)."""
    return f"{100 * part / total:.2f}%" if total else "-"


def _rows(rows, kind: type, maker: str) -> list:
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or not all(isinstance(r, kind) for r in rows):
        raise v.wrong_type("rows", rows, f"a list of {kind.__name__} from {maker}()")
    return list(rows)


def format_params(rows: Sequence[ParamRow]) -> str:
    """Text table of parameters with each tensor's share of the total and a total line
    (Chinese headers, as the lessons print them: 参数, 形状, 个数, 占比, 合计)."""
    rows = _rows(rows, ParamRow, "param_table")
    total = sum(r.count for r in rows)
    body = [[r.name, "×".join(map(str, r.shape)), f"{r.count:,}", _share(r.count, total)] for r in rows]
    body.append(["合计", "", f"{total:,}", _share(total, total)])
    return text_table(["参数", "形状", "个数", "占比"], body, {2, 3})


def format_macs(rows: Sequence[MacRow]) -> str:
    """Text table of multiply-adds per layer with shares and a total line (Chinese headers:
    层, 类型, 输出, 乘加次数, 占比, 合计)."""
    rows = _rows(rows, MacRow, "macs_table")
    total = sum(r.macs for r in rows)
    body = [[r.name, r.kind, "×".join(map(str, r.output_shape)), f"{r.macs:,}", _share(r.macs, total)] for r in rows]
    body.append(["合计", "", "", f"{total:,}", _share(total, total)])
    return text_table(["层", "类型", "输出", "乘加次数", "占比"], body, {3, 4})
