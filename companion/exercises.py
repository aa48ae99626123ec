"""Every lesson's exercises by key (``"03.params_rgb"``): questions, expected answers, hints.
``companion.checker`` checks a learner's answer against them.

Every expected value is computed from real torch layers when the check runs, so the
checkers stay true if a lesson changes its numbers.
"""

from __future__ import annotations

from .exercise import KINDS, Exercise
from .exercises_00_05 import LESSONS_00_05
from .exercises_06_11 import LESSONS_06_11

__all__ = ["Exercise", "EXERCISES", "KINDS"]

EXERCISES: dict[str, Exercise] = {e.key: e for e in [*LESSONS_00_05, *LESSONS_06_11]}
