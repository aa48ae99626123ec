"""The exercises of lessons 00–05 (the model, nn.Module, super(), conv1, conv2, pooling)."""

from __future__ import annotations

import torch
from torch import nn

from .exercise import Exercise, generic, hint_out_size, hint_params, hint_shape, out_len
from .model import DigitRecognizer, DigitRecognizerFixed, features
from .params import count_params

__all__ = ["LESSONS_00_05"]


def _fc1_share() -> float:
    model = DigitRecognizer()
    return 100.0 * count_params(model.fc1) / count_params(model)


def _params_fc1_256() -> int:
    model = DigitRecognizer()
    model.fc1 = nn.Linear(9216, 256)
    model.fc2 = nn.Linear(256, 10)
    return count_params(model)


def _edge_images(n: int = 9) -> dict[str, torch.Tensor]:
    ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    return {"diagonal": (xs > ys).float(), "vertical": (xs >= n // 2).float(), "horizontal": (ys >= n // 2).float()}


def _prefers_diagonal(kernel) -> bool:
    """True when ``kernel`` (3×3) responds to a top-left-to-bottom-right edge more than to
    vertical and horizontal edges, by at least 20 % (responses: the largest absolute output)."""
    k = torch.as_tensor(kernel, dtype=torch.float32)
    if k.shape != (3, 3):
        raise ValueError(f"核的形状是 {tuple(k.shape)}，应为 (3, 3)")
    response = {name: nn.functional.conv2d(img[None, None], k[None, None]).abs().max().item()
                for name, img in _edge_images().items()}
    return response["diagonal"] > 1.2 * max(response["vertical"], response["horizontal"])


def _shape_after_pool() -> tuple[int, ...]:
    return tuple(features(DigitRecognizer(), torch.zeros(1, 1, 28, 28)).shape)


LESSONS_00_05: list[Exercise] = [
    Exercise(
        "00.shape_after_pool",
        "一张 1×1×28×28 的图片经过 conv1→ReLU→conv2→ReLU→max_pool2d(2) 后，形状是什么？（写成元组）",
        _shape_after_pool,
        hint_shape,
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
        generic("卷积层不变；fc1 变成 9216×256+256，fc2 变成 256×10+10。"),
    ),
    Exercise(
        "03.out_k5_s2_p1",
        "nn.Conv2d(1, 8, kernel_size=5, stride=2, padding=1) 作用于 28×28 输入，输出的边长是多少？",
        lambda: out_len(nn.Conv2d(1, 8, kernel_size=5, stride=2, padding=1), 28)[-1],
        hint_out_size,
    ),
    Exercise(
        "03.out_dilation2",
        "nn.Conv2d(1, 1, kernel_size=3, dilation=2) 作用于 28×28 输入，输出的边长是多少？",
        lambda: out_len(nn.Conv2d(1, 1, kernel_size=3, dilation=2), 28)[-1],
        generic("空洞（dilation）d 让 k×k 的核覆盖 d(k−1)+1 个像素；再代入输出尺寸公式。"),
    ),
    Exercise(
        "03.params_rgb",
        "若输入是 RGB 彩色图（3 通道），nn.Conv2d(3, 32, 3) 有多少个参数？",
        lambda: count_params(nn.Conv2d(3, 32, 3)),
        hint_params,
    ),
    Exercise(
        "03.same_padding_k7",
        "stride=1、kernel_size=7 时，padding 取多少才能让 28×28 的输出仍是 28×28？",
        lambda: next(p for p in range(8) if out_len(nn.Conv2d(1, 1, 7, padding=p), 28)[-1] == 28),
        generic("输出边长 = n + 2p − k + 1；要它等于 n，解出 p。"),
    ),
    Exercise(
        "03.padding_for_14",
        "nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=p) 作用于 28×28 输入。要让输出正好是 14×14，p 最小取多少？",
        lambda: next(p for p in range(4) if out_len(nn.Conv2d(1, 1, 3, stride=2, padding=p), 28)[-1] == 14),
        generic("把 p 从 0 起逐个代入输出尺寸公式（n = 28、k = 3、s = 2），直到输出等于 14 为止。"),
    ),
    Exercise(
        "03.diagonal_kernel",
        "设计一个 3×3 的卷积核（嵌套列表、numpy 数组或张量都行），让它对“从左上角到右下角”的斜边反应最强："
        "在分界线沿这条对角线的明暗图上，它输出的最大绝对值，要比在竖直边缘图和水平边缘图上都大两成以上。",
        lambda: _prefers_diagonal,
        lambda a, e: "Sobel 核沿一个方向由负到正；把它转 45°：让核的一个角为正、对角为负，而那条对角线上的三格为 0。",
        kind="judge",
    ),
    # ── 01_nn_module ──
    Exercise(
        "01.plain_list_params",
        "某模型的 __init__ 里写了 self.layers = [nn.Linear(10, 10) for _ in range(3)] 和 "
        "self.out = nn.Linear(10, 2)。"
        "sum(p.numel() for p in model.parameters()) 等于多少？",
        lambda: (lambda m: (setattr(m, "layers", [nn.Linear(10, 10) for _ in range(3)]),
                            setattr(m, "out", nn.Linear(10, 2)), count_params(m))[-1])(nn.Module()),
        generic("parameters() 只找得到登记过的子模块；想一想普通 list 会落进哪个“抽屉”。"),
    ),
    Exercise(
        "01.myblock_params",
        "源笔记的 MyBlock（nn.Conv2d(3, 64, 3) 后接 nn.BatchNorm2d(64)）共有多少个参数"
        "（parameters() 的元素总数）？",
        lambda: count_params(nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64))),
        generic("卷积：权重 out×in×k×k 加每个输出通道一个偏置；BatchNorm 每个通道一个缩放、一个平移；"
                 "running_mean/running_var 是缓冲区，不算参数。"),
    ),
    Exercise(
        "01.bn_state_dict_len",
        "nn.BatchNorm2d(64).state_dict() 里有几个键？",
        lambda: len(nn.BatchNorm2d(64).state_dict()),
        generic("state_dict 收录参数和缓冲区；"
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
        generic("MRO 里每个类恰好出现一次，别忘了最末尾的 object；写出这几个类再 print(Child.__mro__) 验证。"),
    ),
    Exercise(
        "02.fixed_module_index",
        "在 companion.DigitRecognizerFixed.__mro__ 中，nn.Module 的下标（从 0 数起）是多少？",
        lambda: DigitRecognizerFixed.__mro__.index(nn.Module),
        generic("MRO 从类自己开始（下标 0），沿继承链一路向上；DigitRecognizerFixed 继承谁，那个类又继承谁？"),
    ),
    # ── 04_conv2 ──
    Exercise(
        "04.params_k5",
        "若 conv2 改用 5×5 的核，即 nn.Conv2d(32, 64, 5)，它有多少个参数？",
        lambda: count_params(nn.Conv2d(32, 64, 5)),
        hint_params,
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
        generic("回想第 4 节：conv1 的一个输出看 3×3，conv2 看 5×5；每多一层 3×3 卷积，四周各多看一圈。"),
    ),
    Exercise(
        "04.macs_32px",
        "如果输入图片是 32×32（而不是 28×28），conv2 处理一张图要做多少次乘加？",
        lambda: nn.Conv2d(32, 64, 3)(nn.Conv2d(1, 32, 3)(torch.zeros(1, 1, 32, 32))).numel() * 32 * 3 * 3,
        generic("先求 conv2 的输出边长（32 经过两次 3×3 卷积），"
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
        lambda: out_len(nn.MaxPool2d(3, stride=2), 24)[-1],
        hint_out_size,
    ),
    Exercise(
        "05.ceil_mode_25",
        "F.max_pool2d(x, 2, ceil_mode=True) 作用于 25×25 的输入，输出边长是多少？",
        lambda: out_len(nn.MaxPool2d(2, ceil_mode=True), 25)[-1],
        generic("ceil_mode=True 时，除以步长后向上取整：最后那一截不足一个窗口的行列也会单独成为一个输出。"),
    ),
    Exercise(
        "05.fc1_params_pool3",
        "若把 DigitRecognizer 的池化改成 F.max_pool2d(x, 3)，fc1（输出仍为 128）需要多少个参数？",
        lambda: count_params(nn.Linear(nn.functional.max_pool2d(torch.zeros(1, 64, 24, 24), 3)[0].numel(), 128)),
        generic("先求 24×24 经过 3×3、步长 3 的池化后的边长，再算展平长度 = 64 × 边长²；"
                 "fc1 的参数 = 展平长度 × 128 + 128。"),
    ),
]
