"""Find the photos named by files, folders and globs (shared by ``relight`` and ``info``).

One set of rules for every command: hidden files and folders are passed over, symlinked
folders are not followed (so loops end), each real file comes once (first mention wins),
and folder contents are sorted by path. What is passed over that is not hidden (files of
other types, broken or looping links) can be collected as :class:`Ignored`, to be counted
and named.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flashcli.errors import FlashcliError
from flashcli.io.fsutil import not_regular_reason
from flashcli.io.imageio import is_image_path

log = logging.getLogger(__name__)

#: Ignored.kind for links that lead nowhere.
BROKEN_LINK = "broken symbolic link"
LOOPING_LINK = "looping symbolic link"


@dataclass(frozen=True)
class Source:
    """An input photo and its path relative to the root mirrored under the output folder."""

    path: Path
    rel: Path


@dataclass(frozen=True)
class Ignored:
    """A file passed over: not a photo flashcli reads (``kind``: its extension in capitals,
    e.g. ``GIF``, or ``no extension``) or a broken or looping symbolic link."""

    path: Path
    kind: str

    @property
    def why(self) -> str:
        if self.kind in (BROKEN_LINK, LOOPING_LINK):
            return f"a {self.kind}; point it at a photo or remove it"
        what = "a file without an extension" if self.kind == "no extension" else f"a {self.kind} file"
        return f"{what}, not a photo flashcli reads (JPEG, PNG, TIFF, HEIC or RAW)"

    def to_dict(self) -> dict[str, str]:
        return {"path": str(self.path), "kind": self.kind, "why": self.why}


def _ignored(path: Path) -> Ignored:
    if path.is_symlink() and not path.exists():
        why = not_regular_reason(path) or ""
        return Ignored(path, LOOPING_LINK if "looping" in why else BROKEN_LINK)
    return Ignored(path, path.suffix[1:].upper() if path.suffix else "no extension")


def describe_ignored(ignored: Sequence[Ignored]) -> str:
    """``3 files of other types (2 GIF, 1 TXT)``, ``1 broken symbolic link``, joined by
    "; "; "" when nothing was passed over."""
    counts: dict[str, int] = {}
    for item in ignored:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    links = {k: counts.pop(k) for k in (BROKEN_LINK, LOOPING_LINK) if k in counts}
    parts = []
    if counts:
        n = sum(counts.values())
        kinds = ", ".join(f"{c} {'without an extension' if k == 'no extension' else k}"
                          for k, c in sorted(counts.items(), key=lambda kc: (-kc[1], kc[0])))
        parts.append(f"{n} file{'s' if n > 1 else ''} of other types ({kinds})")
    parts += [f"{n} {k}{'s' if n > 1 else ''}" for k, n in links.items()]
    return "; ".join(parts)


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
    """The files in ``folder``, and (unless ``keep_broken`` keeps them as files) its broken
    and looping links, which the caller passes over and reports."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if (p.is_file() or _broken(p)) and not _hidden(p, folder))


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
        elif h.is_file() or _broken(h):  # broken or looping links: kept, or reported
            files.append(h)
    return _glob_base(os.path.expanduser(text)), files, False


def discover(inputs: Sequence[str | os.PathLike], recursive: bool = False, *,
             keep_unreadable: bool = False, ignored: list[Ignored] | None = None) -> list[Source]:
    """The image files named by ``inputs`` (files, folders, globs), each with the path it
    mirrors under the output folder. Non-image and hidden files are passed over; the
    non-hidden ones (other types, broken or looping links) are appended to ``ignored``.

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
            if real in seen:
                continue
            seen.add(real)
            usable = (is_image_path(f) and (keep_unreadable or not _broken(f))) or (named and keep_unreadable)
            if not usable:
                if ignored is not None:
                    ignored.append(_ignored(f))
                    log.debug(f"passed over {f}: {ignored[-1].why}")
                continue
            try:
                rel = real.relative_to(common)
            except ValueError:
                rel = Path(f.name)
            sources.append(Source(f, rel))
    return sources


def no_photos_message(inputs: Sequence[str | os.PathLike], ignored: Sequence[Ignored],
                      recursive: bool) -> str:
    """Why ``inputs`` gave no photo, pointing the right way: what was found instead, the
    subfolders ``--recursive`` would look into, or an empty folder."""
    where = ", ".join(map(os.fspath, inputs))
    found = describe_ignored(ignored)
    folders = 0 if recursive else sum(_subfolders(Path(os.fspath(i)).expanduser()) for i in inputs)
    sub = (f"{folders} subfolder{'s' if folders > 1 else ''} not searched; --recursive looks "
           "inside" if folders else "")
    if found:
        return (f"{where}: no photos found (JPEG, PNG, TIFF, HEIC or RAW), only {found}"
                + (f"; {sub}" if sub else ""))
    if sub:
        return f"{where}: no photos found here, {sub}"
    return f"{where}: no photos found (JPEG, PNG, TIFF, HEIC or RAW): it is empty, or holds only hidden files"


def _subfolders(path: Path) -> int:
    try:
        return sum(1 for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return 0
