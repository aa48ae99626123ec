"""``python -m companion COMMAND``: the course's command line.

To add a subcommand, add its parser in ``build_parser`` and set ``run`` to a function that
takes the parsed arguments and returns the exit status.
"""

from __future__ import annotations

import argparse
import os

from . import cli
from .train import COURSE

DESCRIPTION = """\
The command line of the course "DigitRecognizer, layer by layer".

  train     train the network on handwritten digits and save it to a file
  predict   read a digit from an image file with a trained network
  doctor    show versions, devices and data sources

Run `python -m companion COMMAND --help` for the options of one command."""

TRAIN_HELP = """\
Train the course's network and save it.

Where the digits come from (--data):
  auto    full MNIST from the folder $COURSE_MNIST_DIR, else from the download cache or a
          fresh download (torchvision), else the 5,000-digit sample that ships with the
          course; one line says which was used and why
  mnist   full MNIST only (folder, cache or download); fails instead of falling back
  sample  the embedded sample: 4,000 digits to train on, 1,000 to test on
  PATH    a folder with the four MNIST files (train-images-idx3-ubyte, …), raw or .gz

After every epoch it prints the training loss and the accuracy on the test digits. The saved
file records the architecture, so `predict` rebuilds the right network."""

PREDICT_HELP = """\
Say which digit an image shows.

The image (PNG, JPEG, …; at least 28×28 pixels; grayscale or colour) is prepared the way
MNIST's digits were: made grayscale, inverted if the paper is lighter than the ink, cropped
to the ink, scaled to fit 20×20 pixels keeping its shape, and placed in a 28×28 square with
the ink's centre of mass in the middle. Prints the digit and the three most likely ones."""


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m companion", description=DESCRIPTION, formatter_class=fmt)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("train", help="train the network and save it", description=TRAIN_HELP, formatter_class=fmt)
    p.add_argument("--data", default="auto", metavar="auto|sample|mnist|PATH",
                   help="where the digits come from (default: auto)")
    p.add_argument("--epochs", type=_positive_float, default=None, metavar="N",
                   help=f"passes over the training digits with every layer learning (default: {COURSE.epochs:g} "
                   f"on MNIST, {cli.SAMPLE_EPOCHS} on the sample); the course recipe then trains only fc1 and "
                   f"fc2 for {COURSE.head_epochs:g} more")
    p.add_argument("--device", default=os.environ.get("COURSE_DEVICE") or "auto", metavar="cpu|cuda|auto",
                   help="where to train (default: $COURSE_DEVICE, else auto = a CUDA GPU if there is one)")
    p.add_argument("--out", default="model.pt", metavar="FILE", help="where to save the network (default: model.pt)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed: same seed, same run (default: 0)")
    p.add_argument("--arch", choices=("fixed", "note"), default="fixed",
                   help="fixed: the note's network with its dropout corrected (default); note: exactly as written")
    p.add_argument("--recipe", choices=("course", "examples"), default="course",
                   help="course: AdamW, one-cycle schedule, then the fully connected layers alone (default); "
                   "examples: pytorch/examples' Adadelta")
    p.add_argument("--batch-size", type=_positive_int, default=None, metavar="B", help="digits per step (default: the recipe's)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="give up a download after this long (default: 60)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--limit", type=_positive_int, default=None, help=argparse.SUPPRESS)  # first N of each split, for tests
    p.set_defaults(run=cli.run_train)

    p = sub.add_parser("predict", help="read a digit from an image file", description=PREDICT_HELP, formatter_class=fmt)
    p.add_argument("image", metavar="IMAGE", help="the image file, e.g. digit.png")
    p.add_argument("--model", default="model.pt", metavar="FILE", help="a network saved by `train` (default: model.pt)")
    p.set_defaults(run=cli.run_predict)

    # its options are parsed by companion.doctor itself
    sub.add_parser("doctor", help="show versions, devices and data sources", add_help=False)
    return parser


def _positive(cast: type, what: str, rule: str):
    """An argparse type: ``cast(text)``, which must be finite and above zero."""

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"{text} {rule}")
        return value

    return parse


_positive_int = _positive(int, "a whole number", "must be at least 1")
_positive_float = _positive(float, "a number", "must be a positive number (0.5 = half the digits)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "doctor":
        from . import doctor

        return doctor.main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
