"""benchmarks/train_speed.py: its options reach the recipe, and bad values stop it before any data is read."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    """A script of benchmarks/ as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("option, value, rule", [
    ("--batch-size", "0", "batch_size=0 must be a positive integer"),
    ("--head-batch-size", "-4", "head_batch_size=-4 must be a positive integer"),
    ("--lr", "inf", "lr=inf must be a number"),
    ("--head-lr", "0", "head_lr=0.0 must be a number"),
])
def test_a_recipe_change_that_cannot_train_is_refused_before_the_data(tmp_path, capsys, option, value, rule):
    with pytest.raises(SystemExit) as stop:
        _load("train_speed").main([str(tmp_path / "no-such-folder"), option, value])
    assert stop.value.code == 2 and rule in capsys.readouterr().err


def test_a_folder_without_the_full_mnist_is_refused(tmp_path, capsys):
    import numpy as np

    from companion import mnist
    from companion.idx import write_idx

    rng = np.random.default_rng(0)
    for key, name in mnist.FILES.items():
        n = 20 if "train" in key else 10
        data = rng.integers(0, 256, (n, 28, 28)) if "images" in key else rng.integers(0, 10, n)
        write_idx(tmp_path / name, data.astype(np.uint8))
    with pytest.raises(SystemExit) as stop:
        _load("train_speed").main([str(tmp_path), "--batch-size", "128"])
    assert stop.value.code == 2 and "expected the full MNIST (60,000 + 10,000)" in capsys.readouterr().err


def test_parts_times_the_note_order_which_gives_the_same_features():
    import torch

    from companion.model import features, make_model

    parts = _load("parts")
    model = make_model("fixed", seed=3).eval().to(memory_format=torch.channels_last)
    x = torch.randn(70, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert torch.equal(parts.features_note_order(model, x, 32), features(model, x, batch_size=32))
    cpu = torch.device("cpu")
    assert parts.update_time(cpu, fused=True, steps=2) > 0 and parts.update_time(cpu, fused=False, steps=2) > 0
    assert parts.step_time(cpu, fused=True, stage="head", steps=3) > 0


def test_parts_refuses_zero_rounds(capsys):
    with pytest.raises(SystemExit) as stop:
        _load("parts").main(["--rounds", "0"])
    assert stop.value.code == 2 and "--rounds 0: must be at least 1" in capsys.readouterr().err


def test_the_recipe_choices_lesson_10_reads_were_made_by_the_current_recipes():
    """benchmarks/recipe_choices.json must hold every variant and seed, made by the recipes the
    script defines today: a change to the course recipe without a fresh run fails here."""
    import json

    from companion.recipes import SAMPLE_EPOCHS

    script = _load("recipe_choices")
    data = json.loads((ROOT / "benchmarks" / "recipe_choices.json").read_text(encoding="utf-8"))
    assert data["format"] == script.FORMAT
    assert data["recipes"] == {name: script._recipe_dict(r) for name, r in script.variants().items()}, (
        "the recipes changed since benchmarks/recipe_choices.json was made: run python benchmarks/recipe_choices.py")
    assert data["sample_epochs"] == SAMPLE_EPOCHS
    seeds = sorted(str(s) for s in data["seeds"])
    assert len(set(seeds)) >= 3
    for name in [*script.variants(), "all_layers_same_time"]:
        assert sorted(data["runs"][name]) == seeds
        for run in data["runs"][name].values():
            assert len(run["epoch"]) == len(run["val_acc"]) == len(run["seconds"]) > 0
            assert all(0 <= a <= 1 for a in run["val_acc"])
    for run in data["runs"]["course"].values():
        assert SAMPLE_EPOCHS in run["epoch"]  # the stop-after-stage-1 baseline is read from here


@pytest.mark.parametrize("args, rule", [
    (["--seeds", "0", "1"], "at least 3 different seeds"),
    (["--seeds", "0", "0", "0"], "at least 3 different seeds"),
    (["--threads", "0"], "--threads 0 must be at least 1"),
])
def test_recipe_choices_refuses_what_cannot_state_a_spread(tmp_path, capsys, args, rule):
    with pytest.raises(SystemExit) as stop:
        _load("recipe_choices").main([*args, "--out", str(tmp_path / "r.json")])
    assert stop.value.code == 2 and rule in capsys.readouterr().err


def test_recipe_choices_refuses_an_output_folder_that_does_not_exist(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        _load("recipe_choices").main(["--out", str(tmp_path / "missing" / "r.json")])
    assert stop.value.code == 2 and "its folder must exist and be writable" in capsys.readouterr().err
