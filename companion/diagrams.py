"""Diagrams drawn from the real objects: the sliding window of a convolution or pooling,
the network's data flow, and an autograd graph (matplotlib; imported only when this module is).

Each function returns its figure. The drawn pieces carry a ``gid`` (``"tap"``, ``"out"``,
``"layer"``, …) so that a test can count what the picture shows. Each picture has a bound on
what it draws (``MAX_SIDE``, ``MAX_FRAMES``, ``MAX_NOTE_LINES``, ``MAX_ROWS``, ``MAX_NODES``),
chosen so that it is drawn in a few seconds and can still be read; beyond it the function
refuses with a ``ValueError`` that names the bound, before anything is drawn.
"""

from __future__ import annotations

import textwrap
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.collections import PolyCollection
from matplotlib.patches import FancyBboxPatch, Patch, Rectangle
from torch import nn

from . import _validate as v
from .shapes import _check_int, conv_output_size, pool_output_size, trace_flow, window_cells

__all__ = [
    "MAX_SIDE",
    "MAX_FRAMES",
    "MAX_NOTE_LINES",
    "MAX_ROWS",
    "MAX_NODES",
    "output_size_or_reason",
    "draw_sliding_window",
    "draw_window_values",
    "draw_data_flow",
    "flow_outputs",
    "GradNode",
    "autograd_graph",
    "draw_autograd_graph",
]

_BLUE, _PAD, _DROP, _GRID = "#4c8bd6", "#e4e4e4", "#f4b6b6", "#9a9a9a"

#: the most cells a side a sliding-window frame draws: the padded input (size + 2·padding) and
#: the kernel's span (dilation·(kernel_size − 1) + 1); 64 cells draw in about two seconds
MAX_SIDE = 64
#: the most frames (output positions) one sliding-window picture shows side by side
MAX_FRAMES = 6
#: the most feature maps ``draw_data_flow`` draws beside one step
MAX_MAPS = 16
#: the most lines of text (``note``, or the reason for a refusal, wrapped) under the frames
MAX_NOTE_LINES = 20
#: the most boxes a data-flow picture draws (one per operation of the forward pass)
MAX_ROWS = 80
#: the most nodes an autograd picture draws
MAX_NODES = 80


def output_size_or_reason(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                          pool: bool = False, ceil_mode: bool = False) -> tuple[int | None, str]:
    """The output side length from ``companion.shapes`` and ``""``; or ``None`` and the reason
    ``companion.shapes`` gives for refusing the combination. Non-integers and values below
    their minimum (size, kernel, stride, dilation ≥ 1, padding ≥ 0) are a ``ValueError``."""
    for name, value, low in (("size", size, 1), ("kernel_size", kernel_size, 1), ("stride", stride, 1),
                             ("padding", padding, 0), ("dilation", dilation, 1)):
        _check_int(name, value, low)
    v.boolean("pool", pool)
    v.boolean("ceil_mode", ceil_mode)
    if ceil_mode and not pool:
        raise ValueError("ceil_mode exists for pooling only")
    try:
        if pool:
            return pool_output_size(size, kernel_size, stride, padding, dilation, ceil_mode), ""
        return conv_output_size(size, kernel_size, stride, padding, dilation), ""
    except ValueError as exc:
        return None, str(exc)


_STYLES = {  # gid → how those cells look
    "input": {"facecolor": "white"},
    "pad": {"facecolor": _PAD},
    "dropped": {"facecolor": _DROP},
    "tap": {"facecolor": _BLUE, "alpha": 0.75},
    "tap-outside": {"facecolor": "white", "edgecolor": _BLUE, "hatch": "///"},
    "out": {"facecolor": "white"},
    "out-current": {"facecolor": _BLUE},
}


#: the corners of the unit square around a cell's centre
_CORNERS = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])


