"""The hosted CI workflows: valid against the GitHub Actions schema, and doing what the
README says (offline: check-jsonschema ships the schema)."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_there_are_cpu_and_cuda_workflows():
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "cuda.yml"}


def test_every_workflow_matches_the_schema():
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    assert exe, "check-jsonschema is part of the dev extra"
    proc = subprocess.run(  # one run checks every file
        [exe, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_invalid_workflow_is_rejected(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    proc = subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode != 0


def test_cpu_matrix_and_commands():
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    job = ci["jobs"]["cpu"]
    assert set(job["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "macos-latest", "windows-latest"}
    assert set(job["strategy"]["matrix"]["python"]) == {"3.11", "3.13"}
    runs = " ".join(s.get("run", "") for s in job["steps"])
    for command in ("test", "test-portable", "lint"):
        assert f"make {command} " in runs and f"python tools/tasks.py {command}\n" in runs, command


def test_cuda_job_is_manual_or_labelled_and_runs_test_cuda():
    cuda = yaml.safe_load((ROOT / ".github/workflows/cuda.yml").read_text())
    triggers = cuda[True] if True in cuda else cuda["on"]  # YAML 1.1 reads `on` as True
    assert "workflow_dispatch" in triggers and "pull_request" in triggers
    job = cuda["jobs"]["cuda"]
    assert "self-hosted" in job["runs-on"] and "gpu" in job["runs-on"]
    assert any("make test-cuda" in s.get("run", "") for s in job["steps"])
    speed = " ".join(s.get("run", "") for s in job["steps"])
    assert "benchmarks/train_speed.py" in speed and "--device cuda" in speed and "-m companion train" in speed
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in job["steps"])


def test_ci_entry_point_runs_the_tests_the_portability_check_the_linters_and_the_browser():
    lines = [
        ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    assert lines[-4:] == ["make test", "make test-portable", "make lint", "make test-browser"]


def test_ci_entry_point_installs_the_browser_or_fails_saying_why(tmp_path):
    text = (ROOT / ".ci" / "run").read_text()
    assert "apt-get install -y -qq chromium chromium-driver" in text and 'if [ "$(id -u)" -ne 0 ]' in text
    # run only the install step, on a machine without the browser and without apt-get: it must fail, saying why
    step = text[text.index("install_browser() {"):text.index("make test\n")]
    script = tmp_path / "step.sh"
    script.write_text("set -euo pipefail\n" + step.replace("/usr/bin/chrom", f"{tmp_path}/none/chrom"))
    bash = shutil.which("bash")
    proc = subprocess.run([bash, str(script)], capture_output=True, text=True, env={"PATH": str(tmp_path)})
    assert proc.returncode == 1
    assert "no apt-get" in proc.stderr and "could not be installed" in proc.stderr


def test_pre_commit_hooks_use_the_venv_tools():
    cfg = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    ids = {h["id"] for repo in cfg["repos"] for h in repo["hooks"]}
    assert ids == {"ruff", "nbqa-ruff", "normalise-notebooks"}
