"""Plotting helpers (matplotlib is imported only when this module is)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch

__all__ = [
    "use_chinese_font",
    "show_digit",
    "show_grid",
    "show_filters",
    "show_feature_maps",
    "show_pooling",
    "show_channel_mask",
    "show_panels",
]


CJK_FONT = "Noto Sans CJK SC"


def use_chinese_font() -> str:
    """Let matplotlib draw Chinese labels with Noto Sans CJK SC (shipped by the package
    ``mplfonts``, found without importing it). Returns the font family now in use."""
    import importlib.util
    from pathlib import Path

    from matplotlib import font_manager

    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the Chinese font comes with the package mplfonts, which is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "fonts" / "NotoSansCJKsc-Regular.otf"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed mplfonts")
    if CJK_FONT not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    plt.rcParams["font.sans-serif"] = [CJK_FONT, "DejaVu Sans"]
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["axes.unicode_minus"] = False
    return CJK_FONT


def _grid(n: int, ncols: int | None) -> tuple[int, int]:
    if n < 1:
        raise ValueError(f"n={n} images: need at least one")
    ncols = ncols or min(n, 8)
    if ncols < 1:
        raise ValueError(f"ncols={ncols} must be >= 1")
    return math.ceil(n / ncols), ncols


def show_grid(
    images: torch.Tensor | Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    cmap: str = "gray",
    size: float = 1.3,
    suptitle: str | None = None,
    symmetric: bool = False,
):
    """Draw 2-D images in a grid; returns the figure. ``symmetric`` centres the colour
    scale on zero (for filters with negative weights)."""
    imgs = [torch.as_tensor(im).detach().float().cpu().squeeze() for im in images]
    for i, im in enumerate(imgs):
        if im.dim() != 2:
            raise ValueError(f"image {i} has shape {tuple(im.shape)}; each must be 2-D after squeeze")
    if titles is not None and len(titles) != len(imgs):
        raise ValueError(f"{len(titles)} titles for {len(imgs)} images")
    nrows, ncols = _grid(len(imgs), ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, im) in enumerate(zip(axes.flat, imgs)):
        kw = {}
        if symmetric:
            lim = float(im.abs().max()) or 1.0
            kw = {"vmin": -lim, "vmax": lim}
        ax.imshow(im.numpy(), cmap=cmap, **kw)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_digit(image: torch.Tensor, title: str | None = None, size: float = 2.5):
    """Draw one digit (28×28, or 1×28×28, or 1×1×28×28); returns the figure."""
    im = torch.as_tensor(image).detach().float().cpu().squeeze()
    if im.dim() != 2:
        raise ValueError(f"image has shape {tuple(torch.as_tensor(image).shape)}; expected one 2-D image")
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(im.numpy(), cmap="gray")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def show_filters(weight: torch.Tensor, ncols: int = 8, in_channel: int = 0):
    """Draw the kernels of a Conv2d weight (out, in, k, k) for one input channel."""
    w = torch.as_tensor(weight).detach().cpu()
    if w.dim() != 4:
        raise ValueError(f"weight has shape {tuple(w.shape)}; expected (out, in, kh, kw)")
    if not 0 <= in_channel < w.shape[1]:
        raise ValueError(f"in_channel={in_channel} must be in 0..{w.shape[1] - 1}")
    return show_grid(
        [k[in_channel] for k in w], titles=[f"#{i}" for i in range(w.shape[0])], ncols=ncols, cmap="bwr", symmetric=True
    )


def show_feature_maps(
    maps: torch.Tensor, ncols: int | None = None, limit: int | None = None, suptitle: str | None = None
):
    """Draw the channels of one feature map (C, H, W) or (1, C, H, W)."""
    m = torch.as_tensor(maps).detach().cpu()
    if m.dim() == 4 and m.shape[0] == 1:
        m = m[0]
    if m.dim() != 3:
        raise ValueError(f"maps has shape {tuple(torch.as_tensor(maps).shape)}; expected (C, H, W) or (1, C, H, W)")
    if limit is not None:
        m = m[:limit]
    return show_grid(
        list(m), titles=[f"ch {i}" for i in range(m.shape[0])], ncols=ncols, cmap="viridis", suptitle=suptitle
    )


def show_pooling(x: torch.Tensor, kernel_size: int = 2, title: str | None = None):
    """Draw a small 2-D input with its numbers, each pooling window outlined and its
    maximum circled, next to the max-pooled result."""
    from matplotlib.patches import Rectangle

    from .reference import max_pool2d

    grid = torch.as_tensor(x).detach().float().cpu().squeeze()
    if grid.dim() != 2 or max(grid.shape) > 16:
        raise ValueError(f"x has shape {tuple(torch.as_tensor(x).shape)}; expected one 2-D input up to 16×16")
    pooled, idx = max_pool2d(grid[None, None], kernel_size, return_indices=True)
    pooled, idx = pooled[0, 0], idx[0, 0]
    h, w = grid.shape
    fig, (a, b) = plt.subplots(1, 2, figsize=(0.55 * (w + pooled.shape[1]) + 1.6, 0.55 * h + 0.6),
                               gridspec_kw={"width_ratios": [w, pooled.shape[1]]})
    a.imshow(grid.numpy(), cmap="Blues")
    b.imshow(pooled.numpy(), cmap="Blues", vmin=float(grid.min()), vmax=float(grid.max()))
    for r in range(h):
        for c in range(w):
            a.text(c, r, f"{grid[r, c].item():g}", ha="center", va="center", fontsize=9)
    for i in range(pooled.shape[0]):
        for j in range(pooled.shape[1]):
            a.add_patch(Rectangle((j * kernel_size - 0.5, i * kernel_size - 0.5), kernel_size, kernel_size,
                                  fill=False, lw=2, ec="black"))
            r, c = divmod(int(idx[i, j]), w)
            a.add_patch(plt.Circle((c, r), 0.38, fill=False, lw=2, ec="crimson"))
            b.text(j, i, f"{pooled[i, j].item():g}", ha="center", va="center", fontsize=10, color="crimson")
    for ax, t in ((a, "输入（红圈：每个窗口的最大值）"), (b, "max_pool2d")):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(t, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_channel_mask(keep: torch.Tensor, title: str | None = None, columns: str = "通道", colorbar: bool = False):
    """Draw a (samples, columns) keep-mask of dropout: dark = dropped. ``columns`` names what
    the columns are (channels for ``Dropout2d`` on feature maps, elements on a flat tensor).
    The scale is always 0 (dropped) to 1 (kept); ``colorbar`` adds a bar that says so."""
    m = torch.as_tensor(keep).detach().cpu()
    if m.dim() != 2:
        raise ValueError(f"keep has shape {tuple(m.shape)}; expected (N, C)")
    fig, ax = plt.subplots(figsize=(min(0.3 * m.shape[1] + 1.2, 12) + (1.0 if colorbar else 0.0),
                                    min(0.3 * m.shape[0] + 0.8, 8)))
    shown = ax.imshow(m.float().numpy(), cmap="gray", vmin=0, vmax=1)
    if colorbar:
        from mpl_toolkits.axes_grid1 import make_axes_locatable

        cax = make_axes_locatable(ax).append_axes("right", size=0.15, pad=0.1)  # as tall as the mask
        bar = fig.colorbar(shown, cax=cax, ticks=[0, 1])
        bar.ax.set_yticklabels(["0 丢弃", "1 保留"])
    ax.set_xlabel(columns)
    ax.set_ylabel("样本")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def show_panels(
    images: torch.Tensor | Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    cmap: str = "viridis",
    size: float = 2.3,
    label: str | None = None,
    symmetric: bool = False,
    suptitle: str | None = None,
):
    """Draw 2-D images side by side on one shared colour scale with one colorbar, so that
    brightness means the same value in every panel; returns the figure. ``label`` names the
    colorbar; ``symmetric`` centres the scale on zero; NaN cells are left blank and do not count
    towards the scale."""
    imgs = [torch.as_tensor(im).detach().float().cpu().squeeze() for im in images]
    if not imgs:
        raise ValueError("images is empty: need at least one 2-D image")
    for i, im in enumerate(imgs):
        if im.dim() != 2:
            raise ValueError(f"image {i} has shape {tuple(im.shape)}; each must be 2-D after squeeze")
    if titles is not None and len(titles) != len(imgs):
        raise ValueError(f"{len(titles)} titles for {len(imgs)} images")
    if size <= 0:
        raise ValueError(f"size={size} must be > 0")
    finite = [im[torch.isfinite(im)] for im in imgs]  # NaN cells (e.g. gaps between tiles) stay blank
    lo = min((float(v.min()) for v in finite if v.numel()), default=0.0)
    hi = max((float(v.max()) for v in finite if v.numel()), default=0.0)
    if symmetric:
        hi = max(abs(lo), abs(hi)) or 1.0
        lo = -hi
    elif hi == lo:
        hi = lo + 1.0
    aspect = max(im.shape[0] / im.shape[1] for im in imgs)  # keep wide panels from leaving blank bands
    fig, axes = plt.subplots(1, len(imgs), squeeze=False,
                             figsize=(size * len(imgs) + 0.9, size * aspect + (0.9 if suptitle else 0.6)))
    shown = None
    for i, (ax, im) in enumerate(zip(axes[0], imgs)):
        shown = ax.imshow(im.numpy(), cmap=cmap, vmin=lo, vmax=hi)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    bar = fig.colorbar(shown, ax=list(axes[0]), fraction=0.04, pad=0.03)
    if label:
        bar.set_label(label)
    if suptitle:
        fig.suptitle(suptitle)
    return fig
