"""Controlled runs on the embedded sample: the network trained with the course recipe, and short
runs that change one thing of its fully connected part at a time.

``course_network()`` trains the note's network (dropout corrected) on the sample exactly as
lesson 09 does. ``controlled_runs()`` freezes its convolutions, computes their feature maps
once, and trains a fresh head (fc1 → ReLU → fc2, with the note's dropout) on 2,000 training
digits for a few epochs, once per variant and seed: the baseline, and one change each (no
dropout, no ReLU, a narrow fc1, no pooling). Every variant sees the same digits, the same
budget and the same seeds, so a difference between them is the change's effect, up to the
seed-to-seed spread that ``summary`` reports.

Training takes about half a minute on two cores, and lesson 10, the claims ledger and the tests
all ask for the same numbers, so both results are kept in the course cache, keyed by
everything that could change them (companion's sources, torch's version, the CPU kernels and
the thread count). The same key gives the same numbers whether they were computed now or read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .cache import cache_dir
from .checkpoint import load_checkpoint, save_checkpoint
from .evaluate import prepare_images
from .history import History
from .model import DigitRecognizer, conv_maps, features, make_model
from .recipes import COURSE, SAMPLE_EPOCHS

__all__ = ["Variant", "VARIANTS", "Run", "course_network", "controlled_runs", "summary", "TRAIN_DIGITS",
           "HEAD_EPOCHS", "SEEDS"]

CACHE_VERSION = 1
TRAIN_DIGITS = 1000  # of the sample's 4,000 training digits: few enough to overfit, and quick
HEAD_EPOCHS = 4
SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Variant:
    """One head to train on the frozen convolutions' feature maps."""

    label: str
    dropout: tuple[float, float] = (0.25, 0.5)  # the note's dropout1 (channels), dropout2 (elements)
    relu: bool = True
    width: int = 128
    pooled: bool = True


VARIANTS: dict[str, Variant] = {
    "baseline": Variant("笔记的全连接部分"),
    "no_dropout": Variant("去掉 dropout", dropout=(0.0, 0.0)),
    "no_relu": Variant("去掉 fc1 后的 ReLU", relu=False),
    "narrow": Variant("fc1 只有 32 个输出", width=32),
    "no_pool": Variant("去掉最大池化", pooled=False),
}


@dataclass(frozen=True)
class Run:
    """What one variant reached with one seed (losses are mean NLL, accuracies fractions)."""

    variant: str
    seed: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    params: int
    seconds: float


# ── the cache ────────────────────────────────────────────────────────────────


def _key() -> str:
    """What the results depend on, as a short digest."""
    h = hashlib.sha256(f"{CACHE_VERSION} {torch.__version__} {torch.backends.cpu.get_cpu_capability()} "
                       f"{torch.get_num_threads()}".encode())
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes().replace(b"\r\n", b"\n"))
    return h.hexdigest()[:16]


def _folder() -> Path:
    return cache_dir() / "experiments" / _key()


