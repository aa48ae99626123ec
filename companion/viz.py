"""Plotting helpers (matplotlib is imported only when this module is)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch

from . import _validate as v

__all__ = [
    "use_chinese_font",
    "show_digit",
    "show_grid",
    "show_filters",
    "mosaic",
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
        raise ValueError("images holds no image: pass at least one")
    ncols = min(n, 8) if ncols is None else v.integer("ncols", ncols, 1)
    return math.ceil(n / ncols), ncols


_IMAGE = "a torch.Tensor or a numpy array of numbers"


def _image(name: str, value) -> torch.Tensor:
    """One picture's numbers as a float tensor on the CPU (from a tensor, array or list)."""
    t = v.array_like(name, value, _IMAGE + " (an image file is read with PIL or companion.predict)")
    if t.dtype.is_complex:
        raise ValueError(f"{name} of dtype {t.dtype}: expected real numbers")
    return t.detach().float().cpu()


def _size(size: float) -> float:
    """A figure size in inches: a positive number up to 50."""
    return v.number("size", size, 0, 50, low_open=True)


def _cmap(cmap: str) -> str:
    """A colormap's name (or a matplotlib ``Colormap``)."""
    import matplotlib

    if isinstance(cmap, matplotlib.colors.Colormap):
        return cmap
    if not isinstance(cmap, str):
        raise v.wrong_type("cmap", cmap, "the name of a matplotlib colormap (e.g. 'gray')")
    if cmap not in matplotlib.colormaps:
        raise ValueError(f"cmap={cmap!r} is not one of matplotlib's colormaps (e.g. 'gray', 'bwr', 'viridis')")
    return cmap


def show_grid(
    images: torch.Tensor | Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    cmap: str = "gray",
    size: float = 1.3,
    suptitle: str | None = None,
    symmetric: bool = False,
    shared: bool = False,
    colorbar: bool = False,
):
    """Draw 2-D images in a grid; returns the figure. ``symmetric`` centres the colour
    scale on zero (for filters with negative weights). By default each panel is scaled to
    its own values; ``shared=True`` gives all panels one colour scale (symmetric: ±the
    largest absolute value of all; else the smallest to the largest value of all), so that
    their colours can be compared, and ``colorbar=True`` labels that scale with one colorbar."""
    if not isinstance(images, (torch.Tensor, list, tuple)) and type(images).__module__.split(".")[0] != "numpy":
        raise v.wrong_type("images", images, "a tensor of images or a list of 2-D images")
    imgs = [_image(f"images[{i}]", im).squeeze() for i, im in enumerate(images)]
    for i, im in enumerate(imgs):
        if im.dim() != 2:
            raise ValueError(f"image {i} has shape {tuple(im.shape)}; each must be 2-D after squeeze")
    if titles is not None:
        if isinstance(titles, str) or not isinstance(titles, (list, tuple)):
            raise v.wrong_type("titles", titles, "a list of str, one per image, or None")
        if len(titles) != len(imgs):
            raise ValueError(f"{len(titles)} titles for {len(imgs)} images")
    _cmap(cmap)
    size = _size(size)
    v.text("suptitle", suptitle, optional=True)
    v.boolean("symmetric", symmetric)
    v.boolean("shared", shared)
    v.boolean("colorbar", colorbar)
    if colorbar and not shared:
        raise ValueError("colorbar=True needs shared=True: one colorbar can only label one colour scale")
    scale = _shared_scale(imgs, symmetric) if shared else None
    nrows, ncols = _grid(len(imgs), ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, im) in enumerate(zip(axes.flat, imgs)):
        kw = {}
        if scale is not None:
            kw = {"vmin": scale[0], "vmax": scale[1]}
        elif symmetric:
            lim = float(im.abs().max()) or 1.0
            kw = {"vmin": -lim, "vmax": lim}
        shown = ax.imshow(im.numpy(), cmap=cmap, **kw)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    if colorbar:
        _side_colorbar(fig, shown)
    return fig


def _shared_scale(imgs: Sequence[torch.Tensor], symmetric: bool) -> tuple[float, float]:
    """One (vmin, vmax) for all of ``imgs`` (NaN ignored): ±max|v| when ``symmetric``."""
    values = torch.cat([im.flatten() for im in imgs])
    values = values[~torch.isnan(values)]
    if values.numel() == 0:
        return (-1.0, 1.0) if symmetric else (0.0, 1.0)
    if symmetric:
        lim = float(values.abs().max()) or 1.0
        return -lim, lim
    low, high = float(values.min()), float(values.max())
    return (low, high) if high > low else (low, low + 1.0)


def _side_colorbar(fig, mappable) -> None:
    """One colorbar at the right edge of ``fig`` for ``mappable``'s colour scale
    (drawn after ``tight_layout``, in room made for it)."""
    fig.subplots_adjust(right=0.9)
    top, bottom = fig.subplotpars.top, fig.subplotpars.bottom
    cax = fig.add_axes((0.92, bottom, 0.015, top - bottom))
    fig.colorbar(mappable, cax=cax)


