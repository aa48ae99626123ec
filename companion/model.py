"""The note's network, exactly as written, a corrected variant, and the network in two halves
(the pooled feature maps, and the rest of ``forward`` from them)."""

from __future__ import annotations

import functools

import torch
from torch import nn

from . import _validate as v

__all__ = ["DigitRecognizer", "DigitRecognizerFixed", "ARCHS", "build_model", "make_model", "arch_of",
           "check_network", "conv_maps", "features", "head"]


class DigitRecognizer(nn.Module):
    """The CNN of the source note, layer for layer (``Dropout2d`` after flatten included)."""

    def __init__(self) -> None:
        super(DigitRecognizer, self).__init__()  # noqa: UP008 - the note's spelling
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = nn.functional.relu(x)
        x = self.conv2(x)
        x = nn.functional.relu(x)
        x = nn.functional.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = nn.functional.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return nn.functional.log_softmax(x, dim=1)


class DigitRecognizerFixed(DigitRecognizer):
    """Same layers and parameter names; ``dropout2`` is element-wise ``nn.Dropout``.

    ``Dropout2d`` expects feature maps (N, C, H, W); after ``flatten`` the tensor is
    (N, 128), which torch warns about. ``nn.Dropout(0.5)`` is what the note means there.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dropout2 = nn.Dropout(0.5)


#: the architectures by name: ``'note'`` (as written) and ``'fixed'`` (dropout corrected)
ARCHS: dict[str, type[DigitRecognizer]] = {"note": DigitRecognizer, "fixed": DigitRecognizerFixed}


def build_model(arch: str = "fixed") -> DigitRecognizer:
    """Return a fresh model: ``'note'`` (as written) or ``'fixed'`` (dropout corrected)."""
    if not isinstance(arch, str) or arch not in ARCHS:
        raise ValueError(f"arch={arch!r} is not known; use one of {sorted(ARCHS)}")
    return ARCHS[arch]()


def make_model(arch: str = "fixed", seed: int = 0) -> DigitRecognizer:
    """``build_model(arch)`` with its weights drawn after ``torch.manual_seed(seed)``."""
    from .recipes import MAX_SEED

    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed={seed!r} must be an integer in 0..{MAX_SEED}")
    torch.manual_seed(seed)
    return build_model(arch)


def arch_of(model: nn.Module) -> str:
    """The architecture name (``'note'`` or ``'fixed'``) of a course model."""
    for name, cls in ARCHS.items():
        if type(model) is cls:
            return name
    raise v.wrong_type("model", model, f"one of the course's models {sorted(ARCHS)} (build_model() makes one)")


#: the layers of the course's networks that companion's functions use, and what each must be
LAYERS: dict[str, tuple[type[nn.Module], ...]] = {
    "conv1": (nn.Conv2d,), "conv2": (nn.Conv2d,), "dropout1": (nn.Dropout, nn.Dropout2d),
    "fc1": (nn.Linear,), "dropout2": (nn.Dropout, nn.Dropout2d), "fc2": (nn.Linear,),
}


@functools.cache
def _course_shapes() -> dict[str, tuple[int, ...]]:
    """The shape of every parameter of the course's networks (the same in both)."""
    with torch.device("meta"):  # shapes only: no memory, no random numbers drawn
        return {k: tuple(p.shape) for k, p in DigitRecognizer().named_parameters()}


def check_network(model: nn.Module, layers: tuple[str, ...] = tuple(LAYERS), name: str = "model", *,
                  sizes: bool = False) -> nn.Module:
    """Refuse anything but a network with the course's ``layers`` (names and kinds, see
    ``LAYERS``): a ``TypeError`` that names what is missing. With ``sizes`` their parameters
    must also have the course's shapes (a ``ValueError`` names the first that does not)."""
    v.boolean("sizes", sizes)
    if not isinstance(model, nn.Module):
        raise v.wrong_type(name, model, "one of the course's networks (build_model() makes one)")
    lacking = [f"{layer} (an nn.{LAYERS[layer][0].__name__})" for layer in layers
               if not isinstance(getattr(model, layer, None), LAYERS[layer])]
    if lacking:
        raise v.wrong_type(name, model, f"a network with the course's layers {', '.join(layers)}",
                           f"it has no {', '.join(lacking)}; build_model() makes one")
    if sizes:
        for key, shape in _course_shapes().items():
            layer, _, tensor = key.partition(".")
            if layer in layers and tuple(getattr(getattr(model, layer), tensor).shape) != shape:
                found = tuple(getattr(getattr(model, layer), tensor).shape)
                raise ValueError(f"{name} of type {type(model).__name__}: its {key} has shape {found}, the course's "
                                 f"networks have {shape}; build_model() makes one")
    return model


