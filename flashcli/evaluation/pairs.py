"""Which pairs an evaluation scores (the step relight calls discover): a dataset folder
(split, category), two folders of matching stems, or pairs given in Python; with their
headers read (no pixels decoded), so unreadable files and size mismatches are failures
known before any work starts."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flashcli.datasets import (
    Pair,
    PairSet,
    check_pairs,
    filter_category,
    find_pairs,
    pairs_from_dirs,
)
from flashcli.errors import FlashcliError, UsageError
from flashcli.evaluation.report import Failure


def data_of(dataset: str | Path | None, pairs_dirs: tuple[str, str] | None) -> Any:
    """What :func:`collect_pairs` reads: the DATASET folder, or the pairs of two folders of
    matching stems (``--pairs FLASH_DIR AMBIENT_DIR``); exactly one of them."""
    if pairs_dirs:
        if dataset:
            raise FlashcliError(f"{dataset}: give either DATASET or --pairs FLASH_DIR AMBIENT_DIR, not both")
        return pairs_from_dirs(*pairs_dirs, check=False)
    if dataset:
        return dataset
    raise FlashcliError("no data: pass a DATASET folder or --pairs FLASH_DIR AMBIENT_DIR")


def collect_pairs(
    data: str | Path | PairSet | Sequence[Pair],
    split: str | None = "test",
    category: str | None = None,
    limit: int | None = None,
    workers: int = 4,
    check: bool = True,
) -> tuple[list[Pair], list[Failure], Path | None]:
    """The usable pairs, the dataset problems as failures (by file name), and the root.

    With ``check`` every pair's headers are read (no pixel decode), so unreadable files and
    size mismatches are known before any work starts; without it only the folder listing is
    used (see ``check_collected``).
    """
    if isinstance(data, str | Path):
        data = find_pairs(data, split=split, category=category, check=False)
    elif category and isinstance(data, PairSet):
        data = PairSet(data.root, filter_category(data.pairs, category), list(data.problems))
    if isinstance(data, PairSet):
        pairs, given, root = list(data.pairs), list(data.problems), data.root
    else:
        pairs, given, root = list(data), [], None
    if limit is not None:
        if limit < 1:
            raise UsageError(f"--limit {limit}: give a positive number of pairs")
        pairs = pairs[:limit]
    if not pairs and not given:
        raise FlashcliError(f"{root or 'dataset'}: no image pairs to evaluate")
    if not check:
        return pairs, [Failure(_name_of(msg), None, msg) for msg in given], root
    return check_collected(pairs, given, root, workers)


def check_collected(pairs: Sequence[Pair], given: Sequence[str], root: Path | None,
                    workers: int = 4) -> tuple[list[Pair], list[Failure], Path | None]:
    """Read the headers of ``pairs``; pairs with problems become failures, as do ``given``
    problem lines (unpaired files) not already found."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        checked = list(pool.map(lambda p: check_pairs([p], root), pairs))
    found = {msg for msgs in checked for msg in msgs}
    failures = [Failure(_name_of(msg), None, msg) for msg in given if msg not in found]
    good = []
    for pair, msgs in zip(pairs, checked, strict=True):
        if msgs:
            failures.append(Failure(pair.stem, None, "; ".join(msgs)))
        else:
            good.append(pair)
    return good, failures, root


def _name_of(problem: str) -> str:
    """The file named at the start of a dataset problem line."""
    return Path(problem.split(":", 1)[0].split(",")[0].strip()).name
