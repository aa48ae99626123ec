"""The lessons as files: which ones there are, how they are executed, how their stored form is
normalised, and where their stored outputs came from (provenance).

Refresh executes a notebook whole, in a fresh kernel, and writes every output of that one run
back (all or nothing). It records in the notebook's metadata a fingerprint of what made the
outputs: the notebook's code cells, the companion package's sources and the pinned versions.
``stale_reason`` compares that record with the files as they are now; a unit test runs it
for every lesson, so an output can never be older than the code that made it.
"""

from __future__ import annotations

import ast
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


class CourseError(Exception):
    """A failure of one of the course's commands, said in one line: what and where, and what to
    do. ``tools/tasks.py`` prints it after ``error:`` and exits with status 1."""


def read_notebook(path: Path):
    """Read a notebook, or raise ``CourseError`` naming it when it is not one (a merge-conflict
    marker, a truncated file, not UTF-8)."""
    import warnings

    import nbformat

    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CourseError(f"{shown(path)} is not UTF-8 text ({exc.reason} at byte {exc.start}); restore it with "
                          f"`git checkout -- {shown(path)}`") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat's MissingIDFieldWarning: ids are added on write
            return nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds for a damaged file
        hint = ("it has merge-conflict markers: resolve them" if "<<<<<<<" in text
                else "it is not a notebook's JSON")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CourseError(f"{shown(path)} cannot be read as a notebook ({first[:120]}); {hint}, or restore it "
                          f"with `git checkout -- {shown(path)}`") from None


def writable_folder(path: Path, purpose: str) -> Path:
    """Make sure ``path`` is a folder this process can write into (creating it if needed), before
    anything is written there; otherwise ``CourseError`` naming the path and what to do."""
    path = Path(path)
    for part in [path, *path.parents]:
        if part.exists():
            if not part.is_dir():
                raise CourseError(f"{shown(part)} is a file, but the course needs a folder there ({purpose}); "
                                  "rename or move that file, then run the command again")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CourseError(f"cannot make the folder {shown(path)} ({exc.strerror or exc}); check the permissions "
                          "of the folder above it") from None
    import tempfile

    try:
        fd, name = tempfile.mkstemp(dir=path, prefix=".write-probe-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise CourseError(f"{shown(path)} is not writable ({exc.strerror or exc}); make it writable "
                          f"(chmod u+w {shown(path)}) or run the command where you may write") from None
    return path


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


#: the line of constraints.txt after which the site builder's pins follow (``make site``): the lessons never
#: import those packages, so they are no part of the versions their outputs were made with
SITE_PINS_MARKER = "# ── make site:"


def pins_digest(root: Path = ROOT) -> str:
    """A fingerprint of constraints.txt down to ``SITE_PINS_MARKER``: the versions the outputs were made with."""
    text = (root / "constraints.txt").read_text(encoding="utf-8").replace("\r\n", "\n")
    cut = text.find("\n" + SITE_PINS_MARKER)
    return _sha([text if cut < 0 else text[:cut + 1]])


