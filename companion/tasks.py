"""Project tasks in plain Python, so that every command works without GNU make too
(Windows included). Only the standard library is imported at the top: ``venv`` runs
before anything is installed.

    python companion/tasks.py venv            make .venv (pinned) unless it is up to date
    python -m companion.tasks test [ARGS]     unit tests + strict nbval of every notebook on CPU
    python -m companion.tasks test-cuda       the notebooks on a GPU (COURSE_DEVICE=cuda, nbval-lax)
    python -m companion.tasks refresh [NB..]  re-execute notebooks in place, normalise metadata
    python -m companion.tasks student         exercise copies without solutions in build/student/
    python -m companion.tasks lab [ARGS]      JupyterLab on notebooks/00_overview.ipynb
    python -m companion.tasks normalise NB..  normalise metadata only (pre-commit hook)

The Makefile calls these. Run from anywhere; paths are taken from this file's location.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FIRST_NOTEBOOK = NOTEBOOKS / "00_overview.ipynb"
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"
STUDENT_DIR = ROOT / "build" / "student"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
CHECK_TAG = "nbval-check-output"  # compared under --nbval-lax (the CUDA run)
KEEP_DEVICE_DEPENDENT = "device-dependent"  # an instructor's veto on CHECK_TAG
# Outputs with decimals, pictures or timings may differ on a GPU; everything else is compared.
_FLOAT = re.compile(r"\d\.\d|\de[-+]\d|nan|inf", re.IGNORECASE)


# ── the virtual environment ─────────────────────────────────────────────────────────
def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv(python: str | None = None) -> int:
    """Create .venv and install the project (pinned) unless the stamp is newer than the
    dependency files. Idempotent: a second run with nothing changed installs nothing."""
    deps = [ROOT / "pyproject.toml", ROOT / "constraints.txt"]
    if STAMP.exists() and all(STAMP.stat().st_mtime >= d.stat().st_mtime for d in deps) and venv_python().exists():
        print(f"venv: {VENV.name} is up to date")
        return 0
    if not venv_python().exists():
        subprocess.check_call([python or sys.executable, "-m", "venv", str(VENV)])
    subprocess.check_call(
        [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(ROOT / "constraints.txt"), "-e", f"{ROOT}[dev]"],
        cwd=ROOT,
    )
    STAMP.touch()
    return 0


def _in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


# ── notebooks ───────────────────────────────────────────────────────────────────────
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
            raise SystemExit(f"error: {s!r} is not a notebook file")
        paths.append(p.resolve())
    return paths


def _device_independent(cell) -> bool:
    tags = cell.metadata.get("tags", [])
    if KEEP_DEVICE_DEPENDENT in tags or "nbval-ignore-output" in tags or "nbval-skip" in tags:
        return False
    for out in cell.outputs:
        if out.output_type == "stream":
            text = out.text
        elif out.output_type == "error":
            text = out.evalue
        else:
            data = out.get("data", {})
            if set(data) - {"text/plain"}:
                return False  # pictures, HTML
            text = data.get("text/plain", "")
        if _FLOAT.search(text):
            return False
    return True


_IPYKERNEL_PID = re.compile(r"ipykernel_\d+")
_OVERWRITTEN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)  # progress-bar frames a terminal would overwrite


def _clean_text(text: str) -> str:
    """Machine-specific bits of stored output: the checkout's path, the kernel's PID."""
    return _IPYKERNEL_PID.sub("ipykernel_0", text.replace(f"{ROOT}{os.sep}", ""))


def _tidy_outputs(outputs: list) -> list:
    """Merge adjacent stream chunks of the same name (their split depends on timing) and
    strip machine-specific paths, so that two runs store the same bytes."""
    merged: list = []
    for out in outputs:
        if out.get("output_type") == "stream":
            out["text"] = _clean_text(out["text"])
            prev = merged[-1] if merged else None
            if prev is not None and prev.get("output_type") == "stream" and prev.get("name") == out.get("name"):
                prev["text"] = _OVERWRITTEN.sub("", prev["text"] + out["text"])
                continue
            out["text"] = _OVERWRITTEN.sub("", out["text"])
        elif out.get("output_type") == "error":
            out["traceback"] = [_clean_text(line) for line in out.get("traceback", [])]
        merged.append(out)
    return merged


def normalise(nb, renumber: bool = True) -> None:
    """Make a notebook's stored form independent of who ran it, where and when, and mark
    the cells the CUDA run compares (see CHECK_TAG). ``renumber=False`` keeps the stored
    execution counts (the pre-commit hook: an out-of-order run stays visible)."""
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": copy.deepcopy(LANGUAGE_INFO)}
    count = 0
    for cell in nb.cells:
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        cell.outputs = _tidy_outputs(cell.outputs)
        if renumber:
            count += 1 if cell.source.strip() else 0
            cell.execution_count = count if cell.source.strip() else None
        for out in cell.outputs:
            if renumber and "execution_count" in out:
                out["execution_count"] = cell.execution_count
            out.get("metadata", {}).pop("execution", None)
        tags = [t for t in cell.metadata.get("tags", []) if t != CHECK_TAG]
        if cell.source.strip() and _device_independent(cell):
            tags.append(CHECK_TAG)
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)


def run_env(device: str = "cpu") -> dict[str, str]:
    env = dict(os.environ)
    env["COURSE_DEVICE"] = device
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def execute(path: Path, timeout: int = 600):
    """Execute a notebook in a fresh kernel of this Python and return the executed copy.

    Raises ``RuntimeError`` naming the failing cell; the file on disk is not touched.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ.update(run_env(os.environ.get("COURSE_DEVICE") or "cpu"))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        failing = next(
            (i for i, c in enumerate(code_cells)
             if any(o.get("output_type") == "error" for o in c.get("outputs", []))
             and "raises-exception" not in c.metadata.get("tags", [])),
            None,
        )
        where = f"code cell {failing + 1}" if failing is not None else "a cell"
        lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
        raise RuntimeError(f"{path.name}: {where} failed: {lines[-1] if lines else exc}") from None
    finally:
        os.environ.clear()
        os.environ.update(saved)
    normalise(nb)
    return nb


