import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from companion import DigitRecognizer, conv_output_size, format_trace, pool_output_size, same_padding, trace_shapes


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(1, 40),
    k=st.integers(1, 7),
    s=st.integers(1, 4),
    p=st.integers(0, 3),
    d=st.integers(1, 3),
)
def test_conv_output_size_matches_torch(size, k, s, p, d):
    conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
    x = torch.zeros(1, 1, size, size)
    if d * (k - 1) + 1 > size + 2 * p:
        with pytest.raises(ValueError, match="kernel_size"):
            conv_output_size(size, k, s, p, d)
        with pytest.raises(RuntimeError):
            conv(x)
        return
    assert conv_output_size(size, k, s, p, d) == conv(x).shape[-1]


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 30), k=st.integers(1, 6), d=st.integers(1, 2), mode=st.sampled_from(["same", "valid"]))
def test_conv_string_padding_matches_torch(size, k, d, mode):
    conv = nn.Conv2d(1, 1, k, padding=mode, dilation=d)
    x = torch.zeros(1, 1, size, size)
    if mode == "valid" and d * (k - 1) + 1 > size:
        with pytest.raises(ValueError):
            conv_output_size(size, k, 1, mode, d)
        return
    assert conv_output_size(size, k, 1, mode, d) == conv(x).shape[-1]


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 40),
    k=st.integers(1, 6),
    s=st.one_of(st.none(), st.integers(1, 4)),
    p=st.integers(0, 3),
    d=st.integers(1, 2),
    ceil=st.booleans(),
)
def test_pool_output_size_matches_torch(size, k, s, p, d, ceil):
    x = torch.zeros(1, 1, size, size)
    try:  # torch is the reference: where it refuses, companion refuses too
        out = F.max_pool2d(x, k, stride=s, padding=p, dilation=d, ceil_mode=ceil).shape[-1]
    except RuntimeError:
        out = None
    if out is None or out < 1:
        with pytest.raises(ValueError):
            pool_output_size(size, k, s, p, d, ceil)
        return
    assert pool_output_size(size, k, s, p, d, ceil) == out


def test_note_numbers():
    assert conv_output_size(28, 3) == 26
    assert conv_output_size(26, 3) == 24
    assert pool_output_size(24, 2) == 12
    assert conv_output_size(28, 5, stride=2, padding=1) == 13  # floor matters: 25/2


@pytest.mark.parametrize(
    "args, match",
    [
        ((0, 3), "size=0 must be >= 1"),
        ((28, 0), "kernel_size=0 must be >= 1"),
        ((28, 3, 0), "stride=0 must be >= 1"),
        ((28, 3, 1, -1), "padding=-1 must be >= 0"),
        ((28, 3, 1, 0, 0), "dilation=0 must be >= 1"),
        ((28.0, 3), "size=28.0 must be an integer"),
        ((28, True), "kernel_size=True must be an integer"),
        ((2, 5), "大于填充后的输入"),
        ((28, 3, 2, "same"), "padding='same' 要求 stride=1"),
        ((28, 3, 1, "full"), "padding='full'"),
    ],
)
def test_conv_output_size_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        conv_output_size(*args)


def test_pool_output_size_rejects_bad_arguments():
    with pytest.raises(ValueError, match="的一半"):
        pool_output_size(10, 2, padding=2)
    with pytest.raises(ValueError, match="stride=0"):
        pool_output_size(10, 2, stride=0)


def test_same_padding_rule_holds_for_odd_kernels_only():
    for k in (1, 3, 5, 7):
        assert conv_output_size(28, k, 1, same_padding(k)) == 28
    for k in (2, 4, 6):
        assert conv_output_size(28, k, 1, same_padding(k)) == 27
    assert conv_output_size(28, 3, 2, same_padding(3)) == 14
    with pytest.raises(ValueError):
        same_padding(0)


def test_trace_shapes_of_the_note_model():
    rows = trace_shapes(DigitRecognizer().eval(), torch.zeros(1, 1, 28, 28))
    got = [(r.name, r.input_shape, r.output_shape, r.params) for r in rows]
    assert got == [
        ("conv1", (1, 1, 28, 28), (1, 32, 26, 26), 320),
        ("conv2", (1, 32, 26, 26), (1, 64, 24, 24), 18496),
        ("dropout1", (1, 64, 12, 12), (1, 64, 12, 12), 0),
        ("fc1", (1, 9216), (1, 128), 1179776),
        ("dropout2", (1, 128), (1, 128), 0),
        ("fc2", (1, 128), (1, 10), 1290),
    ]
    text = format_trace(rows)
    assert "1×9216" in text and "1,179,776" in text
    head, dashes, first, *_ = text.splitlines()
    assert head.split() == ["层", "类型", "输入", "输出", "参数量"]
    from companion.tables import text_width

    # each column starts where its dashes start, the Chinese header counted two columns a character
    starts = [i for i, c in enumerate(dashes) if c == "-" and (i == 0 or dashes[i - 1] == " ")]
    assert [text_width(head[:head.index(h)]) for h in head.split()] == starts
    assert [first.index(c) for c in first.split()] == starts


