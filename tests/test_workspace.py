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
    for name in ("00_overview.ipynb", "03_super.ipynb"):
        shutil.copy(ROOT / "notebooks" / name, tmp_path / "notebooks" / name)
    return tmp_path


def _save_through_jupyter(root, path, nb):
    """Save a notebook the way JupyterLab does: through the Jupyter server's contents manager."""
    from jupyter_server.services.contents.filemanager import FileContentsManager

    manager = FileContentsManager(root_dir=str(root))
    manager.save({"type": "notebook", "format": "json", "content": nb}, path)


def test_a_learners_work_never_touches_the_tracked_lesson(checkout):
    tracked = checkout / "notebooks" / "03_super.ipynb"
    before = tracked.read_bytes()
    made, outdated = workspace.prepare(checkout)
    assert sorted(p.name for p in made) == ["00_overview.ipynb", "03_super.ipynb"] and outdated == []
    copy = checkout / workspace.WORKSPACE / "03_super.ipynb"
    # what JupyterLab does on open and run: the kernel's language_info, new outputs, an answer
    nb = nbformat.read(copy, as_version=4)
    nb.metadata["language_info"]["version"] = "3.11.7"
    nb.cells.append(nbformat.v4.new_code_cell("answer = 42  # my answer"))
    _save_through_jupyter(checkout, f"{workspace.WORKSPACE}/03_super.ipynb", nb)
    assert tracked.read_bytes() == before
    assert "my answer" in copy.read_text(encoding="utf-8")
    # make lab again: the copy is kept as it is
    mine = copy.read_bytes()
    assert workspace.prepare(checkout) == ([], [])
    assert copy.read_bytes() == mine


def test_an_updated_lesson_is_reported_and_fetched_without_losing_the_old_copy(checkout):
    workspace.prepare(checkout)
    copy = checkout / workspace.WORKSPACE / "03_super.ipynb"
    mine = copy.read_bytes().replace(b"super", b"SUPER", 1)
    copy.write_bytes(mine)
    tracked = checkout / "notebooks" / "03_super.ipynb"
    nb = nbformat.read(tracked, as_version=4)
    nb.cells[0].source += "\n\n（更新）"
    nbformat.write(nb, tracked)
    made, outdated = workspace.prepare(checkout)
    assert made == [] and outdated == [copy] and copy.read_bytes() == mine
    text = workspace.report(made, outdated)
    assert "make update-lesson NB=03" in text and "your copy is kept" in text
    kept = workspace.update("03", checkout)
    assert kept.parent == checkout / workspace.WORKSPACE / workspace.OLD and kept.read_bytes() == mine
    assert "（更新）" in copy.read_text(encoding="utf-8")
    assert workspace.prepare(checkout) == ([], [])
    again = workspace.update("03_super", checkout)  # twice in the same second: a second name, nothing lost
    assert again != kept and kept.read_bytes() == mine


def test_update_names_the_lessons_when_the_name_is_wrong(checkout):
    with pytest.raises(SystemExit, match="00_overview, 03_super"):
        workspace.update("07", checkout)


def test_an_unreadable_copy_is_left_alone(checkout):
    folder = checkout / workspace.WORKSPACE
    folder.mkdir()
    (folder / "00_overview.ipynb").write_text("half-written by an editor", encoding="utf-8")
    made, outdated = workspace.prepare(checkout)
    assert [p.name for p in made] == ["03_super.ipynb"] and outdated == []
    assert (folder / "00_overview.ipynb").read_text(encoding="utf-8") == "half-written by an editor"


def test_a_copy_of_a_lesson_the_course_no_longer_has_is_named_and_kept(checkout):
    workspace.prepare(checkout)
    folder = checkout / workspace.WORKSPACE
    old = folder / "02_super.ipynb"  # a copy made before the lessons were renumbered
    nb = nbformat.read(folder / "03_super.ipynb", as_version=4)
    nb.metadata[workspace.ORIGIN]["lesson"] = "notebooks/02_super.ipynb"
    nbformat.write(nb, old)
    (folder / "mine.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()), encoding="utf-8")
    (folder / "broken.ipynb").write_text("{not json", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    gone = workspace.retired(checkout)
    assert gone == [(old, "notebooks/02_super.ipynb")]  # not the learner's own notebooks, nor a broken one
    text = workspace.report([], [], gone=gone)
    assert "my-notebooks/02_super.ipynb is your copy of notebooks/02_super.ipynb" in text and "kept" in text
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing moved or changed
    assert workspace.prepare(checkout) == ([], [])