def _run(model: nn.Module, x: torch.Tensor, name: str, step, what: str) -> torch.Tensor:
    """``step()``, with torch's refusal of ``x`` (wrong size, channels, dtype, device) said as a
    ``ValueError`` naming ``x``'s shape and where it cannot go."""
    try:
        return step()
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        weights = next(model.parameters(), None)
        on = f" on {weights.device}" if weights is not None else ""
        raise ValueError(f"{name} of shape {tuple(x.shape)}, dtype {x.dtype} and device {x.device} cannot go through "
                         f"{what} of this {type(model).__name__}{on} ({first})") from None


# ── the network in two halves ────────────────────────────────────────────────


def check_images(x: torch.Tensor, values: str = "", name: str = "images") -> None:
    """Refuse anything that is not a batch of one-channel 28×28 images (``name``: the argument)."""
    v.tensor(name, x, shape=f"(N, 1, 28, 28){values}")
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"{name} of shape {tuple(x.shape)}: expected (N, 1, 28, 28){values}")


def conv_maps(model: nn.Module, x: torch.Tensor, memory_format: torch.memory_format | None = None) -> torch.Tensor:
    """``relu(conv2(relu(conv1(x))))``: the feature maps before pooling, for normalised images
    of any size (28×28 gives N×64×24×24). Gradients flow unless the caller turns them off.
    ``memory_format`` lays conv1's output out for conv2 (channels-last is faster on CPUs)."""
    check_network(model, ("conv1", "conv2"))
    v.tensor("x", x, dims=4, shape="(N, 1, H, W), normalised images", kind="float")
    if memory_format is not None and not isinstance(memory_format, torch.memory_format):
        raise v.wrong_type("memory_format", memory_format, "a torch.memory_format (torch.channels_last) or None")

    def step() -> torch.Tensor:
        h = nn.functional.relu(model.conv1(x))
        if memory_format is not None:
            h = h.contiguous(memory_format=memory_format)
        return nn.functional.relu(model.conv2(h))

    return _run(model, x, "x", step, "conv1 and conv2")


@torch.no_grad()
def features(model: nn.Module, x: torch.Tensor, *, batch_size: int | None = None) -> torch.Tensor:
    """The pooled feature maps ``max_pool2d(relu(conv2(relu(conv1(x)))), 2)`` of normalised
    images ``x`` (N×1×28×28), as an N×64×12×12 tensor on ``x``'s device, without gradients.

    The layers before ``dropout1`` hold no randomness, so while conv1 and conv2 are frozen
    these numbers stay the same for every image: ``head(model, features(model, x))`` is
    ``model(x)``, in training mode as well (same dropout draws from the same seed).

    It computes the same numbers in a cheaper order: ReLU in place (no new tensor per batch),
    and conv2's ReLU after the pooling, on a quarter of the values; ``max`` and ``relu`` commute
    exactly (``relu`` is ``max(v, 0)``), so the result is equal bit for bit.
    """
    check_network(model, ("conv1", "conv2"))
    check_images(x, name="x")
    v.tensor("x", x, kind="float")
    if batch_size is None:  # small batches keep a CPU's caches warm; a GPU wants large ones
        batch_size = 64 if x.device.type == "cpu" else 2048
    v.integer("batch_size", batch_size, 1)
    # on a CPU, conv2 runs about twice as fast on channels-last input (oneDNN); say so explicitly,
    # since a one-channel image is both layouts at once and torch may not infer it
    layout = torch.channels_last if x.device.type == "cpu" else torch.contiguous_format
    out = torch.empty(len(x), model.conv2.out_channels, 12, 12, device=x.device)

    def step() -> torch.Tensor:
        for i in range(0, len(x), batch_size):
            h = model.conv1(x[i : i + batch_size]).relu_().contiguous(memory_format=layout)
            pooled = nn.functional.max_pool2d(model.conv2(h), 2).relu_()
            out[i : i + batch_size] = pooled  # copied into the usual (N, C, H, W) layout
        return out

    return _run(model, x, "x", step, "conv1, conv2 and the 2×2 pooling")


def head(model: nn.Module, f: torch.Tensor) -> torch.Tensor:
    """The rest of the note's ``forward`` from the pooled feature maps ``f`` (N×64×12×12):
    dropout1, flatten, fc1, ReLU, dropout2, fc2, log_softmax."""
    check_network(model, ("dropout1", "fc1", "dropout2", "fc2"))
    maps = v.tensor("f", f, dims=4, shape="(N, 64, 12, 12), pooled feature maps", kind="float")

    def step() -> torch.Tensor:
        g = model.dropout1(maps)
        g = torch.flatten(g, 1)
        g = nn.functional.relu(model.fc1(g))
        g = model.dropout2(g)
        return nn.functional.log_softmax(model.fc2(g), dim=1)

    return _run(model, maps, "f", step, "dropout1, fc1, dropout2 and fc2")
