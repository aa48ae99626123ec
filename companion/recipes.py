"""How to train: the recipes (optimiser, learning-rate schedule, batch sizes, stages), the
optimisers and schedules they stand for, and the learning rate of every step. A recipe is
plain data; torch is imported when an optimiser is made."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from . import _validate as v

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["Recipe", "COURSE", "EXAMPLES", "RECIPES", "SAMPLE_EPOCHS", "MAX_EPOCHS", "MAX_SEED", "adamw",
           "make_optimizer", "make_scheduler", "head_optimizer", "lr_schedule"]

#: the most epochs of either stage a recipe may ask for (the course needs 3.5 on MNIST)
MAX_EPOCHS = 100
#: the largest seed ``fit`` and the command line take (torch's seeds are 64-bit signed)
MAX_SEED = 2**63 - 1


def _number(label: str, value, low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> None:
    """Refuse ``value`` unless it is a real number (not a bool) within the interval given."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = (low < value if low_open else low <= value) and (value < high if high_open else value <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{label}={value!r} must be a number in {left}{low:g}, {high:g}{right}")


@dataclass(frozen=True)
class Recipe:
    """How to train: optimiser, learning-rate schedule, batch size, loss.

    ``schedule='onecycle'`` warms the learning rate up over the first ``warmup`` fraction of
    all steps, then anneals it (cosine) to almost zero at the last step, so the schedule is
    sized to ``epochs``. ``schedule='step'`` multiplies it by ``gamma`` after every epoch.

    ``freeze`` lists ``(layer, fraction)`` pairs: after that fraction of the ``epochs`` the
    layer stops learning (``requires_grad_(False)``), so its share of the backward pass is
    skipped. Freezing ``conv1`` spares conv2's gradient with respect to its input.

    ``head_epochs`` adds a second stage after ``epochs``: both convolutions frozen, only
    ``fc1`` and ``fc2`` learn, with a fresh AdamW at ``head_lr`` annealed (cosine) to almost
    zero, in batches of ``head_batch_size`` (default ``batch_size``). With the convolutions
    frozen, the pooled feature maps of every training image no longer change: ``fit``
    computes them once (``model.features``) and the head stage trains on them
    (``model.head``), which gives the same results as running the whole network at every
    step, for a fraction of the cost.

    ``dropout`` = ``(p1, p2)`` sets the rates of ``dropout1`` and ``dropout2`` while ``fit``
    runs (default: the model's own, 0.25 and 0.5) and puts the model's back afterwards.
    Dropout has no parameters and does nothing in eval mode, so the trained network is the
    same architecture either way; the rate is a training choice, like the learning rate.
    """

    name: str
    optimizer: str = "adamw"  # adamw | sgd | adadelta
    lr: float = 3e-3
    batch_size: int = 128
    epochs: float = 2
    schedule: str = "onecycle"  # onecycle | step | constant
    warmup: float = 0.25
    gamma: float = 0.7
    momentum: float = 0.9  # sgd only (Nesterov)
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    freeze: tuple[tuple[str, float], ...] = ()
    head_epochs: float = 0.0
    head_lr: float = 1e-3
    head_batch_size: int | None = None
    dropout: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        v.text("name", self.name, empty=False)
        if self.optimizer not in ("adamw", "sgd", "adadelta"):
            raise ValueError(f"optimizer={self.optimizer!r} must be 'adamw', 'sgd' or 'adadelta'")
        if self.schedule not in ("onecycle", "step", "constant"):
            raise ValueError(f"schedule={self.schedule!r} must be 'onecycle', 'step' or 'constant'")
        head_size = self.batch_size if self.head_batch_size is None else self.head_batch_size
        sizes = {"batch_size": self.batch_size, "head_batch_size": head_size}
        for label, size in sizes.items():
            if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size < 2**31:
                raise ValueError(f"{label}={size!r} must be a positive integer below 2**31")
        _number("epochs", self.epochs, 0, MAX_EPOCHS, low_open=True)
        _number("head_epochs", self.head_epochs, 0, MAX_EPOCHS)
        for label in ("lr", "head_lr"):  # finite: math.inf would train on nan at once
            _number(label, getattr(self, label), 0, 1e3, low_open=True)
        _number("weight_decay", self.weight_decay, 0, 1e3)
        _number("momentum", self.momentum, 0, 1, high_open=True)
        _number("gamma", self.gamma, 0, 1, low_open=True)
        _number("label_smoothing", self.label_smoothing, 0, 1, high_open=True)
        _number("warmup", self.warmup, 0, 1, low_open=True, high_open=True)
        rates = self.dropout
        if rates is not None and (not isinstance(rates, (tuple, list)) or len(rates) != 2
                                  or not all(isinstance(q, (int, float)) and not isinstance(q, bool) and 0 <= q < 1
                                             for q in rates)):
            raise ValueError(f"dropout={self.dropout!r} must be None or two rates (p1, p2), each in [0, 1)")
        if not isinstance(self.freeze, (tuple, list)):
            raise ValueError(f"freeze={self.freeze!r} must be a tuple of (layer, fraction) pairs")
        for item in self.freeze:
            if (not isinstance(item, (tuple, list)) or len(item) != 2 or item[0] not in ("conv1", "conv2", "fc1", "fc2")
                    or isinstance(item[1], bool) or not isinstance(item[1], (int, float)) or not 0 <= item[1] <= 1):
                raise ValueError(f"freeze item {item!r} must be (layer, fraction) with a layer of the model "
                                 "(conv1, conv2, fc1, fc2) and a fraction in [0, 1]")

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed (``recipe.with_(epochs=3)``)."""
        known = [f.name for f in fields(self)]
        unknown = [k for k in changes if k not in known]
        if unknown:
            raise v.WrongTypeError(f"Recipe has no field {unknown[0]!r}; its fields are {known}")
        return replace(self, **changes)


#: the course's recipe: half an epoch of AdamW with a one-cycle schedule, no dropout and no label
#: smoothing (too short a run to overfit), conv1 frozen after a quarter of it; then three epochs
#: in which only fc1 and fc2 learn, on feature maps computed once
COURSE = Recipe("course", optimizer="adamw", lr=4e-3, batch_size=64, epochs=0.5, schedule="onecycle",
                warmup=0.2, weight_decay=0.0, label_smoothing=0.0, dropout=(0.0, 0.0), freeze=(("conv1", 0.25),),
                head_epochs=3.0, head_lr=2e-3, head_batch_size=256)
#: pytorch/examples' mnist recipe: Adadelta lr 1.0, StepLR(step 1, gamma 0.7), batch 64, 14 epochs
EXAMPLES = Recipe("examples", optimizer="adadelta", lr=1.0, batch_size=64, epochs=14, schedule="step", gamma=0.7)
RECIPES = {r.name: r for r in (COURSE, EXAMPLES)}
#: first-stage epochs on the embedded sample: its 3,500 training digits are about 17× fewer than MNIST's
#: 60,000, so a pass over them is about 17× shorter and the sample takes more passes
SAMPLE_EPOCHS = 3


def adamw(params: list[torch.Tensor], lr: float, weight_decay: float = 0.0) -> torch.optim.AdamW:
    """AdamW with its fused implementation where this torch has one for the parameters' device
    (CPU and CUDA since torch 2.4): one kernel updates every parameter, instead of a handful of
    passes over them per step; the same update up to round-off. Elsewhere the default one."""
    import torch

    if isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
        raise v.wrong_type("params", params, "the parameters to optimise (model.parameters())")
    params = list(params)
    if not params:
        raise ValueError("params is an empty parameter list: expected at least one tensor to optimise")
    if not all(isinstance(p, torch.Tensor) for p in params):
        first = next(p for p in params if not isinstance(p, torch.Tensor))
        raise v.WrongTypeError(f"params holds {v.shown(first)}, of type {v.type_name(first)}: expected tensors "
                               "only (model.parameters())")
    _number("lr", lr, 0, 1e3, low_open=True)
    _number("weight_decay", weight_decay, 0, 1e3)
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):  # no fused kernel for this device or this torch
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _model_and_recipe(model: nn.Module, r: Recipe, layers: tuple[str, ...] = ()) -> None:
    from torch import nn

    if not isinstance(model, nn.Module):
        raise v.wrong_type("model", model, "an nn.Module")
    for layer in layers:
        if not isinstance(getattr(model, layer, None), nn.Module):
            raise v.wrong_type("model", model, f"a network with the layers {', '.join(layers)}",
                               f"it has no {layer}")
    if not isinstance(r, Recipe):
        raise v.wrong_type("r", r, "a Recipe (e.g. companion.recipes.COURSE)")


def make_optimizer(model: nn.Module, r: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimiser over the model's trainable parameters."""
    import torch

    _model_and_recipe(model, r)
    params = [p for p in model.parameters() if p.requires_grad]
    if r.optimizer == "adamw":
        return adamw(params, lr=r.lr, weight_decay=r.weight_decay)
    if r.optimizer == "sgd":
        return torch.optim.SGD(params, lr=r.lr, momentum=r.momentum, nesterov=True, weight_decay=r.weight_decay)
    return torch.optim.Adadelta(params, lr=r.lr, weight_decay=r.weight_decay)


