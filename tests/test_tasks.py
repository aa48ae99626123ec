"""tools/tasks.py: the commands behind the Makefile."""

import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools import tasks


def test_test_cuda_fails_fast_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = subprocess.run([sys.executable, "tools/tasks.py", "test-cuda"], cwd=tasks.ROOT,
                          capture_output=True, text=True, timeout=120, encoding="utf-8")
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no CUDA device" in lines[0]


def test_venv_is_skipped_when_up_to_date(capsys, monkeypatch):
    if not tasks.STAMP.exists():
        pytest.skip("no installed .venv here")
    monkeypatch.setattr(tasks.subprocess, "check_call", lambda *a, **k: pytest.fail("would reinstall"))
    newest = max(p.stat().st_mtime for p in (tasks.ROOT / "pyproject.toml", tasks.ROOT / "constraints.txt"))
    if tasks.STAMP.stat().st_mtime < newest:
        pytest.skip("dependency files changed since the last install")
    assert tasks.venv() == 0 and "up to date" in capsys.readouterr().out
    assert os.path.exists(tasks.venv_python())


def test_make_test_runs_one_single_threaded_worker_per_cpu():
    cmd, env = tasks.test_command([], cpus=2)
    assert cmd[cmd.index("-n") + 1] == "2" and cmd[cmd.index("--dist") + 1] == "loadscope"
    assert "--nbval" in cmd and env["COURSE_DEVICE"] == "cpu"
    if "OMP_NUM_THREADS" not in os.environ:
        assert env["OMP_NUM_THREADS"] == "1"


def test_make_test_is_serial_on_one_cpu_or_when_asked():
    cmd, _ = tasks.test_command([], cpus=1)
    assert "-n" not in cmd
    cmd, _ = tasks.test_command(["-n", "0", "notebooks/04_convolution.ipynb"], cpus=8)
    assert cmd.count("-n") == 1 and cmd[-1] == "notebooks/04_convolution.ipynb"


def test_portable_check_lowers_the_cpu_dispatch_for_the_notebooks():
    cmd, env = tasks.portable_command([], cpus=2)
    assert cmd[-1] == "notebooks" and "--nbval" in cmd
    for key, value in tasks.PORTABLE_ENV.items():
        assert env[key] == value
    assert env["ATEN_CPU_CAPABILITY"] == "default" and env["OMP_NUM_THREADS"] == "1"
    cmd, _ = tasks.portable_command(["notebooks/04_convolution.ipynb"], cpus=2)
    assert cmd[-1] == "notebooks/04_convolution.ipynb" and "notebooks" not in cmd


def test_tasks_runs_without_make_from_any_python():
    proc = subprocess.run([sys.executable, str(tasks.ROOT / "tools" / "tasks.py"), "--help"],
                          capture_output=True, text=True, timeout=60, cwd="/", encoding="utf-8")
    assert proc.returncode == 0 and "test-portable" in proc.stdout and "update-lesson" in proc.stdout


def test_lab_opens_the_learners_copy_not_the_tracked_lesson():
    cmd = tasks.lab_command(["--no-browser"], tasks.ROOT / "my-notebooks" / "00_overview.ipynb")
    assert cmd[-1] == "my-notebooks/00_overview.ipynb" and "--no-browser" in cmd


def test_test_portable_runs_its_self_check_first(monkeypatch, capsys):
    # the self-check itself (a notebook printing round-off digits must fail) runs in make test-portable
    calls = []
    monkeypatch.setattr(tasks, "portable_self_check", lambda: calls.append("self-check") or "it passed everything")
    monkeypatch.setattr(tasks.subprocess, "call", lambda *a, **k: calls.append("notebooks") or 0)
    real_run = tasks.subprocess.run

    def run(cmd, **kw):  # the capability probes: native AVX2, and the scalar kernels under PORTABLE_ENV
        out = "DEFAULT" if kw.get("env", {}).get("ATEN_CPU_CAPABILITY") == "default" else "AVX2"
        return real_run([sys.executable, "-c", f"print({out!r})"], capture_output=True, text=True)

    monkeypatch.setattr(tasks.subprocess, "run", run)
    assert tasks.test_portable([]) == 1 and calls == ["self-check"]
    assert "FAILED its self-check: it passed everything" in capsys.readouterr().err


