"""``make test-site``: the built site (``build/site/``, ``make site``) opened page by page in headless
Chromium, as a learner without Python would see it.

The folder is served by a plain file server on a free localhost port; Chromium (Debian's
``chromium`` and ``chromium-driver``, driven by selenium with ``SE_OFFLINE=true``) resolves no
other host. Each page fails on: a console error not in ``site_checks.CONSOLE_ALLOWED``, a request
that leaves the site, a stored figure missing or not decoded, a solution not collapsed, an explorer
rendered more than once or not answering its slider (picture and size), a size that disagrees
with ``companion``, the Chinese font not loaded. Each explorer's whole report (the formula,
companion's size and torch's answer stored with the page) is compared with companion's report on
every slider setting; search for 池化 must find lesson 07. A screenshot of
each page goes to ``build/site-shots/``. Before the pages, a copy of an explorer's page with
faults put in must fail in each of those ways, so a green run means the checks can see them.
"""

from __future__ import annotations

import functools
import http.server
import itertools
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from tools import site_checks
from tools.browser import missing_browser, start_browser
from tools.notebooks import ROOT, read_notebook, shown
from tools.site_checks import EXPLORER, INJECTED_MARK

SITE = ROOT / "build" / "site"
SHOTS = ROOT / "build" / "site-shots"
SELF_CHECK = "selfcheck-page.html"

# ── the page side ─────────────────────────────────────────────────────────────────────────
REPORT_JS = """
const done = arguments[arguments.length - 1], family = arguments[0];
(async () => {
  await document.fonts.ready;
  const imgs = [...document.querySelectorAll('img')];
  await Promise.race([Promise.allSettled(imgs.map(i => i.decode())), new Promise(r => setTimeout(r, 10000))]);
  const boxes = [...document.querySelectorAll('.course-explorer')];
  // Chinese text whose font list has no CJK font of the course's: where no system font has the glyphs, boxes
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), bare = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!/[\u4e00-\u9fff]/.test(n.textContent) || !el || !el.getClientRects().length) continue;
    const style = getComputedStyle(el), fonts = style.fontFamily;
    if (!fonts.includes(family) && !fonts.includes('Course Mono CJK')) {
      bare.push(`${el.tagName}: ${n.textContent.trim().slice(0, 20)} (${fonts})`);
      continue;
    }
    // a CJK glyph is one em wide; the box a font without it draws is narrower
    const run = /[\u4e00-\u9fff]{2,}/.exec(n.textContent);
    if (!run || style.letterSpacing !== 'normal') continue;
    const range = document.createRange();
    range.setStart(n, run.index); range.setEnd(n, run.index + run[0].length);
    const width = [...range.getClientRects()].reduce((sum, r) => sum + r.width, 0);  // over line breaks too
    const em = width / (run[0].length * parseFloat(style.fontSize));
    if (em > 0 && em < 0.85) bare.push(`${el.tagName}: ${run[0].slice(0, 20)} drawn ${em.toFixed(2)} em a glyph`);
  }
  done({
    images: imgs.map(i => ({src: i.getAttribute('src') || '', decoded: i.complete && i.naturalWidth > 0,
                            output: !!i.closest('.cell_output')})),
    explorers: boxes.length,
    widgetsTwice: boxes.some(b => b.querySelectorAll('canvas').length !== 1
                                  || b.querySelectorAll('.course-explorer-controls').length !== 1),
    collapsed: [...document.querySelectorAll('details.hide.above-input')].filter(d => !d.open).length,
    withoutCjkFont: bare.slice(0, 5),
    fontLoaded: [...document.fonts].some(f => f.family.replace(/["']/g, '') === family && f.status === 'loaded'),
  });
})().catch(err => done({error: String(err)}));
"""
STATE_JS = """
const box = document.querySelectorAll('.course-explorer')[arguments[0]];
box.scrollIntoView({block: 'center'});
const canvas = box.querySelector('canvas'), text = box.querySelector('.course-explorer-report');
return {kind: box.dataset.kind, picture: canvas ? canvas.toDataURL() : '', text: text ? text.textContent : '',
        size: box.dataset.size, values: Object.fromEntries([...box.querySelectorAll('input')].map(
          i => [i.name, i.type === 'checkbox' ? i.checked : Number(i.value)]))};
"""
REPORTS_JS = """
const ex = window.courseExplorer, box = document.querySelector(`.course-explorer[data-kind="${arguments[0]}"]`);
const torch = box && box.dataset.torch ? JSON.parse(box.dataset.torch) : null;
return ex ? arguments[1].map(v => ex.report(arguments[0], v, torch)) : null;
"""
SEARCH_JS = """
const links = [...document.querySelectorAll('#search-results a')].map(a => a.getAttribute('href') || '');
const summary = document.querySelector('#search-results .search-summary, #search-results p');
return {links, done: !!(summary && summary.textContent.trim()) || links.length > 0};
"""
#: faults for the self-check: a missing figure, a console error, a request to another host, Chinese
#: text without the course's font, an explorer shown twice and a formula that disagrees with companion
FAULTS = f"""
<img alt="missing" class="selfcheck" src="_images/selfcheck-missing-figure.png">
<img alt="outside" class="selfcheck" src="http://selfcheck.invalid/figure.png">
<p style="font-family: serif">自检：一行没有课程中文字体的字</p>
<script>
console.error("{INJECTED_MARK}");
document.addEventListener("DOMContentLoaded", () => {{
  const box = document.querySelector(".{EXPLORER}");
  if (box) box.after(box.cloneNode(true));
  window.courseExplorer.report = (kind, v) => ["no formula here"];
}});
</script>
"""


