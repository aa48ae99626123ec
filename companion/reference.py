"""From-scratch versions of torch operations, written to be read, used to prove torch's
behaviour in the lessons (slow on purpose: loops over kernel offsets, not im2col)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from . import _validate as v
from .shapes import conv_output_size, pool_output_size

__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "dropout2d", "dropout", "linear", "relu", "log_softmax", "nll_loss"]


def _pair(name: str, value: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in value)
    ):
        return value
    raise v.wrong_type(name, value, "an int or a pair of ints")


def _four_d(name: str, x: torch.Tensor, kind: str, shape: str = "(N, C, H, W)", batch: bool = True) -> torch.Tensor:
    """A 4-D tensor without an empty dimension, but for the batch (the first) when ``batch``."""
    x = v.tensor(name, x, dims=4, shape=shape, kind=kind)
    if 0 in x.shape[1 if batch else 0 :]:
        raise ValueError(f"{name} of shape {tuple(x.shape)}: expected {shape} with no empty dimension"
                         + (" but N" if batch else ""))
    return x


def _generator(generator: torch.Generator | None) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise v.wrong_type("generator", generator, "a torch.Generator or None")
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(f"generator on {generator.device}: expected a CPU generator (the mask is drawn on the CPU)")


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """2-D cross-correlation as ``nn.Conv2d`` computes it (groups=1).

    For every kernel offset (i, j) take the strided window of the padded input that the
    offset sees, and add ``weight[:, :, i, j]`` times it, summed over input channels.
    """
    x = _four_d("x", x, "float")
    weight = _four_d("weight", weight, "float", "(C_out, C_in, kH, kW)", batch=False)
    n, c_in, h, w = x.shape
    c_out, c_w, kh, kw = weight.shape
    if c_w != c_in:
        raise ValueError(f"weight expects {c_w} input channels, x has {c_in}")
    if bias is not None:
        bias = v.tensor("bias", bias, kind="float")
        if tuple(bias.shape) != (c_out,):
            raise ValueError(f"bias of shape {tuple(bias.shape)}: expected ({c_out},), one value per output channel")
    v.same_dtype(x=x, weight=weight, bias=bias)
    sh, sw = _pair("stride", stride)
    ph, pw = _pair("padding", padding)
    dh, dw = _pair("dilation", dilation)
    oh = conv_output_size(h, kh, sh, ph, dh)
    ow = conv_output_size(w, kw, sw, pw, dw)
    xp = F.pad(x, (pw, pw, ph, ph))
    out = torch.zeros(n, c_out, oh, ow, dtype=x.dtype, device=x.device)
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            window = xp[:, :, top : top + sh * (oh - 1) + 1 : sh, left : left + sw * (ow - 1) + 1 : sw]
            # (N, C_in, OH, OW) × (C_out, C_in) summed over C_in → (N, C_out, OH, OW)
            out += torch.einsum("nchw,oc->nohw", window, weight[:, :, i, j])
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out


def _windows(x: torch.Tensor, kernel_size: int, stride: int | None) -> tuple[torch.Tensor, int]:
    """All pooling windows of a (N, C, H, W) tensor of real numbers as (N, C, OH, OW, k*k)."""
    x = _four_d("x", x, "real")
    stride = kernel_size if stride is None else stride
    oh = pool_output_size(x.shape[2], kernel_size, stride)
    ow = pool_output_size(x.shape[3], kernel_size, stride)
    rows = []
    for i in range(oh):
        cols = []
        for j in range(ow):
            r, c = i * stride, j * stride
            cols.append(x[:, :, r : r + kernel_size, c : c + kernel_size].flatten(2))
        rows.append(torch.stack(cols, dim=2))
    return torch.stack(rows, dim=2), stride


def max_pool2d(
    x: torch.Tensor, kernel_size: int, stride: int | None = None, return_indices: bool = False
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Max pooling without padding: the largest value of every kernel_size×kernel_size window.

    With ``return_indices`` also returns, like torch, the flat index (row*W + col) of each
    winner in its input plane.
    """
    v.boolean("return_indices", return_indices)
    win, stride = _windows(x, kernel_size, stride)
    values, pos = win.max(dim=-1)
    if not return_indices:
        return values
    oh, ow = values.shape[-2:]
    base_r = (torch.arange(oh) * stride).view(oh, 1)
    base_c = (torch.arange(ow) * stride).view(1, ow)
    rows = base_r + pos // kernel_size
    cols = base_c + pos % kernel_size
    return values, rows * x.shape[3] + cols


