"""Choosing the device (``COURSE_DEVICE``: cpu | cuda | auto, default auto), and the number
format a device computes in. torch is imported by the functions, not with the module, so
that the command line and ``doctor`` can name the choices where torch is missing."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from . import _validate as v

if TYPE_CHECKING:
    import torch

__all__ = ["get_device", "CHOICES", "DEFAULT", "ENV", "cpu_native_bf16", "use_bf16", "autocast"]

CHOICES = ("cpu", "cuda", "auto")
#: the device when neither an argument nor $COURSE_DEVICE names one: a CUDA GPU if there is one
DEFAULT = "auto"
ENV = "COURSE_DEVICE"


def get_device(name: str | int | torch.device | None = None, *, label: str = "argument") -> torch.device:
    """Return the device named by ``name``, else by ``$COURSE_DEVICE``, else ``DEFAULT`` (auto).

    ``name`` is ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``'auto'`` (any case), a
    ``torch.device`` of type cpu or cuda, or an int N meaning ``'cuda:N'`` (torch's own
    convention). ``auto`` picks CUDA when it is available, else CPU. CUDA on a machine
    without a usable CUDA device, or a CUDA index beyond the last device, raises
    ``RuntimeError`` instead of silently running on the CPU; anything else is a ``ValueError``
    (a ``TypeError`` too for a value of the wrong type). Errors call ``name`` ``label``: the
    argument's name in the caller (``device=``).
    """
    import torch

    source = v.text("label", label)
    if name is None:
        name = os.environ.get(ENV, "") or DEFAULT
        source = ENV
    if isinstance(name, torch.device):
        value = str(name)
    elif isinstance(name, int) and not isinstance(name, bool):
        if name < 0:
            raise ValueError(f"{source}={name!r}: a CUDA device index must be >= 0")
        value = f"cuda:{name}"
    elif isinstance(name, str):
        value = name.strip().lower()
    else:
        raise v.wrong_type(source, name, f"one of {list(CHOICES)}, 'cuda:N', a torch.device or a CUDA index")
    if value == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if value == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d{1,6}))?", value)
    if match is None:
        raise ValueError(f"{source}={name!r} is not a device choice; use one of {list(CHOICES)} or 'cuda:N'")
    if not torch.cuda.is_available():
        raise RuntimeError(
            f"{source}={name!r} asks for CUDA, but torch finds no CUDA device here "
            f"(torch {torch.__version__}); use 'cpu' or 'auto'"
        )
    dev = torch.device(value)
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise RuntimeError(f"{source}={name!r}: only {torch.cuda.device_count()} CUDA device(s) exist")
    return dev


def cpu_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX) and torch's kernels may
    use it: not when they are held to the scalar ones (``ATEN_CPU_CAPABILITY=default``)."""
    import torch

    if torch.backends.cpu.get_cpu_capability() == "DEFAULT":
        return False
    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    try:
        native = any(bool(probe()) for probe in probes if probe is not None)
        onednn = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
        return native and (bool(onednn()) if onednn is not None else True)
    except (RuntimeError, AttributeError):  # a torch without these probes: assume no
        return False


def use_bf16(device: torch.device, amp: bool | None = None) -> bool:
    """Whether to compute in bf16 (autocast) on ``device``: ``amp`` if given; else on for CUDA
    GPUs that support bf16 and for CPUs with native bf16 (``cpu_native_bf16``). Elsewhere
    float32: on a CPU without native bf16 autocast made a training step many times slower."""
    import torch

    if not isinstance(device, torch.device):
        raise v.wrong_type("device", device, "a torch.device (companion.get_device() gives one)")
    if v.optional_boolean("amp", amp) is not None:
        return amp
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_native_bf16()


def autocast(device: torch.device, enabled: bool):
    """``torch.autocast`` to bf16 on ``device`` (a no-op context when not ``enabled``)."""
    import torch

    if not isinstance(device, torch.device):
        raise v.wrong_type("device", device, "a torch.device (companion.get_device() gives one)")
    v.boolean("enabled", enabled)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)
