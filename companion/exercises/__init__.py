"""Every lesson's exercises by key (``"04.params_rgb"``): questions, expected answers, hints.
``companion.checker`` checks a learner's answer against them.

Each lesson's exercises live in one module named after the lesson's notebook:
``lesson_04_convolution.py`` holds the keys ``04.*`` of ``notebooks/04_convolution.ipynb``, as a list
``EXERCISES``. A key is ``NN.name``: the lesson's two digits, a dot, then lower-case letters,
digits and underscores. A lesson's module is imported only when one of its keys is asked
for, so a lesson depends on its own exercises alone.

Every expected value is computed from real torch when the check runs, so the checkers stay
true if a lesson changes its numbers.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

from ..exercise import KINDS, Exercise

__all__ = ["Exercise", "EXERCISES", "KINDS", "KEY", "get", "lesson_module", "lesson_modules"]

#: the form of an exercise key: the lesson's number, a dot, a name
KEY = re.compile(r"[0-9]{2}\.[a-z][a-z0-9_]*")
_MODULE = re.compile(r"lesson_([0-9]{2})_[a-z0-9_]+")

#: the exercises loaded so far, by key (all of them once ``EXERCISES`` is read)
_REGISTRY: dict[str, Exercise] = {}
_LOADED: set[str] = set()


def lesson_modules() -> dict[str, str]:
    """The lessons' exercise modules by lesson number: ``{"03": "lesson_04_convolution", ...}``
    (found on disk, not imported)."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(__path__):
        m = _MODULE.fullmatch(info.name)
        if m:
            if m.group(1) in found:
                raise RuntimeError(f"two exercise modules for lesson {m.group(1)}: {found[m.group(1)]}, {info.name}")
            found[m.group(1)] = info.name
    return dict(sorted(found.items()))


def lesson_module(number: str) -> str | None:
    """The name of lesson ``number``'s exercise module (``"03"`` → ``"lesson_04_convolution"``), or None."""
    return lesson_modules().get(number)


def _load(number: str) -> None:
    if number in _LOADED:
        return
    name = lesson_module(number)
    _LOADED.add(number)
    if name is None:
        return
    module = importlib.import_module(f".{name}", __name__)
    for ex in module.EXERCISES:
        if not KEY.fullmatch(ex.key) or ex.key[:2] != number:
            raise RuntimeError(f"{name}.py: exercise key {ex.key!r} must have the form {number}.name")
        if ex.key in _REGISTRY and _REGISTRY[ex.key] is not ex:
            raise RuntimeError(f"{name}.py: exercise key {ex.key!r} is defined twice")
        _REGISTRY[ex.key] = ex


def get(key: str) -> Exercise:
    """The exercise ``key``; a ``ValueError`` naming the lesson's keys when there is none."""
    if not isinstance(key, str):
        raise TypeError(f"key must be a string such as '04.params_rgb', got {type(key).__name__}")
    if key not in _REGISTRY and KEY.fullmatch(key):
        _load(key[:2])
    if key not in _REGISTRY:
        lesson = sorted(k for k in _REGISTRY if k[:2] == key[:2]) if KEY.fullmatch(key) else []
        known = f"lesson {key[:2]} has: {lesson}" if lesson else "a key has the form NN.name, e.g. '04.params_rgb'"
        raise ValueError(f"exercise {key!r} does not exist; {known}")
    return _REGISTRY[key]


def _all() -> dict[str, Exercise]:
    for number in lesson_modules():
        _load(number)
    return _REGISTRY


def __getattr__(name: str) -> Any:
    if name == "EXERCISES":  # every exercise of every lesson (loads all modules)
        return _all()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
