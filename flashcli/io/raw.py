"""RAW camera files through LibRaw (rawpy): which files are RAW, their metadata from the
header alone, and a 16-bit sRGB decode.

Everything RAW-specific lives here (a new camera quirk goes here, with a generated file in
``tests/photo_factory.py``); :mod:`flashcli.io.imageio` asks :func:`is_raw_path`, then
:func:`read_meta` and :func:`decode_raw`, and treats the result like any other photo's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashcli.errors import FlashcliError
from flashcli.io import exif
from flashcli.io.decodefail import one_line
from flashcli.io.exif import PhotoMeta
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import numpy as np
    import rawpy
    import tifffile
else:
    np = lazy_module("numpy")
    rawpy = lazy_module("rawpy")
    tifffile = lazy_module("tifffile")

__all__ = ["RAW_EXTENSIONS", "RawReadError", "decode_raw", "is_raw_path", "raw_header",
           "read_meta"]

RAW_EXTENSIONS = frozenset({
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf",
    ".rw2", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".dcr", ".mrw", ".mos",
    ".rwl",
})

#: LibRaw's flip code -> the EXIF Orientation it corresponds to.
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}


class RawReadError(FlashcliError):
    """LibRaw could not open or decode a RAW file."""


def is_raw_path(path: str | Path) -> bool:
    """True for camera RAW extensions (decoded through LibRaw)."""
    return Path(path).suffix.lower() in RAW_EXTENSIONS


def _open(path: Path):
    try:
        return rawpy.imread(str(path))
    except (rawpy.LibRawError, OSError) as e:
        raise RawReadError(
            f"{path}: LibRaw cannot read this RAW file ({one_line(e)}); "
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
    """(width, height, orientation) of the upright image, without decoding pixels; the
    orientation (LibRaw's flip as EXIF Orientation) is the turn :func:`decode_raw`'s pixels
    still need."""
    _check_tag_levels(path)
    with _open(path) as raw:
        s = raw.sizes
        width, height, flip = int(s.width), int(s.height), int(s.flip)
    if flip in (5, 6):
        width, height = height, width
    return width, height, _FLIP_TO_ORIENTATION.get(flip, 1)


def read_meta(path: Path, tags: dict[str, Any]) -> PhotoMeta:
    """A RAW file's :class:`~flashcli.io.exif.PhotoMeta` from its header and EXIF ``tags``:
    16-bit, the upright size, and LibRaw's own reading of the orientation (the camera's
    EXIF tag may disagree with what LibRaw decodes)."""
    width, height, orientation = raw_header(path)
    meta = PhotoMeta(path=path, format=path.suffix[1:].upper(), width=width, height=height,
                     bit_depth=16, is_raw=True)
    exif.fill_from_tags(meta, tags)
    meta.orientation = orientation
    meta.exif_block = exif.build_exif_block(tags)
    return meta


def decode_raw(path: Path, *, half_size: bool = False) -> np.ndarray:
    """Demosaic with the camera white balance to sRGB; H x W x 3 uint16, as stored (not yet
    turned upright: :func:`raw_header`'s orientation says how, like any photo's).

    ``half_size`` skips demosaicing (one pixel per 2x2 Bayer block): fast previews.
    Exposure is kept as shot (no auto-brightening), so flash/ambient pairs stay comparable.
    """
    _check_tag_levels(path)
    with _open(path) as raw:
        try:
            _check_levels(raw, path)  # unpacks: a truncated file fails here
            rgb = raw.postprocess(use_camera_wb=True, output_bps=16, half_size=half_size,
                                  no_auto_bright=True, gamma=(2.4, 12.92),
                                  output_color=rawpy.ColorSpace.sRGB, user_flip=0)
        except (rawpy.LibRawError, OSError, MemoryError) as e:
            raise RawReadError(
                f"{path}: LibRaw failed to decode ({one_line(e)}); "
                "the file may be truncated or damaged") from e
    return np.ascontiguousarray(rgb)
