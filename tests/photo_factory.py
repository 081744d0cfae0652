"""Test fixtures made on the spot: photos with chosen pixels, EXIF, ICC, RAW (DNG), bad files.

Every writer returns the path it wrote. Pixels are H x W x 3 uint8 (or uint16) numpy arrays;
``pixels(...)`` makes deterministic content.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, TiffImagePlugin

# EXIF Flash (0x9209) values, docs/method.md, "Camera facts".
FLASH_FIRED = 0x09            # fired, compulsory on
FLASH_NOT_FIRED = 0x10        # did not fire, compulsory off
FLASH_AUTO_NOT_FIRED = 0x18   # did not fire, auto mode
FLASH_AUTO_FIRED = 0x19       # fired, auto mode
FLASH_FIRED_RETURN = 0x0F     # fired, compulsory on, strobe return detected
FLASH_NO_FUNCTION = 0x20      # camera has no flash
NO_TAG = None                 # leave the Flash tag out

DEFAULT_DATE = "2024:05:01 12:30:45"


def pixels(width: int = 32, height: int = 24, *, kind: str = "gradient", seed: int = 0,
           color: tuple[int, int, int] = (200, 120, 40), dtype=np.uint8) -> np.ndarray:
    """H x W x 3 test pixels: "gradient" (distinct per position), "noise" or "solid"."""
    top = 255 if dtype == np.uint8 else 65535
    if kind == "solid":
        arr = np.empty((height, width, 3), np.float64)
        arr[:] = np.asarray(color, np.float64) / 255.0
    elif kind == "noise":
        arr = np.random.default_rng(seed).random((height, width, 3))
    else:
        yy, xx = np.mgrid[0:height, 0:width]
        arr = np.stack([xx / max(width - 1, 1), yy / max(height - 1, 1),
                        ((xx + 2 * yy) % 7) / 6.0], axis=-1)
    return np.round(arr * top).astype(dtype)


def srgb_icc() -> bytes:
    """A real sRGB ICC profile (littleCMS via Pillow)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def make_exif(*, flash: int | None = FLASH_FIRED, orientation: int | None = None,
              make: str | None = "Canon", model: str | None = "Canon EOS 80D",
              date: str | None = DEFAULT_DATE, exposure: tuple[int, int] | None = (1, 60),
              fnumber: tuple[int, int] | None = (28, 10), iso: int | None = 400) -> Image.Exif:
    """A Pillow Exif with the chosen fields (None leaves a field out)."""
    exif = Image.Exif()
    sub = exif.get_ifd(0x8769)
    if make is not None:
        exif[0x010F] = make
    if model is not None:
        exif[0x0110] = model
    if orientation is not None:
        exif[0x0112] = orientation
    if date is not None:
        exif[0x0132] = date
        sub[0x9003] = date
    if exposure is not None:
        sub[0x829A] = TiffImagePlugin.IFDRational(*exposure)
    if fnumber is not None:
        sub[0x829D] = TiffImagePlugin.IFDRational(*fnumber)
    if iso is not None:
        sub[0x8827] = iso
    if flash is not None:
        sub[0x9209] = flash
    return exif


def write_jpeg(path: str | Path, width: int = 32, height: int = 24, *,
               data: np.ndarray | None = None, flash: int | None = FLASH_FIRED,
               orientation: int | None = None, exif: bool = True, icc: bytes | None = None,
               quality: int = 95, **exif_fields) -> Path:
    """A JPEG with an EXIF block (Flash, Orientation, Make/Model/DateTimeOriginal...)."""
    path = Path(path)
    img = Image.fromarray(data if data is not None else pixels(width, height), "RGB")
    options = {"quality": quality, "subsampling": 0}
    if exif:
        options["exif"] = make_exif(flash=flash, orientation=orientation, **exif_fields).tobytes()
    if icc:
        options["icc_profile"] = icc
    img.save(path, "JPEG", **options)
    return path


def write_png(path: str | Path, width: int = 32, height: int = 24, *,
              data: np.ndarray | None = None, flash: int | None = None,
              orientation: int | None = None, exif: bool = False, icc: bytes | None = None,
              bit_depth: int = 8) -> Path:
    """A PNG, by default without EXIF. 16-bit PNGs are RGB, encoded here (no EXIF/ICC)."""
    path = Path(path)
    if bit_depth == 16:
        arr = data if data is not None else pixels(width, height, dtype=np.uint16)
        path.write_bytes(_png16_bytes(arr))
        return path
    img = Image.fromarray(data if data is not None else pixels(width, height), "RGB")
    options = {}
    if exif:
        options["exif"] = make_exif(flash=flash, orientation=orientation).tobytes()
    if icc:
        options["icc_profile"] = icc
    img.save(path, "PNG", **options)
    return path


