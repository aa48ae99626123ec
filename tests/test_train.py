"""The training loop, evaluation, checkpoints and image preparation. Small and fast."""

import math
import warnings

import numpy as np
import pytest
import torch

from companion import DigitRecognizer, DigitRecognizerFixed, build_model, load_sample
from companion import train as tr
from companion.predict import predict_image, prepare_image

#: the course recipe without its freezing and head stage, for tests of the plain loop
PLAIN = tr.COURSE.with_(freeze=(), head_epochs=0.0)


@pytest.fixture(scope="module")
def tiny():
    x, y = load_sample("test")
    return x[:96], y[:96], x[96:160], y[96:160]


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_fit_records_history_and_learns_something(tiny):
    x, y, xt, yt = tiny
    model = tr.make_model("fixed", seed=0)
    before = _weights(model).clone()
    recipe = PLAIN.with_(batch_size=32)
    h = tr.fit(model, x, y, xt, yt, recipe=recipe, epochs=2, evals_per_epoch=3, progress=False)
    assert h.step == [1, 2, 3, 4, 5, 6] and h.epoch[-1] == 2.0
    assert len(h.test_acc) == len(h.train_loss) == len(h.seconds) == len(h.lr) == 6
    assert all(b >= a for a, b in zip(h.seconds, h.seconds[1:]))
    assert all(0.0 <= a <= 1.0 for a in h.test_acc) and all(math.isfinite(v) for v in h.train_loss)
    assert not torch.equal(before, _weights(model)) and not model.training
    assert h.lr[-1] < recipe.lr / 100  # one-cycle ends near zero


def test_fit_is_deterministic_for_a_seed(tiny):
    x, y, _, _ = tiny
    runs = []
    for seed in (3, 3, 4):
        model = tr.make_model("fixed", seed=0)
        tr.fit(model, x, y, recipe=PLAIN.with_(batch_size=48), epochs=1, seed=seed, progress=False)
        runs.append(_weights(model))
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_fractional_epochs_stop_and_callback_stops(tiny):
    x, y, xt, yt = tiny
    h = tr.fit(tr.make_model(), x, y, recipe=PLAIN.with_(batch_size=16), epochs=0.5, progress=False)
    assert h.step == [3] and h.epoch == [0.5] and h.test_acc == []
    h = tr.fit(tr.make_model(), x, y, xt, yt, recipe=PLAIN.with_(batch_size=16), epochs=3,
               evals_per_epoch=2, progress=False, callback=lambda hist: len(hist) == 2)
    assert h.step == [3, 6]


def test_freezing_stops_a_layer_and_hands_it_back_trainable(tiny):
    x, y, _, _ = tiny
    model = tr.make_model("fixed", seed=0)
    seen = []

    def spy(module, args):  # conv1's weight as each step starts
        if module.training:
            seen.append(module.weight.detach().clone())

    hook = model.conv1.register_forward_pre_hook(spy)
    recipe = PLAIN.with_(batch_size=24, freeze=(("conv1", 0.5),))
    tr.fit(model, x, y, recipe=recipe, epochs=2, progress=False)  # 8 steps, conv1 frozen from step 4
    hook.remove()
    assert len(seen) == 8
    assert not torch.equal(seen[3], seen[4]) and all(torch.equal(seen[4], w) for w in seen[5:])
    assert torch.equal(seen[-1], model.conv1.weight.detach())
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="freeze item"):
        tr.COURSE.with_(freeze=(("conv3", 0.5),))


def test_head_stage_trains_only_the_fully_connected_layers(tiny):
    x, y, xt, yt = tiny
    model = tr.make_model("fixed", seed=0)
    recipe = tr.COURSE.with_(batch_size=32, epochs=1, head_epochs=2, head_lr=1e-3, head_batch_size=None, freeze=())
    snapshots = []
    h = tr.fit(model, x, y, xt, yt, recipe=recipe, progress=False,
               callback=lambda hist: snapshots.append({k: v.clone() for k, v in model.state_dict().items()}))
    assert h.step == [3, 6, 9] and h.epoch == [1.0, 2.0, 3.0]
    after_stage1, end = snapshots[0], snapshots[-1]
    for name in ("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"):
        assert torch.equal(after_stage1[name], end[name]), name
    for name in ("fc1.weight", "fc2.weight"):
        assert not torch.equal(after_stage1[name], end[name]), name
    assert h.lr[-1] < 1e-5 and all(p.requires_grad for p in model.parameters())
    planned = tr.lr_schedule(recipe, steps_per_epoch=3)
    assert len(planned) == 9 and h.lr == pytest.approx([planned[2], planned[5], planned[8]])
    with pytest.raises(ValueError, match="head_epochs=-1"):
        tr.COURSE.with_(head_epochs=-1)


