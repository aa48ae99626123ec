"""Any image of one digit in MNIST's form: white ink on black, the digit scaled into a 20×20
box and placed in a 28×28 field by its centre of mass, as LeCun, Cortes and Burges made MNIST.

``prepare`` runs six small steps and keeps what each one made, so a lesson can show them:

1. ``read_gray``: a path, PIL image, numpy array or tensor (gray, RGB, RGBA; 8-bit, 16-bit or
   float) as a 2-D float array; a photo's EXIF orientation applied, transparent pixels counted
   as white paper;
2. ``scale_ink``: the pixels split into a dark and a light class (``split_level``, Otsu's
   threshold); for the polarity tried, the background class's median becomes 0 and the ink
   class's median 1, so one outlier pixel does not set the scale, and background noise below
   three robust standard deviations is cut;
3. ``remove_clutter``: frames, borders and blobs that touch the image's edge are removed when
   a digit-sized shape lies inside them, and so are specks far smaller than the digit.
   ``separate_ink`` runs steps 2 and 3 with the class round the image's edge as the background
   (dark ink on light paper is inverted), and again the other way; the other is kept when
   what the first leaves ``looks_like_paper`` (the sheet inside a frame or a dark table) or
   lies in the holes of the other's digit;
4. ``crop_to_ink``: the bounding box of the ink;
5. ``resize_longer_side``: the longer side to 20 pixels, aspect ratio kept (Lanczos, antialiased);
6. ``centre_by_mass``: pasted into 28×28 with the ink's centre of mass at pixel (14, 14), shifted
   by whole pixels (the sample's digits have theirs at 14.0 on average).

``Prepared.tensor()`` is the (1, 1, 28, 28) result in [0, 1]; ``Prepared.normalized()`` applies
the course's normalisation (``companion.mnist.normalize``), what the network is given.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import _validate as v

__all__ = ["MIN_SIDE", "MAX_PIXELS", "BOX", "FIELD", "CENTRE", "Prepared", "read_gray", "split_level",
           "scale_ink", "looks_like_paper", "separate_ink", "remove_clutter", "crop_to_ink", "resize_longer_side",
           "centre_by_mass", "prepare"]

#: the fewest pixels an image's longer side may have (a digit cropped tight to its ink may be narrower)
MIN_SIDE = 28
#: the most pixels an image may have (a 40-megapixel photo); larger ones are refused, not read
MAX_PIXELS = 40_000_000
#: MNIST's box for the digit's longer side, and its field
BOX, FIELD = 20, 28
#: where MNIST puts the ink's centre of mass (row and column, pixel indices)
CENTRE = 14.0

_TYPES = "an image file's path, a PIL image, a numpy array or a torch.Tensor"


@dataclass(frozen=True)
class Prepared:
    """What each step of ``prepare`` made (float32 arrays; ink 1 and background 0 from ``scaled`` on)."""

    gray: np.ndarray  # step 1: brightness as read
    inverted: bool  # steps 2 and 3 took the dark class for the ink (dark ink on light paper)
    scaled: np.ndarray  # step 2: background 0, ink 1
    cleaned: np.ndarray  # step 3: frames, borders and specks removed
    crop: np.ndarray  # step 4: the ink's bounding box
    resized: np.ndarray  # step 5: longer side 20 pixels
    field: np.ndarray  # step 6: 28×28, centred by the centre of mass

    def __post_init__(self) -> None:
        v.boolean("inverted", self.inverted)

    def tensor(self) -> torch.Tensor:
        """The 28×28 field as a (1, 1, 28, 28) float32 tensor in [0, 1], like ``load_sample``'s digits."""
        return torch.from_numpy(self.field.copy())[None, None]

    def normalized(self) -> torch.Tensor:
        """``tensor()`` normalised the course's way: what the network is given."""
        from .mnist import normalize

        return normalize(self.tensor())


# ── checks the steps share ──────────────────────────────────────────────────────


def _plane(name: str, value) -> np.ndarray:
    """``value`` as a float32 array if it is a 2-D numpy array of finite numbers, not empty."""
    if not isinstance(value, np.ndarray):
        raise v.wrong_type(name, value, "a 2-D numpy array (what the step before returns)")
    if value.ndim != 2 or value.size == 0 or value.dtype.kind not in "biuf":
        raise ValueError(f"{name} of shape {value.shape} and dtype {value.dtype}: expected a 2-D array of numbers, "
                         "not empty")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ValueError(f"{name} holds values that are not finite numbers (nan or inf)")
    return value.astype(np.float32, copy=False)


