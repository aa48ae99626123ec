"""Checkpoints: a trained network saved with what it is (architecture, input, normalisation),
how it was trained, and read back safely (``torch.load(weights_only=True)``)."""

from __future__ import annotations

import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

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
        raise ValueError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0]})"
        ) from None
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
        raise ValueError(f"{path} holds a {stored!r} model ({ARCHS[stored].__name__}) but this model is "
                         f"{mine!r} ({type(model).__name__}); build it with build_model({stored!r})")
    model.load_state_dict(payload["state_dict"])
    return model
