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
    with pytest.raises(TypeError, match="recipe='course' must be a Recipe"):
        lr_schedule("course", steps_per_epoch=3)


def test_lr_schedule_lengths():
    assert len(lr_schedule(EXAMPLES.with_(epochs=2), steps_per_epoch=3)) == 6
    assert len(lr_schedule(COURSE, steps_per_epoch=4)) == 2 + 3  # head: 4 steps of 64 are one batch of 256


def _updates(opt_factory, steps):
    import torch

    from companion.model import make_model

    m = make_model("fixed", seed=0).eval()
    m.conv1.requires_grad_(False)  # a frozen layer: no gradient, left alone by either optimiser
    opt = opt_factory([p for p in m.parameters() if p.requires_grad])
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 1, 28, 28, generator=gen), torch.randint(0, 10, (8,), generator=gen)
    for _ in range(steps):
        loss = torch.nn.functional.nll_loss(m(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return opt, m.state_dict()


def test_adamw_is_fused_on_this_cpu_and_updates_as_the_default_does():
    import torch

    from companion.recipes import adamw

    for steps, atol in ((1, 1e-7), (3, 1e-5)):  # one step: the same gradients; then they differ by round-off too
        fused, after = _updates(lambda ps: adamw(ps, lr=1e-3, weight_decay=0.01), steps)
        plain, expected = _updates(lambda ps: torch.optim.AdamW(ps, lr=1e-3, weight_decay=0.01), steps)
        assert fused.defaults["fused"] is True and not plain.defaults["fused"]
        for name, value in expected.items():
            torch.testing.assert_close(after[name], value, rtol=0, atol=atol, msg=name)
        assert torch.equal(after["conv1.weight"], expected["conv1.weight"])


def test_adamw_falls_back_where_torch_has_no_fused_kernel(monkeypatch):
    import torch

    from companion.recipes import adamw

    real = torch.optim.AdamW

    def no_fused(params, **kw):
        if kw.get("fused"):
            raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of supported devices")
        return real(params, **kw)

    monkeypatch.setattr(torch.optim, "AdamW", no_fused)
    opt = adamw([torch.nn.Parameter(torch.zeros(3))], lr=0.5)
    assert isinstance(opt, real) and not opt.defaults["fused"] and opt.defaults["lr"] == 0.5
    with pytest.raises(ValueError, match="empty parameter list"):
        adamw([], lr=0.5)


def test_both_stages_use_the_fused_adamw():
    from companion.model import make_model
    from companion.recipes import head_optimizer, make_optimizer

    m = make_model("fixed", seed=0)
    assert make_optimizer(m, COURSE).defaults["fused"] is True
    opt, _ = head_optimizer(m, COURSE, 10)
    assert opt.defaults["fused"] is True and opt.defaults["lr"] == COURSE.head_lr
    assert not make_optimizer(m, EXAMPLES).defaults.get("fused")  # Adadelta as pytorch/examples has it
