"""Checking a function a learner wrote (a write-the-code exercise) against torch's own operation.

The learner's function runs on every case an exercise names (random inputs, odd sizes among
them) and its result is compared with torch's. The verdict names the first input that broke
it: an exception, a wrong shape, wrong values, or an input changed in place. A function that
calls the torch operation it was asked to write is not accepted, whatever it returns: the
exercise asks for the computation itself, and the message says so.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["describe", "run_cases", "calls_forbidden"]


def describe(args: tuple) -> str:
    """A short Chinese description of a case's arguments: tensors by shape, the rest by value."""
    parts = []
    for a in args:
        if isinstance(a, torch.Tensor):
            parts.append(f"形状 {tuple(a.shape)} 的张量")
        elif isinstance(a, torch.nn.Module):  # a model: its class, not its whole printout
            parts.append(f"一个 {type(a).__name__}")
        else:
            parts.append(repr(a))
    return "（" + "，".join(parts) + "）"


def _clone(args: tuple) -> tuple:
    return tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)


def _matches(called: Any, forbidden: dict[str, Any]) -> str | None:
    for label, target in forbidden.items():
        if called is target:
            return label
        code = getattr(target, "__code__", None)
        if code is not None and called is code:
            return label
        owner = getattr(called, "__self__", None)  # a bound tensor method, e.g. x.log_softmax
        if isinstance(owner, torch.Tensor) and getattr(type(owner), getattr(called, "__name__", ""), None) is target:
            return label
    return None


def calls_forbidden(function: Callable, args: tuple, forbidden: dict[str, Any]) -> tuple[str | None, Any]:
    """Run ``function(*args)`` watching every call it makes; return ``(label, result)`` where
    ``label`` names the first forbidden operation it called (None if it called none).
    Exceptions from ``function`` propagate."""
    if not forbidden:
        return None, function(*args)
    seen: list[str] = []

    def profile(frame: types.FrameType, event: str, arg: Any) -> None:
        if seen:
            return
        called = frame.f_code if event == "call" else arg if event == "c_call" else None
        if called is not None:
            label = _matches(called, forbidden)
            if label:
                seen.append(label)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = function(*args)
    finally:
        sys.setprofile(previous)
    return (seen[0] if seen else None), result


def run_cases(function: Any, reference: Callable, cases: list[tuple[str, tuple]],
              forbidden: dict[str, Any] | None = None, tolerance: float = 1e-5) -> tuple[bool, str]:
    """Run ``function`` on every case and compare it with ``reference``. Returns ``(right, why)``:
    ``why`` names the input that broke it (Chinese, one sentence), or what was checked."""
    if not cases:
        raise ValueError("a function exercise needs at least one case to run the learner's function on")
    if not callable(function):
        return False, f"答案应是一个函数（def 定义的），收到的是 {type(function).__name__}。"
    for description, args in cases:
        given = _clone(args)
        try:
            label, result = calls_forbidden(function, given, forbidden or {})
        except Exception as exc:  # noqa: BLE001 - any error of the learner's code is a verdict
            return False, f"在输入 {description} 上抛出了 {type(exc).__name__}: {exc}"
        if label:
            return False, (f"你的函数调用了 torch 自己的 {label}。这道题要你亲手写出这步运算"
                           "（用索引、切片、加减乘除、sum / amax / exp 等），而不是调用它。")
        changed = [i for i, (a, b) in enumerate(zip(args, given))
                   if isinstance(a, torch.Tensor) and not torch.equal(a, b)]
        if changed:
            return False, f"在输入 {description} 上，你的函数就地改动了第 {changed[0] + 1} 个参数；请返回新的张量。"
        if result is None:
            return False, (f"在输入 {description} 上，你的函数返回了 None：函数体还没写完，"
                           "或者少了 return。")
        if not isinstance(result, torch.Tensor):
            return False, f"在输入 {description} 上，返回值是 {type(result).__name__}，应是一个张量。"
        result = result.detach()  # a result that carries a graph is compared by its values only
        expected = reference(*_clone(args)).detach()
        if tuple(result.shape) != tuple(expected.shape):
            return False, f"在输入 {description} 上，输出形状是 {tuple(result.shape)}，应为 {tuple(expected.shape)}。"
        if not result.dtype.is_floating_point and expected.dtype.is_floating_point:
            result = result.to(expected.dtype)
        if result.dtype != expected.dtype:
            result = result.to(expected.dtype)
        gap = (result - expected).abs()
        finite = torch.isfinite(expected)
        bad_inf = bool((~finite & (result != expected)).any())
        worst = float(gap[finite].max()) if bool(finite.any()) else 0.0
        scale = 1.0 + (float(expected[finite].abs().max()) if bool(finite.any()) else 0.0)
        if bad_inf or worst > tolerance * scale or bool(torch.isnan(result[finite]).any()):
            return False, f"在输入 {description} 上，输出与 torch 的结果不一致（最大差 {worst:.2g}）。"
    return True, f"在 {len(cases)} 组随机输入上（包括奇数尺寸）与 torch 的结果一致。"
