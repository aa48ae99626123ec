"""companion/prepare.py on real sample digits made harder the ways users' images are: framed,
off-centre, thick, thin, inverted, scaled, in colour, in other number types, with an outlier
pixel, on a noisy background. Each is prepared and compared with the prepared original, and a
network trained on the sample must keep its reading of most of them. Then each step alone,
and its refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage

from companion import prepare as pp
from companion.predict import predict_image

#: digits of each class taken from the sample's test split
PER_CLASS = 4


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """``PER_CLASS`` real test digits of each class (28×28 floats in [0, 1], white on black), and their labels."""
    from companion import load_sample

    x, y = load_sample("test")
    pick = np.concatenate([np.flatnonzero(y.numpy() == c)[:PER_CLASS] for c in range(10)])
    return x[pick, 0].numpy(), y[pick].numpy()


@pytest.fixture(scope="module")
def network():
    """The 'fixed' network trained with the course recipe on the sample's training split (seed 0,
    CPU, float32), kept in the course cache so that it is trained once."""
    from companion.cache import cache_dir
    from companion.checkpoint import load_checkpoint, save_checkpoint

    path = cache_dir() / "tests" / f"prepare-network-torch{torch.__version__}.pt"
    try:
        return load_checkpoint(path).model
    except (OSError, ValueError):
        pass
    from companion import load_sample
    from companion.model import make_model
    from companion.train import fit

    x, y = load_sample("train")
    model = make_model("fixed", seed=0)
    fit(model, x, y, seed=0, device="cpu", progress=False, amp=False)
    save_checkpoint(path, model)
    return model.eval()


# ── the ways an image can differ from MNIST's ─────────────────────────────────────


def _canvas(d: np.ndarray, size: int, top: int | None = None, left: int | None = None) -> np.ndarray:
    """``d`` (white on black) on a black ``size``×``size`` canvas, centred unless placed."""
    c = np.zeros((size, size), np.float32)
    h, w = d.shape
    top = (size - h) // 2 if top is None else top
    left = (size - w) // 2 if left is None else left
    c[top : top + h, left : left + w] = d
    return c


def _frame(a: np.ndarray, width: int, margin: int = 0, value: float = 1.0) -> np.ndarray:
    """``a`` with a square frame ``width`` pixels wide, ``margin`` pixels in from the edge."""
    a = a.copy()
    h, w = a.shape
    m, t = margin, width
    a[m : m + t, m : w - m] = a[h - m - t : h - m, m : w - m] = value
    a[m : h - m, m : m + t] = a[m : h - m, w - m - t : w - m] = value
    return a


def _resized(d: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(d.astype(np.float32)).resize((size, size), Image.Resampling.BILINEAR)).clip(0, 1)


def _tight(a: np.ndarray) -> np.ndarray:
    """``a`` cropped to the box of its pixels above 0.1."""
    return a[np.ix_((a > 0.1).any(axis=1), (a > 0.1).any(axis=0))]


def _table(sheet: np.ndarray) -> np.ndarray:
    """``sheet`` (48 pixels high) at the right of a photo 120 wide whose left 60 % is a dark table."""
    photo = np.full((sheet.shape[0], 120), 0.05, np.float32)
    photo[:, 120 - sheet.shape[1] :] = sheet
    return photo


def _with(a: np.ndarray, where: tuple[int, int], value: float) -> np.ndarray:
    a = a.copy()
    a[where] = value
    return a


def variants(d: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The real digit ``d`` (28×28 in [0, 1], white on black) made harder, by name."""
    rng = np.random.default_rng(seed)
    big = _resized(d, 84)  # three times larger, so that strokes can grow and shrink by a pixel
    corner = np.zeros((48, 48), np.float32)
    corner[:6], corner[:, :5] = 1.0, 1.0
    return {
        "dark frame on white": 1 - _frame(_canvas(d, 48), 3),
        "thick dark frame on white": 1 - _frame(_canvas(d, 60), 8),
        "dark frame inside the picture": 1 - _frame(_canvas(d, 56), 2, margin=4),
        "white frame on black": _frame(_canvas(d, 48), 3),
        "dark border on two sides": 1 - np.maximum(_canvas(d, 48), corner),
        "dark table on 60 % of the photo": _table(1 - _canvas(d, 48)),
        "off-centre, in a corner": _canvas(d, 80, 2, 50),
        "off-centre, black on white": 1 - _canvas(d, 64, 30, 3),
        "thick strokes": _canvas(ndimage.grey_dilation(big, size=(7, 7)), 100),
        "thin strokes": _canvas(ndimage.grey_erosion(big, size=(3, 3)), 100),
        "thick, dilated at 28 pixels": _canvas(ndimage.grey_dilation(d, size=(3, 3)), 36),
        "inverted": 1 - d,
        "cropped tight to its ink": _tight(_resized(d, 60)),
        "small (16 pixels)": _canvas(_resized(d, 16), 40),
        "large (200 pixels)": _canvas(_resized(d, 200), 240),
        "RGB, coloured ink on white": np.stack([1 - 0.8 * d, 1 - 0.6 * d, 1 - 0.2 * d], -1),
        "RGBA, black on transparent": np.dstack([np.zeros((28, 28, 3), np.float32), d]),
        "uint8": (_canvas(d, 40) * 255).round().astype(np.uint8),
        "uint16, 12 bits, black on white": ((1 - _canvas(d, 40)) * 4095).round().astype(np.uint16),
        "float, one pixel at 1.02": _with(_canvas(d, 40), (3, 3), 1.02),
        "uint8, one pixel at 255 on grey ink": _with((_canvas(d, 40) * 140).round().astype(np.uint8), (3, 3), 255),
        "noisy grey background": np.clip(_canvas(d, 48) * 0.8 + 0.1 + rng.normal(0, 0.05, (48, 48)), 0, 1),
        "salt specks": np.maximum(_canvas(d, 48), (rng.random((48, 48)) < 0.01).astype(np.float32)),
    }


