"""Where a training run stands: the one object the loop changes, saved in ``state.pt``.

The weights, the optimisers' moments and the AMP scaler live in the method's modules and
optimisers (the engine saves them beside this); everything else a run counts, remembers
or sums as it goes is a field of :class:`RunState`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from flashcli.training.config import TrainConfig


class LossSums:
    """Running sums of the step losses (device tensors, read only when reported) and the
    time they cover. The clock starts when the sums are made (or at :meth:`start_clock`)."""

    def __init__(self, sums: dict[str, torch.Tensor] | None = None, n: int = 0,
                 seconds: float = 0.0) -> None:
        self.sums: dict[str, torch.Tensor] = dict(sums or {})
        self.n = n
        self.before = seconds  # seconds covered before this process (a resumed epoch)
        self.t = time.perf_counter()

    def start_clock(self) -> None:
        self.t = time.perf_counter()

    def seconds(self) -> float:
        return self.before + time.perf_counter() - self.t

    def add(self, losses: dict[str, torch.Tensor]) -> None:
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0) + v.detach().float()
        self.n += 1

    def means(self) -> dict[str, float]:
        return {k: (v / max(self.n, 1)).item() for k, v in self.sums.items()}

    def snapshot(self) -> dict[str, Any]:
        """Plain data for the resumable state, so a resumed epoch's row keeps its losses."""
        return {"sums": {k: float(v) for k, v in self.sums.items()}, "n": self.n,
                "seconds": self.seconds()}

    @classmethod
    def from_snapshot(cls, saved: Any) -> LossSums:
        """Sums that continue a :meth:`snapshot` (empty ones when missing or malformed)."""
        try:
            sums = {str(k): torch.tensor(float(v)) for k, v in saved["sums"].items()}
            return cls(sums, int(saved["n"]), float(saved["seconds"]))
        except (TypeError, KeyError, ValueError, AttributeError):
            return cls()


@dataclass
class RunState:
    """The progress of one run. Made once, by the engine's set-up: fresh, or from a saved
    ``state.pt`` (:meth:`from_saved`); the loop updates it; :meth:`to_saved` writes it back."""

    epoch: int = 0                  # epochs completed
    step: int = 0                   # optimiser steps completed, all epochs together
    batch_in_epoch: int = 0         # steps completed in the epoch under way
    best: float | None = None       # the best validation score so far (the ``best`` weights')
    metrics: dict[str, Any] = field(default_factory=dict)   # the latest validation and test metrics
    val_stems: list[str] | None = None  # the validation pairs (a resumed run keeps them)
    last_log: dict[str, Any] = field(default_factory=dict)  # the latest log.jsonl record
    window: LossSums = field(default_factory=LossSums)      # losses since that record
    epoch_sums: LossSums = field(default_factory=LossSums)  # losses of the epoch under way

    def done(self, config: TrainConfig) -> bool:
        """``--epochs`` (or ``--steps``) reached."""
        return self.epoch >= config.epochs or (config.steps is not None and self.step >= config.steps)

    def count_step(self, losses: dict[str, torch.Tensor]) -> None:
        """One more step, its losses added to the log window and to the epoch."""
        self.window.add(losses)
        self.epoch_sums.add(losses)
        self.step += 1
        self.batch_in_epoch += 1

    def start_clocks(self) -> None:
        """Speeds count training only: the clocks (re)start when the loop starts."""
        self.window.start_clock()
        self.epoch_sums.start_clock()

    @classmethod
    def from_saved(cls, saved: dict[str, Any]) -> RunState:
        """Where a saved run stopped (``saved``: checked by ``checkpoint.load_state``)."""
        state = cls(epoch=int(saved["epoch"]), step=int(saved["step"]),
                    batch_in_epoch=int(saved["batch_in_epoch"]),
                    best=saved.get("best", saved.get("best_psnr")),  # best_psnr: states before 0.2
                    val_stems=_stems(saved.get("val_stems")))
        if state.batch_in_epoch:  # stopped mid-epoch: its row keeps the losses summed so far
            state.epoch_sums = LossSums.from_snapshot(saved.get("epoch_sums"))
        return state

    def to_saved(self) -> dict[str, Any]:
        """The entries of ``state.pt`` that :meth:`from_saved` reads back."""
        return {"epoch": self.epoch, "step": self.step, "batch_in_epoch": self.batch_in_epoch,
                "best": self.best, "epoch_sums": self.epoch_sums.snapshot(), "val_stems": self.val_stems}


def _stems(value: Any) -> list[str] | None:
    """Saved validation stems: a list of names, else None (a state from before them)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None
