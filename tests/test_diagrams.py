import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from companion import DigitRecognizer, conv_output_size, diagrams, trace_shapes
from companion.shapes import window_cells

pytestmark = pytest.mark.usefixtures("figures")


def cells(ax, gid):
    """The (row, col) centres of the cells of kind ``gid`` drawn in ``ax``."""
    out = []
    for coll in ax.collections:
        if coll.get_gid() == gid:
            for path in coll.get_paths():
                (x0, y0), (x1, y1) = path.vertices.min(axis=0), path.vertices.max(axis=0)
                out.append((round((y0 + y1) / 2), round((x0 + x1) / 2)))
    return out


def read_by_torch(size, k, s, p, d, pool=False, ceil=False):
    """The input cells some window reads, measured by torch: those with a nonzero gradient."""
    x = torch.ones(1, 1, size, size, requires_grad=True)
    if pool:  # average pooling reads the same windows as max pooling, every cell of them
        y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=False) if d == 1 else None
    else:
        y = F.conv2d(x, torch.ones(1, 1, k, k), stride=s, padding=p, dilation=d)
    y.sum().backward()
    return {(r, c) for r in range(size) for c in range(size) if x.grad[0, 0, r, c] != 0}


@settings(max_examples=15, deadline=None)
@given(size=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 3))
def test_the_window_and_the_output_grid_are_those_of_torch(size, k, s, p, d):
    fig = diagrams.draw_sliding_window(size, k, s, p, d)
    if d * (k - 1) + 1 > size + 2 * p:
        with pytest.raises(RuntimeError):
            F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
        assert len(fig.axes) == 1 and not cells(fig.axes[0], "out") and "没有输出" in fig._suptitle.get_text()
        return
    out = conv_output_size(size, k, s, p, d)
    assert out == F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, k, k), stride=s, padding=p,
                           dilation=d).shape[-1]
    positions = list(dict.fromkeys([(0, 0), (0, min(1, out - 1)), (out - 1, out - 1)]))
    assert len(fig.axes) == len(positions)
    for ax, (i, j) in zip(fig.axes, positions):
        assert len(cells(ax, "out")) + len(cells(ax, "out-current")) == out * out
        assert len(cells(ax, "out-current")) == 1 and ax.get_title() == f"输出 [{i}, {j}]"
        assert sorted(cells(ax, "tap")) == sorted(window_cells(i, j, k, s, p, d))
        inside = {(r, c) for r in range(size) for c in range(size)}
        assert set(cells(ax, "dropped")) == inside - read_by_torch(size, k, s, p, d)


@settings(max_examples=12, deadline=None)
@given(size=st.integers(2, 9), k=st.integers(1, 3), s=st.integers(1, 3), p=st.integers(0, 1), ceil=st.booleans())
def test_pooling_frames_match_max_pool2d(size, k, s, p, ceil):
    fig = diagrams.draw_sliding_window(size, k, s, p, pool=True, ceil_mode=ceil, positions=[(0, 0)])
    out, reason = diagrams.output_size_or_reason(size, k, s, p, pool=True, ceil_mode=ceil)
    if out is None:  # refused by companion.shapes (see test_explorers for where torch differs)
        assert reason and len(fig.axes) == 1 and "没有输出" in fig._suptitle.get_text()
        return
    ax = fig.axes[0]
    assert out == F.max_pool2d(torch.zeros(1, 1, size, size), k, s, p, ceil_mode=ceil).shape[-1]
    assert len(cells(ax, "out")) + 1 == out * out
    inside = {(r, c) for r in range(size) for c in range(size)}
    assert set(cells(ax, "dropped")) == inside - read_by_torch(size, k, s, p, 1, pool=True, ceil=ceil)


def test_ceil_mode_draws_the_part_of_a_window_past_the_border():
    fig = diagrams.draw_sliding_window(5, 2, 2, pool=True, ceil_mode=True, positions=[(2, 2)])
    ax = fig.axes[0]
    assert cells(ax, "tap") == [(4, 4)] and sorted(cells(ax, "tap-outside")) == [(4, 5), (5, 4), (5, 5)]
    assert "伸出边界（忽略）" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_padding_and_notes_are_drawn():
    fig = diagrams.draw_sliding_window(4, 3, padding=1, note="公式 ⌊3/1⌋ + 1 = 4", max_frames=1)
    assert len(fig.axes) == 1 and len(cells(fig.axes[0], "pad")) == 6 * 6 - 4 * 4
    assert any("⌊3/1⌋" in t.get_text() for t in fig.texts)
    assert "补 0" in [t.get_text() for t in fig.legends[0].get_texts()]


