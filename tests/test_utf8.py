"""Every text file the tests and the tools read or write is read and written as UTF-8 explicitly:
the lessons are Chinese, and Windows' default encoding (cp1252) cannot hold them."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "tests").glob("*.py"), *(ROOT / "tools").rglob("*.py"), ROOT / "conftest.py",
                  *(ROOT / "benchmarks").glob("*.py")])


def _text_calls_without_encoding(path: Path) -> list[str]:
    """The calls in ``path`` that read or write text in the platform's default encoding."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        keywords = {k.arg for k in node.keywords}
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in ("read_text", "write_text") and "encoding" not in keywords:
            found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}: {name}() without encoding=")
        elif name == "open" and isinstance(node.func, ast.Name) and "encoding" not in keywords:
            mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"),
                                                                 None)
            text_mode = not (isinstance(mode, ast.Constant) and "b" in str(mode.value))
            if text_mode:
                found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}: open() in text mode, no encoding=")
        elif name == "run" and any(k.arg == "text" for k in node.keywords) and "encoding" not in keywords:
            found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}: subprocess text=True without encoding=")
    return found


def test_tests_and_tools_name_the_encoding():
    found = [line for path in SOURCES for line in _text_calls_without_encoding(path)]
    assert not found, "read and write text as UTF-8 explicitly:\n" + "\n".join(found)


@pytest.mark.skipif(os.name == "nt", reason="LANG=C is a POSIX locale")
def test_the_notebook_readers_work_in_a_cp1252_or_c_locale():
    code = ("from tools import notebooks, workspace\n"
            "for p in notebooks.notebook_paths():\n"
            "    nb = notebooks.read_notebook(p)\n"
            "    workspace.lesson_digest(nb)\n"
            "print(len(notebooks.stale(notebooks.notebook_paths())) >= 0)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env.update(PYTHONIOENCODING="cp1252", LANG="C", LC_ALL="C", PYTHONUTF8="0", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert proc.stdout.strip() == b"True"