def test_examples_recipe_steps_the_lr_once_per_epoch(tiny):
    x, y, _, _ = tiny
    h = tr.fit(tr.make_model("note"), x, y, recipe=tr.EXAMPLES.with_(batch_size=48), epochs=3, progress=False)
    assert h.lr == pytest.approx([1.0, 0.7, 0.49])  # the rate each epoch ran at


def test_note_model_trains_without_leaking_its_warning_twice(tiny):
    x, y, _, _ = tiny
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        tr.fit(tr.make_model("note"), x[:32], y[:32], recipe=PLAIN, epochs=1, progress=False)


def test_bad_arguments(tiny):
    x, y, _, _ = tiny
    with pytest.raises(ValueError, match="optimizer='adam'"):
        tr.Recipe("r", optimizer="adam")
    with pytest.raises(ValueError, match="batch_size=0"):
        tr.COURSE.with_(batch_size=0)
    with pytest.raises(ValueError, match="epochs=0"):
        tr.fit(tr.make_model(), x, y, epochs=0, progress=False)
    with pytest.raises(ValueError, match="evals_per_epoch=0"):
        tr.fit(tr.make_model(), x, y, evals_per_epoch=0, progress=False)
    with pytest.raises(ValueError, match="96 training images for 95 labels"):
        tr.fit(tr.make_model(), x, y[:95], progress=False)
    with pytest.raises(ValueError, match=r"expected \(N, 1, 28, 28\)"):
        tr.evaluate(tr.make_model(), x[:, :, :20], y)


def test_evaluate_predict_and_confusion(tiny):
    _, _, xt, yt = tiny
    model = tr.make_model()
    loss, acc = tr.evaluate(model, xt, yt)
    pred = tr.predict(model, xt)
    assert pred.shape == yt.shape and acc == pytest.approx((pred == yt).float().mean().item())
    assert loss > 0
    m = tr.confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 2, 1, 2]), classes=3)
    assert m.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    cm = tr.confusion_matrix(yt, pred)
    assert cm.sum() == len(yt) and cm.trace() == (pred == yt).sum()
    with pytest.raises(ValueError, match="equal-length"):
        tr.confusion_matrix(yt, pred[:-1])


def test_history_time_to_and_dict_round_trip():
    h = tr.History(epoch=[0.5, 1.0], step=[5, 10], seconds=[1.0, 2.0], train_loss=[0.3, 0.2],
                   test_loss=[0.1, 0.05], test_acc=[0.985, 0.991], lr=[1e-3, 1e-6])
    assert h.time_to(0.99) == 2.0 and h.time_to(0.98) == 1.0 and h.time_to(0.999) is None
    assert tr.History.from_dict(h.as_dict()) == h


# ── checkpoints ──────────────────────────────────────────────────────────────


def test_checkpoint_round_trip(tmp_path, tiny):
    _, _, xt, _ = tiny
    model = tr.make_model("fixed", seed=1)
    history = tr.History(epoch=[1.0], step=[2], seconds=[0.5], train_loss=[0.4], test_loss=[0.3], test_acc=[0.9], lr=[0.1])
    path = tr.save_checkpoint(tmp_path / "sub" / "m.pt", model, history=history, recipe=tr.COURSE, info={"seed": 1})
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary file left
    raw = torch.load(path, weights_only=True)
    assert raw["config"]["arch"] == "fixed" and raw["recipe"]["optimizer"] == "adamw"
    ck = tr.load_checkpoint(path)
    assert type(ck.model) is DigitRecognizerFixed and ck.arch == "fixed" and not ck.model.training
    assert ck.history == history and ck.info == {"seed": 1} and ck.recipe["name"] == "course"
    assert torch.equal(tr.predict(ck.model, xt), tr.predict(model, xt))
    fresh = tr.restore(build_model("fixed"), path)
    assert torch.equal(_weights(fresh), _weights(model))


