"""Training the DigitRecognizer: ``fit`` runs a recipe over data held on the device.

The loop keeps the whole data set as two tensors on the device (MNIST is 188 MB as float32)
and shuffles by drawing a fresh index permutation on the device each epoch, instead of
assembling every batch sample by sample through a ``DataLoader``. Nothing in a step waits
for the device: the loss is summed there, and the clock (with one CUDA synchronisation) is
read only when the model is evaluated. A recipe has up to two stages: the whole
network learns; then, if the recipe has ``head_epochs``, only fc1 and fc2 learn, on the
pooled feature maps computed once (see ``companion.recipes.Recipe``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate as v
from .device import autocast, get_device, use_bf16
from .evaluate import check_labels, eval_batch, model_device, prepare_images, scores
from .history import History
from .model import check_images, check_network, features, head
from .progress import progress_bar
from .recipes import COURSE, MAX_SEED, Recipe, head_optimizer, make_optimizer, make_scheduler

__all__ = ["fit"]


class _Recorder:
    """Collects the training loss between evaluations and writes one ``History`` entry each."""

    def __init__(self, model: nn.Module, test: tuple[torch.Tensor, torch.Tensor] | None, bf16: bool, bar,
                 callback: Callable[[History], bool | None] | None, device: torch.device) -> None:
        self.history = History()
        self.model, self.test, self.bf16, self.bar, self.callback = model, test, bf16, bar, callback
        self.device = device
        self._reset()

    def _reset(self) -> None:
        self.loss_sum = torch.zeros((), device=self.device)  # summed on the device: no sync per step
        self.loss_count = 0

    def add(self, loss: torch.Tensor) -> None:
        self.loss_sum += loss.detach()
        self.loss_count += 1

    def record(self, step: int, epoch: float, trained: float, lr: float) -> bool:
        """Evaluate, append an entry, and return True when the callback asks to stop."""
        h = self.history
        h.epoch.append(round(epoch, 4))
        h.step.append(step)
        h.seconds.append(trained)
        h.train_loss.append((self.loss_sum / max(self.loss_count, 1)).item())
        h.lr.append(float(lr))
        self._reset()
        postfix = {"loss": f"{h.train_loss[-1]:.3f}"}
        if self.test is not None:
            s = scores(self.model, self.test[0], eval_batch(self.test[0].device), self.bf16)
            h.test_loss.append(F.nll_loss(s, self.test[1]).item())
            h.test_acc.append((s.argmax(1) == self.test[1]).float().mean().item())
            postfix["acc"] = f"{h.test_acc[-1]:.4f}"
        self.bar.set_postfix(postfix, refresh=False)
        return bool(self.callback(h)) if self.callback is not None else False


def _marks(batches: int, evals_per_epoch: int) -> set[int]:
    """The batches of an epoch after which to evaluate: evenly spaced, always the last."""
    return {round(k * batches / evals_per_epoch) for k in range(1, evals_per_epoch + 1)}


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
      (see ``companion.model.make_model``);
    - after every ``1/evals_per_epoch`` of an epoch, at the end of the first stage and at the
      end, the model is evaluated on ``x_test``/``y_test`` when given; the time spent
      evaluating is not counted;
    - ``device``: default the model's device, where the data are copied once;
    - ``amp``: bf16 autocast; default on for CUDA GPUs that support bf16 and CPUs with native
      bf16 (AVX512-BF16, AMX), off elsewhere (``companion.device.use_bf16``);
    - ``channels_last``: default on for CPU (faster oneDNN convolutions), off on CUDA;
    - ``callback(history)`` runs after each evaluation; returning True stops training.

    Images must be floats in [0, 1] (uint8 or 0..255 values are refused: divide by 255) and
    labels integer digits 0..9; a ``ValueError`` names anything else before training starts.
    ``model`` must be one of the course's networks (``make_model``): its layers conv1, conv2,
    dropout1, fc1, dropout2 and fc2, of the course's sizes; anything else is refused before
    training starts (``companion.model.check_network``).

    Returns the ``History``. The model comes back in eval mode with every parameter
    trainable and its own dropout rates.
    """
    if not isinstance(recipe, Recipe):
        raise v.wrong_type("recipe", recipe, "a Recipe (e.g. companion.recipes.COURSE)")
    r = recipe if epochs is None else recipe.with_(epochs=epochs)
    if isinstance(evals_per_epoch, bool) or not isinstance(evals_per_epoch, int) or evals_per_epoch < 1:
        raise ValueError(f"evals_per_epoch={evals_per_epoch!r} must be a positive integer")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed={seed!r} must be an integer in 0..{MAX_SEED}")
    v.boolean("progress", progress)
    v.optional_boolean("amp", amp)
    v.optional_boolean("channels_last", channels_last)
    v.function("callback", callback, "a function of the History", optional=True)
    check_network(model, sizes=True)
    check_images(x_train, " in [0, 1]", name="x_train")
    if not isinstance(y_train, torch.Tensor) or len(x_train) != len(y_train) or len(x_train) == 0:
        n_labels = len(y_train) if isinstance(y_train, torch.Tensor) else type(y_train).__name__
        raise ValueError(f"{len(x_train)} training images for {n_labels} labels: need a tensor of as many labels, "
                         "and at least one image")
    y_train = check_labels(y_train, len(x_train), name="y_train")
    if (x_test is None) != (y_test is None):
        raise ValueError("x_test and y_test go together: pass both, or neither to train without testing")
    if x_test is not None:
        check_images(x_test, " in [0, 1]", name="x_test")
        if len(x_test) == 0:
            raise ValueError("x_test holds no images: pass some, or neither x_test nor y_test")
        y_test = check_labels(y_test, len(x_test), name="y_test")
    device = model_device(model) if device is None else get_device(device, label="device")
    channels_last = device.type == "cpu" if channels_last is None else channels_last
    bf16 = use_bf16(device, amp)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    x, y = prepare_images(x_train, device, channels_last), y_train.to(device)
    test = None
    if x_test is not None and y_test is not None:
        test = (prepare_images(x_test, device, channels_last), y_test.to(device))

    n = len(x)
    per_epoch = math.ceil(n / r.batch_size)
    total1 = max(1, round(r.epochs * per_epoch))  # steps in which every layer learns
    head_size = r.head_batch_size or r.batch_size
    per_head_epoch = math.ceil(n / head_size)
    total2 = round(r.head_epochs * per_head_epoch)  # steps in which only fc1 and fc2 learn
    torch.manual_seed(seed)  # dropout masks
    gen = torch.Generator(device=device).manual_seed(seed)  # shuffling, drawn where the data are
    freeze_at: dict[int, list[nn.Module]] = {}
    for name, fraction in r.freeze:
        freeze_at.setdefault(round(fraction * total1), []).append(getattr(model, name))

    bar = progress_bar(total1 + total2, progress, desc=f"{r.name} · {device.type}")
    rec = _Recorder(model, test, bf16, bar, callback, device)
    frozen: list[nn.Parameter] = []
    rates = (model.dropout1.p, model.dropout2.p)
    if r.dropout is not None:
        model.dropout1.p, model.dropout2.p = r.dropout
    trained, step = 0.0, 0

    def freeze(layers) -> None:
        for layer in layers:
            frozen.extend(p for p in layer.parameters() if p.requires_grad)
            layer.requires_grad_(False)

    def train_step(forward: Callable[[torch.Tensor], torch.Tensor], idx: torch.Tensor, opt) -> torch.Tensor:
        with autocast(device, bf16):
            out = forward(idx)
        loss = F.cross_entropy(out.float(), y[idx], label_smoothing=r.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def finish_step(loss: torch.Tensor) -> None:
        nonlocal step
        rec.add(loss)
        step += 1
        bar.update(1)

    def record(epoch: float, lr: float) -> bool:
        """Add the time since ``t0`` to the training time once the device has finished, evaluate
        (not training time), and restart the clock."""
        nonlocal trained, t0
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        trained += time.perf_counter() - t0
        stop = rec.record(step, epoch, trained, lr)
        t0 = time.perf_counter()
        return stop

    model.train()
    try:
        # stage 1: the whole network learns (conv1 may be frozen part-way)
        opt = make_optimizer(model, r)
        sched = make_scheduler(opt, r, total1)
        marks = _marks(per_epoch, evals_per_epoch)
        stop = False
        t0 = time.perf_counter()
        while step < total1 and not stop:
            perm = torch.randperm(n, generator=gen, device=device)
            for batch in range(1, per_epoch + 1):
                freeze(freeze_at.get(step, ()))
                loss = train_step(
                    lambda idx: model(x[idx]), perm[(batch - 1) * r.batch_size : batch * r.batch_size], opt
                )
                lr = opt.param_groups[0]["lr"]
                if r.schedule == "onecycle" or (r.schedule == "step" and batch == per_epoch):
                    sched.step()
                finish_step(loss)
                if batch in marks or step == total1:
                    stop = record(step / per_epoch, lr)
                if step == total1 or stop:
                    break

        # stage 2: both convolutions frozen; fc1 and fc2 learn on feature maps computed once
        if total2 and not stop:
            freeze([model.conv1, model.conv2])
            opt, sched = head_optimizer(model, r, total2)
            with autocast(device, bf16):
                feats = features(model, x)  # float32, whatever autocast computed in; training time
            marks = _marks(per_head_epoch, evals_per_epoch)
            while step < total1 + total2 and not stop:
                perm = torch.randperm(n, generator=gen, device=device)
                for batch in range(1, per_head_epoch + 1):
                    loss = train_step(
                        lambda idx: head(model, feats[idx]), perm[(batch - 1) * head_size : batch * head_size], opt
                    )
                    lr = opt.param_groups[0]["lr"]
                    sched.step()
                    finish_step(loss)
                    if batch in marks or step == total1 + total2:
                        stop = record(total1 / per_epoch + (step - total1) / per_head_epoch, lr)
                    if step == total1 + total2 or stop:
                        break
    finally:
        bar.close()
        model.train(False)
        for p in frozen:  # hand the model back as it came: every parameter trainable
            p.requires_grad_(True)
        model.dropout1.p, model.dropout2.p = rates
        if channels_last:
            model.to(memory_format=torch.contiguous_format)
    return rec.history