def _strip(tree: ast.AST) -> ast.AST:
    """``tree`` without what cannot change what the code does: docstrings and annotations."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                node.body = body[1:] or [ast.Pass()]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        elif isinstance(node, ast.arg):
            node.annotation = None
        elif isinstance(node, ast.AnnAssign):
            node.annotation = ast.Constant(value=None)
    return tree


def _dump(node) -> str:
    """A canonical text of an AST that does not depend on the Python version: no positions,
    no contexts, and no empty fields (each version adds some: ``type_params``, ``kind``)."""
    if isinstance(node, ast.AST):
        fields = []
        for name in node._fields:
            value = getattr(node, name, None)
            if value is None or value == [] or isinstance(value, ast.expr_context):
                continue
            fields.append(f"{name}={_dump(value)}")
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return "[" + ", ".join(_dump(v) for v in node) + "]"
    return repr(node)


def _module_name(path: Path, package: Path) -> str:
    """``companion/exercises/lesson_04_convolution.py`` → ``exercises.lesson_04_convolution``; a package's
    ``__init__.py`` is the package's own name (``__init__`` for companion itself)."""
    parts = list(path.relative_to(package).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


#: caches by a module's text: its fingerprint, its tree, the modules it imports
_DIGESTS: dict[str, str] = {}
_TREES: dict[str, ast.Module] = {}
_IMPORTS: dict[tuple[str, str, str], frozenset[str]] = {}


class CompanionSources:
    """The companion package as provenance sees it: each module's fingerprint (its code, not its
    docstrings, comments, annotations or formatting) and what it imports."""

    def __init__(self, root: Path = ROOT):
        self.package = root / "companion"
        self.files = {_module_name(f, self.package): f for f in sorted(self.package.rglob("*.py"))}
        self._texts: dict[str, str] = {}
        self._names = "\n".join(self.files)

    def text(self, module: str) -> str:
        if module not in self._texts:
            self._texts[module] = self.files[module].read_text(encoding="utf-8").replace("\r\n", "\n")
        return self._texts[module]

    def tree(self, module: str) -> ast.Module:
        text = self.text(module)
        if text not in _TREES:
            _TREES[text] = ast.parse(text)
        return _TREES[text]

    def digest(self, module: str) -> str:
        """The fingerprint of ``module``'s code. A module that reads its own docstrings
        (``__doc__``) keeps them in it."""
        text = self.text(module)
        if text not in _DIGESTS:  # the same text always has the same fingerprint
            tree = ast.parse(text)
            _DIGESTS[text] = _sha([_dump(tree if "__doc__" in text else _strip(tree))])
        return _DIGESTS[text]

    def imports(self, module: str) -> set[str]:
        """The companion modules ``module`` imports anywhere in its text (functions included)."""
        key = (module, self.text(module), self._names)
        if key not in _IMPORTS:
            _IMPORTS[key] = frozenset(self._imports(module))
        return set(_IMPORTS[key])

    def _imports(self, module: str) -> set[str]:
        here = module.split(".") if self.files[module].name == "__init__.py" and module != "__init__" else \
            module.split(".")[:-1]
        found: set[str] = set()
        for node in _walk_running(self.tree(module)):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - (node.level - 1)] if node.level > 1 else list(here)
                    base = base + (node.module.split(".") if node.module else [])
                elif node.module and node.module.split(".")[0] == "companion":
                    base = node.module.split(".")[1:]
                else:
                    continue
                prefix = ".".join(base)
                if prefix:
                    found.add(prefix)
                for alias in node.names:  # `from . import shapes` imports a module
                    candidate = f"{prefix}.{alias.name}" if prefix else alias.name
                    if candidate in self.files:
                        found.add(candidate)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "companion":
                        found.add(".".join(alias.name.split(".")[1:]) or "__init__")
        for name in list(found):  # a package means its __init__
            if name not in self.files:
                found.discard(name)
        return found - {module}

    def closure(self, start: set[str]) -> set[str]:
        """``start`` and every companion module it imports, directly or not."""
        seen: set[str] = set()
        todo = [m for m in start if m in self.files]
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo.extend(self.imports(m) - seen)
        return seen

    def public_homes(self) -> dict[str, str]:
        """``companion``'s public names and the modules that define them (its ``_HOMES``)."""
        for node in self.tree("__init__").body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_HOMES" for t in node.targets):
                return ast.literal_eval(node.value)
        return {}

    def resolve(self, dotted: list[str], aliases: dict[str, str]) -> tuple[str, list[str]] | None:
        """The module and the attribute path that ``a.b.c`` in a lesson names, or None."""
        head, rest = dotted[0], dotted[1:]
        if head == "companion":
            if not rest:
                return "__init__", []
            head, rest = rest[0], rest[1:]
            homes = self.public_homes()
            if head in self.files:
                return head, rest
            if head in homes:
                return homes[head], [head, *rest]
            return None
        if head in aliases:
            target = aliases[head]
            return (target, rest) if target in self.files else None
        return None

    def source_of(self, module: str, path: list[str]) -> str | None:
        """The source text of ``module``'s definition ``path`` (``["DigitRecognizer", "forward"]``),
        decorators included: what ``inspect.getsource`` prints."""
        body = self.tree(module).body
        node = None
        for name in path:
            node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                         and n.name == name), None)
            if node is None:
                return None
            body = node.body
        if node is None:
            return self.text(module)
        lines = self.text(module).splitlines(keepends=True)
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        return "".join(lines[start:node.end_lineno])


