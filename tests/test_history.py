"""companion/history.py."""

from companion.history import History


def test_history_time_to_and_dict_round_trip():
    h = History(epoch=[0.5, 1.0], step=[5, 10], seconds=[1.0, 2.0], train_loss=[0.3, 0.2],
                   test_loss=[0.1, 0.05], test_acc=[0.985, 0.991], lr=[1e-3, 1e-6])
    assert h.time_to(0.99) == 2.0 and h.time_to(0.98) == 1.0 and h.time_to(0.999) is None
    assert History.from_dict(h.as_dict()) == h


# ── checkpoints ──────────────────────────────────────────────────────────────


def test_from_dict_refuses_what_is_not_a_list_of_numbers():
    import pytest

    for bad in ({"epoch": 3}, {"step": "12"}, {"lr": [0.1, "x"]}, {"seconds": [True]}, {"test_acc": None}):
        with pytest.raises(ValueError, match="must be a list of numbers"):
            History.from_dict(bad)
    with pytest.raises(TypeError, match=r"history=\[1, 2\] must be a dict of lists"):
        History.from_dict([1, 2])
