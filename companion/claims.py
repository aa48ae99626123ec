"""The claims ledger: every factual statement of the source note, checked live.

Each :class:`Claim` holds the note's section, a short Chinese paraphrase, the lesson that
treats it in depth, and a check that measures it against real torch and returns a
:class:`Verdict` with its evidence: ``companion.claim_checks`` for the facts one forward pass or
one formula settles, ``companion.claim_measurements`` for those that need an experiment (the
training claims are judged by lesson 16's controlled runs). A claim the note only implies
(through its code, not its words) is marked ``implied``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import _validate as v
from . import claim_checks as m
from . import claim_measurements as e
from .claim_checks import CONDITION, CONVENTION, FAILS, HOLDS, UNTESTED, VERDICT_ZH, VERDICTS, Verdict

__all__ = ["HOLDS", "CONDITION", "FAILS", "CONVENTION", "UNTESTED", "VERDICTS", "VERDICT_ZH", "Verdict", "Claim",
           "CLAIMS", "run_all", "format_ledger"]


@dataclass(frozen=True)
class Claim:
    """One claim of the note: where it is, what it says, which lesson treats it, how to check it."""

    key: str
    section: str
    claim: str
    lesson: str
    check: Callable[[], Verdict]
    implied: bool = False  # the note's code implies it; its words do not say it

    def __post_init__(self) -> None:
        for label in ("key", "section", "claim", "lesson"):
            v.text(label, getattr(self, label), empty=False)
        v.function("check", self.check, "a function that returns a Verdict")
        v.boolean("implied", self.implied)


CLAIMS: list[Claim] = [
    Claim("model.input_28", "神经网络模型示例", "模型专为 28×28 的单通道灰度图设计", "11_linear", m.input_28),
    Claim("model.ten_outputs", "神经网络模型示例", "输出 10 维，对应数字 0–9", "12_activation", m.ten_outputs),
    Claim("module.auto_params", "nn.Module", "用 self.xxx = 层 定义的参数会被自动登记", "01_nn_module", m.auto_params),
    Claim("module.nesting", "nn.Module", "模块可以嵌套成层次结构", "01_nn_module", m.nesting),
    Claim("module.to_device", "nn.Module", ".to(device) 一次迁移所有参数和缓冲区", "02_module_tools",
          m.to_moves_buffers),
    Claim("module.state_dict", "nn.Module", "state_dict() 与 load_state_dict() 支持保存与加载", "02_module_tools",
          m.state_dict_roundtrip),
    Claim("module.autograd", "nn.Module", "与自动微分集成，反向传播自动处理", "02_module_tools", m.autograd),
    Claim("module.hooks", "nn.Module", "可以注册前向/反向钩子", "02_module_tools", m.hooks),
    Claim("super.spellings", "super()", "Python 3 中 super(类, self) 与 super() 等价", "03_super", m.super_spellings),
    Claim("super.modern", "super()", "现代代码通常写 super().__init__()", "03_super", m.super_modern),
    Claim("conv1.shape", "卷积层1", "conv1 输出形状 (batch, 32, 26, 26)", "05_conv1", m.conv1_shape),
    Claim("conv1.formula", "卷积层1", "输出尺寸 = (n − k + 2p)/s + 1", "05_conv1", m.formula),
    Claim("conv1.same_padding", "卷积层1", "padding=(k−1)//2 可保持尺寸不变", "05_conv1", m.same_padding),
    Claim("conv1.stride_one", "卷积层1", "步长为 1 时输出尺寸最大", "05_conv1", m.stride_one_largest),
    Claim("conv1.small_kernel", "卷积层1", "较小的卷积核参数更少", "04_convolution", m.small_kernel_fewer_params),
    Claim("conv1.params", "卷积层1", "conv1 有 320 个参数（32 个 1×3×3 核加偏置）", "04_convolution", m.conv1_params),
    Claim("conv2.shape", "卷积层2", "conv2 输出形状 (batch, 64, 24, 24)", "06_conv2", m.conv2_shape),
    Claim("conv2.46", "卷积层2", "conv2 输出 46 个通道", "06_conv2", m.conv2_46_channels),
    Claim("pool.halves", "最大池化", "2×2 池化把 24×24 减半为 12×12", "07_pooling", m.pool_halves),
    Claim("pool.example", "最大池化", "4×4 的 1…16 池化后得 [[6, 8], [14, 16]]", "07_pooling", m.pool_example),
    Claim("pool.defaults", "最大池化", "max_pool2d(x, 2) 隐含 stride=2、padding=0", "07_pooling", m.pool_defaults),
    Claim("pool.compute", "最大池化", "减小特征图尺寸，降低计算复杂度", "16_trained", e.pool_compute),
    Claim("pool.robust", "最大池化", "对平移、旋转、缩放等轻微形变保持鲁棒", "08_pooling_effects", e.pool_robustness),
    Claim("pool.noise", "最大池化", "抑制噪声响应", "08_pooling_effects", e.pool_noise),
    Claim("pool.overfitting", "最大池化", "减少参数量、防止过拟合", "16_trained", e.pool_overfitting),
    Claim("dropout.channels", "Dropout正则化", "Dropout2d 以概率 p 把整个通道置零", "09_dropout", m.dropout2d_channels),
    Claim("dropout.scale", "Dropout正则化", "保留的通道放大 1/(1−p)，期望不变", "09_dropout", m.dropout2d_scale),
    Claim("dropout.eval", "Dropout正则化", "只在训练时丢弃", "09_dropout", m.dropout_eval_identity),
    Claim("dropout.overfitting", "Dropout正则化", "dropout 防止过拟合", "16_trained", e.dropout_overfitting),
    Claim("dropout.coadaptation", "Dropout正则化", "减少通道之间的共适应性（co-adaptation）", "10_dropout_in_model",
          m.coadaptation),
    Claim("dropout.rates", "Dropout正则化", "浅层用较小的丢弃率（如 0.2），深层较大（如 0.5），数据少时增大",
          "10_dropout_in_model", m.dropout_rates),
    Claim("dropout.placement", "Dropout正则化", "通常放在卷积层后、激活函数前", "10_dropout_in_model",
          e.dropout_placement),
    Claim("dropout.second", "Dropout正则化", "dropout2 同样按通道丢弃（全连接层前）", "10_dropout_in_model",
          m.dropout2_flattened, implied=True),
    Claim("dropout.before_fc", "Dropout正则化", "dropout2 放在全连接层前", "09_dropout", m.dropout2_before_fc),
    Claim("dropout.faster", "Dropout正则化", "通道级操作比元素级操作更快", "10_dropout_in_model", e.channelwise_faster),
    Claim("fc.input", "全连接层", "fc1 的输入 9216 = 64×12×12", "11_linear", m.fc1_input),
    Claim("fc.params", "全连接层", "fc1 权重 (128, 9216)，共 1,179,776 个参数", "11_linear", m.fc1_params),
    Claim("fc.formula", "全连接层", "全连接层计算 output = input·Wᵀ + b", "11_linear", m.linear_formula),
    Claim("fc.1280", "全连接层", "分类层参数量从 1280 变为 92160", "11_linear", m.classifier_1280),
    Claim("fc.share", "全连接层", "fc1 的参数占了模型的绝大部分", "11_linear", m.fc1_dominates),
    Claim("fc.global", "全连接层", "fc1 整合全局信息，把局部特征组合起来", "11_linear", m.fc_global),
    Claim("fc.nonlinear", "全连接层", "fc1 后接激活函数，是非线性映射的基础", "11_linear", m.fc_nonlinear_basis),
    Claim("fc.narrow", "全连接层", "fc1 输出少（如 128）降低过拟合风险，过少则限制表达能力", "16_trained", e.fc_width),
    Claim("fc.wide", "全连接层", "fc1 输出多（如 512）能提升表达能力", "16_trained", e.fc_wide),
    Claim("act.relu", "激活与输出", "ReLU 引入非线性", "12_activation", m.relu_nonlinear),
    Claim("act.log_probs", "激活与输出", "log_softmax 输出对数概率", "12_activation", m.log_probs_output),
    Claim("act.nll", "激活与输出", "log_softmax 与 NLLLoss 配合使用", "12_activation", m.log_softmax_nll),
]


def run_all() -> list[tuple[Claim, Verdict]]:
    """Check every claim; returns the claims with their verdicts, in ledger order."""
    return [(c, c.check()) for c in CLAIMS]


def format_ledger(results: list[tuple[Claim, Verdict]], links: bool = True) -> str:
    """A Markdown table: verdict, section, claim (marked when only the code implies it),
    evidence, lesson (linked)."""
    if isinstance(results, (str, bytes)) or not isinstance(results, (list, tuple)) or not all(
            isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], Claim) and isinstance(r[1], Verdict)
            for r in results):
        raise v.wrong_type("results", results, "a list of (Claim, Verdict) pairs, as run_all() returns")
    v.boolean("links", links)
    rows = ["| # | 结论 | 章节 | 笔记的说法 | 证据（本次运行实测） | 详见 |", "|---|---|---|---|---|---|"]
    for i, (c, verdict) in enumerate(results, 1):
        lesson = f"[{c.lesson}]({c.lesson}.ipynb)" if links else c.lesson
        evidence = verdict.evidence.replace("|", "\\|")
        claim = f"{c.claim}（笔记的代码隐含，文字未说）" if c.implied else c.claim
        rows.append(f"| {i} | {VERDICT_ZH[verdict.verdict]} | {c.section} | {claim} | {evidence} | {lesson} |")
    return "\n".join(rows)
