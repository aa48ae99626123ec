"""companion/train.py: the training loop, its two stages, and what it hands back. Small and fast."""

import math
import time
import warnings

import pytest
import torch

from companion import train
from companion.evaluate import evaluate, prepare_images
from companion.model import features, make_model
from companion.recipes import COURSE, EXAMPLES, Recipe, lr_schedule
from companion.train import fit

#: the course recipe without its freezing and head stage, for tests of the plain loop
PLAIN = COURSE.with_(freeze=(), head_epochs=0.0)


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])

def test_fit_records_history_and_learns_something(tiny):
    x, y, xt, yt = tiny
    model = make_model("fixed", seed=0)
    before = _weights(model).clone()
    recipe = PLAIN.with_(batch_size=32)
    h = fit(model, x, y, xt, yt, recipe=recipe, epochs=2, evals_per_epoch=3, progress=False)
    assert h.step == [1, 2, 3, 4, 5, 6] and h.epoch[-1] == 2.0
    assert len(h.test_acc) == len(h.train_loss) == len(h.seconds) == len(h.lr) == 6
    assert all(b >= a for a, b in zip(h.seconds, h.seconds[1:]))
    assert all(0.0 <= a <= 1.0 for a in h.test_acc) and all(math.isfinite(v) for v in h.train_loss)
    assert not torch.equal(before, _weights(model)) and not model.training
    assert h.lr[-1] < recipe.lr / 100  # one-cycle ends near zero

def test_time_spent_evaluating_is_not_training_time(tiny):
    x, y, xt, yt = tiny
    pause = 0.2

    def slow_callback(history):
        time.sleep(pause)

    t0 = time.perf_counter()
    h = fit(make_model(), x, y, xt, yt, recipe=COURSE.with_(batch_size=32, head_batch_size=64, head_epochs=1.0),
            epochs=1, evals_per_epoch=2, progress=False, callback=slow_callback)
    wall = time.perf_counter() - t0
    assert len(h) >= 4 and h.epoch[-1] == 2.0  # both stages, evaluated twice each
    assert 0 < h.seconds[0] and all(b > a for a, b in zip(h.seconds, h.seconds[1:]))  # every segment counted
    assert h.seconds[-1] <= wall - pause * len(h)  # the callbacks' pauses are not


def test_fit_is_deterministic_for_a_seed(tiny):
    x, y, _, _ = tiny
    runs = []
    for seed in (3, 3, 4):
        model = make_model("fixed", seed=0)
        fit(model, x, y, recipe=PLAIN.with_(batch_size=48), epochs=1, seed=seed, progress=False)
        runs.append(_weights(model))
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])

def test_fractional_epochs_stop_and_callback_stops(tiny):
    x, y, xt, yt = tiny
    h = fit(make_model(), x, y, recipe=PLAIN.with_(batch_size=16), epochs=0.5, progress=False)
    assert h.step == [3] and h.epoch == [0.5] and h.test_acc == []
    h = fit(make_model(), x, y, xt, yt, recipe=PLAIN.with_(batch_size=16), epochs=3,
               evals_per_epoch=2, progress=False, callback=lambda hist: len(hist) == 2)
    assert h.step == [3, 6]

def test_freezing_stops_a_layer_and_hands_it_back_trainable(tiny):
    x, y, _, _ = tiny
    model = make_model("fixed", seed=0)
    seen = []

    def spy(module, args):  # conv1's weight as each step starts
        if module.training:
            seen.append(module.weight.detach().clone())

    hook = model.conv1.register_forward_pre_hook(spy)
    recipe = PLAIN.with_(batch_size=24, freeze=(("conv1", 0.5),))
    fit(model, x, y, recipe=recipe, epochs=2, progress=False)  # 8 steps, conv1 frozen from step 4
    hook.remove()
    assert len(seen) == 8
    assert not torch.equal(seen[3], seen[4]) and all(torch.equal(seen[4], w) for w in seen[5:])
    assert torch.equal(seen[-1], model.conv1.weight.detach())
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="freeze item"):
        COURSE.with_(freeze=(("conv3", 0.5),))