def _write(nb, path: Path) -> None:
    import nbformat

    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _output_shape(outputs) -> list:
    """What a cell's outputs look like with every number masked: their kinds, streams and
    text with digits replaced by '#', and the formats of rich outputs (pictures)."""
    shape = []
    for out in outputs:
        text = out.get("text") or (out.get("data") or {}).get("text/plain") or ""
        text = "".join(text) if isinstance(text, list) else text
        shape.append((out.get("output_type"), out.get("name"), re.sub(r"\d+", "#", text),
                      sorted((out.get("data") or {}).keys())))
    return shape


def _keep_varying_outputs(new, old) -> None:
    """Cells tagged nbval-ignore-output (timings, training logs) differ on every run: where
    such a cell's code is unchanged and its fresh output differs from the stored one only in
    its numbers, keep the stored output, so that a refresh only shows the changes that matter
    in ``git diff``. A new line, a new word or a new picture replaces it."""
    stored = {c.get("id"): c for c in old.cells if c.cell_type == "code"}
    for cell in new.cells:
        prev = stored.get(cell.get("id"))
        if (cell.cell_type == "code" and "nbval-ignore-output" in cell.metadata.get("tags", [])
                and prev is not None and prev.source == cell.source
                and _output_shape(prev.outputs) == _output_shape(cell.outputs)):
            cell.outputs = prev.outputs


def refresh(paths: list[Path], keep_varying: bool = True) -> int:
    """Re-execute notebooks; write each back only when every cell ran."""
    import nbformat

    failed = 0
    for path in paths:
        print(f"refresh: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ...", flush=True)
        try:
            nb = execute(path)
        except RuntimeError as exc:
            print(f"refresh: FAILED, file left unchanged: {exc}", file=sys.stderr, flush=True)
            failed += 1
            continue
        if keep_varying:
            _keep_varying_outputs(nb, nbformat.read(path, as_version=4))
        _write(nb, path)
    return 1 if failed else 0


def normalise_files(paths: list[Path]) -> int:
    """Normalise metadata in place, keeping outputs and execution counts; rewrite a file
    only when it changes."""
    import nbformat

    for path in paths:
        before = path.read_text(encoding="utf-8")
        nb = nbformat.reads(before, as_version=4)
        normalise(nb, renumber=False)
        after = nbformat.writes(nb) + "\n"
        if after != before:
            _write(nb, path)
            print(f"normalised {path.name}")
    return 0


# ── student copies ──────────────────────────────────────────────────────────────────
STUB_NOTE = "# 参考答案不在学生版中：把 None 换成你的答案，再运行本单元。"


def stub_source(source: str) -> str:
    """The exercise stub for a solution cell: the checker call stays, the answer is None."""
    keys = re.findall(r"companion\.check\(\s*([\"'][^\"']+[\"'])", source)
    if not keys:
        raise ValueError("a cell tagged 'solution' must call companion.check(KEY, answer)")
    lines = [STUB_NOTE]
    for key in keys:
        lines += ["answer = None", f"companion.check({key}, answer)"]
    return "\n".join(lines)


