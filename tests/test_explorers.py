import base64
import html
import itertools
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from companion import explorers
from companion.diagrams import output_size_or_reason

pytestmark = pytest.mark.usefixtures("figures")


def sizes(report):
    """(companion's answer, torch's answer) from a report: a side length / a shape, or 'refused'."""
    lines = report.splitlines()
    ours = next(ln for ln in lines if ln.startswith("companion.")).split("→ ", 1)[1]
    theirs = next(ln for ln in lines if "的输出形状" in ln).split("→ ", 1)[1]
    return ours, theirs


def agree(ours, theirs):
    if ours.startswith("拒绝"):
        return theirs.startswith("拒绝 — RuntimeError")
    return theirs == f"(1, 1, {ours}, {ours})"


def test_conv_report_works_the_formula_out_and_shows_the_floor():
    report = explorers.conv_report(8, 3, stride=2, padding=1)
    assert report.splitlines() == [
        "nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=1, dilation=1)，输入 1×1×8×8",
        "公式：⌊(8 + 2·1 − 1·(3−1) − 1)/2⌋ + 1 = ⌊7/2⌋ + 1 = 4（除不尽，向下取整）",
        "companion.conv_output_size → 4",
        "nn.Conv2d 的输出形状      → (1, 1, 4, 4)",
    ]


def test_a_refusal_is_one_line_from_each_side():
    lines = explorers.conv_report(3, 5).splitlines()
    assert len(lines) == 4 and "分子 -2 < 0" in lines[1]
    assert lines[2].startswith("companion.conv_output_size → 拒绝 — ValueError: kernel_size=5")
    assert lines[3].startswith("nn.Conv2d 的输出形状      → 拒绝 — RuntimeError: Calculated padded input size")


def test_pool_report_ceil_mode_and_the_dropped_last_window():
    assert sizes(explorers.pool_report(7, 2)) == ("3", "(1, 1, 3, 3)")
    report = explorers.pool_report(5, 2, 2, 1, ceil_mode=True)
    assert "⌈5/2⌉ + 1 = 4（除不尽，向上取整）" in report and "torch 不要它：4 − 1 = 3" in report
    assert sizes(report) == ("3", "(1, 1, 3, 3)")
    report = explorers.pool_report(6, 2, 2, 2)
    assert "超过了 kernel_size=2 的一半" in report and all(s.startswith("拒绝") for s in sizes(report))


def test_companion_agrees_with_torch_everywhere_the_conv_sliders_reach():
    ranges = [range(lo, hi + 1) for lo, hi in explorers.CONV_LIMITS.values()]
    for n, k, s, p, d in itertools.product(*ranges):  # the report's two sources, fast
        ours, _ = output_size_or_reason(n, k, s, p, d)
        try:
            theirs = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
        except RuntimeError:
            theirs = None
        assert ours == (None if theirs is None else theirs.shape[-1]), (n, k, s, p, d)
    for n, k, s, p, d in random.Random(0).sample(list(itertools.product(*ranges)), 60):  # the report itself
        assert agree(*sizes(explorers.conv_report(n, k, s, p, d)))


def _pool_cases(overhanging: bool):
    """The pool sliders' combinations; ``overhanging``: only those whose window is longer than
    the padded input (companion refuses them all; with ceil_mode torch keeps one window)."""
    ranges = [range(lo, hi + 1) for lo, hi in explorers.POOL_LIMITS.values()]
    for (n, k, s, p, d), ceil in itertools.product(itertools.product(*ranges), (False, True)):
        if (d * (k - 1) + 1 > n + 2 * p and 2 * p <= k and ceil) == overhanging:
            yield n, k, s, p, d, ceil


def test_companion_agrees_with_torch_everywhere_the_pool_sliders_reach():
    for case in _pool_cases(overhanging=False):
        assert agree(*sizes(explorers.pool_report(*case))), case


def test_companion_agrees_with_torch_on_overhanging_ceil_mode_windows():
    cases = list(_pool_cases(overhanging=True))
    assert cases and "不一致" not in explorers.pool_report(*cases[0])
    assert all(agree(*sizes(explorers.pool_report(*case))) for case in cases)


def test_the_displayed_bundle_carries_the_page_explorer_a_picture_and_the_text():
    ex = explorers.conv_explorer(size=8, kernel_size=3, stride=2, padding=1)
    bundle, metadata = ex._repr_mimebundle_()
    assert metadata == {explorers.MARK: True}
    assert bundle["text/plain"] == ex.report == explorers.conv_report(8, 3, 2, 1)
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"
    page = bundle["text/html"]
    box = re.search(r'<div class="course-explorer" data-kind="conv" data-values="([^"]*)" data-limits="([^"]*)" '
                    r'data-torch="([^"]*)">', page)
    assert box, page[:300]
    values, limits, torch_answers = (json.loads(html.unescape(g)) for g in box.groups())
    assert values == ex.values and limits == {k: list(v) for k, v in explorers.CONV_LIMITS.items()}
    assert torch_answers == explorers.torch_results("conv")
    src = re.search(r'src="data:image/png;base64,([^"]*)"', page).group(1)  # the picture where no script runs
    assert src.replace("\n", "") == bundle["image/png"] and max(map(len, src.split("\n"))) <= 76
    assert max(len(run) for run in re.split(r"\s", page)) < 200  # nbval's sanitizers stay linear on it
    assert f"<pre class=\"course-explorer-report\">{html.escape(ex.report)}</pre>" in page
    script = (Path(explorers.__file__).parent / "explorer.js").read_text(encoding="utf-8")
    assert page.endswith(f"<script>\n{script}</script>\n")  # the script the course website runs too