def _png16_bytes(arr: np.ndarray) -> bytes:
    """A minimal RGB 16-bit PNG (Pillow cannot write one)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    height, width = arr.shape[:2]
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in arr[:, :, :3])
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def write_tiff(path: str | Path, width: int = 32, height: int = 24, *,
               data: np.ndarray | None = None, bit_depth: int = 16,
               flash: int | None = FLASH_NOT_FIRED, orientation: int | None = None,
               make: str = "Nikon", model: str = "Z 6", icc: bytes | None = None) -> Path:
    """An RGB TIFF (8 or 16 bit) with Make/Model/Orientation and, TIFF/EP style, Flash in IFD0."""
    import tifffile

    path = Path(path)
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    arr = data if data is not None else pixels(width, height, kind="noise", dtype=dtype)
    tags = [(271, "s", 0, make, True), (272, "s", 0, model, True),
            (36867, "s", 0, DEFAULT_DATE, True)]
    if orientation is not None:
        tags.append((274, "H", 1, orientation, True))
    if flash is not None:
        tags.append((37385, "H", 1, flash, True))
    tifffile.imwrite(path, arr, photometric="rgb", extratags=tags, iccprofile=icc, metadata=None)
    return path


def write_dng(path: str | Path, width: int = 64, height: int = 48, *,
              flash: int | None = FLASH_FIRED, make: str = "Flashcli", model: str = "Test Cam",
              orientation: int = 1, rgb: tuple[float, float, float] = (0.5, 0.4, 0.3),
              white_level: int = 4095, black_level: int = 0) -> Path:
    """A minimal uncompressed RGGB CFA DNG that LibRaw opens, with Flash in IFD0 (TIFF/EP).

    The scene is a left-to-right ramp tinted by ``rgb`` (linear fractions of white).
    ``black_level`` and ``white_level`` are written as the DNG tags as given (degenerate
    levels included: white 0, black at or above white).
    """
    import tifffile

    path = Path(path)
    ramp = np.linspace(0.25, 1.0, width)[None, :].repeat(height, 0)
    cfa = np.empty((height, width), np.float64)
    cfa[0::2, 0::2] = rgb[0] * ramp[0::2, 0::2]
    cfa[0::2, 1::2] = rgb[1] * ramp[0::2, 1::2]
    cfa[1::2, 0::2] = rgb[1] * ramp[1::2, 0::2]
    cfa[1::2, 1::2] = rgb[2] * ramp[1::2, 1::2]
    data = np.round(cfa * white_level).astype(np.uint16)
    color_matrix = (10000, 10000, 0, 10000, 0, 10000,
                                              0, 10000, 10000, 10000, 0, 10000,
                                              0, 10000, 0, 10000, 10000, 10000)
    tags = [
        (254, "I", 1, 0, True),                                  # NewSubfileType: main image
        (271, "s", 0, make, True), (272, "s", 0, model, True),
        (274, "H", 1, orientation, True),
        (33421, "H", 2, (2, 2), True),                           # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),                     # CFAPattern RGGB
        (50706, "B", 4, (1, 4, 0, 0), True),                     # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),                     # DNGBackwardVersion
        (50708, "s", 0, f"{make} {model}", True),                # UniqueCameraModel
        (50714, "H", 1, black_level, True),                      # BlackLevel
        (50717, "H", 1, white_level, True),                      # WhiteLevel
        (50721, 10, 9, color_matrix, True),                      # ColorMatrix1 (identity)
        (50728, 5, 3, (1, 1, 1, 1, 1, 1), True),                 # AsShotNeutral
        (50778, "H", 1, 21, True),                               # CalibrationIlluminant1 D65
        (36867, "s", 0, DEFAULT_DATE, True),                     # DateTimeOriginal
        (33434, 5, 1, (1, 125), True),                           # ExposureTime
    ]
    if flash is not None:
        tags.append((37385, "H", 1, flash, True))
    tifffile.imwrite(path, data, photometric=32803, extratags=tags, metadata=None)
    return path


def write_truncated(path: str | Path, keep: float = 0.5, **jpeg_options) -> Path:
    """A JPEG cut short (the header survives, the pixel data does not)."""
    path = Path(path)
    write_jpeg(path, **{"width": 64, "height": 48, **jpeg_options,
                        "data": pixels(64, 48, kind="noise")})
    blob = path.read_bytes()
    path.write_bytes(blob[: int(len(blob) * keep)])
    return path


def write_corrupt(path: str | Path, seed: int = 1) -> Path:
    """A JPEG start-of-image marker followed by random bytes."""
    path = Path(path)
    noise = np.random.default_rng(seed).integers(0, 256, 2048, dtype=np.uint8).tobytes()
    path.write_bytes(b"\xff\xd8\xff\xe0" + noise)
    return path


def write_text_as_image(path: str | Path, text: str = "this is not a photo\n") -> Path:
    """A plain text file with an image extension (e.g. ``notes.jpg``)."""
    path = Path(path)
    path.write_text(text)
    return path
