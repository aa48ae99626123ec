"""tools/workspace.py: the learner works in copies; the tracked lessons never change."""

import shutil

import nbformat
import pytest

from tools import workspace
from tools.notebooks import ROOT


@pytest.fixture
def checkout(tmp_path):
    """A checkout with two real lessons."""
    (tmp_path / "notebooks").mkdir()
    for name in ("00_overview.ipynb", "02_super.ipynb"):
        shutil.copy(ROOT / "notebooks" / name, tmp_path / "notebooks" / name)
    return tmp_path


def _save_through_jupyter(root, path, nb):
    """Save a notebook the way JupyterLab does: through the Jupyter server's contents manager."""
    from jupyter_server.services.contents.filemanager import FileContentsManager

    manager = FileContentsManager(root_dir=str(root))
    manager.save({"type": "notebook", "format": "json", "content": nb}, path)


def test_a_learners_work_never_touches_the_tracked_lesson(checkout):
    tracked = checkout / "notebooks" / "02_super.ipynb"
    before = tracked.read_bytes()
    made, outdated = workspace.prepare(checkout)
    assert sorted(p.name for p in made) == ["00_overview.ipynb", "02_super.ipynb"] and outdated == []
    copy = checkout / workspace.WORKSPACE / "02_super.ipynb"
    # what JupyterLab does on open and run: the kernel's language_info, new outputs, an answer
    nb = nbformat.read(copy, as_version=4)
    nb.metadata["language_info"]["version"] = "3.11.7"
    nb.cells.append(nbformat.v4.new_code_cell("answer = 42  # my answer"))
    _save_through_jupyter(checkout, f"{workspace.WORKSPACE}/02_super.ipynb", nb)
    assert tracked.read_bytes() == before
    assert "my answer" in copy.read_text(encoding="utf-8")
    # make lab again: the copy is kept as it is
    mine = copy.read_bytes()
    assert workspace.prepare(checkout) == ([], [])
    assert copy.read_bytes() == mine


def test_an_updated_lesson_is_reported_and_fetched_without_losing_the_old_copy(checkout):
    workspace.prepare(checkout)
    copy = checkout / workspace.WORKSPACE / "02_super.ipynb"
    mine = copy.read_bytes().replace(b"super", b"SUPER", 1)
    copy.write_bytes(mine)
    tracked = checkout / "notebooks" / "02_super.ipynb"
    nb = nbformat.read(tracked, as_version=4)
    nb.cells[0].source += "\n\n（更新）"
    nbformat.write(nb, tracked)
    made, outdated = workspace.prepare(checkout)
    assert made == [] and outdated == [copy] and copy.read_bytes() == mine
    text = workspace.report(made, outdated)
    assert "make update-lesson NB=02" in text and "your copy is kept" in text
    kept = workspace.update("02", checkout)
    assert kept.parent == checkout / workspace.WORKSPACE / workspace.OLD and kept.read_bytes() == mine
    assert "（更新）" in copy.read_text(encoding="utf-8")
    assert workspace.prepare(checkout) == ([], [])
    again = workspace.update("02_super", checkout)  # twice in the same second: a second name, nothing lost
    assert again != kept and kept.read_bytes() == mine


def test_update_names_the_lessons_when_the_name_is_wrong(checkout):
    with pytest.raises(SystemExit, match="00_overview, 02_super"):
        workspace.update("07", checkout)


def test_an_unreadable_copy_is_left_alone(checkout):
    folder = checkout / workspace.WORKSPACE
    folder.mkdir()
    (folder / "00_overview.ipynb").write_text("half-written by an editor", encoding="utf-8")
    made, outdated = workspace.prepare(checkout)
    assert [p.name for p in made] == ["02_super.ipynb"] and outdated == []
    assert (folder / "00_overview.ipynb").read_text(encoding="utf-8") == "half-written by an editor"
