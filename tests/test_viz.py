import matplotlib
import pytest
import torch

from companion import viz

pytestmark = pytest.mark.usefixtures("figures")


def test_chinese_font_is_registered():
    from matplotlib import font_manager

    name = viz.use_chinese_font()
    path = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
    assert path.endswith("NotoSansCJKsc-Regular.otf")


def test_grid_and_digit_and_filters_and_maps():
    assert len(viz.show_grid(torch.zeros(5, 4, 4), ncols=2).axes) == 6
    assert len(viz.show_digit(torch.zeros(1, 1, 28, 28), title="x").axes) == 1
    assert len(viz.show_filters(torch.randn(6, 1, 3, 3), ncols=3).axes) == 6
    assert len(viz.show_feature_maps(torch.rand(1, 4, 5, 5), limit=3).axes) == 3
    with pytest.raises(ValueError, match="2-D"):
        viz.show_grid([torch.zeros(2, 3, 3, 3)])
    with pytest.raises(ValueError, match="titles"):
        viz.show_grid(torch.zeros(2, 3, 3), titles=["a"])
    with pytest.raises(ValueError, match="in_channel=1"):
        viz.show_filters(torch.randn(2, 1, 3, 3), in_channel=1)
    with pytest.raises(ValueError, match="expected one 2-D image"):
        viz.show_digit(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        viz.show_feature_maps(torch.zeros(3, 3))


def test_pooling_figure_marks_every_winner():
    fig = viz.show_pooling(torch.arange(1.0, 17.0).view(4, 4))
    circles = [p for p in fig.axes[0].patches if isinstance(p, matplotlib.patches.Circle)]
    assert sorted((c.center[1], c.center[0]) for c in circles) == [(1, 1), (1, 3), (3, 1), (3, 3)]
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == ["6", "8", "14", "16"]
    with pytest.raises(ValueError):
        viz.show_pooling(torch.zeros(20, 20))


def test_channel_mask():
    ax = viz.show_channel_mask(torch.rand(2, 4) > 0.5).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("通道", "样本")  # the lessons' language
    assert viz.show_channel_mask(torch.rand(2, 4) > 0.5, columns="元素").axes[0].get_xlabel() == "元素"
    with pytest.raises(ValueError):
        viz.show_channel_mask(torch.zeros(3))


def _limits(fig):
    return [ax.images[0].get_clim() for ax in fig.axes if ax.images]


def test_shared_scale_gives_every_panel_one_colour_scale_and_a_colorbar():
    small, large = torch.full((3, 3), 0.5), torch.arange(9.0).view(3, 3) - 2
    apart = viz.show_grid([small, large])
    assert _limits(apart) == [(0.5, 0.5), (-2.0, 6.0)]  # by default each panel has its own
    shared = viz.show_grid([small, large], shared=True)
    assert _limits(shared) == [(-2.0, 6.0), (-2.0, 6.0)] and len(shared.axes) == 2
    symmetric = viz.show_grid([small, large], symmetric=True, shared=True, colorbar=True)
    assert _limits(symmetric)[:2] == [(-6.0, 6.0), (-6.0, 6.0)]
    bar = symmetric.axes[-1]  # the colorbar's axes, labelling the same scale
    assert len(symmetric.axes) == 3 and bar.get_ylim() == (-6.0, 6.0)
    filters = viz.show_filters(torch.tensor([[[[1.0, -3.0], [0.0, 0.0]]], [[[0.5, 0.0], [0.0, 0.0]]]]), ncols=2,
                               shared=True, colorbar=True)
    assert _limits(filters)[:2] == [(-3.0, 3.0), (-3.0, 3.0)] and len(filters.axes) == 3


def test_a_colorbar_needs_a_shared_scale():
    with pytest.raises(ValueError, match="colorbar=True needs shared=True"):
        viz.show_grid([torch.zeros(2, 2)], colorbar=True)
    with pytest.raises(TypeError, match="shared=1 must be True or False"):
        viz.show_grid([torch.zeros(2, 2)], shared=1)


def test_mosaic_tiles_the_maps_unscaled_with_nan_gaps():
    maps = torch.arange(5 * 2 * 3, dtype=torch.float32).view(5, 2, 3)
    canvas = viz.mosaic(maps, ncols=2)
    assert canvas.shape == (3 * 3 - 1, 2 * 4 - 1)
    assert torch.equal(canvas[0:2, 0:3], maps[0]) and torch.equal(canvas[0:2, 4:7], maps[1])
    assert torch.equal(canvas[6:8, 0:3], maps[4])  # the fifth map starts the third row
    assert torch.isnan(canvas[2]).all() and torch.isnan(canvas[:, 3]).all()
    assert torch.isnan(canvas[6:8, 4:7]).all()  # no sixth map
    assert int((~torch.isnan(canvas)).sum()) == maps.numel()
    assert viz.mosaic(maps, ncols=8).shape == (2, 5 * 4 - 1)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        viz.mosaic(torch.zeros(2, 2), ncols=1)
    with pytest.raises(ValueError, match="ncols=0"):
        viz.mosaic(maps, ncols=0)


def test_panels_share_one_colour_scale_and_one_colorbar():
    a, b = torch.zeros(4, 4), torch.arange(16.0).view(4, 4) - 3
    fig = viz.show_panels([a, b, b / 2], titles=["a", "b", "c"], label="值")
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 3
    assert all(im.get_clim() == (-3.0, 12.0) for im in images)
    bars = [ax for ax in fig.axes if not ax.images]
    assert len(bars) == 1 and bars[0].get_ylabel() == "值"
    sym = viz.show_panels([a, b], symmetric=True)
    assert sym.axes[0].images[0].get_clim() == (-12.0, 12.0)
    flat = viz.show_panels([a])
    assert flat.axes[0].images[0].get_clim() == (0.0, 1.0)
    gaps = torch.full((4, 4), float("nan"))
    gaps[0, 0], gaps[1, 1] = -2.0, 5.0
    assert viz.show_panels([gaps, a]).axes[0].images[0].get_clim() == (-2.0, 5.0)
    with pytest.raises(ValueError, match="empty"):
        viz.show_panels([])
    with pytest.raises(ValueError, match="2-D"):
        viz.show_panels([torch.zeros(2, 3, 3)])
    with pytest.raises(ValueError, match="titles"):
        viz.show_panels([a, b], titles=["a"])
    with pytest.raises(ValueError, match="size=0"):
        viz.show_panels([a], size=0)


def test_channel_mask_scale_is_fixed_and_its_colorbar_optional():
    keep = torch.ones(3, 5, dtype=torch.bool)  # nothing dropped: still drawn on the 0..1 scale
    plain = viz.show_channel_mask(keep)
    assert len(plain.axes) == 1 and plain.axes[0].images[0].get_clim() == (0.0, 1.0)
    fig = viz.show_channel_mask(keep, colorbar=True)
    assert len(fig.axes) == 2 and fig.axes[0].images[0].get_clim() == (0.0, 1.0)
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["0 丢弃", "1 保留"]
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        viz.show_channel_mask(torch.ones(2, 2, 2))