def _threshold(value, name: str = "ink_threshold") -> float:
    """``value`` as the ink threshold: a finite number in [0, 1) (step 2 puts the ink at 1)."""
    value = v.number(name, value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name}={value!r} must be a number in [0, 1): step 2 puts the ink at 1")
    return value


# ── step 1: brightness ─────────────────────────────────────────────────────────


def _check_size(h: int, w: int) -> None:
    """Refuse an image that is empty, under ``MIN_SIDE`` on its longer side or over ``MAX_PIXELS``."""
    if h == 0 or w == 0:
        raise ValueError(f"image of {w}×{h} pixels is empty: need at least {MIN_SIDE} pixels on its longer side")
    if max(h, w) < MIN_SIDE:
        raise ValueError(f"image of {w}×{h} pixels: need at least MIN_SIDE={MIN_SIDE} pixels on its longer side "
                         "(MNIST's field is 28×28)")
    if h * w > MAX_PIXELS:
        raise ValueError(f"image of {w}×{h} pixels ({h * w:,}): at most MAX_PIXELS={MAX_PIXELS:,} are read; "
                         "scale it down to a few hundred pixels a side")


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
                _check_size(im.height, im.width)  # before the pixels are decoded
                im.load()
                return im.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{path}: the image has more pixels than Pillow opens safely ({Image.MAX_IMAGE_PIXELS:,}, "
                         "its decompression-bomb guard); scale it down to a few hundred pixels a side") from None
    except ValueError as exc:
        if str(exc).startswith("image of "):  # _check_size's refusal, with the file named
            raise ValueError(f"{path}: {exc}") from None
        raise ValueError(f"{path}: not an image that Pillow can read ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: not an image that Pillow can read ({exc})") from None


def _full_scale(a: np.ndarray) -> float:
    """White for ``a``'s numbers: 255 for 8-bit integers; else 1 (floats and bools in [0, 1]),
    255, 65535 (16 bits) or its maximum, the first that its largest value does not pass."""
    if a.dtype.kind in "iu" and a.dtype.itemsize == 1:
        return 255.0
    top = float(a.max())
    return next((s for s in (1.0, 255.0, 65535.0) if top <= s), top)


def _from_pil(image) -> np.ndarray:
    """A PIL image upright (EXIF orientation applied) as an array: 2-D, or H×W×4 with alpha."""
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image)  # phones store photos sideways, with an EXIF note
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16-bit or 32-bit grayscale
        return np.asarray(image)
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info):
        return np.asarray(image.convert("RGBA"))
    return np.asarray(image.convert("L"))


def read_gray(image) -> np.ndarray:
    """Step 1: ``image`` as a 2-D float32 array of brightness in its own units.

    Takes a file path, a PIL image, a numpy array, a list of rows or a torch tensor: H×W,
    H×W×C or C×H×W with C = 1 (gray), 2 (gray, alpha; last axis only), 3 (RGB) or 4 (RGBA).
    Colour becomes luminance (0.299 R + 0.587 G + 0.114 B); transparent pixels are white paper.
    Raises ``TypeError`` for other types and ``ValueError`` for images that are empty, not
    numbers, not finite, under ``MIN_SIDE`` on the longer side or over ``MAX_PIXELS``."""
    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        image = _open(v.path("image", image))
    if isinstance(image, Image.Image):
        array = _from_pil(image)
    elif isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        array = (t.float() if t.is_floating_point() else t).numpy() if not t.is_complex() else t.numpy()
    elif isinstance(image, (np.ndarray, list, tuple)):
        try:
            array = np.asarray(image)
        except ValueError:
            raise ValueError(f"image ({v.shown(image)}) is ragged: every row must have the same length") from None
    else:
        raise v.wrong_type("image", image, _TYPES)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"image of dtype {array.dtype}: expected numbers (a 2-D grayscale or H×W×3 colour image)")
    if array.size == 0:
        raise ValueError(f"image of shape {array.shape} is empty: need at least {MIN_SIDE} pixels on its longer side")
    shape = array.shape
    while array.ndim > 2 and array.shape[0] == 1:  # 1×H×W, 1×1×H×W (a batch of one); H or W may be 1
        array = array[0]
    if array.ndim == 3 and array.shape[-1] == 1:  # H×W×1
        array = array[..., 0]
    if array.ndim == 3 and array.shape[-1] > 4 and array.shape[0] in (3, 4):  # C×H×W, as torch stores images
        array = np.moveaxis(array, 0, -1)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] > 4):
        raise ValueError(f"image of shape {shape}: expected a 2-D grayscale or H×W×3 colour image")
    _check_size(array.shape[0], array.shape[1])
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError("the image holds values that are not finite numbers (nan or inf)")
    if array.ndim == 2:
        return array.astype(np.float32)
    colour, alpha = (array[..., :-1], array[..., -1]) if array.shape[-1] in (2, 4) else (array, None)
    white = _full_scale(colour)
    colour = colour.astype(np.float32)
    gray = colour[..., 0] if colour.shape[-1] == 1 else colour @ np.array([0.299, 0.587, 0.114], np.float32)
    if alpha is None:
        return gray
    opacity = np.clip(alpha.astype(np.float32) / _full_scale(alpha), 0.0, 1.0)
    return (gray * opacity + white * (1.0 - opacity)).astype(np.float32)


