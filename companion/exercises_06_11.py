"""The exercises of lessons 06–11 (dropout, the linear layers, activation and output, training,
after training, the claims ledger)."""

from __future__ import annotations

import torch
from torch import nn

from .exercise import Exercise, generic, out_len
from .model import DigitRecognizer, build_model, conv_maps, features
from .params import count_params

__all__ = ["LESSONS_06_11"]


def _in_features(size: int) -> int:
    with torch.no_grad():
        return nn.functional.max_pool2d(conv_maps(DigitRecognizer(), torch.zeros(1, 1, size, size)), 2)[0].numel()


def _unpooled_over_pooled() -> int:
    x = torch.zeros(1, 1, 28, 28)
    with torch.no_grad():
        return conv_maps(DigitRecognizer(), x)[0].numel() // features(DigitRecognizer(), x)[0].numel()


def _flat_dropout2d() -> str:
    import warnings

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about exactly this use
        kept = nn.Dropout2d(0.5).train()(torch.ones(64, 128)) != 0
    whole_rows = bool((kept.all(dim=1) | (~kept).all(dim=1)).all())
    return "整行" if whole_rows else "元素"


def _feature_bytes_per_image() -> int:
    f = features(build_model("fixed"), torch.zeros(1, 1, 28, 28))
    return f.numel() * f.element_size()