def _walk_running(tree: ast.AST):
    """``ast.walk`` without the ``if TYPE_CHECKING:`` blocks, which never run."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _dotted(child.test) in (["TYPE_CHECKING"], ["typing", "TYPE_CHECKING"]):
                todo.extend(child.orelse)
                continue
            todo.append(child)


_EXERCISE_KEY = re.compile(r"companion\.(?:check|verify|question)\(\s*[\"']([0-9]{2})\.")


def lesson_dependencies(nb, sources: CompanionSources) -> tuple[set[str], dict[str, str]]:
    """What a lesson's outputs depend on in companion, read from its code cells: the modules it
    imports or names (and theirs, transitively), its own exercises' module, the command line when
    it runs ``-m companion``; and, for each ``inspect.getsource(...)`` it prints, that source text.
    Returns ``(modules, printed)`` with ``printed`` mapping ``module:path`` to the text."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    homes = sources.public_homes()
    start: set[str] = set()
    aliases: dict[str, str] = {}
    try:
        trees = [ast.parse(_python_only(c.source)) for c in nb.cells if c.cell_type == "code"]
    except SyntaxError:
        trees = []
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "companion":
                        start.add(".".join(parts[1:]) or "__init__")
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "companion":
                module = ".".join(node.module.split(".")[1:])
                for alias in node.names:
                    if not module and alias.name in sources.files:
                        start.add(alias.name)
                        aliases[alias.asname or alias.name] = alias.name
                    elif not module and alias.name in homes:
                        start.add(homes[alias.name])
                    elif module:
                        start.add(module)
                start.add(module or "__init__")
            elif isinstance(node, ast.Attribute):
                dotted = _dotted(node)
                if dotted and dotted[0] == "companion" and len(dotted) > 1:
                    found = sources.resolve(dotted[:2], aliases)
                    if found:
                        start.add(found[0])
    if "-m companion" in code or '"-m", "companion"' in code:
        start |= {"__main__", "cli"}
    for number in set(_EXERCISE_KEY.findall(code)):
        start |= {m for m in sources.files if m.startswith(f"exercises.lesson_{number}_")}
    printed: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and _dotted(node.func) in (["inspect", "getsource"], ["getsource"])
                    and node.args):
                dotted = _dotted(node.args[0])
                found = sources.resolve(dotted, aliases) if dotted else None
                text = sources.source_of(*found) if found else None
                if found is None or text is None:  # cannot tell what it prints: all of it counts
                    for m in sources.closure(start):
                        printed[m] = sources.text(m)
                else:
                    printed[f"{found[0]}:{'.'.join(found[1]) or '*'}"] = text
    return sources.closure(start), printed


def _python_only(source: str) -> str:
    """A cell's source without IPython's ``%magic`` and ``!shell`` lines, which ast cannot read."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _dotted(node) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def provenance(nb, root: Path = ROOT) -> dict:
    """What made ``nb``'s outputs, if they are made now: its code cells, the pins, and the
    fingerprint of each companion module (and each printed source) its code depends on."""
    sources = CompanionSources(root)
    modules, printed = lesson_dependencies(nb, sources)
    used = {f"companion/{sources.files[m].relative_to(sources.package).as_posix()}": sources.digest(m)
            for m in sorted(modules)}
    used.update({f"source of {key}": _sha([text]) for key, text in sorted(printed.items())})
    return {"code": code_digest(nb), "pins": pins_digest(root), "companion": used}


def stale_reason(nb, root: Path = ROOT) -> str | None:
    """Why ``nb``'s stored outputs may not come from the code that is there now (None: they do)."""
    stored = nb.metadata.get(PROVENANCE)
    if not isinstance(stored, dict):
        return "it records no provenance (it was not written by refresh)"
    if not isinstance(stored.get("companion"), dict):
        return "its provenance record is of an older form"
    now = provenance(nb, root)
    changed = []
    if stored.get("code") != now["code"]:
        changed.append("its code cells changed")
    if stored.get("pins") != now["pins"]:
        changed.append("constraints.txt changed")
    if not changed:
        before, after = stored["companion"], now["companion"]
        names = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        if names:
            shown_names = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            changed.append(f"{shown_names} changed (code, not only docstrings or comments)")
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


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8, atomically: a temporary file beside it, then a
    rename. A destination that is a folder, or a folder that cannot be written, is a
    ``CourseError`` before anything is written."""
    if path.is_dir():
        raise CourseError(f"{shown(path)} is a folder; a file cannot be written there")
    writable_folder(path.parent, f"the folder of {path.name}")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write(nb, path: Path) -> None:
    """Write notebook ``nb`` to ``path`` atomically (``atomic_write_text``)."""
    import nbformat

    atomic_write_text(path, nbformat.writes(nb) + "\n")


def normalise_files(paths: list[Path]) -> int:
    """Normalise metadata in place, keeping outputs and execution counts; rewrite a file
    only when it changes."""
    import nbformat

    for path in paths:
        before = path.read_text(encoding="utf-8")
        nb = read_notebook(path)
        normalise_metadata(nb, renumber=False)
        if nbformat.writes(nb) + "\n" != before:
            write(nb, path)
            print(f"normalised {path.name}")
    return 0


# ── executing ──────────────────────────────────────────────────────────────────────


#: glibc's allocator told to serve blocks of up to 1 GiB from its heap and to keep up to 1 GiB
#: free at the top of it, instead of mapping each large activation afresh and handing it back
#: after use: every step then faults its memory in again. On the CPU a training step is about
#: 15 % faster and an evaluation in batches of 1,000 digits about 40 %, with a sixth of the
#: system time. Only allocation changes, never a number; other C libraries ignore the variable.
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824"


def kernel_env(device: str = "cpu", base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a notebook kernel (and of the tests that start them): the course
    device, a fixed hash seed, waits for another process's controlled runs without a line on
    stderr (it would be stored), and on Linux ``MALLOC_TUNABLES`` unless ``GLIBC_TUNABLES`` is set."""
    env = dict(os.environ if base is None else base)
    env["COURSE_DEVICE"] = device
    env.setdefault("PYTHONHASHSEED", "0")
    env.setdefault("COURSE_QUIET_WAIT", "1")
    if sys.platform.startswith("linux"):
        env.setdefault("GLIBC_TUNABLES", MALLOC_TUNABLES)
    return env


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def code_cell_number(nb, index: int) -> int:
    """The number of ``nb.cells[index]`` among the code cells, from 1: the ``[N]`` JupyterLab
    shows beside it after a refresh, and what every message of the course calls "code cell N"
    (nbval's ``Cell K`` counts from 0: it is code cell K + 1)."""
    return sum(1 for c in nb.cells[: index + 1] if c.cell_type == "code")


