"""Photo metadata: EXIF parsing (exifread), flash detection (tag 0x9209), EXIF for outputs."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, TiffImagePlugin

from flashcli import __version__
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import exifread
else:
    exifread = lazy_module("exifread")

TAG_ORIENTATION = 0x0112
TAG_SOFTWARE = 0x0131
#: First word of the EXIF Software tag of every file flashcli writes.
SOFTWARE_MARK = "flashcli"
TAG_EXIF_IFD = 0x8769
TAG_FLASH = 0x9209

_STROBE_RETURN = {0: "no detection", 1: "reserved", 2: "not detected", 3: "detected"}
_MODE = {0: "unknown", 1: "compulsory on", 2: "compulsory off", 3: "auto"}


@dataclass(frozen=True)
class FlashInfo:
    """The EXIF Flash bit field (docs/method.md, "Camera facts"); every field is None when the tag is absent."""

    fired: bool | None = None
    mode: str | None = None
    strobe_return: str | None = None
    red_eye: bool | None = None
    no_flash_function: bool | None = None
    raw: int | None = None

    @property
    def fired_text(self) -> str:
        """``yes``, ``no`` or ``unknown``."""
        return "unknown" if self.fired is None else ("yes" if self.fired else "no")

    def to_dict(self) -> dict[str, Any]:
        return {"fired": self.fired, "mode": self.mode, "strobe_return": self.strobe_return,
                "red_eye": self.red_eye, "no_flash_function": self.no_flash_function,
                "raw": self.raw}


def decode_flash(value: int | None) -> FlashInfo:
    """Decode EXIF tag 0x9209; ``None`` (absent or unreadable tag) gives an all-unknown FlashInfo."""
    if value is None:
        return FlashInfo()
    v = int(value)
    return FlashInfo(
        fired=bool(v & 0x01),
        strobe_return=_STROBE_RETURN[(v >> 1) & 0x03],
        mode=_MODE[(v >> 3) & 0x03],
        no_flash_function=bool(v & 0x20),
        red_eye=bool(v & 0x40),
        raw=v,
    )


@dataclass
class PhotoMeta:
    """What is known about a photo besides its pixels.

    ``width``/``height`` are the upright size (Orientation applied). ``orientation`` (EXIF
    Orientation, 1-8) has one meaning for every format: the turn still to apply to the pixels
    as the decoder hands them over (:func:`flashcli.io.imageio.decode_pixels`) to make them
    upright; :func:`flashcli.io.imageio.pixels_to_tensor` applies it. It is the EXIF tag for
    Pillow's formats, LibRaw's own reading for RAW files (decoded as stored), and 1 for
    HEIF, whose decoder turns the pixels itself. ``exif`` maps exifread's
    tag names ("EXIF Flash", "Image Make", ...) to their printable values. ``exif_block`` is the
    EXIF to carry into outputs (serialised for Pillow), when one could be made.
    """

    path: Path
    format: str
    width: int
    height: int
    bit_depth: int = 8
    exif: dict[str, str] = field(default_factory=dict)
    icc_profile: bytes | None = field(default=None, repr=False)
    make: str | None = None
    model: str | None = None
    captured: datetime | None = None
    orientation: int = 1
    flash: FlashInfo = field(default_factory=FlashInfo)
    exif_block: bytes | None = field(default=None, repr=False)
    is_raw: bool = False
    #: The photo has an alpha channel (transparency), which relight's RGB output drops.
    alpha: bool = False
    #: The photo is greyscale (one channel), which relight writes as RGB.
    grey: bool = False

    @property
    def camera(self) -> str:
        """"Make Model" without repeating the make, or "" when unknown."""
        make, model = (self.make or "").strip(), (self.model or "").strip()
        if make and model.lower().startswith(make.lower()):
            return model
        return f"{make} {model}".strip()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (no pixel data, no ICC bytes)."""
        return {
            "path": str(self.path), "format": self.format, "width": self.width,
            "height": self.height, "bit_depth": self.bit_depth, "make": self.make,
            "model": self.model, "camera": self.camera,
            "captured": self.captured.isoformat() if self.captured else None,
            "orientation": self.orientation, "flash": self.flash.to_dict(),
            "icc_profile_bytes": len(self.icc_profile) if self.icc_profile else 0,
            "exif": dict(self.exif),
        }


# --- reading -------------------------------------------------------------------------------

class _ExifBomb(Exception):
    """Too many reads past the end of the file: a damaged or hostile EXIF directory."""


class _BoundedReader:
    """A file wrapper for exifread that gives up after ``limit`` reads past the end of the
    data. A damaged IFD may declare 65535 entries lying beyond the file; exifread would
    spend about a second per file walking them. Sound files never read past their end."""

    def __init__(self, fh, limit: int = 256) -> None:
        self._fh = fh
        self._short = 0
        self._limit = limit

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        if n is not None and n > 0 and len(data) < n:
            self._short += 1
            if self._short > self._limit:
                raise _ExifBomb
        return data

    def seek(self, *args):
        return self._fh.seek(*args)

    def tell(self) -> int:
        return self._fh.tell()


