"""``make test-browser``: the learner's path through the lessons in a real browser.

JupyterLab is started the way ``make lab`` starts it (``tasks.lab_command``: the course's
settings and fonts), on a free local port, in a temporary folder that holds the lessons and a
learner's copies of them (``workspace.prepare``), so a developer's ``my-notebooks/`` is never
touched. Headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by selenium)
opens each copy, restarts its kernel and runs every cell, then checks what a learner would see,
much as JupyterLab's own UI tests (Galata) do: no cell shows an error it should not, every
figure of the stored lesson is displayed, each explorer redraws its picture and reprints its
sizes when a slider moves, the solution cells stay collapsed, no news pop-up covers the
lesson, and the course's Chinese font is loaded. A screenshot of each lesson goes to
``build/browser/``. The server is stopped by its process id.

Before the lessons, a self-check runs a copy of a lesson with an error put into it: the run
fails unless that error is reported, so a green run means the checks can see a failure.
The checks themselves are plain Python over what the page reports (``tools/browser_checks.py``),
unit-tested without a browser. Lessons that measure time run while no other lesson runs.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools.browser_checks import CJK_FONT, EXPLORER, INJECTED, INJECTED_MARK, NEWS_TOAST, expected, lesson_problems
from tools.notebooks import ROOT, notebook_paths

CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("COURSE_CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENSHOTS = ROOT / "build" / "browser"


# ── the page side (JavaScript run in the lesson's page) ───────────────────────────────
READY_JS = """
const app = window.jupyterapp; const w = app && app.shell.currentWidget;
const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
return !!(w && w.context && w.context.path === arguments[0] && w.context.isReady && k && k.status === 'idle'
          && w.content.widgets.length);
"""
# Run All's promise settles early when a raises-exception cell fails (the kernel goes on with
# the queued cells), so completion is a silent request queued behind all of them: the kernel
# answers requests in order, so its reply means every cell has run (or was aborted).
RUN_JS = """
window.__courseRun = null;
const app = window.jupyterapp, panel = app.shell.currentWidget;
app.commands.execute('notebook:restart-run-all')
  .then(ok => ({ok: ok !== false}), err => ({ok: false, error: String(err)}))
  .then(async state => {
    await panel.sessionContext.session.kernel.requestExecute({code: '', silent: true}).done;
    window.__courseRun = state;
  });
"""
HIDDEN_JS = """
return window.jupyterapp.shell.currentWidget.content.widgets.map(c => c.inputHidden);
"""
REPORT_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  // a picture is shown as a decoded image, or as an explorer's canvas (companion/explorer.js draws it)
  const shown = cell => [...cell.node.querySelectorAll('.jp-OutputArea-output img')]
    .filter(i => i.complete && i.naturalWidth > 0).length
    + [...cell.node.querySelectorAll('.jp-OutputArea-output canvas.course-explorer-canvas')]
      .filter(c => c.width > 0).length;
  const wanted = cell => cell.model.outputs.toJSON().filter(o => o.data && o.data['image/png']).length;
  // outputs are attached and pictures decoded asynchronously, later on a busy machine: wait (at
  // most 30 s) until every code cell shows as many pictures as its outputs hold
  for (const until = Date.now() + 30000; Date.now() < until;) {
    if (panel.content.widgets.every(c => c.model.type !== 'code' || shown(c) >= wanted(c))) break;
    const imgs = [...document.querySelectorAll('.jp-OutputArea-output img')];
    await Promise.race([Promise.allSettled(imgs.map(i => i.decode())), new Promise(r => setTimeout(r, 2000))]);
    await new Promise(r => setTimeout(r, 200));
  }
  await document.fonts.ready;
  const cells = panel.content.widgets.map(cell => {
    const m = cell.model, out = {type: m.type, tags: m.getMetadata('tags') || [], inputHidden: cell.inputHidden};
    if (m.type !== 'code') return out;
    const outputs = m.outputs.toJSON();
    out.executionCount = m.executionCount;
    out.errors = outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`);
    out.imageOutputs = wanted(cell);
    out.imagesShown = shown(cell);
    return out;
  });
  const toasts = [...document.querySelectorAll('.Toastify__toast')].map(t => t.textContent).join(' ');
  const fontLoaded = [...document.fonts].some(f => f.family.replace(/["']/g, '') === arguments[0]
                                                 && f.status === 'loaded');
  done({path: panel.context.path, cells, newsToast: toasts.includes(arguments[1]), fontLoaded});
})().catch(err => done({error: String(err)}));
"""
EXPLORER_JS = """
const box = document.querySelectorAll('.' + arguments[1])[arguments[0]];
if (!box) return null;
box.scrollIntoView({block: 'center'});
const canvas = box.querySelector('canvas'), text = box.querySelector('.' + arguments[1] + '-report');
return {src: canvas ? canvas.toDataURL() : '', text: text ? text.textContent : ''};
"""
# each lesson ends by stopping its kernel, as closing it would (the page is reloaded for the next)
SHUTDOWN_JS = """
const done = arguments[arguments.length - 1], w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
(w && w.sessionContext ? w.sessionContext.shutdown() : Promise.resolve()).then(() => done(true), () => done(false));
"""