def _cells(ax, cells: dict[str, list[tuple[float, float]]]) -> None:
    """Draw unit squares centred on (x, y), one collection per kind (fast for many cells);
    each collection's gid names the kind, and it has one path per cell."""
    for gid, centres in cells.items():
        if centres:
            style = {"edgecolor": _GRID, "linewidth": 0.8, **_STYLES[gid]}
            squares = np.asarray(centres, dtype=float)[:, None, :] + _CORNERS  # (cells, 4 corners, x/y)
            ax.add_collection(PolyCollection(squares, gid=gid, **style))


def _frame(ax, size: int, kernel_size: int, stride: int, padding: int, dilation: int,
           out: int | None, pos: tuple[int, int] | None, dropped: set[tuple[int, int]]) -> None:
    lo, hi = -padding, size + padding - 1
    cells: dict[str, list[tuple[float, float]]] = {gid: [] for gid in _STYLES}
    for r in range(lo, hi + 1):
        for c in range(lo, hi + 1):
            kind = "pad" if not (0 <= r < size and 0 <= c < size) else "dropped" if (r, c) in dropped else "input"
            cells[kind].append((c, r))
    taps = window_cells(*(pos or (0, 0)), kernel_size, stride, padding, dilation)
    for r, c in taps:  # past the padded input: torch's ceil_mode keeps such a window, clipped
        cells["tap" if lo <= r <= hi and lo <= c <= hi else "tap-outside"].append((c, r))
    (r0, c0), (r1, c1) = taps[0], taps[-1]
    ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False, ec="#1f4e8c", lw=1.6,
                           zorder=3, gid="span"))
    right = max(hi, c1)
    if out is None:
        ax.set_title("没有合法位置", fontsize=9, color="crimson")
    else:
        x0, y0 = right + 2.0, lo
        for i in range(out):
            for j in range(out):
                cells["out-current" if (i, j) == pos else "out"].append((x0 + j, y0 + i))
        i, j = pos
        ax.annotate("", xy=(x0 + j - 0.5, y0 + i), xytext=((c0 + c1) / 2 + 0.5, (r0 + r1) / 2),
                    arrowprops={"arrowstyle": "->", "color": "#1f4e8c", "lw": 1.2})
        ax.set_title(f"输出 [{i}, {j}]", fontsize=9)
        right = x0 + out - 1
    ax.set_xlim(min(lo, c0) - 0.7, right + 0.7)
    ax.set_ylim(max(hi, r1) + 0.7, min(lo, r0) - 0.7)
    _cells(ax, cells)
    ax.set_aspect("equal")
    ax.axis("off")