#: per variant: the least correlation of a prepared variant with its prepared original, the
#: least median of those correlations, and the least share of digits that the network reads
#: as it reads the original. Measured on these 40 digits (Linux x86-64, torch 2.14.1, the same
#: with ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1): 0.991 / 1.000 / 100 % or better for
#: frames, borders, off-centre, inverted, colour, number types and outliers; thick strokes
#: 0.726 / 0.807 / 92.5 %, dilated at 28 pixels 0.729 / 0.798 / 90 %, thin 0.735 / 0.980 / 95 %,
#: small 0.672 / 0.874 / 90 %, large 0.777 / 0.973 / 100 %, cropped tight 0.833 / 0.972 / 100 %,
#: noisy 0.825 / 0.992 / 97.5 %, salt specks 0.878 / 0.990 / 100 %, a dark table on 60 % of
#: the photo 0.845 / 1.000 / 100 %. The network reads 87.5 % of
#: the prepared originals right. The bounds leave a margin below each.
EXACT = (0.95, 0.99, 0.95)
BOUNDS = {
    "thick strokes": (0.6, 0.7, 0.8),
    "thick, dilated at 28 pixels": (0.6, 0.7, 0.75),
    "thin strokes": (0.6, 0.9, 0.85),
    "small (16 pixels)": (0.55, 0.8, 0.8),
    "large (200 pixels)": (0.65, 0.9, 0.9),
    "cropped tight to its ink": (0.65, 0.9, 0.9),
    "noisy grey background": (0.7, 0.95, 0.9),
    "salt specks": (0.75, 0.95, 0.9),
    "dark table on 60 % of the photo": (0.7, 0.95, 0.9),
}
NAMES = list(variants(np.zeros((28, 28), np.float32) + np.eye(28, dtype=np.float32), 0))


@pytest.fixture(scope="module")
def prepared(digits) -> dict[str, list[np.ndarray]]:
    """Every variant of every digit, prepared (28×28 fields); ``'original'``: the digits themselves."""
    images, _ = digits
    out = {"original": [pp.prepare(d).field for d in images]}
    for i, d in enumerate(images):
        for name, image in variants(d, seed=i).items():
            out.setdefault(name, []).append(pp.prepare(image).field)
    return out


