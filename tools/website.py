"""``make site``: the course as a static website in ``build/site/``.

Built with Sphinx, MyST-NB and sphinx-book-theme (the ``[site]`` extra) from what the repository
holds: every ``notebooks/*.ipynb`` in name order with its stored outputs (never executed: the
pages show exactly what nbval checked), the README's course description, ``docs/glossary.md`` and
``docs/INSTRUCTORS.md``. The interface is Chinese (``language = "zh_CN"``), search segments Chinese
with jieba, MathJax and the Noto Sans CJK SC fonts (from mplfonts) are served by the site itself,
so it works offline and from a plain file server.

Each lesson is copied into ``build/site-src/`` and adapted there, the tracked file untouched:
its reference answers (tag ``solution``) are collapsed (``hide-input``), and a line under its
title links to the notebook (and, with a repository
configured in ``[tool.course-site]`` of pyproject.toml, to Binder and Colab). An explorer
(``companion.explorers``) is stored as HTML with its script (``companion/explorer.js``), so the
page shows it as JupyterLab does: sliders that redraw and reprint in the page, no kernel needed.
"""

from __future__ import annotations

import copy
import html
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import quote

from tools.notebooks import ROOT, CourseError, atomic_write_text, read_notebook, shown, write

SITE = ROOT / "build" / "site"
SOURCE = ROOT / "build" / "site-src"
ASSETS = ROOT / "tools" / "site_assets"
#: a file in every folder ``make site`` makes; a folder without it is never replaced or removed
MADE_BY = ".made-by-make-site"
#: the fonts the site serves (mplfonts' Noto Sans CJK SC, as in the course's JupyterLab)
FONTS = ("NotoSansCJKsc-Regular.otf", "NotoSansMonoCJKsc-Regular.otf")
EXPLORER = "course-explorer"  # companion.explorers.MARK
#: jieba's user dictionary for search, made from the glossary
SEARCH_DICT = "search-words.txt"
#: the tag of the first cell that tools/colab_cell.py puts into a lesson (installs companion in Colab)
COLAB_TAG = "colab-setup"


# ── what the site is made from ───────────────────────────────────────────────────────────
def lesson_paths(root: Path = ROOT) -> list[Path]:
    """Every notebook in ``root/notebooks``, in name order (no list of lessons is kept anywhere)."""
    return sorted((root / "notebooks").glob("*.ipynb"))


def first_heading(nb) -> str:
    """The text of the notebook's first heading (any level), its page title; a ``CourseError`` if it has none."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line)
                if match:
                    return match.group(1)
    raise CourseError("a lesson without a heading has no title for its page: start it with '# …'")


def repository(root: Path = ROOT, env: dict[str, str] | None = None) -> tuple[str, str]:
    """(repository URL, branch) from ``[tool.course-site]`` in pyproject.toml; ``COURSE_REPOSITORY_URL``
    in the environment overrides the URL. An empty URL means: no repository configured."""
    env = os.environ if env is None else env
    table = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("tool", {}).get("course-site", {})
    url = (env.get("COURSE_REPOSITORY_URL") or table.get("repository_url") or "").strip().rstrip("/")
    branch = (table.get("branch") or "main").strip()
    if url and not re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", url):
        raise CourseError(f"repository_url {url!r} is not a repository address such as https://github.com/OWNER/REPO")
    return url.removesuffix(".git"), branch


def launch_links(name: str, url: str, branch: str) -> list[tuple[str, str]]:
    """(label, address) of the links under a lesson's title: the notebook in the repository, and for a
    GitHub repository Binder (which builds environment.yml) and Colab. Without a repository: the copy
    of the notebook that the site ships."""
    path = f"notebooks/{name}"
    if not url:
        return [("下载这份笔记本（.ipynb）", path)]
    links = [("在仓库中查看这份笔记本", f"{url}/blob/{branch}/{path}")]
    github = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)", url)
    if github:
        repo = github.group(1)
        binder = f"https://mybinder.org/v2/gh/{repo}/{quote(branch)}?labpath={quote(path, safe='')}"
        links += [("在 Binder 上运行", binder),
                  ("在 Colab 中打开", f"https://colab.research.google.com/github/{repo}/blob/{branch}/{path}")]
    return links


def site_notebook(nb, name: str, url: str = "", branch: str = "main"):
    """A copy of lesson ``nb`` (file name ``name``) as the site shows it; ``nb`` is not changed."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        tags = list(cell.metadata.get("tags", []))
        if cell.cell_type == "code" and "solution" in tags and "hide-input" not in tags:
            tags.append("hide-input")
        if COLAB_TAG in tags and "remove-cell" not in tags:
            tags.append("remove-cell")  # installs companion in Colab; the site has nothing to install
        if tags:
            cell.metadata["tags"] = tags
    links = " · ".join(f'<a class="course-launch-link" href="{html.escape(a)}">{html.escape(t)}</a>'
                       for t, a in launch_links(name, url, branch))
    line = f'\n\n<p class="course-launch">{links}</p>\n'
    for cell in nb.cells:
        if cell.cell_type == "markdown" and re.search(r"^#{1,6}\s", cell.source, re.M):
            lines = cell.source.split("\n")
            at = next(i for i, ln in enumerate(lines) if re.match(r"#{1,6}\s", ln))
            cell.source = "\n".join(lines[:at + 1]) + line + "\n".join(lines[at + 1:])
            break
    return nb