def test_head_stage_trains_only_the_fully_connected_layers(tiny):
    x, y, xt, yt = tiny
    model = make_model("fixed", seed=0)
    recipe = COURSE.with_(batch_size=32, epochs=1, head_epochs=2, head_lr=1e-3, head_batch_size=None, freeze=())
    snapshots = []
    h = fit(model, x, y, xt, yt, recipe=recipe, progress=False,
               callback=lambda hist: snapshots.append({k: v.clone() for k, v in model.state_dict().items()}))
    assert h.step == [3, 6, 9] and h.epoch == [1.0, 2.0, 3.0]
    after_stage1, end = snapshots[0], snapshots[-1]
    for name in ("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"):
        assert torch.equal(after_stage1[name], end[name]), name
    for name in ("fc1.weight", "fc2.weight"):
        assert not torch.equal(after_stage1[name], end[name]), name
    assert h.lr[-1] < 1e-5 and all(p.requires_grad for p in model.parameters())
    planned = lr_schedule(recipe, steps_per_epoch=3)
    assert len(planned) == 9 and h.lr == pytest.approx([planned[2], planned[5], planned[8]])
    with pytest.raises(ValueError, match="head_epochs=-1"):
        COURSE.with_(head_epochs=-1)

def test_examples_recipe_steps_the_lr_once_per_epoch(tiny):
    x, y, _, _ = tiny
    h = fit(make_model("note"), x, y, recipe=EXAMPLES.with_(batch_size=48), epochs=3, progress=False)
    assert h.lr == pytest.approx([1.0, 0.7, 0.49])  # the rate each epoch ran at

def test_note_model_trains_without_leaking_its_warning_twice(tiny):
    x, y, _, _ = tiny
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        fit(make_model("note"), x[:32], y[:32], recipe=PLAIN, epochs=1, progress=False)

def test_bad_arguments(tiny):
    x, y, _, _ = tiny
    with pytest.raises(ValueError, match="optimizer='adam'"):
        Recipe("r", optimizer="adam")
    with pytest.raises(ValueError, match="batch_size=0"):
        COURSE.with_(batch_size=0)
    with pytest.raises(ValueError, match="epochs=0"):
        fit(make_model(), x, y, epochs=0, progress=False)
    with pytest.raises(ValueError, match="evals_per_epoch=0"):
        fit(make_model(), x, y, evals_per_epoch=0, progress=False)
    with pytest.raises(ValueError, match="96 training images for 95 labels"):
        fit(make_model(), x, y[:95], progress=False)
    with pytest.raises(ValueError, match="96 training images for list labels"):
        fit(make_model(), x, y.tolist(), progress=False)
    with pytest.raises(ValueError, match=r"expected \(N, 1, 28, 28\)"):
        evaluate(make_model(), x[:, :, :20], y)

def test_cached_head_stage_equals_running_the_frozen_network(tiny, monkeypatch):
    # the head stage trains on features computed once; running the whole network at every
    # step instead (the cache replaced by image numbers) ends with the same weights
    x, y, _, _ = tiny
    recipe = COURSE.with_(batch_size=32, epochs=0.5, head_epochs=1.5, head_batch_size=16, freeze=())
    fast = make_model("fixed", seed=0)
    h = fit(fast, x, y, recipe=recipe, progress=False)
    # 3 steps of 32 per epoch: stage 1 is 2 steps (2/3 epoch, evaluated at its end though the
    # epoch is not over); then 1.5 epochs of 6 steps of 16
    assert h.step == [2, 8, 11] and h.epoch == pytest.approx([2 / 3, 2 / 3 + 1, 2 / 3 + 1.5], abs=1e-4)
    assert len(lr_schedule(recipe, steps_per_epoch=3)) == 2 + 9

    images = {}

    def numbers(model, xs, batch_size=None):
        assert "x" not in images, "the features are computed once"
        images["x"] = xs
        return torch.arange(len(xs), dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 64, 12, 12).clone()

    monkeypatch.setattr(train, "features", numbers)
    monkeypatch.setattr(train, "head", lambda model, fb: model(images["x"][fb[:, 0, 0, 0].long()]))
    slow = make_model("fixed", seed=0)
    fit(slow, x, y, recipe=recipe, progress=False)
    start = make_model("fixed", seed=0).state_dict()
    for (name, a), b in zip(fast.state_dict().items(), slow.state_dict().values()):
        # equal up to float rounding (conv2 may run in another memory layout), which Adam's
        # normalised steps magnify a little; far below how far training moved the weights
        assert (a - b).abs().max() < 2e-4 < (a - start[name]).abs().max(), name
    with pytest.raises(ValueError, match="head_batch_size=0"):
        COURSE.with_(head_batch_size=0)