def show_digit(image: torch.Tensor, title: str | None = None, size: float = 2.5):
    """Draw one digit (28×28, or 1×28×28, or 1×1×28×28); returns the figure."""
    im = _image("image", image).squeeze()
    if im.dim() != 2:
        raise ValueError(f"image has shape {tuple(torch.as_tensor(image).shape)}; expected one 2-D image")
    v.text("title", title, optional=True)
    size = _size(size)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(im.numpy(), cmap="gray")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def show_filters(weight: torch.Tensor, ncols: int = 8, in_channel: int = 0, shared: bool = False,
                 colorbar: bool = False):
    """Draw the kernels of a Conv2d weight (out, in, k, k) for one input channel (red
    positive, blue negative). ``shared`` and ``colorbar`` as in ``show_grid``: one colour
    scale for all kernels, labelled."""
    w = _image("weight", weight)
    if w.dim() != 4:
        raise ValueError(f"weight has shape {tuple(w.shape)}; expected (out, in, kh, kw)")
    v.integer("ncols", ncols, 1)
    v.integer("in_channel", in_channel)
    if not 0 <= in_channel < w.shape[1]:
        raise ValueError(f"in_channel={in_channel} must be in 0..{w.shape[1] - 1}")
    return show_grid(
        [k[in_channel] for k in w], titles=[f"#{i}" for i in range(w.shape[0])], ncols=ncols, cmap="bwr",
        symmetric=True, shared=shared, colorbar=colorbar,
    )


def mosaic(maps: torch.Tensor, ncols: int) -> torch.Tensor:
    """The channels of ``maps`` (C, H, W) tiled into one 2-D tensor, ``ncols`` to a row, with a
    one-pixel gap of NaN between them (drawn blank by ``imshow``). The values are kept as they
    are, so one colour scale fits every tile."""
    m = torch.as_tensor(maps).detach().float().cpu()
    if m.dim() != 3:
        raise ValueError(f"maps has shape {tuple(m.shape)}; expected (C, H, W)")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols={ncols!r} must be an integer >= 1")
    c, h, w = m.shape
    nrows = math.ceil(c / ncols)
    canvas = torch.full((nrows * (h + 1) - 1, min(c, ncols) * (w + 1) - 1), float("nan"))
    for k in range(c):
        r, q = divmod(k, ncols)
        canvas[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = m[k]
    return canvas


def show_feature_maps(
    maps: torch.Tensor, ncols: int | None = None, limit: int | None = None, suptitle: str | None = None
):
    """Draw the channels of one feature map (C, H, W) or (1, C, H, W)."""
    m = _image("maps", maps)
    if m.dim() == 4 and m.shape[0] == 1:
        m = m[0]
    if m.dim() != 3:
        raise ValueError(f"maps has shape {tuple(torch.as_tensor(maps).shape)}; expected (C, H, W) or (1, C, H, W)")
    if limit is not None:
        m = m[: v.integer("limit", limit, 1)]
    return show_grid(
        list(m), titles=[f"通道 {i}" for i in range(m.shape[0])], ncols=ncols, cmap="viridis", suptitle=suptitle
    )


def show_pooling(x: torch.Tensor, kernel_size: int = 2, title: str | None = None):
    """Draw a small 2-D input with its numbers, each pooling window outlined and its
    maximum circled, next to the max-pooled result."""
    from matplotlib.patches import Rectangle

    from .reference import max_pool2d

    grid = _image("x", x).squeeze()
    if grid.dim() != 2 or max(grid.shape) > 16:
        raise ValueError(f"x has shape {tuple(torch.as_tensor(x).shape)}; expected one 2-D input up to 16×16")
    v.integer("kernel_size", kernel_size, 1, min(grid.shape))
    v.text("title", title, optional=True)
    pooled, idx = max_pool2d(grid[None, None], kernel_size, return_indices=True)
    pooled, idx = pooled[0, 0], idx[0, 0]
    h, w = grid.shape
    fig, (a, b) = plt.subplots(1, 2, figsize=(0.55 * (w + pooled.shape[1]) + 1.6, 0.55 * h + 0.6),
                               gridspec_kw={"width_ratios": [w, pooled.shape[1]]})
    a.imshow(grid.numpy(), cmap="Blues")
    b.imshow(pooled.numpy(), cmap="Blues", vmin=float(grid.min()), vmax=float(grid.max()))
    low, high = float(grid.min()), float(grid.max())

    def dark(value: float) -> bool:  # the upper part of "Blues" is dark: white text reads better there
        return high > low and (value - low) / (high - low) > 0.6

    for r in range(h):
        for c in range(w):
            a.text(c, r, f"{grid[r, c].item():g}", ha="center", va="center", fontsize=9,
                   color="white" if dark(grid[r, c].item()) else "black")
    for i in range(pooled.shape[0]):
        for j in range(pooled.shape[1]):
            a.add_patch(Rectangle((j * kernel_size - 0.5, i * kernel_size - 0.5), kernel_size, kernel_size,
                                  fill=False, lw=2, ec="black"))
            r, c = divmod(int(idx[i, j]), w)
            a.add_patch(plt.Circle((c, r), 0.38, fill=False, lw=2, ec="crimson"))
            b.text(j, i, f"{pooled[i, j].item():g}", ha="center", va="center", fontsize=10,
                   color="white" if dark(pooled[i, j].item()) else "crimson")
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
    m = _image("keep", keep)
    if m.dim() != 2:
        raise ValueError(f"keep has shape {tuple(m.shape)}; expected (N, C)")
    v.text("title", title, optional=True)
    v.text("columns", columns)
    v.boolean("colorbar", colorbar)
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
    v.boolean("symmetric", symmetric)
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
