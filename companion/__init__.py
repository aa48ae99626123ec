"""companion — the tested helpers of the course "DigitRecognizer, layer by layer".

Importing it imports neither torch nor numpy: each public name (and each module, such as
``companion.mnist``) is loaded on first use (PEP 562), so that ``python -m companion doctor``
runs where torch is missing or broken. Plotting lives in ``companion.viz``.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: each public name and the module that defines it
_HOMES = {
    "check": "checker", "question": "checker", "verify": "checker",
    "get_device": "device",
    "MNIST_MEAN": "mnist", "MNIST_STD": "mnist", "normalize": "mnist",
    "DigitRecognizer": "model", "DigitRecognizerFixed": "model", "build_model": "model",
    "count_params": "params", "format_macs": "params", "format_params": "params", "macs_table": "params",
    "param_table": "params",
    "load_sample": "sample",
    "conv_output_size": "shapes", "format_trace": "shapes", "pool_output_size": "shapes",
    "receptive_field": "shapes", "same_padding": "shapes", "trace_shapes": "shapes",
}
#: the submodules, reachable as attributes (``companion.mnist``) and loaded on first use
_MODULES = frozenset(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))

__all__ = [
    "DigitRecognizer",
    "DigitRecognizerFixed",
    "build_model",
    "check",
    "question",
    "conv_output_size",
    "count_params",
    "format_macs",
    "format_params",
    "format_trace",
    "get_device",
    "load_sample",
    "macs_table",
    "MNIST_MEAN",
    "MNIST_STD",
    "normalize",
    "param_table",
    "pool_output_size",
    "receptive_field",
    "same_padding",
    "trace_shapes",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
        globals()[name] = value  # the next access does not come here
        return value
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES) | set(_MODULES))


if TYPE_CHECKING:  # for editors and type checkers: the names as if imported eagerly
    from .checker import check, question, verify
    from .device import get_device
    from .mnist import MNIST_MEAN, MNIST_STD, normalize
    from .model import DigitRecognizer, DigitRecognizerFixed, build_model
    from .params import count_params, format_macs, format_params, macs_table, param_table
    from .sample import load_sample
    from .shapes import (
        conv_output_size,
        format_trace,
        pool_output_size,
        receptive_field,
        same_padding,
        trace_shapes,
    )
