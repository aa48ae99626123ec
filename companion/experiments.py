"""Controlled runs on the embedded sample: the network trained with the course recipe, and short
runs that change one thing of its fully connected part at a time.

``course_network()`` trains the note's network (dropout corrected) on the sample exactly as
lesson 14 does. ``controlled_runs()`` freezes its convolutions, computes their feature maps
once, and trains a fresh head (fc1 → ReLU → fc2, with the note's dropout) on ``TRAIN_DIGITS``
training digits for a few epochs, once per variant and seed: the baseline, and one change each
(no dropout, no dropout1, no dropout2, no ReLU, a narrow fc1, a narrow fc1 without dropout2, no
pooling). Every variant sees the same digits, the same budget and the same seeds, so a
difference between them is the change's effect, up to the seed-to-seed spread that ``summary``
reports, and for these frozen convolutions only: they were trained with pooling and with
dropout off.

Both the course network's history and every run are measured on the sample's validation
split; nothing here reads its test split, which lesson 16 uses once, for the final number.

Training takes about half a minute on two cores, and lesson 16, the claims ledger and the tests
all ask for the same numbers, so both results are kept in the course cache, keyed by
everything that could change them (companion's sources, torch's version, the CPU kernels and
the thread count). The same key gives the same numbers whether they were computed now or read.
Each file is stored with a digest and checked when read (a damaged or incomplete one is
computed again, saying so); a complete cache is read without a lock, so a read-only copy
shared by a classroom works. One process computes a key's results at a time, under an OS lock
that ends with its process: a killed computation delays nobody, and a process that waits for
a live one says so.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate
from .cache import cache_dir, content_digest
from .checkpoint import load_checkpoint, save_checkpoint
from .evaluate import prepare_images
from .files import _alive, atomic_write
from .history import History
from .model import DigitRecognizer, conv_maps, features, make_model
from .recipes import COURSE, SAMPLE_EPOCHS

__all__ = ["Variant", "VARIANTS", "Run", "course_network", "controlled_runs", "summary", "TRAIN_DIGITS",
           "HEAD_EPOCHS", "SEEDS"]

try:  # the OS locks that end with their process: fcntl on POSIX, msvcrt on Windows
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:
    msvcrt = None  # type: ignore[assignment]

T = TypeVar("T")
CACHE_VERSION = 3
#: the most seconds a computation waits for another process computing the same results
LOCK_WAIT = 900.0
#: set (to anything) to wait for another process without saying so on stderr: the notebook
#: checks set it, since their strict comparison of a lesson's output would see that line
QUIET_ENV = "COURSE_QUIET_WAIT"
#: the byte msvcrt locks, far past the owner's line (locked bytes cannot be read on Windows)
_MSVCRT_BYTE = 1 << 30
_RUNS_FORMAT = "digit-course-controlled-runs"
#: the cache folders whose lock this thread holds
_HELD = threading.local()
TRAIN_DIGITS = 1000  # of the sample's 3,500 training digits: few enough to overfit, and quick
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

    def __post_init__(self) -> None:
        _validate.boolean("relu", self.relu)
        _validate.boolean("pooled", self.pooled)


VARIANTS: dict[str, Variant] = {
    "baseline": Variant("笔记的全连接部分"),
    "no_dropout": Variant("去掉两个 dropout", dropout=(0.0, 0.0)),
    "no_dropout1": Variant("只去掉 dropout1", dropout=(0.0, 0.5)),
    "no_dropout2": Variant("只去掉 dropout2", dropout=(0.25, 0.0)),
    "no_relu": Variant("去掉 fc1 后的 ReLU", relu=False),
    "narrow": Variant("fc1 只有 32 个输出", width=32),
    "narrow_no_dropout2": Variant("32 个输出、去掉 dropout2", dropout=(0.25, 0.0), width=32),
    "no_pool": Variant("去掉最大池化", pooled=False),
}


@dataclass(frozen=True)
class Run:
    """What one variant reached with one seed, on its training digits and on the sample's
    validation split (losses are mean NLL, accuracies fractions). The test split is not used."""

    variant: str
    seed: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
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


def _say(text: str) -> None:
    print(f"experiments: {text}", file=sys.stderr, flush=True)


class _Damaged(ValueError):
    """A cached file that exists but cannot be used; the message says why."""


class _CannotLock(OSError):
    """The cache folder, or its lock file, cannot be made (a read-only cache, …)."""


class _NoOSLock(OSError):
    """This system or file system has no lock that dies with its process."""


def _os_lock(fd: int) -> bool:
    """Take the OS lock on ``fd`` without waiting: True when taken, False when another process
    holds it. The OS releases it when its process ends, however it ends (``fcntl.flock``; on
    Windows ``msvcrt.locking`` of one byte far past the owner's line, which stays readable)."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                return False
            raise _NoOSLock(exc.errno, f"flock: {exc.strerror}") from None  # e.g. ENOLCK on some NFS
        return True
    if msvcrt is not None:
        os.lseek(fd, _MSVCRT_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EDEADLOCK):
                return False
            raise _NoOSLock(exc.errno, f"msvcrt.locking: {exc.strerror}") from None
        return True
    raise _NoOSLock(errno.ENOSYS, "neither fcntl nor msvcrt")


def _os_unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    elif msvcrt is not None:
        os.lseek(fd, _MSVCRT_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _me() -> str:
    return f"{os.getpid()} {socket.gethostname()}"


def _holder(text: str) -> tuple[str, int | None, str | None]:
    """Who an owner's line (``PID HOST``) names, in words, with its pid and host."""
    parts = text.split()
    if len(parts) == 2 and parts[0].isdigit():
        return f"process {parts[0]} on {parts[1]}", int(parts[0]), parts[1]
    return "another process", None, None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:200]
    except OSError:
        return ""


def _wait(take: Callable[[], str | None], what: str, lock: Path, wait: float, advice: str) -> None:
    """Call ``take()`` until it takes the lock (it returns None) or ``wait`` seconds have passed
    (``TimeoutError``); it returns who holds the lock otherwise. Says once, on stderr, what it
    waits for (unless ``$COURSE_QUIET_WAIT`` is set)."""
    start, told = time.monotonic(), False
    while True:
        holder = take()
        if holder is None:
            return
        waited = time.monotonic() - start
        if waited >= wait:
            raise TimeoutError(f"waited {waited:.0f} s for {holder}, which holds {lock} while it computes {what}; "
                               f"{advice}")
        if not told and not os.environ.get(QUIET_ENV):
            _say(f"waiting for {holder}, which is computing {what} in {lock.parent} (it holds {lock.name}); "
                 "its result is read when it is done")
            told = True
        time.sleep(0.1)


@contextmanager
def _pid_lock(folder: Path, what: str, wait: float):
    """The lock where the OS has none: a file made with O_EXCL that names its owner (``PID
    HOST``). The file of an owner on this host that no longer runs is removed at once; one of
    another host cannot be checked, and is waited for. (Two computations at once would only do
    the work twice: each writes the same result atomically.)"""
    lock = folder / ".lock.pid"
    host = socket.gethostname()

    def take() -> str | None:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            text = _read_text(lock)
            words, pid, where = _holder(text)
            if pid is not None and where == host and not _alive(pid):
                _say(f"removing {lock}, left by {words}, which no longer runs")
                lock.unlink(missing_ok=True)
                return take()
            return words
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_me() + "\n")
        return None

    _wait(take, what, lock, wait, f"if that process no longer runs, remove {lock}")
    try:
        yield
    finally:
        if _read_text(lock).strip() == _me():
            lock.unlink(missing_ok=True)


