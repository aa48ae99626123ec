"""companion/checker.py: verdicts, answer types, the tolerance a question asks for."""

import numpy as np
import pytest
import torch

from companion.checker import check, evaluate, question, verify
from companion.exercises import EXERCISES, Exercise


def test_unanswered_and_types(capsys):
    assert check("04.params_rgb", None) is None
    assert "尚未作答" in capsys.readouterr().out
    assert evaluate("04.params_rgb", "896")[0] == "wrong"
    assert evaluate("04.params_rgb", 896.0)[0] == "correct"
    assert evaluate("00.shape_after_pool", torch.Size([1, 64, 12, 12]))[0] == "correct"
    assert evaluate("00.shape_after_pool", [1, 64, 12])[0] == "wrong"


def test_check_prints_one_line_and_returns_nothing(capsys):
    assert check("04.params_rgb", 896) is None
    assert capsys.readouterr().out.startswith("✅ [04.params_rgb] 正确")
    assert check("04.params_rgb", 864) is None
    out = capsys.readouterr().out
    assert out.startswith("❌") and "偏置" in out and out.count("\n") == 1


def test_verify_is_silent_when_right_and_raises_when_wrong(capsys):
    assert verify("04.params_rgb", 896) is None
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="not accepted.*偏置"):
        verify("04.params_rgb", 864)
    with pytest.raises(ValueError, match="尚未作答"):
        verify("04.params_rgb", None)


@pytest.mark.parametrize(
    "answer", [np.int64(896), np.int32(896), torch.tensor(896), torch.tensor([896]), np.float64(896.0)]
)
def test_numpy_and_torch_scalars_are_answers(answer):
    assert evaluate("04.params_rgb", answer)[0] == "correct"


def test_numpy_and_torch_floats_and_shapes():
    assert evaluate("09.scale_p02", np.float32(1.25))[0] == "correct"
    assert evaluate("09.scale_p02", torch.tensor(1.25))[0] == "correct"
    assert evaluate("00.shape_after_pool", (np.int64(1), 64, 12, 12))[0] == "correct"
    assert evaluate("04.params_rgb", np.array([896, 1]))[0] == "wrong"


@pytest.mark.parametrize("key, right, wrong", [
    ("09.scale_p02", [1.25, 1.254, 1.246], [1.2, 1.3, 1.26]),  # two decimals: 1.2 is the classic 1 + p mistake
    ("13.se_val", [0.88, 0.876, 0.8764], [0.87, 0.89, 0.871]),
    ("12.ce_uniform", [2.3026, 2.30258], [2.35, 2.303, 2.3]),
    ("00.fc1_share", [98.3, 98.33], [98.0, 98.4]),
])
def test_tolerance_is_half_a_unit_of_the_last_asked_digit(key, right, wrong):
    for a in right:
        assert evaluate(key, a)[0] == "correct", a
    for a in wrong:
        assert evaluate(key, a)[0] == "wrong", a


def test_off_by_one_hint():
    _, message = evaluate("05.out_k5_s2_p1", EXERCISES["05.out_k5_s2_p1"].expected() + 1)
    assert "+1" in message or "取整" in message


def test_unknown_key():
    with pytest.raises(ValueError, match="does not exist"):
        evaluate("99.nope", 1)
    with pytest.raises(ValueError, match="does not exist"):
        question("99.nope")


def test_bool_and_choice_kinds(monkeypatch):
    monkeypatch.setitem(
        EXERCISES, "zz.bool", Exercise("zz.bool", "?", lambda: True, lambda a, e: "想一想", kind="bool")
    )
    monkeypatch.setitem(
        EXERCISES, "zz.choice", Exercise("zz.choice", "?", lambda: "Max", lambda a, e: "想一想", kind="choice")
    )
    assert evaluate("zz.bool", True)[0] == "correct"
    assert evaluate("zz.bool", np.bool_(True))[0] == "correct"
    assert evaluate("zz.bool", 1)[0] == "wrong"
    assert evaluate("zz.choice", " max ")[0] == "correct"
    assert evaluate("zz.choice", "avg")[0] == "wrong"
    assert evaluate("zz.choice", 3)[0] == "wrong"
