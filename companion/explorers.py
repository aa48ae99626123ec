"""The explorers of lessons 05 and 07: sliders for a convolution's (or a max pooling's)
arguments; each move redraws the sliding window and prints the output size that the rules of
``companion.shapes`` give next to the shape torch returns, or torch's refusal in one line.

An explorer is displayed as one output that carries three forms: the live explorer as HTML
with its script (``companion/explorer.js``: the same script runs in JupyterLab and on the
course website, with no kernel; torch's answer for every setting the sliders reach is computed
by torch when the explorer is displayed and stored with it), the picture of its first values as
a PNG, and the printed report as plain text (nbval compares it; it has no addresses or timings).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import itertools
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate
from .diagrams import draw_sliding_window, output_size_or_reason

__all__ = ["CONV_LIMITS", "POOL_LIMITS", "MARK", "conv_report", "pool_report", "torch_results", "Explorer",
           "conv_explorer", "pool_explorer"]

#: an explorer's CSS class, and the key its output carries in its metadata (the browser test finds it so)
MARK = "course-explorer"
#: the sliders' ranges, (smallest, largest), small enough for a readable picture
CONV_LIMITS = {"size": (3, 12), "kernel_size": (1, 5), "stride": (1, 4), "padding": (0, 3), "dilation": (1, 3)}
#: the pool stride reaches the largest kernel: its default is the kernel, so every kernel on the
#: slider comes with a default stride on the slider too
POOL_LIMITS = {"size": (3, 12), "kernel_size": (1, 5), "stride": (1, 5), "padding": (0, 2), "dilation": (1, 3)}


def _torch_shape(call: Callable[[], torch.Tensor]) -> str:
    """The shape ``call()`` returns, or torch's error in one line."""
    try:
        with torch.no_grad():
            return str(tuple(call().shape))
    except RuntimeError as exc:
        lines = str(exc).strip().splitlines()
        return f"拒绝 — {type(exc).__name__}: {lines[0] if lines else ''}"


