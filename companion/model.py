"""The note's network, exactly as written, and a corrected variant."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DigitRecognizer", "DigitRecognizerFixed", "build_model"]


class DigitRecognizer(nn.Module):
    """The CNN of the source note, layer for layer (``Dropout2d`` after flatten included)."""

    def __init__(self) -> None:
        super(DigitRecognizer, self).__init__()  # noqa: UP008 - the note's spelling
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = nn.functional.relu(x)
        x = self.conv2(x)
        x = nn.functional.relu(x)
        x = nn.functional.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = nn.functional.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return nn.functional.log_softmax(x, dim=1)


class DigitRecognizerFixed(DigitRecognizer):
    """Same layers and parameter names; ``dropout2`` is element-wise ``nn.Dropout``.

    ``Dropout2d`` expects feature maps (N, C, H, W); after ``flatten`` the tensor is
    (N, 128), which torch warns about. ``nn.Dropout(0.5)`` is what the note means there.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dropout2 = nn.Dropout(0.5)


_ARCHS = {"note": DigitRecognizer, "fixed": DigitRecognizerFixed}


def build_model(arch: str = "fixed") -> DigitRecognizer:
    """Return a fresh model: ``'note'`` (as written) or ``'fixed'`` (dropout corrected)."""
    if arch not in _ARCHS:
        raise ValueError(f"arch={arch!r} is not known; use one of {sorted(_ARCHS)}")
    return _ARCHS[arch]()
