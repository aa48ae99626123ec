"""Plain-text tables whose columns line up when a cell holds Chinese characters (each of
which takes two columns in a monospaced font)."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence

__all__ = ["text_width", "text_table"]


def text_width(text: str) -> int:
    """The columns ``text`` takes in a monospaced font: two for a wide (East Asian) character,
    one for any other."""
    if not isinstance(text, str):
        raise TypeError(f"text={text!r} of type {type(text).__name__} must be a str")
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def text_table(head: Sequence[str], body: Sequence[Sequence[str]], right: Collection[int] = ()) -> str:
    """A header line, a line of dashes and one line per row; columns are two spaces apart,
    padded to their widest cell; the columns whose indexes are in ``right`` are right-aligned.
    Every row must have as many cells as ``head``."""
    for i, row in enumerate(body):
        if len(row) != len(head):
            raise ValueError(f"row {i} has {len(row)} cells; the header has {len(head)}")
    widths = [max(text_width(c) for c in col) for col in zip(head, *body)]

    def fmt(row: Sequence[str]) -> str:
        cells = []
        for i, (c, w) in enumerate(zip(row, widths)):
            pad = " " * (w - text_width(c))
            cells.append(pad + c if i in right else c + pad)
        return "  ".join(cells).rstrip()

    return "\n".join([fmt(head), "  ".join("-" * w for w in widths), *map(fmt, body)])
