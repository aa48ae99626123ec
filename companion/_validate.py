"""The argument checks that companion's public functions share, so that every refusal reads
the same way: the argument's name, the value (or its type, shape or dtype) and the rule::

    ceil_mode='no' must be True or False, not a str
    ncols=2.5 must be an integer >= 1, not a float
    x of type numpy.ndarray (shape (1, 1, 4, 4)): expected a torch.Tensor; torch.from_numpy(x) makes one
    bias of shape (3,): expected (2,), one value per output channel

A value of the wrong type raises ``WrongTypeError``: a ``TypeError``, as Python's convention
asks, and a ``ValueError`` as well, so that code that catches the ``ValueError`` companion
raised for every bad argument before still catches it. A value of the right type that breaks
a rule raises ``ValueError``. torch is imported by the checks that need it, not with the
module (``companion.device`` and ``companion.recipes`` work without torch).
"""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable, Iterable
from numbers import Integral, Real
from pathlib import Path
from typing import Any

__all__ = ["WrongTypeError", "type_name", "shown", "named", "wrong_type", "boolean", "optional_boolean", "integer",
           "number", "text", "one_of", "function", "path", "tensor", "same_dtype", "array_like", "checked"]

#: the longest ``repr`` a message shows in full
_SHORT = 40


class WrongTypeError(TypeError, ValueError):
    """An argument of the wrong type (a ``TypeError``, and a ``ValueError`` for older callers)."""


def type_name(value: Any) -> str:
    """The name of ``value``'s type as a learner writes it: ``str``, ``Linear``, and with the
    package for numpy's and torch's own: ``numpy.ndarray``, ``torch.Tensor``."""
    cls = type(value)
    root = cls.__module__.split(".")[0]
    package = sys.modules.get(root)
    if root in ("numpy", "torch") and getattr(package, cls.__name__, None) is cls:
        return f"{root}.{cls.__name__}"
    return cls.__name__


def _shape(value: Any) -> tuple | None:
    shape = getattr(value, "shape", None)
    return tuple(shape) if isinstance(shape, Iterable) else None


def _short(value: Any) -> str | None:
    """The ``repr`` of a builtin value or of a scalar (numpy's, a 0-d tensor) when it is short."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**_SHORT:
        return None  # repr of a huge int costs time, and says nothing more
    if type(value).__module__ == "builtins" or _shape(value) == ():
        text_ = repr(value)
        return text_ if len(text_) <= _SHORT else None
    return None


def shown(value: Any) -> str:
    """``value`` as a message shows it: its ``repr`` when short, else what it is."""
    short = _short(value)
    if short is not None:
        return short
    if isinstance(value, int) and not isinstance(value, bool):
        return f"an integer of {len(str(abs(value)))} digits"
    shape = _shape(value)
    return f"a {type_name(value)}" + (f" of shape {shape}" if shape is not None else "")


def named(name: str, value: Any) -> str:
    """``NAME=VALUE`` for a short value, ``NAME (WHAT IT IS)`` for any other."""
    short = _short(value)
    return f"{name}={short}" if short is not None else f"{name} ({shown(value)})"


def _article(name: str) -> str:
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


def wrong_type(name: str, value: Any, rule: str, advice: str = "") -> WrongTypeError:
    """The error for ``value`` of the wrong type: ``NAME=VALUE must be RULE, not a TYPE`` for a
    short value, ``NAME of type TYPE: expected RULE`` for anything else; ``advice`` follows."""
    more = f"; {advice}" if advice else ""
    short = _short(value)
    if value is None:
        return WrongTypeError(f"{name}=None must be {rule}{more}")
    if short is not None:
        return WrongTypeError(f"{name}={short} must be {rule}, not {_article(type_name(value))}{more}")
    shape = _shape(value)
    kind = type_name(value) + (f" (shape {shape})" if shape is not None else "")
    return WrongTypeError(f"{name} of type {kind}: expected {rule}{more}")


def boolean(name: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False``; anything else (``'no'``, 0, ``None``) is refused."""
    if not isinstance(value, bool):
        raise wrong_type(name, value, "True or False")
    return value


def optional_boolean(name: str, value: Any) -> bool | None:
    """``None`` (let companion choose), ``True`` or ``False``."""
    if value is not None and not isinstance(value, bool):
        raise wrong_type(name, value, "True, False or None")
    return value


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f" >= {low:g}"
    return f" <= {high:g}" if high is not None else ""