# ── step 2: background 0, ink 1 ─────────────────────────────────────────────────


def _extremes(flat: np.ndarray) -> tuple[float, float]:
    """The darkest and brightest of ``flat`` with its few most extreme pixels left out (an
    outlier or two), or its plain minimum and maximum when those pixels are all the contrast."""
    k = min(flat.size, 3 + flat.size // 20_000)
    lo, hi = float(np.partition(flat, k - 1)[k - 1]), float(np.partition(flat, flat.size - k)[flat.size - k])
    return (lo, hi) if lo < hi else (float(flat.min()), float(flat.max()))


def split_level(gray: np.ndarray) -> float:
    """The brightness that best splits ``gray`` into a dark and a light class (Otsu's threshold,
    from a 256-bin histogram between its extremes, one outlier left out): a value in
    [minimum, maximum), so that both classes hold pixels. Raises ``ValueError`` for an image
    of one value ("no ink")."""
    flat = _plane("gray", gray).ravel()
    if flat.min() == flat.max():
        raise ValueError(f"the image has no ink: every pixel is {float(flat.min()):g}")
    lo, hi = _extremes(flat)
    counts, edges = np.histogram(np.clip(flat, lo, hi), bins=256, range=(lo, hi))
    p = counts / counts.sum()
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)[:-1]
    m0 = np.cumsum(p * centres)[:-1]
    mean = float((p * centres).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean * w0 - m0) ** 2 / (w0 * (1.0 - w0))
    level = float(edges[1:-1][int(np.nanargmax(np.where(np.isfinite(between), between, -1.0)))])
    return min(max(level, float(flat.min())), float(np.nextafter(flat.max(), -np.inf)))


def scale_ink(gray: np.ndarray, inverted: bool) -> np.ndarray:
    """Step 2 for one polarity: ``gray`` with its background at 0 and its ink at 1.

    ``inverted`` says that the ink is the dark class of ``split_level`` (dark ink on light
    paper), else the light class. The background is the median of its class; the ink's median
    becomes 1, so one outlier pixel does not set the scale. Background noise up to three robust
    standard deviations (1.4826 × the class's median absolute deviation) becomes 0."""
    gray = _plane("gray", gray)
    inverted = v.boolean("inverted", inverted)
    level = split_level(gray)
    ink = -gray if inverted else gray
    dark = gray <= level
    back, fore = (ink[~dark], ink[dark]) if inverted else (ink[dark], ink[~dark])
    background = float(np.median(back))
    top = float(np.median(fore)) - background
    noise = 1.4826 * float(np.median(np.abs(back - background)))
    floor = min(3.0 * noise, 0.3 * top)
    return np.clip((ink - background - floor) / (top - floor), 0.0, 1.0).astype(np.float32)


def looks_like_paper(cleaned: np.ndarray, threshold: float = 0.2) -> bool:
    """Whether the ink of ``cleaned`` is paper rather than strokes: with its holes filled it
    covers at least 90 % of its box, and that box at least a quarter of the image (the sheet
    inside a frame, read with the frame's colour as the background)."""
    from scipy import ndimage

    ink = _plane("cleaned", cleaned) > _threshold(threshold, "threshold")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if len(rows) == 0:
        return False
    box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
    return bool(ndimage.binary_fill_holes(ink).sum() >= 0.9 * box and box >= ink.size / 4)