@pytest.mark.parametrize("kwargs, match", [
    ({"size": 0, "kernel_size": 3}, "size=0"),
    ({"size": 5, "kernel_size": 1.5}, "kernel_size"),
    ({"size": 5, "kernel_size": 3, "padding": -1}, "padding"),
    ({"size": 5, "kernel_size": 3, "ceil_mode": True}, "pooling only"),
    ({"size": 5, "kernel_size": 3, "positions": [(3, 0)]}, "outside the 3×3 output"),
    ({"size": 5, "kernel_size": 3, "max_frames": 0}, "max_frames"),
])
def test_sliding_window_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diagrams.draw_sliding_window(**kwargs)


def test_output_size_or_reason():
    assert diagrams.output_size_or_reason(28, 3) == (26, "")
    assert diagrams.output_size_or_reason(25, 2, 2, pool=True, ceil_mode=True) == (13, "")
    out, reason = diagrams.output_size_or_reason(2, 5)
    assert out is None and "大于填充后的输入" in reason
    assert diagrams.output_size_or_reason(6, 2, 2, 2, pool=True)[0] is None


def test_data_flow_is_drawn_from_the_model():
    model = DigitRecognizer()
    x = torch.zeros(1, 1, 28, 28)
    fig = diagrams.draw_data_flow(model, x)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert len([p for p in ax.patches if p.get_gid() == "layer"]) == 13
    for row in trace_shapes(model, x):  # every layer the hooks see, with its shape and parameters
        assert "×".join(map(str, row.output_shape[1:])) in texts
        assert not row.params or f"{row.params:,} 个参数" in texts
    assert "合计 1,199,882 个参数" in texts and "max_pool2d" in texts and "flatten" in texts
    wider = nn.Sequential(nn.Conv2d(1, 4, 5), nn.Flatten(), nn.Linear(4 * 24 * 24, 3))
    texts = [t.get_text() for t in diagrams.draw_data_flow(wider, x).axes[0].texts]
    assert "4×24×24" in texts and "0 · Conv2d" in texts and "合计 7,019 个参数" in texts


def test_data_flow_names_repeated_calls_by_their_order():
    texts = [t.get_text() for t in diagrams.draw_data_flow(DigitRecognizer(), torch.zeros(1, 1, 28, 28)).axes[0].texts]
    assert {"relu", "relu（第 2 次）", "relu（第 3 次）"} <= set(texts) and "relu_1 · relu" not in texts


def test_flow_outputs_are_the_real_values_of_each_step():
    torch.manual_seed(0)
    model = DigitRecognizer().train()
    x = torch.randn(2, 1, 28, 28)
    outs = diagrams.flow_outputs(model, x)
    rows = diagrams.trace_flow(model, x)
    assert [tuple(o.shape) for o in outs] == [r.output_shape for r in rows]
    assert model.training  # the mode is put back
    model.eval()
    with torch.no_grad():
        assert torch.equal(outs[0], x) and torch.equal(outs[-1], model(x))
        assert torch.equal(outs[1], model.conv1(x)) and torch.equal(outs[2], F.relu(model.conv1(x)))


def test_data_flow_draws_the_feature_maps_beside_each_stage():
    torch.manual_seed(0)
    model = DigitRecognizer()
    x = torch.randn(1, 1, 28, 28)
    fig = diagrams.draw_data_flow(model, x, maps=3)
    children = fig.axes[0].child_axes
    insets = [a for a in children if a.get_gid() == "map"]
    # the input (1 channel), then conv1, relu, conv2, relu, max_pool2d, dropout1: 3 channels each
    assert len(insets) == 1 + 6 * 3
    outs = diagrams.flow_outputs(model, x)
    conv1 = insets[1:4]
    for c, a in enumerate(conv1):
        shown = torch.as_tensor(a.get_images()[0].get_array())
        assert torch.allclose(shown.float(), outs[1][0, c])
    lims = {a.get_images()[0].get_clim() for a in conv1}
    lim = float(outs[1][0, :3].abs().max())
    assert lims == {(-lim, lim)}  # one symmetric scale for the maps of a step
    assert len(children) == len(insets) + 7  # one colorbar for each step with maps
    assert not diagrams.draw_data_flow(model, x).axes[0].child_axes  # maps=0: as before
    for bad in (-1, 1.5, True, "4", diagrams.MAX_MAPS + 1):
        with pytest.raises(ValueError, match="maps="):
            diagrams.draw_data_flow(model, x, maps=bad)


