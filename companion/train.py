"""Training the DigitRecognizer: recipes, a loop over tensors held on the device, evaluation,
and checkpoints that record which architecture they hold.

The loop keeps the whole data set as two tensors on the device (MNIST is 188 MB as float32)
and shuffles by drawing a fresh index permutation each epoch, instead of assembling every
batch sample by sample through a ``DataLoader``.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .data import MNIST_MEAN, MNIST_STD
from .model import _ARCHS, DigitRecognizer, build_model

__all__ = [
    "Recipe",
    "COURSE",
    "EXAMPLES",
    "RECIPES",
    "History",
    "fit",
    "lr_schedule",
    "evaluate",
    "predict",
    "features",
    "head",
    "confusion_matrix",
    "make_model",
    "arch_of",
    "save_checkpoint",
    "load_checkpoint",
    "restore",
    "Checkpoint",
]

CHECKPOINT_FORMAT = "digit-course-checkpoint"
CHECKPOINT_VERSION = 1


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
    computes them once (``features``) and the head stage trains on them (``head``), which
    gives the same results as running the whole network at every step, for a fraction of
    the cost.

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
        if self.optimizer not in ("adamw", "sgd", "adadelta"):
            raise ValueError(f"optimizer={self.optimizer!r} must be 'adamw', 'sgd' or 'adadelta'")
        if self.schedule not in ("onecycle", "step", "constant"):
            raise ValueError(f"schedule={self.schedule!r} must be 'onecycle', 'step' or 'constant'")
        head_size = self.batch_size if self.head_batch_size is None else self.head_batch_size
        sizes = {"batch_size": self.batch_size, "head_batch_size": head_size}
        for label, size in sizes.items():
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"{label}={size!r} must be a positive integer")
        if not self.epochs > 0:
            raise ValueError(f"epochs={self.epochs!r} must be positive")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} must be positive")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing={self.label_smoothing!r} must be in [0, 1)")
        if not 0 < self.warmup < 1:
            raise ValueError(f"warmup={self.warmup!r} must be a fraction in (0, 1)")
        if not self.head_epochs >= 0 or not self.head_lr > 0:
            raise ValueError(f"head_epochs={self.head_epochs!r} must be >= 0 and head_lr={self.head_lr!r} > 0")
        if self.dropout is not None and (len(self.dropout) != 2 or not all(0 <= q < 1 for q in self.dropout)):
            raise ValueError(f"dropout={self.dropout!r} must be None or two rates (p1, p2), each in [0, 1)")
        for item in self.freeze:
            if len(item) != 2 or item[0] not in ("conv1", "conv2", "fc1", "fc2") or not 0 <= item[1] <= 1:
                raise ValueError(f"freeze item {item!r} must be (layer, fraction) with a layer of the model "
                                 "(conv1, conv2, fc1, fc2) and a fraction in [0, 1]")

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed (``recipe.with_(epochs=3)``)."""
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


@dataclass
class History:
    """What happened during ``fit``, one entry per evaluation.

    ``epoch`` may be fractional when evaluating several times per epoch; ``seconds`` is the
    training time so far, evaluation excluded; ``train_loss`` is the mean training loss (with
    the recipe's label smoothing) over the steps since the previous evaluation; ``test_loss``
    is the plain NLL; ``lr`` is the learning rate of the last step.
    """

    epoch: list[float] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list]:
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{f.name: list(d.get(f.name, [])) for f in fields(cls)})

    def time_to(self, accuracy: float) -> float | None:
        """Training seconds until the test accuracy first reached ``accuracy`` (None: never)."""
        return next((s for s, a in zip(self.seconds, self.test_acc) if a >= accuracy), None)

    def __len__(self) -> int:
        return len(self.epoch)


# ── models ───────────────────────────────────────────────────────────────────