def _background_is_light(gray: np.ndarray, level: float) -> bool:
    """The first guess at the polarity: the class that holds most of the image's edge is the
    background (at least 65 % of the outermost pixels); when the edge is mixed, the class of
    most pixels."""
    edge = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    light = float((edge > level).mean())
    return light >= 0.5 if not 0.35 < light < 0.65 else bool(np.median(gray) > level)


def _in_holes(inner: np.ndarray, outer: np.ndarray, threshold: float) -> bool:
    """Whether all of ``inner``'s ink lies in the holes of ``outer``'s ink, and ``outer`` with its
    holes filled is not a blob (under 90 % of its box): ``inner`` is then the inside of a 0, an
    8 or a 6, read with the digit's paper as the ink."""
    from scipy import ndimage

    ink, around = inner > threshold, outer > threshold
    rows, cols = np.flatnonzero(around.any(axis=1)), np.flatnonzero(around.any(axis=0))
    if not ink.any() or len(rows) == 0:
        return False
    filled = ndimage.binary_fill_holes(around)
    box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
    return bool(filled[ink].all() and filled.sum() < 0.9 * box)


def separate_ink(gray: np.ndarray, threshold: float = 0.2) -> tuple[np.ndarray, np.ndarray, bool]:
    """Steps 2 and 3: ``(scaled, cleaned, inverted)`` for the polarity in which the ink is the digit.

    The first guess takes the class around the image's edge for the background: dark ink on
    light paper is inverted. The other polarity is used instead when what the guess leaves
    after step 3 ``looks_like_paper`` and the other's does not (a frame, or a dark table round
    the sheet, was taken for the background), or when it leaves only the holes of the other's
    digit (the inside of a 0 when a table takes most of the photo)."""
    gray = _plane("gray", gray)
    threshold = _threshold(threshold, "threshold")
    inverted = _background_is_light(gray, split_level(gray))
    scaled = scale_ink(gray, inverted)
    cleaned = remove_clutter(scaled, threshold)
    other = scale_ink(gray, not inverted)
    cleaned_other = remove_clutter(other, threshold)
    if looks_like_paper(cleaned, threshold):
        flip = not looks_like_paper(cleaned_other, threshold)
    else:
        flip = _in_holes(cleaned, cleaned_other, threshold)
    return (other, cleaned_other, not inverted) if flip else (scaled, cleaned, inverted)


# ── step 3: frames, borders and specks ──────────────────────────────────────────


def _encloses(outer: tuple[slice, slice], inner: tuple[slice, slice]) -> bool:
    """Whether the box ``inner`` lies strictly inside the box ``outer`` (a pixel of margin on every side)."""
    return all(o.start < i.start and i.stop < o.stop for o, i in zip(outer, inner))


def _ring_like(labels: np.ndarray, label: int, box: tuple[slice, slice]) -> bool:
    """Whether the shape ``label`` is a frame: at least 90 % of its pixels lie within an eighth
    of its box's side (2 pixels at least) of that box's boundary."""
    ys, xs = np.nonzero(labels[box] == label)
    h, w = box[0].stop - box[0].start, box[1].stop - box[1].start
    inward = np.minimum(np.minimum(ys, h - 1 - ys), np.minimum(xs, w - 1 - xs))
    return bool((inward < max(2.0, max(h, w) / 8)).mean() >= 0.9)