def draw_sliding_window(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    *,
    pool: bool = False,
    ceil_mode: bool = False,
    positions: Sequence[tuple[int, int]] | None = None,
    max_frames: int = 3,
    note: str | None = None,
):
    """A small multiple of frames: the window of a ``size``×``size`` convolution (or pooling,
    ``pool=True``) at a few output positions. Each frame shows the padded input (grey:
    padding, red: cells no window reads because the division floors), the taps the window
    reads (blue; dilation leaves holes inside the dark outline) and the output grid with
    the cell they make. ``positions`` defaults to the first two steps and the last one.

    Sizes come from ``companion.shapes``; a combination it refuses is drawn as one frame with
    the kernel overhanging and the reason under it. Bad arguments (non-integers,
    positions outside the output) are a ``ValueError``. ``note`` is printed under the frames.
    A picture is drawn for at most ``MAX_SIDE`` cells a side (``size + 2·padding`` and the
    kernel's span), ``MAX_FRAMES`` frames and ``MAX_NOTE_LINES`` lines of text; more is a
    ``ValueError`` naming the bound (the formulas are the same for a small example).
    """
    out, reason = output_size_or_reason(size, kernel_size, stride, padding, dilation, pool, ceil_mode)
    if isinstance(max_frames, bool) or not isinstance(max_frames, int) or not 1 <= max_frames <= MAX_FRAMES:
        raise ValueError(f"max_frames={max_frames!r} must be an integer from 1 to MAX_FRAMES = {MAX_FRAMES}")
    padded, span = size + 2 * padding, dilation * (kernel_size - 1) + 1
    for what, cells in ((f"size + 2·padding = {size} + 2·{padding}", padded),
                        (f"the kernel's span dilation·(kernel_size − 1) + 1 = {dilation}·{kernel_size - 1} + 1", span)):
        if cells > MAX_SIDE:
            raise ValueError(f"{what} = {cells} cells: a sliding-window picture draws at most MAX_SIDE = {MAX_SIDE} "
                             "cells a side; draw a smaller example (the output-size formula is the same), or "
                             "compute large sizes with companion.conv_output_size / pool_output_size")
    if note is not None and not isinstance(note, str):
        raise ValueError(f"note of type {type(note).__name__}: expected a str or None")
    lines = [part for line in (reason or note or "").splitlines() for part in textwrap.wrap(line, 95)]
    if len(lines) > MAX_NOTE_LINES:
        raise ValueError(f"the text under the frames would take {len(lines)} lines: at most MAX_NOTE_LINES = "
                         f"{MAX_NOTE_LINES} (lines are wrapped at 95 characters); shorten the note")
    if out is None:
        positions, dropped = [None], set()
    else:
        if positions is None:
            positions = list(dict.fromkeys([(0, 0), (0, min(1, out - 1)), (out - 1, out - 1)]))[:max_frames]
        elif isinstance(positions, (str, bytes)) or not isinstance(positions, Sequence):
            raise ValueError(f"positions of type {type(positions).__name__}: expected a list of (row, col) pairs")
        if not 1 <= len(positions) <= MAX_FRAMES:
            raise ValueError(f"{len(positions)} positions: a sliding-window picture shows 1 to MAX_FRAMES = "
                             f"{MAX_FRAMES} frames")
        for p in positions:
            if not (isinstance(p, tuple) and len(p) == 2
                    and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < out for v in p)):
                raise ValueError(f"position {p!r} is outside the {out}×{out} output")
        seen = {rc for i in range(out) for j in range(out)
                for rc in window_cells(i, j, kernel_size, stride, padding, dilation)}
        dropped = {(r, c) for r in range(size) for c in range(size)} - seen
    width = max(padded, span) + (0 if out is None else 2 + out)
    height = max(padded, span)
    cell = min(0.26, 10.0 / (len(positions) * width), 4.0 / height)
    fig_h = max(height * cell, 1.0) + 1.1 + 0.15 * len(lines)
    fig, axes = plt.subplots(1, len(positions), squeeze=False,
                             figsize=(round(max(6.0, len(positions) * width * cell + 0.4), 2), round(fig_h, 2)))
    for ax, pos in zip(axes[0], positions):
        _frame(ax, size, kernel_size, stride, padding, dilation, out, pos, dropped)
    op = "max_pool2d" if pool else "conv2d"
    extra = f", ceil_mode={ceil_mode}" if pool else ""
    head = f"{op}: {size}×{size}, kernel_size={kernel_size}, stride={stride}, padding={padding}, dilation={dilation}"
    fig.suptitle(f"{head}{extra} → " + (f"{out}×{out}" if out is not None else "没有输出"), fontsize=10)
    legend = [Patch(fc="white", ec=_GRID, label="输入"), Patch(fc=_BLUE, ec=_GRID, label="窗口读的格子")]
    if padding:
        legend.insert(1, Patch(fc=_PAD, ec=_GRID, label="补 −∞" if pool else "补 0"))
    if dropped:
        legend.append(Patch(fc=_DROP, ec=_GRID, label="没被读到（向下取整）"))
    if any(c.get_gid() == "tap-outside" for ax in axes[0] for c in ax.collections):
        legend.append(Patch(fc="white", ec=_BLUE, hatch="///", label="伸出边界" if out is None else "伸出边界（忽略）"))
    fig.legend(handles=legend, loc="lower center", ncols=len(legend), fontsize=8, frameon=False)
    if lines:
        # the CJK font has no ⌊ ⌋: let matplotlib fall back to DejaVu Sans glyph by glyph
        fig.text(0.5, (0.3 + 0.15 * len(lines)) / fig_h, "\n".join(lines), ha="center", va="top", fontsize=7,
                 color="crimson" if reason else "black", family=[plt.rcParams["font.sans-serif"][0], "DejaVu Sans"],
                 multialignment="left")
    fig.tight_layout(rect=(0, (0.32 + 0.15 * len(lines)) / fig_h, 1, 1 - 0.3 / fig_h))
    return fig


