"""``python -m companion COMMAND``: the course's command line, its parser and what each
command does.

Each ``run_*`` function takes the parsed arguments, prints for a person, returns 0 when done,
and raises an exception with a message that says what went wrong and what to do. ``main`` is
the one place that turns an exception into one ``error:`` line on stderr (exit status 1;
130 after Ctrl-C; 2 for a usage error, from argparse); ``--debug`` shows the traceback too.
To add a subcommand, add its parser in ``build_parser`` and set ``run`` to such a function.

Nothing here imports torch until a command runs, so that ``doctor`` works without it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
from pathlib import Path

from .cache import MAX_DOWNLOAD_SECONDS
from .device import CHOICES, DEFAULT, ENV
from .recipes import COURSE, MAX_EPOCHS, MAX_SEED, RECIPES, SAMPLE_EPOCHS

__all__ = ["build_parser", "main", "run_train", "run_predict", "describe", "fail"]

#: the architectures ``--arch`` offers (``companion.model.ARCHS``, named here without importing torch)
ARCH_CHOICES = ("fixed", "note")
#: the exit status after Ctrl-C (128 + SIGINT, as shells report it)
INTERRUPTED = 130

DESCRIPTION = """\
The command line of the course "DigitRecognizer, layer by layer".

  train     train the network on handwritten digits and save it to a file
  predict   read a digit from an image file with a trained network
  doctor    show versions, devices and data sources

Run `python -m companion COMMAND --help` for the options of one command. A failure is one
line starting with "error:" (exit status 1); --debug shows where it came from."""

TRAIN_HELP = f"""\
Train the course's network and save it.

Where the digits come from (--data):
  auto    full MNIST from the folder $COURSE_MNIST_DIR, else from the download cache or a
          fresh download (torchvision), else the 5,000-digit sample that ships with the
          course; one line says which was used and why
  mnist   full MNIST only (folder, cache or download); fails instead of falling back
  sample  the embedded sample: 3,500 digits to train on, 1,000 to test on
  PATH    a folder with the four MNIST files (train-images-idx3-ubyte, …), raw or .gz

After every epoch it prints the training loss and the accuracy on the test digits. The saved
file records the architecture, so `predict` rebuilds the right network.

Your files: --out is checked before training starts. An existing file is never replaced
unless you pass --force, and a read-only file is never replaced. The file is written under a
temporary name and renamed when complete, so an interrupted run (Ctrl-C) leaves the old file
as it was. At most {MAX_EPOCHS} epochs."""

PREDICT_HELP = """\
Say which digit an image shows.

