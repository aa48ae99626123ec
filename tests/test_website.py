"""tools/website.py (make site), tools/site_checks.py (make test-site's checks) and tools/colab_cell.py,
without building the site or opening a browser (make site and make test-site do, in .ci/run)."""

import contextlib
import io

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import colab_cell, site_checks, website
from tools.notebooks import ROOT, CourseError, read_notebook


def lesson(stem):
    return read_notebook(ROOT / "notebooks" / f"{stem}.ipynb")


def test_every_notebook_is_a_page_in_name_order_titled_by_its_first_heading():
    paths = website.lesson_paths()
    assert paths == sorted((ROOT / "notebooks").glob("*.ipynb")) and paths
    for path in paths:
        assert website.first_heading(read_notebook(path)).startswith("第 ")
    with pytest.raises(CourseError, match="heading"):
        website.first_heading(new_notebook(cells=[new_markdown_cell("no title")]))


def test_the_explorers_become_boxes_with_their_values_and_the_solutions_collapse():
    nb = lesson("07_pooling")
    page = website.site_notebook(nb, "07_pooling.ipynb")
    outputs = [o for c in page.cells for o in c.get("outputs", [])]
    boxes = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(boxes) == 1 and 'data-kind="pool"' in boxes[0] and "&quot;ceil_mode&quot;: false" in boxes[0]
    solutions = [c for c in page.cells if "solution" in c.metadata.get("tags", [])]
    assert solutions and all("hide-input" in c.metadata["tags"] for c in solutions)
    assert not any("hide-input" in c.metadata.get("tags", []) for c in nb.cells)  # the lesson is untouched
    assert 'href="notebooks/07_pooling.ipynb"' in page.cells[0].source.split("\n", 3)[2]


def test_an_explorer_is_shown_as_stored_with_its_script():
    from companion import explorers

    data, metadata = explorers.conv_explorer()._repr_mimebundle_()
    nb = new_notebook(cells=[new_markdown_cell("# 第 05 课"), new_code_cell("explorers.conv_explorer()", outputs=[
        new_output("execute_result", data=data, metadata=metadata, execution_count=1)])])
    page = website.site_notebook(nb, "05_conv1.ipynb")
    assert page.cells[1].outputs[0]["data"]["text/html"] == data["text/html"]  # the script that JupyterLab runs

def test_launch_links_follow_the_configured_repository(tmp_path):
    assert website.launch_links("05_conv1.ipynb", "", "main") == [
        ("下载这份笔记本（.ipynb）", "notebooks/05_conv1.ipynb")]
    links = dict(website.launch_links("05_conv1.ipynb", "https://github.com/o/r", "main"))
    assert links["在仓库中查看这份笔记本"] == "https://github.com/o/r/blob/main/notebooks/05_conv1.ipynb"
    assert links["在 Binder 上运行"] == "https://mybinder.org/v2/gh/o/r/main?labpath=notebooks%2F05_conv1.ipynb"
    assert links["在 Colab 中打开"] == "https://colab.research.google.com/github/o/r/blob/main/notebooks/05_conv1.ipynb"
    (tmp_path / "pyproject.toml").write_text('[tool.course-site]\nrepository_url = "https://github.com/o/r/"\n',
                                             encoding="utf-8")
    assert website.repository(tmp_path, {}) == ("https://github.com/o/r", "main")
    assert website.repository(tmp_path, {"COURSE_REPOSITORY_URL": "https://gitlab.com/a/b"})[0] == "https://gitlab.com/a/b"
    with pytest.raises(CourseError, match="repository"):
        website.repository(tmp_path, {"COURSE_REPOSITORY_URL": "not a url"})
    assert website.repository(ROOT, {}) == ("", "main")  # this repository configures none yet


def test_the_home_page_has_the_description_and_every_lesson():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = website.index_page(readme, [("00_overview", "a"), ("01_nn_module", "b")])
    assert "一门只讲一个网络的开放课程" in page and "| `07_pooling` |" in page and "两条命令" not in page
    assert "00_overview\n01_nn_module\n```" in page and "glossary\ninstructors" in page


def test_search_knows_the_glossarys_terms():
    terms = website.glossary_terms((ROOT / "docs" / "glossary.md").read_text(encoding="utf-8"))
    assert "池化" in terms and "最大池化" in terms and "卷积核" in terms and "课程里的说法" not in terms