# ── companion's side ──────────────────────────────────────────────────────────────────────
def settings(kind: str) -> list[dict]:
    """Every setting the explorer's sliders (and check box) can reach."""
    from companion.explorers import CONV_LIMITS, POOL_LIMITS

    limits = POOL_LIMITS if kind == "pool" else CONV_LIMITS
    names = list(limits)
    combos = [dict(zip(names, values)) for values in itertools.product(*(range(lo, hi + 1) for lo, hi in
                                                                          limits.values()))]
    if kind == "pool":
        combos = [{**c, "ceil_mode": ceil} for c in combos for ceil in (False, True)]
    return combos


def companion_lines(kind: str, values: dict) -> list[str]:
    """companion's report for ``values``, torch's answer included, line by line."""
    from companion import explorers

    report = explorers.pool_report(**values) if kind == "pool" else explorers.conv_report(**values)
    return report.splitlines()


def companion_size(kind: str, values: dict) -> str:
    from companion.diagrams import output_size_or_reason

    v = dict(values)
    ceil = bool(v.pop("ceil_mode", False))
    out, _ = output_size_or_reason(v["size"], v["kernel_size"], v["stride"], v["padding"], v["dilation"],
                                   kind == "pool", ceil)
    return str(out) if out is not None else "null"


@functools.cache
def _expected_reports(kind: str) -> list[list[str]]:
    return [companion_lines(kind, v) for v in settings(kind)]


def disagreements(driver, kind: str) -> list[str]:
    """The slider settings on which the page's report (formula, size) is not companion's."""
    combos = settings(kind)
    pages = driver.execute_script(REPORTS_JS, kind, combos)
    if pages is None:
        return ["the page has no courseExplorer"]
    found = []
    for values, page, want in zip(combos, pages, _expected_reports(kind)):
        if page != want:
            found.append(f"{values}: page {page[-2:]!r}, companion {want[-2:]!r}")
    return found