def integer(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` as a Python int if it is an integer (not a bool) within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise wrong_type(name, value, "an integer" + _bounds(low, high))
    value = int(value)
    if low is not None and value < low or high is not None and value > high:
        both = low is not None and high is not None
        raise ValueError(f"{named(name, value)} must be{' an integer' if both else ''}{_bounds(low, high)}")
    return value


def number(name: str, value: Any, low: float | None = None, high: float | None = None, *,
           low_open: bool = False) -> float:
    """``value`` as a float if it is a finite real number (not a bool) within the bounds
    (``low_open``: strictly above ``low``)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise wrong_type(name, value, "a number")
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise ValueError(f"{named(name, value)} must be a finite number")
    too_low = low is not None and (result <= low if low_open else result < low)
    if too_low or high is not None and result > high:
        if low_open:
            rule = f" > {low:g}" if high is None else f" in ({low:g}, {high:g}]"
        else:
            rule = _bounds(low, high)
        raise ValueError(f"{named(name, value)} must be a number{rule}")
    return result


def text(name: str, value: Any, *, optional: bool = False, empty: bool = True) -> str | None:
    """``value`` if it is a str (or ``None`` when ``optional``); an empty one only if ``empty``."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise wrong_type(name, value, "a str" + (" or None" if optional else ""))
    if not empty and not value.strip():
        raise ValueError(f"{name}={value!r} must not be empty")
    return value


def one_of(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of the strings ``choices``."""
    choices = list(choices)
    if not isinstance(value, str):
        raise wrong_type(name, value, f"one of {choices}")
    if value not in choices:
        raise ValueError(f"{named(name, value)} must be one of {choices}")
    return value


def function(name: str, value: Any, rule: str = "a function", *, optional: bool = False) -> Callable | None:
    """``value`` if it can be called (or ``None`` when ``optional``)."""
    if value is None and optional:
        return None
    if not callable(value):
        raise wrong_type(name, value, rule + (" or None" if optional else ""))
    return value


def path(name: str, value: Any) -> Path:
    """``value`` (a str or an ``os.PathLike`` naming a str path) as a ``Path``."""
    if isinstance(value, os.PathLike):
        raw = os.fspath(value)
        if isinstance(raw, str):
            return Path(raw)
    elif isinstance(value, str):
        return Path(value)
    raise wrong_type(name, value, "a file name (a str or a pathlib.Path)")


def tensor(name: str, value: Any, *, dims: int | tuple[int, ...] | None = None, shape: str = "",
           kind: str | None = None, nonempty: bool = False) -> Any:
    """``value`` if it is a ``torch.Tensor`` with one of ``dims`` dimensions (``shape`` says which
    in words, e.g. ``'(N, C, H, W)'``), of the dtype ``kind`` asks for (``'float'``: floating
    point; ``'int'``: integers, not bool; ``'real'``: not complex, not bool), and with at least
    one element when ``nonempty``."""
    import torch

    if not isinstance(value, torch.Tensor):
        advice = f"torch.from_numpy({name}) makes one" if type(value).__module__.split(".")[0] == "numpy" else ""
        raise wrong_type(name, value, "a torch.Tensor" + (f" {shape}" if shape else ""), advice)
    allowed = (dims,) if isinstance(dims, int) else dims
    if allowed is not None and value.dim() not in allowed:
        raise ValueError(f"{name} of shape {tuple(value.shape)}: expected {shape or f'{dims} dimensions'}")
    dtype = value.dtype
    if kind == "float" and not dtype.is_floating_point:
        raise ValueError(f"{name} of dtype {dtype}: expected floating-point numbers ({name}.float() makes them)")
    if kind == "int" and (dtype.is_floating_point or dtype.is_complex or dtype == torch.bool):
        raise ValueError(f"{name} of dtype {dtype}: expected integers ({name}.long() if they are whole numbers)")
    if kind == "real" and (dtype.is_complex or dtype == torch.bool):
        raise ValueError(f"{name} of dtype {dtype}: expected real numbers ({name}.float() makes them)")
    if nonempty and value.numel() == 0:
        raise ValueError(f"{name} of shape {tuple(value.shape)} holds no values: expected at least one")
    return value


def same_dtype(**tensors: Any) -> None:
    """Refuse tensors (``None`` skipped) whose dtypes or devices differ, naming each."""
    given = {k: t for k, t in tensors.items() if t is not None}
    for attribute, fix in (("dtype", ".to(dtype)"), ("device", ".to(device)")):
        found = {k: getattr(t, attribute) for k, t in given.items()}
        if len(set(found.values())) > 1:
            listing = ", ".join(f"{k} has {v}" for k, v in found.items())
            raise ValueError(f"{listing}: they must have the same {attribute} (convert with {fix})")


def array_like(name: str, value: Any, rule: str) -> Any:
    """``value`` as a tensor if it is a tensor, a numpy array, or a list or tuple of numbers or
    tensors (what ``torch.as_tensor`` reads); ``rule`` says what it should hold."""
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if type(value).__module__.split(".")[0] == "numpy" or isinstance(value, (list, tuple)):
        try:
            return torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError):
            pass
    raise wrong_type(name, value, rule)


def checked(fn: Callable, check: Callable) -> Callable:
    """``fn`` behind ``check``: ``check(*args, **kwargs)`` runs first and raises for bad
    arguments; when it returns something other than ``None``, that is the result (an edge case
    answered without ``fn``); otherwise ``fn`` runs. For functions whose source a lesson prints
    (``inspect.getsource`` follows ``__wrapped__`` to ``fn``): the checks stay out of the text."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        early = check(*args, **kwargs)
        return fn(*args, **kwargs) if early is None else early

    return wrapper
