"""What the subcommands of ``python -m companion`` do (the parser lives in ``__main__.py``).

Each ``run_*`` function takes the parsed arguments, prints for a person, and returns the exit
status: 0 done, 1 failed (with one ``error:`` line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["SAMPLE_EPOCHS", "run_train", "run_predict", "fail"]

#: the embedded sample has 4,000 training digits: a pass over them is 15× shorter than one
#: over MNIST's 60,000, so it takes more passes
SAMPLE_EPOCHS = 4


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def run_train(args: argparse.Namespace) -> int:
    """``train``: load digits, train with a recipe, report each epoch, save a checkpoint."""
    from .device import get_device
    from .mnist import load_digits
    from .train import RECIPES, fit, make_model, save_checkpoint

    try:
        device = get_device(args.device)
        digits = load_digits(args.data, timeout=args.timeout)
        if args.limit is not None:
            digits = digits.limit(args.limit)
    except (OSError, RuntimeError, ValueError) as exc:
        return fail(str(exc))
    recipe = RECIPES[args.recipe]
    epochs = args.epochs or (recipe.epochs if digits.source == "mnist" else SAMPLE_EPOCHS)
    if args.batch_size:
        recipe = recipe.with_(batch_size=args.batch_size)
    head = f" + {recipe.head_epochs:g} training only fc1 and fc2" if recipe.head_epochs else ""
    print(f"training {args.arch!r} on {device.type} for {epochs:g} epoch(s){head}: recipe {recipe.name} "
          f"({recipe.optimizer}, lr {recipe.lr:g}, batch {recipe.batch_size}), seed {args.seed}", flush=True)
    model = make_model(args.arch, args.seed).to(device)
    started = time.perf_counter()
    history = fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, recipe=recipe,
                  epochs=epochs, seed=args.seed, device=device, progress=not args.no_progress)
    wall = time.perf_counter() - started
    for e, loss, acc, secs in zip(history.epoch, history.train_loss, history.test_acc, history.seconds):
        print(f"epoch {e:g}: train loss {loss:.4f}  test accuracy {100 * acc:.2f}%  ({secs:.1f} s of training)")
    info = {"data": digits.description, "source": digits.source, "seed": args.seed, "device": device.type,
            "train": len(digits.y_train), "test": len(digits.y_test)}
    try:
        path = save_checkpoint(args.out, model.cpu(), history=history, recipe=recipe, info=info)
    except OSError as exc:
        return fail(f"could not save the checkpoint: {exc}")
    which = "MNIST test images" if digits.source == "mnist" else "test digits of the sample"
    print(f"saved {path} — test accuracy {100 * history.test_acc[-1]:.2f}% on {len(digits.y_test):,} {which}; "
          f"{wall:.1f} s in all", flush=True)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """``predict``: load a checkpoint, read the image the MNIST way, print the digit."""
    from .predict import predict_image
    from .train import load_checkpoint

    model_path = Path(args.model)
    if not model_path.is_file():
        return fail(f"{model_path}: no such model file; train one with `python -m companion train --out {model_path}`")
    try:
        ckpt = load_checkpoint(model_path)
        digit, probs = predict_image(ckpt.model, args.image)
    except (OSError, ValueError) as exc:
        return fail(str(exc))
    top = probs.argsort(descending=True)[:3].tolist()
    others = ", ".join(f"{d}: {100 * probs[d].item():.1f}%" for d in top[1:])
    print(f"{args.image}: {digit}  (probability {100 * probs[digit].item():.1f}%; next {others})")
    return 0
