"""Checkpoints: a trained network saved with what it is (architecture, input, normalisation),
how it was trained, and read back safely (``torch.load(weights_only=True)``), every part of the
file checked before it is used."""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from . import _validate as v
from .device import get_device
from .files import atomic_write
from .history import History
from .mnist import MNIST_MEAN, MNIST_STD
from .model import ARCHS, DigitRecognizer, arch_of, build_model
from .recipes import Recipe

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "restore"]

CHECKPOINT_FORMAT = "digit-course-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (in eval mode), its architecture, and what was saved."""

    model: DigitRecognizer
    arch: str
    history: History
    recipe: dict
    info: dict


@functools.cache
def _shapes(arch: str) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor in the state_dict of an unchanged ``arch`` network."""
    with torch.device("meta"):  # shapes only: no memory, no random numbers drawn
        model = ARCHS[arch]()
    return {k: tuple(t.shape) for k, t in model.state_dict().items()}


def _check_shapes(state: dict, arch: str, where: str, advice: str) -> None:
    """Refuse a state_dict whose names or shapes differ from those of the ``arch`` network."""
    want = _shapes(arch)
    missing, extra = [k for k in want if k not in state], [k for k in state if k not in want]
    if missing or extra:
        raise ValueError(f"{where}: the tensors do not match the {arch!r} architecture (missing: "
                         f"{', '.join(missing) or 'none'}; unexpected: {', '.join(extra) or 'none'}); {advice}")
    for name, shape in want.items():
        if tuple(state[name].shape) != shape:
            raise ValueError(f"{where}: {name} has shape {tuple(state[name].shape)} but the {arch!r} "
                             f"architecture has {shape}; {advice}")


def _plain(value, where: str) -> None:
    """Refuse what ``torch.load(weights_only=True)`` could not read back: anything but str,
    numbers, bools, None, and lists, tuples and str-keyed dicts of them."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise v.wrong_type(f"a key of {where}", key, "a str")
            _plain(item, f"{where}[{key!r}]")
        return
    raise v.wrong_type(where, value, "plain data (str, numbers, bools, None, and lists and dicts of them), "
                       "which torch.load(weights_only=True) reads back")


def save_checkpoint(path: str | os.PathLike, model: nn.Module, *, history: History | None = None,
                    recipe: Recipe | None = None, info: dict | None = None, overwrite: bool = True) -> Path:
    """Save the model's weights with its configuration (architecture name, input size,
    normalisation), plus the history and recipe when given, in a file that
    ``torch.load(weights_only=True)`` reads.

    Only the course's networks, unchanged, are saved (a ``ValueError`` names a layer whose
    shape differs). The file is written under a temporary name, then renamed, so an
    interrupted save leaves the old file as it was; an existing file is replaced only when
    ``overwrite``, a read-only one never (see ``companion.files.atomic_write``).
    """
    path = v.path("path", path)
    v.boolean("overwrite", overwrite)
    arch = arch_of(model)
    state = {k: t.detach().to("cpu").contiguous() for k, t in model.state_dict().items()}
    _check_shapes(state, arch, type(model).__name__,
                  "save_checkpoint stores the course's networks unchanged; save a modified network's "
                  "state_dict with torch.save")
    for label, value, kind in (("history", history, History), ("recipe", recipe, Recipe), ("info", info, dict)):
        if value is not None and not isinstance(value, kind):
            raise v.wrong_type(label, value, f"a {kind.__name__} or None")
    _plain(info, "info")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": {"arch": arch, "input_shape": [1, 28, 28], "classes": 10, "mean": MNIST_MEAN, "std": MNIST_STD},
        "state_dict": state,
        "history": history.as_dict() if history is not None else {},
        "recipe": asdict(recipe) if recipe is not None else {},
        "info": dict(info or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: torch.save(payload, tmp), overwrite=overwrite)


def _read(path: str | os.PathLike) -> dict:
    """The checked payload of a checkpoint file; any problem is a ``ValueError`` naming the file."""
    path = v.path("path", path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: name the checkpoint file in it")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # empty or truncated file, pickle refused by weights_only, …
        lines = [line for line in str(exc).splitlines() if line.strip()]
        detail = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        size = path.stat().st_size
        raise ValueError(f"{path}: not a readable checkpoint ({'an empty file' if size == 0 else detail}); "
                         "save one with `python -m companion train` or save_checkpoint") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a checkpoint of this course (no {CHECKPOINT_FORMAT!r} marker); "
                         "a bare state_dict can be loaded with model.load_state_dict(torch.load(...))")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {payload.get('version')!r}, this code reads {CHECKPOINT_VERSION}")
    damaged = "the file is damaged or was not written by save_checkpoint"
    config = payload.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("arch"), str) or config["arch"] not in ARCHS:
        found = (f"arch {config.get('arch')!r}" if isinstance(config, dict) else
                 "none" if config is None else f"a {type(config).__name__}")
        raise ValueError(f"{path}: its config must be a dict naming an architecture in {sorted(ARCHS)}, found "
                         f"{found}; {damaged}")
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(t, torch.Tensor)
                                              for k, t in state.items()):
        raise ValueError(f"{path}: its state_dict must be a dict of named tensors, found "
                         f"{type(state).__name__}; {damaged}")
    _check_shapes(state, config["arch"], str(path), damaged)
    for key in ("history", "recipe", "info"):
        if not isinstance(payload.get(key, {}), dict):
            raise ValueError(f"{path}: its {key} must be a dict, found a {type(payload[key]).__name__}; {damaged}")
    try:
        payload["history"] = History.from_dict(payload.get("history", {}))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}; {damaged}") from None
    return payload


def load_checkpoint(path: str | os.PathLike, arch: str | None = None,
                    device: torch.device | str | None = "cpu") -> Checkpoint:
    """Rebuild the model saved in ``path`` (read with ``weights_only=True``).

    With ``arch`` given, a checkpoint of another architecture is a ``ValueError`` naming both.
    A file that is not a whole checkpoint of this course is a ``ValueError`` naming the file.
    ``device`` is what ``companion.get_device`` takes (``'cpu'``, ``'cuda'``, ``'auto'``, …);
    ``None`` leaves the model on the CPU.
    """
    if arch is not None:
        v.one_of("arch", arch, sorted(ARCHS))
    device = torch.device("cpu") if device is None else get_device(device, label="device")
    payload = _read(path)
    stored = payload["config"]["arch"]
    if arch is not None and arch != stored:
        raise ValueError(f"{path} holds a {stored!r} model, not the {arch!r} architecture asked for")
    model = build_model(stored)
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    return Checkpoint(model, stored, payload["history"], payload.get("recipe", {}), payload.get("info", {}))


def restore(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load the weights in ``path`` into ``model``; a ``ValueError`` names both architectures
    if the checkpoint was saved from a different one, and the layer if ``model`` was changed."""
    mine = arch_of(model)
    payload = _read(path)
    stored = payload["config"]["arch"]
    if stored != mine:
        raise ValueError(f"{path} holds a {stored!r} model ({ARCHS[stored].__name__}) but this model is "
                         f"{mine!r} ({type(model).__name__}); build it with build_model({stored!r})")
    _check_shapes(model.state_dict(), mine, f"this {type(model).__name__}",
                  f"it was changed after it was built; load {path} into build_model({stored!r})")
    model.load_state_dict(payload["state_dict"])
    return model