@pytest.fixture(scope="module")
def readings(prepared, network) -> dict[str, np.ndarray]:
    """The network's digit for every prepared field, by variant (one batch each)."""
    from companion.mnist import normalize

    with torch.no_grad():
        return {name: network(normalize(torch.from_numpy(np.stack(fields))[:, None])).argmax(1).numpy()
                for name, fields in prepared.items()}


def test_variants_cover_the_issue():
    assert {"dark frame on white", "off-centre, in a corner", "thick strokes", "thin strokes", "inverted",
            "float, one pixel at 1.02"} <= set(NAMES) and set(BOUNDS) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_variant_prepares_like_its_original(prepared, name):
    least, median, _ = BOUNDS.get(name, EXACT)
    r = np.array([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(prepared[name], prepared["original"])])
    worst = int(r.argmin())
    assert r.min() >= least, f"{name}: digit {worst} correlates {r.min():.3f} with its original (bound {least})"
    assert np.median(r) >= median, f"{name}: median correlation {np.median(r):.3f} (bound {median})"
    assert all(f.shape == (28, 28) and f.min() >= 0 and f.max() <= 1 for f in prepared[name])


@pytest.mark.parametrize("name", NAMES)
def test_the_network_reads_a_variant_as_its_original(readings, name):
    share = float((readings[name] == readings["original"]).mean())
    assert share >= BOUNDS.get(name, EXACT)[2], f"{name}: read as the original for {share:.0%} of the digits"


def test_the_network_reads_the_sample_digits(readings, digits):
    assert (readings["original"] == digits[1]).mean() >= 0.8  # 87.5 % measured (see BOUNDS)


# ── the issue's two examples ──────────────────────────────────────────────────────


def test_a_seven_in_a_dark_frame_is_read_as_seven(digits, readings, network):
    images, labels = digits
    sevens = np.flatnonzero((labels == 7) & (readings["original"] == 7))
    assert len(sevens) >= 2
    for i in sevens:
        framed = 1 - _frame(_canvas(images[i], 48), 3)  # black ink on white paper, in a black frame
        digit, probs = predict_image(network, (framed * 255).astype(np.uint8))
        assert digit == 7 and probs[7] > 0.5, (i, probs)


def test_one_pixel_at_1_02_does_not_hide_the_ink(digits):
    d = digits[0][0]
    image = _with(_canvas(d, 40), (0, 0), 1.02)
    assert torch.allclose(pp.prepare(image).tensor(), pp.prepare(_canvas(d, 40)).tensor(), atol=1e-6)
    lifted = _with(_canvas(d, 40) * 0.5, (0, 0), 1.0)  # grey ink and one white pixel: the ink is scaled to 1
    assert pp.prepare(lifted).field.max() == pytest.approx(1.0)


# ── each step alone ───────────────────────────────────────────────────────────────


def _bar(h=60, w=90, top=10, left=20, bh=30, bw=15, ink=0.0, paper=1.0) -> np.ndarray:
    a = np.full((h, w), paper, dtype=np.float32)
    a[top : top + bh, left : left + bw] = ink
    return a


