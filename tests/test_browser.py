"""tools/browser_checks.py and tools/browser.py: the checks of make test-browser without a browser (the
browser run itself is `make test-browser`, in .ci/run), and the lab settings it shares with make lab."""

import json
import runpy
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import browser, browser_checks, tasks
from tools.notebooks import ROOT, notebook_paths


def lesson(name):
    return nbformat.read(next(p for p in notebook_paths() if p.stem.startswith(name)), as_version=4)


def page(nb):
    """What the page reports after a run of ``nb`` in which everything went right."""
    cells, explorers, count = [], [], 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            cells.append({"type": cell.cell_type, "tags": []})
            continue
        tags = cell.metadata.get("tags", [])
        datas = [o.get("data", {}) for o in cell.outputs]
        count += bool(cell.source.strip())
        images = sum("image/png" in d for d in datas)
        cells.append({"type": "code", "tags": tags, "executionCount": count if cell.source.strip() else None,
                      "errors": ["ValueError: on purpose"] if "raises-exception" in tags else [],
                      "imageOutputs": images, "imagesShown": images, "inputHidden": "solution" in tags,
                      "inputHiddenBefore": "solution" in tags})
        explorers += [{"moved": True, "slider": "size", "pictureChanged": True, "textChanged": True}
                      for o in cell.outputs if o.get("metadata", {}).get(browser_checks.EXPLORER)]
    return {"cells": cells, "explorers": explorers, "newsToast": False, "fontLoaded": True}


def code(report, n):
    return [c for c in report["cells"] if c["type"] == "code"][n]


@pytest.mark.parametrize("name", ["00", "03", "05"])
def test_a_clean_run_of_a_lesson_passes(name):
    nb = lesson(name)
    assert browser_checks.lesson_problems(page(nb), browser_checks.expected(nb)) == []


def test_the_explorers_are_found_by_the_mark_companion_gives_them():
    from companion import explorers

    assert browser_checks.EXPLORER == explorers.MARK


def test_the_explorer_lessons_promise_their_explorers_and_solutions():
    for name in ("05", "07"):
        nb = lesson(name)
        want = browser_checks.expected(nb)
        assert sum(c["explorers"] for c in want["cells"]) == 1
        solutions = sum("solution" in c.metadata.get("tags", []) for c in nb.cells)
        assert solutions >= 4 and sum("solution" in c["tags"] for c in want["cells"]) == solutions


def test_an_unexpected_error_fails_the_lesson_and_names_the_cell():
    nb = lesson("05")
    report = page(nb)
    code(report, 5)["errors"] = ["RuntimeError: boom"]
    for later in [c for c in report["cells"] if c["type"] == "code"][6:]:
        later["executionCount"] = None  # the kernel stops after an error
    problems = browser_checks.lesson_problems(report, browser_checks.expected(nb))
    assert problems[0] == "code cell 6 shows an error: RuntimeError: boom"
    assert "code cell 7 did not run" in problems


def test_an_expected_error_that_does_not_come_fails_too():
    nb = lesson("03")  # lesson 03 shows Python's own errors on purpose
    report = page(nb)
    n = next(i for i, c in enumerate(browser_checks.expected(nb)["cells"]) if "raises-exception" in c["tags"])
    code(report, n)["errors"] = []
    assert browser_checks.lesson_problems(report, browser_checks.expected(nb)) == [
        f"code cell {n + 1} is tagged raises-exception but shows no error"]


@pytest.mark.parametrize("change, message", [
    (lambda r: r["explorers"][0].update(pictureChanged=False), "the picture changed: False"),
    (lambda r: r["explorers"][0].update(textChanged=False), "the printed size changed: False"),
    (lambda r: r["explorers"][0].update(moved=False, why="no slider handle found"), "no slider could be moved"),
    (lambda r: r["explorers"].pop(), "the page shows 0 explorers, the lesson has 1"),
    (lambda r: r.update(newsToast=True), "news"),
    (lambda r: r.update(fontLoaded=False), "Chinese font"),
])
def test_explorers_news_and_font_are_checked(change, message):
    nb = lesson("05")
    report = page(nb)
    change(report)
    problems = browser_checks.lesson_problems(report, browser_checks.expected(nb))
    assert len(problems) == 1 and message in problems[0]