def test_autograd_graph_of_a_linear_layer():
    torch.manual_seed(0)
    lin = nn.Linear(3, 2)
    loss = F.relu(lin(torch.randn(4, 3))).pow(2).mean()
    nodes = diagrams.autograd_graph(loss, dict(lin.named_parameters()))
    labels = [n.label for n in nodes]
    assert labels[0] == "MeanBackward0" and nodes[0].depth == 0
    leaves = {n.label for n in nodes if n.leaf}
    assert leaves == {"AccumulateGrad → weight", "AccumulateGrad → bias"}
    assert all(not nodes[i].inputs for i, n in enumerate(nodes) if n.leaf)
    fig = diagrams.draw_autograd_graph(loss, dict(lin.named_parameters()))
    assert len([p for p in fig.axes[0].patches if p.get_gid() == "node"]) == len(nodes)


def test_autograd_graph_visits_a_shared_node_once_at_its_longest_depth():
    w = torch.ones(2, requires_grad=True)
    h = w * 2
    y = (h * h + h).sum()  # h feeds the product and the sum
    nodes = diagrams.autograd_graph(y)
    mul_of_w = [n for n in nodes if n.label == "MulBackward0" and any(nodes[i].leaf for i in n.inputs)]
    assert len(mul_of_w) == 1 and mul_of_w[0].depth == 3  # Sum → Add → Mul(h·h) → Mul(w·2)
    assert [n.label for n in nodes if n.leaf] == ["AccumulateGrad → 2"]
    with pytest.raises(ValueError, match="grad_fn"):
        diagrams.autograd_graph(torch.ones(2))


def _texts(ax, gid):
    return [(round(t.get_position()[1]), round(t.get_position()[0]), t.get_text()) for t in ax.texts
            if t.get_gid() == gid]


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (1, 1)])
def test_window_values_show_the_numbers_that_conv2d_multiplies_and_adds(stride, padding):
    g = torch.Generator().manual_seed(stride + 10 * padding)
    x = torch.randint(-3, 4, (5, 5), generator=g).float()
    k = torch.randint(-2, 3, (3, 3), generator=g).float()
    y = F.conv2d(x[None, None], k[None, None], stride=stride, padding=padding)[0, 0]
    out = y.shape[-1]
    positions = [(i, j) for i in range(out) for j in range(out)][:4]
    fig = diagrams.draw_window_values(x, k, stride, padding, positions=positions)
    padded = F.pad(x, (padding,) * 4)
    for ax, (i, j) in zip(fig.axes, positions):
        assert ax.get_title() == f"输出 [{i}, {j}] = {y[i, j].item():g}"
        shown = {(r, c): v for r, c, v in _texts(ax, "value")}
        assert len(shown) == padded.numel()
        assert all(v == f"{padded[r + padding, c + padding].item():g}" for (r, c), v in shown.items())
        taps = window_cells(i, j, 3, stride, padding)
        weights = [v for _, _, v in sorted(_texts(ax, "weight"))]
        assert weights == [f"×{w:g}" for w in k.flatten().tolist()] and len(taps) == 9
        outputs = [v for _, _, v in sorted(_texts(ax, "output"))]  # computed so far, row by row
        assert outputs == [f"{v:g}" for v in y.flatten()[: i * out + j + 1].tolist()]


def test_window_values_refuse_what_they_cannot_draw():
    with pytest.raises(ValueError, match="square 2-D tensor"):
        diagrams.draw_window_values(torch.zeros(3, 4), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="side 1 to 12"):
        diagrams.draw_window_values(torch.zeros(13, 13), torch.zeros(2, 2))
    with pytest.raises(TypeError, match="real numbers"):
        diagrams.draw_window_values(torch.zeros(3, 3, dtype=torch.bool), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="大于填充后的输入"):
        diagrams.draw_window_values(torch.zeros(2, 2), torch.zeros(3, 3))
