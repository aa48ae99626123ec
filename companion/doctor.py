"""``python -m companion doctor``: what this environment has, and what differs from the pins.

It runs where torch (or any other package) is missing or broken, which is what it is for:
nothing but the standard library is imported at the top, and each line that needs more says
what it could not check instead of failing."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from . import _validate

__all__ = ["pinned_versions", "version_mismatches", "venv_python", "report", "main"]

ROOT = Path(__file__).resolve().parents[1]
#: seconds the whole network check may take
NETWORK_TIMEOUT = 2.0
KEY_PACKAGES = ("torch", "torchvision", "nbval", "jupyterlab", "numpy", "matplotlib", "mlxtend")


def pinned_versions(path: Path | None = None) -> dict[str, str]:
    """``name → version`` from constraints.txt (empty when the file is not there)."""
    path = path or ROOT / "constraints.txt"
    pins: dict[str, str] = {}
    if not path.is_file():
        return pins
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def installed(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def version_mismatches(pins: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """Pinned packages whose installed version differs: ``(name, pinned, installed)``.

    Local version labels (``2.14.1+cu130``) count as the same release."""
    out = []
    for name, want in sorted(pins.items()):
        have = installed(name)
        if have is None or have.split("+")[0] != want.split("+")[0]:
            out.append((name, want, have))
    return out


def venv_python(root: Path | None = None) -> Path | None:
    """The course's own Python, ``.venv/bin/python`` (``.venv\\Scripts\\python.exe`` on
    Windows) under ``root`` (default: the checkout), or None when ``make lab`` has not made it."""
    root = root or ROOT
    for parts in (("bin", "python"), ("Scripts", "python.exe")):
        path = root / ".venv" / Path(*parts)
        if path.exists():
            return path
    return None


def _venv_hint(root: Path) -> str | None:
    """One line pointing to the course's Python, for a Python that is not it (a missing pin
    is why this is asked)."""
    python = venv_python(root)
    if python is None:
        return None
    try:
        if Path(sys.prefix).resolve() == (root / ".venv").resolve():
            return None  # this is the course's Python; its own differences are listed above
        here = Path.cwd().resolve() == root.resolve()
    except OSError:
        here = False
    shown = python.relative_to(root) if here else python
    return (f"hint        this Python ({sys.executable}) lacks the pinned versions; the course's own is in "
            f".venv: run `{shown} -m companion doctor`")


def _problem(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _safely(probe: Callable[[], str]) -> str:
    """``probe()``, or a line saying why it could not be checked."""
    try:
        return probe()
    except ImportError as exc:
        return f"not checked: {exc.name or 'a package'} cannot be imported ({_problem(exc)})"
    except Exception as exc:
        return f"not checked ({_problem(exc)})"


def _package(name: str) -> str:
    """The installed version of ``name``, and whether it can be imported (for torch and torchvision)."""
    version = installed(name)
    if version is None:
        return "not installed"
    if name in ("torch", "torchvision"):
        try:
            __import__(name)
        except Exception as exc:  # a broken install: its files are there, its import fails
            return f"{version}, but it cannot be imported ({_problem(exc)})"
    return version


def _devices() -> str:
    try:
        import torch
    except ImportError:
        return "unknown: torch cannot be imported (see above)"
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return ", ".join(found)


def _local_mnist() -> str:
    from .mnist import check_folder

    folder = os.environ.get("COURSE_MNIST_DIR")
    if not folder:
        return "not configured (set COURSE_MNIST_DIR to a folder with the four IDX files)"
    p = Path(folder).expanduser()
    try:
        counts = check_folder(p)  # the loader's own reading and checks: what `train` accepts, nothing else
    except FileNotFoundError as exc:
        return str(exc)
    except ValueError as exc:
        return f"cannot be used: {exc}"
    except OSError as exc:
        return f"cannot be read: {exc.filename or p}: {exc.strerror or exc}"
    return f"{p}: all four files read and checked ({counts['train']:,} train / {counts['test']:,} test digits)"


def _connect(host: str) -> None:
    socket.create_connection((host, 443), timeout=NETWORK_TIMEOUT).close()


def _network(timeout: float | None = None) -> str:
    """Whether the first MNIST mirror answers on port 443, within ``timeout`` seconds for the
    whole check, name lookup included (it runs in a thread that is not waited for longer)."""
    timeout = NETWORK_TIMEOUT if timeout is None else timeout
    try:
        from torchvision.datasets import MNIST

        host = urlparse(MNIST.mirrors[0]).hostname
    except Exception as exc:  # torchvision missing, broken or changed
        return f"unknown ({type(exc).__name__})"
    outcome: dict[str, BaseException | None] = {}

    def work() -> None:
        try:
            _connect(host)
            outcome["error"] = None
        except BaseException as exc:  # reported below, never raised in the thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="doctor-network", daemon=True)
    worker.start()
    worker.join(timeout)
    if "error" not in outcome:
        return f"unreachable ({host}: no answer within {timeout:g} s) — the embedded sample is used instead"
    if outcome["error"] is None:
        return f"reachable ({host})"
    return f"unreachable ({host}: {type(outcome['error']).__name__}) — the embedded sample is used instead"


def _sample() -> str:
    from .sample import sample_path

    try:
        return f"available ({sample_path()})"
    except FileNotFoundError as exc:
        return f"missing: {exc}"


def report(check_network: bool = True, root: Path | None = None) -> tuple[str, int]:
    """The doctor's text and the number of warnings in it. ``root`` is the checkout whose
    constraints.txt and .venv are compared (default: the one companion was imported from)."""
    _validate.boolean("check_network", check_network)
    root = root or ROOT
    from .cache import cache_dir
    from .device import DEFAULT, ENV

    lines = [f"Python      {platform.python_version()} ({sys.executable})", f"platform    {platform.platform()}"]
    for name in ("torch", "torchvision", "nbval", "jupyterlab"):
        lines.append(f"{name:11s} {_safely(lambda name=name: _package(name))}")
    lines.append(f"devices     {_safely(_devices)}")
    lines.append(f"{ENV}={os.environ.get(ENV) or f'(unset → {DEFAULT})'}")
    lines.append("data sources:")
    lines.append(f"  sample    {_safely(_sample)}")
    lines.append(f"  mnist     {_safely(_local_mnist)}")
    if check_network:
        lines.append(f"  network   {_safely(_network)}")
    lines.append(f"cache       {cache_dir()}")
    warnings = 0
    pins = pinned_versions(root / "constraints.txt")
    if not pins:
        lines.append("pins        constraints.txt not found (installed from a wheel?) — versions not compared")
    else:
        bad = version_mismatches(pins)
        key = [b for b in bad if b[0] in KEY_PACKAGES]
        for name, want, have in key:
            lines.append(
                f"WARNING     {name} {have or 'missing'} ≠ pinned {want}: "
                "stored notebook outputs were made with the pins"
            )
        warnings += len(key)
        others = len(bad) - len(key)
        if others:
            lines.append(f"note        {others} other package(s) differ from constraints.txt")
        if not bad:
            lines.append(f"pins        all {len(pins)} pinned packages match constraints.txt")
        elif hint := _venv_hint(root):
            lines.append(hint)
    return "\n".join(lines), warnings


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m companion doctor",
        description="Report versions, devices, data sources and differences from the pinned versions.",
    )
    parser.add_argument("--no-network", action="store_true",
                        help=f"skip the network check (at most {NETWORK_TIMEOUT:g} seconds)")
    args = parser.parse_args(argv)
    text, _ = report(check_network=not args.no_network)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
