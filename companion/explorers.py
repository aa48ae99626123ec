"""The explorers of lessons 03 and 05: sliders for a convolution's (or a max pooling's)
arguments; each move redraws the sliding window and prints the output size that
``companion.shapes`` computes next to the shape torch actually returns, or torch's refusal
in one line.

An explorer is displayed as one output that carries three forms: the live widget (JupyterLab),
the picture of its first values as a PNG (a static render, or the stored lesson before it runs)
and the printed sizes as plain text (nbval compares it; it has no addresses or timings in it).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate
from .diagrams import draw_sliding_window, output_size_or_reason

__all__ = ["CONV_LIMITS", "POOL_LIMITS", "MARK", "conv_report", "pool_report", "Explorer", "conv_explorer",
           "pool_explorer"]

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


class Explorer:
    """Sliders (and a check box) whose every change redraws the picture and reprints the
    report. ``draw(**values, note=…)`` returns a figure, ``report(**values)`` the text.
    ``values`` holds the current settings; ``refresh()`` redraws by hand."""

    def __init__(self, controls: dict[str, Any], draw: Callable[..., Any], report: Callable[..., str],
                 dpi: int = 80) -> None:
        import ipywidgets as widgets

        self.controls, self._draw, self._report, self.dpi = controls, draw, report, dpi
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.text = widgets.HTML()
        self.box = widgets.VBox([widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                                 self.image, self.text])
        self.box.add_class(MARK)
        self.report = ""
        for control in controls.values():
            control.observe(self._changed, names="value")
        self.refresh()

    @property
    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def refresh(self) -> None:
        self.report = self._report(**self.values)
        self.image.value = _png(self._draw(**self.values), self.dpi)
        self.text.value = f'<pre class="{MARK}-report">{html.escape(self.report)}</pre>'

    def _changed(self, _change: dict) -> None:
        try:
            self.refresh()
        except Exception as exc:  # a callback's error would otherwise vanish into the kernel's log
            self.text.value = f"<pre>{html.escape(f'{type(exc).__name__}: {exc}')}</pre>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle = self.box._repr_mimebundle_()
        static = _png(self._draw(**self.values, note=self.report), self.dpi)
        bundle["image/png"] = base64.b64encode(static).decode("ascii")
        bundle["text/plain"] = self.report
        return bundle, {MARK: True}


def _sliders(values: dict[str, int], limits: dict[str, tuple[int, int]]) -> dict[str, Any]:
    import ipywidgets as widgets

    controls = {}
    for name, value in values.items():
        low, high = limits[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name}={value!r} must be an integer from {low} to {high}")
        controls[name] = widgets.IntSlider(value=value, min=low, max=high, description=name, continuous_update=False,
                                           style={"description_width": "initial"})
    return controls


def conv_explorer(size: int = 8, kernel_size: int = 3, stride: int = 1, padding: int = 0,
                  dilation: int = 1) -> Explorer:
    """Sliders for ``nn.Conv2d``'s size, kernel, stride, padding and dilation (within
    ``CONV_LIMITS``; a value outside is a ``ValueError``)."""
    controls = _sliders({"size": size, "kernel_size": kernel_size, "stride": stride, "padding": padding,
                         "dilation": dilation}, CONV_LIMITS)
    return Explorer(controls, draw_sliding_window, conv_report)


def pool_explorer(size: int = 7, kernel_size: int = 2, stride: int | None = None, padding: int = 0,
                  dilation: int = 1, ceil_mode: bool = False) -> Explorer:
    """Sliders for ``F.max_pool2d``'s size, kernel, stride (default: the kernel), padding and
    dilation (within ``POOL_LIMITS``) and a check box for ``ceil_mode``."""
    import ipywidgets as widgets

    _validate.boolean("ceil_mode", ceil_mode)
    # kernel_size is checked before the stride, and its default (the kernel) is on the slider
    # for every kernel that is, so an error names only what the caller passed
    controls = _sliders({"size": size, "kernel_size": kernel_size,
                         "stride": kernel_size if stride is None else stride, "padding": padding,
                         "dilation": dilation}, POOL_LIMITS)
    controls["ceil_mode"] = widgets.Checkbox(value=ceil_mode, description="ceil_mode", indent=False)

    def draw(**values: Any):
        return draw_sliding_window(**values, pool=True)

    return Explorer(controls, draw, pool_report)