@contextmanager
def _lock(folder: Path, what: str = "the controlled runs", wait: float | None = None):
    """One computation at a time per key: another process that wants the same results waits
    for it (saying so), then reads what it wrote. The lock is the OS's on ``folder/.lock``
    (``fcntl.flock``, ``msvcrt`` on Windows), so it ends with its process: a computation that
    was killed (a kernel restart, SIGKILL) delays nobody. The file stays, empty between
    computations; while one runs it names its owner. Where the OS cannot lock the file, a
    ``.lock.pid`` file checked for a live owner is used instead. A folder where the lock file
    cannot be made (read-only) is a ``_CannotLock`` before anything waits. A thread that holds
    the lock may take it again (the runs need the network, which is kept in the same folder)."""
    wait = LOCK_WAIT if wait is None else wait
    held = _HELD.__dict__.setdefault("folders", set())
    if folder in held:
        yield
        return
    path = folder / ".lock"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise _CannotLock(exc.errno, exc.strerror or str(exc), str(exc.filename or path)) from exc
    try:
        try:
            _wait(lambda: None if _os_lock(fd) else _holder(_read_text(path))[0], what, path, wait,
                  "it is still running; stop it, or wait for it")
        except _NoOSLock:
            with _pid_lock(folder, what, wait):
                held.add(folder)
                try:
                    yield
                finally:
                    held.discard(folder)
            return
        held.add(folder)
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, (_me() + "\n").encode())
            yield
        finally:
            held.discard(folder)
            try:
                os.ftruncate(fd, 0)
            finally:
                _os_unlock(fd)
    finally:
        os.close(fd)


