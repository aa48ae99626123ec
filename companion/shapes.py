"""Output-size formulas for convolution and pooling, and shape tracing with hooks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import _validate as v
from .hooks import run_with_hooks
from .tables import text_table

__all__ = [
    "conv_output_size",
    "pool_output_size",
    "same_padding",
    "receptive_field",
    "adaptive_windows",
    "window_cells",
    "LayerShape",
    "trace_shapes",
    "trace_flow",
    "format_trace",
]


def _check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` if it is an integer >= ``minimum`` (``companion._validate.integer``)."""
    return v.integer(name, value, minimum)


def conv_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int | str = 0,
    dilation: int = 1,
) -> int:
    """Length of one spatial axis after ``nn.Conv2d``.

    ``floor((size + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1``.
    ``padding`` may be an int, ``'valid'`` (0) or ``'same'`` (output = input; torch
    allows it only with ``stride=1``).
    """
    _check_int("size", size, 1)
    _check_int("kernel_size", kernel_size, 1)
    _check_int("stride", stride, 1)
    _check_int("dilation", dilation, 1)
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if stride != 1:
                raise ValueError(f"padding='same' 要求 stride=1，这里 stride={stride}")
            return size
        else:
            raise ValueError(f"padding={padding!r} 应当是 >= 0 的整数、'valid' 或 'same'")
    _check_int("padding", padding, 0)
    span = dilation * (kernel_size - 1) + 1
    if span > size + 2 * padding:
        raise ValueError(
            f"kernel_size={kernel_size}（dilation={dilation}，跨度 {span}）大于填充后的输入 "
            f"{size}+2*{padding}={size + 2 * padding}；规则是 dilation*(kernel_size-1)+1 <= size+2*padding"
        )
    return (size + 2 * padding - span) // stride + 1


