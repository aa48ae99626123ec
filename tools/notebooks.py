"""The lessons as files: which ones there are, how they are executed, how their stored form is
normalised, and where their stored outputs came from (provenance).

Refresh executes a notebook whole, in a fresh kernel, and writes every output of that one run
back (all or nothing). It records in the notebook's metadata a fingerprint of what made the
outputs: the notebook's code cells, the companion package's sources and the pinned versions.
``stale_reason`` compares that record with the files as they are now; a unit test runs it
for every lesson, so an output can never be older than the code that made it.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
}
#: the notebook-metadata key that holds the provenance record
PROVENANCE = "provenance"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CHECK_TAG = "nbval-check-output"  # compared under --nbval-lax (the CUDA run)
KEEP_DEVICE_DEPENDENT = "device-dependent"  # an instructor's veto on CHECK_TAG
# Outputs with decimals, pictures or timings may differ on a GPU; everything else is compared.
_FLOAT = re.compile(r"\d\.\d|\de[-+]\d|nan|inf", re.IGNORECASE)


def notebook_paths(selected: list[str] | None = None, root: Path = ROOT) -> list[Path]:
    """The lesson notebooks in order, or the ``selected`` ones (checked to exist)."""
    if not selected:
        return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    paths = []
    for s in selected:
        p = Path(s)
        if not p.is_absolute():
            p = (Path.cwd() / p) if (Path.cwd() / p).exists() else root / p
        if p.suffix != ".ipynb" or not p.is_file():
            raise SystemExit(f"error: {s!r} is not a notebook file")
        paths.append(p.resolve())
    return paths


def shown(path: Path) -> str:
    """``path`` relative to the checkout when it is inside it (for messages)."""
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


# ── provenance ─────────────────────────────────────────────────────────────────────


def _sha(parts: list[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.replace("\r\n", "\n").encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def code_digest(nb) -> str:
    """A fingerprint of a notebook's code cells, in order (markdown does not make outputs)."""
    return _sha([c.source for c in nb.cells if c.cell_type == "code"])


def companion_digest(root: Path = ROOT) -> str:
    """A fingerprint of the companion package's sources (line endings normalised)."""
    files = sorted((root / "companion").rglob("*.py"))
    return _sha([part for f in files for part in (f.relative_to(root).as_posix(), f.read_text(encoding="utf-8"))])


def pins_digest(root: Path = ROOT) -> str:
    """A fingerprint of constraints.txt: the versions the outputs were made with."""
    return _sha([(root / "constraints.txt").read_text(encoding="utf-8")])


def provenance(nb, root: Path = ROOT) -> dict[str, str]:
    """What made ``nb``'s outputs, if they are made now: its code, companion, the pins."""
    return {"code": code_digest(nb), "companion": companion_digest(root), "pins": pins_digest(root)}


_WHAT = {
    "code": "its code cells changed",
    "companion": "the companion package changed",
    "pins": "constraints.txt changed",
}


def stale_reason(nb, root: Path = ROOT) -> str | None:
    """Why ``nb``'s stored outputs may not come from the code that is there now (None: they do)."""
    stored = nb.metadata.get(PROVENANCE)
    if not isinstance(stored, dict):
        return "it records no provenance (it was not written by refresh)"
    now = provenance(nb, root)
    changed = [_WHAT[k] for k in now if stored.get(k) != now[k]]
    return "; ".join(changed) + " after its outputs were made" if changed else None


# ── the stored form ────────────────────────────────────────────────────────────────


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


def tidy_outputs(outputs: list) -> list:
    """Merge adjacent stream chunks of the same name (their split depends on timing), strip
    machine-specific paths and drop widget views, so that two runs store the same bytes.

    A widget view names a random model id, and the widgets' state is not stored: in a lesson
    opened before it runs, JupyterLab could only show "model not found" for it. The output
    keeps its other forms (an explorer's picture and text)."""
    merged: list = []
    for out in outputs:
        data = out.get("data")
        if data and WIDGET_VIEW in data:
            del data[WIDGET_VIEW]
            if not data:
                continue
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


def normalise_metadata(nb, renumber: bool = True) -> None:
    """Make a notebook's stored form independent of who ran it, where and when, and mark
    the cells the CUDA run compares (see CHECK_TAG). The provenance record is kept.
    ``renumber=False`` keeps the stored execution counts (the pre-commit hook: an
    out-of-order run stays visible)."""
    kept = nb.metadata.get(PROVENANCE)
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": copy.deepcopy(LANGUAGE_INFO)}
    if kept is not None:
        nb.metadata[PROVENANCE] = kept
    count = 0
    for cell in nb.cells:
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        cell.outputs = tidy_outputs(cell.outputs)
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


def write(nb, path: Path) -> None:
    """Write ``nb`` atomically: a temporary file beside it, then a rename."""
    import nbformat

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def normalise_files(paths: list[Path]) -> int:
    """Normalise metadata in place, keeping outputs and execution counts; rewrite a file
    only when it changes."""
    import nbformat

    for path in paths:
        before = path.read_text(encoding="utf-8")
        nb = nbformat.reads(before, as_version=4)
        normalise_metadata(nb, renumber=False)
        if nbformat.writes(nb) + "\n" != before:
            write(nb, path)
            print(f"normalised {path.name}")
    return 0


# ── executing ──────────────────────────────────────────────────────────────────────


def kernel_env(device: str = "cpu", base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a notebook kernel: the course device, a fixed hash seed, and waits
    for another process's controlled runs without a line on stderr (it would be stored)."""
    env = dict(os.environ if base is None else base)
    env["COURSE_DEVICE"] = device
    env.setdefault("PYTHONHASHSEED", "0")
    env.setdefault("COURSE_QUIET_WAIT", "1")
    return env


def execute(path: Path, timeout: int = 600, env: dict[str, str] | None = None):
    """Execute a notebook top to bottom in a fresh kernel of this Python; return the
    normalised copy with its provenance. The file on disk is not touched.

    Raises ``RuntimeError`` naming the failing cell.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=env or kernel_env(os.environ.get("COURSE_DEVICE") or "cpu"))
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
    nb.metadata[PROVENANCE] = provenance(nb)
    normalise_metadata(nb)
    return nb


def refresh(paths: list[Path]) -> int:
    """Re-execute each notebook whole and write it back only when every cell ran: every
    stored output then comes from that one run, and its provenance is recorded."""
    failed = 0
    for path in paths:
        print(f"refresh: {shown(path)} ...", flush=True)
        try:
            nb = execute(path)
        except RuntimeError as exc:
            print(f"refresh: FAILED, file left unchanged: {exc}", file=sys.stderr, flush=True)
            failed += 1
            continue
        write(nb, path)
    return 1 if failed else 0