def test_a_whole_run_starts_the_shared_training_runs_at_once(monkeypatch):
    started = []
    monkeypatch.setattr(tasks.subprocess, "Popen", lambda cmd, **kw: started.append((cmd, kw["env"])) or "proc")
    env = {"OMP_NUM_THREADS": "1"}
    assert tasks.warm_experiments([], env) == "proc" and "controlled_runs()" in started[0][0][-1]
    assert started[0][1] is env  # the workers' environment: the same cache key
    assert tasks.warm_experiments(["-x", "-n", "0"], env) == "proc"
    assert tasks.warm_experiments(["tests/test_shapes.py"], env) is None  # named tests: no head start
    assert tasks.warm_experiments(["notebooks/04_convolution.ipynb"], env) is None


# ── make lab: JupyterLab's log level, and the lesson's address printed last ─────────────────────────
def _parsed_by_jupyterlab(cmd):
    """What JupyterLab itself makes of the options of a ``lab_command`` (traitlets' own parser)."""
    from jupyterlab.labapp import LabApp

    app = LabApp()
    app.parse_command_line(cmd[3:])  # after `python -m jupyterlab`
    return app


def test_lab_passes_jupyterlabs_own_log_level_and_the_callers_wins():
    first = tasks.ROOT / "my-notebooks" / "00_overview.ipynb"
    cmd = tasks.lab_command(["--no-browser", "--port=8899"], first)
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"] and cmd[-1] == "my-notebooks/00_overview.ipynb"
    assert "--ServerApp.log_level=WARN" in cmd and "--LabApp.log_level=WARN" in cmd
    assert cmd.index("--LabApp.log_level=WARN") < cmd.index("--no-browser")  # the caller's options come after
    app = _parsed_by_jupyterlab(cmd)
    assert app.config.ServerApp.log_level == "WARN" and app.config.LabApp.log_level == "WARN"
    assert app.config.ServerApp.port == 8899 and app.extra_args == ["my-notebooks/00_overview.ipynb"]
    for chosen in (["--ServerApp.log_level=INFO"], ["--log-level", "DEBUG"], ["--LabApp.log_level=ERROR"]):
        cmd = tasks.lab_command(chosen, first)
        assert not set(tasks.LAB_LOG_LEVEL) & set(cmd), chosen  # traitlets refuses an option given twice
        _parsed_by_jupyterlab(cmd)


def test_lesson_url_is_built_from_the_servers_runtime_file():
    path = "my-notebooks/00_overview.ipynb"
    info = {"url": "http://localhost:8899/", "token": "abc123"}
    assert tasks.lesson_url(info, path) == "http://localhost:8899/lab/tree/my-notebooks/00_overview.ipynb?token=abc123"
    info = {"url": "https://127.0.0.1:9000/course", "token": ""}
    assert tasks.lesson_url(info, "my notebooks/第00课.ipynb") == (
        "https://127.0.0.1:9000/course/lab/tree/my%20notebooks/%E7%AC%AC00%E8%AF%BE.ipynb")
    with pytest.raises(ValueError, match="not an http"):
        tasks.lesson_url({"url": "http+unix://%2Ftmp%2Fsock/"}, path)
    with pytest.raises(ValueError, match="not an http"):
        tasks.lesson_url({}, path)
    for bad in ("", "/abs/00.ipynb", "my-notebooks\\00.ipynb", None):
        with pytest.raises(ValueError, match="relative to the server's root"):
            tasks.lesson_url({"url": "http://localhost:1/"}, bad)


#: a stand-in for JupyterLab: prints its start-up lines, writes its runtime file as jupyter_server
#: does (url and token), answers one HTTP request, exits with status 3
FAKE_SERVER = r'''
import http.server, json, os, pathlib, sys
print("[C fake ServerApp] To access the server: http://127.0.0.1/…?token=t0k", flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(403); self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
runtime = pathlib.Path(os.environ["JUPYTER_RUNTIME_DIR"])
part = runtime / "part.tmp"
part.write_text(json.dumps({"url": f"http://127.0.0.1:{server.server_port}/", "token": "t0k"}))
part.replace(runtime / f"jpserver-{os.getpid()}.json")
server.handle_request()
sys.exit(3)
'''