LESSONS_06_11: list[Exercise] = [
    # ── 06_dropout ──
    Exercise(
        "06.scale_p02",
        "nn.Dropout2d(p=0.2) 在训练模式下，没有被丢弃的通道里的每个值被乘以多少？（保留两位小数）",
        lambda: nn.Dropout2d(0.2).train()(torch.ones(1, 64, 2, 2)).max().item(),
        lambda a, e: "每个值以 1−p 的概率留下；要让平均输出仍等于输入，留下时必须乘上多少？",
        kind="float",
        decimals=2,
    ),
    Exercise(
        "06.eval_sum",
        "把源笔记的例子 x = torch.arange(1., 37.).view(1, 4, 3, 3).repeat(2, 1, 1, 1) 送进 eval 模式的 "
        "nn.Dropout2d(0.25)，输出的所有元素之和是多少？",
        lambda: int(
            nn.Dropout2d(0.25).eval()(torch.arange(1.0, 37.0).view(1, 4, 3, 3).repeat(2, 1, 1, 1)).sum().item()
        ),
        generic("评估模式下 Dropout 既不丢弃也不放大；剩下的就是对两个样本的 1..36 求和。"),
    ),
    Exercise(
        "06.pool_after_elem_drop",
        "对 torch.arange(1., 17.).view(1, 1, 4, 4)（第 05 课的例子）做一次 p=0.25 的元素级 dropout，"
        "掩码恰好只丢掉 7 和 8 两个元素；之后再做 F.max_pool2d(·, 2)。输出右上角的值是多少？（保留两位小数）",
        lambda: nn.functional.max_pool2d(
            torch.arange(1.0, 17.0).view(1, 1, 4, 4)
            * torch.tensor([[1.0, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]])
            / (1 - 0.25),
            2,
        )[0, 0, 0, 1].item(),
        lambda a, e: "被丢掉的元素变成 0，池化会在窗口里改选剩下的最大值；别忘了幸存者要乘 1/(1−p)。",
        kind="float",
        decimals=2,
    ),
    Exercise(
        "06.flat_dropout2d",
        "nn.Dropout2d(0.5) 作用在形状为 (N, 128) 的张量上（源笔记的 dropout2）。它是一次丢弃一整行（填“整行”），"
        "还是一个一个元素地丢弃（填“元素”）？",
        _flat_dropout2d,
        lambda a, e: "第 9 节的掩码图里，每一行是一个样本；看黑格是成行出现，还是散落在各处。"
        "(N, 128) 里已经没有“通道 × 空间”的结构了。",
        kind="choice",
    ),
    # ── 07_linear ──
    Exercise(
        "07.params_fc1_512",
        "把 fc1 改成 nn.Linear(9216, 512)，这一层有多少个参数？",
        lambda: count_params(nn.Linear(9216, 512)),
        generic("权重矩阵的形状是 (out_features, in_features)，再给每个输出加一个偏置。"),
    ),
    Exercise(
        "07.in_features_32",
        "输入换成 1×32×32 的图片、卷积和池化都不变，fc1 的 in_features 要改成多少才能接得上？",
        lambda: _in_features(32),
        generic("两次 3×3 卷积各让边长减 2，2×2 池化再减半；最后乘上 64 个通道。"),
    ),
    Exercise(
        "07.params_direct",
        "如果去掉 fc1，直接用一个 nn.Linear 把展平后的 9216 维特征映射到 10 类，这一层有多少个参数（含偏置）？",
        lambda: count_params(nn.Linear(9216, 10)),
        generic("权重是 10 × 9216，偏置每个输出一个。"),
    ),
    # ── 08_activation ──
    Exercise(
        "08.ce_uniform",
        "10 个类别的 logits 全部相等（例如全是 0）时，nn.CrossEntropyLoss 的损失是多少？（保留 4 位小数）",
        lambda: nn.functional.cross_entropy(torch.zeros(1, 10), torch.tensor([3])).item(),
        lambda a, e: "logits 全相等时 softmax 给每个类别同样的概率；损失是正确类别概率的负对数（自然对数）。",
        kind="float",
        decimals=4,
    ),
    Exercise(
        "08.relu_zeros",
        "torch.relu(torch.arange(-3.0, 4.0)) 的结果里有几个 0？",
        lambda: int((torch.relu(torch.arange(-3.0, 4.0)) == 0).sum()),
        generic("先写出 arange 给出的所有数（不含终点），再数哪些会被 ReLU 变成 0——别漏了 0 本身。"),
    ),
    Exercise(
        "08.underflow_gap",
        "logits 为 [0, g]（float32，g 取整数）时，"
        "torch.log(torch.softmax(logits, 0))[0] 从哪个最小的 g 开始变成 -inf？",
        lambda: next(
            g for g in range(1, 400)
            if torch.isinf(torch.log(torch.softmax(torch.tensor([0.0, float(g)]), 0))[0])
        ),
        generic("softmax 的第 0 项约等于 exp(−g)；float32 最小的次正规数是 2 的 −149 次方，"
                 "比它一半还小的数会被舍入成 0。也可以写个循环直接试。"),
    ),
    # ── 09_training ──
    Exercise(
        "09.steps_per_epoch",
        "用 4,000 张训练图、batch_size=128 训练一轮（最后一个不满的批次也算一步），优化器一共走多少步？",
        lambda: len(torch.arange(4000).split(128)),
        generic("每一步处理一个批次；4000 除以 128 除不尽时，剩下的图单独组成最后一批。"),
    ),
    Exercise(
        "09.min_smoothed_loss",
        "label_smoothing=0.1、10 个类别时，若网络的预测分布恰好等于平滑后的目标分布，"
        "交叉熵损失是多少？（保留两位小数）",
        lambda: torch.nn.functional.cross_entropy(
            torch.tensor([[0.91] + [0.01] * 9]).log(), torch.tensor([0]), label_smoothing=0.1
        ).item(),
        lambda a, e: "平滑后正确类别的目标概率是 1 − ε + ε/K，其余每类 ε/K；预测等于目标时，"
        "损失就是目标分布的熵 −Σ q·ln q。",
        kind="float",
        decimals=2,
    ),
    Exercise(
        "09.state_dict_tensors",
        "保存的检查点里，state_dict 一共有多少个张量？",
        lambda: len(build_model("fixed").state_dict()),
        generic("只有 Conv2d 和 Linear 有参数，每层一个 weight、一个 bias；Dropout 没有参数，也没有缓冲区。"),
    ),
    Exercise(
        "09.feature_cache_mb",
        "第二阶段把每张训练图的特征图存起来。课程样本的 4,000 张训练图，这些特征图（float32）一共占多少 MB？"
        "（1 MB = 10⁶ 字节，四舍五入到整数）",
        lambda: round(4000 * _feature_bytes_per_image() / 1e6),
        generic("每张图的特征图是池化层的输出 64×12×12 个数，float32 每个数 4 字节。"),
    ),
    # ── 10_trained ──
    Exercise(
        "10.se_1000",
        "在 1,000 张测试图上测得准确率 97.0%。把每张图看成一次对错的抽样，这个准确率的标准误是多少个百分点？"
        "（保留一位小数）",
        lambda: 100 * (0.97 * 0.03 / 1000) ** 0.5,
        lambda a, e: "标准误 = √(p(1−p)/n)，p 用小数 0.97，n 是测试图的张数；最后乘 100 换成百分点。",
        kind="float",
        decimals=1,
    ),
    Exercise(
        "10.nopool_macs_ratio",
        "去掉最大池化后，fc1 处理一张图的乘加次数是原来的几倍（fc1 的输出仍是 128）？",
        lambda: _unpooled_over_pooled(),
        generic("fc1 的乘加次数 = 输入维数 × 输出维数；比一比池化前后每张图的特征图各有多少个数。"),
    ),
    Exercise(
        "10.overfitting_word",
        "训练损失 0.004、测试损失 0.11，训练准确率 100%、测试准确率 97.6%。"
        "这是“过拟合”还是“欠拟合”？（填这两个词之一）",
        lambda: "过拟合",
        lambda a, e: "欠拟合时训练集上也学不好；这里训练集几乎全对，没见过的图却差一截。",
        kind="choice",
    ),

    Exercise(
        "11.floor_case",
        "n=27、kernel_size=4、stride=2、padding=0 时，笔记的原式给出 12.5。nn.Conv2d 实际输出的边长是多少？",
        lambda: out_len(nn.Conv2d(1, 1, kernel_size=4, stride=2), 27)[-1],
        generic("原式缺了一步：除以步长后要向下取整，再加 1。"),
    ),
    Exercise(
        "11.classifier_with_bias",
        "直接在 9216 维特征上接 10 类分类器 nn.Linear(9216, 10)，连同偏置共有多少参数？",
        lambda: count_params(nn.Linear(9216, 10)),
        generic("权重 9216×10，再加上每个输出一个偏置。"),
    ),
]