@dataclass
class Result:
    """One lesson's run: its name, the problems found, how long it took and where the time went."""

    name: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    summary: str = ""
    phases: dict[str, float] = field(default_factory=dict)  # seconds spent opening, running, checking


# ── the server and the browser ────────────────────────────────────────────────────────
def free_port() -> int:
    """A local TCP port no one listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(tmp: Path, lessons: list[Path], inject_into: Path | None) -> list[Path]:
    """A temporary checkout: ``notebooks/`` and the learner's copies made from them by
    ``tools.workspace`` (as ``make lab`` makes them); plus, for the self-check, a copy of
    ``inject_into`` with an error after its first code cell. Returns the copies to open."""
    import nbformat

    from tools import workspace

    (tmp / "notebooks").mkdir(parents=True)
    for lesson in lessons:
        shutil.copy(lesson, tmp / "notebooks" / lesson.name)
    workspace.prepare(tmp)
    copies = [workspace.copy_path(lesson, tmp) for lesson in lessons]
    if inject_into is not None:
        nb = nbformat.read(inject_into, as_version=4)
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first + 1, nbformat.v4.new_code_cell(INJECTED))
        broken = tmp / workspace.WORKSPACE / f"selfcheck_{inject_into.name}"
        nbformat.write(nb, broken)
        copies.insert(0, broken)
    return copies


def start_lab(tmp: Path, first: Path, port: int, token: str) -> subprocess.Popen:
    """JupyterLab as ``make lab`` starts it, on ``tmp`` opening ``first``; returns once it answers."""
    from tools import tasks

    extra = ["--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
             "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={tmp / 'user-settings'}",
             f"--LabApp.workspaces_dir={tmp / 'workspaces'}"]
    cmd = tasks.lab_command(extra, first, root=tmp)
    # kernels import this checkout's companion; one thread each, as the browsers run side by side
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "COURSE_DEVICE": "cpu", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "PYTHONHASHSEED": "0"}
    with open(tmp / "lab.log", "wb") as log:  # the server keeps its own handle
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with status {proc.returncode}:\n{_tail(tmp / 'lab.log')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    stop_lab(proc)
    raise RuntimeError(f"JupyterLab did not answer within 90 s:\n{_tail(tmp / 'lab.log')}")


def stop_lab(proc: subprocess.Popen) -> None:
    """Stop the server by its process id (it shuts its kernels down); kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def start_browser(profile: Path, extra_args: tuple[str, ...] = (), logging: dict[str, str] | None = None):
    """Headless Chromium from the system's packages (selenium never downloads one); ``extra_args``
    go to Chromium, ``logging`` is its ``goog:loggingPrefs`` (e.g. the console and the network)."""
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1000", f"--user-data-dir={profile}", *extra_args):
        options.add_argument(arg)
    if logging:
        options.set_capability("goog:loggingPrefs", logging)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(60)
    return driver


def _wait(driver, script: str, seconds: float, what: str, *args):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError(f"{what} (waited {seconds:.0f} s)")


