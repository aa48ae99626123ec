"""How much a representation of a digit changes when the digit is shifted, rotated, scaled or
noised: the pixels, the feature maps before pooling, after max pooling and, as the control,
after average pooling (lesson 08's experiment, reused by lesson 16 and the claims ledger).

A change is measured per image as ``‖new − old‖ / ‖old‖`` (and as a cosine similarity), then
averaged over the images and over a transform's directions. Shifts fill with zeros; rotations
and scalings resample bilinearly about the centre, also filling with zeros.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate as v
from .mnist import normalize
from .model import check_images, check_network, conv_maps

__all__ = ["shift", "warp", "TRANSFORMS", "views", "compare", "measure"]

Transform = Callable[[torch.Tensor], torch.Tensor]


def shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """把图片向右平移 ``dx`` 个像素、向下平移 ``dy`` 个像素，移入的部分补 0（先填充，再裁剪）。"""
    p = max(abs(dx), abs(dy))
    h, w = x.shape[-2:]
    xp = F.pad(x, (p, p, p, p))
    return xp[..., p - dy : p - dy + h, p - dx : p - dx + w]


def _shift_arguments(x: torch.Tensor, dx: int, dy: int) -> None:
    v.tensor("x", x, dims=(2, 3, 4), shape="(H, W), (C, H, W) or (N, C, H, W) images", kind="real")
    v.integer("dx", dx)
    v.integer("dy", dy)


shift = v.checked(shift, _shift_arguments)  # lesson 08 prints shift's source: the checks live apart


def warp(x: torch.Tensor, angle: float = 0.0, zoom: float = 1.0) -> torch.Tensor:
    """Rotate images ``angle`` degrees counter-clockwise about their centre and magnify them
    ``zoom`` times (affine grid, bilinear, zeros outside)."""
    v.tensor("x", x, dims=4, shape="(N, C, H, W) images", kind="float")
    v.number("angle", angle)
    v.number("zoom", zoom, 0, low_open=True)
    a = math.radians(angle)
    # affine_grid maps output positions to input positions (normalised, y down): the inverse
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]]) / zoom
    grid = F.affine_grid(theta.expand(len(x), 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _noise(x: torch.Tensor) -> torch.Tensor:
    return (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)


_DIRECTIONS = [(1, 0), (0, 1)]  # right, down
#: the transforms of lesson 08, each with the directions it is averaged over
TRANSFORMS: dict[str, list[Transform]] = {
    "平移 1 px": [lambda x, d=d: shift(x, *d) for d in _DIRECTIONS],
    "平移 2 px": [lambda x, d=d: shift(x, 2 * d[0], 2 * d[1]) for d in _DIRECTIONS],
    "旋转 5°": [lambda x: warp(x, angle=5)],
    "旋转 10°": [lambda x: warp(x, angle=10)],
    "旋转 15°": [lambda x: warp(x, angle=15)],
    "缩放 0.9": [lambda x: warp(x, zoom=0.9)],
    "缩放 1.1": [lambda x: warp(x, zoom=1.1)],
    "噪声 0.1": [_noise],
}


@torch.no_grad()
def views(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Four representations of images ``x`` (in [0, 1]): the pixels, conv2+ReLU's maps before
    pooling (of the normalised images), after 2×2 max pooling, after 2×2 average pooling."""
    check_network(model, ("conv1", "conv2"))
    check_images(x, " in [0, 1]", name="x")
    device = next(model.parameters()).device
    h = conv_maps(model, normalize(x).to(device))
    return {"像素": x.to(device), "池化前": h, "最大池化": F.max_pool2d(h, 2), "平均池化": F.avg_pool2d(h, 2)}


def compare(new: torch.Tensor, old: torch.Tensor) -> tuple[float, float]:
    """Per-image relative change ``‖new − old‖/‖old‖`` and cosine similarity, each averaged."""
    v.tensor("new", new, kind="float")
    v.tensor("old", old, kind="float")
    if new.shape != old.shape or new.dim() < 2 or len(new) == 0:
        raise ValueError(f"new {tuple(new.shape)} and old {tuple(old.shape)} must have the same shape (N, …) "
                         "with at least one image")
    new, old = new.flatten(1), old.flatten(1)
    n_old = old.norm(dim=1)
    rel = (new - old).norm(dim=1) / n_old
    cos = (new * old).sum(dim=1) / (new.norm(dim=1) * n_old)
    return rel.mean().item(), cos.mean().item()


def measure(model: nn.Module, x: torch.Tensor, transforms: dict[str, list[Transform]] | None = None,
            ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """For each transform (averaged over its directions): the mean relative change and the mean
    cosine similarity of each representation in ``views``. Returns ``(rel, cos)``, each
    ``{transform: {representation: value}}``. The model is used in eval mode, as it is."""
    transforms = TRANSFORMS if transforms is None else transforms
    if not isinstance(transforms, dict) or not all(
            isinstance(name, str) and isinstance(fs, (list, tuple)) and fs and all(callable(f) for f in fs)
            for name, fs in transforms.items()):
        raise v.wrong_type("transforms", transforms, "a dict of name → non-empty list of functions, like TRANSFORMS")
    check_network(model, ("conv1", "conv2"))
    check_images(x, " in [0, 1]", name="x")
    was_training = model.training
    model.eval()
    try:
        base = views(model, x)
        rel = {name: dict.fromkeys(base, 0.0) for name in transforms}
        cos = {name: dict.fromkeys(base, 0.0) for name in transforms}
        for name, fs in transforms.items():
            for f in fs:
                moved = views(model, f(x))
                for k in base:
                    r, c = compare(moved[k], base[k])
                    rel[name][k] += r / len(fs)
                    cos[name][k] += c / len(fs)
    finally:
        model.train(was_training)
    return rel, cos
