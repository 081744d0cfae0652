"""Find the photos named by files, folders and globs (shared by ``relight`` and ``info``).

One set of rules for every command: hidden files and folders are passed over, symlinked
folders are not followed (so loops end), each real file comes once (first mention wins),
and folder contents are sorted by path.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flashcli.errors import FlashcliError
from flashcli.fsutil import not_regular_reason
from flashcli.imageio import is_image_path


@dataclass(frozen=True)
class Source:
    """An input photo and its path relative to the root mirrored under the output folder."""

    path: Path
    rel: Path


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _glob_base(pattern: str) -> Path:
    """The folder part of a glob before its first wildcard."""
    base: list[str] = []
    for part in Path(pattern).parts:
        if _is_glob(part):
            break
        base.append(part)
    return Path(*base) if base else Path(".")


def _hidden(path: Path, root: Path) -> bool:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = (path.name,)
    return any(p.startswith(".") for p in parts)


def _real(path: Path) -> Path:
    """The resolved path; a symlink loop (``a -> a``) stays as it is, to be reported."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return path.absolute()


def _broken(path: Path) -> bool:
    return path.is_symlink() and not path.exists()


def _folder_files(folder: Path, recursive: bool, keep_broken: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if (p.is_file() or (keep_broken and _broken(p)))
                  and not _hidden(p, folder))


def _expand(text: str, recursive: bool, keep: bool) -> tuple[Path, list[Path], bool]:
    """(root mirrored under the output, files, whether they were named directly)."""
    if not text.strip():
        raise FlashcliError("an empty input path was given; name photos or folders (use . for this folder)")
    p = Path(text).expanduser()
    if p.is_dir():
        return p, _folder_files(p, recursive, keep), False
    if p.is_file() or (keep and not _is_glob(text)):
        return p.parent, [p], True
    if not _is_glob(text):
        why = not_regular_reason(p) or "no such file or folder; check the path"
        raise FlashcliError(f"{text}: {why.replace('no such file;', 'no such file or folder;')}")
    hits = sorted(Path(h) for h in glob.glob(os.path.expanduser(text), recursive=True))
    if not hits:
        if keep:
            return p.parent, [p], True
        raise FlashcliError(f"{text}: no files match this pattern; check the path")
    files: list[Path] = []
    for h in hits:
        if h.is_dir():
            files.extend(_folder_files(h, recursive, keep))
        elif h.is_file() or (keep and _broken(h)):  # not a broken or looping symlink
            files.append(h)
    return _glob_base(os.path.expanduser(text)), files, False


def discover(inputs: Sequence[str | os.PathLike], recursive: bool = False, *,
             keep_unreadable: bool = False) -> list[Source]:
    """The image files named by ``inputs`` (files, folders, globs), each with the path it
    mirrors under the output folder. Non-image and hidden files are passed over.

    ``keep_unreadable`` (for reports such as ``flashcli info``) keeps what cannot be read
    instead of refusing it: missing paths, broken symlinks named like photos, and files
    named directly whatever their type, so that the caller lists each one.
    """
    groups = [_expand(os.fspath(item), recursive, keep_unreadable) for item in inputs]
    if not groups:
        return []
    roots = {_real(g[0]) for g in groups}
    common = roots.pop() if len(roots) == 1 else Path(os.path.commonpath([str(r) for r in roots]))
    seen: set[Path] = set()
    sources = []
    for _, files, named in groups:
        for f in files:
            real = _real(f)
            if real in seen or not (is_image_path(f) or (named and keep_unreadable)):
                continue
            seen.add(real)
            try:
                rel = real.relative_to(common)
            except ValueError:
                rel = Path(f.name)
            sources.append(Source(f, rel))
    return sources
