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


def _tag_numbers(tag) -> list[float]:
    """A SHORT, LONG or RATIONAL tag's values as numbers (tifffile gives rationals as
    flat numerator, denominator pairs)."""
    value = tag.value
    values = list(value) if isinstance(value, (tuple, list)) else [value]
    if tag.dtype in (5, 10):  # RATIONAL, SRATIONAL
        return [n / d if d else float("inf") for n, d in zip(values[0::2], values[1::2], strict=False)]
    return [float(v) for v in values]


def _dng_levels(path: Path) -> list[tuple[list[float], list[float]]]:
    """(black levels, white levels) as written in the DNG tags BlackLevel (50714) and
    WhiteLevel (50717) of a TIFF-based RAW file's first IFD and its SubIFDs; [] for other
    files. Header only: LibRaw's own levels need the whole file unpacked, and LibRaw
    replaces a white level of 0 with the largest value of the bit depth."""
    try:
        with open(path, "rb") as f:
            if f.read(4) not in (b"II*\0", b"MM\0*"):
                return []
        import tifffile

        with tifffile.TiffFile(path) as tif:
            first = tif.pages.first
            pages = [first, *(first.pages or [])] if first.subifds else [first]
            found = []
            for page in pages:
                white = page.tags.get(50717)
                if white is not None:
                    black = page.tags.get(50714)
                    found.append((_tag_numbers(black) if black is not None else [0.0],
                                  _tag_numbers(white)))
            return found
    except Exception:  # noqa: BLE001 - an extra check: LibRaw reports files it cannot read
        return []


_LEVELS_HINT = ("its level metadata is damaged; re-copy it from the camera or card, "
                "or re-export it from the raw converter")


def _refuse_levels(path: Path, black: float, white: float) -> None:
    if white <= 0:
        raise RawReadError(f"{path}: the RAW file's white level is 0, so every pixel would "
                           f"decode to black; {_LEVELS_HINT}")
    if black >= white:
        raise RawReadError(f"{path}: the RAW file's black level {black:g} is at or above its "
                           f"white level {white:g}, so every pixel would decode to black; "
                           f"{_LEVELS_HINT}")


def _check_tag_levels(path: Path) -> None:
    """Refuse a RAW file whose written levels leave no range for the signal (a white level
    of 0, a black level at or above the white level): it would decode to a black image."""
    for blacks, whites in _dng_levels(path):
        _refuse_levels(path, max(blacks, default=0.0), min(whites, default=1.0))


def _check_levels(raw, path: Path) -> None:
    """The same with the levels LibRaw will use (after unpacking), for every RAW format."""
    blacks = [int(b) for b in (raw.black_level_per_channel or [0])]
    _refuse_levels(path, max(blacks), int(raw.white_level))


def raw_header(path: Path) -> tuple[int, int, int]:
    """(width, height, orientation) of the decoded, upright image, without decoding pixels."""
    _check_tag_levels(path)
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

    _check_tag_levels(path)
    with _open(path) as raw:
        try:
            _check_levels(raw, path)  # unpacks: a truncated file fails here
            rgb = raw.postprocess(use_camera_wb=True, output_bps=16, half_size=half_size,
                                  no_auto_bright=True, gamma=(2.4, 12.92),
                                  output_color=rawpy.ColorSpace.sRGB)
        except (rawpy.LibRawError, OSError, MemoryError) as e:
            raise RawReadError(
                f"{path}: LibRaw failed to decode ({_reason(e)}); "
                "the file may be truncated or damaged") from e
    return np.ascontiguousarray(rgb)