def test_a_missing_figure_or_an_open_solution_fails():
    nb = lesson("00")
    want = browser_checks.expected(nb)
    report = page(nb)
    n = next(i for i, c in enumerate(want["cells"]) if c["images"])
    code(report, n)["imagesShown"] = 0
    m = next(i for i, c in enumerate(want["cells"]) if "solution" in c["tags"])
    code(report, m)["inputHidden"] = False
    assert browser_checks.lesson_problems(report, want) == [
        f"code cell {n + 1} displays 0 of 1 figures, the stored lesson has 1",
        f"code cell {m + 1} is a solution but its source is not collapsed"]


def test_expected_counts_pictures_and_explorers():
    cell = new_code_cell("x", metadata={"tags": ["solution"]})
    explorer = new_output("display_data", data={"image/png": "iVBOR", "text/plain": "report"},
                          metadata={browser_checks.EXPLORER: True})
    cell.outputs = [new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"}), explorer]
    nb = new_notebook(cells=[new_markdown_cell("# t"), cell, new_code_cell("")])
    assert browser_checks.expected(nb) == {
        "cells": [{"tags": ["solution"], "empty": False, "images": 2, "explorers": 1},
                  {"tags": [], "empty": True, "images": 0, "explorers": 0}],
        "alone": False}
    nb.cells.append(new_code_cell("t0 = time.perf_counter()"))
    assert browser_checks.expected(nb)["alone"]


def test_only_the_lessons_that_measure_time_run_alone():
    alone = [p.stem for p in notebook_paths() if browser_checks.expected(nbformat.read(p, as_version=4))["alone"]]
    assert alone == ["10_dropout_in_model", "13_training", "14_faster"]


def test_prepare_works_on_copies_in_a_temporary_folder(tmp_path):
    lessons = notebook_paths()[:2]
    mine = ROOT / "my-notebooks"
    before = sorted(mine.iterdir()) if mine.exists() else None
    copies = browser.prepare(tmp_path, lessons, inject_into=lessons[0])
    assert [c.parent for c in copies] == [tmp_path / "my-notebooks"] * 3
    assert copies[0].name == f"selfcheck_{lessons[0].name}"
    assert [c.name for c in copies[1:]] == [p.name for p in lessons]
    broken = nbformat.read(copies[0], as_version=4)
    assert browser_checks.INJECTED in [c.source for c in broken.cells]
    assert (sorted(mine.iterdir()) if mine.exists() else None) == before


def test_a_missing_browser_is_an_error_that_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(browser, "CHROMIUM", Path("/nonexistent/chromium"))
    assert browser.main([]) == 2
    err = capsys.readouterr().err
    assert "/nonexistent/chromium" in err and "apt-get install chromium chromium-driver" in err


def test_lab_passes_the_course_settings_and_prints_the_first_lessons_url(tmp_path):
    cmd = tasks.lab_command(["--no-browser"], tmp_path / "my-notebooks" / "00_overview.ipynb", root=tmp_path)
    assert f"--config={tasks.LAB_CONFIG}" in cmd and f"--ServerApp.root_dir={tmp_path}" in cmd
    assert "--LabApp.default_url=/lab/tree/my-notebooks/00_overview.ipynb" in cmd
    assert cmd[-1] == "my-notebooks/00_overview.ipynb"


def test_the_lab_config_switches_the_news_off_and_serves_the_figures_font():
    from traitlets.config import Config

    cfg = Config()
    runpy.run_path(str(tasks.LAB_CONFIG), init_globals={"get_config": lambda: cfg})
    overrides = json.loads((Path(cfg.LabApp.app_settings_dir) / "overrides.json").read_text(encoding="utf-8"))
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert cfg.LabApp.custom_css is True
    folders = [Path(p) for p in cfg.ServerApp.tornado_settings["static_custom_path"]]
    css = (folders[0] / "custom.css").read_text(encoding="utf-8")
    for font in ("NotoSansCJKsc-Regular.otf", "NotoSansMonoCJKsc-Regular.otf"):
        assert f'url("{font}")' in css and (folders[1] / font).is_file()
    assert browser_checks.CJK_FONT in css


def test_the_browser_gets_the_font_the_figures_use():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from traitlets.config import Config

    from companion import viz

    names = runpy.run_path(str(tasks.LAB_CONFIG), init_globals={"get_config": Config})
    figures = font_manager.findfont(font_manager.FontProperties(family=viz.use_chinese_font()),
                                    fallback_to_default=False)
    assert Path(figures).samefile(names["mplfonts_dir"]() / "NotoSansCJKsc-Regular.otf")