def test_wrong_architecture_is_named(tmp_path):
    path = tr.save_checkpoint(tmp_path / "note.pt", tr.make_model("note"))
    with pytest.raises(ValueError, match="holds a 'note' model, not the 'fixed' architecture"):
        tr.load_checkpoint(path, arch="fixed")
    with pytest.raises(ValueError, match=r"'note' model \(DigitRecognizer\) but this model is 'fixed' \(DigitRecognizerFixed\)"):
        tr.restore(DigitRecognizerFixed(), path)
    assert type(tr.load_checkpoint(path, arch="note").model) is DigitRecognizer

    class Other(DigitRecognizer):
        pass

    with pytest.raises(ValueError, match="Other is not one of the course's models"):
        tr.save_checkpoint(tmp_path / "x.pt", Other())


def test_not_a_checkpoint(tmp_path):
    bare = tmp_path / "bare.pt"
    torch.save(build_model().state_dict(), bare)
    with pytest.raises(ValueError, match="not a checkpoint of this course"):
        tr.load_checkpoint(bare)
    good = tr.save_checkpoint(tmp_path / "good.pt", build_model())
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ValueError, match=f"{cut}: not a readable checkpoint"):
        tr.load_checkpoint(cut)
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        tr.load_checkpoint(tmp_path / "none.pt")


# ── image preparation ────────────────────────────────────────────────────────


def _blob(h=60, w=90, top=10, left=20, bh=30, bw=15, ink=0.0, paper=1.0):
    a = np.full((h, w), paper, dtype=np.float32)
    a[top : top + bh, left : left + bw] = ink
    return a


def test_prepare_image_inverts_crops_scales_and_centres():
    x = prepare_image(_blob())  # dark 30×15 bar on white
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    img = x[0, 0]
    assert img.max().item() == pytest.approx(1.0, abs=0.02) and img[0].abs().max() == 0  # inverted: black border
    rows = torch.nonzero(img.sum(1) > 0.1).flatten()
    cols = torch.nonzero(img.sum(0) > 0.1).flatten()
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 == 10  # longer side 20, aspect kept
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    cy, cx = (img * ys).sum() / img.sum(), (img * xs).sum() / img.sum()
    assert abs(cy - 13.5) <= 0.5 and abs(cx - 13.5) <= 0.5
    # light ink on black is not inverted, and gives the same digit
    assert torch.allclose(prepare_image(_blob(ink=1.0, paper=0.0)), x, atol=1e-6)


def test_prepare_image_from_files(tmp_path):
    from PIL import Image

    a = (_blob() * 255).astype(np.uint8)
    Image.fromarray(a).convert("RGB").save(tmp_path / "rgb.png")
    rgba = np.zeros((60, 90, 4), dtype=np.uint8)  # black strokes on a transparent background
    rgba[10:40, 20:35, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    ref = prepare_image(_blob())
    assert torch.allclose(prepare_image(tmp_path / "rgb.png"), ref, atol=0.02)
    assert torch.allclose(prepare_image(str(tmp_path / "rgba.png")), ref, atol=0.02)
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match="not an image that Pillow can read"):
        prepare_image(tmp_path / "text.png")
    with pytest.raises(FileNotFoundError, match="no such image file"):
        prepare_image(tmp_path / "none.png")


def test_prepare_image_errors():
    with pytest.raises(ValueError, match="20×20 pixels: need at least 28×28"):
        prepare_image(np.zeros((20, 20)))
    with pytest.raises(ValueError, match="no ink"):
        prepare_image(np.ones((28, 28)))
    with pytest.raises(ValueError, match="expected a 2-D grayscale"):
        prepare_image(np.zeros((2, 28, 28)))


def test_a_real_digit_survives_preparation(tiny):
    x, _, _, _ = tiny
    digit = x[5, 0]
    again = prepare_image((1.0 - digit).numpy())  # as dark ink on paper
    assert (again[0, 0] - digit).abs().mean() < 0.1
    label, probs = predict_image(tr.make_model(), (digit * 255).numpy().astype(np.uint8))
    assert 0 <= label <= 9 and probs.shape == (10,) and abs(probs.sum().item() - 1) < 1e-5


