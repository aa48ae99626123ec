"""The measurements behind the claims ledger: one function per claim of the source note,
each checking it against real torch and returning a ``Verdict`` with its evidence. Evidence
strings are deterministic (seeded, CPU), so the ledger can be compared by nbval."""

from __future__ import annotations

import functools
import io
import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate as v
from .model import DigitRecognizer
from .params import count_params
from .shapes import conv_output_size, trace_flow, trace_shapes

HOLDS = "holds"
CONDITION = "holds with a condition"
FAILS = "does not hold"
CONVENTION = "convention"  # a habit or a recommendation, not a fact a measurement can settle
UNTESTED = "not measured"  # a fact the course could measure but does not (the evidence says why)
VERDICTS = (HOLDS, CONDITION, FAILS, CONVENTION, UNTESTED)
VERDICT_ZH = {HOLDS: "成立", CONDITION: "有条件成立", FAILS: "不成立", CONVENTION: "惯例", UNTESTED: "未检验"}


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict (one of ``VERDICTS``) and the measured evidence for it."""

    verdict: str
    evidence: str

    def __post_init__(self) -> None:
        v.one_of("verdict", self.verdict, VERDICTS)
        v.text("evidence", self.evidence)


def _model(arch: type[DigitRecognizer] = DigitRecognizer) -> DigitRecognizer:
    torch.manual_seed(0)
    return arch().eval()


def _quiet(fn: Callable, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args)


@functools.lru_cache(maxsize=1)
def _note_trace() -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Input and output shape of every layer of the note's model for a batch of 2."""
    rows = _quiet(trace_shapes, _model(), torch.zeros(2, 1, 28, 28))
    return {r.name: (r.input_shape, r.output_shape) for r in rows}


def _shape(t: tuple[int, ...]) -> str:
    return "×".join(map(str, t))


# ── 神经网络模型示例 ─────────────────────────────────────────────────────────────
def input_28() -> Verdict:
    model = _model()
    out = _quiet(model, torch.zeros(2, 1, 28, 28))
    try:
        _quiet(model, torch.zeros(2, 1, 32, 32))
        return Verdict(FAILS, "32×32 的输入也能运行")
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
    return Verdict(HOLDS, f"28×28 → 输出 {_shape(tuple(out.shape))}；32×32 → RuntimeError: {first}")


def ten_outputs() -> Verdict:
    out = _quiet(_model(), torch.zeros(1, 1, 28, 28))
    return Verdict(
        HOLDS if out.shape[-1] == 10 else FAILS, f"fc2 输出 {_shape(tuple(out.shape))}：每个数字 0–9 各一个分数"
    )


# ── nn.Module ───────────────────────────────────────────────────────────────────
def auto_params() -> Verdict:
    model = _model()
    names = [n for n, _ in model.named_parameters()]

    class Plain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = [nn.Linear(4, 4)]  # a plain list: not registered

    n_plain = len(list(Plain().parameters()))
    ok = len(names) == 8 and n_plain == 0
    return Verdict(
        HOLDS if ok else FAILS,
        f"属性赋值登记了 {len(names)} 个参数张量（共 {count_params(model):,} 个参数）。"
        f"注意：放进普通 Python 列表的层登记了 {n_plain} 个——要用属性或 nn.ModuleList",
    )


def nesting() -> Verdict:
    class MyBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 64, 3)
            self.bn = nn.BatchNorm2d(64)

    class MyModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block1 = MyBlock()
            self.pool = nn.MaxPool2d(2)

    names = [n for n, _ in MyModel().named_modules() if n]
    return Verdict(HOLDS, f"named_modules 列出：{', '.join(names)}")


def to_moves_buffers() -> Verdict:
    bn = nn.BatchNorm2d(4).to(torch.float64)
    dtypes = {
        n: str(t.dtype).replace("torch.", "")
        for n, t in itertools.chain(bn.named_parameters(), bn.named_buffers())
        if t.is_floating_point()
    }
    ok = set(dtypes.values()) == {"float64"}
    return Verdict(HOLDS if ok else FAILS, ".to(float64) 同时转换了 " + ", ".join(dtypes) + "（参数与缓冲区）")