The image (PNG, JPEG, …; at least 28 pixels on its longer side; grayscale or colour, 8 or 16
bits) is prepared the way MNIST's digits were: turned upright as the camera recorded it, made
grayscale, inverted if the digit is darker than its paper, scaled by the ink's typical
brightness, cleared of frames, borders and specks that are not the digit, cropped to the ink,
scaled to fit 20×20 pixels keeping its shape, and placed in a 28×28 square with the ink's
centre of mass in the middle. Prints the digit and the three most likely ones."""


def _number(cast: type, what: str, low: float, high: float, rule: str):
    """An argparse type: ``cast(text)``, which must lie in (low, high] (``rule`` says so)."""

    def parse(text: str):
        try:
            value = cast(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not (low < value <= high and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{text} {rule}")
        return value

    return parse


_positive_int = _number(int, "a whole number", 0, 2**31 - 1, "must be at least 1 (and below 2**31)")
_epochs = _number(float, "a number", 0, MAX_EPOCHS,
                  f"must be a positive number of at most {MAX_EPOCHS} (0.5 = half the digits)")
_seed = _number(int, "a whole number", -1, MAX_SEED, f"must be a whole number from 0 to {MAX_SEED}")
_timeout = _number(float, "a number of seconds", 0, MAX_DOWNLOAD_SECONDS,
                   f"must be a positive number of seconds, at most {MAX_DOWNLOAD_SECONDS:g}")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    debug = argparse.ArgumentParser(add_help=False)  # accepted before or after the command
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="on an error, show the traceback as well")
    parser = argparse.ArgumentParser(prog="python -m companion", description=DESCRIPTION, formatter_class=fmt)
    parser.add_argument("--debug", action="store_true", help="on an error, show the traceback as well")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("train", help="train the network and save it", description=TRAIN_HELP, formatter_class=fmt,
                       parents=[debug])
    p.add_argument("--data", default="auto", metavar="auto|sample|mnist|PATH",
                   help="where the digits come from (default: auto)")
    p.add_argument("--epochs", type=_epochs, default=None, metavar="N",
                   help=f"passes over the training digits with every layer learning (default: {COURSE.epochs:g} "
                   f"on MNIST, {SAMPLE_EPOCHS} on the sample; at most {MAX_EPOCHS}); the course recipe then "
                   f"trains only fc1 and fc2 for {COURSE.head_epochs:g} more")
    p.add_argument("--device", default=None, metavar="|".join(CHOICES),
                   help=f"where to train (default: ${ENV}, else {DEFAULT} = a CUDA GPU if there is one, else the CPU)")
    p.add_argument("--out", default="model.pt", metavar="FILE",
                   help="where to save the network (default: model.pt); checked before training starts")
    p.add_argument("--force", action="store_true",
                   help="replace --out if it exists (never a read-only file); without it an existing file is an error")
    p.add_argument("--seed", type=_seed, default=0, metavar="S",
                   help=f"random seed, 0 to {MAX_SEED}: same seed, same run (default: 0)")
    p.add_argument("--arch", choices=ARCH_CHOICES, default="fixed",
                   help="fixed: the note's network with its dropout corrected (default); note: exactly as written")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="course",
                   help="course: AdamW, one-cycle schedule, then the fully connected layers alone (default); "
                   "examples: pytorch/examples' Adadelta")
    p.add_argument("--batch-size", type=_positive_int, default=None, metavar="B",
                   help="digits per step (default: the recipe's)")
    p.add_argument("--timeout", type=_timeout, default=60.0, metavar="SECONDS",
                   help="give up a download after this long (default: 60)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    # first N of each split, for tests
    p.add_argument("--limit", type=_positive_int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(run=run_train)

    p = sub.add_parser("predict", help="read a digit from an image file", description=PREDICT_HELP,
                       formatter_class=fmt, parents=[debug])
    p.add_argument("image", metavar="IMAGE", help="the image file, e.g. digit.png")
    p.add_argument("--model", default="model.pt", metavar="FILE", help="a network saved by `train` (default: model.pt)")
    p.set_defaults(run=run_predict)

    # its other options are parsed by companion.doctor itself
    sub.add_parser("doctor", help="show versions, devices and data sources", add_help=False, parents=[debug])
    return parser


def describe(exc: BaseException) -> str:
    """One line for a person: what went wrong and, where it is known, what to do."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if isinstance(exc, ImportError):
        return (f"{exc.name or 'a package'} cannot be imported ({text or type(exc).__name__}); "
                "`python -m companion doctor` shows what is installed, and `make lab` installs the pinned versions")
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}"
    if isinstance(exc, (ValueError, OSError, RuntimeError)) and text:
        return text
    return f"{type(exc).__name__}: {text or 'no message'} (unexpected; run again with --debug to see where it arose)"


def fail(message: str) -> int:
    """Print ``error: message`` on stderr; return 1."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and run the command; every failure is one
    ``error:`` line on stderr and a non-zero return (see the module docstring)."""
    if argv is not None and (not isinstance(argv, (list, tuple)) or not all(isinstance(a, str) for a in argv)):
        from ._validate import wrong_type

        raise wrong_type("argv", argv, "a list of str, e.g. ['train', '--epochs', '1'], or None")
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "doctor":
            from . import doctor

            return doctor.main(rest)
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return args.run(args)
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        fail("interrupted (Ctrl-C); no file was left half-written")
        return INTERRUPTED
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        return fail(describe(exc))


def run_train(args: argparse.Namespace) -> int:
    """``train``: check --out, load digits, train with a recipe, report each epoch, save a checkpoint."""
    from .files import check_destination

    out = check_destination(args.out, overwrite=args.force, allow="--force")  # before any work
    from .checkpoint import save_checkpoint
    from .device import get_device
    from .mnist import load_digits
    from .model import make_model
    from .train import fit

    device = get_device(args.device)
    digits = load_digits(args.data, timeout=args.timeout)
    if args.limit is not None:
        digits = digits.limit(args.limit)
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
    path = save_checkpoint(out, model.cpu(), history=history, recipe=recipe, info=info, overwrite=args.force)
    which = "MNIST test images" if digits.source == "mnist" else "test digits of the sample"
    print(f"saved {path} — test accuracy {100 * history.test_acc[-1]:.2f}% on {len(digits.y_test):,} {which}; "
          f"{wall:.1f} s in all", flush=True)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """``predict``: load a checkpoint, read the image the MNIST way, print the digit."""
    model_path = Path(args.model)
    if model_path.is_dir():
        raise IsADirectoryError(f"--model {model_path} is a folder: name the model file in it, "
                                f"e.g. {model_path / 'model.pt'}")
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: no such model file; train one with "
                                f"`python -m companion train --out {model_path}`")
    from .checkpoint import load_checkpoint
    from .predict import predict_image

    ckpt = load_checkpoint(model_path)
    digit, probs = predict_image(ckpt.model, args.image)
    top = probs.argsort(descending=True)[:3].tolist()
    others = ", ".join(f"{d}: {100 * probs[d].item():.1f}%" for d in top[1:])
    print(f"{args.image}: {digit}  (probability {100 * probs[digit].item():.1f}%; next {others})")
    return 0
