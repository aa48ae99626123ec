"""What each of the course recipe's own choices costs in accuracy, on the embedded sample.

    python benchmarks/recipe_choices.py [--seeds 0 1 2] [--out benchmarks/recipe_choices.json]

The course recipe (``companion.recipes.COURSE``) is not pytorch/examples' recipe made faster:
some of its changes alter what the network learns. This script trains the corrected network
on the sample's 3,500 training digits with the course recipe and with one choice undone at a
time, for every seed, and measures each network on the sample's 500 validation digits (the
test digits are never read). Every variant gets the same digits, the same seeds (the seed
fixes the initial weights, the order of the batches and the dropout masks) and the same
number of steps, except where the variant is the budget itself:

- ``course``: the recipe as it is (stage 1: AdamW with one-cycle, dropout off, conv1 frozen
  after a quarter; stage 2: only fc1 and fc2, on feature maps computed once);
- ``stage1_only``: the same run stopped when stage 1 ends (the do-nothing baseline for the
  head stage; read from the ``course`` run's history, no extra training);
- ``all_layers_same_time``: one stage only, every layer learning, no freeze, given as many
  epochs as the course run's seconds allow (its stage-1 seconds per epoch, measured in the
  same process) — what the head stage's seconds buy without the speed tricks;
- ``dropout_on``: the model's own dropout rates (0.25, 0.5) in both stages;
- ``conv1_trainable``: conv1 is never frozen in stage 1;
- ``adadelta_step``: stage 1 with pytorch/examples' optimiser and schedule (Adadelta lr 1.0,
  StepLR gamma 0.7 per epoch) instead of AdamW with one-cycle; the rest unchanged.

Everything runs on the CPU in float32 (no bf16), with one thread unless ``--threads`` says
otherwise, so that the numbers do not depend on whether this CPU has bf16 units. The results,
with the recipes that produced them, the command, the date, torch's version and the CPU's
kernels, are written atomically to ``--out`` (JSON); lesson 14 reads that file, and
``tests/test_benchmark.py`` checks that its recipes are still the course's.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.files import atomic_write  # noqa: E402
from companion.model import make_model  # noqa: E402
from companion.recipes import COURSE, SAMPLE_EPOCHS, Recipe  # noqa: E402
from companion.sample import load_sample  # noqa: E402
from companion.train import fit  # noqa: E402

FORMAT = "digit-course-recipe-choices"
OUT = ROOT / "benchmarks" / "recipe_choices.json"


def variants() -> dict[str, Recipe]:
    """The course recipe and each recipe with one of its choices undone (the budget variant,
    ``all_layers_same_time``, gets its epochs from a measurement, so it is made in ``main``)."""
    return {
        "course": COURSE,
        "dropout_on": COURSE.with_(dropout=None),
        "conv1_trainable": COURSE.with_(freeze=()),
        "adadelta_step": COURSE.with_(optimizer="adadelta", lr=1.0, schedule="step", gamma=0.7),
    }


def _run(recipe: Recipe, seed: int, epochs: float, data) -> dict:
    x, y, xv, yv = data
    model = make_model("fixed", seed=seed)
    history = fit(model, x, y, xv, yv, recipe=recipe, epochs=epochs, seed=seed, device="cpu", progress=False,
                  amp=False)
    return {
        "epoch": history.epoch, "train_loss": history.train_loss, "val_loss": history.test_loss,
        "val_acc": history.test_acc, "seconds": history.seconds,
    }


def _recipe_dict(r: Recipe) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(r)))  # tuples as lists, as JSON holds them


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads {args.threads} must be at least 1")
    if len(set(args.seeds)) < 3:
        parser.error(f"--seeds {args.seeds}: at least 3 different seeds, so that a spread can be stated")
    out = args.out.resolve()
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        parser.error(f"--out {args.out}: its folder must exist and be writable")
    torch.set_num_threads(args.threads)

    data = (*load_sample("train"), *load_sample("val"))
    recipes = variants()
    runs: dict[str, dict[str, dict]] = {name: {} for name in [*recipes, "all_layers_same_time"]}
    budget: dict[str, float] = {}
    for seed in args.seeds:
        for name, recipe in recipes.items():
            started = time.perf_counter()
            runs[name][str(seed)] = _run(recipe, seed, SAMPLE_EPOCHS, data)
            print(f"seed {seed} {name:22s} val acc {runs[name][str(seed)]['val_acc'][-1]:.3f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        course = runs["course"][str(seed)]
        stage1 = course["seconds"][course["epoch"].index(SAMPLE_EPOCHS)]
        # the course run's whole training time, spent on stage-1 epochs of every layer learning
        epochs = round(SAMPLE_EPOCHS * course["seconds"][-1] / stage1, 2)
        budget[str(seed)] = epochs
        runs["all_layers_same_time"][str(seed)] = _run(COURSE.with_(head_epochs=0.0, freeze=()), seed, epochs, data)
        print(f"seed {seed} all_layers_same_time   {epochs} epochs, val acc "
              f"{runs['all_layers_same_time'][str(seed)]['val_acc'][-1]:.3f}", flush=True)

    result = {
        "format": FORMAT,
        "command": "python benchmarks/recipe_choices.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "machine": platform.machine(),
        "threads": args.threads,
        "sample_epochs": SAMPLE_EPOCHS,
        "seeds": args.seeds,
        "recipes": {name: _recipe_dict(r) for name, r in recipes.items()},
        "same_time_epochs": budget,
        "runs": runs,
    }
    text = json.dumps(result, ensure_ascii=False, indent=1) + "\n"
    atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
