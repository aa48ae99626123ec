"""Issue 23, class 7: every bool parameter of companion's public API refuses what is not a bool.

The parameters are found, not listed by hand: every public function, class and method of every
module of companion, and each parameter annotated ``bool`` (or ``bool | None``) or defaulting
to True or False. ``CALLS`` holds one call for each; a bool parameter added without a call
here fails ``test_every_bool_parameter_has_a_call``, so it cannot slip through unchecked.
A refusal is a ``TypeError`` whose message shows the argument and its value (``ceil_mode='no'``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest
import torch

import companion

#: values a bool parameter must refuse (a bool-like number, a str that reads as one, an array)
NOT_BOOLS = ["no", "False", 0, 1, 1.0, np.bool_(True), torch.tensor(True), [True]]


def _public(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if getattr(obj, "__module__", None) != module.__name__:
            continue  # re-exported: counted where it is defined
        if inspect.isclass(obj):
            yield name, obj
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, (classmethod, staticmethod)):
                    member = member.__func__
                if inspect.isfunction(member):
                    yield f"{name}.{attr}", member
        elif inspect.isfunction(obj):
            yield name, obj


def _is_bool(param: inspect.Parameter) -> bool:
    annotation = param.annotation if isinstance(param.annotation, str) else getattr(param.annotation, "__name__", "")
    annotation = re.sub(r"Callable\[.*\]", "", str(annotation))  # a callback's return type is not the parameter's
    return isinstance(param.default, bool) or re.search(r"\bbool\b", annotation) is not None


def bool_parameters() -> set[str]:
    """``module.function(parameter)`` for every bool parameter of the public API."""
    found = set()
    for info in pkgutil.iter_modules(companion.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"companion.{info.name}")
        for name, obj in _public(module):
            try:
                params = inspect.signature(obj).parameters.values()
            except (TypeError, ValueError):
                continue
            found |= {f"{info.name}.{name}({p.name})" for p in params if _is_bool(p)}
    return found


def _digits():
    return torch.rand(4, 1, 28, 28), torch.arange(4)


def _fit(**kwargs):
    from companion.model import make_model
    from companion.train import fit

    x, y = _digits()
    return fit(make_model(), x, y, epochs=0.1, **{"progress": False, **kwargs})


def _report(check_network):
    from companion import doctor

    doctor._network = lambda *a, **k: "not checked in this test"  # no network from a test
    return doctor.report(check_network=check_network)


def _calls(tmp):
    from companion import (
        checkpoint,
        claims,
        device,
        diagrams,
        evaluate,
        experiments,
        explorers,
        files,
        mnist,
        params,
        prepare,
        progress,
        reference,
        shapes,
        viz,
    )
    from companion.claim_checks import HOLDS, Verdict
    from companion.model import check_network, make_model

    cpu = torch.device("cpu")
    verdict = Verdict(HOLDS, "measured")
    claim = claims.Claim("k", "section", "claim", "00_overview", lambda: verdict)
    return {
        "checkpoint.save_checkpoint(overwrite)": lambda b: checkpoint.save_checkpoint(tmp / "m.pt", make_model(),
                                                                                    overwrite=b),
        "claims.Claim(implied)": lambda b: claims.Claim("k", "s", "c", "00_overview", lambda: verdict, implied=b),
        "claims.format_ledger(links)": lambda b: claims.format_ledger([(claim, verdict)], links=b),
        "device.use_bf16(amp)": lambda b: device.use_bf16(cpu, amp=b),
        "device.autocast(enabled)": lambda b: device.autocast(cpu, enabled=b),
        "diagrams.output_size_or_reason(pool)": lambda b: diagrams.output_size_or_reason(6, 2, pool=b),
        "diagrams.output_size_or_reason(ceil_mode)": lambda b: diagrams.output_size_or_reason(6, 2, pool=True,
                                                                                             ceil_mode=b),
        "diagrams.draw_sliding_window(pool)": lambda b: diagrams.draw_sliding_window(6, 2, pool=b),
        "diagrams.draw_sliding_window(ceil_mode)": lambda b: diagrams.draw_sliding_window(6, 2, pool=True, ceil_mode=b),
        "diagrams.GradNode(leaf)": lambda b: diagrams.GradNode("x", 0, (), leaf=b),
        "doctor.report(check_network)": _report,
        "evaluate.prepare_images(channels_last)": lambda b: evaluate.prepare_images(_digits()[0], cpu,
                                                                                    channels_last=b),
        "evaluate.evaluate(normalized)": lambda b: evaluate.evaluate(make_model(), *_digits(), normalized=b),
        "experiments.Variant(relu)": lambda b: experiments.Variant("v", relu=b),
        "experiments.Variant(pooled)": lambda b: experiments.Variant("v", pooled=b),
        "explorers.pool_report(ceil_mode)": lambda b: explorers.pool_report(6, 2, ceil_mode=b),
        "explorers.pool_explorer(ceil_mode)": lambda b: explorers.pool_explorer(ceil_mode=b),
        "files.check_destination(overwrite)": lambda b: files.check_destination(tmp / "new.pt", overwrite=b),
        "files.atomic_write(overwrite)": lambda b: files.atomic_write(tmp / "new.txt", lambda p: p.write_text("x",
                                                                                                              encoding="utf-8"),
                                                                      overwrite=b),
        "mnist.load_digits(verbose)": lambda b: mnist.load_digits("sample", verbose=b),
        "model.check_network(sizes)": lambda b: check_network(make_model(), sizes=b),
        "params.ParamRow(trainable)": lambda b: params.ParamRow("w", (2,), 2, b),
        "prepare.Prepared(inverted)": lambda b: prepare.Prepared(np.eye(28), b, *[np.eye(28)] * 5),
        "prepare.scale_ink(inverted)": lambda b: prepare.scale_ink(np.eye(30, dtype=np.float32), b),
        "params.count_params(trainable_only)": lambda b: params.count_params(make_model(), trainable_only=b),
        "progress.progress_bar(enabled)": lambda b: progress.progress_bar(3, enabled=b),
        "reference.max_pool2d(return_indices)": lambda b: reference.max_pool2d(torch.zeros(1, 1, 4, 4), 2,
                                                                              return_indices=b),
        "shapes.pool_output_size(ceil_mode)": lambda b: shapes.pool_output_size(24, 2, ceil_mode=b),
        "train.fit(progress)": lambda b: _fit(progress=b),
        "train.fit(amp)": lambda b: _fit(amp=b),
        "train.fit(channels_last)": lambda b: _fit(channels_last=b),
        "viz.show_grid(symmetric)": lambda b: viz.show_grid(torch.zeros(2, 3, 3), symmetric=b),
        "viz.show_grid(shared)": lambda b: viz.show_grid(torch.zeros(2, 3, 3), shared=b),
        "viz.show_grid(colorbar)": lambda b: viz.show_grid(torch.zeros(2, 3, 3), shared=True, colorbar=b),
        "viz.show_filters(shared)": lambda b: viz.show_filters(torch.zeros(2, 1, 3, 3), shared=b),
        "viz.show_filters(colorbar)": lambda b: viz.show_filters(torch.zeros(2, 1, 3, 3), shared=True, colorbar=b),
        "viz.show_channel_mask(colorbar)": lambda b: viz.show_channel_mask(torch.ones(2, 3), colorbar=b),
        "viz.show_panels(symmetric)": lambda b: viz.show_panels(torch.zeros(2, 3, 3), symmetric=b),
    }


#: parameters in modules that other parts of issue 23 are rewriting; they do not refuse a
#: non-bool yet. Strict: once one does, its mark must go.
NOT_YET: dict[str, str] = {}


def test_every_bool_parameter_has_a_call(tmp_path):
    found, listed = bool_parameters(), set(_calls(tmp_path))
    assert found - listed == set(), "bool parameters without a call in CALLS: add one"
    assert listed - found == set(), "calls in CALLS for parameters that are not (or no longer) bool"
    assert set(NOT_YET) <= found


def test_the_finder_sees_bools_and_only_bools():
    found = bool_parameters()
    assert {"shapes.pool_output_size(ceil_mode)", "train.fit(amp)", "params.ParamRow(trainable)"} <= found
    assert not {p for p in found if p.startswith("train.fit(callback")}  # returns a bool; is not one
    assert not {p for p in found if "(size)" in p or "(kernel_size)" in p}


@pytest.mark.parametrize("parameter", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=f"{NOT_YET[p]} (issue 23, class 7)"))
    if p in NOT_YET else p
    for p in sorted(bool_parameters())
])
def test_a_bool_parameter_refuses_what_is_not_a_bool(parameter, tmp_path, monkeypatch, figures):
    monkeypatch.chdir(tmp_path)
    call = _calls(tmp_path)[parameter]
    name = parameter[parameter.index("(") + 1 : -1]
    for value in NOT_BOOLS:
        with pytest.raises(TypeError) as err:
            call(value)
        message = str(err.value)
        assert f"{name}=" in message and re.search(r"must be True(, | or )False", message), (value, message)
        assert not list(tmp_path.iterdir()), f"{parameter}={value!r} wrote a file before refusing it"


@pytest.mark.parametrize("parameter", ["device.use_bf16(amp)", "train.fit(amp)", "train.fit(channels_last)"])
def test_none_still_means_choose_for_me(parameter, tmp_path, figures):
    _calls(tmp_path)[parameter](None)


@pytest.mark.parametrize("parameter", [
    "shapes.pool_output_size(ceil_mode)", "reference.max_pool2d(return_indices)", "params.count_params(trainable_only)",
    "viz.show_grid(symmetric)", "claims.format_ledger(links)", "evaluate.prepare_images(channels_last)",
])
def test_true_and_false_still_work(parameter, tmp_path, figures):
    call = _calls(tmp_path)[parameter]
    call(True)
    call(False)