def avg_pool2d(x: torch.Tensor, kernel_size: int, stride: int | None = None) -> torch.Tensor:
    """Average pooling without padding: the mean of every window."""
    v.tensor("x", x, kind="float")  # a mean needs floating point
    win, _ = _windows(x, kernel_size, stride)
    return win.mean(dim=-1)


def _check_p(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise v.wrong_type("p", p, "a probability in [0, 1)")
    if not 0 <= p < 1:
        raise ValueError(f"p={p!r} must be a probability in [0, 1)")
    return float(p)


def dropout2d(
    x: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel dropout on (N, C, H, W): each (sample, channel) plane is zeroed with
    probability ``p``, survivors are multiplied by 1/(1-p). Returns ``(output, keep)``,
    ``keep`` being the (N, C) mask of kept channels."""
    v.tensor("x", x, kind="float")
    _generator(generator)
    p = _check_p(p)
    if x.dim() != 4:
        raise ValueError(f"x 的形状是 {tuple(x.shape)}；通道级 dropout 要求 (N, C, H, W)")
    keep = torch.rand(x.shape[:2], generator=generator) >= p
    return x * keep[:, :, None, None].to(x.dtype) / (1 - p), keep


def dropout(
    x: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Element dropout: every element is zeroed with probability ``p``, survivors scaled by
    1/(1-p). Returns ``(output, keep)`` with ``keep`` shaped like ``x``."""
    p = _check_p(p)
    x = v.tensor("x", x, kind="float")
    _generator(generator)
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep.to(x.dtype) / (1 - p), keep


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """y = x Wᵀ + b written as explicit sums: y[n, o] = Σ_i x[n, i]·W[o, i] + b[o]."""
    x = v.tensor("x", x, dims=2, shape="(N, in_features)", kind="float")
    weight = v.tensor("weight", weight, dims=2, shape="(out_features, in_features)", kind="float")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but weight expects {weight.shape[1]} (in_features)")
    if bias is not None:
        bias = v.tensor("bias", bias, kind="float")
        if tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(f"bias of shape {tuple(bias.shape)}: expected ({weight.shape[0]},), "
                             "one value per output feature")
    v.same_dtype(x=x, weight=weight, bias=bias)
    y = (x[:, None, :] * weight[None, :, :]).sum(dim=-1)
    return y if bias is None else y + bias


def relu(x: torch.Tensor) -> torch.Tensor:
    """逐元素取 max(x, 0)。"""
    return torch.where(x > 0, x, torch.zeros_like(x))


def _relu_arguments(x: torch.Tensor) -> None:
    v.tensor("x", x, kind="real")


relu = v.checked(relu, _relu_arguments)  # lesson 12 prints relu's source: the checks live apart


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log softmax 的稳定写法：x − max − log Σ exp(x − max)。"""
    shifted = x - x.max(dim=dim, keepdim=True).values
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def _log_softmax_arguments(x: torch.Tensor, dim: int = -1) -> torch.Tensor | None:
    """Check the arguments; an empty ``x`` has nothing to normalise: its result is an empty
    tensor of the same shape, as torch's."""
    v.tensor("x", x, kind="float")
    v.integer("dim", dim, -max(x.dim(), 1), max(x.dim(), 1) - 1)
    return x.clone() if x.numel() == 0 else None


log_softmax = v.checked(log_softmax, _log_softmax_arguments)  # lesson 12 prints its source too


def nll_loss(log_probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood: the mean of −log_probs[n, target[n]]. An empty batch gives nan
    (the mean of nothing), as torch's ``F.nll_loss`` does."""
    log_probs = v.tensor("log_probs", log_probs, dims=2, shape="(N, classes)", kind="float")
    target = v.tensor("target", target, dims=1, shape="(N,), one class per row of log_probs", kind="int")
    if log_probs.shape[0] != target.shape[0]:
        raise ValueError(
            f"log_probs {tuple(log_probs.shape)} must be (N, classes) and target {tuple(target.shape)} (N,)"
        )
    if len(target) and (target.min() < 0 or target.max() >= log_probs.shape[1]):
        raise ValueError(f"target from {int(target.min())} to {int(target.max())}: expected classes "
                         f"0..{log_probs.shape[1] - 1}")
    return -log_probs[torch.arange(len(target)), target].mean()
