"""companion/exercise.py: what an exercise is, and the shared hints."""

import pytest
import torch
from torch import nn

from companion.exercise import Exercise, generic, out_len, raises


def test_a_float_exercise_states_its_decimals():
    with pytest.raises(ValueError, match="states its decimals"):
        Exercise("zz.f", "?", lambda: 1.0, lambda a, e: "", kind="float")
    with pytest.raises(ValueError, match="kind='text'"):
        Exercise("zz.t", "?", lambda: 1, lambda a, e: "", kind="text")


def test_out_len_runs_a_layer_on_one_image():
    assert out_len(nn.Conv2d(1, 4, 3), 28) == (1, 4, 26, 26)
    assert out_len(nn.Conv2d(3, 1, 3), 5, channels=3) == (1, 1, 3, 3)


def test_generic_hints_say_too_large_or_too_small_and_never_the_answer():
    hint = generic("规则。")
    assert hint(12, 10) == "12 偏大了。规则。" and hint(8, 10) == "8 偏小了。规则。"
    assert hint("x", 10) == "规则。"


def test_raises_says_whether_a_layer_refuses_its_input():
    assert raises(nn.Conv2d(1, 32, 3), torch.zeros(4, 3, 28, 28))  # 3 channels for a 1-channel layer
    assert not raises(nn.Conv2d(1, 32, 3), torch.zeros(4, 1, 28, 28))
    assert raises(nn.Linear(9216, 128), torch.zeros(1, 64, 12, 12))  # not flattened
    with pytest.raises(TypeError, match="layer"):
        raises("conv", torch.zeros(1))
    with pytest.raises(TypeError, match="x"):
        raises(nn.Linear(2, 2), [1.0, 2.0])