def test_recipe_dropout_applies_while_training_only(tiny):
    x, y, _, _ = tiny
    model = make_model("fixed", seed=0)
    seen = []
    hook = model.fc2.register_forward_pre_hook(lambda m, args: seen.append((args[0] == 0).float().mean().item()))
    fit(model, x, y, recipe=PLAIN.with_(batch_size=96, dropout=(0.0, 0.0)), epochs=2, progress=False)
    hook.remove()
    # fc2's input is relu(fc1(.)) after dropout2: with p2 = 0 no extra zeros beyond ReLU's
    assert (model.dropout1.p, model.dropout2.p) == (0.25, 0.5) and len(seen) == 2
    model.train()
    torch.manual_seed(0)
    f = features(model, prepare_images(x, torch.device("cpu")))
    relu_zeros = (torch.relu(model.fc1(torch.flatten(f, 1))) == 0).float().mean().item()
    assert seen[-1] < relu_zeros + 0.05
    for bad in ((0.5,), (0.2, 1.0), (-0.1, 0.5)):
        with pytest.raises(ValueError, match="dropout="):
            COURSE.with_(dropout=bad)


@pytest.mark.parametrize("change, words", [
    (lambda x, y, xt, yt: (x * 255, y, xt, yt), "divide by 255"),
    (lambda x, y, xt, yt: ((x * 255).to(torch.uint8), y, xt, yt), "dtype torch.uint8"),
    (lambda x, y, xt, yt: (x, y, (xt * 255).to(torch.uint8), yt), "divide by 255"),
    (lambda x, y, xt, yt: (x, y.float(), xt, yt), "y_train of dtype torch.float32"),
    (lambda x, y, xt, yt: (x, y + 10, xt, yt), "y_train from 10 to 19"),
    (lambda x, y, xt, yt: (x, y, xt, yt - 1), "y_test from -1"),
    (lambda x, y, xt, yt: (x, y, xt, None), "x_test and y_test go together"),
    (lambda x, y, xt, yt: (x, y, xt[:0], yt[:0]), "x_test holds no images"),
    (lambda x, y, xt, yt: (x[:, :, :20], y, xt, yt), r"expected \(N, 1, 28, 28\)"),
    (lambda x, y, xt, yt: (x.numpy(), y, xt, yt), "expected a torch.Tensor"),
])
def test_fit_refuses_bad_data_before_training(tiny, change, words):
    x, y, xt, yt = change(*tiny)
    model = make_model()
    before = _weights(model).clone()
    with pytest.raises(ValueError, match=words):
        fit(model, x, y, xt, yt, recipe=PLAIN.with_(batch_size=32), epochs=1, progress=False)
    assert torch.equal(before, _weights(model))


@pytest.mark.parametrize("kwargs, words", [
    ({"seed": -1}, "seed=-1"), ({"seed": 2**63}, "seed="), ({"seed": 1.5}, "seed="), ({"seed": "0"}, "seed="),
    ({"epochs": float("inf")}, "epochs=inf"), ({"epochs": 1e9}, "epochs="),
    ({"recipe": "course"}, "recipe='course' must be a Recipe"),
])
def test_fit_refuses_bad_settings(tiny, kwargs, words):
    x, y, _, _ = tiny
    with pytest.raises(ValueError, match=words):
        fit(make_model(), x, y, progress=False, **kwargs)
    with pytest.raises(ValueError, match="seed=-1"):
        make_model("fixed", seed=-1)
