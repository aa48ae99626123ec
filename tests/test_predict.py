"""companion/predict.py: reading a digit from an image the MNIST way."""

import numpy as np
import pytest
import torch

from companion.model import make_model
from companion.predict import predict_image, prepare_image


def _blob(h=60, w=90, top=10, left=20, bh=30, bw=15, ink=0.0, paper=1.0):
    a = np.full((h, w), paper, dtype=np.float32)
    a[top : top + bh, left : left + bw] = ink
    return a

def test_prepare_image_inverts_crops_scales_and_centres():
    x = prepare_image(_blob())  # dark 30×15 bar on white
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    img = x[0, 0]
    assert img.max().item() == pytest.approx(1.0, abs=0.02) and img[0].abs().max() == 0  # inverted: black border
    rows = torch.nonzero(img.sum(1) > 0.1).flatten()
    cols = torch.nonzero(img.sum(0) > 0.1).flatten()
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 == 10  # longer side 20, aspect kept
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    cy, cx = (img * ys).sum() / img.sum(), (img * xs).sum() / img.sum()
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5  # MNIST's centre of mass: pixel (14, 14)
    # light ink on black is not inverted, and gives the same digit
    assert torch.allclose(prepare_image(_blob(ink=1.0, paper=0.0)), x, atol=1e-6)

def test_prepare_image_from_files(tmp_path):
    from PIL import Image

    a = (_blob() * 255).astype(np.uint8)
    Image.fromarray(a).convert("RGB").save(tmp_path / "rgb.png")
    rgba = np.zeros((60, 90, 4), dtype=np.uint8)  # black strokes on a transparent background
    rgba[10:40, 20:35, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    ref = prepare_image(_blob())
    assert torch.allclose(prepare_image(tmp_path / "rgb.png"), ref, atol=0.02)
    assert torch.allclose(prepare_image(str(tmp_path / "rgba.png")), ref, atol=0.02)
    (tmp_path / "text.png").write_text("not an image", encoding="utf-8")
    with pytest.raises(ValueError, match="not an image that Pillow can read"):
        prepare_image(tmp_path / "text.png")
    with pytest.raises(FileNotFoundError, match="no such image file"):
        prepare_image(tmp_path / "none.png")

def test_prepare_image_errors():
    with pytest.raises(ValueError, match="20×20 pixels: need at least MIN_SIDE=28 pixels on its longer side"):
        prepare_image(np.zeros((20, 20)))
    with pytest.raises(ValueError, match="no ink"):
        prepare_image(np.ones((28, 28)))
    with pytest.raises(ValueError, match="expected a 2-D grayscale"):
        prepare_image(np.zeros((2, 28, 28)))

def test_a_real_digit_survives_preparation(tiny):
    x, _, _, _ = tiny
    digit = x[5, 0]
    again = prepare_image((1.0 - digit).numpy())  # as dark ink on paper
    assert (again[0, 0] - digit).abs().mean() < 0.1
    label, probs = predict_image(make_model(), (digit * 255).numpy().astype(np.uint8))
    assert 0 <= label <= 9 and probs.shape == (10,) and abs(probs.sum().item() - 1) < 1e-5


# ── images as cameras and scanners write them ────────────────────────────────────────


def test_exif_orientation_is_applied(tmp_path):
    from PIL import Image

    upright = (_blob(h=60, w=90, top=10, left=20, bh=30, bw=12) * 255).astype(np.uint8)
    ref = prepare_image(upright)
    # a phone stores the sensor's pixels (here turned a quarter) and notes "rotate 90° clockwise to view"
    stored = Image.fromarray(np.rot90(upright, 1).copy())
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW
    stored.save(tmp_path / "photo.jpg", exif=exif, quality=100)
    stored.save(tmp_path / "photo.png", exif=exif)
    for name in ("photo.jpg", "photo.png"):
        assert (prepare_image(tmp_path / name) - ref).abs().max() < 0.05, name
    assert (prepare_image(stored) - ref).abs().max() > 0.3  # the pixels alone are sideways


@pytest.mark.parametrize("top", [65535, 4095, 1023])
def test_16_bit_and_12_bit_grayscale_is_read_in_full(tmp_path, top):
    from PIL import Image

    ref = prepare_image(_blob(ink=0.25))
    deep = (_blob(ink=0.25) * top).astype(np.uint16)  # grey ink on paper at the scanner's full brightness
    Image.fromarray(deep).save(tmp_path / "scan.png")
    with Image.open(tmp_path / "scan.png") as im:
        assert im.mode.startswith("I")  # stored with more than 8 bits
    assert torch.allclose(prepare_image(tmp_path / "scan.png"), ref, atol=0.02)
    assert torch.allclose(prepare_image(deep), ref, atol=0.02)  # the same array given directly


def test_an_image_over_pillows_limit_is_named(tmp_path, monkeypatch):
    from PIL import Image

    Image.fromarray((_blob() * 255).astype(np.uint8)).save(tmp_path / "big.png")  # 90×60 = 5,400 pixels
    for limit in (2000, 4000):  # Pillow's error (over twice the limit), its warning (over the limit)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        words = f"big.png: the image has more pixels than Pillow opens safely \\({limit:,}"
        with pytest.raises(ValueError, match=words):
            prepare_image(tmp_path / "big.png")


@pytest.mark.parametrize("image, words", [
    (np.full((30, 30), np.nan), "not finite"),
    (np.array([["a"] * 30] * 30), "dtype <U1"),
])
def test_arrays_that_are_not_brightness_are_refused(image, words):
    with pytest.raises(ValueError, match=words):
        prepare_image(image)


def test_paths_and_thresholds(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        prepare_image(tmp_path)
    for bad in (-0.1, 1.0, float("nan"), "0.2", True):
        with pytest.raises(ValueError, match="ink_threshold="):
            prepare_image(_blob(), ink_threshold=bad)
    with pytest.raises(ValueError, match="ReLU has no parameters"):
        predict_image(torch.nn.ReLU(), _blob())
