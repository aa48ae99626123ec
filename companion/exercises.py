"""The exercises of every lesson: question, expected answer, hints (checked by ``companion.checker``).

Every expected value is computed from real torch layers when the check runs, so the
checkers stay true if a lesson changes its numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .model import DigitRecognizer, DigitRecognizerFixed, build_model, conv_maps, features
from .params import count_params

__all__ = ["Exercise", "EXERCISES"]

KINDS = ("int", "shape", "float", "bool", "choice")


@dataclass(frozen=True)
class Exercise:
    """One exercise: its question, how to compute the expected answer, and hints.

    ``kind`` is int | shape | float | bool | choice (a short string, case-insensitive); a
    float asks for ``decimals`` decimals, and the checker accepts half a unit of the last one."""

    key: str
    question: str
    expected: Callable[[], Any]
    hint: Callable[[Any, Any], str]
    kind: str = "int"
    decimals: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind={self.kind!r} must be one of {KINDS}")
        if (self.kind == "float") != (self.decimals is not None):
            raise ValueError(f"{self.key}: a float exercise states its decimals, and only a float one")


def _out_len(layer: nn.Module, size: int, channels: int = 1) -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(layer(torch.zeros(1, channels, size, size)).shape)


def _fc1_share() -> float:
    model = DigitRecognizer()
    return 100.0 * count_params(model.fc1) / count_params(model)


def _params_fc1_256() -> int:
    model = DigitRecognizer()
    model.fc1 = nn.Linear(9216, 256)
    model.fc2 = nn.Linear(256, 10)
    return count_params(model)


def _shape_after_pool() -> tuple[int, ...]:
    return tuple(features(DigitRecognizer(), torch.zeros(1, 1, 28, 28)).shape)


def _in_features(size: int) -> int:
    with torch.no_grad():
        return nn.functional.max_pool2d(conv_maps(DigitRecognizer(), torch.zeros(1, 1, size, size)), 2)[0].numel()


def _feature_bytes_per_image() -> int:
    f = features(build_model("fixed"), torch.zeros(1, 1, 28, 28))
    return f.numel() * f.element_size()


def _generic(rule: str) -> Callable[[Any, Any], str]:
    def hint(answer: Any, expected: Any) -> str:
        if isinstance(expected, int) and isinstance(answer, int):
            direction = "偏大" if answer > expected else "偏小"
            return f"{answer} {direction}了。{rule}"
        return rule

    return hint


def _hint_out_size(answer: Any, expected: Any) -> str:
    if isinstance(answer, int) and abs(answer - expected) == 1:
        return "只差 1：检查公式末尾的 “+1”，以及除以步长后是向下取整。"
    return "用公式 ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1，逐项代入 n、k、s、p、d。"


def _hint_params(answer: Any, expected: Any) -> str:
    if isinstance(answer, int) and answer > 0 and expected % answer == 0:
        return "像是只数了一部分：权重是 out×in×k×k，别漏了每个输出通道的偏置。"
    return "参数量 = 权重（out_channels × in_channels × k × k）+ 偏置（out_channels）。"


def _hint_shape(answer: Any, expected: Any) -> str:
    if isinstance(answer, tuple) and len(answer) != len(expected):
        return f"维度个数不对：答案应有 {len(expected)} 个维度（批大小、通道、高、宽）。"
    return "从 28×28 出发，两次 3×3 卷积各减 2，2×2 池化再减半；通道数看 conv2。"


EXERCISES: dict[str, Exercise] = {
    e.key: e
    for e in [
        Exercise(
            "00.shape_after_pool",
            "一张 1×1×28×28 的图片经过 conv1→ReLU→conv2→ReLU→max_pool2d(2) 后，形状是什么？（写成元组）",
            _shape_after_pool,
            _hint_shape,
            kind="shape",
        ),
        Exercise(
            "00.fc1_share",
            "fc1 的参数占整个模型参数的百分之多少？（保留一位小数，如 12.3）",
            _fc1_share,
            lambda a, e: "fc1 的参数 = 9216×128 + 128；用它除以模型参数总数，再乘 100。",
            kind="float",
            decimals=1,
        ),
        Exercise(
            "00.params_fc1_256",
            "若把 fc1 改成 256 个输出（fc2 相应改成 256→10），模型共有多少参数？",
            _params_fc1_256,
            _generic("卷积层不变；fc1 变成 9216×256+256，fc2 变成 256×10+10。"),
        ),
        Exercise(
            "03.out_k5_s2_p1",
            "nn.Conv2d(1, 8, kernel_size=5, stride=2, padding=1) 作用于 28×28 输入，输出的边长是多少？",
            lambda: _out_len(nn.Conv2d(1, 8, kernel_size=5, stride=2, padding=1), 28)[-1],
            _hint_out_size,
        ),
        Exercise(
            "03.out_dilation2",
            "nn.Conv2d(1, 1, kernel_size=3, dilation=2) 作用于 28×28 输入，输出的边长是多少？",
            lambda: _out_len(nn.Conv2d(1, 1, kernel_size=3, dilation=2), 28)[-1],
            _generic("空洞（dilation）d 让 k×k 的核覆盖 d(k−1)+1 个像素；再代入输出尺寸公式。"),
        ),
        Exercise(
            "03.params_rgb",
            "若输入是 RGB 彩色图（3 通道），nn.Conv2d(3, 32, 3) 有多少个参数？",
            lambda: count_params(nn.Conv2d(3, 32, 3)),
            _hint_params,
        ),
        Exercise(
            "03.same_padding_k7",
            "stride=1、kernel_size=7 时，padding 取多少才能让 28×28 的输出仍是 28×28？",
            lambda: next(p for p in range(8) if _out_len(nn.Conv2d(1, 1, 7, padding=p), 28)[-1] == 28),
            _generic("输出边长 = n + 2p − k + 1；要它等于 n，解出 p。"),
        ),
        # ── 01_nn_module ──
        Exercise(
            "01.plain_list_params",
            "某模型的 __init__ 里写了 self.layers = [nn.Linear(10, 10) for _ in range(3)] 和 "
            "self.out = nn.Linear(10, 2)。"
            "sum(p.numel() for p in model.parameters()) 等于多少？",
            lambda: (lambda m: (setattr(m, "layers", [nn.Linear(10, 10) for _ in range(3)]),
                                setattr(m, "out", nn.Linear(10, 2)), count_params(m))[-1])(nn.Module()),
            _generic("parameters() 只找得到登记过的子模块；想一想普通 list 会落进哪个“抽屉”。"),
        ),
        Exercise(
            "01.myblock_params",
            "源笔记的 MyBlock（nn.Conv2d(3, 64, 3) 后接 nn.BatchNorm2d(64)）共有多少个参数"
            "（parameters() 的元素总数）？",
            lambda: count_params(nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64))),
            _generic("卷积：权重 out×in×k×k 加每个输出通道一个偏置；BatchNorm 每个通道一个缩放、一个平移；"
                     "running_mean/running_var 是缓冲区，不算参数。"),
        ),
        Exercise(
            "01.bn_state_dict_len",
            "nn.BatchNorm2d(64).state_dict() 里有几个键？",
            lambda: len(nn.BatchNorm2d(64).state_dict()),
            _generic("state_dict 收录参数和缓冲区；"
                     "把 named_parameters() 与 named_buffers() 的名字都数上，别漏了那个整数计数器。"),
        ),
        # ── 02_super ──
        Exercise(
            "02.diamond_mro_len",
            "class Left(Base)、class Right(Base)、class Child(Left, Right)（Base 直接继承 object）。"
            "len(Child.__mro__) 是多少？",
            lambda: (
                lambda base: len(type("Child", (type("Left", (base,), {}), type("Right", (base,), {})), {}).__mro__)
            )(type("Base", (), {})),
            _generic("MRO 里每个类恰好出现一次，别忘了最末尾的 object；写出这几个类再 print(Child.__mro__) 验证。"),
        ),
        Exercise(
            "02.fixed_module_index",
            "在 companion.DigitRecognizerFixed.__mro__ 中，nn.Module 的下标（从 0 数起）是多少？",
            lambda: DigitRecognizerFixed.__mro__.index(nn.Module),
            _generic("MRO 从类自己开始（下标 0），沿继承链一路向上；DigitRecognizerFixed 继承谁，那个类又继承谁？"),
        ),
        # ── 04_conv2 ──
        Exercise(
            "04.params_k5",
            "若 conv2 改用 5×5 的核，即 nn.Conv2d(32, 64, 5)，它有多少个参数？",
            lambda: count_params(nn.Conv2d(32, 64, 5)),
            _hint_params,
        ),
        Exercise(
            "04.rf_three_convs",
            "在 conv2 之后再接一层 3×3、步长 1 的卷积。第三层的一个输出值受输入图片中多大的正方形区域影响？"
            "答边长（像素）。",
            lambda: int(
                (nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1, bias=False) for _ in range(3)])(
                    nn.functional.pad(torch.ones(1, 1, 1, 1), (7, 7, 7, 7))
                ) != 0)[0, 0].any(dim=0).sum()
            ),
            _generic("回想第 4 节：conv1 的一个输出看 3×3，conv2 看 5×5；每多一层 3×3 卷积，四周各多看一圈。"),
        ),
        Exercise(
            "04.macs_32px",
            "如果输入图片是 32×32（而不是 28×28），conv2 处理一张图要做多少次乘加？",
            lambda: nn.Conv2d(32, 64, 3)(nn.Conv2d(1, 32, 3)(torch.zeros(1, 1, 32, 32))).numel() * 32 * 3 * 3,
            _generic("先求 conv2 的输出边长（32 经过两次 3×3 卷积），"
                     "再乘输出通道数和每个输出值的乘加次数（一个核的权重数）。"),
        ),
        # ── 05_pooling ──
        Exercise(
            "05.avg_top_left",
            "对源笔记的 4×4 例子（1 到 16 按行排列）做 F.avg_pool2d(x, 2)，左上角的输出是多少？（保留一位小数）",
            lambda: nn.functional.avg_pool2d(torch.arange(1.0, 17.0).view(1, 1, 4, 4), 2)[0, 0, 0, 0].item(),
            lambda a, e: "找出左上角 2×2 窗口里的 4 个数，求它们的平均值（不是最大值）。",
            kind="float",
            decimals=1,
        ),
        Exercise(
            "05.out_k3_s2",
            "F.max_pool2d(x, kernel_size=3, stride=2) 作用于 conv2 的 24×24 输出，输出边长是多少？",
            lambda: _out_len(nn.MaxPool2d(3, stride=2), 24)[-1],
            _hint_out_size,
        ),
        Exercise(
            "05.ceil_mode_25",
            "F.max_pool2d(x, 2, ceil_mode=True) 作用于 25×25 的输入，输出边长是多少？",
            lambda: _out_len(nn.MaxPool2d(2, ceil_mode=True), 25)[-1],
            _generic("ceil_mode=True 时，除以步长后向上取整：最后那一截不足一个窗口的行列也会单独成为一个输出。"),
        ),
        Exercise(
            "05.fc1_params_pool3",
            "若把 DigitRecognizer 的池化改成 F.max_pool2d(x, 3)，fc1（输出仍为 128）需要多少个参数？",
            lambda: count_params(nn.Linear(nn.functional.max_pool2d(torch.zeros(1, 64, 24, 24), 3)[0].numel(), 128)),
            _generic("先求 24×24 经过 3×3、步长 3 的池化后的边长，再算展平长度 = 64 × 边长²；"
                     "fc1 的参数 = 展平长度 × 128 + 128。"),
        ),
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
            _generic("评估模式下 Dropout 既不丢弃也不放大；剩下的就是对两个样本的 1..36 求和。"),
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
        # ── 07_linear ──
        Exercise(
            "07.params_fc1_512",
            "把 fc1 改成 nn.Linear(9216, 512)，这一层有多少个参数？",
            lambda: count_params(nn.Linear(9216, 512)),
            _generic("权重矩阵的形状是 (out_features, in_features)，再给每个输出加一个偏置。"),
        ),
        Exercise(
            "07.in_features_32",
            "输入换成 1×32×32 的图片、卷积和池化都不变，fc1 的 in_features 要改成多少才能接得上？",
            lambda: _in_features(32),
            _generic("两次 3×3 卷积各让边长减 2，2×2 池化再减半；最后乘上 64 个通道。"),
        ),
        Exercise(
            "07.params_direct",
            "如果去掉 fc1，直接用一个 nn.Linear 把展平后的 9216 维特征映射到 10 类，这一层有多少个参数（含偏置）？",
            lambda: count_params(nn.Linear(9216, 10)),
            _generic("权重是 10 × 9216，偏置每个输出一个。"),
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
            _generic("先写出 arange 给出的所有数（不含终点），再数哪些会被 ReLU 变成 0——别漏了 0 本身。"),
        ),
        Exercise(
            "08.underflow_gap",
            "logits 为 [0, g]（float32，g 取整数）时，"
            "torch.log(torch.softmax(logits, 0))[0] 从哪个最小的 g 开始变成 -inf？",
            lambda: next(
                g for g in range(1, 400)
                if torch.isinf(torch.log(torch.softmax(torch.tensor([0.0, float(g)]), 0))[0])
            ),
            _generic("softmax 的第 0 项约等于 exp(−g)；float32 最小的次正规数是 2 的 −149 次方，"
                     "比它一半还小的数会被舍入成 0。也可以写个循环直接试。"),
        ),
        # ── 09_training ──
        Exercise(
            "09.steps_per_epoch",
            "用 4,000 张训练图、batch_size=128 训练一轮（最后一个不满的批次也算一步），优化器一共走多少步？",
            lambda: len(torch.arange(4000).split(128)),
            _generic("每一步处理一个批次；4000 除以 128 除不尽时，剩下的图单独组成最后一批。"),
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
            _generic("只有 Conv2d 和 Linear 有参数，每层一个 weight、一个 bias；Dropout 没有参数，也没有缓冲区。"),
        ),
        Exercise(
            "09.feature_cache_mb",
            "第二阶段把每张训练图的特征图存起来。课程样本的 4,000 张训练图，这些特征图（float32）一共占多少 MB？"
            "（1 MB = 10⁶ 字节，四舍五入到整数）",
            lambda: round(4000 * _feature_bytes_per_image() / 1e6),
            _generic("每张图的特征图是池化层的输出 64×12×12 个数，float32 每个数 4 字节。"),
        ),
        # ── 10_claims ──
        Exercise(
            "10.floor_case",
            "n=27、kernel_size=4、stride=2、padding=0 时，笔记的原式给出 12.5。nn.Conv2d 实际输出的边长是多少？",
            lambda: _out_len(nn.Conv2d(1, 1, kernel_size=4, stride=2), 27)[-1],
            _generic("原式缺了一步：除以步长后要向下取整，再加 1。"),
        ),
        Exercise(
            "10.classifier_with_bias",
            "直接在 9216 维特征上接 10 类分类器 nn.Linear(9216, 10)，连同偏置共有多少参数？",
            lambda: count_params(nn.Linear(9216, 10)),
            _generic("权重 9216×10，再加上每个输出一个偏置。"),
        ),
    ]
}