def test_lab_prints_the_lessons_address_on_a_line_of_its_own_after_the_servers_lines(tmp_path, monkeypatch,
                                                                                       capfd):
    script = tmp_path / "fake_lab.py"
    script.write_text(FAKE_SERVER, encoding="utf-8")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    assert tasks.run_lab([sys.executable, str(script)], "my-notebooks/00_overview.ipynb") == 3  # the server's status
    lines = [ln for ln in capfd.readouterr().out.splitlines() if ln.strip()]
    assert lines[0].startswith("[C fake ServerApp]")  # the server's own lines first
    assert lines[-1].startswith("http://127.0.0.1:") and " " not in lines[-1]  # the address alone, last
    assert lines[-1].endswith("/lab/tree/my-notebooks/00_overview.ipynb?token=t0k")
    assert "the lesson is here" in lines[-2]


def test_lab_prints_no_address_when_the_server_stops_at_once(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    code = "import sys; print('[E fake] port 8899 is in use'); sys.exit(1)"
    assert tasks.run_lab([sys.executable, "-c", code], "my-notebooks/00_overview.ipynb") == 1
    out = capfd.readouterr().out
    assert "port 8899 is in use" in out and "lesson is here" not in out and "http" not in out


def test_waiting_for_the_lab_gives_up_after_its_timeout(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert tasks.wait_for_lab(proc, "my-notebooks/00_overview.ipynb", timeout=0.5, runtime_dir=tmp_path) is None
        (tmp_path / f"jpserver-{proc.pid}.json").write_text('{"url": "http://127.0.0.1:9/", "tok',
                                                            encoding="utf-8")  # half written
        assert tasks.wait_for_lab(proc, "my-notebooks/00_overview.ipynb", timeout=0.5, runtime_dir=tmp_path) is None
    finally:
        proc.kill()
        proc.wait()


# ── test-changed: the pull-request fast path ────────────────────────────────────────────────────────
LESSONS = ["notebooks/00_overview.ipynb", "notebooks/04_convolution.ipynb", "notebooks/07_pooling.ipynb"]


@pytest.mark.parametrize("changed, picked", [
    (["notebooks/07_pooling.ipynb"], ["notebooks/07_pooling.ipynb"]),
    (["notebooks/07_pooling.ipynb", "notebooks/00_overview.ipynb"], LESSONS[::2]),  # in the course's order
    (["companion/shapes.py"], []),  # the unit tests (with the provenance check) cover it
    (["tests/test_shapes.py", "README.md", "docs/INSTRUCTORS.md"], []),
    (["notebooks/06_conv2.ipynb"], []),  # deleted: not a lesson any more
    (["companion/shapes.py", "notebooks/04_convolution.ipynb"], ["notebooks/04_convolution.ipynb"]),
    (["tests/sanitize.cfg"], LESSONS),  # how every lesson is compared
    (["conftest.py", "notebooks/04_convolution.ipynb"], LESSONS),
    (["constraints.txt"], LESSONS),
    (["tools/notebooks.py"], LESSONS),
    ([], []),
])
def test_changed_selection(changed, picked):
    got, reasons = tasks.changed_selection(changed, LESSONS)
    assert got == picked
    assert len(reasons) == (1 if set(changed) & set(tasks.CHECKS_EVERY_LESSON) else len(picked))
    assert all("changed" in r for r in reasons)


def test_changed_selection_refuses_paths_it_cannot_compare():
    for bad in ([""], ["notebooks\\04_convolution.ipynb"], [None]):
        with pytest.raises(ValueError, match="repository path"):
            tasks.changed_selection(bad, LESSONS)


_paths = st.lists(st.sampled_from([*LESSONS, "notebooks/13_training.ipynb", "companion/model.py", "tests/x.py",
                                   "README.md", *tasks.CHECKS_EVERY_LESSON]), max_size=8)


@given(changed=_paths)
def test_changed_selection_picks_each_changed_lesson_and_only_lessons(changed):
    picked, _ = tasks.changed_selection(changed, LESSONS)
    assert picked == [lesson for lesson in LESSONS if lesson in picked]  # no duplicates, the course's order
    assert set(changed) & set(LESSONS) <= set(picked)
    if not set(changed) & set(tasks.CHECKS_EVERY_LESSON):
        assert set(picked) == set(changed) & set(LESSONS)
    else:
        assert picked == LESSONS


def _git(repo, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def test_changed_files_are_the_branchs_committed_uncommitted_and_new_files(tmp_path):
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    for name in ("a.txt", "b.txt", "main-only.txt", "notebooks/04_convolution.ipynb", "notebooks/07_pooling.ipynb"):
        (repo / name).write_text(name, encoding="utf-8")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "start")
    _git(repo, "checkout", "-q", "-b", "pr")
    (repo / "a.txt").write_text("changed", encoding="utf-8")
    _git(repo, "mv", "b.txt", "c.txt")
    _git(repo, "commit", "-q", "-am", "pr")
    _git(repo, "checkout", "-q", "main")
    (repo / "main-only.txt").write_text("main moved on", encoding="utf-8")  # not the pull request's change
    _git(repo, "commit", "-q", "-am", "main")
    _git(repo, "checkout", "-q", "pr")
    (repo / "notebooks" / "04_convolution.ipynb").write_text("edited, not committed", encoding="utf-8")
    (repo / "new file.txt").write_text("untracked", encoding="utf-8")
    assert tasks.changed_files("main", root=repo) == [
        "a.txt", "b.txt", "c.txt", "new file.txt", "notebooks/04_convolution.ipynb"]
    with pytest.raises(RuntimeError, match="git merge-base"):
        tasks.changed_files("origin/no-such-branch", root=repo)
    for bad in ("", "  ", "--output=x"):
        with pytest.raises(ValueError, match="not a git revision"):
            tasks.changed_files(bad, root=repo)


def _record_test_changed(monkeypatch, changed, unit_status=0):
    calls = []
    monkeypatch.setattr(tasks, "changed_files", lambda base: changed)
    monkeypatch.setattr(tasks, "warm_experiments", lambda extra, env: calls.append(("warm", extra)))
    monkeypatch.setattr(tasks.subprocess, "call", lambda cmd, **kw: calls.append(("pytest", cmd)) or unit_status)
    monkeypatch.setattr(tasks, "test_portable", lambda extra: calls.append(("portable", extra)) or 0)
    return calls


def test_test_changed_runs_the_unit_tests_and_the_changed_lessons_strictly_then_portably(monkeypatch, capsys):
    calls = _record_test_changed(monkeypatch, ["companion/shapes.py", "notebooks/04_convolution.ipynb"])
    assert tasks.test_changed("origin/main", ["-x"]) == 0
    (_, warm), (_, cmd), (_, portable) = calls
    assert warm == []  # the shared training runs start at once, as in a whole run
    assert cmd[cmd.index("tests"):] == ["tests", "notebooks/04_convolution.ipynb", "-x"] and "--nbval" in cmd
    assert portable == ["notebooks/04_convolution.ipynb", "-x"]
    out = capsys.readouterr().out
    assert "2 file(s) changed since origin/main" in out and "1 of 18 lessons" in out
    assert "notebooks/04_convolution.ipynb changed" in out


def test_test_changed_without_lessons_runs_the_unit_tests_only(monkeypatch):
    calls = _record_test_changed(monkeypatch, ["companion/shapes.py", "tests/test_shapes.py"])
    assert tasks.test_changed("origin/main", []) == 0
    assert [c[0] for c in calls] == ["warm", "pytest"] and calls[1][1][-1] == "tests"


def test_test_changed_stops_at_a_failure_and_on_a_base_git_does_not_know(monkeypatch, capsys):
    calls = _record_test_changed(monkeypatch, ["notebooks/04_convolution.ipynb"], unit_status=1)
    assert tasks.test_changed("origin/main", []) == 1 and "portable" not in [c[0] for c in calls]

    def unknown(base):
        raise RuntimeError("git merge-base nope HEAD failed: fatal: Not a valid object name nope")

    monkeypatch.setattr(tasks, "changed_files", unknown)
    assert tasks.test_changed("nope", []) == 2
    assert "test-changed: git merge-base nope HEAD failed" in capsys.readouterr().err


def test_test_changed_is_a_command_of_tasks():
    proc = subprocess.run([sys.executable, str(tasks.ROOT / "tools" / "tasks.py"), "test-changed", "--help"],
                          capture_output=True, text=True, timeout=60, encoding="utf-8")
    assert proc.returncode == 0 and "origin/main" in proc.stdout


# ── lint: ruff, nbQA-ruff and actionlint ────────────────────────────────────────────────────────────
def _record_lint(monkeypatch, actionlint, statuses):
    calls = []
    monkeypatch.setattr(tasks, "actionlint_path", lambda: actionlint)
    monkeypatch.setattr(tasks.subprocess, "call", lambda cmd, **kw: calls.append((cmd, kw["cwd"])) or statuses.pop(0))
    return calls


def test_lint_runs_every_linter_and_actionlint_on_the_workflows(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    calls = _record_lint(monkeypatch, "/opt/ci/bin/actionlint", [1, 0, 2])
    assert tasks.lint() == 1  # the first failure's status, after every linter ran
    cmds = [c for c, _ in calls]
    assert cmds[0][1:] == ["-m", "ruff", "check", "."] and cmds[1][1:] == ["-m", "nbqa", "ruff", "notebooks"]
    assert cmds[2] == ["/opt/ci/bin/actionlint"]  # in the repository: .github/workflows and .github/actionlint.yaml
    assert {cwd for _, cwd in calls} == {tasks.ROOT}
    assert "actionlint on .github/workflows (/opt/ci/bin/actionlint)" in capsys.readouterr().out
    _record_lint(monkeypatch, "/opt/ci/bin/actionlint", [0, 0, 0])
    assert tasks.lint() == 0


def test_lint_without_actionlint_says_so_and_fails_on_github(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    calls = _record_lint(monkeypatch, None, [0, 0])
    assert tasks.lint() == 0 and len(calls) == 2
    out = capsys.readouterr().out
    assert "actionlint is not installed" in out and "pip install -r .github/ci-requirements.txt" in out
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    _record_lint(monkeypatch, None, [0, 0])
    assert tasks.lint() == 1
    assert "actionlint is required on GitHub Actions" in capsys.readouterr().err


@pytest.mark.skipif(os.name == "nt", reason="a POSIX executable stands in for actionlint")
def test_actionlint_is_found_beside_the_python_that_runs_lint(tmp_path, monkeypatch):
    exe = tmp_path / "bin" / "actionlint"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    monkeypatch.setattr(tasks.sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert tasks.actionlint_path() == str(exe)
    exe.unlink()
    assert tasks.actionlint_path() is None


def test_the_kernels_keep_freed_memory_on_linux_unless_told_otherwise(monkeypatch):
    from tools.notebooks import MALLOC_TUNABLES, kernel_env

    monkeypatch.setattr(sys, "platform", "linux")
    env = kernel_env("cpu", {})
    assert env["GLIBC_TUNABLES"] == MALLOC_TUNABLES and env["COURSE_DEVICE"] == "cpu"
    mine = "glibc.malloc.arena_max=2"
    assert kernel_env("cpu", {"GLIBC_TUNABLES": mine})["GLIBC_TUNABLES"] == mine
    monkeypatch.setattr(sys, "platform", "darwin")
    assert "GLIBC_TUNABLES" not in kernel_env("cpu", {})
    _, test_env = tasks.test_command([], cpus=2, base_env={})
    assert test_env.get("GLIBC_TUNABLES") is None  # darwin here; on Linux the test workers get it too


def test_make_test_leaves_the_command_tests_to_make_test_commands(monkeypatch):
    runs = []
    monkeypatch.setattr(tasks, "_run_with_warm_start", lambda cmd, env, extra: runs.append(cmd) or 0)
    monkeypatch.setattr(tasks.subprocess, "call", lambda cmd, **kw: runs.append(cmd) or 0)
    assert tasks.test(["-q"]) == 0 and tasks.test_commands(["-q"]) == 0
    whole, commands = runs
    assert whole[whole.index("not commands") - 1] == "-m" and whole[-1] == "-q"  # pytest's -m, not python's
    assert commands[commands.index("commands") - 1] == "-m" and "tests" in commands
    for named in (["tests/test_robust_commands.py"], ["-m", "slow"], ["tests/test_cli.py::test_help"]):
        runs.clear()
        tasks.test(named)
        assert "not commands" not in runs[0]  # a choice of the caller's is left alone


def test_the_command_tests_are_marked():
    import tomllib

    markers = tomllib.loads((tasks.ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]
    assert any(m.startswith(f"{tasks.COMMANDS_MARK}:") for m in markers["ini_options"]["markers"])
    for name in ("test_instructor_workflow.py", "test_robust_commands.py", "test_nbval_report.py"):
        assert "pytestmark = pytest.mark.commands" in (tasks.ROOT / "tests" / name).read_text(encoding="utf-8")
