"""The claims of the note that only a measurement can settle: robustness to small deformations
(lesson 05's experiment), what the controlled training runs show about overfitting, compute and
fc1's width (lesson 10), channel dropout's speed (lesson 06), and where dropout goes.

Evidence about training names what was compared and how consistently, not the numbers: those
change in their last digits from one CPU to another, and lesson 10 prints them.
"""

from __future__ import annotations

import timeit

import torch
from torch import nn

from . import experiments
from .claim_checks import CONDITION, CONVENTION, FAILS, HOLDS, UNTESTED, Verdict, _model
from .params import count_params, macs_table
from .robustness import TRANSFORMS, measure

__all__ = ["pool_robustness", "pool_overfitting", "pool_compute", "dropout_overfitting", "dropout_placement",
           "channelwise_faster", "fc_width", "fc_wide"]


def _paired(better: str, worse: str, measure_of) -> int:
    """In how many seeds ``measure_of(run)`` is smaller for variant ``better`` than for ``worse``."""
    runs = experiments.controlled_runs()
    by = {(r.variant, r.seed): r for r in runs}
    return sum(measure_of(by[(better, s)]) < measure_of(by[(worse, s)]) for s in experiments.SEEDS)


def _gap(run: experiments.Run) -> float:
    return run.test_loss - run.train_loss


def _verdict(count: int) -> str:
    """All seeds agree: holds; some: holds with a condition; none: does not hold."""
    return HOLDS if count == len(experiments.SEEDS) else CONDITION if count else FAILS


def pool_robustness() -> Verdict:
    """Lesson 05's method: 200 normalised test digits of the sample, the seed-0 network, shifts
    that fill with zeros, average pooling as the control."""
    from .sample import load_sample

    x, _ = load_sample("test")
    rel, _ = measure(_model(), x[:200], {"平移 1 px": TRANSFORMS["平移 1 px"], "旋转 10°": TRANSFORMS["旋转 10°"]})
    s, r = rel["平移 1 px"], rel["旋转 10°"]
    max_helps = s["最大池化"] < s["池化前"] and r["最大池化"] < r["池化前"]
    return Verdict(
        CONDITION if max_helps else FAILS,
        f"200 张数字平移 1 像素，特征的平均相对变化：池化前 {s['池化前']:.2f}，最大池化后 {s['最大池化']:.2f}，"
        f"平均池化后 {s['平均池化']:.2f}；旋转 10°：{r['池化前']:.2f} → {r['最大池化']:.2f}（平均池化 "
        f"{r['平均池化']:.2f}）。变化变小了但远不为 0，而平均池化同样有效：帮忙的是降低分辨率，不是取最大值",
    )


def pool_overfitting() -> Verdict:
    pool_params = count_params(nn.MaxPool2d(2))
    with_pool, without = 64 * 12 * 12 * 128 + 128, 64 * 24 * 24 * 128 + 128
    fewer = pool_params == 0 and with_pool == count_params(_model().fc1)
    n = _paired("baseline", "no_pool", _gap)
    seeds = len(experiments.SEEDS)
    return Verdict(
        _verdict(n) if fewer else FAILS,
        f"池化本身 {pool_params} 个参数，却让 fc1 从 {without:,} 降到 {with_pool:,}；受控训练中（同样的数据、"
        f"预算与种子），有池化时训练/测试损失的差距在 {n}/{seeds} 个种子上更小（第 10 课）",
    )


def pool_compute() -> Verdict:
    class NoPool(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            base = _model()
            self.conv1, self.conv2 = base.conv1, base.conv2
            self.fc1, self.fc2 = nn.Linear(64 * 24 * 24, 128), base.fc2

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
            return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))

    x = torch.zeros(1, 1, 28, 28)
    model = _model().eval()
    model.dropout2 = nn.Dropout(0.5)  # the note's Dropout2d warns on (N, 128); it adds no multiply-adds
    fc_with = sum(r.macs for r in macs_table(model, x) if r.name.startswith("fc"))
    fc_without = sum(r.macs for r in macs_table(NoPool().eval(), x) if r.name.startswith("fc"))
    n = _paired("no_pool", "baseline", lambda r: r.test_acc)  # seeds where no pooling did worse
    return Verdict(
        HOLDS if fc_with < fc_without else FAILS,
        f"全连接层每张图 {fc_with:,} 次乘加，不池化要 {fc_without:,} 次（{fc_without / fc_with:.1f} 倍）；"
        f"受控训练中不池化的测试准确率在 {n}/{len(experiments.SEEDS)} 个种子上更低，省下的计算没有换来损失（第 10 课）",
    )


def dropout_overfitting() -> Verdict:
    n = _paired("baseline", "no_dropout", _gap)
    return Verdict(
        _verdict(n),
        f"受控训练中（同样的数据、预算与种子，只改 dropout），有 dropout 时训练/测试损失的差距在 "
        f"{n}/{len(experiments.SEEDS)} 个种子上更小（数值见第 10 课）",
    )


def dropout_placement() -> Verdict:
    torch.manual_seed(0)
    x = torch.randn(4, 8, 6, 6)
    keep = (torch.rand(4, 8, 1, 1) > 0.25).float() / 0.75
    same = torch.allclose(torch.relu(x * keep), torch.relu(x) * keep)
    return Verdict(CONVENTION, "这是习惯，不是事实：本模型与 pytorch/examples 都把 dropout 放在激活之后；"
                               f"对 ReLU 与通道 dropout 而言先后无关（两种顺序结果完全相同：{same}）")


def channelwise_faster() -> Verdict:
    x = torch.ones(64, 64, 12, 12)
    channel, element = nn.Dropout2d(0.25).train(), nn.Dropout(0.25).train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as lesson 06 times it: other processes disturb one thread least
    try:
        channel(x), element(x)  # warm up
        t_channel = min(timeit.repeat(lambda: channel(x), number=10, repeat=5))
        t_element = min(timeit.repeat(lambda: element(x), number=10, repeat=5))
    finally:
        torch.set_num_threads(threads)
    faster = t_channel * 2 < t_element
    return Verdict(
        HOLDS if faster else FAILS,
        "本机实测：对 64×64×12×12 的张量，通道 dropout（每个通道抽一个随机数）"
        + ("比元素 dropout 快一倍以上" if faster else "没有比元素 dropout 快一倍以上")
        + "；倍数随机器而变，第 06 课量过",
    )


def fc_width() -> Verdict:
    less_gap = _paired("narrow", "baseline", _gap)
    lower_acc = _paired("narrow", "baseline", lambda r: r.test_acc)
    seeds = len(experiments.SEEDS)
    verdict = HOLDS if less_gap == lower_acc == seeds else CONDITION if less_gap or lower_acc else FAILS
    return Verdict(
        verdict,
        f"受控训练中把 fc1 从 128 个输出减到 32 个：训练/测试损失的差距在 {less_gap}/{seeds} 个种子上更小"
        f"（过拟合风险更低），测试准确率在 {lower_acc}/{seeds} 个种子上更低（表达能力受限）（第 10 课）",
    )


def fc_wide() -> Verdict:
    return Verdict(UNTESTED, "课程没有训练 512 个输出的 fc1：它的参数是 128 个输出时的 4 倍，受控训练的耗时也约 4 倍；"
                             "可以仿照第 10 课自己试")
