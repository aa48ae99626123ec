"""Reading a digit from an image the way MNIST's digits were prepared, and predicting it.

``prepare_image`` hands any photo, scan or drawing to ``companion.prepare``, which repeats
MNIST's steps: brightness (EXIF orientation applied, transparent pixels as white paper), white
ink on black scaled by the ink's typical brightness (not by one outlier pixel), frames, borders
and specks that are not the digit removed, the ink's bounding box scaled so that its longer
side is 20 pixels (aspect ratio kept, antialiased), and pasted into 28×28 with the ink's centre
of mass at the centre. The result is in [0, 1] like ``load_sample``'s digits; ``predict_image``
then normalises it and asks the network.
"""

from __future__ import annotations

import torch
from torch import nn

from .prepare import prepare

__all__ = ["prepare_image", "predict_image"]


def prepare_image(image, ink_threshold: float = 0.2) -> torch.Tensor:
    """A (1, 1, 28, 28) float tensor in [0, 1], MNIST-style, from an image (a file path, PIL
    image, numpy array or tensor). ``companion.prepare.prepare`` keeps every step's result; its
    module docstring lists the steps.

    Raises ``TypeError`` for other types and ``ValueError`` for images that are empty, under
    ``companion.prepare.MIN_SIDE`` (28) pixels on the longer side, over
    ``companion.prepare.MAX_PIXELS``, or of one value (no ink)."""
    return prepare(image, ink_threshold).tensor()


def predict_image(model: nn.Module, image) -> tuple[int, torch.Tensor]:
    """The predicted digit and the 10 class probabilities for one image (see ``prepare_image``)."""
    from .evaluate import model_device

    device = model_device(model)
    x = prepare(image).normalized()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            probs = model(x.to(device)).exp()[0].float().cpu()
    finally:
        model.train(was_training)
    return int(probs.argmax()), probs