def move_explorer(driver, index: int) -> dict:
    """Press → (← at the end) on the first slider of explorer ``index``; report what changed."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    before = driver.execute_script(EXPLORER_JS, index, EXPLORER)
    box = driver.find_elements(By.CSS_SELECTOR, f".{EXPLORER}")[index]
    sliders = box.find_elements(By.CSS_SELECTOR, "input[type=range]")
    if not sliders or before is None or not before["src"]:
        return {"moved": False, "why": "no slider or no picture: did the explorer's script run?"}
    slider = sliders[0]
    at_end = slider.get_attribute("value") == slider.get_attribute("max")
    # a click on the track, well away from the thumb, as a learner's mouse moves it (JupyterLab keeps
    # the arrow keys for moving between cells while the notebook is in command mode)
    width = slider.size["width"]
    ActionChains(driver).move_to_element_with_offset(slider, int(width * 0.4) * (-1 if at_end else 1), 0) \
        .click().perform()
    deadline, after = time.monotonic() + 30, before
    while time.monotonic() < deadline:
        after = driver.execute_script(EXPLORER_JS, index, EXPLORER)
        if after["src"] != before["src"] and after["text"] != before["text"]:
            break
        time.sleep(0.3)
    return {"moved": True, "slider": slider.get_attribute("name"), "pictureChanged": after["src"] != before["src"],
            "textChanged": after["text"] != before["text"]}


def run_lesson(driver, base: str, token: str, copy: Path, stored: dict, worker: int, timeout: float) -> Result:
    """Open one copy, restart and run all, check it, leave a screenshot; stop its kernel."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    result, start = Result(copy.stem), time.monotonic()
    try:
        driver.get(f"{base}/lab/workspaces/w{worker}/tree/my-notebooks/{copy.name}?reset&token={token}")
        _wait(driver, READY_JS, 120, "the lesson did not open with an idle kernel", f"my-notebooks/{copy.name}")
        result.phases["open"] = time.monotonic() - start
        hidden_before = driver.execute_script(HIDDEN_JS)
        driver.execute_script(RUN_JS)
        accept = ".jp-Dialog .jp-Dialog-button.jp-mod-accept"
        WebDriverWait(driver, 30).until(ec.element_to_be_clickable((By.CSS_SELECTOR, accept))).click()
        run = _wait(driver, "return window.__courseRun;", timeout, "the cells did not finish running")
        result.phases["run"] = time.monotonic() - start - result.phases["open"]
        want = sum(c["explorers"] for c in stored["cells"])
        try:  # widgets render a moment after their cell has run
            _wait(driver, "return document.querySelectorAll('.' + arguments[1]).length >= arguments[0];", 20,
                  "explorers", want, EXPLORER)
        except TimeoutError:
            pass  # lesson_problems reports the missing explorers
        report = driver.execute_async_script(REPORT_JS, CJK_FONT, NEWS_TOAST)
        if "error" in report:
            raise RuntimeError(f"reading the page failed: {report['error']}")
        for cell, before in zip(report["cells"], hidden_before):
            cell["inputHiddenBefore"] = before
        count = len(driver.find_elements(By.CSS_SELECTOR, f".{EXPLORER}"))
        report["explorers"] = [move_explorer(driver, k) for k in range(count)]
        result.problems = lesson_problems(report, stored)
        if run.get("error") and not result.problems:
            result.problems.append(f"Run All failed: {run['error']}")
        cells = [c for c in report["cells"] if c["type"] == "code"]
        result.phases["check"] = time.monotonic() - start - result.phases["open"] - result.phases["run"]
        result.summary = (f"{len(cells)} code cells, {sum(c['imagesShown'] for c in cells)} figures, "
                          f"{count} explorers moved, {sum(c['inputHidden'] for c in cells)} collapsed solutions "
                          f"(" + ", ".join(f"{k} {v:.0f} s" for k, v in result.phases.items()) + ")")
    except Exception as exc:  # a page that never got there is a problem of the lesson, not a crash
        result.problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        try:
            if not driver.find_elements(By.CSS_SELECTOR, f".{EXPLORER}"):
                driver.execute_script("const n = document.querySelector('.jp-Notebook'); if (n) n.scrollTop = 0;")
            driver.save_screenshot(str(SCREENSHOTS / f"{copy.stem}.png"))
            driver.execute_async_script(SHUTDOWN_JS)
        except Exception:  # the page may be gone; the problems already say why
            pass
    result.seconds = time.monotonic() - start
    return result


# ── the command ──────────────────────────────────────────────────────────────────────
def missing_browser() -> str | None:
    """Why the browser cannot run here (None: it can)."""
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if absent:
        return (f"{' and '.join(absent)} not found; install Debian's chromium and chromium-driver "
                "(apt-get install chromium chromium-driver), or set COURSE_CHROMIUM / COURSE_CHROMEDRIVER")
    return None


