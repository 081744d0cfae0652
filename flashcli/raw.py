"""RAW camera files through LibRaw (rawpy): header-only sizes and a 16-bit sRGB decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flashcli.errors import FlashcliError

#: LibRaw's flip code -> the EXIF Orientation it corresponds to.
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}


class RawReadError(FlashcliError):
    """LibRaw could not open or decode a RAW file."""


def _reason(e: BaseException) -> str:
    arg = e.args[0] if e.args else ""
    text = arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _open(path: Path):
    import rawpy

    try:
        return rawpy.imread(str(path))
    except (rawpy.LibRawError, OSError) as e:
        raise RawReadError(
            f"{path}: LibRaw cannot read this RAW file ({_reason(e)}); "
            "check that the file is complete and from a camera LibRaw supports") from e


def raw_header(path: Path) -> tuple[int, int, int]:
    """(width, height, orientation) of the decoded, upright image, without decoding pixels."""
    with _open(path) as raw:
        s = raw.sizes
        width, height, flip = int(s.width), int(s.height), int(s.flip)
    if flip in (5, 6):
        width, height = height, width
    return width, height, _FLIP_TO_ORIENTATION.get(flip, 1)


def decode_raw(path: Path, *, half_size: bool = False) -> np.ndarray:
    """Demosaic with the camera white balance to sRGB; H x W x 3 uint16, already upright.

    ``half_size`` skips demosaicing (one pixel per 2x2 Bayer block): fast previews.
    Exposure is kept as shot (no auto-brightening), so flash/ambient pairs stay comparable.
    """
    import rawpy

    with _open(path) as raw:
        try:
            rgb = raw.postprocess(use_camera_wb=True, output_bps=16, half_size=half_size,
                                  no_auto_bright=True, gamma=(2.4, 12.92),
                                  output_color=rawpy.ColorSpace.sRGB)
        except (rawpy.LibRawError, OSError, MemoryError) as e:
            raise RawReadError(
                f"{path}: LibRaw failed to decode ({_reason(e)}); "
                "the file may be truncated or damaged") from e
    return np.ascontiguousarray(rgb)
