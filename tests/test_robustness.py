"""companion/robustness.py: lesson 08's deformation experiment."""

import pytest
import torch

import companion
from companion import robustness


def test_shift_moves_pixels_and_fills_with_zeros():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    right = robustness.shift(x, 1, 0)
    assert torch.equal(right[0, 0, :, 1:], x[0, 0, :, :-1]) and right[0, 0, :, 0].abs().sum() == 0
    down = robustness.shift(x, 0, 2)
    assert torch.equal(down[0, 0, 2:], x[0, 0, :2]) and down[0, 0, :2].abs().sum() == 0
    assert torch.equal(robustness.shift(robustness.shift(x, 1, 0), -1, 0)[..., :3], x[..., :3])


def test_warp_identity_and_quarter_turn():
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(robustness.warp(x), x, atol=1e-5)
    turned = robustness.warp(x, angle=90)
    assert torch.allclose(turned, torch.rot90(x, 1, dims=(2, 3)), atol=1e-4)
    with pytest.raises(ValueError, match="zoom=0"):
        robustness.warp(x, zoom=0)


def test_compare_is_relative_change_and_cosine():
    old = torch.tensor([[3.0, 4.0]])
    assert robustness.compare(old, old) == pytest.approx((0.0, 1.0))
    assert robustness.compare(2 * old, old) == pytest.approx((1.0, 1.0))


def test_measure_reproduces_lesson_08_and_restores_the_mode():
    torch.manual_seed(0)
    model = companion.DigitRecognizer().train()
    x, _ = companion.load_sample("test")
    rel, cos = robustness.measure(model, x[:200], {"平移 1 px": robustness.TRANSFORMS["平移 1 px"]})
    r = rel["平移 1 px"]
    assert model.training and set(r) == {"像素", "池化前", "最大池化", "平均池化"}
    assert round(r["池化前"], 3) == 0.562 and round(r["最大池化"], 3) == 0.405  # lesson 08's table
    assert 0 < cos["平移 1 px"]["最大池化"] < 1
    with pytest.raises(ValueError, match=r"expected \(N, 1, 28, 28\)"):
        robustness.views(model, x[:2, :, :20])