def _number(v: float) -> str:
    return f"{v:g}" if float(v).is_integer() else f"{v:.2f}"


def draw_window_values(
    image: torch.Tensor,
    kernel: torch.Tensor,
    stride: int = 1,
    padding: int = 0,
    *,
    positions: Sequence[tuple[int, int]] | None = None,
):
    """``draw_sliding_window`` with the numbers: a small square 2-D ``image`` and ``kernel``
    (cross-correlated as ``nn.Conv2d`` does, no flip). Every input cell shows its value
    (padding shows 0), every cell the window reads also shows the kernel weight it is
    multiplied by (small, ``×w``), and each frame's output grid shows the outputs computed so
    far (row by row, up to the frame's position) with the frame's own value in its title.
    The numbers are texts with ``gid`` ``"value"``, ``"weight"`` and ``"output"``. Returns the
    figure. Only small examples are drawn: image and kernel sides up to 12."""
    x = torch.as_tensor(image).detach().cpu()
    k = torch.as_tensor(kernel).detach().cpu()
    for name, t in (("image", x), ("kernel", k)):
        if t.dim() != 2 or t.shape[0] != t.shape[1] or not 1 <= t.shape[0] <= 12:
            raise ValueError(f"{name} has shape {tuple(t.shape)}; expected one square 2-D tensor of side 1 to 12")
        if t.is_complex() or t.dtype == torch.bool:
            raise TypeError(f"{name} has dtype {t.dtype}; expected real numbers")
    x, k = x.double(), k.double()
    size, ks = x.shape[0], k.shape[0]
    out, reason = output_size_or_reason(size, ks, stride, padding)
    if out is None:
        raise ValueError(reason)
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    values = [[float((padded[i * stride:i * stride + ks, j * stride:j * stride + ks] * k).sum()) for j in range(out)]
              for i in range(out)]
    fig = draw_sliding_window(size, ks, stride, padding, positions=positions)
    width, height = fig.get_size_inches()
    fig.set_size_inches(max(width, 9.0), height * 1.8)  # larger cells: room for the numbers
    fig.tight_layout(rect=(0, 0.1, 1, 0.92))
    frames = [ax for ax in fig.axes if any(c.get_gid() == "out-current" for c in ax.collections)]
    for ax in frames:
        for coll in ax.collections:
            if coll.get_gid() in ("tap", "out-current"):
                coll.set_alpha(0.45)  # light enough to read the numbers on
        for arrow in ax.texts:
            arrow.set_alpha(0.35)
        current = _cells_of(ax, "out-current")
        grid = sorted(current + _cells_of(ax, "out"), key=lambda rc: (rc[1], rc[0]))  # (x, y) centres
        x0, y0 = grid[0]
        i, j = int(round(current[0][1] - y0)), int(round(current[0][0] - x0))
        for r in range(-padding, size + padding):
            for c in range(-padding, size + padding):
                ax.text(c, r, _number(padded[r + padding, c + padding].item()), ha="center", va="center",
                        fontsize=11, gid="value", zorder=4)
        for a, (r, c) in enumerate(window_cells(i, j, ks, stride, padding)):
            ax.text(c + 0.45, r + 0.45, f"×{_number(k[a // ks, a % ks].item())}", ha="right", va="bottom",
                    fontsize=7, color="#8a1c1c", gid="weight", zorder=4)
        for n in range(i * out + j + 1):
            r, c = divmod(n, out)
            ax.text(x0 + c, y0 + r, _number(values[r][c]), ha="center", va="center", fontsize=11, gid="output",
                    zorder=4)
        ax.set_title(f"输出 [{i}, {j}] = {_number(values[i][j])}", fontsize=11)
    return fig