def test_trace_removes_hooks_even_when_forward_fails():
    model = DigitRecognizer()
    with pytest.raises(ValueError):
        trace_shapes(model, torch.zeros(1, 1, 32, 32))
    assert all(not m._forward_hooks for m in model.modules())
    trace_shapes(model, torch.zeros(1, 1, 28, 28))
    assert all(not m._forward_hooks for m in model.modules())


def test_trace_rejects_non_modules():
    with pytest.raises(TypeError, match="model of type function: expected an nn.Module"):
        trace_shapes(lambda x: x, torch.zeros(1))
    with pytest.raises(TypeError, match=r"x=\[1, 2\] must be a torch.Tensor"):
        trace_shapes(DigitRecognizer(), [1, 2])


def test_receptive_field():
    from companion import receptive_field

    assert receptive_field([(3, 1), (3, 1)]) == [3, 5]
    assert receptive_field([(3, 1), (3, 1), (2, 2)]) == [3, 5, 6]
    with pytest.raises(ValueError, match="layers\\[0\\]"):
        receptive_field([(0, 1)])
    with pytest.raises(ValueError, match="pair"):
        receptive_field([3])


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 40), out=st.integers(1, 40))
def test_adaptive_windows_are_torchs(size, out):
    from companion.shapes import adaptive_windows

    x = torch.arange(float(size)).view(1, 1, size)
    wins = adaptive_windows(size, out)
    assert len(wins) == out and all(0 <= a < b <= size for a, b in wins)
    by_hand = torch.tensor([x[0, 0, a:b].max().item() for a, b in wins])
    assert torch.equal(by_hand, torch.nn.functional.adaptive_max_pool1d(x, out)[0, 0])


def test_trace_measures_in_eval_mode_and_restores_the_mode():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5)).train()
    before = model[1].running_mean.clone()
    trace_shapes(model, torch.randn(4, 1, 8, 8))
    assert model.training and torch.equal(model[1].running_mean, before)
    model.eval()
    trace_shapes(model, torch.randn(4, 1, 8, 8))
    assert not model.training


@pytest.mark.parametrize("x", [torch.zeros(1, 1, 32, 32), torch.zeros(1, 3, 28, 28), torch.zeros(28, 28),
                               torch.zeros(1, 1, 28, 28, dtype=torch.uint8)])
def test_trace_names_the_input_the_network_needs(x):
    with pytest.raises(ValueError, match=r"cannot run on x of shape .*\(N, 1, 28, 28\)"):
        trace_shapes(DigitRecognizer(), x)


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 3))
def test_window_cells_are_what_unfold_reads(size, k, s, p, d):
    from companion.shapes import window_cells

    if d * (k - 1) + 1 > size + 2 * p:
        return
    index = torch.arange(float(size * size)).view(1, 1, size, size)
    padded = F.pad(index, (p, p, p, p), value=-1.0)  # -1 marks a padding cell
    cols = F.unfold(padded, k, dilation=d, stride=s)[0]  # (k*k, out*out): what each position reads
    out = conv_output_size(size, k, s, p, d)
    for pos in range(out * out):
        i, j = divmod(pos, out)
        expect = [r * size + c if 0 <= r < size and 0 <= c < size else -1 for r, c in window_cells(i, j, k, s, p, d)]
        assert cols[:, pos].tolist() == expect


def test_window_cells_rejects_bad_arguments():
    from companion.shapes import window_cells

    assert window_cells(0, 0, 1) == [(0, 0)]
    for args in [(-1, 0, 3), (0, 0, 0), (0, 0, 3, 0), (0, 0, 3, 1, -1), (0, 0, 3, 1, 0, 0), (0.5, 0, 3)]:
        with pytest.raises(ValueError):
            window_cells(*args)


def test_trace_flow_sees_the_functional_steps_and_agrees_with_the_hooks():
    from companion.shapes import trace_flow

    model = DigitRecognizer().train()
    x = torch.zeros(2, 1, 28, 28)
    rows = trace_flow(model, x)
    assert [r.kind for r in rows] == ["input", "Conv2d", "relu", "Conv2d", "relu", "max_pool2d", "Dropout2d",
                                      "flatten", "Linear", "relu", "Dropout2d", "Linear", "log_softmax"]
    assert rows[0].output_shape == (2, 1, 28, 28) and rows[-1].output_shape == (2, 10)
    by_name = {r.name: r for r in rows}
    for hooked in trace_shapes(model, x):
        assert by_name[hooked.name] == hooked
    assert sum(r.params for r in rows) == 1_199_882 and model.training


def test_trace_flow_refuses_what_it_cannot_trace_or_run():
    from companion.shapes import trace_flow

    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x  # data-dependent control flow: fx cannot record it

    with pytest.raises(ValueError, match="cannot be traced by torch.fx"):
        trace_flow(Branchy(), torch.ones(1))
    with pytest.raises(ValueError, match=r"cannot run on x of shape \(1, 1, 32, 32\)"):
        trace_flow(DigitRecognizer(), torch.zeros(1, 1, 32, 32))
    with pytest.raises(TypeError, match="model of type function: expected an nn.Module"):
        trace_flow(lambda x: x, torch.ones(1))
    with pytest.raises(TypeError, match=r"x=\[1\] must be a torch.Tensor"):
        trace_flow(DigitRecognizer(), [1])