def student_notebook(nb):
    """A copy of ``nb`` whose solution cells are replaced by stubs with cleared outputs."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
            cell.source = stub_source(cell.source)
            cell.outputs = []
            cell.execution_count = None
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t not in ("solution", CHECK_TAG)] + ["exercise-stub"]
            cell.metadata.pop("jupyter", None)
    return nb


def student(out_dir: Path = STUDENT_DIR) -> int:
    """Write build/student/: every lesson with its solution cells replaced by stubs."""
    import nbformat

    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for path in notebook_paths():
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        if not any("solution" in c.metadata.get("tags", []) for c in nb.cells):
            (out_dir / path.name).write_text(text, encoding="utf-8")  # byte-identical copy
            continue
        (out_dir / path.name).write_text(nbformat.writes(student_notebook(nb)) + "\n", encoding="utf-8")
    shown = out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir
    print(f"student: {len(list(out_dir.glob('*.ipynb')))} notebooks in {shown}")
    return 0


# ── test runs ───────────────────────────────────────────────────────────────────────
def _reexec_in_venv(argv: list[str]) -> int | None:
    if _in_venv() or not venv_python().exists():
        return None
    return subprocess.call([str(venv_python()), str(Path(__file__).resolve()), *argv], cwd=ROOT)


def test_command(extra: list[str], cpus: int | None = None) -> tuple[list[str], dict[str, str]]:
    """The pytest command line and environment of ``make test``.

    With two or more CPUs (and pytest-xdist installed) the tests run in one worker per CPU,
    each notebook whole in one worker (``--dist loadscope``), every worker single-threaded so
    the workers do not fight over the cores. ``-n``/``--numprocesses`` in ``extra`` wins.
    """
    import importlib.util

    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    cmd = [sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider"]
    env = run_env("cpu")
    chosen = any(a == "-n" or a.startswith(("-n=", "--numprocesses")) for a in extra)
    if cpus >= 2 and not chosen and importlib.util.find_spec("xdist") is not None:
        cmd += ["-n", str(cpus), "--dist", "loadscope"]
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
    return cmd + list(extra), env


def test(extra: list[str]) -> int:
    cmd, env = test_command(extra)
    return subprocess.call(cmd, cwd=ROOT, env=env)


def test_cuda(extra: list[str]) -> int:
    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    if subprocess.call([sys.executable, "-c", probe]) != 0:
        print("test-cuda: no CUDA device is available to torch on this machine; run `make test` for the CPU check.", file=sys.stderr)
        return 2
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "notebooks", *extra]
    return subprocess.call(cmd, cwd=ROOT, env=run_env("cuda"))


def lab(extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={ROOT}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root
    cmd += [*extra, str(FIRST_NOTEBOOK.relative_to(ROOT))]
    return subprocess.call(cmd, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m companion.tasks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)
    p_venv = sub.add_parser("venv", help="create .venv with the pinned packages (skipped when up to date)")
    p_venv.add_argument("--python", help="interpreter that creates the venv (default: this one)")
    sub.add_parser("test", help="unit tests and strict nbval of every notebook on CPU")
    sub.add_parser("test-cuda", help="the notebooks on a CUDA GPU, comparing device-independent cells")
    p_refresh = sub.add_parser("refresh", help="re-execute notebooks in place and normalise their metadata")
    p_refresh.add_argument("notebooks", nargs="*", help="notebook files (default: all lessons)")
    p_refresh.add_argument("--all-outputs", action="store_true",
                           help="also replace the stored output of unchanged nbval-ignore-output cells")
    p_norm = sub.add_parser("normalise", help="normalise notebook metadata without executing")
    p_norm.add_argument("notebooks", nargs="+")
    sub.add_parser("student", help="write build/student/ with solutions replaced by stubs")
    sub.add_parser("lab", help="open JupyterLab on the first lesson")
    args, extra = parser.parse_known_args(argv)
    if args.task == "venv":
        return venv(args.python)
    if args.task in ("test", "test-cuda", "refresh", "student", "lab", "normalise"):
        code = _reexec_in_venv(argv)
        if code is not None:
            return code
    if args.task in ("refresh", "normalise", "student", "venv") and extra:
        parser.error(f"unknown arguments: {extra}")
    if args.task == "test":
        return test(extra)
    if args.task == "test-cuda":
        return test_cuda(extra)
    if args.task == "refresh":
        return refresh(notebook_paths(args.notebooks), keep_varying=not args.all_outputs)
    if args.task == "normalise":
        return normalise_files(notebook_paths(args.notebooks))
    if args.task == "student":
        return student()
    return lab(extra)


if __name__ == "__main__":
    raise SystemExit(main())