def run_all(tmp: Path, copies: list[Path], stored: dict[Path, dict], workers: int, timeout: float,
            base: str, token: str) -> list[Result]:
    """Run every copy in ``workers`` browsers side by side; a lesson that measures time runs
    first, in one browser, while the others wait. Prints a line per lesson as it finishes."""
    alone = [c for c in copies if stored[c]["alone"]]
    shared: queue.Queue = queue.Queue()
    for copy in copies:
        if copy not in alone:
            shared.put(copy)
    alone_done, results = threading.Event(), []

    def run(driver, copy: Path, worker: int) -> None:
        result = run_lesson(driver, base, token, copy, stored[copy], worker, timeout)
        results.append(result)
        ok = not result.problems if copy != copies[0] else any(INJECTED_MARK in p for p in result.problems)
        print(f"  {'ok  ' if ok else 'FAIL'} {result.name:28s} {result.seconds:6.1f} s  "
              + (result.summary if not result.problems else "; ".join(result.problems[:3])), flush=True)

    def work(worker: int) -> None:
        try:
            driver = start_browser(tmp / f"chromium-{worker}")
        except Exception as exc:  # reported: the lessons it would have run are missing from the results
            print(f"test-browser: browser {worker} did not start: {exc}", file=sys.stderr, flush=True)
            alone_done.set()
            return
        try:
            if worker == 0:
                for copy in alone:
                    run(driver, copy, worker)
                alone_done.set()
            alone_done.wait()
            while True:
                try:
                    copy = shared.get_nowait()
                except queue.Empty:
                    return
                run(driver, copy, worker)
        finally:
            alone_done.set()  # a failing first browser must not leave the others waiting
            driver.quit()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python tools/tasks.py test-browser")
    parser.add_argument("lessons", nargs="*", help="lesson numbers or names (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="browsers run side by side (default 2)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a lesson's cells may run")
    args = parser.parse_args(argv)
    why = missing_browser()
    if why:
        print(f"test-browser: {why}", file=sys.stderr)
        return 2
    lessons = [p for p in notebook_paths() if not args.lessons
               or any(p.stem == n or p.stem.split("_")[0] == n for n in args.lessons)]
    if not lessons:
        print(f"test-browser: no lesson matches {args.lessons}", file=sys.stderr)
        return 2
    import nbformat

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="course-browser-") as name:
        tmp = Path(name)
        probe = min(notebook_paths(), key=lambda p: p.stat().st_size)  # the smallest lesson
        copies = prepare(tmp, sorted(lessons, key=lambda p: -p.stat().st_size), inject_into=probe)  # big first
        stored = {c: expected(nbformat.read(c, as_version=4)) for c in copies}
        stored[copies[0]]["alone"] = False
        token, port = secrets.token_hex(16), free_port()
        try:
            lab = start_lab(tmp, copies[1], port, token)
        except RuntimeError as exc:
            print(f"test-browser: {exc}", file=sys.stderr)
            return 1
        print(f"test-browser: JupyterLab (pid {lab.pid}) on port {port}, {len(lessons)} lessons, "
              f"{args.workers} browsers", flush=True)
        try:
            url = f"http://127.0.0.1:{port}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}"
            news = json.load(urllib.request.urlopen(url))["schema"]["properties"]["fetchNews"]["default"]
            results = run_all(tmp, copies, stored, args.workers, args.timeout, f"http://127.0.0.1:{port}", token)
        finally:
            stop_lab(lab)
    failures = [] if news == "false" else [f"the news pop-up is not switched off (fetchNews default {news!r})"]
    for r in results:
        if r.name == copies[0].stem:
            if not any(INJECTED_MARK in p for p in r.problems):
                failures.append(f"self-check: the error put into {r.name} was not reported")
        elif r.problems:
            failures.append(f"{r.name}: " + "; ".join(r.problems))
    if len(results) != len(copies):
        failures.append(f"{len(copies) - len(results)} lessons were not run (a browser failed to start?)")
    if failures:
        print("test-browser: FAILED\n" + "\n".join(f"  - {f}" for f in failures), file=sys.stderr)
        return 1
    print(f"test-browser: {len(lessons)} lessons passed in {time.monotonic() - started:.0f} s (the self-check "
          f"caught its injected error); screenshots in {SCREENSHOTS.relative_to(ROOT)}/")
    return 0