# ── serving and browsing ──────────────────────────────────────────────────────────────────
class _Handler(http.server.SimpleHTTPRequestHandler):
    extra: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = self.extra.get(self.path.split("?")[0].lstrip("/"))
        if body is None:
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def serve(folder: Path, extra: dict[str, bytes]) -> http.server.ThreadingHTTPServer:
    """A plain file server for ``folder`` on a free localhost port (``extra``: pages held in memory)."""
    handler = type("Handler", (_Handler,), {"extra": extra})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def open_browser(profile: Path):
    """``tools.browser.start_browser`` with the console and network logged and no host but this one resolved."""
    return start_browser(profile, ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",),
                         {"browser": "ALL", "performance": "ALL"})


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def move(driver, index: int) -> dict:
    """Press → (← at the end) on explorer ``index``'s first slider; what changed, and the sizes."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    before = driver.execute_script(STATE_JS, index)
    box = driver.find_elements(By.CSS_SELECTOR, f".{EXPLORER}")[index]
    slider = box.find_elements(By.CSS_SELECTOR, "input[type=range]")[0]
    at_end = slider.get_attribute("value") == slider.get_attribute("max")
    slider.send_keys(Keys.ARROW_LEFT if at_end else Keys.ARROW_RIGHT)
    after = driver.execute_script(STATE_JS, index)
    return {"slider": slider.get_attribute("name"), "pictureChanged": after["picture"] != before["picture"],
            "textChanged": after["text"] != before["text"], "size": after["size"],
            "companion": companion_size(after["kind"], after["values"])}


def check_page(driver, base: str, name: str, want: dict | None) -> list[str]:
    """Open one page, check it, leave its screenshot; returns its problems."""
    driver.get_log("browser"), driver.get_log("performance")  # what the previous page left
    driver.get(f"{base}/{name}")
    report = driver.execute_async_script(REPORT_JS, site_checks.CJK_FONT)
    if "error" in report:
        return [f"reading the page failed: {report['error']}"]
    report["moves"] = [move(driver, k) for k in range(report["explorers"])]
    kinds = {driver.execute_script(STATE_JS, k)["kind"] for k in range(report["explorers"])}
    report["disagreements"] = [d for kind in sorted(kinds) for d in disagreements(driver, kind)]
    time.sleep(0.3)
    report["console"] = site_checks.console_errors(driver.get_log("browser"))
    report["outside"] = site_checks.outside_requests(_requests(driver), base)
    SHOTS.mkdir(parents=True, exist_ok=True)
    if not report["explorers"]:
        driver.execute_script("window.scrollTo(0, 0);")
    driver.save_screenshot(str(SHOTS / f"{Path(name).stem}.png"))
    return site_checks.page_problems(report, want)


def search_finds(driver, base: str) -> list[str]:
    """The pages that search for ``SEARCH_TERM`` lists (waits for the search to finish)."""
    from urllib.parse import quote

    driver.get(f"{base}/search.html?q={quote(site_checks.SEARCH_TERM)}")
    deadline, state = time.monotonic() + 30, {"links": [], "done": False}
    while time.monotonic() < deadline:
        state = driver.execute_script(SEARCH_JS)
        if state["done"]:
            break
        time.sleep(0.3)
    driver.save_screenshot(str(SHOTS / "search.png"))
    return state["links"]


def main(argv: list[str]) -> int:
    if argv:
        print(f"test-site: unknown arguments {argv}", file=sys.stderr)
        return 2
    why = missing_browser()
    if why:
        print(f"test-site: {why}", file=sys.stderr)
        return 2
    if not (SITE / "index.html").is_file():
        print(f"test-site: {shown(SITE)}/index.html is missing; run make site first", file=sys.stderr)
        return 2
    started = time.monotonic()
    pages = sorted(p.name for p in SITE.glob("*.html") if p.name not in ("search.html", "genindex.html"))
    wants = {f"{p.stem}.html": site_checks.expected(read_notebook(p)) for p in (ROOT / "notebooks").glob("*.ipynb")}
    probe = next((p for p in pages if EXPLORER in (SITE / p).read_text(encoding="utf-8")), None)
    if probe is None:
        print("test-site: no page has an explorer; the self-check needs one", file=sys.stderr)
        return 1
    faulty = (SITE / probe).read_text(encoding="utf-8").replace("</body>", FAULTS + "</body>", 1).encode("utf-8")
    server = serve(SITE, {SELF_CHECK: faulty})
    base = f"http://127.0.0.1:{server.server_address[1]}"
    failures: list[str] = []
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    with tempfile.TemporaryDirectory(prefix="course-site-") as tmp:
        driver = open_browser(Path(tmp) / "chromium")
        try:
            print(f"test-site: serving {shown(SITE)} on {base}, {len(pages)} pages", flush=True)
            problems = check_page(driver, base, SELF_CHECK, wants.get(probe))
            kinds = {"console error": INJECTED_MARK, "outside": "request outside the site",
                     "figure": "figure not displayed", "twice": "explorers, the lesson has",
                     "formula": "formula disagrees", "boxes": "without the course's CJK font"}
            missed = [k for k, text in kinds.items() if not any(text in p for p in problems)]
            if missed:
                failures.append(f"self-check: the faults put into {probe} were not all reported (missed: "
                                f"{', '.join(missed)}; reported: {problems})")
            print(f"  {'ok  ' if not missed else 'FAIL'} self-check ({len(problems)} faults reported on a copy "
                  f"of {probe})", flush=True)
            for name in pages:
                t = time.monotonic()
                problems = check_page(driver, base, name, wants.get(name))
                failures += [f"{name}: {p}" for p in problems]
                print(f"  {'ok  ' if not problems else 'FAIL'} {name:26s} {time.monotonic() - t:5.1f} s"
                      + ("" if not problems else "  " + "; ".join(problems[:3])), flush=True)
            links = search_finds(driver, base)
            found = any(site_checks.SEARCH_PAGE in link for link in links)
            print(f"  {'ok  ' if found else 'FAIL'} search for {site_checks.SEARCH_TERM}: {len(links)} results",
                  flush=True)
            if not found:
                failures.append(f"search for {site_checks.SEARCH_TERM} does not find {site_checks.SEARCH_PAGE} "
                                f"(results: {links[:5]})")
        finally:
            driver.quit()
            server.shutdown()
    if failures:
        print("test-site: FAILED\n" + "\n".join(f"  - {f}" for f in failures), file=sys.stderr)
        return 1
    print(f"test-site: {len(pages)} pages passed in {time.monotonic() - started:.0f} s (the self-check caught its "
          f"faults); screenshots in {shown(SHOTS)}/")
    return 0
