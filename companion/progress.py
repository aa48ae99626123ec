"""The progress bar: a widget in notebooks, one redrawn line in terminals, sparse text in logs."""

from __future__ import annotations

import importlib.util
import sys

from . import _validate as v

__all__ = ["progress_bar"]


def progress_bar(total: int, enabled: bool = True, desc: str = ""):
    """A tqdm bar over ``total`` steps (disabled: nothing is drawn).

    In Jupyter with ipywidgets installed it is tqdm's notebook widget; elsewhere plain text,
    redrawn twice a second on a terminal and every five seconds in logs and captured output."""
    v.integer("total", total, 0)
    v.boolean("enabled", enabled)
    v.text("desc", desc)
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:  # tqdm.auto would warn and fall back to text; go there directly
        from tqdm.std import tqdm
    interval = 0.5 if getattr(sys.stderr, "isatty", lambda: False)() else 5.0
    return tqdm(total=total, disable=not enabled, desc=desc, unit="step", mininterval=interval, dynamic_ncols=True)
