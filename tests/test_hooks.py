"""companion/hooks.py: a measurement with forward hooks changes nothing."""

import pytest
import torch
from torch import nn

from companion.hooks import run_with_hooks


def test_hooks_see_every_module_and_leave_nothing_behind():
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5), nn.Linear(3, 2)).train()
    seen = []
    run_with_hooks(model, torch.ones(2, 4), list(model.named_children()),
                   lambda name: lambda m, i, o: seen.append((name, m.training, tuple(o.shape))))
    assert seen == [("0", False, (2, 3)), ("1", False, (2, 3)), ("2", False, (2, 2))]  # measured in eval mode
    assert model.training and all(not m._forward_hooks for m in model.modules())


def test_a_failing_forward_is_one_clear_error_and_still_cleans_up():
    model = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"cannot run on x of shape \(2, 5\)"):
        run_with_hooks(model, torch.ones(2, 5), [("", model)], lambda name: lambda m, i, o: None)
    assert not model._forward_hooks and model.training
    with pytest.raises(TypeError, match="model of type function: expected an nn.Module"):
        run_with_hooks(lambda x: x, torch.ones(1), [], lambda name: None)
