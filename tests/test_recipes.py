"""companion/recipes.py: recipes hold only values that can train, and the learning rate of every step."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.recipes import COURSE, EXAMPLES, MAX_EPOCHS, Recipe, lr_schedule


@pytest.mark.parametrize("field, value", [
    ("lr", math.inf), ("lr", math.nan), ("lr", 0), ("lr", -1e-3), ("lr", "0.1"), ("lr", True),
    ("head_lr", math.inf), ("epochs", math.inf), ("epochs", MAX_EPOCHS + 1), ("epochs", 0), ("epochs", math.nan),
    ("head_epochs", -1), ("head_epochs", math.inf), ("weight_decay", -1), ("weight_decay", math.inf),
    ("momentum", 5), ("momentum", 1), ("momentum", -0.1), ("gamma", 0), ("gamma", 1.5), ("gamma", math.nan),
    ("warmup", 0), ("warmup", 1), ("label_smoothing", 1), ("batch_size", 0), ("batch_size", 2**31),
    ("batch_size", 1.5), ("head_batch_size", 0), ("dropout", (0.5,)), ("dropout", ("a", "b")),
    ("freeze", None), ("freeze", (("conv1", 2),)), ("freeze", ((1, 2, 3),)), ("optimizer", "adam"),
    ("schedule", ["onecycle"]),
])
def test_absurd_values_are_refused_by_name(field, value):
    with pytest.raises(ValueError, match=f"{field}|freeze item"):
        COURSE.with_(**{field: value})


def test_edges_that_can_train_are_accepted():
    r = EXAMPLES.with_(epochs=MAX_EPOCHS, gamma=1.0, momentum=0.0, weight_decay=0.0, head_epochs=0, lr=1)
    assert r.epochs == MAX_EPOCHS and Recipe("r", freeze=[["conv1", 0.5]]).freeze == [["conv1", 0.5]]


@settings(max_examples=60, deadline=None)
@given(lr=st.floats(allow_nan=True, allow_infinity=True), momentum=st.floats(-2, 2), gamma=st.floats(-1, 2))
def test_what_a_recipe_accepts_is_finite_and_in_range(lr, momentum, gamma):
    try:
        r = Recipe("r", optimizer="sgd", lr=lr, momentum=momentum, gamma=gamma, schedule="step")
    except ValueError:
        assert not (0 < lr <= 1e3 and 0 <= momentum < 1 and 0 < gamma <= 1)
    else:
        assert math.isfinite(r.lr) and 0 <= r.momentum < 1 and 0 < r.gamma <= 1


@pytest.mark.parametrize("steps", [0, -5, 2.5, True, "3", None])
def test_lr_schedule_needs_a_positive_whole_number_of_steps(steps):
    with pytest.raises(ValueError, match="steps_per_epoch="):
        lr_schedule(COURSE, steps_per_epoch=steps)
    with pytest.raises(ValueError, match="expected a Recipe"):
        lr_schedule("course", steps_per_epoch=3)


def test_lr_schedule_lengths():
    assert len(lr_schedule(EXAMPLES.with_(epochs=2), steps_per_epoch=3)) == 6
    assert len(lr_schedule(COURSE, steps_per_epoch=4)) == 2 + 3  # head: 4 steps of 64 are one batch of 256