def _cached(path: Path, what: str, read: Callable[[Path], T], compute: Callable[[], T],
            write: Callable[[Path, T], object]) -> T:
    """``read(path)`` when the file is there and whole: no lock is taken, so a complete cache
    is read from a read-only folder. Otherwise ``compute()`` under the lock (reading first
    what another process may have written meanwhile) and ``write`` it. A damaged file is
    computed again, saying why; a folder that cannot be written means computing without
    storing, saying so."""
    problem = None
    if path.exists():
        try:
            return read(path)
        except _Damaged as exc:
            problem = str(exc)
    try:
        with _lock(path.parent, what):
            if path.exists():
                try:
                    return read(path)
                except _Damaged as exc:
                    problem = str(exc)
            if problem:
                _say(f"{path} cannot be used ({problem}): computing {what} again")
            value = compute()
            try:
                write(path, value)
            except OSError as exc:
                _say(f"cannot store {what} in {path} ({exc.strerror or exc}): it is computed again next time")
            return value
    except _CannotLock as exc:
        why = f" ({problem})" if problem else ""
        _say(f"{path.parent} cannot be written ({exc.strerror}) and holds no usable {path.name}{why}: "
             f"computing {what} here without storing it")
        return compute()


# ── the trained network ──────────────────────────────────────────────────────


def _network_digest(model: nn.Module, history: History) -> str:
    """A digest of the network's weights and its training history."""
    parts = []
    for name, tensor in model.state_dict().items():
        parts += [name.encode(), tensor.detach().cpu().contiguous().numpy().tobytes()]
    return content_digest(*parts, json.dumps(history.as_dict(), sort_keys=True).encode())


def _read_network(path: Path) -> tuple[DigitRecognizer, History]:
    """The cached network, checked: a whole checkpoint of the 'fixed' network whose weights and
    history have the digest stored with them, and a history of test accuracies in [0, 1]."""
    try:
        ckpt = load_checkpoint(path, arch="fixed")
    except (OSError, ValueError) as exc:
        text = str(exc)
        raise _Damaged(text.removeprefix(f"{path}: ") if text.startswith(f"{path}: ") else text) from None
    stored = ckpt.info.get("sha256")
    if stored is None:
        raise _Damaged("it carries no digest")
    if stored != _network_digest(ckpt.model, ckpt.history):
        raise _Damaged("its weights or history differ from the digest stored with them")
    acc = ckpt.history.test_acc
    if not acc or not all(math.isfinite(a) and 0 <= a <= 1 for a in acc):
        raise _Damaged(f"its history holds no validation accuracies in [0, 1] ({acc!r:.60})")
    return ckpt.model, ckpt.history


def _train_network() -> tuple[DigitRecognizer, History]:
    from .sample import load_sample
    from .train import fit

    x, y = load_sample("train")
    xv, yv = load_sample("val")  # the history is measured on the validation split, never the test split
    model = make_model("fixed", seed=0)
    # float32 everywhere (amp=False): the same numbers whether or not this CPU has bf16 units
    history = fit(model, x, y, xv, yv, recipe=COURSE, epochs=SAMPLE_EPOCHS, seed=0, device="cpu", progress=False,
                  amp=False)
    return model.eval(), history