@pytest.mark.parametrize("kind", ["conv", "pool"])
def test_torch_answers_cover_every_setting_and_agree_with_companion(kind):
    answers = explorers.torch_results(kind)
    settings = explorers._settings(kind)
    assert len(answers["index"]) == len(settings) == (2400 if kind == "conv" else 4500)
    assert len(set(answers["results"])) == len(answers["results"])  # each answer once
    pool = kind == "pool"
    for v in settings:
        theirs = answers["results"][answers["index"][explorers._key(kind, v)]]
        ours = explorers._size_line(v["size"], v["kernel_size"], v["stride"], v["padding"], v["dilation"], pool,
                                    v.get("ceil_mode", False))
        assert explorers._disagreement(ours, theirs) == [], (v, ours, theirs)
    for v in random.Random(0).sample(settings, 40):  # the report's own torch line is the same answer
        report = explorers.pool_report(**v) if pool else explorers.conv_report(**v)
        assert sizes(report)[1] == answers["results"][answers["index"][explorers._key(kind, v)]]
    with pytest.raises(ValueError, match="kind='dense' must be 'conv' or 'pool'"):
        explorers.torch_results("dense")


def test_the_page_script_prints_the_report_companion_prints_on_every_setting(tmp_path):
    """explorer.js's report (with torch's answers) is companion's, line for line, on all 6,900 settings."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; make test-site makes the same comparison in Chromium")
    cases = {}
    for kind in ("conv", "pool"):
        settings = explorers._settings(kind)
        make = explorers.pool_report if kind == "pool" else explorers.conv_report
        cases[kind] = {"settings": settings, "want": [make(**v) for v in settings],
                       "torch": explorers.torch_results(kind)}
    (tmp_path / "cases.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "check.js").write_text(
        'global.window = {}; global.document = {currentScript: null, readyState: "complete", '
        "querySelectorAll: () => []};\n"
        "require(process.argv[2]); const cases = require(process.argv[3]); const bad = [];\n"
        'for (const kind of ["conv", "pool"]) { const c = cases[kind]; c.settings.forEach((v, i) => {\n'
        '  const got = window.courseExplorer.report(kind, v, c.torch).join("\\n");\n'
        "  if (got !== c.want[i]) bad.push([kind, v, got, c.want[i]]); }); }\n"
        "console.log(JSON.stringify(bad.slice(0, 3))); process.exit(bad.length ? 1 : 0);\n", encoding="utf-8")
    script = Path(explorers.__file__).parent / "explorer.js"
    proc = subprocess.run([node, str(tmp_path / "check.js"), str(script), str(tmp_path / "cases.json")],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pool_explorer_defaults_the_stride_to_the_kernel_and_shows_ceil_mode():
    ex = explorers.pool_explorer(size=7, kernel_size=3)
    assert ex.values == {"size": 7, "kernel_size": 3, "stride": 3, "padding": 0, "dilation": 1, "ceil_mode": False}
    ex = explorers.pool_explorer(size=7, kernel_size=3, ceil_mode=True)
    assert sizes(ex.report) == ("3", "(1, 1, 3, 3)") and "⌈4/3⌉" in ex.report
    assert 'data-kind="pool"' in ex._repr_mimebundle_()[0]["text/html"]


@pytest.mark.parametrize("make, kwargs, match", [
    (explorers.conv_explorer, {"size": 13}, "size=13 must be an integer from 3 to 12"),
    (explorers.conv_explorer, {"stride": 0}, "stride=0"),
    (explorers.conv_explorer, {"padding": 1.0}, "padding=1.0"),
    (explorers.pool_explorer, {"padding": 3}, "padding=3"),
    (explorers.pool_explorer, {"ceil_mode": 1}, "ceil_mode=1"),
])
def test_explorers_refuse_values_their_sliders_cannot_hold(make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


def test_a_static_render_shows_the_picture_where_the_script_cannot_run():
    from nbconvert import HTMLExporter
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    ex = explorers.conv_explorer()
    data, metadata = ex._repr_mimebundle_()
    cell = new_code_cell("explorers.conv_explorer()",
                         outputs=[new_output("execute_result", data=data, metadata=metadata, execution_count=1)])
    html, _ = HTMLExporter().from_notebook_node(new_notebook(cells=[cell]))  # no widget state, as stored
    body = html.split("<body", 1)[1]
    assert body.count('src="data:image/png;base64,') == 1 and "jupyter-widgets" not in body


def test_every_pool_kernel_on_the_slider_works_with_the_default_stride():
    # the stride defaults to the kernel (as in torch): any kernel in range must come with a stride
    # in range, and an error names only an argument the caller passed
    lo, hi = explorers.POOL_LIMITS["kernel_size"]
    for k in range(lo, hi + 1):
        e = explorers.pool_explorer(kernel_size=k)
        assert e.values["stride"] == k and e.values["kernel_size"] == k
    with pytest.raises(ValueError, match="kernel_size=9 must be an integer") as err:
        explorers.pool_explorer(kernel_size=9)
    assert "stride" not in str(err.value)
    with pytest.raises(TypeError, match="ceil_mode"):
        explorers.pool_explorer(ceil_mode="no")
