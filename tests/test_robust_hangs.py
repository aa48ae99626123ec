"""Nothing hangs: a controlled-runs computation killed while it holds the experiment cache's lock
delays the next one by no more than a few seconds, and the drawing functions refuse sizes beyond
their stated bounds at once (issue 23, classes 1 and 2)."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from companion import DigitRecognizer, diagrams

# ── class 2: drawing with a bound ──────────────────────────────────────────────────


@pytest.mark.usefixtures("figures")
@pytest.mark.parametrize("kwargs, bound", [
    ({"size": 1000, "kernel_size": 3}, "MAX_SIDE = 64"),  # the example: no figure after 120 s
    ({"size": 200, "kernel_size": 3}, "MAX_SIDE = 64"),
    ({"size": 65, "kernel_size": 3}, "MAX_SIDE = 64"),
    ({"size": 60, "kernel_size": 3, "padding": 3}, "size \\+ 2·padding = 60 \\+ 2·3 = 66 cells"),
    ({"size": 5, "kernel_size": 3, "dilation": 40}, "the kernel's span .* = 81 cells"),  # refused, overhanging
    ({"size": 5, "kernel_size": 10**9}, "MAX_SIDE = 64"),
    ({"size": 10**12, "kernel_size": 2, "pool": True}, "MAX_SIDE = 64"),
    ({"size": 8, "kernel_size": 3, "positions": [(0, 0)] * 7}, "MAX_FRAMES = 6"),
    ({"size": 8, "kernel_size": 3, "max_frames": 7}, "MAX_FRAMES = 6"),
    ({"size": 8, "kernel_size": 3, "note": "x\n" * 21}, "21 lines: at most MAX_NOTE_LINES = 20"),
    ({"size": 8, "kernel_size": 3, "note": "x" * 95 * 21}, "MAX_NOTE_LINES = 20"),
])
def test_sliding_window_beyond_its_bounds_is_refused_at_once(kwargs, bound):
    started = time.perf_counter()
    with pytest.raises(ValueError, match=bound):
        diagrams.draw_sliding_window(**kwargs)
    assert time.perf_counter() - started < 1.0


@pytest.mark.usefixtures("figures")
@pytest.mark.parametrize("kwargs, match", [
    ({"positions": "00"}, "positions of type str"),
    ({"positions": [(0.0, 1)]}, "position \\(0.0, 1\\) is outside"),
    ({"positions": [(True, 0)]}, "outside"),
    ({"note": 5}, "note of type int"),
])
def test_sliding_window_arguments_near_the_bounds_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diagrams.draw_sliding_window(8, 3, **kwargs)


@pytest.mark.usefixtures("figures")
def test_the_largest_pictures_within_the_bounds_are_drawn_quickly():
    started = time.perf_counter()
    fig = diagrams.draw_sliding_window(64, 3, max_frames=3)  # the bound itself: drawn, and fully
    fig.canvas.draw()
    fig = diagrams.draw_sliding_window(62, kernel_size=32, padding=1, positions=[(0, 0)] * 6)
    fig.canvas.draw()
    fig = diagrams.draw_sliding_window(4, 3, dilation=31, note="x\n" * 20)  # span 63 > 4: refused, overhanging
    fig.canvas.draw()
    assert time.perf_counter() - started < 30  # about 5 s on two busy cores


@pytest.mark.usefixtures("figures")
def test_every_size_the_lessons_and_explorers_use_is_within_the_bounds():
    from companion.explorers import CONV_LIMITS, POOL_LIMITS

    for limits in (CONV_LIMITS, POOL_LIMITS):
        side = limits["size"][1] + 2 * limits["padding"][1]
        span = limits["dilation"][1] * (limits["kernel_size"][1] - 1) + 1
        assert max(side, span) <= diagrams.MAX_SIDE
    big = diagrams.draw_sliding_window(CONV_LIMITS["size"][1], CONV_LIMITS["kernel_size"][1],
                                       padding=CONV_LIMITS["padding"][1], dilation=CONV_LIMITS["dilation"][1])
    assert len(big.axes) == 3
    model = DigitRecognizer()
    assert diagrams.draw_data_flow(model, torch.zeros(1, 1, 28, 28))
    loss = model(torch.zeros(2, 1, 28, 28)).sum()
    assert len(diagrams.autograd_graph(loss)) <= diagrams.MAX_NODES
    diagrams.draw_autograd_graph(loss, dict(model.named_parameters()))


@pytest.mark.usefixtures("figures")
def test_a_data_flow_too_long_to_draw_is_refused():
    deep = nn.Sequential(*[nn.ReLU() for _ in range(diagrams.MAX_ROWS)])  # the input box makes MAX_ROWS + 1
    with pytest.raises(ValueError, match=f"{diagrams.MAX_ROWS + 1} steps: a data-flow picture draws at most "
                                         f"MAX_ROWS = {diagrams.MAX_ROWS}"):
        diagrams.draw_data_flow(deep, torch.zeros(1, 3))
    fits = nn.Sequential(*[nn.ReLU() for _ in range(diagrams.MAX_ROWS - 1)])
    assert len([p for p in diagrams.draw_data_flow(fits, torch.zeros(1, 3)).axes[0].patches
                if p.get_gid() == "layer"]) == diagrams.MAX_ROWS


def _chain(n: int) -> torch.Tensor:
    w = torch.ones(3, requires_grad=True)
    h = w
    for _ in range(n):
        h = h * 1.0
    return h.sum()


@pytest.mark.usefixtures("figures")
def test_an_autograd_graph_too_large_to_draw_is_refused_at_once():
    y = _chain(20_000)  # 20,002 nodes: listed in well under a second, never drawn
    started = time.perf_counter()
    nodes = diagrams.autograd_graph(y)
    assert len(nodes) == 20_002 and nodes[-1].depth == 20_001 and nodes[-1].leaf
    with pytest.raises(ValueError, match=f"20002 nodes: an autograd picture draws at most MAX_NODES = "
                                         f"{diagrams.MAX_NODES}"):
        diagrams.draw_autograd_graph(y)
    assert time.perf_counter() - started < 5
    fits = _chain(diagrams.MAX_NODES - 2)
    fig = diagrams.draw_autograd_graph(fits)
    assert len([p for p in fig.axes[0].patches if p.get_gid() == "node"]) == diagrams.MAX_NODES


def test_autograd_depths_are_the_longest_paths_measured_by_brute_force():
    torch.manual_seed(0)
    x = torch.randn(4, 3, requires_grad=True)
    lin = nn.Linear(3, 3)
    h = F.relu(lin(x))
    y = (h * lin(h) + h.exp() * x).sum()
    nodes = diagrams.autograd_graph(y, dict(lin.named_parameters()))

    def longest(i):  # the longest path from the output to node i, by trying every path
        return max((longest(j) + 1 for j, n in enumerate(nodes) if i in n.inputs), default=0)

    assert [n.depth for n in nodes] == [longest(i) for i in range(len(nodes))]
