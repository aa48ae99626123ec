"""Choosing the device from ``COURSE_DEVICE`` (cpu | cuda | auto)."""

from __future__ import annotations

import os

import torch

__all__ = ["get_device", "CHOICES"]

CHOICES = ("cpu", "cuda", "auto")


def get_device(name: str | None = None) -> torch.device:
    """Return the device named by ``name`` or ``$COURSE_DEVICE`` (default ``cpu``).

    ``auto`` picks CUDA when it is available, else CPU. ``cuda`` (or ``cuda:N``) on a
    machine without a usable CUDA device raises ``RuntimeError`` instead of silently
    running on the CPU.
    """
    source = "argument"
    if name is None:
        name = os.environ.get("COURSE_DEVICE", "") or "cpu"
        source = "COURSE_DEVICE"
    value = name.strip().lower()
    if value == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if value == "cpu":
        return torch.device("cpu")
    if value == "cuda" or value.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"{source}={name!r} asks for CUDA, but torch finds no CUDA device here "
                f"(torch {torch.__version__}); use 'cpu' or 'auto'"
            )
        dev = torch.device(value)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"{source}={name!r}: only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        return dev
    raise ValueError(f"{source}={name!r} is not a device choice; use one of {list(CHOICES)}")
