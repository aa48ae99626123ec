"""Time to 99.0 % test accuracy on the full MNIST: pytorch/examples' recipe vs the course's.

    python benchmarks/train_speed.py MNIST_FOLDER [--seeds 1 2 3] [--epochs 4] [--device cpu]
                                                  [--recipes examples course] [--threads N]
                                                  [--evals-per-epoch 4] [--stop-at-target]
                                                  [--amp auto|on|off] [--channels-last auto|on|off]
                                                  [--batch-size B] [--head-batch-size B] [--lr LR] [--head-lr LR]

Both recipes run in this one process, seed by seed, alternating, so that they share the
machine's conditions. Per recipe and seed it prints the training seconds until the test
accuracy (the official 10,000 test images) first reached 99.0 %, the accuracy at the end, and
at the end the ratio of the mean times.

- ``examples``: pytorch/examples' mnist/main.py on the note's ``DigitRecognizer``: Adadelta
  lr 1.0, StepLR(step 1, gamma 0.7), batch 64, ``torchvision.datasets.MNIST``
  (the local files, no download) with ``ToTensor`` + ``Normalize((0.1307,), (0.3081,))`` per
  sample through a ``DataLoader``, as in the original script (``num_workers`` 0 on the CPU;
  1 worker and pinned memory on CUDA).
- ``course``: ``companion.train.COURSE`` on the corrected architecture: the data held as two
  tensors on the device, shuffled by index permutation; AdamW with a one-cycle schedule while
  every layer learns (conv1 frozen after a quarter of it), then a stage that trains only fc1
  and fc2 on the pooled feature maps, computed once (their computation counts as training);
  the two stages' learning rates, dropout rates and batch sizes are printed at the start, and
  the number format: bf16 autocast where ``companion.device.use_bf16`` chooses it (CUDA GPUs
  with bf16, CPUs with native bf16), float32 elsewhere; ``--amp on|off`` overrides the choice.

``--batch-size``, ``--head-batch-size``, ``--lr`` and ``--head-lr`` change the course recipe's
two stages (to probe, say, larger batches on a GPU, with the learning rates scaled to them);
the recipe printed at the start is the one that ran.

Both are evaluated ``--evals-per-epoch`` times per epoch (default 4), so that the time to
99 % is resolved equally finely for both.

Training time counts every training step (for ``examples`` also the loader's work); the
evaluations are not counted. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion import get_device  # noqa: E402
from companion import mnist as cm  # noqa: E402
from companion.device import use_bf16  # noqa: E402
from companion.evaluate import evaluate  # noqa: E402
from companion.history import History  # noqa: E402
from companion.model import build_model, make_model  # noqa: E402
from companion.recipes import COURSE, Recipe  # noqa: E402
from companion.train import fit  # noqa: E402

TARGET = 0.99


def _load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text(encoding="utf-8").split()[:3])
    except OSError:
        return "n/a"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def torchvision_root(folder: Path, into: Path) -> Path:
    """A root that ``torchvision.datasets.MNIST(root, download=False)`` accepts: the four files
    uncompressed in ``root/MNIST/raw`` (symlinked when raw, decompressed when ``.gz``)."""
    raw = into / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for key, name in cm.FILES.items():
        src = cm.find_files(folder)[key]
        dst = raw / name
        if src.read_bytes()[:2] == b"\x1f\x8b":
            with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        else:
            dst.symlink_to(src.resolve())
    return into


def run_examples(root: Path, seed: int, epochs: int, device: torch.device, test_x, test_y, evals: int,
                 stop_at_target: bool = False) -> History:
    """pytorch/examples mnist/main.py, its train() and StepLR loop, timed without its test().

    Evaluated ``evals`` times per epoch (the original evaluates once, at the end of each epoch)
    so that its time to 99 % is resolved as finely as the course recipe's."""
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.MNIST(str(root), train=True, download=False, transform=transform)
    kwargs = {"batch_size": 64, "shuffle": True}
    if device.type == "cuda":
        kwargs.update(num_workers=1, pin_memory=True)
    loader = torch.utils.data.DataLoader(train_set, **kwargs)
    model = build_model("note").to(device)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    history, trained = History(), 0.0
    per_epoch = len(loader)
    checkpoints = {round(k * per_epoch / evals) for k in range(1, evals + 1)}
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.perf_counter()
        for batch, (data, target) in enumerate(loader, start=1):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            if batch in checkpoints:
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                trained += time.perf_counter() - t0
                test_loss, acc = evaluate(model, test_x, test_y, device=device)  # the same 10,000 images
                e = epoch - 1 + batch / per_epoch
                history.epoch.append(round(e, 4))
                history.step.append((epoch - 1) * per_epoch + batch)
                history.seconds.append(trained)
                history.train_loss.append(loss.item())
                history.test_loss.append(test_loss)
                history.test_acc.append(acc)
                history.lr.append(optimizer.param_groups[0]["lr"])
                print(f"  examples seed {seed} epoch {e:.3f}: test accuracy {100 * acc:.2f}%  training {trained:.1f} s",
                      flush=True)
                if stop_at_target and acc >= TARGET:
                    return history
                model.train()
                t0 = time.perf_counter()
        scheduler.step()
    return history


