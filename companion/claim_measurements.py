"""The claims of the note that only a measurement can settle: robustness to small deformations
(lesson 08's experiment), what the controlled training runs show about overfitting, compute and
fc1's width (lesson 16), channel dropout's speed (lesson 10), and where dropout goes.

Evidence about training names what was compared and how consistently, not the numbers: those
change in their last digits from one CPU to another, and lesson 16 prints them.
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


def _by_seed(variant: str, against: str, measure_of) -> list[tuple[float, float]]:
    """Per seed, ``(measure_of(variant's run), measure_of(against's run))``."""
    by = {(r.variant, r.seed): r for r in experiments.controlled_runs()}
    return [(measure_of(by[(variant, s)]), measure_of(by[(against, s)])) for s in experiments.SEEDS]


def _paired(better: str, worse: str, measure_of) -> int:
    """In how many seeds ``measure_of(run)`` is smaller for variant ``better`` than for ``worse``."""
    return sum(a < b for a, b in _by_seed(better, worse, measure_of))


def _gap(run: experiments.Run) -> float:
    return run.val_loss - run.train_loss


#: how often all 3 seeds fall on one named side when the change makes no difference
CHANCE = "若两者其实没有差别，3 个种子全部落在事先指定的一边的机会是 1/8"


def _mean_difference(variant: str, against: str, measure_of) -> float:
    """The mean over seeds of ``measure_of(variant run) − measure_of(against run)``."""
    pairs = _by_seed(variant, against, measure_of)
    return sum(a - b for a, b in pairs) / len(pairs)


def _consistently(better: str, worse: str, measure_of, margin: float) -> bool:
    """``better`` has the smaller measure in every seed, by more than ``margin`` on average: a
    difference that a few images or another CPU's rounding do not turn around."""
    return (_paired(better, worse, measure_of) == len(experiments.SEEDS)
            and _mean_difference(worse, better, measure_of) > margin)


def _verdict(count: int) -> str:
    """All seeds agree: holds; some: holds with a condition; none: does not hold."""
    return HOLDS if count == len(experiments.SEEDS) else CONDITION if count else FAILS


def pool_robustness() -> Verdict:
    """Lesson 08's method: 200 normalised validation digits of the sample, the seed-0 network,
    shifts that fill with zeros, average pooling as the control."""
    from .sample import load_sample

    x, _ = load_sample("val")
    rel, _ = measure(_model(), x[:200], {"平移 1 px": TRANSFORMS["平移 1 px"], "旋转 10°": TRANSFORMS["旋转 10°"]})
    s, r = rel["平移 1 px"], rel["旋转 10°"]
    max_helps = s["最大池化"] < s["池化前"] and r["最大池化"] < r["池化前"]
    return Verdict(
        CONDITION if max_helps else FAILS,
        f"200 张验证集数字平移 1 像素，特征的平均相对变化：池化前 {s['池化前']:.2f}，最大池化后 {s['最大池化']:.2f}，"
        f"平均池化后 {s['平均池化']:.2f}；旋转 10°：{r['池化前']:.2f} → {r['最大池化']:.2f}（平均池化 "
        f"{r['平均池化']:.2f}）。这是随机权重的网络：变化变小了但远不为 0，平均池化同样有效，帮忙的是降低分辨率；"
        f"训练后的网络上两种池化的差别见第 16 课。笔记说的“缩放”没有检验",
    )


def pool_noise() -> Verdict:
    """Lesson 08's method with noise (standard deviation 0.1) added to the images."""
    from .sample import load_sample

    x, _ = load_sample("val")
    rel, _ = measure(_model(), x[:200], {"噪声 0.1": TRANSFORMS["噪声 0.1"]})
    n = rel["噪声 0.1"]
    helps = n["最大池化"] < n["池化前"]
    return Verdict(
        CONDITION if helps else FAILS,
        f"200 张验证集数字加上标准差 0.1 的噪声，特征的平均相对变化：池化前 {n['池化前']:.2f}，最大池化后 "
        f"{n['最大池化']:.2f}，平均池化后 {n['平均池化']:.2f}。条件：随机权重的网络、这一种噪声；"
        "变化变小了，但远不为 0",
    )


