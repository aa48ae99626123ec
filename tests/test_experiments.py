"""companion/experiments.py: the controlled runs, their summary and their cache."""

import json

import pytest
import torch

from companion import experiments


def _run(variant, seed, train_loss, val_loss, val_acc):
    return experiments.Run(variant, seed, train_loss, 0.99, val_loss, val_acc, 10, 0.1)


def test_summary_means_and_spreads():
    runs = [_run("baseline", 0, 0.1, 0.3, 0.9), _run("baseline", 1, 0.2, 0.3, 0.8), _run("narrow", 0, 0.5, 0.5, 0.7)]
    s = experiments.summary(runs)
    assert set(s) == {"baseline", "narrow"}
    assert s["baseline"]["val_acc"] == pytest.approx(0.85) and s["baseline"]["val_acc_spread"] == pytest.approx(0.1)
    assert (s["baseline"]["val_acc_min"], s["baseline"]["val_acc_max"]) == pytest.approx((0.8, 0.9))
    assert s["baseline"]["gap"] == pytest.approx(0.15) and s["baseline"]["seeds"] == 2
    assert s["narrow"]["gap_spread"] == 0


def test_the_variants_change_one_thing_each():
    # each variant against the run it is compared with: the baseline, except the narrow head
    # without dropout2, which lesson 16 compares with the wide head without dropout2
    against = {"narrow_no_dropout2": "no_dropout2"}
    for name, v in experiments.VARIANTS.items():
        base = experiments.VARIANTS[against.get(name, "baseline")]
        changed = [f for f in ("dropout", "relu", "width", "pooled") if getattr(v, f) != getattr(base, f)]
        assert len(changed) == (0 if name == "baseline" else 1), name
    assert experiments.VARIANTS["no_dropout1"].dropout == (0.0, 0.5)
    assert experiments.VARIANTS["no_dropout2"].dropout == (0.25, 0.0)


def test_the_runs_are_cached_and_reproducible(tmp_path, monkeypatch):
    # small and fast: the real network's cached features, 1 epoch, one variant, two seeds
    runs = experiments.controlled_runs()
    assert {r.variant for r in runs} == set(experiments.VARIANTS) and len(runs) == 3 * len(experiments.VARIANTS)
    assert all(0.5 < r.val_acc <= 1 and r.train_loss < r.val_loss for r in runs)
    by = {(r.variant, r.seed): r for r in runs}
    assert by[("no_pool", 0)].params > 3.9 * by[("baseline", 0)].params
    path = experiments._folder() / "controlled_runs.json"
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert [experiments.Run(**r) for r in stored["runs"]] == runs and experiments._read_runs(path) == runs
    # the same head, trained again with the same seed, gives the same numbers
    model, history = experiments.course_network()
    assert history.test_acc[-1] >= 0.95 and not model.training
    from companion.sample import load_sample

    x, y = load_sample("train")
    xv, yv = load_sample("val")
    x, y = x[: experiments.TRAIN_DIGITS], y[: experiments.TRAIN_DIGITS]
    f, fv = experiments._maps(model, x, True), experiments._maps(model, xv, True)
    again = experiments._train_head(experiments.VARIANTS["narrow"], 1, f, y, fv, yv)
    assert (again.train_loss, again.val_acc) == (by[("narrow", 1)].train_loss, by[("narrow", 1)].val_acc)


def test_the_cache_key_changes_with_the_thread_count(monkeypatch):
    key = experiments._key()
    monkeypatch.setattr(torch, "get_num_threads", lambda: 97)
    assert experiments._key() != key


def test_an_unreadable_cache_is_computed_again(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments, "_folder", lambda: tmp_path)
    (tmp_path / "controlled_runs.json").write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(experiments, "course_network", lambda: (None, None))
    monkeypatch.setattr(experiments, "_maps", lambda model, x, pooled: torch.zeros(len(x), 1, 2, 2))
    monkeypatch.setattr(experiments, "_train_head", lambda v, seed, f, y, ft, yt: _run(
        next(k for k, w in experiments.VARIANTS.items() if w == v), seed, 0.1, 0.2, 0.9))
    runs = experiments.controlled_runs()
    assert len(runs) == 3 * len(experiments.VARIANTS)
    stored = json.loads((tmp_path / "controlled_runs.json").read_text(encoding="utf-8"))
    assert stored["runs"][0]["variant"] == "baseline"


def test_the_lock_names_its_owner_while_held_and_is_released(tmp_path):
    with experiments._lock(tmp_path):
        owner = (tmp_path / ".lock").read_text(encoding="utf-8")
        assert owner.split()[0] == str(__import__("os").getpid())
        with experiments._lock(tmp_path, wait=0.0):  # the same thread may take it again
            pass
    assert (tmp_path / ".lock").read_text(encoding="utf-8") == ""  # kept, empty: nobody holds it
    with experiments._lock(tmp_path, wait=0.0):
        pass


def test_nothing_that_chooses_reads_the_test_split(tmp_path, monkeypatch):
    # the course network and every controlled run, computed from scratch with a load_sample
    # that refuses the test split: selection is made on the validation split only
    from companion import sample

    real = sample.load_sample
    asked = []

    def no_test(split="train", *args, **kwargs):
        asked.append(split)
        if split == "test":
            raise AssertionError("the test split was read")
        return real(split, *args, **kwargs)

    monkeypatch.setattr(sample, "load_sample", no_test)
    monkeypatch.setattr(experiments, "_folder", lambda: tmp_path)
    monkeypatch.setattr(experiments, "SAMPLE_EPOCHS", 1)
    monkeypatch.setattr(experiments, "SEEDS", (0,))
    monkeypatch.setattr(experiments, "HEAD_EPOCHS", 1)
    monkeypatch.setattr(experiments, "TRAIN_DIGITS", 64)
    fit_sizes = []
    from companion import train

    real_fit = train.fit

    def small_fit(model, x, y, xv, yv, **kwargs):
        fit_sizes.append(len(xv))
        return real_fit(model, x[:256], y[:256], xv, yv, **{**kwargs, "epochs": 1})

    monkeypatch.setattr(train, "fit", small_fit)
    model, history = experiments.course_network()
    runs = experiments.controlled_runs()
    assert "val" in asked and "test" not in asked and fit_sizes == [500]
    assert len(history.test_acc) >= 1 and len(runs) == len(experiments.VARIANTS)
