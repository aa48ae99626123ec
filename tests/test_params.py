import re

import pytest
import torch
from torch import nn

from companion import DigitRecognizer, count_params, format_macs, format_params, macs_table, param_table
from companion.params import ParamRow


def test_param_table_of_the_note_model():
    rows = param_table(DigitRecognizer())
    assert [(r.name, r.count) for r in rows] == [
        ("conv1.weight", 288), ("conv1.bias", 32),
        ("conv2.weight", 18432), ("conv2.bias", 64),
        ("fc1.weight", 1179648), ("fc1.bias", 128),
        ("fc2.weight", 1280), ("fc2.bias", 10),
    ]
    assert sum(r.count for r in rows) == 1_199_882
    text = format_params(rows)
    assert text.splitlines()[-1].split()[:2] == ["合计", "1,199,882"]


def test_count_params_trainable_only():
    m = nn.Linear(4, 2)
    m.bias.requires_grad_(False)
    assert count_params(m) == 10 and count_params(m, trainable_only=True) == 8


def test_macs_of_the_note_model():
    rows = macs_table(DigitRecognizer(), torch.zeros(1, 1, 28, 28))
    macs = {r.name: r.macs for r in rows}
    assert macs == {"conv1": 32 * 26 * 26 * 9, "conv2": 64 * 24 * 24 * 32 * 9, "fc1": 9216 * 128, "fc2": 1280}
    total = sum(macs.values())
    assert total == 11_992_448
    assert round(100 * macs["conv2"] / total, 1) == 88.5
    assert "88.53%" in format_macs(rows)


def test_macs_scale_with_batch_and_groups():
    conv = nn.Conv2d(4, 8, 3, groups=2)
    (row,) = macs_table(conv, torch.zeros(2, 4, 5, 5))
    assert row.macs == 2 * 8 * 3 * 3 * (2 * 3 * 3)


def test_macs_match_a_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    model = DigitRecognizer().eval()
    x = torch.zeros(1, 1, 28, 28)
    with FlopCounterMode(display=False) as counter:
        model(x)
    assert counter.get_total_flops() == 2 * sum(r.macs for r in macs_table(model, x))


def test_bad_inputs():
    with pytest.raises(ValueError):
        param_table("model")
    with pytest.raises(ValueError):
        macs_table(DigitRecognizer(), None)


def test_zero_totals_have_no_share():
    empty = macs_table(DigitRecognizer(), torch.zeros(0, 1, 28, 28))
    assert [r.macs for r in empty] == [0, 0, 0, 0]
    text = format_macs(empty)
    assert text.splitlines()[-1].split() == ["合计", "0", "-"]
    rows = [ParamRow("weight", (0, 4), 0, True), ParamRow("bias", (0,), 0, True)]
    assert format_params(rows).splitlines()[-1].split() == ["合计", "0", "-"]
    assert format_params([]).splitlines()[-1].split() == ["合计", "0", "-"]


@pytest.mark.parametrize("model, x, named", [
    (nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(), nn.Linear(12, 2)), torch.zeros(1, 1, 8), "0 (Conv1d)"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)), torch.zeros(2, 1, 5, 5), "1 (BatchNorm2d)"),
    (nn.Sequential(nn.Embedding(4, 2)), torch.zeros(1, dtype=torch.long), "0 (Embedding)"),
])
def test_layers_it_cannot_count_are_named(model, x, named):
    with pytest.raises(ValueError, match=rf"Conv2d and Linear layers only; Sequential also has {re.escape(named)}"):
        macs_table(model, x)


def test_layers_without_parameters_are_fine():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, affine=False), nn.ReLU(), nn.MaxPool2d(3))
    assert [r.name for r in macs_table(model, torch.zeros(1, 1, 5, 5))] == ["0"]


def test_tables_speak_the_lessons_chinese_and_their_columns_line_up():
    from companion.tables import text_width

    model = DigitRecognizer().eval()
    x = torch.zeros(1, 1, 28, 28)
    params_text = format_params(param_table(model))
    macs_text = format_macs(macs_table(model, x))
    assert params_text.splitlines()[0].split() == ["参数", "形状", "个数", "占比"]
    assert macs_text.splitlines()[0].split() == ["层", "类型", "输出", "乘加次数", "占比"]
    for text in (params_text, macs_text):
        head, dashes, *_ = text.splitlines()
        assert text_width(head) == len(dashes)  # the right-aligned last column ends where its dashes end
