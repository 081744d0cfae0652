"""Files: atomic, verified writes; regular-file checks; safe names.

Whatever happens (an exception in the body, a full disk, Ctrl-C, SIGTERM), the target is
either the old file (or absent) or the complete new one, and no temporary file is left
behind. Every write is checked before the rename (the size of what was written, or a
format check of the temporary file), then fsynced. File system errors become a one-line
:class:`~flashcli.errors.FlashcliError` naming the target and what to do.

Temporary files are named ``.NAME.flashcli-PID-XXXX.part.EXT``; one left by a flashcli
process that no longer runs (killed by SIGKILL, a power cut) is removed by the next write
into the same folder.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from flashcli.errors import FlashcliError

log = logging.getLogger(__name__)

#: The process umask, read once at import (os.umask can only be read by setting it).
_UMASK = os.umask(0o022)
os.umask(_UMASK)

_HINTS = {
    errno.ENOSPC: "free some disk space and run again",
    errno.EDQUOT: "free some disk space (quota exceeded) and run again",
    errno.EFBIG: "free some disk space or choose another output folder",
    errno.EACCES: "choose a writable output folder",
    errno.EPERM: "choose a writable output folder",
    errno.EROFS: "the disk is read-only; choose another output folder",
    errno.ENAMETOOLONG: "choose a shorter output name",
    errno.ENOTDIR: "a file stands where the output folder should be; choose another output folder",
    errno.EEXIST: "a file stands where the output folder should be; choose another output folder",
    errno.EISDIR: "a folder stands where the output file should be; choose another output name",
}

#: Marks flashcli's temporary files: ``.NAME.flashcli-PID-XXXX.part.EXT``.
PART_MARK = "flashcli"
_PART_RE = re.compile(r"^\..*\.flashcli-(\d+)-[^.]*\.part(\.[^.]*)?$")
_cleaned: set[str] = set()
_cleaned_lock = threading.Lock()


class IncompleteWrite(OSError):
    """The file on disk is not what was written (a short write on a nearly full disk)."""

    def __init__(self, why: str) -> None:
        super().__init__(errno.ENOSPC, f"the written file is incomplete: {why}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def as_os_error(exc: BaseException) -> OSError | None:
    """The OS error behind ``exc``: itself, or one named in its text (safetensors' Rust errors
    read ``... Os { code: 28, ... }`` or ``(os error 28)``); None when there is none."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc
    if isinstance(exc, OSError) or type(exc).__name__ == "SafetensorError":
        m = re.search(r"(?:code: |os error )(\d+)", str(exc))
        if m:
            code = int(m.group(1))
            return OSError(code, os.strerror(code))
    return None


def write_error(target: Path, exc: OSError) -> FlashcliError:
    """A one-line error for a failed write of ``target``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = _HINTS.get(exc.errno or 0, "check the output folder and the disk")
    return FlashcliError(f"{target}: cannot write ({reason}); {hint}")


def file_error(target: str | os.PathLike, exc: OSError) -> FlashcliError:
    """A one-line error for an OS error on ``target`` when it is not known to be a write."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG):
        return write_error(Path(target), exc)
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = {errno.EACCES: "check its permissions or choose another folder",
            errno.EPERM: "check its permissions or choose another folder"}.get(
        exc.errno or 0, _HINTS.get(exc.errno or 0, "check the path, its permissions and the disk"))
    return FlashcliError(f"{target}: {reason}; {hint}")


def ensure_dir(folder: str | os.PathLike) -> Path:
    """``mkdir -p`` with a one-line error (a file in the way, no permission, read-only disk)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from exc
    return folder


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's live process
        return True
    return True


def is_part_file(name: str) -> bool:
    """True for the name of one of flashcli's temporary files."""
    return _PART_RE.match(name) is not None