def _cells_of(ax, gid: str) -> list[tuple[float, float]]:
    """The (x, y) centres of the cells of kind ``gid`` drawn in ``ax`` by ``_cells``."""
    centres = []
    for coll in ax.collections:
        if coll.get_gid() == gid:
            for path in coll.get_paths():
                (x0, y0), (x1, y1) = path.vertices.min(axis=0), path.vertices.max(axis=0)
                centres.append(((x0 + x1) / 2, (y0 + y1) / 2))
    return centres


# ── the network at a glance ─────────────────────────────────────────────────────────
_KIND_COLOURS = {"Conv2d": "#cfe0f5", "Linear": "#fbe0c3", "input": "#ffffff"}


def flow_outputs(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of every step of ``model``'s forward pass on ``x``, in the order of
    ``companion.shapes.trace_flow`` (the first is ``x`` itself): the forward pass recorded by
    ``torch.fx`` and run once, in eval mode without gradients (the mode is put back)."""
    trace_flow(model, x)  # the same checks and messages as the shapes it draws
    return _run_flow(model, x)


def _run_flow(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """``flow_outputs`` for a model and input that ``trace_flow`` has already accepted."""
    from torch import fx

    graph = fx.symbolic_trace(model)
    outputs: list[torch.Tensor] = []

    class _Recorder(fx.Interpreter):
        def run_node(self, node):
            value = super().run_node(node)
            if node.op != "output":
                outputs.append(value.detach() if isinstance(value, torch.Tensor) else value)
            return value

    was_training = model.training
    try:
        model.eval()
        graph.eval()
        with torch.no_grad():
            _Recorder(graph).run(x)
    finally:
        model.train(was_training)
    return outputs


def _step_label(name: str, kind: str, seen: dict[str, int]) -> str:
    """``conv1 · Conv2d`` for a module; ``relu`` and ``relu（第 2 次）`` for the calls fx names
    ``relu``, ``relu_1``, …"""
    if kind == "input":
        return name
    if kind == name or (name.startswith(kind + "_") and name[len(kind) + 1:].isdigit()):
        seen[kind] = seen.get(kind, 0) + 1
        return kind if seen[kind] == 1 else f"{kind}（第 {seen[kind]} 次）"
    return f"{name} · {kind}"


def draw_data_flow(model: nn.Module, x: torch.Tensor, maps: int = 0):
    """The data flow of ``model`` on ``x``, one box per operation of its forward pass
    (``companion.shapes.trace_flow``: modules and functional calls), each with its output
    shape (batch dimension dropped) and its parameter count, so the picture is measured from
    the model itself. Returns the figure; the boxes carry ``gid="layer"``. A forward pass of
    more than ``MAX_ROWS`` operations is a ``ValueError`` (print ``trace_flow`` as a table instead).

    ``maps=n`` (n ≥ 1) also draws, beside every step whose output is a stack of 2-D maps
    (channels×height×width), the first n channels of that output for the first image of
    ``x``: the real feature maps at that stage. The maps of one step share one colour scale,
    symmetric about zero (red positive, blue negative), with a colorbar; each step has its own
    scale. The thumbnails carry ``gid="map"``."""
    if isinstance(maps, bool) or not isinstance(maps, int) or not 0 <= maps <= MAX_MAPS:
        raise ValueError(f"maps={maps!r} must be an int from 0 to MAX_MAPS = {MAX_MAPS} "
                         "(how many channels to draw beside each step)")
    rows = trace_flow(model, x)
    if len(rows) > MAX_ROWS:
        raise ValueError(f"the forward pass of {type(model).__name__} has {len(rows)} steps: a data-flow picture "
                         f"draws at most MAX_ROWS = {MAX_ROWS}; print companion.shapes.trace_flow(model, x) as a "
                         "table instead")
    values = _run_flow(model, x) if maps else []  # trace_flow above checked both
    row_h = 0.8 if maps else 0.42
    width = 6.4 + (0.95 * maps + 0.6 if maps else 0)
    fig, ax = plt.subplots(figsize=(width, row_h * len(rows) + 0.7))
    seen: dict[str, int] = {}
    for k, row in enumerate(rows):
        face = _KIND_COLOURS.get(row.kind, "#eeeeee")
        ax.add_patch(FancyBboxPatch((0.0, k - 0.32), 2.6, 0.64, boxstyle="round,pad=0.02", fc=face, ec="#555555",
                                    lw=1.4 if row.params else 0.8, gid="layer"))
        ax.text(1.3, k, _step_label(row.name, row.kind, seen), ha="center", va="center", fontsize=9)
        ax.text(2.85, k, "×".join(map(str, row.output_shape[1:])), va="center", fontsize=9, family="monospace")
        if row.params:
            ax.text(4.6, k, f"{row.params:,} 个参数", va="center", fontsize=9)
        if k:
            ax.annotate("", xy=(1.3, k - 0.34), xytext=(1.3, k - 0.66), arrowprops={"arrowstyle": "->", "lw": 0.9})
        value = values[k] if maps else None
        if isinstance(value, torch.Tensor) and value.dim() == 4:
            _draw_maps(fig, ax, value[0, :maps].float().cpu(), k, start=6.4)
    total = sum(r.params for r in rows)
    ax.text(4.6, len(rows) - 0.2, f"合计 {total:,} 个参数", va="center", fontsize=9)
    ax.text(2.85, -0.85, "输出形状", fontsize=8, color="#555555")
    ax.text(4.6, -0.85, "参数", fontsize=8, color="#555555")
    if maps:
        ax.text(6.4, -0.85, f"第一张图在这一步的前 {maps} 个通道（每行一个色标）", fontsize=8, color="#555555")
    ax.set_xlim(-0.1, width)
    ax.set_ylim(len(rows) + 0.1, -1.1)
    ax.axis("off")
    ax.set_title(f"{type(model).__name__} 的数据流（由 torch.fx 从 forward 记录）", fontsize=10)
    fig.tight_layout()
    return fig


def _draw_maps(fig, ax, maps: torch.Tensor, k: int, start: float) -> None:
    """Thumbnails of ``maps`` (C, H, W) in row ``k`` of the data-flow axes, from x = ``start``,
    one shared symmetric colour scale and a colorbar."""
    lim = float(maps.abs().max()) or 1.0
    image = None
    for c in range(maps.shape[0]):
        inset = ax.inset_axes((start + 0.95 * c, k - 0.42, 0.84, 0.84), transform=ax.transData)
        image = inset.imshow(maps[c].numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        inset.set_xticks([])
        inset.set_yticks([])
        inset.set_gid("map")
        if c == 0 and maps.shape[0] > 1:
            inset.set_ylabel(f"通道 0–{maps.shape[0] - 1}", fontsize=6)
    bar = ax.inset_axes((start + 0.95 * maps.shape[0], k - 0.42, 0.08, 0.84), transform=ax.transData)
    fig.colorbar(image, cax=bar)
    bar.tick_params(labelsize=6)


# ── autograd ────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class GradNode:
    """One node of an autograd graph: its label, its depth (0: the output's ``grad_fn``) and
    the indices of the nodes it passes gradients on to (its ``next_functions``)."""

    label: str
    depth: int
    inputs: tuple[int, ...]
    leaf: bool = False

    def __post_init__(self) -> None:
        v.boolean("leaf", self.leaf)


def autograd_graph(output: torch.Tensor, names: dict[str, torch.Tensor] | None = None) -> list[GradNode]:
    """The graph autograd recorded for ``output``, read from ``grad_fn.next_functions``.
    A leaf that collects a gradient is labelled ``AccumulateGrad → NAME``, with its name in
    ``names`` (e.g. ``dict(model.named_parameters())``), else its shape. Nodes are in
    breadth-first order from ``output.grad_fn``; ``depth`` is the longest path to a node.
    An output without ``grad_fn`` (no gradient was recorded) is a ``ValueError``."""
    if not isinstance(output, torch.Tensor) or output.grad_fn is None:
        raise ValueError("output must be a tensor computed from tensors that require grad (it has no grad_fn)")
    by_id = {id(t): n for n, t in (names or {}).items()}
    order, index, edges = [], {}, {}
    queue = deque([output.grad_fn])
    while queue:
        fn = queue.popleft()
        if fn in index:
            continue
        index[fn] = len(order)
        order.append(fn)
        nxt = [f for f, _ in fn.next_functions if f is not None]
        edges[fn] = nxt
        queue.extend(nxt)
    # the longest path from the output to each node, in topological order (the graph is acyclic):
    # a node is placed once every node that passes it a gradient has been
    waiting = dict.fromkeys(order, 0)
    for fn in order:
        for f in edges[fn]:
            waiting[f] += 1
    depth = dict.fromkeys(order, 0)
    ready = deque([output.grad_fn])
    while ready:
        fn = ready.popleft()
        for f in edges[fn]:
            depth[f] = max(depth[f], depth[fn] + 1)
            waiting[f] -= 1
            if not waiting[f]:
                ready.append(f)

    def label(fn) -> str:
        var = getattr(fn, "variable", None)
        if var is None:
            return type(fn).__name__
        return "AccumulateGrad → " + by_id.get(id(var), "×".join(map(str, var.shape)))

    return [GradNode(label(fn), depth[fn], tuple(index[f] for f in edges[fn]), hasattr(fn, "variable"))
            for fn in order]


def draw_autograd_graph(output: torch.Tensor, names: dict[str, torch.Tensor] | None = None, title: str | None = None):
    """Draw ``autograd_graph(output, names)`` top-down: the output's ``grad_fn`` at the top,
    the leaves that receive ``.grad`` (``AccumulateGrad``, green) at the bottom; arrows
    follow the gradient. Returns the figure; the boxes carry ``gid="node"``. A graph of more
    than ``MAX_NODES`` nodes is a ``ValueError`` (``autograd_graph`` still lists it)."""
    nodes = autograd_graph(output, names)
    if len(nodes) > MAX_NODES:
        raise ValueError(f"the autograd graph has {len(nodes)} nodes: an autograd picture draws at most MAX_NODES = "
                         f"{MAX_NODES}; draw a smaller example, or list the nodes with autograd_graph(output)")
    levels: dict[int, list[int]] = {}
    for i, n in enumerate(nodes):
        levels.setdefault(n.depth, []).append(i)
    width = max(len(v) for v in levels.values())
    where = {i: ((k - (len(v) - 1) / 2) * 2.6, d) for d, v in levels.items() for k, i in enumerate(v)}
    fig, ax = plt.subplots(figsize=(max(4.0, 1.9 * width + 0.6), 0.55 * len(levels) + 0.6))
    for i, n in enumerate(nodes):
        x, y = where[i]
        ax.add_patch(FancyBboxPatch((x - 1.1, y - 0.22), 2.2, 0.44, boxstyle="round,pad=0.03", gid="node",
                                    fc="#d8f0d2" if n.leaf else "#eeeeee", ec="#555555"))
        ax.text(x, y, n.label, ha="center", va="center", fontsize=8)
        for j in n.inputs:
            ax.annotate("", xy=(where[j][0], where[j][1] - 0.24), xytext=(x, y + 0.24),
                        arrowprops={"arrowstyle": "->", "color": "#1f4e8c", "lw": 1.0})
    xs = [p[0] for p in where.values()]
    ax.set_xlim(min(xs) - 1.3, max(xs) + 1.3)
    ax.set_ylim(max(levels) + 0.5, -0.5)
    ax.axis("off")
    ax.set_title(title or "autograd 记录的计算图（箭头：梯度传回的方向）", fontsize=10)
    fig.tight_layout()
    return fig