class _QuietExifread(logging.Filter):
    """exifread logs warnings for every odd file; flashcli reports problems itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _process(fh) -> dict[str, Any]:
    try:
        tags = exifread.process_file(_BoundedReader(fh), details=False, extract_thumbnail=False)
    except Exception:  # exifread raises many kinds on damaged files: treat as "no EXIF"
        return {}
    return {k: v for k, v in tags.items() if hasattr(v, "tag")}


def read_exif_tags(path: str | Path) -> dict[str, Any]:
    """exifread's tags for ``path`` (no MakerNote, no thumbnail); ``{}`` when none can be read."""
    try:
        with open(path, "rb") as fh:
            return _process(fh)
    except OSError:
        return {}


def tags_from_block(block: bytes | None) -> dict[str, Any]:
    """exifread's tags for a bare EXIF block (TIFF structure, with or without "Exif\\0\\0")."""
    if not block:
        return {}
    body = block[6:] if block.startswith(b"Exif\x00\x00") else block
    if len(body) + 8 > 0xFFFF:
        return {}
    app1 = b"\xff\xd8\xff\xe1" + (len(body) + 8).to_bytes(2, "big") + b"Exif\x00\x00" + body
    return _process(io.BytesIO(app1 + b"\xff\xd9"))


def _first_int(tags: dict[str, Any], *names: str) -> int | None:
    """The first of ``names`` whose value is a non-negative integer; a tag of another type
    (a RATIONAL 1/0 Flash, text, a negative number) counts as absent."""
    for name in names:
        tag = tags.get(name)
        if tag is None:
            continue
        try:
            values = tag.values
            value = values[0] if isinstance(values, (list, tuple)) else values
        except Exception:  # noqa: BLE001 - a malformed tag is an absent tag
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return int(value)
    return None


def _text(tags: dict[str, Any], *names: str) -> str | None:
    for name in names:
        tag = tags.get(name)
        if tag is not None:
            try:
                text = str(tag.printable).strip().strip("\x00").strip()
            except Exception:  # noqa: BLE001 - a malformed tag is an absent tag
                continue
            if text:
                return text
    return None


def parse_datetime(text: str | None) -> datetime | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" (or ISO) as a datetime; None when absent or malformed."""
    if not text:
        return None
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        with contextlib.suppress(ValueError):
            return datetime.strptime(text.strip()[:19], fmt)
    return None


def flash_from_tags(tags: dict[str, Any]) -> FlashInfo:
    """FlashInfo from exifread tags (Exif IFD, or IFD0 as in TIFF/EP and DNG files)."""
    return decode_flash(_first_int(tags, "EXIF Flash", "Image Flash"))


def orientation_from_tags(tags: dict[str, Any]) -> int:
    value = _first_int(tags, "Image Orientation")
    return value if value in range(1, 9) else 1


def describe_tags(tags: dict[str, Any]) -> dict[str, str]:
    """exifread tags as printable strings (binary blobs and malformed tags left out)."""
    out = {}
    for name, tag in tags.items():
        try:
            text = str(tag.printable).strip()
        except Exception:  # noqa: BLE001 - a malformed tag is an absent tag
            continue
        if getattr(tag, "field_type", None) == 7 and len(text) > 64:
            continue  # UNDEFINED blobs (MakerNote, ...)
        out[name] = text
    return out


def fill_from_tags(meta: PhotoMeta, tags: dict[str, Any]) -> PhotoMeta:
    """Set make, model, capture time, orientation, flash and the printable EXIF on ``meta``."""
    meta.exif = describe_tags(tags)
    meta.make = _text(tags, "Image Make")
    meta.model = _text(tags, "Image Model", "Image UniqueCameraModel")
    meta.captured = parse_datetime(_text(tags, "EXIF DateTimeOriginal", "Image DateTimeOriginal",
                                         "EXIF DateTimeDigitized", "Image DateTime"))
    meta.orientation = orientation_from_tags(tags)
    meta.flash = flash_from_tags(tags)
    return meta


# --- writing -------------------------------------------------------------------------------

#: Tags carried when an EXIF block is built from parsed tags: id -> True for the Exif IFD.
CARRIED_TAGS: dict[int, bool] = {
    0x010E: False, 0x010F: False, 0x0110: False, 0x0132: False, 0x013B: False, 0x8298: False,
    0x829A: True, 0x829D: True, 0x8822: True, 0x8827: True, 0x9003: True, 0x9004: True,
    0x9010: True, 0x9011: True, 0x9012: True, 0x9201: True, 0x9202: True, 0x9204: True,
    0x9205: True, 0x9207: True, 0x9208: True, 0x9209: True, 0x920A: True, 0x9290: True,
    0x9291: True, 0x9292: True, 0xA402: True, 0xA403: True, 0xA405: True, 0xA406: True,
    0xA431: True, 0xA432: True, 0xA433: True, 0xA434: True,
}


def _pillow_value(tag: Any) -> Any:
    """An exifread tag's value in the form Pillow's EXIF writer wants, or None to skip it."""
    try:
        return _pillow_value_of(tag)
    except Exception:  # noqa: BLE001 - a malformed tag is skipped
        return None


