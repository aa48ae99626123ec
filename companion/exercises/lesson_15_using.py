"""The exercises of lesson 15 (使用训练好的网络, notebooks/15_using.ipynb)."""

from __future__ import annotations

from ..exercise import Exercise, generic
from ..model import build_model

__all__ = ["EXERCISES"]

EXERCISES: list[Exercise] = [
    Exercise(
        "15.state_dict_tensors",
        "保存的检查点里，state_dict 一共有多少个张量？",
        lambda: len(build_model("fixed").state_dict()),
        generic("只有 Conv2d 和 Linear 有参数，每层一个 weight、一个 bias；Dropout 没有参数，也没有缓冲区。"),
    ),
    Exercise(
        "15.checkpoint_mb",
        "检查点里的参数张量（float32）一共占多少 MB？（1 MB = 10⁶ 字节，保留一位小数；不算配置和历史）",
        lambda: sum(t.numel() * t.element_size() for t in build_model("fixed").state_dict().values()) / 1e6,
        lambda a, e: "第 00 课数过参数的个数（1,199,882 个）；float32 每个数 4 字节。",
        kind="float",
        decimals=1,
    ),
]
