"""The pieces of a training step that the course recipe changed, each timed against what it replaced.

    python benchmarks/parts.py [--device cpu] [--rounds 5] [--threads N]

- ``update``: one AdamW update of the whole network (1,199,882 parameters, gradients in
  place): torch's default ``foreach`` implementation vs ``fused`` (``companion.recipes.adamw``).
- ``train step``: one training step of the first stage (batch 64, conv1 frozen, as after the
  first quarter of it) and one of the head stage (batch 256 of pooled feature maps), with
  either AdamW.
- ``features``: the pooled feature maps of 6,400 images, in the note's order (ReLU, then
  pool, each ReLU a new tensor) vs ``companion.model.features`` (pool, then ReLU in place);
  the two results are compared bit for bit.

The two versions of each piece alternate, ``--rounds`` times; medians are printed. Random
images stand in for MNIST: the time of these operations does not depend on the pixel values.
This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion import get_device  # noqa: E402
from companion.model import conv_maps, features, head, make_model  # noqa: E402


def _clock(device: torch.device) -> Callable[[], float]:
    def now() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter()
    return now


def update_time(device: torch.device, fused: bool, steps: int = 15) -> float:
    """Median seconds of one AdamW update of the whole network, gradients already in place."""
    m = make_model("fixed", seed=0)
    gen = torch.Generator().manual_seed(0)
    for p in m.parameters():
        p.grad = torch.randn(p.shape, generator=gen)
    m.to(device)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, **({"fused": True} if fused else {"foreach": True}))
    now, times = _clock(device), []
    for _ in range(steps):
        t0 = now()
        opt.step()
        times.append(now() - t0)
    return statistics.median(times)


def step_time(device: torch.device, fused: bool, stage: str, steps: int = 9) -> float:
    """Median seconds of one training step of the first stage (conv1 frozen) or the head stage."""
    channels_last = device.type == "cpu"
    m = make_model("fixed", seed=0).to(device)
    if channels_last:
        m.to(memory_format=torch.channels_last)
    m.dropout1.p = m.dropout2.p = 0.0  # as the course recipe trains
    frozen = ("conv1",) if stage == "first" else ("conv1", "conv2")
    for name in frozen:
        getattr(m, name).requires_grad_(False)
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, **({"fused": True} if fused else {"foreach": True}))
    gen = torch.Generator().manual_seed(0)
    if stage == "first":
        x = torch.rand(64, 1, 28, 28, generator=gen).to(device)
        x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        forward = m
    else:
        x = torch.rand(256, 64, 12, 12, generator=gen).to(device)
        forward = lambda f: head(m, f)  # noqa: E731
    y = torch.randint(0, 10, (len(x),), generator=gen).to(device)
    now, times = _clock(device), []
    for _ in range(steps):
        t0 = now()
        loss = F.cross_entropy(forward(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(now() - t0)
    return statistics.median(times[2:])  # the first steps allocate


@torch.no_grad()
def features_note_order(model: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """What ``companion.model.features`` computed before: ReLU, then pool, each a new tensor."""
    layout = torch.channels_last if x.device.type == "cpu" else torch.contiguous_format
    out = torch.empty(len(x), 64, 12, 12, device=x.device)
    for i in range(0, len(x), batch_size):
        out[i : i + batch_size] = F.max_pool2d(conv_maps(model, x[i : i + batch_size], layout), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu)")
    parser.add_argument("--rounds", type=int, default=5, help="how often each pair alternates (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))

    pairs: dict[str, tuple[str, list[float], list[float]]] = {}  # label: (what changed, before, now)

    def add(label: str, change: str, before: float, now: float) -> None:
        pairs.setdefault(label, (change, [], []))
        pairs[label][1].append(before)
        pairs[label][2].append(now)

    model = make_model("fixed", seed=0).to(device).eval()
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(0)
    images = (torch.rand(6400, 1, 28, 28, generator=gen) - 0.1307) / 0.3081
    images = images.to(device)
    batch = 64 if device.type == "cpu" else 2048
    same = True
    now = _clock(device)
    for _ in range(args.rounds):
        add("AdamW update, whole network (ms)", "foreach → fused", 1e3 * update_time(device, False),
            1e3 * update_time(device, True))
        add("first-stage step, batch 64 (ms)", "foreach → fused", 1e3 * step_time(device, False, "first"),
            1e3 * step_time(device, True, "first"))
        add("head-stage step, batch 256 (ms)", "foreach → fused", 1e3 * step_time(device, False, "head"),
            1e3 * step_time(device, True, "head"))
        t0 = now()
        a = features_note_order(model, images, batch)
        t1 = now()
        b = features(model, images, batch_size=batch)
        t2 = now()
        same = same and torch.equal(a, b)
        add("features of 6,400 images (s)", "ReLU, pool → pool, ReLU_", t1 - t0, t2 - t1)

    print(f"\n{'piece':34s} {'before':>9s} {'now':>9s} {'ratio':>6s}   (medians of {args.rounds} rounds)")
    for label, (change, before, after) in pairs.items():
        b, a = statistics.median(before), statistics.median(after)
        print(f"{label:34s} {b:9.2f} {a:9.2f} {b / a:5.2f}×   ({change})")
    print(f"\nfeatures: both orders give the same numbers bit for bit: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
