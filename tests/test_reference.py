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
    with pytest.raises(ValueError, match="4-D"):
        reference.conv2d(torch.zeros(3, 3), torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="input channels"):
        reference.conv2d(torch.zeros(1, 2, 5, 5), torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="stride=0.5"):
        reference.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), stride=0.5)
    with pytest.raises(ValueError, match="bias shape"):
        reference.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(2, 1, 3, 3), torch.zeros(3))