def _pillow_value_of(tag: Any) -> Any:
    values = tag.values
    if tag.field_type == 2:  # ASCII
        text = str(values).strip("\x00").strip()
        return text or None
    if not isinstance(values, (list, tuple)) or not values:
        return None
    conv = []
    for v in values:
        if isinstance(v, Fraction):
            conv.append(TiffImagePlugin.IFDRational(v.numerator, v.denominator or 1))
        elif isinstance(v, int):
            conv.append(v)
        else:
            return None
    return conv[0] if len(conv) == 1 else tuple(conv)


def build_exif_block(tags: dict[str, Any]) -> bytes | None:
    """A compact EXIF block (camera, date, exposure, flash, lens) from exifread tags."""
    exif = Image.Exif()
    sub = exif.get_ifd(TAG_EXIF_IFD)
    for tag in tags.values():
        tag_id = getattr(tag, "tag", None)
        if tag_id not in CARRIED_TAGS:
            continue
        value = _pillow_value(tag)
        if value is None:
            continue
        (sub if CARRIED_TAGS[tag_id] else exif)[tag_id] = value
    if not len(exif) and not sub:
        return None
    return exif.tobytes()


def load_exif(block: bytes | None) -> Image.Exif:
    """Pillow Exif from a serialised block (with or without the "Exif\\0\\0" header)."""
    exif = Image.Exif()
    if block:
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # damaged EXIF: Pillow warns, then skips the tag
            exif.load(block)
            exif.get_ifd(TAG_EXIF_IFD)  # parse the sub-IFD now so it is written back
    return exif


def output_exif(meta: PhotoMeta | None) -> Image.Exif:
    """The EXIF for an output: the source's, Orientation = 1, Software naming flashcli."""
    exif = load_exif(meta.exif_block if meta else None)
    if meta is not None and not meta.exif_block:
        if meta.make:
            exif[0x010F] = meta.make
        if meta.model:
            exif[0x0110] = meta.model
        if meta.captured:
            exif.get_ifd(TAG_EXIF_IFD)[0x9003] = meta.captured.strftime("%Y:%m:%d %H:%M:%S")
        if meta.flash.raw is not None:
            exif.get_ifd(TAG_EXIF_IFD)[TAG_FLASH] = meta.flash.raw
    with contextlib.suppress(KeyError):
        del exif[0x0201], exif[0x0202]  # stale thumbnail pointers, if any
    exif[TAG_ORIENTATION] = 1
    exif[TAG_SOFTWARE] = f"{SOFTWARE_MARK} {__version__}"
    return exif


def written_by_flashcli(meta: PhotoMeta) -> str | None:
    """The EXIF Software value when ``meta`` is a file flashcli wrote (its outputs carry
    ``Software = flashcli <version>``), else None."""
    software = (meta.exif.get("Image Software") or "").strip()
    return software if software.split(" ")[0] == SOFTWARE_MARK else None


def exif_bytes(exif: Image.Exif) -> bytes:
    """Serialise; falls back to IFD0 only if a carried sub-IFD cannot be written."""
    try:
        return exif.tobytes()
    except Exception:
        plain = Image.Exif()
        for k, v in exif.items():
            if k != TAG_EXIF_IFD:
                plain[k] = v
        return plain.tobytes()


def tiff_extratags(exif: Image.Exif) -> list[tuple[int, int, int, Any, bool]]:
    """EXIF as TIFF/EP-style IFD0 tags for tifffile (tifffile cannot write an Exif sub-IFD)."""
    skip = {TAG_EXIF_IFD, 0x8825, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0111, 0x0115,
            0x0116, 0x0117, 0x011A, 0x011B, 0x011C, 0x0128, 0x0131, 0x8773}
    items = list(exif.items()) + list(exif.get_ifd(TAG_EXIF_IFD).items())
    tags = []
    for tag_id, value in items:
        if tag_id in skip:
            continue
        entry = _tiff_entry(tag_id, value)
        if entry is not None:
            tags.append(entry)
    return tags


def _tiff_entry(tag_id: int, value: Any) -> tuple[int, int, int, Any, bool] | None:
    vals = value if isinstance(value, tuple) else (value,)
    if isinstance(value, str):
        return (tag_id, 2, 0, value, True)
    if all(isinstance(v, TiffImagePlugin.IFDRational) for v in vals):
        flat = []
        for v in vals:
            flat += [int(v.numerator), int(v.denominator)]
        signed = any(x < 0 for x in flat)
        return (tag_id, 10 if signed else 5, len(vals), tuple(flat), True)
    if all(isinstance(v, int) for v in vals):
        if all(0 <= v < 65536 for v in vals):
            return (tag_id, 3, len(vals), tuple(vals), True)
        if all(0 <= v < 2**32 for v in vals):
            return (tag_id, 4, len(vals), tuple(vals), True)
    return None


# Installed once (not toggled per call, which races when files are read in threads).
logging.getLogger("exifread").addFilter(_QuietExifread())
