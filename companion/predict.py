"""Reading a digit from an image file the way MNIST's digits were prepared, and predicting it.

MNIST's digits are white ink on black, scaled so that the digit fits a 20×20 box (aspect ratio
kept, anti-aliased), then placed in a 28×28 field so that the ink's centre of mass sits at the
centre. ``prepare_image`` repeats those steps for any photo or drawing:

1. upright (a photo's EXIF orientation applied) and grayscale, transparent pixels counting as
   white paper; 16-bit and 12-bit scans are scaled by their own brightest pixel;
2. invert when the background is light (the median of the border pixels is above 0.5);
3. stretch so that the background is 0 and the darkest ink 1;
4. crop to the bounding box of the ink (pixels above ``ink_threshold``);
5. resize so that the longer side is 20 pixels, keeping the aspect ratio (Lanczos);
6. paste into 28×28 with the ink's centre of mass at the centre (13.5, 13.5), rounded to
   whole pixels.

The result is in [0, 1] like ``load_sample``'s digits; ``predict_image`` then normalises it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["prepare_image", "predict_image"]


def _open(path: Path):
    """The image in ``path``, loaded; a ``ValueError`` naming the file for anything Pillow
    cannot or will not read (not an image, truncated, over its decompression-bomb limit)."""
    from PIL import Image, UnidentifiedImageError

    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: name an image file (PNG, JPEG, …)")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a warning is a line on stderr
            with Image.open(path) as im:
                im.load()
                return im.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{path}: the image has more pixels than Pillow opens safely ({Image.MAX_IMAGE_PIXELS:,}, "
                         "its decompression-bomb guard); scale it down to a few hundred pixels a side") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"{path}: not an image that Pillow can read ({exc})") from None


def _scaled(array: np.ndarray) -> np.ndarray:
    """Pixels as floats in [0, 1]: 8-bit values divided by 255, deeper ones (16-bit, a 12-bit
    scan stored in 16 bits) by their own maximum, which keeps light paper light."""
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError("the image holds values that are not finite numbers (nan or inf)")
    if array.size and array.min() < 0:
        raise ValueError(f"the image holds negative values (down to {array.min():g}): expected brightness >= 0")
    top = float(array.max()) if array.size else 0.0
    if top > 255.0:
        return array / top
    return array / 255.0 if top > 1.0 else array


def _to_gray(image) -> np.ndarray:
    """A 2-D float array in [0, 1] from a path, a PIL image, a numpy array or a tensor."""
    from PIL import Image, ImageOps

    if isinstance(image, (str, os.PathLike)):
        image = _open(Path(image))
    if isinstance(image, Image.Image):
        image = ImageOps.exif_transpose(image)  # phones store photos sideways, with an EXIF note
        if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16-bit or 32-bit grayscale
            return _scaled(np.asarray(image))
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(paper, rgba)
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"image of dtype {array.dtype}: expected numbers (a 2-D grayscale or H×W×3 colour image)")
    array = np.squeeze(array).astype(np.float32)
    if array.ndim == 3 and array.shape[-1] in (3, 4):  # H×W×RGB(A)
        array = array[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"image of shape {np.shape(image)}: expected a 2-D grayscale or H×W×3 colour image")
    return _scaled(array)


def prepare_image(image, ink_threshold: float = 0.2) -> torch.Tensor:
    """A (1, 1, 28, 28) float tensor in [0, 1], MNIST-style, from an image at least 28×28
    (a file path, PIL image, numpy array or tensor). See the module docstring for the steps.

    Raises ``ValueError`` for images smaller than 28×28 or without any ink.
    """
    from PIL import Image

    if isinstance(ink_threshold, bool) or not isinstance(ink_threshold, (int, float)) or not 0 <= ink_threshold < 1:
        raise ValueError(f"ink_threshold={ink_threshold!r} must be a number in [0, 1)")
    gray = _to_gray(image)
    h, w = gray.shape
    if h < 28 or w < 28:
        raise ValueError(f"image of {w}×{h} pixels: need at least 28×28")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:  # dark ink on light paper → light ink on black, like MNIST
        gray = 1.0 - gray
        border = 1.0 - border
    background, top = float(np.median(border)), float(gray.max())
    if top - background < 1e-3:
        raise ValueError("the image has no ink: it is one flat colour")
    gray = np.clip((gray - background) / (top - background), 0.0, 1.0)
    rows = np.flatnonzero((gray > ink_threshold).any(axis=1))
    cols = np.flatnonzero((gray > ink_threshold).any(axis=0))
    if len(rows) == 0:
        raise ValueError(f"no ink found: no pixel is above ink_threshold={ink_threshold}")
    crop = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    ch, cw = crop.shape
    scale = 20.0 / max(ch, cw)
    nh, nw = max(1, round(ch * scale)), max(1, round(cw * scale))
    small = Image.fromarray((crop * 255).astype(np.uint8)).resize((nw, nh), Image.Resampling.LANCZOS)
    small = np.asarray(small, dtype=np.float32) / 255.0
    mass = small.sum()
    cy = (small.sum(axis=1) * np.arange(nh)).sum() / mass
    cx = (small.sum(axis=0) * np.arange(nw)).sum() / mass
    top_row = int(np.clip(round(13.5 - cy), 0, 28 - nh))
    left_col = int(np.clip(round(13.5 - cx), 0, 28 - nw))
    out = np.zeros((28, 28), dtype=np.float32)
    out[top_row : top_row + nh, left_col : left_col + nw] = small
    return torch.from_numpy(out)[None, None]


def predict_image(model: nn.Module, image) -> tuple[int, torch.Tensor]:
    """The predicted digit and the 10 class probabilities for one image (see ``prepare_image``)."""
    from .evaluate import model_device
    from .mnist import normalize

    device = model_device(model)
    x = prepare_image(image)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            probs = model(normalize(x).to(device)).exp()[0].float().cpu()
    finally:
        model.train(was_training)
    return int(probs.argmax()), probs