def state_dict_roundtrip() -> Verdict:
    model = _model()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    other = DigitRecognizer().eval()
    other.load_state_dict(torch.load(buf, weights_only=True))
    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    same = torch.equal(_quiet(model, x), _quiet(other, x))
    return Verdict(
        HOLDS if same else FAILS,
        f"保存 → 以 weights_only=True 加载，输出完全相同：{same}。注意：笔记里不带参数的 torch.load(path) "
        "之所以安全，只因为当前 torch 默认 weights_only=True——不要反序列化来历不明的文件",
    )


def autograd() -> Verdict:
    model = _model().train()
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    loss = F.nll_loss(_quiet(model, x), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.shape != p.shape]
    return Verdict(
        HOLDS if not missing else FAILS, f"backward() 之后 {8 - len(missing)}/8 个参数张量都有形状相同的梯度"
    )


def hooks() -> Verdict:
    model = _model()
    seen: list[str] = []
    handle = model.conv1.register_forward_hook(lambda m, i, o: seen.append(_shape(tuple(o.shape))))
    _quiet(model, torch.zeros(1, 1, 28, 28))
    handle.remove()
    _quiet(model, torch.zeros(1, 1, 28, 28))
    return Verdict(
        HOLDS if seen == ["1×32×26×26"] else FAILS, f"conv1 上的前向钩子记录到 {seen}；remove() 之后不再被调用"
    )