def remove_clutter(scaled: np.ndarray, threshold: float = 0.2) -> np.ndarray:
    """Step 3: ``scaled`` with the shapes that are not the digit set to 0.

    Shapes are the 8-connected regions above ``threshold``. One that touches the image's edge
    (a frame, a border, the table around a photographed sheet) is removed when a digit-sized
    shape lies inside (longer side at least 1/12 of the image's shorter side and 4 pixels);
    otherwise the digit itself touches the edge and stays. A frame drawn inside the picture
    goes too: a ring-like shape (its pixels near its box's boundary) whose box holds the box of
    such a digit-sized shape with at least a quarter of its size and 2 % of its ink. Then
    specks with under 5 % of the largest kept shape's ink go. What is kept keeps its faint,
    antialiased rim (pixels next to it)."""
    from scipy import ndimage

    scaled = _plane("scaled", scaled)
    threshold = _threshold(threshold, "threshold")
    h, w = scaled.shape
    labels, n = ndimage.label(scaled > threshold, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        raise ValueError(f"no ink found: no pixel is above threshold={threshold:g} (scaled's largest is "
                         f"{float(scaled.max()):g})")
    index = np.arange(1, n + 1)
    mass = np.asarray(ndimage.sum_labels(scaled, labels, index), dtype=np.float64)
    sides = np.array([max(s[0].stop - s[0].start, s[1].stop - s[1].start) for s in ndimage.find_objects(labels)])
    edge = np.zeros(n + 1, dtype=bool)
    edge[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    edge = edge[1:]
    boxes = ndimage.find_objects(labels)
    digit_sized = sides >= max(4.0, min(h, w) / 12)
    inside = ~edge & digit_sized
    keep = inside if inside.any() else np.ones(n, dtype=bool)
    for i in np.flatnonzero(keep):  # a frame drawn inside the picture: a ring around a shape
        if any(_encloses(boxes[i], boxes[j]) and sides[j] >= sides[i] / 4 and mass[j] >= 0.02 * mass[i]
               for j in np.flatnonzero(keep & digit_sized) if j != i) and _ring_like(labels, i + 1, boxes[i]):
            keep[i] = False
    keep &= mass >= 0.05 * mass[keep].max()
    kept = np.isin(labels, index[keep])
    rim = ndimage.binary_dilation(kept, structure=np.ones((3, 3), dtype=bool), iterations=max(1, min(h, w) // 100))
    rim &= kept | (labels == 0)  # a removed shape's own pixels stay removed, however near
    return np.where(rim, scaled, 0.0).astype(np.float32)


# ── steps 4 to 6: MNIST's box and field ─────────────────────────────────────────


def crop_to_ink(image: np.ndarray, threshold: float = 0.2) -> np.ndarray:
    """Step 4: the bounding box of the pixels above ``threshold``."""
    image = _plane("image", image)
    threshold = _threshold(threshold, "threshold")
    ink = image > threshold
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if len(rows) == 0:
        raise ValueError(f"no ink found: no pixel is above threshold={threshold:g} (image's largest is "
                         f"{float(image.max()):g})")
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def resize_longer_side(crop: np.ndarray, size: int = BOX) -> np.ndarray:
    """Step 5: ``crop`` resized so that its longer side is ``size`` pixels, aspect ratio kept
    (Lanczos, which averages over the pixels it shrinks), clipped to [0, 1]."""
    from PIL import Image

    crop = _plane("crop", crop)
    size = v.integer("size", size, 1, 4 * FIELD)
    ch, cw = crop.shape
    scale = size / max(ch, cw)
    nh, nw = max(1, round(ch * scale)), max(1, round(cw * scale))
    small = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32)).resize((nw, nh), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)


def centre_by_mass(small: np.ndarray, size: int = FIELD) -> np.ndarray:
    """Step 6: ``small`` pasted into a ``size``×``size`` field of zeros so that its centre of
    mass lands on pixel (``CENTRE``, ``CENTRE``) (for 28), moved by whole pixels and kept
    inside the field."""
    small = _plane("small", small)
    size = v.integer("size", size, 1)
    if size < max(small.shape):
        raise ValueError(f"size={size} must be at least small's longer side ({max(small.shape)}): the field holds it")
    nh, nw = small.shape
    mass = float(small.sum())
    centre = CENTRE * size / FIELD
    cy = float((small.sum(axis=1) * np.arange(nh)).sum()) / mass if mass else (nh - 1) / 2
    cx = float((small.sum(axis=0) * np.arange(nw)).sum()) / mass if mass else (nw - 1) / 2
    top = min(max(math.floor(centre - cy + 0.5), 0), size - nh)
    left = min(max(math.floor(centre - cx + 0.5), 0), size - nw)
    field = np.zeros((size, size), dtype=np.float32)
    field[top : top + nh, left : left + nw] = small
    return field


def prepare(image, ink_threshold: float = 0.2) -> Prepared:
    """``image`` in MNIST's form, with every step's result (see the module docstring).

    ``ink_threshold`` in [0, 1) is the brightness, after step 2, above which a pixel counts as
    ink for steps 3 and 4. Raises ``TypeError`` for an image of another type and ``ValueError``
    for one that is empty, too small or too large, or of one value."""
    ink_threshold = _threshold(ink_threshold)
    gray = read_gray(image)
    scaled, cleaned, inverted = separate_ink(gray, ink_threshold)
    crop = crop_to_ink(cleaned, ink_threshold)
    resized = resize_longer_side(crop)
    return Prepared(gray, inverted, scaled, cleaned, crop, resized, centre_by_mass(resized))
