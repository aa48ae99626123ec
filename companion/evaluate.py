"""Using a network on many digits: images made ready for it, scores, loss and accuracy,
predicted digits, and the confusion matrix."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate as v
from .device import autocast, get_device
from .mnist import normalize
from .model import check_images

__all__ = ["prepare_images", "check_labels", "evaluate", "predict_labels", "confusion_matrix", "model_device"]


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s parameters."""
    if not isinstance(model, nn.Module):
        raise v.wrong_type("model", model, "an nn.Module")
    first = next(model.parameters(), None)
    if first is None:
        raise ValueError(f"{type(model).__name__} has no parameters: expected a network such as build_model()")
    return first.device


def _tensor(y, name: str, classes: int) -> torch.Tensor:
    try:
        return torch.as_tensor(y)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name} of type {type(y).__name__}: expected integer classes 0..{classes - 1}") from None


def check_labels(y, n: int | None = None, classes: int = 10, name: str = "labels") -> torch.Tensor:
    """``y`` as a 1-D integer tensor of classes ``0..classes-1`` (``n`` of them when given);
    anything else is a ``ValueError`` naming the rule."""
    v.text("name", name)
    if n is not None:
        v.integer("n", n, 0)
    v.integer("classes", classes, 1)
    y = _tensor(y, name, classes)
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise ValueError(f"{name} of dtype {y.dtype}: expected integer classes (y.long() if they are whole numbers)")
    if y.dim() != 1 or (n is not None and len(y) != n):
        want = f"({n},)" if n is not None else "(N,)"
        raise ValueError(f"{name} of shape {tuple(y.shape)}: expected {want}, one class per image")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise ValueError(f"{name} from {int(y.min())} to {int(y.max())}: expected classes 0..{classes - 1}")
    return y


def _device(device: torch.device | str) -> torch.device:
    """A ``torch.device``, or a name ``get_device`` knows (``'cpu'``, ``'cuda:0'``, ``'auto'``)."""
    if isinstance(device, torch.device):
        return device
    if isinstance(device, str):
        return get_device(device, label="device")
    raise v.wrong_type("device", device, "a torch.device or a name such as 'cpu' or 'cuda'")


def eval_batch(device: torch.device) -> int:
    """Images per evaluation batch: small batches keep a CPU's caches warm, a GPU wants large ones."""
    return 128 if device.type == "cpu" else 1000


def prepare_images(x: torch.Tensor, device: torch.device, channels_last: bool = False) -> torch.Tensor:
    """Images in [0, 1] (N×1×28×28) normalised, on ``device``, in the memory layout asked for.
    uint8 images and values outside [0, 1] are refused (see ``companion.mnist.normalize``)."""
    check_images(x, " in [0, 1]", name="x")
    device = _device(device)
    v.boolean("channels_last", channels_last)
    x = normalize(x).to(device, torch.float32)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


@torch.no_grad()
def scores(model: nn.Module, x: torch.Tensor, batch_size: int, bf16: bool = False) -> torch.Tensor:
    """The model's log-probabilities for normalised images ``x``, in eval mode; the model's
    mode is put back afterwards.

    On the CPU, images and convolution weights are laid out channels-last while it runs
    (oneDNN's faster convolutions, about 1.7× here); the model's own tensors are put back after."""
    was_training = model.training
    model.eval()
    swapped = []
    if x.device.type == "cpu" and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
        for p in model.parameters():
            if p.dim() == 4 and p.device.type == "cpu" and not p.is_contiguous(memory_format=torch.channels_last):
                swapped.append((p, p.data))
                p.data = p.data.contiguous(memory_format=torch.channels_last)
    try:
        out = []
        for i in range(0, len(x), batch_size):
            with autocast(x.device, bf16):
                out.append(model(x[i : i + batch_size]).float())
        return torch.cat(out) if out else torch.empty(0, 10, device=x.device)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{type(model).__name__} cannot run on x of shape {tuple(x.shape)} and dtype {x.dtype} "
                         f"({first})") from None
    finally:
        for p, data in swapped:
            p.data = data
        model.train(was_training)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int | None = None,
             device: torch.device | str | None = None, normalized: bool = False) -> tuple[float, float]:
    """Mean NLL loss and accuracy of ``model`` on images ``x`` (in [0, 1] unless
    ``normalized``) and labels ``y``, in eval mode, without gradients. No images: both are nan."""
    device = model_device(model) if device is None else get_device(device, label="device")
    v.boolean("normalized", normalized)
    check_images(x, "" if normalized else " in [0, 1]", name="x")
    y = check_labels(y, len(x), name="y")
    batch_size = eval_batch(device) if batch_size is None else v.integer("batch_size", batch_size, 1)
    if normalized:
        v.tensor("x", x, kind="float")
        x = x.to(device)
    else:
        x = prepare_images(x, device)
    s = scores(model, x, batch_size)
    y = y.to(s.device)
    loss = F.nll_loss(s, y).item() if len(y) else float("nan")
    acc = (s.argmax(1) == y).float().mean().item() if len(y) else float("nan")
    return loss, acc


def predict_labels(model: nn.Module, x: torch.Tensor, *, batch_size: int | None = None) -> torch.Tensor:
    """Predicted digits (int64, on the CPU) for images ``x`` in [0, 1]."""
    device = model_device(model)
    batch_size = eval_batch(device) if batch_size is None else v.integer("batch_size", batch_size, 1)
    s = scores(model, prepare_images(x, device), batch_size)
    return s.argmax(1).cpu()


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """``m[t, p]`` = how many digits of true class ``t`` were predicted as ``p``. Both must be
    integer classes in ``0..classes-1`` of the same length."""
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes={classes!r} must be a positive integer")
    y_true, y_pred = _tensor(y_true, "y_true", classes), _tensor(y_pred, "y_pred", classes)
    if y_true.shape != y_pred.shape or y_true.dim() != 1:
        raise ValueError(f"y_true {tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)} must be equal-length 1-D")
    y_true = check_labels(y_true, classes=classes, name="y_true").cpu().long()
    y_pred = check_labels(y_pred, classes=classes, name="y_pred").cpu().long()
    return torch.bincount(y_true * classes + y_pred, minlength=classes * classes).reshape(classes, classes)
