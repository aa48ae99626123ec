"""The first cell a lesson needs in Colab: install ``companion`` when it is missing, and say so.

    python tools/colab_cell.py [NOTEBOOK…]    insert or update that cell in the lessons (default: all)

The repository comes from ``[tool.course-site]`` in pyproject.toml (or ``COURSE_REPOSITORY_URL``),
the one place the website takes it from; without one there is nothing to install from, and the
tool says so. Where ``companion`` imports (``make lab``, Binder, CI) the cell does nothing and
prints nothing, so nbval's stored output (none) stays right, and ``tools/student.py`` keeps it
(it is no solution). The cell is tagged ``colab-setup`` (found again and updated, never doubled)
and ``remove-cell`` (the website leaves it out). Adding it changes a lesson's code cells: refresh
the lessons afterwards (``make refresh``) so that their stored outputs and provenance are whole.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tools` importable
    sys.path.insert(0, str(ROOT))

from tools.notebooks import CourseError, notebook_paths, read_notebook, write  # noqa: E402

TAG = "colab-setup"
TAGS = [TAG, "remove-cell"]


def cell_source(url: str, branch: str = "main") -> str:
    """The cell's code: nothing happens where companion imports; elsewhere it is installed from ``url``."""
    if not url:
        raise CourseError("no repository is configured to install companion from: set repository_url in "
                          "[tool.course-site] of pyproject.toml (or COURSE_REPOSITORY_URL)")
    return (
        "# 在 Colab 中：没有 companion 就先安装它（本机和 Binder 上已经装好，这个单元什么也不做）\n"
        "try:\n"
        "    import companion  # noqa: F401\n"
        "except ImportError:\n"
        "    import subprocess\n"
        "    import sys\n"
        "\n"
        '    print("没有找到课程的 companion 包，正在安装（大约一分钟）……", flush=True)\n'
        f'    package = "digit-course @ git+{url}@{branch}"\n'
        '    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", package])\n'
        '    print("companion 已安装，可以往下运行了。")\n'
    )


def with_colab_cell(nb, url: str, branch: str = "main") -> bool:
    """Put the cell first in ``nb`` (in place), or bring an existing one up to date and first;
    True when ``nb`` changed."""
    from nbformat.v4 import new_code_cell

    source = cell_source(url, branch)
    found = [c for c in nb.cells if TAG in c.metadata.get("tags", [])]
    if len(found) == 1 and nb.cells[0] is found[0] and found[0].source == source \
            and list(found[0].metadata.get("tags", [])) == TAGS:
        return False
    nb.cells = [c for c in nb.cells if TAG not in c.metadata.get("tags", [])]
    nb.cells.insert(0, new_code_cell(source, metadata={"tags": list(TAGS)}))
    nb.cells[0].pop("id", None)
    if nb.nbformat_minor >= 5:
        nb.cells[0]["id"] = "colab-setup"
    return True


def main(argv: list[str] | None = None) -> int:
    from tools.website import repository

    argv = sys.argv[1:] if argv is None else argv
    url, branch = repository()
    paths = notebook_paths(argv) if argv else notebook_paths()
    changed = []
    for path in paths:
        nb = read_notebook(path)
        if with_colab_cell(nb, url, branch):
            write(nb, path)
            changed.append(path.name)
    print(f"colab-cell: {len(changed)} of {len(paths)} lessons changed"
          + (f" ({', '.join(changed)}); refresh them now: make refresh" if changed else ""))
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
