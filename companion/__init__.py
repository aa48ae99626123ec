"""companion — the tested helpers of the course "DigitRecognizer, layer by layer".

Light to import (torch only); plotting lives in ``companion.viz``.
"""

from .checker import check, question, verify
from .device import get_device
from .mnist import MNIST_MEAN, MNIST_STD, normalize
from .model import DigitRecognizer, DigitRecognizerFixed, build_model
from .params import count_params, format_macs, format_params, macs_table, param_table
from .sample import load_sample
from .shapes import conv_output_size, format_trace, pool_output_size, receptive_field, same_padding, trace_shapes

__version__ = "0.1.0"

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
