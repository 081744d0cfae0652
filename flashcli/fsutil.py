"""Atomic writes: a temporary file in the target folder, flushed, then renamed.

Whatever happens (an exception in the body, a full disk, Ctrl-C), the target is either the
old file (or absent) or the complete new one, and no temporary file is left behind. File
system errors become a one-line :class:`~flashcli.errors.FlashcliError` naming the target
and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flashcli.errors import FlashcliError

#: The process umask, read once at import (os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)

_HINTS = {
    errno.ENOSPC: "free some disk space and run again",
    errno.EDQUOT: "free some disk space (quota exceeded) and run again",
    errno.EACCES: "choose a writable output folder",
    errno.EPERM: "choose a writable output folder",
    errno.EROFS: "the disk is read-only; choose another output folder",
    errno.ENAMETOOLONG: "choose a shorter output name",
    errno.ENOTDIR: "a file stands where the output folder should be; choose another output folder",
    errno.EEXIST: "a file stands where the output folder should be; choose another output folder",
}


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def write_error(target: Path, exc: OSError) -> FlashcliError:
    """A one-line error for a failed write of ``target``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = _HINTS.get(exc.errno or 0, "check the output folder and the disk")
    return FlashcliError(f"{target}: cannot write ({reason}); {hint}")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, protect: tuple[Path, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    Nothing is left behind if the body raises (the temporary file is removed and ``target``
    is untouched). ``protect`` lists input files that must never be replaced (the write is
    refused when ``target`` is one of them). OS errors with an errno (disk full, permission
    denied, read-only disk...), in the body or in the rename, become a
    :class:`FlashcliError` naming ``target``; other exceptions pass through unchanged.
    """
    target = Path(target)
    for p in protect:
        if Path(p).resolve() == target.resolve() or _same_file(Path(p), target):
            raise FlashcliError(f"{target}: refusing to write over an input file; choose another output path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part" + target.suffix,
                                   dir=target.parent)
    except OSError as exc:
        raise write_error(target, exc) from exc
    tmp_path = Path(tmp)
    try:
        os.close(fd)
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp makes 0600 files: give the output the mode a new file would have.
        mode = (target.stat().st_mode & 0o777) if target.exists() else (0o666 & ~_UMASK)
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(exc, OSError) and exc.errno is not None:
            raise write_error(target, exc) from exc
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))
