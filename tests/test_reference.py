import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from companion import reference


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 2), c_in=st.integers(1, 3), c_out=st.integers(1, 4), size=st.integers(5, 12),
    k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 2), bias=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_conv2d_equals_torch(n, c_in, c_out, size, k, s, p, d, bias, seed):
    if d * (k - 1) + 1 > size + 2 * p:
        return
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c_in, size, size + 1, generator=g, dtype=torch.float64)
    w = torch.randn(c_out, c_in, k, k, generator=g, dtype=torch.float64)
    b = torch.randn(c_out, generator=g, dtype=torch.float64) if bias else None
    ours = reference.conv2d(x, w, b, stride=s, padding=p, dilation=d)
    theirs = F.conv2d(x, w, b, stride=s, padding=p, dilation=d)
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs, atol=1e-10)


def test_conv2d_asymmetric_arguments():
    x = torch.randn(1, 2, 9, 7, dtype=torch.float64)
    w = torch.randn(3, 2, 3, 2, dtype=torch.float64)
    ours = reference.conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    assert torch.allclose(ours, F.conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=(1, 2)))


def test_conv2d_rejects_bad_input():
    with pytest.raises(ValueError, match=r"x of shape \(3, 3\): expected \(N, C, H, W\)"):
        reference.conv2d(torch.zeros(3, 3), torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="input channels"):
        reference.conv2d(torch.zeros(1, 2, 5, 5), torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="stride=0.5"):
        reference.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), stride=0.5)
    with pytest.raises(ValueError, match=r"bias of shape \(3,\): expected \(2,\)"):
        reference.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(2, 1, 3, 3), torch.zeros(3))


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(2, 11), k=st.integers(1, 3), s=st.one_of(st.none(), st.integers(1, 3)), seed=st.integers(0, 999)
)
def test_pooling_equals_torch(size, k, s, seed):
    if k > size:
        return
    x = torch.randn(2, 3, size, size + 1, generator=torch.Generator().manual_seed(seed))
    ours, idx = reference.max_pool2d(x, k, s, return_indices=True)
    theirs, tidx = F.max_pool2d(x, k, s, return_indices=True)
    assert torch.equal(ours, theirs) and torch.equal(idx, tidx)
    assert torch.allclose(reference.avg_pool2d(x, k, s), F.avg_pool2d(x, k, s), atol=1e-6)


def test_the_notes_pooling_example():
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4)
    assert reference.max_pool2d(x, 2).squeeze().tolist() == [[6, 8], [14, 16]]
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        reference.max_pool2d(torch.zeros(4, 4), 2)


def test_dropout2d_zeroes_whole_channels_and_scales():
    x = torch.ones(64, 16, 3, 3)
    out, keep = reference.dropout2d(x, 0.25, torch.Generator().manual_seed(0))
    assert keep.shape == (64, 16)
    per_channel = out.flatten(2)
    assert torch.all((per_channel == 0).all(-1) | (per_channel == 1 / 0.75).all(-1))
    assert torch.equal((per_channel[..., 0] != 0), keep)
    assert 0.15 < 1 - keep.float().mean().item() < 0.35
    with pytest.raises(ValueError, match="p=1"):
        reference.dropout2d(x, 1)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        reference.dropout2d(torch.ones(4, 4), 0.5)


def test_dropout_elementwise_statistics():
    x = torch.ones(100_000)
    out, keep = reference.dropout(x, 0.5, torch.Generator().manual_seed(0))
    assert abs(out.mean().item() - 1) < 0.02 and set(out.unique().tolist()) == {0.0, 2.0}


def test_linear_relu_log_softmax_nll_equal_torch():
    g = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(5, 7, generator=g), torch.randn(3, 7, generator=g), torch.randn(3, generator=g)
    assert torch.allclose(reference.linear(x, w, b), F.linear(x, w, b), atol=1e-5)
    assert torch.allclose(reference.linear(x, w), x @ w.T, atol=1e-5)
    assert torch.equal(reference.relu(x), F.relu(x))
    big = torch.tensor([[1000.0, 0.0, -1000.0]])
    assert torch.allclose(reference.log_softmax(big), F.log_softmax(big, dim=1))
    lp = F.log_softmax(x @ w.T, dim=1)
    t = torch.tensor([0, 2, 1, 1, 0])
    assert torch.allclose(reference.nll_loss(lp, t), F.nll_loss(lp, t))
    with pytest.raises(ValueError, match="in_features"):
        reference.linear(torch.zeros(2, 4), torch.zeros(3, 5))
    with pytest.raises(ValueError, match="target from 0 to 5: expected classes 0..2"):
        reference.nll_loss(lp, torch.tensor([0, 5, 1, 1, 0]))
