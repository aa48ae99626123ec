"""Project-level checks: dependency lists agree, notebooks are clean, import stays light."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {_name(r) for r in pip_section if not r.startswith("-")}
    assert listed == wanted, f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"


def test_constraints_pin_every_dependency_and_the_required_versions():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1" and pins["nbval"] == "0.11.0"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    missing = {_name(r) for r in reqs} - set(pins)
    assert not missing, f"not pinned in constraints.txt: {missing}"


def test_there_are_lessons():
    names = [p.name for p in NOTEBOOKS]
    assert "00_overview.ipynb" in names and "04_convolution.ipynb" in names


def test_notebook_hygiene():
    import nbformat

    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3", path.name
        code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), f"{path.name}: not executed in order"
        for i, cell in enumerate(code):
            tags = cell.metadata.get("tags", [])
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if "raises-exception" in tags:
                assert errors, f"{path.name}: cell {i} is tagged raises-exception but stores no error"
            else:
                assert not errors, f"{path.name}: cell {i} stores an error without the raises-exception tag"
            if "nbval-skip" in tags:
                assert "nbval-skip:" in cell.source, f"{path.name}: cell {i} is skipped without a reason"
            for out in cell.outputs:
                if out.output_type == "stream" and out.name == "stderr":
                    assert "Warning" not in out.text or "dropout" in path.name, (
                        f"{path.name}: cell {i} stores a warning"
                    )
        assert any("import companion" in c.source or "from companion" in c.source for c in code), path.name
        assert "execution" not in json.dumps([c.metadata for c in nb.cells]), f"{path.name}: timing metadata"


def test_import_companion_is_light():
    code = (
        "import sys, time; import torch; t = time.perf_counter(); import companion; "
        "dt = time.perf_counter() - t; "
        "heavy = [m for m in ('matplotlib', 'torchvision', 'mlxtend', 'pandas', 'scipy') if m in sys.modules]; "
        "print(dt, heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, encoding="utf-8")
    out = proc.stdout.split(maxsplit=1)
    assert out[1].strip() == "[]", f"import companion pulls in {out[1]}"
    assert float(out[0]) < 0.3, f"import companion took {float(out[0]):.3f} s after torch"


def test_import_companion_imports_nothing_until_a_name_is_used():
    code = "import sys, companion; print([m for m in ('torch', 'numpy', 'PIL') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         encoding="utf-8").stdout
    assert out.strip() == "[]"  # each name loads its module on first use (tested below)


def test_every_public_name_and_module_is_reachable_lazily():
    import importlib

    import companion

    assert sorted(companion.__all__) == sorted(companion._HOMES)
    modules = sorted([p.stem for p in (ROOT / "companion").glob("*.py") if not p.stem.startswith("_")]
                     + [p.parent.name for p in (ROOT / "companion").glob("*/__init__.py")])  # exercises/
    assert sorted(companion._MODULES) == modules
    for name, home in companion._HOMES.items():
        assert getattr(companion, name) is getattr(importlib.import_module(f"companion.{home}"), name)
    assert companion.mnist.FILES and "load_sample" in dir(companion) and "mnist" in dir(companion)
    with pytest.raises(AttributeError, match="no_such_name"):
        getattr(companion, "no_such_name")  # noqa: B009 - the name is looked up on purpose