def make_model(arch: str = "fixed", seed: int = 0) -> DigitRecognizer:
    """``build_model(arch)`` with its weights drawn after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return build_model(arch)


def arch_of(model: nn.Module) -> str:
    """The architecture name (``'note'`` or ``'fixed'``) of a course model."""
    for name, cls in _ARCHS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not one of the course's models {sorted(_ARCHS)}")


# ── data on the device ───────────────────────────────────────────────────────


def _check_images(x: torch.Tensor, values: str = "") -> None:
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images of shape {tuple(x.shape)}: expected (N, 1, 28, 28){values}")


def _prepare(x: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    _check_images(x, " in [0, 1]")
    x = ((x.float() - MNIST_MEAN) / MNIST_STD).to(device)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def _use_bf16(device: torch.device, amp: bool | None) -> bool:
    if amp is not None:
        return bool(amp)
    # bf16 autocast pays off on GPUs with bf16 units; on CPUs without AVX512-BF16/AMX
    # (such as the 2-core course machine) it made a training step many times slower
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def _autocast(device: torch.device, enabled: bool):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


@torch.no_grad()
def _scores(model: nn.Module, x: torch.Tensor, batch_size: int, bf16: bool) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        out = []
        for i in range(0, len(x), batch_size):
            with _autocast(x.device, bf16):
                out.append(model(x[i : i + batch_size]).float())
        return torch.cat(out) if out else torch.empty(0, 10, device=x.device)
    finally:
        model.train(was_training)


def _eval_batch(device: torch.device) -> int:
    return 128 if device.type == "cpu" else 1000  # small batches keep a CPU's caches warm


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int | None = None,
             device: torch.device | str | None = None, normalized: bool = False) -> tuple[float, float]:
    """Mean NLL loss and accuracy of ``model`` on images ``x`` (in [0, 1] unless
    ``normalized``) and labels ``y``, in eval mode, without gradients."""
    device = _model_device(model) if device is None else torch.device(device)
    batch_size = batch_size or _eval_batch(device)
    if not normalized:
        x = _prepare(x, device, channels_last=False)
    scores = _scores(model, x, batch_size, bf16=False)
    y = y.to(scores.device)
    loss = F.nll_loss(scores, y).item() if len(y) else float("nan")
    acc = (scores.argmax(1) == y).float().mean().item() if len(y) else float("nan")
    return loss, acc


def predict(model: nn.Module, x: torch.Tensor, *, batch_size: int | None = None) -> torch.Tensor:
    """Predicted digits (int64, on the CPU) for images ``x`` in [0, 1]."""
    device = _model_device(model)
    batch_size = batch_size or _eval_batch(device)
    scores = _scores(model, _prepare(x, device, channels_last=False), batch_size, bf16=False)
    return scores.argmax(1).cpu()


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """``m[t, p]`` = how many digits of true class ``t`` were predicted as ``p``."""
    y_true, y_pred = torch.as_tensor(y_true).cpu().long(), torch.as_tensor(y_pred).cpu().long()
    if y_true.shape != y_pred.shape or y_true.dim() != 1:
        raise ValueError(f"y_true {tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)} must be equal-length 1-D")
    return torch.bincount(y_true * classes + y_pred, minlength=classes * classes).reshape(classes, classes)


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


# ── the network in two halves ────────────────────────────────────────────────


@torch.no_grad()
def features(model: nn.Module, x: torch.Tensor, *, batch_size: int | None = None) -> torch.Tensor:
    """The pooled feature maps ``max_pool2d(relu(conv2(relu(conv1(x)))), 2)`` of normalised
    images ``x`` (N×1×28×28), as an N×64×12×12 tensor on ``x``'s device, without gradients.

    The layers before ``dropout1`` hold no randomness, so while conv1 and conv2 are frozen
    these numbers stay the same for every image: ``head(model, features(model, x))`` is
    ``model(x)``, in training mode as well (same dropout draws from the same seed).
    """
    _check_images(x)
    if batch_size is None:  # small batches keep a CPU's caches warm; a GPU wants large ones
        batch_size = 64 if x.device.type == "cpu" else 2048
    # on a CPU, conv2 runs about twice as fast on channels-last input (oneDNN); say so explicitly,
    # since a one-channel image is both layouts at once and torch may not infer it
    layout = torch.channels_last if x.device.type == "cpu" else torch.contiguous_format
    out = torch.empty(len(x), model.conv2.out_channels, 12, 12, device=x.device)
    for i in range(0, len(x), batch_size):
        h = F.relu(model.conv1(x[i : i + batch_size])).contiguous(memory_format=layout)
        h = F.relu(model.conv2(h))
        out[i : i + batch_size] = F.max_pool2d(h, 2)  # copied into the usual (N, C, H, W) layout
    return out


def head(model: nn.Module, f: torch.Tensor) -> torch.Tensor:
    """The rest of the note's ``forward`` from the pooled feature maps ``f`` (N×64×12×12):
    dropout1, flatten, fc1, ReLU, dropout2, fc2, log_softmax."""
    f = model.dropout1(f)
    f = torch.flatten(f, 1)
    f = F.relu(model.fc1(f))
    f = model.dropout2(f)
    return F.log_softmax(model.fc2(f), dim=1)


# ── the loop ─────────────────────────────────────────────────────────────────


def _optimizer(model: nn.Module, r: Recipe) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if r.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=r.lr, weight_decay=r.weight_decay)
    if r.optimizer == "sgd":
        return torch.optim.SGD(params, lr=r.lr, momentum=r.momentum, nesterov=True, weight_decay=r.weight_decay)
    return torch.optim.Adadelta(params, lr=r.lr, weight_decay=r.weight_decay)


def _scheduler(opt: torch.optim.Optimizer, r: Recipe, total_steps: int):
    if r.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=r.lr, total_steps=total_steps, pct_start=r.warmup, anneal_strategy="cos",
            div_factor=25.0, final_div_factor=1e3,
        )
    if r.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=r.gamma)
    return None


def _head_stage(model: nn.Module, r: Recipe, steps: int):
    params = [p for layer in (model.fc1, model.fc2) for p in layer.parameters()]
    opt = torch.optim.AdamW(params, lr=r.head_lr, weight_decay=r.weight_decay)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps - 1), eta_min=r.head_lr * 1e-3)


def lr_schedule(recipe: Recipe, steps_per_epoch: int, epochs: float | None = None) -> list[float]:
    """The learning rate of every step that ``fit`` takes with ``recipe`` (nothing is trained):
    ``epochs`` (default the recipe's) of the first stage, then the head stage if any.
    ``steps_per_epoch`` counts batches of ``recipe.batch_size``."""
    r = recipe if epochs is None else recipe.with_(epochs=epochs)
    total1 = max(1, round(r.epochs * steps_per_epoch))
    head_size = r.head_batch_size or r.batch_size
    total2 = round(r.head_epochs * math.ceil(steps_per_epoch * r.batch_size / head_size))
    dummy = nn.Linear(1, 1)
    opt = _optimizer(dummy, r)
    sched = _scheduler(opt, r, total1)
    rates = []
    for step in range(total1 + total2):
        if step == total1:
            head = nn.Module()
            head.fc1, head.fc2 = nn.Linear(1, 1), nn.Linear(1, 1)
            opt, sched = _head_stage(head, r, total2)
        rates.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        if step >= total1 or r.schedule == "onecycle" or (r.schedule == "step" and (step + 1) % steps_per_epoch == 0):
            sched.step()
    return rates


def _progress_bar(total: int, enabled: bool, desc: str):
    """A tqdm bar: a widget in notebooks where ipywidgets is installed, else text."""
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:  # tqdm.auto would warn and fall back to text; go there directly
        from tqdm.std import tqdm
    import sys

    # a terminal redraws one line; elsewhere (notebooks, logs) every redraw is kept, so fewer
    interval = 0.5 if getattr(sys.stderr, "isatty", lambda: False)() else 5.0
    return tqdm(total=total, disable=not enabled, desc=desc, unit="step", mininterval=interval, dynamic_ncols=True)


def fit(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    *,
    recipe: Recipe = COURSE,
    epochs: float | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    evals_per_epoch: int = 1,
    progress: bool = True,
    amp: bool | None = None,
    channels_last: bool | None = None,
    callback: Callable[[History], bool | None] | None = None,
) -> History:
    """Train ``model`` in place on ``x_train`` (N×1×28×28 in [0, 1]) and ``y_train``.

    - ``recipe`` (default ``COURSE``); ``epochs`` overrides ``recipe.epochs`` (the stage in
      which every layer learns) and may be fractional; the schedule is sized to the steps
      actually run, and the recipe's ``head_epochs`` follow;
    - ``seed`` fixes the shuffling and dropout; the model's initial weights are the caller's
      (see ``make_model``);
    - after every ``1/evals_per_epoch`` of an epoch, at the end of the first stage and at the end, the model is evaluated
      on ``x_test``/``y_test`` when given; the time spent evaluating is not counted;
    - ``device``: default the model's device, where the data are copied once;
    - ``amp``: bf16 autocast; default on for CUDA GPUs that support bf16, off on CPU;
    - ``channels_last``: default on for CPU (faster oneDNN convolutions), off on CUDA;
    - ``callback(history)`` runs after each evaluation; returning True stops training.

    Returns the ``History``.
    """
    r = recipe if epochs is None else recipe.with_(epochs=epochs)
    if isinstance(evals_per_epoch, bool) or not isinstance(evals_per_epoch, int) or evals_per_epoch < 1:
        raise ValueError(f"evals_per_epoch={evals_per_epoch!r} must be a positive integer")
    if len(x_train) != len(y_train) or len(x_train) == 0:
        raise ValueError(f"{len(x_train)} training images for {len(y_train)} labels: need the same, non-zero count")
    has_test = x_test is not None and y_test is not None
    device = _model_device(model) if device is None else torch.device(device)
    if channels_last is None:
        channels_last = device.type == "cpu"
    bf16 = _use_bf16(device, amp)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)

    x = _prepare(x_train, device, channels_last)
    y = y_train.to(device)
    if has_test:
        xt, yt = _prepare(x_test, device, channels_last), y_test.to(device)

    n = len(x)
    per_epoch = math.ceil(n / r.batch_size)
    total1 = max(1, round(r.epochs * per_epoch))  # every layer learns
    head_size = r.head_batch_size or r.batch_size
    per_head_epoch = math.ceil(n / head_size)
    total = total1 + round(r.head_epochs * per_head_epoch)  # then only fc1 and fc2
    # evaluate at evenly spaced batches of each epoch, always at its end, at the end of the first
    # stage (when a head stage follows) and at the last step
    checkpoints = {round(k * per_epoch / evals_per_epoch) for k in range(1, evals_per_epoch + 1)}
    head_checkpoints = {round(k * per_head_epoch / evals_per_epoch) for k in range(1, evals_per_epoch + 1)}
    opt = _optimizer(model, r)
    sched = _scheduler(opt, r, total1)
    torch.manual_seed(seed)  # dropout masks
    gen = torch.Generator().manual_seed(seed)  # shuffling, on the CPU for every device

    freeze_at = {}
    for name, fraction in r.freeze:
        freeze_at.setdefault(round(fraction * total1), []).append(getattr(model, name))
    if total > total1:
        freeze_at.setdefault(total1, []).extend([model.conv1, model.conv2])
    frozen = []

    history = History()
    bar = _progress_bar(total, progress, desc=f"{r.name} · {device.type}")
    loss_sum = torch.zeros((), device=device)
    loss_count = 0
    trained = 0.0
    step = 0
    stop = False
    feats = None  # the pooled feature maps of the training images, once both convolutions are frozen
    rates = (model.dropout1.p, model.dropout2.p)
    if r.dropout is not None:
        model.dropout1.p, model.dropout2.p = r.dropout
    model.train()
    try:
        while step < total and not stop:
            perm = torch.randperm(n, generator=gen).to(device)
            in_head = feats is not None or step == total1
            size, batches = (head_size, per_head_epoch) if in_head else (r.batch_size, per_epoch)
            for batch in range(1, batches + 1):
                t0 = time.perf_counter()
                for layer in freeze_at.get(step, ()):
                    frozen += [p for p in layer.parameters() if p.requires_grad]
                    layer.requires_grad_(False)
                if step == total1 and total > total1 and feats is None:  # the head stage begins
                    opt, sched = _head_stage(model, r, total - total1)
                    with _autocast(device, bf16):
                        feats = features(model, x)  # float32, whatever autocast computed in
                    if batch > 1:  # the first stage ended inside an epoch: start a fresh one
                        trained += time.perf_counter() - t0  # computing the features is training time
                        break
                idx = perm[(batch - 1) * size : batch * size]
                yb = y[idx]
                with _autocast(device, bf16):
                    out = head(model, feats[idx]) if feats is not None else model(x[idx])
                loss = F.cross_entropy(out.float(), yb, label_smoothing=r.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                lr = opt.param_groups[0]["lr"]
                if step >= total1 or r.schedule == "onecycle" or (r.schedule == "step" and batch == per_epoch):
                    sched.step()
                loss_sum += loss.detach()
                loss_count += 1
                step += 1
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                trained += time.perf_counter() - t0
                bar.update(1)
                if batch in (head_checkpoints if feats is not None else checkpoints) or step in (total1, total):
                    epoch = total1 / per_epoch + (step - total1) / per_head_epoch if feats is not None else step / per_epoch
                    stop = _record(history, model, step, epoch, trained, loss_sum, loss_count, lr,
                                   (xt, yt) if has_test else None, bf16, bar, callback)
                    loss_sum = torch.zeros((), device=device)
                    loss_count = 0
                if step == total or stop:
                    break
    finally:
        bar.close()
        model.train(False)
        for p in frozen:  # hand the model back as it came: every parameter trainable
            p.requires_grad_(True)
        model.dropout1.p, model.dropout2.p = rates
    if channels_last:
        model.to(memory_format=torch.contiguous_format)
    return history


def _record(history, model, step, epoch, trained, loss_sum, loss_count, lr, test, bf16, bar, callback) -> bool:
    history.epoch.append(round(epoch, 4))
    history.step.append(step)
    history.seconds.append(trained)
    history.train_loss.append((loss_sum / max(loss_count, 1)).item())
    history.lr.append(float(lr))
    if test is not None:
        scores = _scores(model, test[0], _eval_batch(test[0].device), bf16)
        history.test_loss.append(F.nll_loss(scores, test[1]).item())
        history.test_acc.append((scores.argmax(1) == test[1]).float().mean().item())
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", acc=f"{history.test_acc[-1]:.4f}", refresh=False)
    else:
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", refresh=False)
    return bool(callback(history)) if callback is not None else False


# ── checkpoints ──────────────────────────────────────────────────────────────


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (in eval mode), its architecture, and what was saved."""

    model: DigitRecognizer
    arch: str
    history: History
    recipe: dict
    info: dict


def save_checkpoint(path: str | os.PathLike, model: nn.Module, *, history: History | None = None,
                    recipe: Recipe | None = None, info: dict | None = None) -> Path:
    """Save the model's weights with its configuration (architecture name, input size,
    normalisation), plus the history and recipe when given, in a file that
    ``torch.load(weights_only=True)`` reads. Written to a temporary name, then renamed."""
    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": {"arch": arch_of(model), "input_shape": [1, 28, 28], "classes": 10,
                   "mean": MNIST_MEAN, "std": MNIST_STD},
        "state_dict": {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()},
        "history": history.as_dict() if history is not None else {},
        "recipe": asdict(recipe) if recipe is not None else {},
        "info": dict(info or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _read(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickle refused by weights_only, …
        raise ValueError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a checkpoint of this course (no {CHECKPOINT_FORMAT!r} marker); "
                         "a bare state_dict can be loaded with model.load_state_dict(torch.load(...))")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {payload.get('version')!r}, this code reads {CHECKPOINT_VERSION}")
    return payload


def load_checkpoint(path: str | os.PathLike, arch: str | None = None,
                    device: torch.device | str | None = "cpu") -> Checkpoint:
    """Rebuild the model saved in ``path`` (read with ``weights_only=True``).

    With ``arch`` given, a checkpoint of another architecture is a ``ValueError`` naming both.
    """
    payload = _read(path)
    stored = payload["config"]["arch"]
    if arch is not None and arch != stored:
        raise ValueError(f"{path} holds a {stored!r} model, not the {arch!r} architecture asked for")
    model = build_model(stored)
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    return Checkpoint(model, stored, History.from_dict(payload.get("history", {})), payload.get("recipe", {}),
                      payload.get("info", {}))


def restore(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load the weights in ``path`` into ``model``; a ``ValueError`` names both architectures
    if the checkpoint was saved from a different one."""
    payload = _read(path)
    stored, mine = payload["config"]["arch"], arch_of(model)
    if stored != mine:
        raise ValueError(f"{path} holds a {stored!r} model ({_ARCHS[stored].__name__}) but this model is "
                         f"{mine!r} ({type(model).__name__}); build it with build_model({stored!r})")
    model.load_state_dict(payload["state_dict"])
    return model