def make_scheduler(opt: torch.optim.Optimizer, r: Recipe, total_steps: int):
    """The recipe's first-stage schedule (None for a constant rate). ``onecycle`` steps once per
    batch, ``step`` once per epoch."""
    import torch

    if not isinstance(opt, torch.optim.Optimizer):
        raise v.wrong_type("opt", opt, "a torch.optim.Optimizer")
    if not isinstance(r, Recipe):
        raise v.wrong_type("r", r, "a Recipe (e.g. companion.recipes.COURSE)")
    v.integer("total_steps", total_steps, 1)
    if r.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=r.lr, total_steps=total_steps, pct_start=r.warmup, anneal_strategy="cos",
            div_factor=25.0, final_div_factor=1e3,
        )
    if r.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=r.gamma)
    return None


def head_optimizer(model: nn.Module, r: Recipe, steps: int):
    """The head stage's AdamW over fc1 and fc2, with its cosine schedule over ``steps`` steps."""
    import torch

    _model_and_recipe(model, r, ("fc1", "fc2"))
    v.integer("steps", steps, 1)
    params = [p for layer in (model.fc1, model.fc2) for p in layer.parameters()]
    opt = adamw(params, lr=r.head_lr, weight_decay=r.weight_decay)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps - 1), eta_min=r.head_lr * 1e-3)


