"""What happened while training: one entry per evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from . import _validate as v

__all__ = ["History"]


@dataclass
class History:
    """What happened during ``fit``, one entry per evaluation.

    ``epoch`` may be fractional when evaluating several times per epoch; ``seconds`` is the
    training time so far, evaluation excluded; ``train_loss`` is the mean training loss (with
    the recipe's label smoothing) over the steps since the previous evaluation; ``test_loss``
    is the plain NLL, and ``test_acc`` the accuracy, on the held-out digits ``fit`` was given
    (a validation split while choosing, the test split only for a final number); ``lr`` is
    the learning rate of the last step.
    """

    epoch: list[float] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list]:
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        """Rebuild from ``as_dict``'s form; a missing entry is an empty list. Anything else than
        lists of numbers is a ``ValueError`` naming the entry."""
        if not isinstance(d, dict):
            raise v.wrong_type("history", d, "a dict of lists")
        for name, values in d.items():
            if not isinstance(values, (list, tuple)) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
            ):
                raise ValueError(f"history entry {name!r} must be a list of numbers, found {values!r:.60}")
        return cls(**{f.name: list(d.get(f.name, [])) for f in fields(cls)})

    def time_to(self, accuracy: float) -> float | None:
        """Training seconds until the test accuracy first reached ``accuracy`` (None: never)."""
        v.number("accuracy", accuracy, 0, 1)
        return next((s for s, a in zip(self.seconds, self.test_acc) if a >= accuracy), None)

    def __len__(self) -> int:
        return len(self.epoch)