class CellFailed(RuntimeError):
    """A cell of a notebook being executed raised: which one, its source and the error."""

    def __init__(self, path: Path, number: int | None, source: str, error: str):
        self.path, self.number, self.source, self.error = path, number, source, error
        where = f"code cell {number} (JupyterLab shows [{number}])" if number else "a cell"
        super().__init__(f"{path.name}: {where} failed: {error}")

    def report(self, rerun: str) -> str:
        """Several lines for a person: the cell, its source, the error, the command to rerun."""
        lines = [str(self)]
        if self.source:
            lines += ["  its source:", *("    " + ln for ln in self.source.splitlines())]
        lines.append(f"  rerun it with: {rerun}")
        return "\n".join(lines)


def execute(path: Path, timeout: int = 600, env: dict[str, str] | None = None):
    """Execute a notebook top to bottom in a fresh kernel of this Python; return the
    normalised copy with its provenance. The file on disk is not touched.

    Raises ``CellFailed`` naming the failing cell (a ``RuntimeError``).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = read_notebook(path)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            # the kernel's own start-up warnings (plain TCP on localhost) are not the lesson's
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env=env or kernel_env(os.environ.get("COURSE_DEVICE") or "cpu"))
    except CellExecutionError as exc:
        failing = next(
            (i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))
             and "raises-exception" not in c.metadata.get("tags", [])),
            None,
        )
        error = next((f"{o.get('ename')}: {o.get('evalue')}" for o in nb.cells[failing].outputs
                      if o.get("output_type") == "error"), None) if failing is not None else None
        if error is None:
            lines = [ln for ln in _ANSI.sub("", str(exc)).strip().splitlines() if ln.strip()]
            error = lines[-1] if lines else "the kernel stopped"
        raise CellFailed(path, code_cell_number(nb, failing) if failing is not None else None,
                         nb.cells[failing].source if failing is not None else "", _ANSI.sub("", error)) from None
    nb.metadata[PROVENANCE] = provenance(nb)
    normalise_metadata(nb)
    return nb


def stale(paths: list[Path], root: Path = ROOT) -> list[tuple[Path, str]]:
    """The notebooks among ``paths`` whose stored outputs may be stale, each with the reason."""
    found = []
    for path in paths:
        nb = read_notebook(path)
        reason = stale_reason(nb, root)
        if reason:
            found.append((path, reason))
    return found


def refresh(paths: list[Path], only_stale: bool = False) -> int:
    """Re-execute each notebook whole and write it back only when every cell ran: every
    stored output then comes from that one run, and its provenance is recorded.
    ``only_stale``: only the notebooks among ``paths`` whose outputs are stale."""
    import time

    if only_stale:
        reasons = dict(stale(paths))
        for path in paths:
            if path not in reasons:
                print(f"refresh: {shown(path)} is up to date", flush=True)
        paths = [p for p in paths if p in reasons]
        if not paths:
            print("refresh: every lesson is up to date; nothing to run", flush=True)
            return 0
    done: list[tuple[Path, float]] = []
    failed: list[Path] = []
    start_all = time.perf_counter()
    for path in paths:
        print(f"refresh: {shown(path)} ...", end=" ", flush=True)
        start = time.perf_counter()
        try:
            nb = execute(path)
        except CellFailed as exc:
            print("FAILED", flush=True)
            rerun = f"make refresh NB={shown(path)}   (or: python tools/tasks.py refresh {shown(path)})"
            print("refresh: FAILED, file left unchanged: " + exc.report(rerun), file=sys.stderr, flush=True)
            failed.append(path)
            continue
        write(nb, path)
        seconds = time.perf_counter() - start
        done.append((path, seconds))
        print(f"{seconds:.1f} s", flush=True)
    total = time.perf_counter() - start_all
    summary = f"refresh: {len(done)} refreshed in {total:.1f} s"
    if failed:
        summary += f"; {len(failed)} FAILED ({', '.join(p.name for p in failed)}), left unchanged"
    print(summary, flush=True)
    return 1 if failed else 0