def test_read_gray_takes_every_kind_of_image(tmp_path):
    bar = _bar()
    ref = pp.read_gray(bar)
    assert ref.dtype == np.float32 and ref.shape == (60, 90)
    rgb = np.repeat(bar[..., None], 3, axis=-1)
    assert np.allclose(pp.read_gray(rgb), bar, atol=1e-6)
    assert np.allclose(pp.read_gray(torch.from_numpy(np.moveaxis(rgb, -1, 0).copy())), bar, atol=1e-6)  # C×H×W
    assert np.allclose(pp.read_gray(bar.tolist()), bar)
    assert np.allclose(pp.read_gray(torch.from_numpy(bar).to(torch.bfloat16)), bar, atol=1e-2)
    rgba = np.zeros((60, 90, 4), np.uint8)
    rgba[10:40, 20:35, 3] = 255  # black ink where opaque, transparent elsewhere: white paper
    assert np.allclose(pp.read_gray(rgba) / 255, bar, atol=1e-6)
    assert np.allclose(pp.read_gray(Image.fromarray(rgba, "RGBA")) / 255, bar, atol=1e-6)
    la = np.stack([np.zeros((60, 90)), rgba[..., 3]], -1).astype(np.uint8)  # gray and alpha
    assert np.allclose(pp.read_gray(la) / 255, bar, atol=1e-6)
    Image.fromarray((bar * 255).astype(np.uint8)).save(tmp_path / "bar.png")
    assert np.allclose(pp.read_gray(tmp_path / "bar.png") / 255, bar)
    assert np.allclose(pp.read_gray(str(tmp_path / "bar.png")) / 255, bar)
    deep = (bar * 65535).astype(np.uint16)
    assert np.allclose(pp.read_gray(Image.fromarray(deep)), deep)
    assert pp.read_gray(np.zeros((1, 28, 28), bool)).shape == (28, 28)
    assert pp.read_gray(np.zeros((10, 44))).shape == (10, 44)  # narrow, as a 1 cropped tight is
    assert pp.read_gray(np.zeros((1, 1, 28, 1))).shape == (28, 1)  # a column stays a column
    assert pp.read_gray(np.zeros((28, 28, 1))).shape == (28, 28)


@pytest.mark.parametrize("image, error, words", [
    (None, TypeError, "image=None must be an image file's path, a PIL image"),
    (b"png", TypeError, "image=b'png' must be an image file's path"),
    (np.zeros((0, 30)), ValueError, r"image of shape \(0, 30\) is empty"),
    (np.zeros((20, 20)), ValueError, "20×20 pixels: need at least MIN_SIDE=28 pixels on its longer side"),
    (np.zeros(900), ValueError, r"image of shape \(900,\): expected a 2-D grayscale"),
    (np.zeros((30, 30, 5)), ValueError, r"image of shape \(30, 30, 5\)"),
    ([[0.0] * 30, [0.0] * 29], ValueError, "is ragged"),
    (np.full((30, 30), np.inf), ValueError, "not finite"),
    (np.zeros((30, 30), complex), ValueError, "dtype complex128: expected numbers"),
])
def test_read_gray_refuses_what_is_not_an_image(image, error, words):
    with pytest.raises(error, match=words):
        pp.read_gray(image)


