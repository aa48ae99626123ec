"""The checks of ``make test-browser`` (``tools/browser.py``), in plain Python: what a stored
lesson promises (``expected``) and what is wrong with a run of it that the page reported
(``lesson_problems``). Unit-tested without a browser."""

from __future__ import annotations

import re

INJECTED_MARK = "put here by the self-check of make test-browser"
INJECTED = f'raise RuntimeError("{INJECTED_MARK}")'
NEWS_TOAST = "official Jupyter news"
CJK_FONT = "Course Sans CJK"  # the family name tools/lab/custom/custom.css gives the font
#: an explorer's CSS class and output-metadata key (companion.explorers.MARK)
EXPLORER = "course-explorer"
#: code that measures time: such a lesson runs while no other lesson does (its timing asserts
#: compare measurements, and a second kernel on the same cores would disturb them)
_CLOCK = re.compile(r"\b(perf_counter|timeit|time\.time|monotonic)\b")


# ── what the stored lesson promises ───────────────────────────────────────────────────
def expected(nb) -> dict:
    """What a full run of the stored lesson ``nb`` shows, per code cell (in order): its tags,
    how many pictures it displays, and how many explorers (outputs marked ``EXPLORER``);
    and whether it measures time (``alone``: run it while nothing else runs)."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        cells.append({"tags": list(cell.metadata.get("tags", [])), "empty": not cell.source.strip(),
                      "images": sum("image/png" in o.get("data", {}) for o in outputs),
                      "explorers": sum(bool(o.get("metadata", {}).get(EXPLORER)) for o in outputs)})
    return {"cells": cells, "alone": any(_CLOCK.search(c.source) for c in nb.cells if c.cell_type == "code")}


# ── the checks (pure: a report from the page against the stored lesson) ────────────────
def lesson_problems(report: dict, stored: dict) -> list[str]:
    """Everything wrong with one lesson's run. ``report`` is what ``REPORT_JS`` and the explorer
    probe found on the page; ``stored`` is ``expected(nb)`` of the lesson as shipped."""
    problems = []
    live = [c for c in report["cells"] if c["type"] == "code"]
    if len(live) != len(stored["cells"]):
        return [f"the page shows {len(live)} code cells, the lesson has {len(stored['cells'])}"]
    for n, (cell, want) in enumerate(zip(live, stored["cells"])):
        where = f"code cell {n + 1}"
        raises = "raises-exception" in want["tags"]
        if cell["errors"] and not raises:
            problems.append(f"{where} shows an error: {cell['errors'][0]}")
        if raises and not cell["errors"]:
            problems.append(f"{where} is tagged raises-exception but shows no error")
        if not want["empty"] and cell["executionCount"] is None:
            problems.append(f"{where} did not run")
        if cell["imageOutputs"] != want["images"] or cell["imagesShown"] != want["images"]:
            problems.append(f"{where} displays {cell['imagesShown']} of {cell['imageOutputs']} figures, "
                            f"the stored lesson has {want['images']}")
        if "solution" in want["tags"] and not (cell["inputHidden"] and cell["inputHiddenBefore"]):
            problems.append(f"{where} is a solution but its source is not collapsed")
    for k, ex in enumerate(report.get("explorers", [])):
        if not ex.get("moved"):
            problems.append(f"explorer {k + 1}: no slider could be moved ({ex.get('why', 'no slider')})")
        elif not (ex["pictureChanged"] and ex["textChanged"]):
            problems.append(f"explorer {k + 1}: after moving '{ex['slider']}' the picture changed: "
                            f"{ex['pictureChanged']}, the printed size changed: {ex['textChanged']}")
    want_explorers = sum(c["explorers"] for c in stored["cells"])
    if len(report.get("explorers", [])) != want_explorers:
        problems.append(f"the page shows {len(report.get('explorers', []))} explorers, the lesson has {want_explorers}")
    if report.get("newsToast"):
        problems.append("the 'official Jupyter news' pop-up is showing")
    if not report.get("fontLoaded"):
        problems.append(f"the course's Chinese font ({CJK_FONT}) was not loaded")
    return problems
