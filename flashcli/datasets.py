"""Paired flash/ambient datasets, shared by ``train`` and ``eval``.

Layouts (docs/method.md, "Data: FAID")::

    ROOT/train/<Category>_<NNN>_flash.png   with   ROOT/train/<Category>_<NNN>_ambient.png
    ROOT/test/...                                     (the same)
    ROOT/<split>/<Category>/<stem>_flash.png ...       (one folder per category)

or two folders of images with matching stems (``pairs_from_dirs``). Problems (a partner
missing, sizes that differ, unreadable files) are collected by name so a command can list
them all before it starts.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from flashcli.errors import FlashcliError
from flashcli.io.imageio import is_image_path, read_image, read_metadata

_ROLE = re.compile(r"^(?P<stem>.+)_(?P<role>flash|ambient)$", re.IGNORECASE)
_CATEGORY = re.compile(r"^(?P<cat>[A-Za-z]+)_\d+")


@dataclass(frozen=True)
class Pair:
    """One flash image and its ambient partner."""

    stem: str
    flash: Path
    ambient: Path
    category: str | None = None
    split: str | None = None


@dataclass
class PairSet:
    root: Path
    pairs: list[Pair] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pairs)


@dataclass
class SizeGroup:
    """Pairs of one image size, decoded to uint8 N x 3 x H x W tensors."""

    flash: torch.Tensor
    ambient: torch.Tensor
    stems: list[str]


def _is_image(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and is_image_path(path)


def _category_of(stem: str, folder: str | None) -> str | None:
    if folder:
        return folder
    m = _CATEGORY.match(stem)
    return m.group("cat") if m else None


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _pair_folder(folder: Path, root: Path, split: str | None, category_dir: str | None) -> tuple[list[Pair], list[str]]:
    groups: dict[str, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for f in sorted(folder.iterdir()):
        if not _is_image(f):
            continue
        m = _ROLE.match(f.stem)
        if m:
            groups[m.group("stem")][m.group("role").lower()].append(f)
    pairs, problems = [], []
    for stem, roles in sorted(groups.items()):
        flash, ambient = roles.get("flash", []), roles.get("ambient", [])
        if len(flash) > 1 or len(ambient) > 1:
            names = ", ".join(_rel(p, root) for p in flash + ambient)
            problems.append(f"{names}: several files share the stem {stem!r}; keep one flash and one ambient file")
            continue
        if not ambient:
            problems.append(f"{_rel(flash[0], root)}: no ambient partner (expected {stem}_ambient.* beside it)")
            continue
        if not flash:
            problems.append(f"{_rel(ambient[0], root)}: no flash partner (expected {stem}_flash.* beside it)")
            continue
        pairs.append(Pair(stem, flash[0], ambient[0], _category_of(stem, category_dir), split))
    return pairs, problems


def _category_dirs(base: Path) -> list[Path]:
    """The category folders below ``base``: visible folders, each real folder once, never
    ``base`` itself or a folder above it (a symlink loop such as ``loop -> .``)."""
    here = base.resolve()
    seen = {here}
    found = []
    for d in sorted(base.iterdir()):
        if d.name.startswith(".") or not d.is_dir():
            continue
        real = d.resolve()
        if real in seen or here.is_relative_to(real):
            continue
        seen.add(real)
        found.append(d)
    return found


def find_pairs(root: str | Path, split: str | None = "train", category: str | None = None,
               check: bool = True, other_layout: str = "or use --pairs FLASH_DIR AMBIENT_DIR"
               ) -> PairSet:
    """Collect the pairs of ``ROOT/<split>`` (``split=None``: of ROOT itself), including
    one level of category folders. ``check`` also reads the image headers to catch
    unreadable files and size mismatches. ``other_layout`` ends the message of a wrong
    layout: the calling command's own way out (empty: none)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FlashcliError(f"{root}: dataset folder not found; pass a folder holding train/ and test/")
    base = root / split if split else root
    if not base.is_dir():
        have = ", ".join(sorted(p.name for p in root.iterdir() if p.is_dir())) or "no folders"
        raise FlashcliError(
            f"{base}: split folder not found (found {have}); expected the layout ROOT/train and ROOT/test "
            f"with <stem>_flash.png / <stem>_ambient.png{', ' + other_layout if other_layout else ''}"
        )
    result = PairSet(root)
    folders = [(base, None)] + [(d, d.name) for d in _category_dirs(base)]
    seen: dict[str, Pair] = {}
    for folder, cat_dir in folders:
        pairs, problems = _pair_folder(folder, root, split, cat_dir)
        for pair in pairs:  # scores, saved images and sheets are keyed by the stem
            first = seen.setdefault(pair.stem, pair)
            if first is pair:
                result.pairs.append(pair)
            else:
                result.problems.append(
                    f"{_rel(pair.flash, root)}: the stem {pair.stem!r} is also used by "
                    f"{_rel(first.flash, root)}; rename one pair (stems must be unique across categories)")
        result.problems += problems
    result.pairs = filter_category(result.pairs, category)
    if check:
        result.problems += check_pairs(result.pairs, root)
    if not result.pairs and not result.problems:
        raise FlashcliError(
            f"{base}: no image pairs found; name them <stem>_flash.<ext> and <stem>_ambient.<ext>"
            + (f" (category filter {category!r})" if category else "")
        )
    return result