def remove_stale_parts(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files in ``folder`` left by flashcli processes that no longer
    run (never another program's files, never a live run's); the removed paths."""
    removed = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            m = _PART_RE.match(entry.name)
            if not m or _pid_alive(int(m.group(1))):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run in %s", len(removed), folder)
    return removed


def _clean_once(folder: Path) -> None:
    key = os.path.abspath(folder)
    with _cleaned_lock:
        if key in _cleaned:
            return
        _cleaned.add(key)
    remove_stale_parts(folder)


def _check_protect(target: Path, protect: tuple[Path, ...]) -> None:
    for p in protect:
        if Path(p).resolve() == target.resolve() or _same_file(Path(p), target):
            raise FlashcliError(f"{target}: refusing to write over an input file; choose another output path")


def _new_temp(target: Path) -> Path:
    ensure_dir(target.parent)
    _clean_once(target.parent)
    stem = target.name[:80]  # room for the marks within the 255-byte name limit
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{stem}.{PART_MARK}-{os.getpid()}-",
                                   suffix=".part" + target.suffix[:16], dir=target.parent)
    except OSError as exc:
        raise write_error(target, exc) from exc
    os.close(fd)
    return Path(tmp)


def _fsync_file(path: Path) -> int:
    """fsync ``path``; its size on disk."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
        return os.fstat(fh.fileno()).st_size


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, protect: tuple[Path, ...] = (),
                verify: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; check it, then rename it onto ``target``.

    Nothing is left behind if the body raises (the temporary file is removed and ``target``
    is untouched), also on KeyboardInterrupt. ``protect`` lists input files that must never
    be replaced. ``verify(tmp)`` checks the written file (it raises when the file is
    incomplete); an empty file is always refused. OS errors (disk full, permission denied,
    read-only disk..., also those wrapped by safetensors) and failed checks become a
    :class:`FlashcliError` naming ``target``; other exceptions pass through unchanged.
    """
    target = Path(target)
    _check_protect(target, protect)
    tmp_path = _new_temp(target)
    try:
        yield tmp_path
        size = _fsync_file(tmp_path)
        if size == 0:
            raise IncompleteWrite("0 bytes on disk")
        if verify is not None:
            try:
                verify(tmp_path)
            except Exception as exc:
                if isinstance(exc, OSError) and exc.errno is not None:
                    raise
                raise IncompleteWrite(f"{type(exc).__name__}: {exc}".split("\n")[0]) from exc
        # mkstemp makes 0600 files: give the output the mode a new file would have.
        mode = (target.stat().st_mode & 0o777) if target.exists() else (0o666 & ~_UMASK)
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        oserr = as_os_error(exc)
        if oserr is not None:
            raise write_error(target, oserr) from exc
        raise
    _fsync_dir(target.parent)


def expect_size(size: int) -> Callable[[Path], None]:
    """A ``verify`` for :func:`atomic_path`: the file on disk holds exactly ``size`` bytes."""
    def check(path: Path) -> None:
        actual = path.stat().st_size
        if actual != size:
            raise IncompleteWrite(f"{actual} of {size} bytes on disk")
    return check


def _write_all(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            if n <= 0:
                raise IncompleteWrite(f"the disk took {len(data) - len(view)} of {len(data)} bytes")
            view = view[n:]
    finally:
        os.close(fd)


def atomic_write_bytes(target: str | os.PathLike, data: bytes,
                       protect: tuple[Path, ...] = ()) -> None:
    """Write ``data`` atomically; the size on disk is checked before the rename."""
    if not data:
        raise ValueError("refusing to write an empty file")
    with atomic_path(target, protect=protect, verify=expect_size(len(data))) as tmp:
        _write_all(tmp, data)


def atomic_write_text(target: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


# --- reading ----------------------------------------------------------------------------------

def not_regular_reason(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not a regular file one can open (None when it is one)."""
    p = Path(path)
    try:
        st = os.stat(p)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a looping symbolic link; point it at a file or remove it"
        if p.is_symlink():
            return "a broken symbolic link (its target does not exist); point it at a file or remove it"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "cannot be reached (permission denied); check the folder's permissions"
        if exc.errno == errno.ENAMETOOLONG:
            return "the name is too long; check the path"
        return "no such file; check the path"
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, not a file"
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else
            "a socket" if stat.S_ISSOCK(st.st_mode) else "a device")
    return f"not a regular file ({kind}); pass a regular file"


def open_regular(path: str | os.PathLike):
    """Open ``path`` for reading in binary mode, refusing anything but a regular file without
    blocking (a FIFO named ``x.safetensors`` would otherwise wait forever). Raises
    ``OSError`` (errno EINVAL for a non-regular file)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def is_regular(path: str | os.PathLike) -> bool:
    """True for a regular file (following links), without opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


# --- names ------------------------------------------------------------------------------------

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._+-]+")


def safe_name(name: str) -> str:
    """``name`` as one safe path component. Letters, digits and ``. _ + -`` are kept; when
    anything else is in it (separators, control characters) or it starts with a dot, the
    rest becomes ``_`` and a short hash of the original keeps different names apart."""
    text = str(name)
    safe = _UNSAFE_CHARS.sub("_", text)
    safe = re.sub(r"^\.+", "_", safe)[:80] or "_"
    if safe != text:
        safe += "-" + hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return safe