def test_the_config_is_chinese_offline_and_never_executes():
    conf = website.conf_py("", "main", "课程")
    assert 'language = "zh_CN"' in conf and 'nb_execution_mode = "off"' in conf and "nb_ipywidgets_js = {}" in conf
    assert "sphinx-mathjax-offline" in conf and "repository_url" not in conf
    compile(conf, "conf.py", "exec")


def test_a_folder_make_site_did_not_make_is_never_replaced(tmp_path):
    mine = tmp_path / "site"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(CourseError, match="not made by make site"):
        website._claim(mine)
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "mine"
    ours = tmp_path / "ours"
    website._claim(ours)
    (ours / "old.html").write_text("x", encoding="utf-8")
    website._claim(ours)
    assert sorted(p.name for p in ours.iterdir()) == [website.MADE_BY]


# ── make test-site's checks ──────────────────────────────────────────────────────────────
def test_what_a_lesson_page_must_show():
    want = site_checks.expected(lesson("05_conv1"))
    assert want["explorers"] == 1 and want["figures"] >= 5 and want["solutions"] >= 4


def test_a_clean_page_passes_and_each_fault_is_named():
    want = {"figures": 1, "explorers": 1, "solutions": 1}
    good = {"images": [{"src": "_images/a.png", "decoded": True, "output": True}], "explorers": 1,
            "collapsed": 1, "fontLoaded": True, "moves": [{"slider": "size", "pictureChanged": True,
                                                          "textChanged": True, "size": "4", "companion": "4"}]}
    assert site_checks.page_problems(good, want) == []
    bad = {**good, "images": [{"src": "_images/a.png", "decoded": False, "output": True}], "explorers": 2,
           "console": ["boom"], "outside": ["https://cdn.example/x.js"], "withoutCjkFont": ["P: 池化"],
           "moves": [{"slider": "size", "pictureChanged": False, "textChanged": True, "size": "4", "companion": "5"}],
           "disagreements": ["{'size': 3}"], "collapsed": 0}
    text = " | ".join(site_checks.page_problems(bad, want))
    for part in ("console error: boom", "request outside the site", "figure not displayed", "more than once",
                 "changed the picture: False", "companion says 5", "formula disagrees", "collapsed",
                 "without the course's CJK font"):
        assert part in text, part


def test_requests_and_console_messages():
    base = "http://127.0.0.1:8000"
    urls = [f"{base}/index.html", "data:image/png;base64,AA", "https://fonts.example/a.woff", "http://127.0.0.1:9/x"]
    assert site_checks.outside_requests(urls, base) == ["https://fonts.example/a.woff", "http://127.0.0.1:9/x"]
    entries = [{"level": "SEVERE", "message": f"{base}/favicon.ico - Failed to load resource: 404"},
               {"level": "WARNING", "message": "a warning"}, {"level": "SEVERE", "message": "Uncaught Error"}]
    assert site_checks.console_errors(entries) == ["Uncaught Error"]
    assert all(reason for _, reason in site_checks.CONSOLE_ALLOWED)  # every allowed message says why


# ── the Colab cell ───────────────────────────────────────────────────────────────────────
def _nb():
    return new_notebook(cells=[new_markdown_cell("# 第 99 课"), new_code_cell("import companion",
                                                                           outputs=[new_output("stream", text="")])])


def test_the_colab_cell_goes_first_once_and_is_updated_not_doubled():
    nb = _nb()
    assert colab_cell.with_colab_cell(nb, "https://github.com/o/r")
    assert colab_cell.TAG in nb.cells[0].metadata["tags"] and "git+https://github.com/o/r@main" in nb.cells[0].source
    assert not colab_cell.with_colab_cell(nb, "https://github.com/o/r")  # idempotent
    assert colab_cell.with_colab_cell(nb, "https://github.com/o/r2", "dev")
    assert sum(colab_cell.TAG in c.metadata.get("tags", []) for c in nb.cells) == 1 and "r2@dev" in nb.cells[0].source
    nbformat.validate(nb)
    with pytest.raises(CourseError, match="no repository"):
        colab_cell.with_colab_cell(_nb(), "")


def test_the_colab_cell_prints_nothing_where_companion_imports_and_stays_in_student_copies():
    from tools.student import student_notebook

    nb = _nb()
    colab_cell.with_colab_cell(nb, "https://github.com/o/r")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(nb.cells[0].source, "colab-cell", "exec"), {})
    assert out.getvalue() == ""
    copy, removed = student_notebook(nb)
    assert removed == 0 and copy.cells[0].source == nb.cells[0].source
    assert website.site_notebook(nb, "99.ipynb").cells[0].metadata["tags"].count("remove-cell") == 1