def filter_category(pairs: Sequence[Pair], category: str | None) -> list[Pair]:
    """The pairs of ``category`` (case-insensitive); all of them when it is None."""
    if not category:
        return list(pairs)
    want = category.lower()
    return [p for p in pairs if (p.category or "").lower() == want]


def pairs_from_dirs(flash_dir: str | Path, ambient_dir: str | Path, check: bool = True) -> PairSet:
    """Pair two folders by file stem (``_flash``/``_ambient`` suffixes are ignored)."""
    dirs = [Path(flash_dir).expanduser(), Path(ambient_dir).expanduser()]
    for d in dirs:
        if not d.is_dir():
            raise FlashcliError(f"{d}: folder not found; --pairs takes FLASH_DIR AMBIENT_DIR")
    stems: list[dict[str, list[Path]]] = []
    for d in dirs:
        by_stem: dict[str, list[Path]] = defaultdict(list)
        for f in sorted(d.iterdir()):
            if _is_image(f):
                m = _ROLE.match(f.stem)
                by_stem[m.group("stem") if m else f.stem].append(f)
        stems.append(by_stem)
    result = PairSet(dirs[0].parent)
    for stem in sorted(set(stems[0]) | set(stems[1])):
        fl, am = stems[0].get(stem, []), stems[1].get(stem, [])
        if len(fl) > 1 or len(am) > 1:
            result.problems.append(f"{', '.join(map(str, fl + am))}: several files share the stem {stem!r}")
        elif not am:
            result.problems.append(f"{fl[0]}: no file with stem {stem!r} in {dirs[1]}")
        elif not fl:
            result.problems.append(f"{am[0]}: no file with stem {stem!r} in {dirs[0]}")
        else:
            result.pairs.append(Pair(stem, fl[0], am[0], _category_of(stem, None), None))
    if not result.pairs:
        counts = [sum(len(v) for v in by_stem.values()) for by_stem in stems]
        for d, n in zip(dirs, counts, strict=True):
            if n == 0:
                raise FlashcliError(f"{d}: no images in this folder; --pairs takes FLASH_DIR AMBIENT_DIR, "
                                    "each holding one image per pair")
        if not set(stems[0]) & set(stems[1]):  # else: stems shared by several files, listed
            raise FlashcliError(
                f"{dirs[0]} ({counts[0]} images) and {dirs[1]} ({counts[1]}): no file stem is in both, so "
                "there are no pairs; give each pair's two files the same name (a.png in both folders, "
                "or a_flash.png and a_ambient.png)")
    if check:
        result.problems += check_pairs(result.pairs, None)
    return result