def test_read_gray_bounds_the_size(tmp_path, monkeypatch):
    monkeypatch.setattr(pp, "MAX_PIXELS", 5000)
    with pytest.raises(ValueError, match="image of 90×60 pixels \\(5,400\\): at most MAX_PIXELS=5,000 are read"):
        pp.read_gray(_bar())
    Image.fromarray((_bar() * 255).astype(np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(ValueError, match="big.png: image of 90×60 pixels"):  # refused before decoding
        pp.read_gray(tmp_path / "big.png")
    assert pp.MAX_PIXELS == 5000 and pp.read_gray(_bar(h=50, w=90)).shape == (50, 90)


def test_split_level_separates_paper_from_ink():
    bar = _bar(ink=0.2, paper=0.9)
    level = pp.split_level(bar)
    assert 0.2 <= level < 0.9
    assert pp.split_level(_with(bar, (0, 0), 1000.0)) == pytest.approx(level, abs=0.01)  # one outlier ignored
    assert 0.0 <= pp.split_level(_with(np.zeros((30, 30), np.float32), (5, 5), 1.0)) < 1.0  # one ink pixel
    with pytest.raises(ValueError, match="the image has no ink: every pixel is 0.5"):
        pp.split_level(np.full((30, 30), 0.5, np.float32))


def test_scale_ink_puts_background_at_0_and_ink_at_1():
    bar = _bar(ink=0.2, paper=0.9)
    dark_ink = pp.scale_ink(bar, inverted=True)
    assert dark_ink.dtype == np.float32 and dark_ink.max() == 1 and dark_ink[0, 0] == 0
    assert np.array_equal(dark_ink > 0.5, bar < 0.5)
    light_ink = pp.scale_ink(bar, inverted=False)  # the other polarity: the paper is the ink
    assert np.array_equal(light_ink > 0.5, bar > 0.5)
    noisy = bar + np.random.default_rng(0).normal(0, 0.02, bar.shape).astype(np.float32)
    assert (pp.scale_ink(noisy, inverted=True)[bar > 0.5] == 0).mean() > 0.99  # background noise cut
    with pytest.raises(TypeError, match="inverted='yes' must be True or False"):
        pp.scale_ink(bar, "yes")
    with pytest.raises(TypeError, match="gray of type list: expected a 2-D numpy array"):
        pp.scale_ink(bar.tolist(), True)


def test_remove_clutter_takes_frames_borders_and_specks_away():
    a = np.zeros((60, 60), np.float32)
    a[15:45, 25:35] = 1.0  # the digit
    framed = _frame(a, 3)
    assert np.array_equal(pp.remove_clutter(framed), a)  # a frame that touches the edge
    inner = _frame(a, 2, margin=5)
    assert np.array_equal(pp.remove_clutter(inner), a)  # a frame drawn inside the picture
    specks = a.copy()
    specks[50, 50] = specks[5, 5] = 1.0
    assert np.array_equal(pp.remove_clutter(specks), a)
    edge = np.zeros((60, 60), np.float32)
    edge[0:40, 25:35] = 1.0  # the digit itself touches the edge: it stays
    assert np.array_equal(pp.remove_clutter(edge), edge)
    faint = a.copy()
    faint[14, 25:35] = 0.1  # its antialiased rim stays
    assert np.array_equal(pp.remove_clutter(faint), faint)
    with pytest.raises(ValueError, match="no ink found: no pixel is above threshold=0.2 \\(scaled's largest is 0.1\\)"):
        pp.remove_clutter(np.full((30, 30), 0.1, np.float32))
    with pytest.raises(ValueError, match="threshold=1.0 must be a number in \\[0, 1\\)"):
        pp.remove_clutter(a, 1.0)


def test_looks_like_paper_and_separate_ink():
    sheet = np.zeros((60, 60), np.float32)
    sheet[8:52, 8:52] = 1.0
    sheet[20:40, 28:32] = 0.0  # the digit, a hole in the sheet
    assert pp.looks_like_paper(sheet) and not pp.looks_like_paper(np.zeros((30, 30), np.float32))
    digit = np.zeros((60, 60), np.float32)
    digit[20:40, 28:32] = 1.0
    assert not pp.looks_like_paper(digit)
    framed = 1 - _frame(digit, 8)  # black ink and a thick black frame on white: more black than white
    scaled, cleaned, inverted = pp.separate_ink(framed)
    assert inverted and np.array_equal(cleaned > 0.5, digit > 0.5) and scaled[0, 0] == 1  # the frame was ink
    assert not pp.separate_ink(digit)[2]
    ys, xs = np.mgrid[0:48, 0:48]
    r = np.hypot((ys - 24) / 12, (xs - 24) / 8)
    ring = ((r > 0.7) & (r <= 1.0)).astype(np.float32)  # a 0, drawn dark on a sheet that a dark table mostly hides
    scaled, cleaned, inverted = pp.separate_ink(_table(1 - ring))
    assert inverted and np.array_equal(cleaned[:, 72:] > 0.5, ring > 0.5)  # the 0, not its inside
    assert not (cleaned[:, :72] > 0).any()  # nor the table


def test_crop_resize_and_centre():
    a = np.zeros((60, 90), np.float32)
    a[10:40, 20:35] = 1.0
    crop = pp.crop_to_ink(a)
    assert crop.shape == (30, 15)
    small = pp.resize_longer_side(crop)
    assert small.shape == (20, 10) and small.min() >= 0 and small.max() <= 1
    assert pp.resize_longer_side(np.ones((5, 40), np.float32)).shape == (2, 20)
    field = pp.centre_by_mass(small)
    ys, xs = np.mgrid[0:28, 0:28]
    assert field.shape == (28, 28) and field.sum() == pytest.approx(small.sum())
    assert abs((field * ys).sum() / field.sum() - pp.CENTRE) <= 0.5
    assert abs((field * xs).sum() / field.sum() - pp.CENTRE) <= 0.5
    lopsided = np.zeros((20, 20), np.float32)
    lopsided[:, :2] = 1.0  # its centre of mass at (14, 14) would push its box out of the field
    assert pp.centre_by_mass(lopsided)[:, 8:10].sum() == 40  # at the far right its box still fits
    with pytest.raises(ValueError, match="no ink found"):
        pp.crop_to_ink(np.zeros((30, 30), np.float32))
    with pytest.raises(ValueError, match="size=0 must be an integer from 1 to 112"):
        pp.resize_longer_side(crop, 0)
    with pytest.raises(ValueError, match=r"size=10 must be at least small's longer side \(20\)"):
        pp.centre_by_mass(small, 10)
    with pytest.raises(ValueError, match="crop of shape \\(30,\\)"):
        pp.resize_longer_side(np.ones(30, np.float32))


def test_the_centre_is_where_the_sample_has_it():
    from companion import load_sample

    x, _ = load_sample("all")
    img = x[:, 0].double()
    ys = torch.arange(28.0, dtype=torch.float64)
    cy = ((img.sum(2) * ys).sum(1) / img.sum((1, 2))).mean().item()
    cx = ((img.sum(1) * ys).sum(1) / img.sum((1, 2))).mean().item()
    assert round(cy, 1) == round(cx, 1) == pp.CENTRE  # "at 14.0 on average", as the module says


def test_prepare_keeps_every_step(digits):
    d = digits[0][0]
    p = pp.prepare(1 - _canvas(d, 50))
    assert p.inverted and p.gray.shape == p.scaled.shape == p.cleaned.shape == (50, 50)
    assert max(p.resized.shape) == pp.BOX and p.field.shape == (pp.FIELD, pp.FIELD)
    assert p.tensor().shape == (1, 1, 28, 28) and p.tensor().dtype == torch.float32
    from companion.mnist import normalize

    assert torch.equal(p.normalized(), normalize(p.tensor()))
    with pytest.raises(TypeError, match="ink_threshold='0.2' must be a number, not a str"):
        pp.prepare(d, "0.2")
    with pytest.raises(ValueError, match="ink_threshold=1.5 must be a number in \\[0, 1\\)"):
        pp.prepare(d, 1.5)
    with pytest.raises(ValueError, match="the image has no ink: every pixel is 0"):
        pp.prepare(np.zeros((30, 30)))


@pytest.mark.parametrize("image", [
    _with(np.zeros((30, 30), np.float32), (4, 7), 1e-3),  # one faint pixel
    _with(np.ones((30, 30), np.float32), (29, 29), 0.0),  # one dark pixel in a corner
    np.tile(np.linspace(0, 1, 40, dtype=np.float32), (30, 1)),  # a gradient
    np.eye(40, dtype=np.float32) * -5.0,  # negative numbers are brightness too
], ids=["faint pixel", "corner pixel", "gradient", "negative"])
def test_an_image_with_ink_is_never_said_to_have_none(image):
    field = pp.prepare(image).field
    assert field.shape == (28, 28) and field.max() > 0.3  # a line a pixel wide, shrunk, is grey


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), side=st.integers(28, 64), levels=st.integers(2, 256))
def test_any_image_of_two_values_or_more_is_prepared(seed, side, levels):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, levels, (side, rng.integers(1, 2 * side))).astype(np.uint8)
    image.flat[:2] = (0, levels - 1)  # at least two values
    field = pp.prepare(image).field
    assert field.shape == (28, 28) and 0 <= field.min() and field.max() <= 1 and field.max() > 0.5