def _write_network(path: Path, trained: tuple[DigitRecognizer, History]) -> None:
    model, history = trained
    save_checkpoint(path, model, history=history, recipe=COURSE, info={"sha256": _network_digest(model, history)})


def course_network() -> tuple[DigitRecognizer, History]:
    """The 'fixed' network trained with the course recipe on the sample, seed 0, on the CPU in
    float32: what lesson 14 trains. Returned in eval mode with its training history, whose
    ``test_loss``/``test_acc`` were measured on the sample's 500 validation digits (the test
    split is never read here: evaluate it once, at the end).

    Kept in the course cache with a digest of its weights and history; a cached file that is
    damaged or differs from its digest is trained again (saying so on stderr)."""
    return _cached(_folder() / "course_network.pt", "the course network", _read_network, _train_network,
                   _write_network)


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


def _train_head(v: Variant, seed: int, f: torch.Tensor, y: torch.Tensor, fv: torch.Tensor, yv: torch.Tensor) -> Run:
    """Train one head of variant ``v`` on the feature maps ``f`` (labels ``y``) and measure it
    on the validation feature maps ``fv`` (labels ``yv``). Every variant gets the same data,
    the same ``HEAD_EPOCHS`` epochs of batches of 128, the same AdamW and cosine schedule; the
    seed fixes the initial weights, the order of the batches and the dropout masks."""
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
    val_loss, val_acc = _metrics(head, fv, yv)
    params = sum(p.numel() for p in head.parameters())
    return Run(next(k for k, w in VARIANTS.items() if w == v), seed, train_loss, train_acc, val_loss, val_acc,
               params, seconds)


def _maps(model: nn.Module, x: torch.Tensor, pooled: bool) -> torch.Tensor:
    x = prepare_images(x, torch.device("cpu"))
    if pooled:
        return features(model, x)
    with torch.no_grad():
        return torch.cat([conv_maps(model, x[i : i + 256]) for i in range(0, len(x), 256)])


#: the features each head reads: conv2's 64 maps of 12×12 after pooling, 24×24 without
_IN_FEATURES = {True: 64 * 12 * 12, False: 64 * 24 * 24}
_FIELDS = {f.name: f.type for f in fields(Run)}


def _head_params(v: Variant) -> int:
    n, w = _IN_FEATURES[v.pooled], v.width
    return n * w + w + w * 10 + 10  # fc1 and fc2, weights and biases


