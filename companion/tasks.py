"""Project tasks in plain Python, so that they work without GNU make too.

    python -m companion.tasks test [PYTEST ARGS...]   unit tests + strict nbval on CPU
    python -m companion.tasks refresh [NOTEBOOK...]   re-execute notebooks, normalise metadata
    python -m companion.tasks lab [JUPYTER ARGS...]   JupyterLab on notebooks/00_overview.ipynb

The Makefile calls these; run them with the project's venv Python.
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FIRST_NOTEBOOK = NOTEBOOKS / "00_overview.ipynb"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}


def notebook_paths(selected: list[str] | None = None) -> list[Path]:
    """The lesson notebooks in order, or the ``selected`` ones (checked to exist)."""
    if not selected:
        return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    paths = []
    for s in selected:
        p = Path(s)
        if not p.is_absolute():
            p = (Path.cwd() / p) if (Path.cwd() / p).exists() else ROOT / p
        if p.suffix != ".ipynb" or not p.is_file():
            raise SystemExit(f"refresh: {s!r} is not a notebook file")
        paths.append(p.resolve())
    return paths


def normalise(nb) -> None:
    """Make a notebook's stored form independent of who ran it, where and when."""
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": copy.deepcopy(LANGUAGE_INFO)}
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        if cell.cell_type != "code":
            continue
        if cell.source.strip():
            count += 1
            cell.execution_count = count
        else:
            cell.execution_count = None
        for out in cell.outputs:
            if "execution_count" in out:
                out["execution_count"] = cell.execution_count
            out.get("metadata", {}).pop("execution", None)


def run_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("COURSE_DEVICE", "cpu")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def execute(path: Path, timeout: int = 600):
    """Execute a notebook in a fresh kernel of this Python; return the executed copy.

    Raises ``RuntimeError`` naming the failing cell; the file on disk is not touched.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    os.environ.update({k: v for k, v in run_env().items() if k not in os.environ})
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        allow_error_names=[],
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        index = next(
            (i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", [])) and "raises-exception" not in c.metadata.get("tags", [])),
            None,
        )
        where = f"cell {index}" if index is not None else "a cell"
        first = str(exc).strip().splitlines()
        raise RuntimeError(f"{path.name}: {where} failed: {first[-1] if first else exc}") from None
    normalise(nb)
    return nb


def refresh(paths: list[Path]) -> int:
    """Re-execute notebooks and write them back only when every cell ran."""
    import nbformat

    failed = 0
    for path in paths:
        print(f"refresh: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ...", flush=True)
        try:
            nb = execute(path)
        except RuntimeError as exc:
            print(f"refresh: FAILED, file left unchanged — {exc}", file=sys.stderr, flush=True)
            failed += 1
            continue
        text = nbformat.writes(nb) + "\n"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return 1 if failed else 0


def test(extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", *(extra or [])]
    return subprocess.call(cmd, cwd=ROOT, env=run_env())


def lab(extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={ROOT}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root
    cmd += [*extra, str(FIRST_NOTEBOOK.relative_to(ROOT))]
    return subprocess.call(cmd, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion.tasks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)
    sub.add_parser("test", help="unit tests and strict nbval of every notebook on CPU")
    p_refresh = sub.add_parser("refresh", help="re-execute notebooks in place and normalise their metadata")
    p_refresh.add_argument("notebooks", nargs="*", help="notebook files (default: all lessons)")
    sub.add_parser("lab", help="open JupyterLab on the first lesson")
    args, extra = parser.parse_known_args(argv)
    if args.task == "test":
        return test(extra)
    if args.task == "refresh":
        if extra:
            parser.error(f"unknown arguments: {extra}")
        return refresh(notebook_paths(args.notebooks))
    return lab(extra)


if __name__ == "__main__":
    raise SystemExit(main())