@contextmanager
def _lock(folder: Path, wait: float = 900.0):
    """One computation at a time per key: others wait for it, then read what it wrote."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / ".lock"
    start = time.monotonic()
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                stale = time.time() - lock.stat().st_mtime > wait
            except FileNotFoundError:
                continue
            if stale or time.monotonic() - start > wait:  # its owner died: take over
                lock.unlink(missing_ok=True)
            time.sleep(0.2)
    try:
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


# ── the trained network ──────────────────────────────────────────────────────


def course_network() -> tuple[DigitRecognizer, History]:
    """The 'fixed' network trained with the course recipe on the sample, seed 0, on the CPU in
    float32: what lesson 09 trains. Returned in eval mode with its training history."""
    from .sample import load_sample
    from .train import fit

    folder = _folder()
    path = folder / "course_network.pt"
    with _lock(folder):
        if path.is_file():
            try:
                ckpt = load_checkpoint(path)
                return ckpt.model, ckpt.history
            except (OSError, ValueError):
                pass  # unreadable: train again and replace it
        x, y = load_sample("train")
        xt, yt = load_sample("test")
        model = make_model("fixed", seed=0)
        # float32 everywhere (amp=False): the same numbers whether or not this CPU has bf16 units
        history = fit(model, x, y, xt, yt, recipe=COURSE, epochs=SAMPLE_EPOCHS, seed=0, device="cpu", progress=False,
                      amp=False)
        save_checkpoint(path, model, history=history, recipe=COURSE)
    return model.eval(), history


# ── the controlled runs ──────────────────────────────────────────────────────


class _Head(nn.Module):
    def __init__(self, v: Variant, in_features: int) -> None:
        super().__init__()
        self.v = v
        self.dropout1 = nn.Dropout2d(v.dropout[0])
        self.fc1 = nn.Linear(in_features, v.width)
        self.dropout2 = nn.Dropout(v.dropout[1])
        self.fc2 = nn.Linear(v.width, 10)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        h = self.fc1(torch.flatten(self.dropout1(f), 1))
        h = F.relu(h) if self.v.relu else h
        return F.log_softmax(self.fc2(self.dropout2(h)), dim=1)


@torch.no_grad()
def _metrics(head: nn.Module, f: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    head.eval()
    out = torch.cat([head(f[i : i + 500]) for i in range(0, len(f), 500)])
    return F.nll_loss(out, y).item(), (out.argmax(1) == y).float().mean().item()


def _train_head(v: Variant, seed: int, f: torch.Tensor, y: torch.Tensor, ft: torch.Tensor, yt: torch.Tensor) -> Run:
    torch.manual_seed(seed)  # the head's initial weights and its dropout masks
    head = _Head(v, f[0].numel())
    gen = torch.Generator().manual_seed(seed)
    batch, n = 128, len(f)
    steps = HEAD_EPOCHS * math.ceil(n / batch)
    opt = torch.optim.AdamW(head.parameters(), lr=2e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=2e-6)
    start = time.perf_counter()
    for _ in range(HEAD_EPOCHS):
        head.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            idx = perm[i : i + batch]
            loss = F.nll_loss(head(f[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    seconds = time.perf_counter() - start
    train_loss, train_acc = _metrics(head, f, y)
    test_loss, test_acc = _metrics(head, ft, yt)
    params = sum(p.numel() for p in head.parameters())
    return Run(next(k for k, w in VARIANTS.items() if w == v), seed, train_loss, train_acc, test_loss, test_acc,
               params, seconds)


def _maps(model: nn.Module, x: torch.Tensor, pooled: bool) -> torch.Tensor:
    x = prepare_images(x, torch.device("cpu"))
    if pooled:
        return features(model, x)
    with torch.no_grad():
        return torch.cat([conv_maps(model, x[i : i + 256]) for i in range(0, len(x), 256)])


def controlled_runs() -> list[Run]:
    """Every variant of ``VARIANTS`` with every seed of ``SEEDS``, on the frozen convolutions of
    ``course_network()``: ``TRAIN_DIGITS`` training digits, the sample's 1,000 test digits,
    ``HEAD_EPOCHS`` epochs of AdamW (lr 2e-3, cosine), batches of 128."""
    from .sample import load_sample

    model, _ = course_network()
    folder = _folder()
    path = folder / "controlled_runs.json"
    with _lock(folder):
        if path.is_file():
            try:
                return [Run(**r) for r in json.loads(path.read_text(encoding="utf-8"))]
            except (OSError, ValueError, TypeError):
                pass
        x, y = load_sample("train")
        xt, yt = load_sample("test")
        x, y = x[:TRAIN_DIGITS], y[:TRAIN_DIGITS]
        runs = []
        for pooled in (True, False):
            f, ft = _maps(model, x, pooled), _maps(model, xt, pooled)
            for v in VARIANTS.values():
                if v.pooled == pooled:
                    runs += [_train_head(v, seed, f, y, ft, yt) for seed in SEEDS]
        _write_json(path, [asdict(r) for r in runs])
    return runs


def summary(runs: list[Run]) -> dict[str, dict[str, float]]:
    """Per variant: the mean over seeds of each measure, and its spread (max − min) over seeds,
    as ``{variant: {"test_acc": …, "test_acc_spread": …, "gap": …, …}}``; ``gap`` is
    test loss − train loss, the usual sign of overfitting."""
    out: dict[str, dict[str, float]] = {}
    for name in VARIANTS:
        mine = [r for r in runs if r.variant == name]
        if not mine:
            continue
        row: dict[str, float] = {"params": float(mine[0].params), "seeds": float(len(mine))}
        for measure in ("train_loss", "train_acc", "test_loss", "test_acc", "gap"):
            vals = [r.test_loss - r.train_loss if measure == "gap" else getattr(r, measure) for r in mine]
            row[measure] = sum(vals) / len(vals)
            row[f"{measure}_spread"] = max(vals) - min(vals)
        out[name] = row
    return out