# ── super() ─────────────────────────────────────────────────────────────────────
def super_spellings() -> Verdict:
    class Old(nn.Module):
        def __init__(self) -> None:
            super(Old, self).__init__()  # noqa: UP008 - the spelling under test
            self.fc = nn.Linear(2, 2)

    class New(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

    same = list(Old().state_dict()) == list(New().state_dict())
    return Verdict(HOLDS if same else FAILS, f"super(Old, self) 与 super() 得到相同的 state_dict 键：{same}")


# ── conv1 ───────────────────────────────────────────────────────────────────────
def conv1_shape() -> Verdict:
    out = _note_trace()["conv1"][1]
    return Verdict(HOLDS if out[1:] == (32, 26, 26) else FAILS, f"批大小为 2 时 conv1 输出 {_shape(out)}")


def formula() -> Verdict:
    total = wrong = 0
    for n, k, s, p in itertools.product(range(5, 33), range(1, 8), range(1, 5), range(0, 4)):
        if k > n + 2 * p:
            continue
        real = conv_output_size(n, k, s, p)
        total += 1
        note = (n - k + 2 * p) / s + 1
        wrong += note != real
    n, k, s, p = 28, 5, 2, 0
    note, real = (n - k + 2 * p) / s + 1, conv_output_size(n, k, s, p)
    verdict = CONDITION if wrong and conv_output_size(28, 3) == 26 else HOLDS if not wrong else FAILS
    return Verdict(
        verdict,
        f"只在步长整除 (n−k+2p) 时准确：{total} 种组合中错 {wrong} 种，"
        f"如 n={n}, k={k}, s={s}, p={p}：原式 {note:.1f}，torch {real}（缺向下取整，也没有 dilation）",
    )


def same_padding() -> Verdict:
    def size(k: int, s: int) -> int:
        return nn.Conv2d(1, 1, k, stride=s, padding=(k - 1) // 2)(torch.zeros(1, 1, 28, 28)).shape[-1]

    odd = all(size(k, 1) == 28 for k in (1, 3, 5, 7))
    even = {k: size(k, 1) for k in (2, 4)}
    strided = size(3, 2)
    verdict = CONDITION if odd and set(even.values()) == {27} and strided == 14 else FAILS
    return Verdict(verdict, f"奇数 k、步长 1：28 → 28；偶数 k：{even}；k=3、步长 2：{strided}")


def stride_one_largest() -> Verdict:
    sizes = [conv_output_size(28, 3, s) for s in range(1, 6)]
    return Verdict(HOLDS if sizes == sorted(sizes, reverse=True) else FAILS, f"28×28、k=3，步长 1…5 → {sizes}")


def small_kernel_fewer_params() -> Verdict:
    counts = {k: count_params(nn.Conv2d(1, 32, k)) for k in (1, 3, 5, 7)}
    return Verdict(HOLDS, f"Conv2d(1, 32, k) 的参数量：{counts}（随 k² 增长）")


def conv1_params() -> Verdict:
    n = count_params(_model().conv1)
    return Verdict(HOLDS if n == 320 else FAILS, f"conv1: 32×1×3×3 + 32 = {n}")


# ── conv2 ───────────────────────────────────────────────────────────────────────
def conv2_shape() -> Verdict:
    out = _note_trace()["conv2"][1]
    return Verdict(HOLDS if out[1:] == (64, 24, 24) else FAILS, f"conv2 输出 {_shape(out)}")


def conv2_46_channels() -> Verdict:
    channels = _note_trace()["conv2"][1][1]
    return Verdict(FAILS if channels != 46 else HOLDS, f"conv2 有 {channels} 个输出通道，不是 46（笔记笔误）")


# ── max pooling ─────────────────────────────────────────────────────────────────
def pool_halves() -> Verdict:
    shape = _note_trace()["dropout1"][0]
    return Verdict(HOLDS if shape[2:] == (12, 12) else FAILS, f"max_pool2d(x, 2) 之后：{_shape(shape)}")


def pool_example() -> Verdict:
    out = F.max_pool2d(torch.arange(1.0, 17.0).view(1, 1, 4, 4), 2).squeeze().int().tolist()
    return Verdict(HOLDS if out == [[6, 8], [14, 16]] else FAILS, f"F.max_pool2d 作用于 4×4 的 1…16 → {out}")


def pool_defaults() -> Verdict:
    x = torch.randn(1, 3, 9, 9, generator=torch.Generator().manual_seed(0))
    same = torch.equal(F.max_pool2d(x, 2), F.max_pool2d(x, kernel_size=2, stride=2, padding=0, dilation=1))
    return Verdict(
        HOLDS if same else FAILS, f"max_pool2d(x, 2) 与 kernel_size=2, stride=2, padding=0, dilation=1 结果相同：{same}"
    )






# ── Dropout ─────────────────────────────────────────────────────────────────────
def dropout2d_channels() -> Verdict:
    torch.manual_seed(0)
    drop = nn.Dropout2d(0.25).train()
    out = drop(torch.ones(400, 16, 3, 3)).flatten(2)
    whole = bool(((out == 0).all(-1) | (out != 0).all(-1)).all())
    frac = (out[..., 0] == 0).float().mean().item()
    verdict = HOLDS if whole and abs(frac - 0.25) < 0.03 else FAILS
    return Verdict(verdict, f"6,400 个通道要么整体置零要么整体保留：{whole}；置零比例 {frac:.3f}（p = 0.25）")


def dropout2d_scale() -> Verdict:
    torch.manual_seed(0)
    out = nn.Dropout2d(0.25).train()(torch.ones(8, 16, 3, 3))
    kept = out[out != 0].unique().tolist()
    ok = len(kept) == 1 and abs(kept[0] - 1 / 0.75) < 1e-6
    return Verdict(HOLDS if ok else FAILS, f"全 1 输入中保留下来的值：{[f'{k:.4f}' for k in kept]} = 1/(1−0.25)")


def dropout_eval_identity() -> Verdict:
    x = torch.randn(2, 4, 3, 3, generator=torch.Generator().manual_seed(0))
    same = torch.equal(nn.Dropout2d(0.25).eval()(x), x)
    return Verdict(HOLDS if same else FAILS, f"eval() 模式下 Dropout2d 原样返回输入：{same}")




def dropout2_flattened() -> Verdict:
    torch.manual_seed(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = nn.Dropout2d(0.5).train()(torch.ones(64, 128))
    msg = next((str(w.message).split(".")[0] for w in caught if "dropout2d" in str(w.message)), "no warning")
    per_row = (out == 0).float().mean(1)
    elementwise = bool(((per_row > 0) & (per_row < 1)).any())
    return Verdict(FAILS if elementwise else CONDITION,
                   f"作用在展平后的 (N, 128) 上时 torch 发出警告（{msg}），并逐个元素置零"
                   f"（有的行只被部分置零：{elementwise}）；它实际等于 nn.Dropout(0.5)，见 DigitRecognizerFixed")




# ── fully connected ─────────────────────────────────────────────────────────────
def fc1_input() -> Verdict:
    shape = _note_trace()["fc1"][0]
    return Verdict(
        HOLDS if shape[1] == 64 * 12 * 12 == 9216 else FAILS, f"fc1 收到 {_shape(shape)}；64×12×12 = {64 * 12 * 12}"
    )


def fc1_params() -> Verdict:
    fc1 = _model().fc1
    ok = tuple(fc1.weight.shape) == (128, 9216) and count_params(fc1) == 1_179_776
    return Verdict(
        HOLDS if ok else FAILS,
        f"W {_shape(tuple(fc1.weight.shape))} = {fc1.weight.numel():,}，b {fc1.bias.numel()}，"
        f"合计 {count_params(fc1):,}",
    )


def linear_formula() -> Verdict:
    fc = nn.Linear(9216, 128)
    x = torch.randn(3, 9216, generator=torch.Generator().manual_seed(0))
    same = torch.allclose(fc(x), x @ fc.weight.T + fc.bias, atol=1e-5)
    return Verdict(HOLDS if same else FAILS, f"nn.Linear(x) 等于 x @ W.T + b：{same}")


def classifier_1280() -> Verdict:
    small, big = nn.Linear(128, 10), nn.Linear(9216, 10)
    model = _model()
    head = count_params(model.fc1) + count_params(model.fc2)
    return Verdict(CONDITION, f"只算权重：128×10 = {small.weight.numel():,}，9216×10 = {big.weight.numel():,}；"
                              f"连同偏置是 {count_params(small):,} 与 {count_params(big):,}。"
                              "条件：省下的只是分类层本身；"
                              f"加上 fc1，fc1 + fc2 共 {head:,} 个参数，是直接用 9216 维分类的 "
                              f"{head / count_params(big):.1f} 倍")


def _order(model: nn.Module) -> list[str]:
    """The steps of ``model``'s forward pass in the order they run (``trace_flow``): a module by
    its attribute name, a function by what it is (``relu``)."""
    modules = dict(model.named_modules())
    return [row.name if row.name in modules else row.kind
            for row in _quiet(trace_flow, model, torch.zeros(1, 1, 28, 28)) if row.kind != "input"]


def dropout2_before_fc() -> Verdict:
    order = _order(_model())
    fc1, drop2, fc2 = order.index("fc1"), order.index("dropout2"), order.index("fc2")
    between = fc1 < drop2 < fc2
    return Verdict(CONDITION if between else FAILS,
                   "前向传播的顺序：" + " → ".join(order[fc1:fc2 + 1]) + "。dropout2 在 fc1 之后、fc2 之前："
                   + ("它在第二个全连接层前，不在第一个前（fc1 前面的是 dropout1）" if between
                      else "与笔记说的位置不同"))


def fc_global() -> Verdict:
    model = _model()
    nonzero = int((model.fc1.weight != 0).sum())
    rows, cols = model.fc1.weight.shape
    every = nonzero == rows * cols
    return Verdict(HOLDS if every else FAILS,
                   f"fc1 的 {rows} 个输出，每个都与全部 {cols:,} 个输入（64 个通道 × 12×12 个位置）各有一个权重，"
                   f"随机初始化时 {nonzero:,} 个权重{'全都' if every else '并非全都'}不为 0："
                   "每个输出能组合整张图各处的特征，"
                   "这正是“全局”。组合出的是不是“物体部件”那样的语义特征，没有检验")


def fc_nonlinear_basis() -> Verdict:
    model = _model()
    order = _order(model)
    relu_after = order[order.index("fc1") + 1] == "relu"
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 9216, generator=g)
    w = model.fc2.weight @ model.fc1.weight
    b = model.fc2.weight @ model.fc1.bias + model.fc2.bias
    with torch.no_grad():
        gap = (model.fc2(model.fc1(x)) - (x @ w.T + b)).abs().max().item()
    collapses = gap < 1e-4
    return Verdict(HOLDS if relu_after and collapses else FAILS,
                   f"本模型 fc1 之后{'紧跟' if relu_after else '没有紧跟'} ReLU；"
                   "去掉它，fc2(fc1(x)) 就是一个 10×9216 的"
                   f"线性层（合并后之差 {'< 1e-4' if collapses else f'{gap:.1e}'}），两层全连接的非线性全靠这个激活")


def dropout_rates() -> Verdict:
    model = _model()
    return Verdict(CONVENTION, f"经验法则，不是一次计算能证明的事实。本网络用 {model.dropout1.p:g} 和 "
                               f"{model.dropout2.p:g}（pytorch/examples 的取值）；课程的受控实验只比较了开与关"
                               "（第 16 课），没有扫描丢弃率")


def coadaptation() -> Verdict:
    return Verdict(UNTESTED, "共适应说的是训练中的单元互相依赖、单独拿掉一个就失灵；量它要比较有无 dropout 训练出的"
                             "网络对移除单个通道的敏感程度，课程没有做这个实验")


def super_modern() -> Verdict:
    import inspect

    from . import model as model_module

    source = inspect.getsource(model_module)
    plain, spelled = source.count("super().__init__()"), source.count("super(DigitRecognizer")
    return Verdict(CONVENTION, f"写法的习惯，两种写法在 Python 3 中等价（第 03 课）；课程自己的代码写了 {plain} 处 "
                               f"super().__init__()，{spelled} 处带类名的写法")


def fc1_dominates() -> Verdict:
    model = _model()
    share = 100 * count_params(model.fc1) / count_params(model)
    return Verdict(HOLDS if share > 90 else FAILS, f"fc1 占全部 {count_params(model):,} 个参数的 {share:.1f}%")


# ── activation and output ───────────────────────────────────────────────────────
def log_softmax_nll() -> Verdict:
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(16, 10, generator=g), torch.randint(0, 10, (16,), generator=g)
    a = F.nll_loss(F.log_softmax(logits, dim=1), target)
    b = F.cross_entropy(logits, target)
    ok = torch.allclose(a, b)
    return Verdict(
        HOLDS if ok else FAILS, f"NLLLoss(log_softmax(z)) = {a.item():.6f}，CrossEntropyLoss(z) = {b.item():.6f}"
    )


def log_probs_output() -> Verdict:
    out = _quiet(_model(), torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)))
    sums = out.exp().sum(1)
    ok = bool(torch.allclose(sums, torch.ones(4), atol=1e-5)) and bool((out <= 0).all())
    return Verdict(HOLDS if ok else FAILS, f"输出全部 ≤ 0，每张图 exp(输出) 之和为 {sums.mean().item():.4f}")


def relu_nonlinear() -> Verdict:
    x, y = torch.tensor([1.0, -2.0]), torch.tensor([-3.0, 1.0])
    lhs, rhs = F.relu(x + y), F.relu(x) + F.relu(y)
    return Verdict(HOLDS, f"relu(x+y) = {lhs.tolist()} ≠ relu(x)+relu(y) = {rhs.tolist()}：不是线性的")