def run_course(digits: cm.Digits, seed: int, epochs: float | None, evals: int, device: torch.device,
               amp: bool | None = None, recipe: Recipe = COURSE, channels_last: bool | None = None) -> History:
    model = make_model("fixed", seed).to(device)
    history = fit(model, digits.x_train, digits.y_train, digits.x_test, digits.y_test, recipe=recipe,
                  epochs=epochs, seed=seed, device=device, evals_per_epoch=evals, progress=False, amp=amp,
                  channels_last=channels_last)
    for e, s, a in zip(history.epoch, history.seconds, history.test_acc):
        print(f"  course   seed {seed} epoch {e:.3f}: test accuracy {100 * a:.2f}%  training {s:.1f} s", flush=True)
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder with the four MNIST IDX files (raw or .gz)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--epochs", type=int, default=4, help="epochs of the examples recipe (default 4)")
    parser.add_argument("--course-epochs", type=float, default=None,
                        help=f"epochs of the course recipe's first stage (default {COURSE.epochs:g}, the recipe's; "
                        f"its {COURSE.head_epochs:g} head epochs follow)")
    parser.add_argument("--evals-per-epoch", type=int, default=4,
                        help="evaluations per epoch, both recipes (default 4)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu)")
    parser.add_argument("--recipes", nargs="+", choices=("examples", "course"), default=["examples", "course"])
    parser.add_argument("--examples-seeds", type=int, nargs="+", default=None,
                        help="seeds for the examples recipe only (default: --seeds)")
    parser.add_argument("--stop-at-target", action="store_true",
                        help="stop the examples recipe once it reaches 99.0%% (its final accuracy is then that)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--amp", choices=("auto", "on", "off"), default="auto",
                        help="bf16 autocast for the course recipe: auto (companion.device.use_bf16, default), on, off")
    parser.add_argument("--channels-last", choices=("auto", "on", "off"), default="auto",
                        help="channels-last memory layout for the course recipe: auto (fit's choice: on for the CPU, "
                        "off for CUDA; default), on, off")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"the course recipe's first-stage batch size (default {COURSE.batch_size})")
    parser.add_argument("--head-batch-size", type=int, default=None,
                        help=f"the course recipe's head-stage batch size (default {COURSE.head_batch_size})")
    parser.add_argument("--lr", type=float, default=None,
                        help=f"the course recipe's first-stage peak learning rate (default {COURSE.lr:g})")
    parser.add_argument("--head-lr", type=float, default=None,
                        help=f"the course recipe's head-stage learning rate (default {COURSE.head_lr:g})")
    args = parser.parse_args(argv)
    changes = {field: value for field, value in (("batch_size", args.batch_size), ("head_batch_size",
               args.head_batch_size), ("lr", args.lr), ("head_lr", args.head_lr)) if value is not None}
    try:
        recipe = COURSE.with_(**changes)
    except ValueError as err:
        parser.error(str(err))

    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    digits = cm.load_folder(args.folder)
    if len(digits.y_train) != 60_000 or len(digits.y_test) != 10_000:
        parser.error(f"{args.folder}: expected the full MNIST (60,000 + 10,000), found {digits.description}")
    print(f"date {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"machine {_cpu_name()}, {os.cpu_count()} logical CPUs; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    print(f"python {platform.python_version()}; load average at start {_load_avg()}")
    print(f"data {digits.description}")
    print(f"course recipe {recipe}" + (f" (changed: {', '.join(changes)})" if changes else ""))
    amp = {"auto": None, "on": True, "off": False}[args.amp]
    channels_last = {"auto": None, "on": True, "off": False}[args.channels_last]
    layout = device.type == "cpu" if channels_last is None else channels_last
    print(f"course recipe lays out images {'channels-last' if layout else 'contiguous (NCHW)'} "
          f"(--channels-last {args.channels_last})")
    print(f"course recipe computes in {'bf16 autocast' if use_bf16(device, amp) else 'float32'} "
          f"(--amp {args.amp}; CPU capability {torch.backends.cpu.get_cpu_capability()})")
    print(flush=True)

    examples_seeds = args.examples_seeds or args.seeds
    results: dict[str, dict[int, History]] = {r: {} for r in args.recipes}
    with tempfile.TemporaryDirectory(prefix="mnist-tv-") as tmp:
        root = torchvision_root(args.folder, Path(tmp)) if "examples" in args.recipes else None
        for seed in sorted(set(args.seeds) | set(examples_seeds)):
            for name in args.recipes:
                if name == "examples" and seed in examples_seeds:
                    print(f"[examples, seed {seed}] load average {_load_avg()}", flush=True)
                    results[name][seed] = run_examples(root, seed, args.epochs, device, digits.x_test, digits.y_test,
                                                         args.evals_per_epoch, args.stop_at_target)
                elif name == "course" and seed in args.seeds:
                    print(f"[course, seed {seed}] load average {_load_avg()}", flush=True)
                    results[name][seed] = run_course(digits, seed, args.course_epochs, args.evals_per_epoch, device,
                                                          amp, recipe, channels_last)

    print(f"\nload average at the end {_load_avg()}")
    print(f"\n{'recipe':9s} {'seed':>4s} {'time to 99.0%':>14s} {'at epoch':>9s} {'final acc':>10s} "
          f"{'train s':>8s} {'s/epoch':>8s}")
    means = {}
    for name, runs in results.items():
        times = []
        for seed, h in runs.items():
            t = h.time_to(TARGET)
            at = next((e for e, a in zip(h.epoch, h.test_acc) if a >= TARGET), None)
            per_epoch = h.seconds[-1] / h.epoch[-1]
            print(f"{name:9s} {seed:4d} {f'{t:.1f} s' if t is not None else 'not reached':>14s} "
                  f"{f'{at:.3g}' if at is not None else '-':>9s} {100 * h.test_acc[-1]:9.2f}% "
                  f"{h.seconds[-1]:8.1f} {per_epoch:8.1f}")
            if t is not None:
                times.append(t)
        finals = [h.test_acc[-1] for h in runs.values()]
        if finals:
            reached = f"{len(times)}/{len(runs)} seeds reached 99.0%"
            mean_t = statistics.mean(times) if times else None
            means[name] = (mean_t, len(times) == len(runs))
            print(f"{name:9s} mean: time to 99.0% {f'{mean_t:.1f} s' if mean_t else '-'} ({reached}); "
                  f"final accuracy {100 * statistics.mean(finals):.2f}% (min {100 * min(finals):.2f}%)")
    if "examples" in means and "course" in means and means["examples"][0] and means["course"][0]:
        ratio = means["examples"][0] / means["course"][0]
        caveat = "" if means["examples"][1] and means["course"][1] else " (not every seed reached 99.0%)"
        print(f"\nratio of mean times to 99.0%, examples / course: {ratio:.2f}×{caveat}")
        paired = [s for s in results["examples"] if s in results["course"]
                  and results["examples"][s].time_to(TARGET) and results["course"][s].time_to(TARGET)]
        for s in paired:
            print(f"  seed {s}: {results['examples'][s].time_to(TARGET) / results['course'][s].time_to(TARGET):.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