def _formula(size: int, kernel_size: int, stride: int, padding: int, dilation: int, ceil: bool,
             pool: bool = False) -> str:
    num = size + 2 * padding - dilation * (kernel_size - 1) - 1
    left, right = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    head = f"{left}({size} + 2·{padding} − {dilation}·({kernel_size}−1) − 1)/{stride}{right} + 1"
    if pool and 2 * padding > kernel_size:
        return f"{head}：padding={padding} 超过了 kernel_size={kernel_size} 的一半，池化不允许"
    if num < 0:
        span = dilation * (kernel_size - 1) + 1
        return f"{head}：分子 {num} < 0，核的跨度 {span} 大于填充后的边长 {size + 2 * padding}"
    steps = -(-num // stride) if ceil else num // stride
    text = f"{head} = {left}{num}/{stride}{right} + 1 = {steps + 1}"
    if num % stride:
        text += "（除不尽，向上取整）" if ceil else "（除不尽，向下取整）"
    return text


def _size_line(size: int, kernel_size: int, stride: int, padding: int, dilation: int, pool: bool,
               ceil_mode: bool) -> str:
    out, reason = output_size_or_reason(size, kernel_size, stride, padding, dilation, pool, ceil_mode)
    return str(out) if out is not None else f"拒绝 — ValueError: {reason}"


def _disagreement(ours: str, theirs: str) -> list[str]:
    """A warning line when companion and torch do not say the same (none when they do)."""
    same = theirs.startswith("拒绝") if ours.startswith("拒绝") else theirs == f"(1, 1, {ours}, {ours})"
    return [] if same else ["注意：companion 与 torch 的结论不一致"]


def conv_report(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> str:
    """Four lines: the layer, the formula worked out, ``companion.conv_output_size`` and the
    shape ``nn.Conv2d`` returns on a 1×1×size×size input (or each one's refusal, in one line);
    a fifth line if the two disagree."""
    ours = _size_line(size, kernel_size, stride, padding, dilation, False, False)
    conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation)
    theirs = _torch_shape(lambda: conv(torch.zeros(1, 1, size, size)))
    return "\n".join([
        f"nn.Conv2d(1, 1, kernel_size={kernel_size}, stride={stride}, padding={padding}, dilation={dilation})，"
        f"输入 1×1×{size}×{size}",
        "公式：" + _formula(size, kernel_size, stride, padding, dilation, False),
        f"companion.conv_output_size → {ours}",
        f"nn.Conv2d 的输出形状      → {theirs}",
        *_disagreement(ours, theirs),
    ])


def pool_report(size: int, kernel_size: int, stride: int | None = None, padding: int = 0, dilation: int = 1,
                ceil_mode: bool = False) -> str:
    """Four or five lines: the call, the formula worked out, ``companion.pool_output_size``
    and the shape ``F.max_pool2d`` returns on a 1×1×size×size input (or each one's refusal).
    With ``ceil_mode`` a line says when torch drops a last window that would start in the
    right padding, and another if companion and torch disagree."""
    stride = kernel_size if stride is None else stride
    ours = _size_line(size, kernel_size, stride, padding, dilation, True, ceil_mode)
    theirs = _torch_shape(lambda: F.max_pool2d(torch.zeros(1, 1, size, size), kernel_size, stride, padding, dilation,
                                               ceil_mode=ceil_mode))
    lines = [
        f"F.max_pool2d(x, kernel_size={kernel_size}, stride={stride}, padding={padding}, dilation={dilation}, "
        f"ceil_mode={ceil_mode})，输入 1×1×{size}×{size}",
        "公式：" + _formula(size, kernel_size, stride, padding, dilation, ceil_mode, pool=True),
    ]
    num = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if ceil_mode and num >= 0 and 2 * padding <= kernel_size and ours.isdigit() and int(ours) == -(-num // stride):
        lines.append(f"最后一个窗口会从右侧的填充里开始，torch 不要它：{int(ours) + 1} − 1 = {ours}")
    lines += [f"companion.pool_output_size → {ours}", f"F.max_pool2d 的输出形状     → {theirs}",
              *_disagreement(ours, theirs)]
    return "\n".join(lines)


def _png(fig, dpi: int) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def _settings(kind: str) -> list[dict[str, Any]]:
    """Every setting the sliders (and the check box) of a ``kind`` explorer reach."""
    limits = POOL_LIMITS if kind == "pool" else CONV_LIMITS
    ranges = [range(low, high + 1) for low, high in limits.values()]
    combos = [dict(zip(limits, values)) for values in itertools.product(*ranges)]
    return [{**c, "ceil_mode": ceil} for c in combos for ceil in (False, True)] if kind == "pool" else combos


def _key(kind: str, v: dict[str, Any]) -> str:
    """A setting's key in ``torch_results`` (``settingKey`` in explorer.js)."""
    key = ",".join(str(v[name]) for name in ("size", "kernel_size", "stride", "padding", "dilation"))
    return f"{key},{int(v['ceil_mode'])}" if kind == "pool" else key


def _torch_answer(kind: str, v: dict[str, Any]) -> str:
    x = torch.zeros(1, 1, v["size"], v["size"])
    if kind == "pool":
        return _torch_shape(lambda: F.max_pool2d(x, v["kernel_size"], v["stride"], v["padding"], v["dilation"],
                                                 ceil_mode=v["ceil_mode"]))
    w = torch.zeros(1, 1, v["kernel_size"], v["kernel_size"])
    return _torch_shape(lambda: F.conv2d(x, w, None, v["stride"], v["padding"], v["dilation"]))


@functools.lru_cache(maxsize=2)
def torch_results(kind: str) -> dict[str, Any]:
    """torch's answer for every setting a ``kind`` explorer's sliders reach: the shape that
    ``nn.Conv2d`` (``"conv"``) or ``F.max_pool2d`` (``"pool"``) returns on a 1×1×size×size
    input, or its refusal in one line, as the report prints it. ``{"results": [distinct
    answers], "index": {setting key: position in results}}``; the page looks each move up in it."""
    if kind not in ("conv", "pool"):
        raise ValueError(f"kind={kind!r} must be 'conv' or 'pool'")
    results: list[str] = []
    index: dict[str, int] = {}
    position: dict[str, int] = {}
    for v in _settings(kind):
        answer = _torch_answer(kind, v)
        if answer not in position:
            position[answer] = len(results)
            results.append(answer)
        index[_key(kind, v)] = position[answer]
    return {"results": results, "index": index}


def _script() -> str:
    return resources.files("companion").joinpath("explorer.js").read_text(encoding="utf-8")


class Explorer:
    """A sliding-window explorer: sliders (and, for pooling, a check box) whose every move
    redraws the picture and reprints the report in the page (``companion/explorer.js``, the
    same script on the course website), with torch's answer for every setting computed here,
    by torch, when the explorer is displayed. ``values`` holds the first settings and
    ``report`` their printed report."""

    def __init__(self, kind: str, values: dict[str, Any], dpi: int = 80) -> None:
        self.kind, self.values, self.dpi = kind, dict(values), dpi
        self.report = pool_report(**self.values) if kind == "pool" else conv_report(**self.values)

    def _picture(self) -> bytes:
        return _png(draw_sliding_window(**self.values, pool=self.kind == "pool", note=self.report), self.dpi)

    def html(self, png: str) -> str:
        """The box, its stored picture ``png`` (base64) and report, and the script that brings it to life."""
        limits = POOL_LIMITS if self.kind == "pool" else CONV_LIMITS

        def attr(value: Any) -> str:
            return html.escape(json.dumps(value, ensure_ascii=False), quote=True)

        # the picture in lines of 76 characters (a data URL's base64 may hold whitespace): no run of
        # text without a space is long, which keeps regular expressions over the output (nbval's
        # sanitizers) linear
        png = "\n".join(png[i : i + 76] for i in range(0, len(png), 76))

        return (f'<div class="{MARK}" data-kind="{self.kind}" data-values="{attr(self.values)}" '
                f'data-limits="{attr(limits)}" data-torch="{attr(torch_results(self.kind))}">'
                f'<img alt="{html.escape(self.report.splitlines()[0])}" src="data:image/png;base64,{png}">'
                f'<pre class="{MARK}-report">{html.escape(self.report)}</pre></div>\n'
                f"<script>\n{_script()}</script>\n")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        png = base64.b64encode(self._picture()).decode("ascii")
        return {"text/html": self.html(png), "image/png": png, "text/plain": self.report}, {MARK: True}


def _checked(values: dict[str, int], limits: dict[str, tuple[int, int]]) -> dict[str, int]:
    for name, value in values.items():
        low, high = limits[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name}={value!r} must be an integer from {low} to {high}")
    return values


def conv_explorer(size: int = 8, kernel_size: int = 3, stride: int = 1, padding: int = 0,
                  dilation: int = 1) -> Explorer:
    """Sliders for ``nn.Conv2d``'s size, kernel, stride, padding and dilation (within
    ``CONV_LIMITS``; a value outside is a ``ValueError``)."""
    return Explorer("conv", _checked({"size": size, "kernel_size": kernel_size, "stride": stride,
                                      "padding": padding, "dilation": dilation}, CONV_LIMITS))


def pool_explorer(size: int = 7, kernel_size: int = 2, stride: int | None = None, padding: int = 0,
                  dilation: int = 1, ceil_mode: bool = False) -> Explorer:
    """Sliders for ``F.max_pool2d``'s size, kernel, stride (default: the kernel), padding and
    dilation (within ``POOL_LIMITS``) and a check box for ``ceil_mode``."""
    _validate.boolean("ceil_mode", ceil_mode)
    # kernel_size is checked before the stride, and its default (the kernel) is on the slider
    # for every kernel that is, so an error names only what the caller passed
    values = _checked({"size": size, "kernel_size": kernel_size, "stride": kernel_size if stride is None else stride,
                       "padding": padding, "dilation": dilation}, POOL_LIMITS)
    return Explorer("pool", {**values, "ceil_mode": ceil_mode})