def course_description(readme: str) -> str:
    """The README's course description: what stands between its title and its first section, and its
    section of lessons (the table)."""
    parts = re.split(r"^## ", readme, flags=re.M)
    intro = parts[0].split("\n", 1)[1] if "\n" in parts[0] else ""
    lessons = next((p for p in parts[1:] if "Lessons" in p.splitlines()[0]), "")
    return intro.strip() + ("\n\n## " + lessons.strip() if lessons else "")


def glossary_terms(glossary: str) -> list[str]:
    """The Chinese terms of the glossary's table (the course's word and d2l-zh's), one by one: what
    search must find as words (jieba's own dictionary lacks some, e.g. 池化)."""
    terms: list[str] = []
    for line in glossary.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or set(cells[0]) <= set("-: ") or cells[1] == "English":  # the header, its rule
            continue
        for cell in (cells[0], cells[2]):
            for term in re.split(r"[／、，,()（）`\s]+", cell):
                if re.fullmatch(r"[\u4e00-\u9fff]{2,}", term) and term not in terms:
                    terms.append(term)
    return terms


def index_page(readme: str, lessons: list[tuple[str, str]]) -> str:
    """The home page: the course's title, its description and the table of contents."""
    title = readme.splitlines()[0].lstrip("# ").strip()
    names = "\n".join(stem for stem, _ in lessons)
    return (f"# {title}\n\n{course_description(readme)}\n\n"
            "## 关于本网站\n\n每一课都是仓库里提交的笔记本，连同它的输出：网页上的每个数字、表格和图，"
            "都是 CI 用 nbval 逐格校验过的那一份，建站时不运行任何代码。参考答案默认折叠；"
            "第 05 课和第 07 课的探索器在网页里就能拖动（公式在浏览器中计算）。\n\n"
            f"```{{toctree}}\n:caption: 课程\n:maxdepth: 1\n\n{names}\n```\n\n"
            "```{toctree}\n:caption: 参考\n:maxdepth: 1\n\nglossary\ninstructors\n```\n")


def conf_py(url: str, branch: str, title: str) -> str:
    """Sphinx's configuration for the site."""
    options = {"use_download_button": True, "use_fullscreen_button": False, "home_page_in_toc": True,
               "show_toc_level": 2, "navigation_with_keys": False}
    if url:
        options.update({"repository_url": url, "repository_branch": branch, "use_repository_button": True})
    return f'''# Written by tools/website.py (make site); edit that file, not this one.
import logging
from pathlib import Path

import jieba
from sphinx.search import languages
from sphinx.search.zh import SearchChinese


class ChineseSearch(SearchChinese):
    """Sphinx's Chinese search (jieba), whose page script calls its stemmer ChineseStemmer although it
    ships the English one (a ReferenceError on every page, Sphinx 9.0): the name of what it ships."""

    language_name = "English"


languages["zh"] = ChineseSearch
jieba.setLogLevel(logging.WARNING)  # no start-up lines
jieba.dt.tmp_dir = str(Path(__file__).with_name("_build"))  # its cache beside the sources, not in /tmp
html_search_options = {{"dict": str(Path(__file__).with_name("{SEARCH_DICT}"))}}  # jieba + the glossary's terms
project = {title!r}
language = "zh_CN"  # the interface and navigation in Chinese
html_search_language = "zh"  # Chinese search: words segmented with jieba
extensions = ["myst_nb", "sphinx-mathjax-offline"]  # MathJax served by the site itself
nb_execution_mode = "off"  # the stored outputs, never executed
nb_ipywidgets_js = {{}}  # the lessons store no widget state (tools/notebooks.py drops widget views)
nb_merge_streams = True
myst_heading_anchors = 3
html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {options!r}
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_extra_path = ["_extra"]  # the notebooks, for the download links
html_last_updated_fmt = None
html_show_sourcelink = False
exclude_patterns = ["_build", "_extra", "{MADE_BY}"]
suppress_warnings = ["myst.header", "myst.xref_missing", "misc.highlighting_failure", "mystnb.unknown_mime_type"]
'''