def lr_schedule(recipe: Recipe, steps_per_epoch: int, epochs: float | None = None) -> list[float]:
    """The learning rate of every step that ``fit`` takes with ``recipe`` (nothing is trained):
    ``epochs`` (default the recipe's) of the first stage, then the head stage if any.
    ``steps_per_epoch`` counts batches of ``recipe.batch_size`` (a positive integer)."""
    from torch import nn

    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch={steps_per_epoch!r} must be a positive integer (batches per epoch)")
    if not isinstance(recipe, Recipe):
        raise v.wrong_type("recipe", recipe, "a Recipe (e.g. companion.recipes.COURSE)")
    r = recipe if epochs is None else recipe.with_(epochs=epochs)
    total1 = max(1, round(r.epochs * steps_per_epoch))
    head_size = r.head_batch_size or r.batch_size
    total2 = round(r.head_epochs * math.ceil(steps_per_epoch * r.batch_size / head_size))
    opt = make_optimizer(nn.Linear(1, 1), r)
    sched = make_scheduler(opt, r, total1)
    rates = []
    for step in range(total1 + total2):
        if step == total1:
            stand_in = nn.Module()
            stand_in.fc1, stand_in.fc2 = nn.Linear(1, 1), nn.Linear(1, 1)
            opt, sched = head_optimizer(stand_in, r, total2)
        rates.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        if step >= total1 or r.schedule == "onecycle" or (r.schedule == "step" and (step + 1) % steps_per_epoch == 0):
            sched.step()
    return rates
