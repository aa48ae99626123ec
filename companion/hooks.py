"""Running a model once with forward hooks, the way the shape and multiply-add tables measure it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from . import _validate as v

__all__ = ["run_with_hooks"]

Hook = Callable[[nn.Module, tuple[Any, ...], Any], None]


def run_with_hooks(model: nn.Module, x: torch.Tensor, modules: Iterable[tuple[str, nn.Module]],
                   make_hook: Callable[[str], Hook]) -> None:
    """Call ``model(x)`` once, without gradients and in eval mode, with ``make_hook(name)``
    registered as a forward hook on each ``(name, module)``. A measurement changes nothing:
    the hooks are removed and the model's train/eval mode is put back, also when the forward
    pass raises. A forward pass that fails on ``x`` is a ``ValueError`` naming the input."""
    if not isinstance(model, nn.Module):
        raise v.wrong_type("model", model, "an nn.Module")
    v.tensor("x", x)
    if isinstance(modules, (str, bytes)) or not isinstance(modules, Iterable):
        raise v.wrong_type("modules", modules, "(name, module) pairs")
    modules = list(modules)
    for i, pair in enumerate(modules):
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)
                and isinstance(pair[1], nn.Module)):
            raise v.wrong_type(f"modules[{i}]", pair, "a (name, nn.Module) pair")
    v.function("make_hook", make_hook, "a function of a name that returns a forward hook")
    handles = []
    was_training = model.training
    try:
        for name, module in modules:
            handles.append(module.register_forward_hook(make_hook(name)))
        model.eval()  # dropout would draw masks and BatchNorm would update its running statistics
        with torch.no_grad():
            model(x)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"{type(model).__name__} cannot run on x of shape {tuple(x.shape)} and dtype {x.dtype} ({first}); "
            "the course's networks take float images shaped (N, 1, 28, 28)"
        ) from None
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