# ── writing and building ─────────────────────────────────────────────────────────────────
def _claim(folder: Path) -> None:
    """Make ``folder`` ours to fill: create it, or empty it if a previous build made it; a folder that
    ``make site`` did not make is never touched (``CourseError``)."""
    if folder.exists():
        if not (folder / MADE_BY).is_file() and any(folder.iterdir()):
            raise CourseError(f"{shown(folder)} was not made by make site; move it away, nothing in it is changed")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MADE_BY).write_text("made by make site (tools/website.py); rebuilt each time\n", encoding="utf-8")


def fonts_dir() -> Path:
    """The folder of fonts inside the installed mplfonts package."""
    import importlib.util

    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise CourseError("the site's Chinese fonts come with the package mplfonts, which is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "fonts"


def write_sources(dest: Path = SOURCE, root: Path = ROOT, env: dict[str, str] | None = None) -> list[str]:
    """Write the Sphinx project into ``dest``; returns the lessons' file stems, in order."""
    url, branch = repository(root, env)
    paths = lesson_paths(root)
    if not paths:
        raise CourseError(f"no notebooks in {shown(root / 'notebooks')}: the site has no lessons to show")
    nbs = [read_notebook(p) for p in paths]
    lessons = [(p.stem, first_heading(nb)) for p, nb in zip(paths, nbs)]
    readme = (root / "README.md").read_text(encoding="utf-8")
    _claim(dest)
    for path, nb in zip(paths, nbs):
        write(site_notebook(nb, path.name, url, branch), dest / path.name)
    atomic_write_text(dest / "index.md", index_page(readme, lessons))
    glossary = (root / "docs" / "glossary.md").read_text(encoding="utf-8")
    atomic_write_text(dest / "glossary.md", glossary)
    atomic_write_text(dest / SEARCH_DICT, "".join(f"{term} 100000\n" for term in glossary_terms(glossary)))
    atomic_write_text(dest / "instructors.md", (root / "docs" / "INSTRUCTORS.md").read_text(encoding="utf-8"))
    title = readme.splitlines()[0].lstrip("# ").split(" · ")[0].strip()
    atomic_write_text(dest / "conf.py", conf_py(url, branch, title))
    (dest / "_static" / "fonts").mkdir(parents=True)
    shutil.copy(ASSETS / "course.css", dest / "_static" / "course.css")
    for name in FONTS:
        shutil.copy(fonts_dir() / name, dest / "_static" / "fonts" / name)
    (dest / "_extra" / "notebooks").mkdir(parents=True)
    for path in paths:
        shutil.copy(path, dest / "_extra" / "notebooks" / path.name)
    return [stem for stem, _ in lessons]


def build(out: Path = SITE, source: Path = SOURCE, root: Path = ROOT) -> int:
    """Write the sources and build the site into ``out`` (replaced only when the build succeeds)."""
    started = time.monotonic()
    lessons = write_sources(source, root)
    staging = out.with_name(f".{out.name}.new")
    _claim(staging)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", "-d", str(source / "_build" / "doctrees"),
           str(source), str(staging)]
    code = subprocess.call(cmd, cwd=root, env=env)
    if code != 0:
        print(f"site: sphinx-build failed (exit status {code}); {shown(out)} is unchanged", file=sys.stderr)
        return code
    (staging / MADE_BY).write_text("made by make site (tools/website.py); rebuilt each time\n", encoding="utf-8")
    if out.exists():
        _claim(out)  # refuses a folder it did not make
        shutil.rmtree(out)
    staging.rename(out)
    print(f"site: {len(lessons)} lessons and 3 more pages in {shown(out)}/ ({time.monotonic() - started:.0f} s); "
          f"open {shown(out / 'index.html')} or serve the folder (make test-site checks it in a browser)")
    return 0


def main(argv: list[str] | None = None) -> int:
    if argv:
        print(f"site: unknown arguments {argv}", file=sys.stderr)
        return 2
    return build()