@pytest.mark.parametrize("arch", ["fixed", "note"])
def test_head_of_features_is_the_whole_network(tiny, arch):
    x = tr._prepare(tiny[0][:40], torch.device("cpu"), channels_last=False)
    model = tr.make_model(arch, seed=1)
    f = tr.features(model, x, batch_size=16)
    assert f.shape == (40, 64, 12, 12) and not f.requires_grad and f.is_contiguous()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the note's Dropout2d on (N, 128)
        model.eval()
        assert torch.allclose(tr.head(model, f), model(x), atol=1e-6)
        model.train()  # same dropout draws from the same seed
        torch.manual_seed(5)
        a = tr.head(model, f)
        torch.manual_seed(5)
        b = model(x)
    assert torch.allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match=r"expected \(N, 1, 28, 28\)"):
        tr.features(model, x[:, :, :20])


def test_cached_head_stage_equals_running_the_frozen_network(tiny, monkeypatch):
    # the head stage trains on features computed once; running the whole network at every
    # step instead (the cache replaced by image numbers) ends with the same weights
    x, y, _, _ = tiny
    recipe = tr.COURSE.with_(batch_size=32, epochs=0.5, head_epochs=1.5, head_batch_size=16, freeze=())
    fast = tr.make_model("fixed", seed=0)
    h = tr.fit(fast, x, y, recipe=recipe, progress=False, channels_last=False)
    # 3 steps of 32 per epoch: stage 1 is 2 steps (2/3 epoch, evaluated at its end though the
    # epoch is not over); then 1.5 epochs of 6 steps of 16
    assert h.step == [2, 8, 11] and h.epoch == pytest.approx([2 / 3, 2 / 3 + 1, 2 / 3 + 1.5], abs=1e-4)
    assert len(tr.lr_schedule(recipe, steps_per_epoch=3)) == 2 + 9

    images = {}

    def numbers(model, xs, batch_size=None):
        assert "x" not in images, "the features are computed once"
        images["x"] = xs
        return torch.arange(len(xs), dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 64, 12, 12).clone()

    monkeypatch.setattr(tr, "features", numbers)
    monkeypatch.setattr(tr, "head", lambda model, fb: model(images["x"][fb[:, 0, 0, 0].long()]))
    slow = tr.make_model("fixed", seed=0)
    tr.fit(slow, x, y, recipe=recipe, progress=False, channels_last=False)
    start = tr.make_model("fixed", seed=0).state_dict()
    for (name, a), b in zip(fast.state_dict().items(), slow.state_dict().values()):
        # equal up to float rounding (conv2 may run in another memory layout), which Adam's
        # normalised steps magnify a little; far below how far training moved the weights
        assert (a - b).abs().max() < 2e-4 < (a - start[name]).abs().max(), name
    with pytest.raises(ValueError, match="head_batch_size=0"):
        tr.COURSE.with_(head_batch_size=0)


def test_recipe_dropout_applies_while_training_only(tiny):
    x, y, _, _ = tiny
    model = tr.make_model("fixed", seed=0)
    seen = []
    hook = model.fc2.register_forward_pre_hook(lambda m, args: seen.append((args[0] == 0).float().mean().item()))
    tr.fit(model, x, y, recipe=PLAIN.with_(batch_size=96, dropout=(0.0, 0.0)), epochs=2, progress=False)
    hook.remove()
    # fc2's input is relu(fc1(.)) after dropout2: with p2 = 0 no extra zeros beyond ReLU's
    assert (model.dropout1.p, model.dropout2.p) == (0.25, 0.5) and len(seen) == 2
    model.train()
    torch.manual_seed(0)
    f = tr.features(model, tr._prepare(x, torch.device("cpu"), channels_last=False))
    relu_zeros = (torch.relu(model.fc1(torch.flatten(f, 1))) == 0).float().mean().item()
    assert seen[-1] < relu_zeros + 0.05
    for bad in ((0.5,), (0.2, 1.0), (-0.1, 0.5)):
        with pytest.raises(ValueError, match="dropout="):
            tr.COURSE.with_(dropout=bad)
