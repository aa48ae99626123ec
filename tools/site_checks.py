"""The checks of ``make test-site`` (``tools/site_browser.py``) in plain Python: what a built page
promises (``expected``), what is wrong with what the page reported (``page_problems``), which requests
left the site (``outside_requests``) and which console messages count (``console_errors``).
Unit-tested without a browser."""

from __future__ import annotations

import re

EXPLORER = "course-explorer"  # companion.explorers.MARK, tools/website.py
CJK_FONT = "Course Sans CJK"  # the family tools/site_assets/course.css gives the font
INJECTED_MARK = "put here by the self-check of make test-site"
SEARCH_TERM, SEARCH_PAGE = "池化", "07_pooling"

#: console messages that are not faults of the site, each with its reason; everything else fails a page
CONSOLE_ALLOWED: list[tuple[str, str]] = [
    # Chromium asks for /favicon.ico on every site; the course ships none, and the 404 is no fault of a page
    (r"/favicon\.ico - Failed to load resource", "the browser's own request for a favicon"),
]


def expected(nb) -> dict:
    """What the page of lesson ``nb`` (as stored) must show: its figures (stored PNG outputs, the
    explorers' pictures excepted: those are drawn live), its explorers and its collapsed solutions."""
    figures = explorers = solutions = 0
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "remove-cell" in tags or "colab-setup" in tags:
            continue
        solutions += "solution" in tags
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get(EXPLORER):
                explorers += 1
            elif "image/png" in out.get("data", {}):
                figures += 1
    return {"figures": figures, "explorers": explorers, "solutions": solutions}


def outside_requests(urls: list[str], base: str) -> list[str]:
    """The requested addresses that are not the site's own (``base``) nor data held in the page."""
    own = ("data:", "blob:", "about:", base + "/")
    return [u for u in urls if not (u == base or u.startswith(own))]


def console_errors(entries: list[dict]) -> list[str]:
    """The console's errors (level SEVERE) that ``CONSOLE_ALLOWED`` does not name."""
    return [e.get("message", "") for e in entries if e.get("level") == "SEVERE"
            and not any(re.search(pattern, e.get("message", "")) for pattern, _ in CONSOLE_ALLOWED)]


def page_problems(report: dict, want: dict | None) -> list[str]:
    """Everything wrong with one page. ``report`` is what the page said (see ``tools/site_browser.py``);
    ``want`` is ``expected`` of its lesson (None for a page that is not a lesson)."""
    problems = [f"console error: {m[:200]}" for m in report.get("console", [])]
    problems += [f"request outside the site: {u[:200]}" for u in report.get("outside", [])]
    broken = [i["src"][:120] for i in report.get("images", []) if not i["decoded"]]
    problems += [f"figure not displayed: {src}" for src in broken]
    if not report.get("fontLoaded"):
        problems.append(f"the Chinese font ({CJK_FONT}) was not loaded: Chinese would show as boxes")
    problems += [f"Chinese text in a font list without the course's CJK font (boxes where the system has "
                 f"none): {t[:120]}" for t in report.get("withoutCjkFont", [])]
    if want is None:
        return problems
    shown = sum(i["decoded"] for i in report.get("images", []) if i.get("output"))
    if shown < want["figures"]:
        problems.append(f"the page displays {shown} figures, the stored lesson has {want['figures']}")
    if report.get("explorers") != want["explorers"]:
        problems.append(f"the page shows {report.get('explorers')} explorers, the lesson has {want['explorers']}"
                        + (" (one rendered more than once)" if report.get("explorers", 0) > want["explorers"] else ""))
    if report.get("widgetsTwice"):
        problems.append("an explorer is rendered more than once (more than one canvas in a box)")
    if report.get("collapsed") != want["solutions"]:
        problems.append(f"{report.get('collapsed')} collapsed solutions on the page, "
                        f"the lesson has {want['solutions']}")
    for k, ex in enumerate(report.get("moves", [])):
        if not (ex.get("pictureChanged") and ex.get("textChanged")):
            problems.append(f"explorer {k + 1}: moving '{ex.get('slider')}' changed the picture: "
                            f"{ex.get('pictureChanged')}, the size: {ex.get('textChanged')}")
        if ex.get("size") != ex.get("companion"):
            problems.append(f"explorer {k + 1}: the page says {ex.get('size')}, companion says {ex.get('companion')}")
    if report.get("disagreements"):
        first = report["disagreements"][0]
        problems.append(f"the page's formula disagrees with companion on {len(report['disagreements'])} slider "
                        f"settings, e.g. {first}")
    return problems
