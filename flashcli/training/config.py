"""Everything a training run is made from, as one plain dataclass (saved with the run)."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from flashcli import plugins
from flashcli.errors import UsageError


def _flag(name: str) -> str:
    """The command-line spelling of a setting (``batch_size`` -> ``--batch-size``)."""
    return name if name == "crop_min" else "--" + name.replace("_", "-")


@dataclass
class TrainConfig:
    """Options of ``flashcli train`` (and of :func:`flashcli.training.train`).

    A trainable method receives it in ``training_task(config: TrainConfig)`` and reads
    ``lr`` (overrides its main learning rate when set: ``config.learning_rate(default)``)
    and ``resuming`` (set by the engine while a run is continued: a saved state replaces
    the modules' weights, so the task need not fetch starting weights); anything specific
    to a method is one of its ``options``, already parsed in the enhancer's ``config``.
    """

    data: str = ""                    # ROOT holding train/ and test/ ...
    pairs: list[str] | None = None    # ... or FLASH_DIR, AMBIENT_DIR paired by file stem
    test_pairs: list[str] | None = None  # with pairs: FLASH_DIR, AMBIENT_DIR of the test pairs
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
    val_fraction: float = 0.1         # training pairs held out to choose the best weights on
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
    init: str | None = None           # start from these weights (a file, a run, or "bundled")
    resuming: bool = False            # set by the engine for training_task, never saved

    @classmethod
    def of(cls, config: Any) -> TrainConfig:
        """``config`` as a TrainConfig: itself, or a default one carrying the ``lr`` and
        ``resuming`` of another object (older callers and tests; None: the defaults)."""
        if isinstance(config, TrainConfig):
            return config
        return cls(lr=getattr(config, "lr", None), resuming=bool(getattr(config, "resuming", False)))

    def learning_rate(self, default: float) -> float:
        """The main learning rate: ``--lr`` when given, else the method's ``default``."""
        return float(self.lr) if self.lr is not None else float(default)

    def resolve(self) -> TrainConfig:
        """Fill in the defaults that depend on what is installed: the method (the one whose
        ``default_for`` names train) and the run folder."""
        if self.method is not None and isinstance(self.method, str) and not self.method.strip():
            raise UsageError(f"--method {self.method!r}: empty method name; name one (see "
                             "`flashcli plugins`) or leave --method out for the default")
        if not self.method:
            self.method = plugins.registry().default_method("train")
        if not self.out:
            self.out = str(Path("runs") / f"{self.method}-{time.strftime('%Y%m%d-%H%M%S')}")
        return self

    #: Upper bounds: a saved config comes from a file anyone may have edited, and a crop
    #: of 10^6 pixels a side would allocate terabytes.
    MAX_CROP: ClassVar[int] = 8192
    MAX_BATCH: ClassVar[int] = 4096
    #: Seeds are 0..2^32-1: torch takes 64 bits, and the per-epoch and per-step generators
    #: are seeded with seed * 1_000_003 (+ step) * 64, which must still fit.
    MAX_SEED: ClassVar[int] = 2**32 - 1

    def _check_types(self) -> None:
        ints = ("epochs", "batch_size", "crop_size", "seed", "log_every", "checkpoint_every",
                "eval_every", "grid_pairs")
        for name in ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise UsageError(f"{_flag(name)} {value!r}: must be a whole number")
        for name in ("steps",):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise UsageError(f"{_flag(name)} {value!r}: must be a whole number")
        for name in ("crop_min", "lr", "val_fraction"):
            value = getattr(self, name)
            if value is None and name == "lr":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise UsageError(f"{_flag(name)} {value!r}: must be a finite number")
        for name in ("data", "out", "method", "device", "amp"):
            if not isinstance(getattr(self, name), str):
                raise UsageError(f"{name} {getattr(self, name)!r}: must be text")
        if self.init is not None and (not isinstance(self.init, str) or not self.init):
            raise UsageError(f"--init {self.init!r}: give a weights file, a run folder or 'bundled'")
        if not isinstance(self.options, dict):
            raise UsageError(f"options {self.options!r}: must be a mapping")
        for name in ("pairs", "test_pairs"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (list, tuple)) or len(value) != 2
                                      or not all(isinstance(v, str) and v for v in value)):
                raise UsageError(f"{_flag(name)} {value!r}: give two folders, FLASH_DIR AMBIENT_DIR")
            if value is not None:
                setattr(self, name, list(value))

    def _check_data(self) -> None:
        if self.pairs and self.data:
            raise UsageError(f"{self.data}: give either DATASET or --pairs FLASH_DIR AMBIENT_DIR, not both")
        if not self.pairs and not self.data:
            raise UsageError("missing DATASET: pass the dataset folder (holding train/ and test/), "
                             "or --pairs FLASH_DIR AMBIENT_DIR")
        if self.test_pairs and not self.pairs:
            raise UsageError("--test-pairs goes with --pairs; a DATASET folder has its own test/ split")

    def validate(self) -> TrainConfig:
        self._check_types()
        self._check_data()
        checks = [
            (self.epochs >= 1, f"--epochs {self.epochs}: must be at least 1"),
            (self.steps is None or self.steps >= 1, f"--steps {self.steps}: must be at least 1"),
            (1 <= self.batch_size <= self.MAX_BATCH,
             f"--batch-size {self.batch_size}: must be 1 to {self.MAX_BATCH}"),
            (8 <= self.crop_size <= self.MAX_CROP,
             f"--crop-size {self.crop_size}: must be 8 to {self.MAX_CROP}"),
            (0 < self.crop_min <= 1, f"crop_min {self.crop_min}: must be in (0, 1]"),
            (0 <= self.val_fraction < 1, f"--val-fraction {self.val_fraction}: must be 0 to 1 (0: no "
                                         "validation pairs, no best weights)"),
            (self.lr is None or self.lr > 0, f"--lr {self.lr}: must be > 0"),
            (0 <= self.seed <= self.MAX_SEED, f"--seed {self.seed}: must be 0 to {self.MAX_SEED} (2^32 - 1)"),
            (0 <= self.grid_pairs <= 64, f"grid_pairs {self.grid_pairs}: must be 0 to 64"),
            (self.amp in ("auto", "off", "bf16", "fp16"), f"--amp {self.amp}: use auto, off, bf16 or fp16"),
            (min(self.log_every, self.checkpoint_every, self.eval_every) >= 1,
             "--log-every, --checkpoint-every and --eval-every must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        return self

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("resuming")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
