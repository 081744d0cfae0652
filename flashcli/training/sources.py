"""Where a run's pairs come from: a dataset folder (ROOT/train, ROOT/test) or two folders
paired by file stem (``--pairs FLASH_DIR AMBIENT_DIR``, ``--test-pairs ...``)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from flashcli.datasets import (
    PairSet,
    check_pairs,
    filter_category,
    find_pairs,
    pairs_from_dirs,
    require_clean,
)

if TYPE_CHECKING:
    from flashcli.training.config import TrainConfig

log = logging.getLogger(__name__)


def describe(cfg: TrainConfig) -> str:
    """The data of a run in words, for messages and the weights' sidecar."""
    if cfg.pairs:
        return f"--pairs {cfg.pairs[0]} {cfg.pairs[1]}"
    return str(cfg.data)


def _from_dirs(dirs: list[str], category: str | None) -> PairSet:
    """Two folders' pairs of ``category``; headers read for those only (as find_pairs)."""
    found = pairs_from_dirs(*dirs, check=False)
    found.pairs = filter_category(found.pairs, category)
    found.problems += check_pairs(found.pairs, None)
    return found


def training_sets(cfg: TrainConfig, warn: bool = True) -> tuple[PairSet, PairSet | None]:
    """The clean training pairs and the test pairs (None: none given; the run then has no
    test PSNR/SSIM). Any dataset problem raises one error listing it."""
    if cfg.pairs:
        train_set = _from_dirs(cfg.pairs, cfg.category)
        test_set = _from_dirs(cfg.test_pairs, cfg.category) if cfg.test_pairs else None
        missing = "no --test-pairs FLASH_DIR AMBIENT_DIR given"
    else:
        train_set = find_pairs(cfg.data, "train", cfg.category,
                               other_layout="or pass --pairs FLASH_DIR AMBIENT_DIR, "
                                            "or render a dataset with `flashcli synth`")
        test_dir = Path(cfg.data).expanduser() / "test"
        has_test = test_dir.is_dir() and any(p.is_file() for p in test_dir.rglob("*"))
        test_set = find_pairs(cfg.data, "test", cfg.category) if has_test else None
        missing = f"{test_dir}: no test pairs"
    require_clean(train_set)
    if test_set is not None:
        require_clean(test_set)
    elif warn:
        log.warning(f"{missing}; training without test PSNR/SSIM")
    return train_set, test_set


def validation_split(train_set: PairSet, fraction: float, seed: int,
                     stems: list[str] | None = None) -> tuple[PairSet, PairSet | None]:
    """The training pairs less the validation pairs, and those (None: none). ``stems``: the
    validation stems of a resumed run (it keeps its split); else ``round(fraction * n)`` of
    the n stems (at least one when ``fraction`` > 0, and one left to train on), ranked by
    a hash of (``seed``, stem): the same pairs whatever the order of the files or the machine.
    The test pairs are never among them: they come from another folder."""
    if stems is None:
        names = sorted({p.stem for p in train_set.pairs})
        k = min(len(names) - 1, max(1, round(fraction * len(names)))) if fraction > 0 else 0
        rank = sorted(names, key=lambda s: hashlib.sha256(f"{seed}:{s}".encode()).hexdigest())
        stems = rank[:max(k, 0)]
    chosen = set(stems)
    val = [p for p in train_set.pairs if p.stem in chosen]
    if not val:
        return train_set, None
    train = PairSet(train_set.root, [p for p in train_set.pairs if p.stem not in chosen],
                    train_set.problems)
    return train, PairSet(train_set.root, val)
