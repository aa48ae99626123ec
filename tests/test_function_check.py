"""companion/function_check.py and the checker's write-the-code kind: a learner's function is run on
random inputs against torch's own operation, and the verdict names the input that broke it."""

import pytest
import torch
from torch.nn import functional as F

from companion import function_check
from companion.checker import evaluate
from companion.exercises import EXERCISES, Exercise


def _cases():
    g = torch.Generator().manual_seed(0)
    shapes = [((1, 1, 4, 4), (1, 1, 2, 2)), ((2, 3, 7, 5), (4, 3, 3, 2))]  # odd sizes
    return [(f"x{tuple(x)}, w{tuple(w)}", (torch.randn(x, generator=g), torch.randn(w, generator=g)))
            for x, w in shapes]


def corr2d_right(x, w):
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    out = torch.zeros(n, o, h - kh + 1, wd - kw + 1)
    for i in range(kh):
        for j in range(kw):
            out += torch.einsum("nchw,oc->nohw", x[:, :, i:i + h - kh + 1, j:j + wd - kw + 1], w[:, :, i, j])
    return out


@pytest.fixture
def corr2d_exercise(monkeypatch):
    ex = Exercise("zz.corr2d", "写出 corr2d(x, w)", lambda: F.conv2d, lambda a, e: "逐个位置相乘再相加。",
                  kind="function", cases=_cases, forbidden=lambda: {"F.conv2d": F.conv2d})
    monkeypatch.setitem(EXERCISES, ex.key, ex)
    return ex.key


def test_a_right_function_is_accepted(corr2d_exercise):
    status, message = evaluate(corr2d_exercise, corr2d_right)
    assert status == "correct" and "2 组随机输入" in message


def test_a_wrong_function_is_refused_naming_the_input(corr2d_exercise):
    def flipped(x, w):  # a true convolution: the kernel flipped, not what Conv2d computes
        return corr2d_right(x, w.flip(-1, -2))

    status, message = evaluate(corr2d_exercise, flipped)
    assert status == "wrong" and "x(1, 1, 4, 4)" in message and "不一致" in message and "提示" in message


def test_a_function_that_works_only_on_square_inputs_is_caught_on_the_odd_case(corr2d_exercise):
    def square_only(x, w):
        if x.shape[-1] != x.shape[-2]:
            raise IndexError("only square")
        return corr2d_right(x, w)

    status, message = evaluate(corr2d_exercise, square_only)
    assert status == "wrong" and "x(2, 3, 7, 5)" in message and "IndexError: only square" in message


def test_a_wrong_shape_is_named(corr2d_exercise):
    status, message = evaluate(corr2d_exercise, lambda x, w: corr2d_right(x, w)[..., :-1])
    assert status == "wrong" and "输出形状" in message


@pytest.mark.parametrize("cheat", [
    lambda x, w: F.conv2d(x, w),
    lambda x, w: torch.conv2d(x, w),  # the same builtin under another name
    lambda x, w: torch.nn.Conv2d(1, 1, 1).forward.__self__._conv_forward(x, w, None),
])
def test_a_function_that_calls_torchs_own_operation_is_refused_and_told_why(corr2d_exercise, cheat):
    status, message = evaluate(corr2d_exercise, cheat)
    assert status == "wrong" and "F.conv2d" in message and "亲手写出" in message


def test_a_tensor_method_counts_as_the_operation():
    def softmax_cheat(x):
        return x.log_softmax(dim=1)

    label, _ = function_check.calls_forbidden(softmax_cheat, (torch.randn(2, 3),),
                                              {"log_softmax": torch.Tensor.log_softmax})
    assert label == "log_softmax"
    label, _ = function_check.calls_forbidden(lambda x: x - x.exp().sum(1, keepdim=True).log(),
                                              (torch.randn(2, 3),), {"log_softmax": torch.Tensor.log_softmax})
    assert label is None


def test_in_place_changes_and_non_tensors_are_refused(corr2d_exercise):
    def in_place(x, w):
        x.zero_()
        return corr2d_right(x, w)

    assert "就地改动了第 1 个参数" in evaluate(corr2d_exercise, in_place)[1]
    assert "应是一个张量" in evaluate(corr2d_exercise, lambda x, w: corr2d_right(x, w).tolist())[1]
    assert "应是一个函数" in evaluate(corr2d_exercise, 42)[1]


def test_the_profiler_is_restored_after_a_check(corr2d_exercise):
    before = __import__("sys").getprofile()
    evaluate(corr2d_exercise, lambda x, w: 1 / 0)
    assert __import__("sys").getprofile() is before


def test_describe_names_tensors_by_shape():
    assert function_check.describe((torch.zeros(2, 3), 0.5)) == "（形状 (2, 3) 的张量，0.5）"


def test_a_function_exercise_names_its_cases():
    with pytest.raises(ValueError, match="names its cases"):
        Exercise("zz.f", "?", lambda: F.relu, lambda a, e: "", kind="function")
    with pytest.raises(ValueError, match="names its cases"):
        Exercise("zz.g", "?", lambda: 1, lambda a, e: "", cases=_cases)


def test_an_unwritten_function_is_told_it_returns_none(corr2d_exercise):
    def corr2d(x, w):
        return None  # 在这里写出你的代码

    status, message = evaluate(corr2d_exercise, corr2d)
    assert status == "wrong" and "返回了 None" in message and "还没写完" in message and "提示" in message


def test_a_model_among_the_arguments_is_named_by_its_class():
    assert function_check.describe((torch.nn.Linear(2, 3), torch.zeros(4, 2))) == "（一个 Linear，形状 (4, 2) 的张量）"


def test_a_result_that_requires_grad_is_compared_without_a_warning(corr2d_exercise, recwarn):
    w_grad = torch.randn(1, requires_grad=True)
    status, _ = evaluate(corr2d_exercise, lambda x, w: corr2d_right(x, w) + 0 * w_grad)
    assert status == "correct" and not [w for w in recwarn if "requires_grad" in str(w.message)]
