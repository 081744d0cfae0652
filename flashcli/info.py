"""``flashcli info`` as data: format, size, camera and flash status of photos."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flashcli.errors import FlashcliError
from flashcli.io.decodefail import photo_failure
from flashcli.io.imageio import ImageMemoryError, read_image, read_metadata
from flashcli.relight.discover import Ignored, discover, no_photos_message
from flashcli.runtime.progress import ProgressFn, report


def collect_photos(paths: Iterable[str | Path], recursive: bool = False) -> list[Path]:
    """The photos named by ``paths`` (files, folders, globs), by the rules of
    :func:`flashcli.relight.discover`; missing paths, broken symlinks and files named
    directly are kept so that the caller reports them. None at all: one line saying what
    was found instead (other file types, subfolders ``recursive`` would search)."""
    paths = list(paths)
    ignored: list[Ignored] = []
    found = [s.path for s in discover(paths, recursive, keep_unreadable=True, ignored=ignored)]
    if not found and paths:
        raise FlashcliError(no_photos_message(paths, ignored, recursive))
    return found


def inspect_file(path: Path, *, check: bool = False, max_pixels: int | None = None) -> dict[str, Any]:
    """One row of ``flashcli info``: metadata, or ``error`` with the reason it is unreadable.

    ``check`` also decodes the pixels (finds truncated files; slower).
    """
    try:
        meta = read_image(path, max_pixels=max_pixels)[1] if check else read_metadata(path)
    except ImageMemoryError as e:
        return {"file": str(path), "error": photo_failure(e)}
    except FlashcliError as e:
        return {"file": str(path), "error": e.message}
    except Exception as e:  # a damaged file must not stop the batch
        return {"file": str(path), "error": f"{path}: {type(e).__name__}: {e}"}
    return {
        "file": str(path), "format": meta.format, "width": meta.width, "height": meta.height,
        "bit_depth": meta.bit_depth, "camera": meta.camera, "make": meta.make,
        "model": meta.model, "captured": meta.captured.isoformat() if meta.captured else None,
        "orientation": meta.orientation, "flash_fired": meta.flash.fired_text,
        "flash_mode": meta.flash.mode, "flash": meta.flash.to_dict(),
        "icc_profile": bool(meta.icc_profile), "error": None,
    }


def inspect_paths(paths: Iterable[str | Path], recursive: bool = False, *, check: bool = False,
                  max_pixels: int | None = None,
                  progress: ProgressFn | None = None) -> list[dict[str, Any]]:
    """One dict per photo (see :func:`inspect_file`); ``progress(stage, done, total)``."""
    files = collect_photos(paths, recursive)
    rows = []
    for done, f in enumerate(files, start=1):
        rows.append(inspect_file(f, check=check, max_pixels=max_pixels))
        report(progress, "reading", done, len(files))
    return rows