def check_pairs(pairs: Sequence[Pair], root: Path | None = None) -> list[str]:
    """Unreadable files and size mismatches, one line each (headers only, no decode)."""
    problems = []
    for pair in pairs:
        sizes = []
        for path in (pair.flash, pair.ambient):
            shown = _rel(path, root) if root else str(path)  # one spelling for every problem
            try:
                meta = read_metadata(path)
                sizes.append((meta.width, meta.height))
            except FlashcliError as exc:
                problems.append(exc.message.replace(str(path), shown) if str(path) in exc.message
                                else f"{shown}: {exc.message}")
            except Exception as exc:  # a damaged file must be listed, not crash the listing
                problems.append(f"{shown}: unreadable ({type(exc).__name__}: {exc})")
        if len(sizes) == 2 and sizes[0] != sizes[1]:
            a, b = sizes
            name = _rel(pair.flash, root) if root else str(pair.flash)
            problems.append(f"{name}: size {a[0]}x{a[1]} differs from its ambient image ({b[0]}x{b[1]}); resize one to match")
    return problems


def require_clean(pairset: PairSet, limit: int = 20) -> None:
    """Raise one error listing the problems, one line each (the first ``limit``), if any."""
    if not pairset.problems:
        if not pairset.pairs:
            raise FlashcliError(f"{pairset.root}: no image pairs to use")
        return
    shown = pairset.problems[:limit]
    more = len(pairset.problems) - len(shown)
    lines = "".join(f"\n  {p}" for p in shown) + (f"\n  and {more} more" if more > 0 else "")
    raise FlashcliError(f"{pairset.root}: {len(pairset.problems)} dataset problem(s), one per "
                        f"line; fix them and run again:{lines}")


def to_uint8(image: torch.Tensor) -> torch.Tensor:
    """Float [0, 1] -> uint8 with rounding."""
    return image.clamp(0, 1).mul(255).round_().to(torch.uint8)


def load_pair_uint8(pair: Pair) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode one pair to uint8 3 x H x W tensors (orientation applied)."""
    # 8-bit photos stay 8-bit (no float copy: a quarter of the memory for large images).
    flash, _ = read_image(pair.flash, keep_8bit=True)
    ambient, _ = read_image(pair.ambient, keep_8bit=True)
    if flash.shape != ambient.shape:
        raise FlashcliError(f"{pair.flash}: size differs from its ambient image {pair.ambient}; resize one to match")
    return _as_uint8(flash), _as_uint8(ambient)


def _as_uint8(image: torch.Tensor) -> torch.Tensor:
    return image.contiguous() if image.dtype == torch.uint8 else to_uint8(image)


def load_pairs_uint8(pairs: Sequence[Pair], device: torch.device | str | None = None,
                     workers: int = 4, on_loaded=None) -> list[SizeGroup]:
    """Decode ``pairs`` (in a thread pool) into uint8 tensors grouped by image size.

    ``on_loaded`` is called once per decoded pair (for progress bars). Pairs that cannot be
    decoded (truncated, over the pixel limit...) are all listed in one error, one per line.
    """
    by_size: dict[tuple[int, int], list[tuple[str, torch.Tensor, torch.Tensor]]] = defaultdict(list)
    problems: list[str] = []

    def load(pair: Pair) -> tuple[torch.Tensor, torch.Tensor] | str:
        try:
            return load_pair_uint8(pair)
        except FlashcliError as exc:
            return exc.format_message()
        except Exception as exc:  # a damaged file is a problem to list, not a crash
            return f"{pair.flash}: {type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for pair, loaded in zip(pairs, pool.map(load, pairs), strict=True):
            if isinstance(loaded, str):
                problems.append(loaded)
                continue
            fl, am = loaded
            by_size[tuple(fl.shape[1:])].append((pair.stem, fl, am))
            if on_loaded is not None:
                on_loaded(pair)
    if problems:
        require_clean(PairSet(Path(os.path.commonpath([str(p.flash.parent) for p in pairs])),
                              problems=problems))
    groups = []
    for _, items in sorted(by_size.items()):
        groups.append(SizeGroup(
            flash=torch.stack([i[1] for i in items]).to(device or "cpu"),
            ambient=torch.stack([i[2] for i in items]).to(device or "cpu"),
            stems=[i[0] for i in items],
        ))
    return groups


def fingerprint(pairs: Iterable[Pair]) -> str:
    """A short hash of the pairs' names, sizes and modification times."""
    h = hashlib.sha256()
    for p in sorted(pairs, key=lambda p: str(p.flash)):
        for f in (p.flash, p.ambient):
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)};".encode())
    return h.hexdigest()[:16]