def _check_run(r: object, where: str) -> Run:
    """One stored run, every field checked against what a run can hold."""
    if not isinstance(r, dict):
        raise _Damaged(f"{where} is a {type(r).__name__}, not a run")
    missing, extra = [k for k in _FIELDS if k not in r], [k for k in r if k not in _FIELDS]
    if missing or extra:
        raise _Damaged(f"{where} lacks {', '.join(missing) or 'nothing'} and has unexpected "
                       f"{', '.join(map(str, extra)) or 'nothing'}")
    if not isinstance(r["variant"], str) or r["variant"] not in VARIANTS:
        raise _Damaged(f"{where} names the variant {r['variant']!r}, not one of {list(VARIANTS)}")
    for name in ("seed", "params"):
        if isinstance(r[name], bool) or not isinstance(r[name], int):
            raise _Damaged(f"{where}: {name}={r[name]!r} is not an integer")
    if r["seed"] not in SEEDS:
        raise _Damaged(f"{where}: seed {r['seed']} is not one of {list(SEEDS)}")
    if r["params"] != _head_params(VARIANTS[r["variant"]]):
        raise _Damaged(f"{where}: params={r['params']} but the {r['variant']} head has "
                       f"{_head_params(VARIANTS[r['variant']])}")
    for name in ("train_loss", "train_acc", "val_loss", "val_acc", "seconds"):
        value = r[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise _Damaged(f"{where}: {name}={value!r} is not a finite number >= 0")
        if name.endswith("acc") and value > 1:
            raise _Damaged(f"{where}: {name}={value!r} is not a fraction in [0, 1]")
    return Run(**{k: float(r[k]) if _FIELDS[k] == "float" else r[k] for k in _FIELDS})


def _runs_digest(runs: list[dict]) -> str:
    return content_digest(json.dumps(runs, sort_keys=True, ensure_ascii=False).encode())


def _read_runs(path: Path) -> list[Run]:
    """The stored runs, checked: the file's digest, and one whole run of each variant and seed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _Damaged(f"not readable JSON: {type(exc).__name__}: {str(exc)[:80]}") from None
    if not isinstance(data, dict) or data.get("format") != _RUNS_FORMAT or not isinstance(data.get("runs"), list):
        raise _Damaged(f"not a file of controlled runs (no {_RUNS_FORMAT!r} marker and list of runs)")
    if data.get("sha256") != _runs_digest(data["runs"]):
        raise _Damaged("its runs differ from the digest stored with them")
    runs = [_check_run(r, f"run {i}") for i, r in enumerate(data["runs"])]
    have = [(r.variant, r.seed) for r in runs]
    want = [(name, seed) for name in VARIANTS for seed in SEEDS]
    missing = [f"{name} seed {seed}" for name, seed in want if (name, seed) not in have]
    twice = sorted({f"{name} seed {seed}" for name, seed in have if have.count((name, seed)) > 1})
    if missing or twice:
        raise _Damaged("; ".join(([f"missing {', '.join(missing)}"] if missing else [])
                                 + ([f"more than once: {', '.join(twice)}"] if twice else [])))
    return runs


def _write_runs(path: Path, runs: list[Run]) -> None:
    stored = [asdict(r) for r in runs]
    data = {"format": _RUNS_FORMAT, "runs": stored, "sha256": _runs_digest(stored)}
    text = json.dumps(data, ensure_ascii=False)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _compute_runs() -> list[Run]:
    from .sample import load_sample

    model, _ = course_network()
    x, y = load_sample("train")
    xv, yv = load_sample("val")  # every comparison is made here; the test split stays unread
    x, y = x[:TRAIN_DIGITS], y[:TRAIN_DIGITS]
    runs = []
    for pooled in (True, False):
        f, fv = _maps(model, x, pooled), _maps(model, xv, pooled)
        for v in VARIANTS.values():
            if v.pooled == pooled:
                runs += [_train_head(v, seed, f, y, fv, yv) for seed in SEEDS]
    return runs


def controlled_runs() -> list[Run]:
    """Every variant of ``VARIANTS`` with every seed of ``SEEDS``, on the frozen convolutions of
    ``course_network()``: ``TRAIN_DIGITS`` training digits, measured on the sample's 500
    validation digits (never on its test digits), ``HEAD_EPOCHS`` epochs of AdamW (lr 2e-3,
    cosine), batches of 128.

    Kept in the course cache with a digest; a cached file that is damaged, lacks a run or a
    field, or differs from its digest is computed again (saying so on stderr). A complete
    cache is read without a lock, also from a read-only folder."""
    return _cached(_folder() / "controlled_runs.json", "the controlled runs", _read_runs, _compute_runs,
                   _write_runs)


def summary(runs: list[Run]) -> dict[str, dict[str, float]]:
    """Per variant: the mean over seeds of each measure, its smallest and largest value and
    their difference (the spread), as ``{variant: {"val_acc": …, "val_acc_min": …,
    "val_acc_max": …, "val_acc_spread": …, "gap": …, …}}``; ``gap`` is validation loss −
    train loss, the generalisation gap."""
    out: dict[str, dict[str, float]] = {}
    for name in VARIANTS:
        mine = [r for r in runs if r.variant == name]
        if not mine:
            continue
        row: dict[str, float] = {"params": float(mine[0].params), "seeds": float(len(mine))}
        for measure in ("train_loss", "train_acc", "val_loss", "val_acc", "gap"):
            vals = [r.val_loss - r.train_loss if measure == "gap" else getattr(r, measure) for r in mine]
            row[measure] = sum(vals) / len(vals)
            row[f"{measure}_min"], row[f"{measure}_max"] = min(vals), max(vals)
            row[f"{measure}_spread"] = max(vals) - min(vals)
        out[name] = row
    return out
