"""Choosing the device (``COURSE_DEVICE``: cpu | cuda | auto, default auto), and the number
format a device computes in."""

from __future__ import annotations

import os

import torch

__all__ = ["get_device", "CHOICES", "DEFAULT", "ENV", "use_bf16", "autocast"]

CHOICES = ("cpu", "cuda", "auto")
#: the device when neither an argument nor $COURSE_DEVICE names one: a CUDA GPU if there is one
DEFAULT = "auto"
ENV = "COURSE_DEVICE"


def get_device(name: str | None = None) -> torch.device:
    """Return the device named by ``name``, else by ``$COURSE_DEVICE``, else ``DEFAULT`` (auto).

    ``auto`` picks CUDA when it is available, else CPU. ``cuda`` (or ``cuda:N``) on a
    machine without a usable CUDA device raises ``RuntimeError`` instead of silently
    running on the CPU.
    """
    source = "argument"
    if name is None:
        name = os.environ.get(ENV, "") or DEFAULT
        source = ENV
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


def use_bf16(device: torch.device, amp: bool | None = None) -> bool:
    """Whether to compute in bf16 (autocast) on ``device``: ``amp`` if given, else on for CUDA
    GPUs that support bf16. On CPUs without native bf16 (AVX512-BF16/AMX) autocast made a
    training step many times slower, so CPUs default to float32."""
    if amp is not None:
        return bool(amp)
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def autocast(device: torch.device, enabled: bool):
    """``torch.autocast`` to bf16 on ``device`` (a no-op context when not ``enabled``)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)
