"""From-scratch versions of torch operations, written to be read, used to prove torch's
behaviour in the lessons (slow on purpose: loops over kernel offsets, not im2col)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .shapes import conv_output_size

__all__ = ["conv2d"]


def _pair(name: str, value: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value
    raise ValueError(f"{name}={value!r} must be an int or a pair of ints")


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
    if x.dim() != 4 or weight.dim() != 4:
        raise ValueError(f"x {tuple(x.shape)} and weight {tuple(weight.shape)} must both be 4-D (N, C, H, W)")
    n, c_in, h, w = x.shape
    c_out, c_w, kh, kw = weight.shape
    if c_w != c_in:
        raise ValueError(f"weight expects {c_w} input channels, x has {c_in}")
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"bias shape {tuple(bias.shape)} must be ({c_out},)")
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