def pool_output_size(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Length of one spatial axis after ``max_pool2d`` / ``avg_pool2d``.

    ``stride`` defaults to ``kernel_size`` as in torch. ``padding`` may be at most half
    the kernel. With ``ceil_mode`` the division rounds up, but a window may not start
    in the right padding (torch's rule); then even a window longer than the padded input
    gives one output, as long as it starts inside.
    """
    _check_int("size", size, 1)
    _check_int("kernel_size", kernel_size, 1)
    stride = kernel_size if stride is None else _check_int("stride", stride, 1)
    _check_int("padding", padding, 0)
    _check_int("dilation", dilation, 1)
    v.boolean("ceil_mode", ceil_mode)
    if 2 * padding > kernel_size:
        raise ValueError(
            f"padding={padding} 超过了 kernel_size={kernel_size} 的一半（池化要求 2*padding <= kernel_size）"
        )
    span = dilation * (kernel_size - 1) + 1
    num = size + 2 * padding - span
    out = (-(-num // stride) if ceil_mode else num // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    if out < 1:  # with ceil_mode, one window that overhangs a short input still counts (torch's rule)
        raise ValueError(
            f"kernel_size={kernel_size}（dilation={dilation}，跨度 {span}）大于填充后的输入 "
            f"{size}+2*{padding}={size + 2 * padding}"
            + ("，ceil_mode 也放不下一个窗口" if ceil_mode else "")
        )
    return out


def same_padding(kernel_size: int) -> int:
    """The note's rule ``(kernel_size - 1) // 2``; keeps the size only for odd kernels, stride 1."""
    _check_int("kernel_size", kernel_size, 1)
    return (kernel_size - 1) // 2


def receptive_field(layers: Sequence[tuple[int, int]]) -> list[int]:
    """Receptive field after each layer of a stack of ``(kernel_size, stride)`` layers
    (convolutions or poolings, dilation 1): r ← r + (k − 1)·j, j ← j·s, from r = j = 1."""
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise v.wrong_type("layers", layers, "a list of (kernel_size, stride) pairs, e.g. [(3, 1), (2, 2)]")
    r, j, out = 1, 1, []
    for i, layer in enumerate(layers):
        if not (isinstance(layer, tuple) and len(layer) == 2):
            raise v.wrong_type(f"layers[{i}]", layer, "a (kernel_size, stride) pair")
        k = _check_int(f"layers[{i}] kernel_size", layer[0], 1)
        s = _check_int(f"layers[{i}] stride", layer[1], 1)
        r += (k - 1) * j
        j *= s
        out.append(r)
    return out


def adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` windows of adaptive pooling from ``size`` to ``out`` positions:
    window ``i`` runs from ``floor(i·size/out)`` to ``ceil((i+1)·size/out)``, torch's rule, so
    the windows cover every position and neighbours may overlap when ``out`` does not divide
    ``size``."""
    _check_int("size", size, 1)
    _check_int("out", out, 1)
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def window_cells(
    row: int, col: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> list[tuple[int, int]]:
    """The input cells that output cell ``(row, col)`` of a convolution or pooling reads, in
    the order of the kernel's taps (row-major), as ``(row, col)`` of the *unpadded* input:
    a padding cell has a coordinate below 0 or past the input's last row or column.

    Tap ``(a, b)`` reads ``(row·stride − padding + a·dilation, col·stride − padding + b·dilation)``.
    """
    _check_int("row", row, 0)
    _check_int("col", col, 0)
    _check_int("kernel_size", kernel_size, 1)
    _check_int("stride", stride, 1)
    _check_int("padding", padding, 0)
    _check_int("dilation", dilation, 1)
    top, left = row * stride - padding, col * stride - padding
    return [(top + a * dilation, left + b * dilation) for a in range(kernel_size) for b in range(kernel_size)]


@dataclass(frozen=True)
class LayerShape:
    """One row of a shape trace."""

    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int


def _shape(obj: Any) -> tuple[int, ...]:
    if isinstance(obj, torch.Tensor):
        return tuple(obj.shape)
    if isinstance(obj, (tuple, list)) and obj and isinstance(obj[0], torch.Tensor):
        return tuple(obj[0].shape)
    return ()


def trace_shapes(model: nn.Module, x: torch.Tensor) -> list[LayerShape]:
    """Run ``model(x)`` once with forward hooks on every leaf module and return, in call
    order, each layer's input and output shape and its own parameter count.

    Measured in eval mode without gradients; the hooks are removed and the model's mode is
    put back afterwards, also when the forward pass raises (see ``companion.hooks``).
    """
    rows: list[LayerShape] = []

    def make_hook(name: str):
        def hook(module: nn.Module, inputs: Sequence[Any], output: Any) -> None:
            rows.append(
                LayerShape(
                    name=name,
                    kind=type(module).__name__,
                    input_shape=_shape(inputs),
                    output_shape=_shape(output),
                    params=sum(p.numel() for p in module.parameters(recurse=False)),
                )
            )

        return hook

    leaves = [(n, m) for n, m in model.named_modules() if n and not any(True for _ in m.children())] \
        if isinstance(model, nn.Module) else []
    run_with_hooks(model, x, leaves, make_hook)
    return rows


def trace_flow(model: nn.Module, x: torch.Tensor) -> list[LayerShape]:
    """Every operation of ``model``'s forward pass in order, the functional ones too
    (``relu``, ``max_pool2d``, ``flatten``, …, which forward hooks cannot see), each with its
    input and output shape and its own parameter count. The first row is the input itself.

    The forward pass is recorded with ``torch.fx`` and run once on ``x`` (eval mode, no
    gradients; the mode is put back). A model fx cannot trace, or one that fails on ``x``, is
    a ``ValueError``.
    """
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp

    if not isinstance(model, nn.Module):
        raise v.wrong_type("model", model, "an nn.Module")
    v.tensor("x", x)
    try:
        graph = fx.symbolic_trace(model)
    except Exception as exc:  # fx raises several types for code it cannot follow
        raise ValueError(f"{type(model).__name__} cannot be traced by torch.fx: {exc}") from None
    was_training = model.training
    try:
        model.eval()
        graph.eval()
        with torch.no_grad():
            ShapeProp(graph).propagate(x)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{type(model).__name__} cannot run on x of shape {tuple(x.shape)} ({first})") from None
    finally:
        model.train(was_training)

    def shape_of(node: Any) -> tuple[int, ...]:
        meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
        return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else ()

    rows = []
    for node in graph.graph.nodes:
        if node.op == "output":
            continue
        if node.op == "placeholder":
            rows.append(LayerShape(node.name, "input", shape_of(node), shape_of(node), 0))
            continue
        if node.op == "call_module":
            module = graph.get_submodule(node.target)
            kind = type(module).__name__
            params = sum(p.numel() for p in module.parameters())
        else:  # call_function, call_method: relu_1 → relu
            kind, params = re.sub(r"_\d+$", "", node.name), 0
        first = next((a for a in node.args if isinstance(a, fx.Node)), None)
        name = node.target if node.op == "call_module" else node.name  # a module's path, e.g. "0" in a Sequential
        rows.append(LayerShape(name, kind, shape_of(first), shape_of(node), params))
    return rows


def format_trace(rows: Sequence[LayerShape]) -> str:
    """Plain-text table of a trace (stable text, good for notebooks and tests), with the
    lessons' Chinese headers: 层, 类型, 输入, 输出, 参数量."""
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or \
            not all(isinstance(r, LayerShape) for r in rows):
        raise v.wrong_type("rows", rows, "a list of LayerShape from trace_shapes() or trace_flow()")
    head = ("层", "类型", "输入", "输出", "参数量")
    body = [
        (r.name, r.kind, "×".join(map(str, r.input_shape)), "×".join(map(str, r.output_shape)), f"{r.params:,}")
        for r in rows
    ]
    return text_table(head, body)
