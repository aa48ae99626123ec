"""companion/experiments.py: the controlled runs, their summary and their cache."""

import json

import pytest
import torch

from companion import experiments


def _run(variant, seed, train_loss, test_loss, test_acc):
    return experiments.Run(variant, seed, train_loss, 0.99, test_loss, test_acc, 10, 0.1)


def test_summary_means_and_spreads():
    runs = [_run("baseline", 0, 0.1, 0.3, 0.9), _run("baseline", 1, 0.2, 0.3, 0.8), _run("narrow", 0, 0.5, 0.5, 0.7)]
    s = experiments.summary(runs)
    assert set(s) == {"baseline", "narrow"}
    assert s["baseline"]["test_acc"] == pytest.approx(0.85) and s["baseline"]["test_acc_spread"] == pytest.approx(0.1)
    assert s["baseline"]["gap"] == pytest.approx(0.15) and s["baseline"]["seeds"] == 2
    assert s["narrow"]["gap_spread"] == 0


def test_the_variants_change_one_thing_each():
    base = experiments.VARIANTS["baseline"]
    for name, v in experiments.VARIANTS.items():
        changed = [f for f in ("dropout", "relu", "width", "pooled") if getattr(v, f) != getattr(base, f)]
        assert len(changed) == (0 if name == "baseline" else 1), name


def test_the_runs_are_cached_and_reproducible(tmp_path, monkeypatch):
    # small and fast: the real network's cached features, 1 epoch, one variant, two seeds
    runs = experiments.controlled_runs()
    assert {r.variant for r in runs} == set(experiments.VARIANTS) and len(runs) == 3 * len(experiments.VARIANTS)
    assert all(0.5 < r.test_acc <= 1 and r.train_loss < r.test_loss for r in runs)
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
    xt, yt = load_sample("test")
    x, y = x[: experiments.TRAIN_DIGITS], y[: experiments.TRAIN_DIGITS]
    f, ft = experiments._maps(model, x, True), experiments._maps(model, xt, True)
    again = experiments._train_head(experiments.VARIANTS["narrow"], 1, f, y, ft, yt)
    assert (again.train_loss, again.test_acc) == (by[("narrow", 1)].train_loss, by[("narrow", 1)].test_acc)


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