def pool_overfitting() -> Verdict:
    pool_params = count_params(nn.MaxPool2d(2))
    with_pool, without = 64 * 12 * 12 * 128 + 128, 64 * 24 * 24 * 128 + 128
    fewer = pool_params == 0 and with_pool == count_params(_model().fc1)
    n = _paired("baseline", "no_pool", _gap)
    seeds = len(experiments.SEEDS)
    return Verdict(
        (CONDITION if n else FAILS) if fewer else FAILS,
        f"池化本身 {pool_params} 个参数，却让 fc1 从 {without:,} 降到 {with_pool:,}；受控训练中（同样的数据、"
        f"预算与种子），有池化时训练/验证损失的差距在 {n}/{seeds} 个种子上更小（{CHANCE}）。条件：卷积层是带着池化"
        f"训练的，对照只换掉了全连接部分，不是一个从头不带池化训练的网络（第 16 课）",
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
    table_with, table_without = macs_table(model, x), macs_table(NoPool().eval(), x)
    fc_with = sum(r.macs for r in table_with if r.name.startswith("fc"))
    fc_without = sum(r.macs for r in table_without if r.name.startswith("fc"))
    all_with, all_without = sum(r.macs for r in table_with), sum(r.macs for r in table_without)
    seeds = len(experiments.SEEDS)
    worse_loss = _paired("baseline", "no_pool", lambda r: r.val_loss)  # seeds where no pooling had the higher loss
    acc = abs(_mean_difference("no_pool", "baseline", lambda r: r.val_acc))
    return Verdict(
        HOLDS if all_with < all_without else FAILS,
        f"全连接层每张图 {fc_with:,} 次乘加，不池化要 {fc_without:,} 次（{fc_without / fc_with:.1f} 倍）；整个网络是 "
        f"{all_with:,} 对 {all_without:,} 次（{all_without / all_with:.1f} 倍：卷积层的计算不变）。受控训练中不池化的"
        f"验证损失在 {worse_loss}/{seeds} 个种子上更高，验证准确率相差"
        f"{'不到 2 个百分点' if acc < 0.02 else '超过 2 个百分点'}（第 16 课）",
    )


def dropout_overfitting() -> Verdict:
    """Holds only when dropout narrows the gap *and* clearly improves the validation loss and
    accuracy (in every seed, by a margin); the gap alone narrows whenever the training loss
    rises. Differences smaller than their margins are named as such, not counted: with 500
    validation digits they turn around from one CPU to another."""
    seeds = len(experiments.SEEDS)
    gap = _paired("baseline", "no_dropout", _gap)
    train_up = _paired("no_dropout", "baseline", lambda r: r.train_loss)
    val_better = _consistently("baseline", "no_dropout", lambda r: r.val_loss, 0.05)
    acc_better = _consistently("baseline", "no_dropout", lambda r: -r.val_acc, 0.01)
    each = {k: "更小" if _consistently("baseline", k, _gap, 0.02) else "没有一致的差别"
            for k in ("no_dropout1", "no_dropout2")}
    verdict = HOLDS if gap == seeds and val_better and acc_better else CONDITION if gap else FAILS
    outcome = ("验证损失和验证准确率也一致地更好" if val_better and acc_better else
               "验证损失与验证准确率没有一致地变好（差别见第 16 课逐种子的配对计数）")
    return Verdict(
        verdict,
        f"受控训练中（同样的数据、预算与种子，只改 dropout），有 dropout 时训练/验证损失的差距在 {gap}/{seeds} 个"
        f"种子上更小，而训练损失在 {train_up}/{seeds} 个种子上更高：差距变小主要因为训练集拟合得更差；{outcome}。"
        f"分开看，只去掉 dropout1 时差距{each['no_dropout1']}，只去掉 dropout2 时有 dropout 的差距{each['no_dropout2']}"
        f"（{CHANCE}；数值见第 16 课）",
    )


def dropout_placement() -> Verdict:
    torch.manual_seed(0)
    x = torch.randn(4, 8, 6, 6)
    keep = (torch.rand(4, 8, 1, 1) > 0.25).float() / 0.75
    same = torch.allclose(torch.relu(x * keep), torch.relu(x) * keep)
    return Verdict(CONVENTION, "这是习惯，不是事实，而且笔记说的“通常”与常见代码相反：本模型（即 pytorch/examples "
                               "早年的 Net，同一份代码，只算一个例子）、torchvision 的 AlexNet 和 d2l-zh 都把 dropout "
                               "放在激活之后（第 10 课）；"
                               f"对 ReLU 与通道 dropout 而言先后无关（两种顺序结果完全相同：{same}）")


def channelwise_faster() -> Verdict:
    x = torch.ones(64, 64, 12, 12)
    channel, element = nn.Dropout2d(0.25).train(), nn.Dropout(0.25).train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as lesson 10 times it: other processes disturb one thread least
    try:
        channel(x), element(x)  # warm up
        t_channel = min(timeit.repeat(lambda: channel(x), number=10, repeat=5))
        t_element = min(timeit.repeat(lambda: element(x), number=10, repeat=5))
    finally:
        torch.set_num_threads(threads)
    faster = t_channel * 2 < t_element
    return Verdict(
        CONDITION if faster else FAILS,
        "本机 CPU 实测：对 64×64×12×12 的张量，通道 dropout（每个通道抽一个随机数）"
        + ("比元素 dropout 快一倍以上" if faster else "没有比元素 dropout 快一倍以上")
        + f"；快在要抽的随机数少（{x.shape[0] * x.shape[1]:,} 个对 {x.numel():,} 个）。"
        "条件：只在 CPU 上量过，GPU 上没有测；倍数随机器而变，第 10 课量过",
    )


def fc_width() -> Verdict:
    """Compared without dropout2, so that 32 units do not also lose half of themselves to dropout;
    the same four-epoch budget for both, so under-fitting is not separated from capacity."""
    less_gap = _paired("narrow_no_dropout2", "no_dropout2", _gap)
    lower_acc = _consistently("no_dropout2", "narrow_no_dropout2", lambda r: -r.val_acc, 0.005)
    higher_train = _paired("no_dropout2", "narrow_no_dropout2", lambda r: r.train_loss)
    seeds = len(experiments.SEEDS)
    return Verdict(
        CONDITION if less_gap or lower_acc else FAILS,
        f"受控训练中把 fc1 从 128 个输出减到 32 个（两者都去掉 dropout2，免得 32 个单元再被丢掉一半）：训练/验证损失的"
        f"差距在 {less_gap}/{seeds} 个种子上更小，验证准确率{'一致地更低' if lower_acc else '没有一致的差别'}。"
        f"条件：预算相同（{experiments.HEAD_EPOCHS} 轮），窄的头训练损失在 {higher_train}/{seeds} 个种子上更高，"
        "还没拟合好；“表达能力受限”与“训练不够”没有分开（第 16 课）",
    )


def fc_wide() -> Verdict:
    return Verdict(UNTESTED, "课程没有训练 512 个输出的 fc1：它的参数是 128 个输出时的 4 倍，受控训练的耗时也约 4 倍；"
                             "可以仿照第 16 课自己试")
