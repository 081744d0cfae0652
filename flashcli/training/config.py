"""Everything a training run is made from, as one plain dataclass (saved with the run)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flashcli.errors import FlashcliError


@dataclass
class TrainConfig:
    """Options of ``flashcli train`` (and of :func:`flashcli.training.train`).

    A trainable method reads ``lr`` (overrides its main learning rate when set) and
    ``resuming`` (set by the engine while a run is continued: a saved state replaces the
    modules' weights, so the task need not fetch starting weights) in
    ``training_task(config)``; anything specific to a method is one of its ``options``.
    """

    data: str
    out: str | None = None            # None: runs/<method>-<date>-<time>
    method: str | None = None       # None: the method whose default_for names train
    options: dict[str, Any] = field(default_factory=dict)
    epochs: int = 1000
    steps: int | None = None          # stop after this many steps (overrides epochs)
    batch_size: int = 8               # per process
    crop_size: int = 224
    crop_min: float = 0.8             # crop side = short side * U(crop_min, 1)
    flip: bool = True
    seed: int = 0
    lr: float | None = None
    category: str | None = None
    device: str = "auto"
    amp: str = "auto"                 # auto | off | bf16 | fp16
    channels_last: bool | None = None  # None = on CUDA only
    compile: bool = False
    log_every: int = 50               # steps between JSONL lines
    checkpoint_every: int = 10        # epochs between checkpoints (and at the end)
    eval_every: int = 10              # epochs between test metrics and image grids
    grid_pairs: int = 4
    resuming: bool = False            # set by the engine for training_task, never saved

    def resolve(self) -> TrainConfig:
        """Fill in the defaults that depend on what is installed: the method (the one whose
        ``default_for`` names train) and the run folder."""
        if not self.method:
            from flashcli.plugins import registry

            self.method = registry().default_method("train")
        if not self.out:
            self.out = str(Path("runs") / f"{self.method}-{time.strftime('%Y%m%d-%H%M%S')}")
        return self

    def validate(self) -> TrainConfig:
        checks = [
            (self.epochs >= 1, f"--epochs {self.epochs}: must be at least 1"),
            (self.steps is None or self.steps >= 1, f"--steps {self.steps}: must be at least 1"),
            (self.batch_size >= 1, f"--batch-size {self.batch_size}: must be at least 1"),
            (self.crop_size >= 8, f"--crop-size {self.crop_size}: must be at least 8"),
            (0 < self.crop_min <= 1, f"crop_min {self.crop_min}: must be in (0, 1]"),
            (self.amp in ("auto", "off", "bf16", "fp16"), f"--amp {self.amp}: use auto, off, bf16 or fp16"),
            (min(self.log_every, self.checkpoint_every, self.eval_every) >= 1,
             "--log-every, --checkpoint-every and --eval-every must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise FlashcliError(message)
        return self

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("resuming")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
