"""Reading and writing photos: JPEG/PNG/TIFF via Pillow (tifffile for 16-bit), RAW via LibRaw
(everything RAW-specific is in :mod:`flashcli.io.raw`, which this module asks).

Pixels come back as float32 3 x H x W tensors in [0, 1], upright (``PhotoMeta.orientation``
applied, the same way for every format); metadata as a :class:`PhotoMeta`. Writes are atomic
and carry the source's EXIF and ICC, in one of :data:`OUTPUT_FORMATS`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, TiffImagePlugin, UnidentifiedImageError

from flashcli import __version__
from flashcli.errors import FlashcliError
from flashcli.io import exif as _exif
from flashcli.io import raw
from flashcli.io.decodefail import (
    MEMORY_FIX,
    PhotoOutOfMemory,
    compression_name,
    is_out_of_memory,
    out_of_memory,
    tiff_compression,
    tiff_undecodable,
    tiff_unsupported,
)
from flashcli.io.exif import FlashInfo, PhotoMeta, decode_flash
from flashcli.io.fsutil import atomic_path, not_regular_reason
from flashcli.io.raw import RAW_EXTENSIONS, is_raw_path
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import numpy as np
    import tifffile
    import torch
    import torchvision.io as torchvision_io
else:
    np = lazy_module("numpy")
    tifffile = lazy_module("tifffile")
    torch = lazy_module("torch")
    torchvision_io = lazy_module("torchvision.io")

__all__ = [
    "IMAGE_EXTENSIONS", "RAW_EXTENSIONS", "DEFAULT_MAX_PIXELS", "FlashInfo", "ImageMemoryError", "ImageReadError",
    "BIT_DEPTHS", "FORMAT_NAMES", "OUTPUT_FORMATS", "OutputFormat", "bit_depth_refusal",
    "format_choices", "format_for_bit_depth", "output_format_named", "output_format_of",
    "PhotoMeta", "apply_orientation", "decode_flash", "decode_pixels", "is_image_path",
    "is_raw_path", "pixels_to_tensor", "read_image", "read_metadata", "write_image",
]

#: HEIC/HEIF (iPhone photos): decoded by pillow-heif, which applies the HEIF rotation itself.
HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
PILLOW_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp",
                               ".avif"}) | HEIF_EXTENSIONS
IMAGE_EXTENSIONS = PILLOW_EXTENSIONS | RAW_EXTENSIONS

#: Default pixel-count limit (Pillow's own decompression-bomb error threshold).
DEFAULT_MAX_PIXELS = 2 * 89_478_485

_bomb_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class OutputFormat:
    """A format flashcli writes: its name (``--format``), other names accepted for it,
    Pillow's name, the extension it is written with and every extension that means it, and
    the bit depths it holds."""

    name: str
    aliases: tuple[str, ...]
    pillow: str
    ext: str
    suffixes: tuple[str, ...]
    bit_depths: tuple[int, ...] = (8,)


#: The one table of output formats (relight's --format, its default and template checks,
#: and every write). Only TIFF holds 16 bits.
OUTPUT_FORMATS = (
    OutputFormat("jpeg", ("jpg",), "JPEG", "jpg", (".jpg", ".jpeg", ".jpe")),
    OutputFormat("png", (), "PNG", "png", (".png",)),
    OutputFormat("tiff", ("tif",), "TIFF", "tif", (".tif", ".tiff"), (8, 16)),
)


#: Every bit depth some output format holds.
BIT_DEPTHS = tuple(sorted({d for f in OUTPUT_FORMATS for d in f.bit_depths}))
#: Every name ``--format`` accepts (names and aliases).
FORMAT_NAMES = tuple(n for f in OUTPUT_FORMATS for n in (f.name, *f.aliases))


def format_choices() -> str:
    """``"jpeg, png or tiff"``: the output formats, for messages."""
    names = [f.name for f in OUTPUT_FORMATS]
    return f"{', '.join(names[:-1])} or {names[-1]}"


def output_format_named(name: str) -> OutputFormat | None:
    """The output format called ``name`` (any case, ``jpg``/``tif`` too), or None."""
    key = name.strip().lower()
    return next((f for f in OUTPUT_FORMATS if key == f.name or key in f.aliases), None)


def output_format_of(path: str | Path) -> OutputFormat | None:
    """The output format ``path``'s extension means, or None."""
    suffix = Path(path).suffix.lower()
    return next((f for f in OUTPUT_FORMATS if suffix in f.suffixes), None)


def format_for_bit_depth(bit_depth: int) -> OutputFormat | None:
    """The format a ``bit_depth`` output must have when only one holds it (16: TIFF), or
    None when every format does."""
    holding = [f for f in OUTPUT_FORMATS if bit_depth in f.bit_depths]
    return holding[0] if len(holding) == 1 else None


def bit_depth_refusal(fmt: OutputFormat, bit_depth: int) -> str | None:
    """Why ``fmt`` cannot be written with ``bit_depth`` (``"8-bit only"``), or None when it
    can."""
    if bit_depth in fmt.bit_depths:
        return None
    return f"{'/'.join(map(str, fmt.bit_depths))}-bit only"


class ImageReadError(FlashcliError):
    """A photo that cannot be read (missing, not an image, truncated, too large)."""


class ImageMemoryError(ImageReadError, PhotoOutOfMemory):
    """A photo too large for the memory there is (a MemoryError or an allocator's failure
    while decoding it); ``width`` x ``height`` its size, so a command can name its own fix."""

    def __init__(self, path: Path, width: int, height: int) -> None:
        super().__init__(out_of_memory(path, width, height, MEMORY_FIX))
        self.path, self.width, self.height = path, width, height


def is_image_path(path: str | Path) -> bool:
    """True when the file name has an extension flashcli reads (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


# --- opening -------------------------------------------------------------------------------

def _check_file(path: Path) -> None:
    why = not_regular_reason(path)
    if why is None:
        return
    if why.startswith("is a folder"):
        raise ImageReadError(f"{path}: is a folder, not a photo; pass the image files inside it")
    raise ImageReadError(f"{path}: {why}")


def _open_error(path: Path, e: BaseException) -> ImageReadError:
    """A failed open: permission problems are not damage."""
    if isinstance(e, PermissionError):
        return ImageReadError(f"{path}: cannot read (permission denied); check the file's "
                              "permissions")
    if isinstance(e, OSError) and e.errno is not None and not isinstance(e, UnidentifiedImageError):
        return ImageReadError(f"{path}: cannot read ({e.strerror}); check the disk and run again")
    return ImageReadError(f"{path}: cannot open ({e}); the file may be damaged")


_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _is_tiff_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in _TIFF_MAGIC
    except OSError:
        return False


@functools.cache
def heif_decoder() -> str | None:
    """None once pillow-heif is registered with Pillow, else why HEIC cannot be read."""
    try:
        import pillow_heif  # optional: probes whether it is installed
    except ImportError as e:
        return f"a HEIC/HEIF photo needs the pillow-heif package ({e.msg})"
    pillow_heif.register_heif_opener()
    return None


@contextlib.contextmanager
def _open_pillow(path: Path) -> Iterator[Image.Image]:
    """Image.open with Pillow's own bomb check off (flashcli checks against ``max_pixels``)."""
    if path.suffix.lower() in HEIF_EXTENSIONS and heif_decoder() is not None:
        raise ImageReadError(f"{path}: {heif_decoder()}; install it (pip install pillow-heif), "
                             "or export the photo as JPEG with its EXIF")
    with _bomb_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                warnings.simplefilter("ignore", UserWarning)  # damaged EXIF: "Tag data larger..."
                img = Image.open(path)
        except UnidentifiedImageError as e:
            raise ImageReadError(
                f"{path}: not a readable image (unrecognised content); check that it is a "
                "complete JPEG, PNG, TIFF or camera RAW file") from e
        except (OSError, SyntaxError, ValueError) as e:
            raise _open_error(path, e) from e
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    try:
        yield img
    finally:
        img.close()


def _check_pixels(path: Path, width: int, height: int, max_pixels: int | None) -> None:
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)
    if width * height > limit:
        raise ImageReadError(
            f"{path}: {width}x{height} = {width * height} pixels is over the limit of {limit} "
            f"(decompression-bomb guard); if you trust the file, raise it with "
            f"--max-pixels {width * height}")


def _bit_depth(img: Image.Image) -> int:
    if img.mode in ("I", "F"):
        return 32
    if img.mode.startswith("I;16"):
        return 16
    if img.format == "TIFF":
        bits = img.tag_v2.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return int(max(bits))
    with contextlib.suppress(Exception):
        rawmode = img.tile[0][3]
        rawmode = rawmode[0] if isinstance(rawmode, tuple) else rawmode
        if "16" in str(rawmode):
            return 16
    return 8


def _pillow_meta(path: Path, img: Image.Image, tags: dict) -> PhotoMeta:
    fmt = "JPEG" if img.format == "MPO" else (img.format or path.suffix[1:].upper())
    meta = PhotoMeta(path=path, format=fmt, width=img.width, height=img.height,
                     bit_depth=_bit_depth(img), icc_profile=img.info.get("icc_profile") or None)
    if not tags or fmt == "HEIF":  # e.g. a PNG eXIf chunk exifread did not find; not
        tags = _exif.tags_from_block(img.info.get("exif"))  # getexif(): it decodes PNGs
    _exif.fill_from_tags(meta, tags)
    if fmt == "HEIF":
        meta.orientation = 1  # pillow-heif hands the pixels over upright (HEIF irot/imir)
    meta.alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    meta.grey = img.mode in ("1", "L", "LA", "I", "F") or img.mode.startswith("I;16")
    if fmt == "TIFF":
        meta.exif_block = _exif.build_exif_block(tags)
    else:
        meta.exif_block = img.info.get("exif") or None
    if meta.orientation in (5, 6, 7, 8):
        meta.width, meta.height = meta.height, meta.width
    return meta


def _tifffile_meta(path: Path, tags: dict) -> PhotoMeta:
    """Metadata of a TIFF Pillow cannot open (float, 32-bit or multi-sample layouts)."""
    try:
        with tifffile.TiffFile(path) as tf:
            page = tf.pages[0]
            width, height = int(page.imagewidth), int(page.imagelength)
            samples, bits = int(page.samplesperpixel), int(page.bitspersample)
            kind = page.dtype.kind if page.dtype is not None else "?"
            icc = page.tags.get(34675)
            icc = bytes(icc.value) if icc is not None else None
    except Exception as e:  # noqa: BLE001 - tifffile raises many kinds on damaged files
        raise ImageReadError(f"{path}: not a readable TIFF ({type(e).__name__}: {e}); check "
                             "that it is a complete TIFF file") from e
    if samples not in (1, 2, 3, 4) or kind not in "uif":
        raise ImageReadError(f"{path}: a TIFF with {samples} samples of {bits}-bit "
                             f"{ {'u': 'unsigned', 'i': 'signed', 'f': 'float'}.get(kind, 'unknown')} "
                             "data; flashcli reads grey or RGB(A) TIFFs: convert it to 8- or 16-bit RGB")
    meta = PhotoMeta(path=path, format="TIFF", width=width, height=height,
                     bit_depth=bits, icc_profile=icc or None)
    _exif.fill_from_tags(meta, tags)
    meta.exif_block = _exif.build_exif_block(tags)
    if meta.orientation in (5, 6, 7, 8):
        meta.width, meta.height = meta.height, meta.width
    return meta


def read_metadata(path: str | Path) -> PhotoMeta:
    """Size, format, bit depth, EXIF, ICC, camera, capture time and flash, without decoding
    pixels. A TIFF whose compression no decoder here reads is refused from its header."""
    path = Path(path)
    _check_file(path)
    tags = _exif.read_exif_tags(path)
    if is_raw_path(path):
        return raw.read_meta(path, tags)
    try:
        with _open_pillow(path) as img:
            meta = _pillow_meta(path, img, tags)
    except ImageReadError:
        if not _is_tiff_file(path):
            raise
        meta = _tifffile_meta(path, tags)  # float or 32-bit TIFFs Pillow cannot open
    if meta.format == "TIFF":
        _check_tiff_codec(path, meta.bit_depth)
    return meta


def _check_tiff_codec(path: Path, bit_depth: int) -> None:
    """Refuse a TIFF compression neither Pillow's libtiff (8-bit) nor tifffile (deeper:
    itself, or with imagecodecs, which decoding names) can decode."""
    code = tiff_compression(path)
    if code is None or (code in TiffImagePlugin.COMPRESSION_INFO and code != 50001):
        return  # 50001 (WebP): in Pillow's table, but its libtiff is built without it
    if bit_depth > 8:
        try:
            tifffile.TIFF.DECOMPRESSORS[code]
            return
        except KeyError as e:
            if "imagecodecs" in str(e):
                return  # decodable with imagecodecs; decoding says so
        except Exception:  # noqa: BLE001 - an odd code tifffile chokes on: refused below
            pass
    raise ImageReadError(tiff_unsupported(path, code))


# --- decoding ------------------------------------------------------------------------------

def apply_orientation(x: torch.Tensor, orientation: int) -> torch.Tensor:
    """Make a ... x H x W tensor upright for EXIF Orientation 1-8 (as Pillow's exif_transpose)."""
    if orientation == 2:
        return x.flip(-1)
    if orientation == 3:
        return x.flip(-1, -2)
    if orientation == 4:
        return x.flip(-2)
    if orientation == 5:
        return x.transpose(-1, -2)
    if orientation == 6:
        return torch.rot90(x, -1, (-2, -1))
    if orientation == 7:
        return x.transpose(-1, -2).flip(-1, -2)
    if orientation == 8:
        return torch.rot90(x, 1, (-2, -1))
    return x


def _to_float(arr: np.ndarray) -> torch.Tensor:
    """H x W (x C) integer or float array -> 3 x H x W float32 in [0, 1]."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 2:  # grey + alpha
        arr = np.repeat(arr[:, :, :1], 3, axis=2)
    arr = arr[:, :, :3]
    if arr.dtype == np.uint8:  # the common case: convert on the torch side, one pass
        arr = np.array(arr, copy=True) if not arr.flags.writeable else arr
        return torch.from_numpy(arr).permute(2, 0, 1).contiguous().float().div_(255.0)
    if arr.dtype == np.uint16:
        scale = 65535.0
    elif arr.dtype.kind in "iu":
        scale = 65535.0 if arr.max(initial=0) <= 65535 else float(np.iinfo(arr.dtype).max)
    else:
        scale = 1.0
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).permute(2, 0, 1)
    return (t / scale).clamp_(0.0, 1.0).contiguous()


def _pillow_deep(path: Path) -> np.ndarray | None:
    """A deep single-channel TIFF through Pillow, or None when Pillow cannot decode it."""
    try:
        with _open_pillow(path) as img:
            if not (img.mode.startswith("I;16") or img.mode in ("I", "F")):
                return None
            img.load()
            return np.array(img)
    except Exception:  # noqa: BLE001 - fall back to naming the missing codec
        return None


def _tiff_pixels(path: Path) -> np.ndarray:
    """Pixels of a TIFF deeper than 8 bits (16-bit, 32-bit, float) through tifffile."""
    try:
        arr = tifffile.imread(path, key=0)
    except (ValueError, KeyError, ImportError) as e:
        if not isinstance(e, ImportError) and "imagecodecs" not in str(e):
            raise
        arr = _pillow_deep(path)  # Pillow decodes LZW/PackBits for 16-bit grey itself
        if arr is not None:
            return arr
        code = tiff_compression(path)
        raise ImageReadError(
            f"{path}: TIFF compression {compression_name(code or 0)} needs the imagecodecs "
            "package for this image; install it (pip install imagecodecs), or save the TIFF "
            "uncompressed or with zip/deflate") from None
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[2] not in (3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar storage
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    elif arr.dtype.kind == "i":
        arr = np.clip(arr, 0, None).astype(np.uint32 if arr.itemsize > 2 else np.uint16)
    return arr


#: Largest single read handed to Pillow's decoder (see :func:`_pillow_pixels`).
DECODE_BLOCK = 64 << 20


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _pillow_pixels(path: Path, img: Image.Image, bit_depth: int,
                   half_size: bool = False, planar: bool = False) -> np.ndarray:
    """H x W x C pixels, or 3 x H x W 8-bit ones when ``planar`` and the source is 8-bit."""
    if img.format == "TIFF" and bit_depth > 8:
        return _tiff_pixels(path)
    if img.format == "PNG" and bit_depth > 8:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            data = torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
            return torchvision_io.decode_png(data, mode=torchvision_io.ImageReadMode.RGB).permute(1, 2, 0).numpy()
    if half_size and img.format == "JPEG":
        img.draft("RGB", ((img.width + 1) // 2, (img.height + 1) // 2))  # DCT-domain scaling
    # Feed the decoder the whole file at once: Pillow releases the GIL inside each decode
    # call and takes it back between its 64 KB reads; with other threads busy (the method,
    # or torch being imported) every re-take waits, and a 12 MP JPEG took 4x longer.
    # Single-tile images only (JPEG, PNG): Pillow before 11.1 reads a whole block per tile,
    # which would make multi-strip TIFFs quadratic.
    if len(img.tile) == 1:
        img.decodermaxblock = max(img.decodermaxblock, min(_file_size(path), DECODE_BLOCK))
    img.load()
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        return np.asarray(img)
    if img.mode != "RGB":
        img = img.convert("RGB")
    if planar:
        return np.stack([np.asarray(band) for band in img.split()])  # 3 x H x W, one pass
    return np.asarray(img)


def decode_pixels(path: str | Path, *, half_size: bool = False, max_pixels: int | None = None,
                  meta: PhotoMeta | None = None,
                  keep_8bit: bool = False) -> tuple[np.ndarray, PhotoMeta]:
    """The first half of :func:`read_image`: the decoded pixels as a NumPy array (as
    stored: not yet upright), plus the metadata. It needs no torch for JPEG, 8-bit PNG and
    TIFF, and RAW, so photos can be decoded while torch is still being imported."""
    path = Path(path)
    meta = meta if meta is not None else read_metadata(path)
    _check_pixels(path, meta.width, meta.height, max_pixels)
    if meta.is_raw:
        return raw.decode_raw(path, half_size=half_size), meta
    try:
        if meta.format == "TIFF" and meta.bit_depth > 8:
            return _tiff_pixels(path), meta
        with _open_pillow(path) as img:
            return _pillow_pixels(path, img, meta.bit_depth, half_size,
                                  planar=keep_8bit and not half_size), meta
    except ImageReadError:
        raise
    except PermissionError as e:
        raise _open_error(path, e) from e
    except Exception as e:
        error = _decode_error(path, meta, e)
        if error is None:
            raise  # a bug in a decoder: reported with its type by the batch
        raise error from e


def _decode_error(path: Path, meta: PhotoMeta, e: Exception) -> ImageReadError | None:
    """The one line for a failed decode: out of memory, a TIFF whose data does not decode
    (whatever its decoder raised: zlib, a missing module...), damaged data; None for other
    exceptions."""
    if is_out_of_memory(e):
        return ImageMemoryError(path, meta.width, meta.height)
    code = tiff_compression(path) if meta.format == "TIFF" else None
    if code not in (None, 1) and "truncated" not in str(e):
        return ImageReadError(tiff_undecodable(path, code))  # not the decoder's own words
    if isinstance(e, (OSError, SyntaxError, ValueError, RuntimeError, KeyError, IndexError)):
        return ImageReadError(f"{path}: cannot decode the pixels ({e}); the file is truncated or "
                              "damaged, re-copy it from the camera or card")
    return None


def pixels_to_tensor(arr: np.ndarray, meta: PhotoMeta, *, half_size: bool = False,
                     keep_8bit: bool = False) -> torch.Tensor:
    """The second half of :func:`read_image`: :func:`decode_pixels`' array as an upright
    3 x H x W tensor (float32 in [0, 1], or its own uint8 pixels with ``keep_8bit``)."""
    if arr.ndim == 3 and arr.shape[0] == 3 and arr.dtype == np.uint8 and keep_8bit:
        return apply_orientation(torch.from_numpy(arr), meta.orientation)
    try:
        x = _to_float(arr)
        if half_size and max(x.shape[1:]) > (max(meta.width, meta.height) + 1) // 2:
            x = torch.nn.functional.avg_pool2d(x[None], 2, ceil_mode=True)[0]
        return apply_orientation(x, meta.orientation)
    except (MemoryError, RuntimeError) as e:
        if not is_out_of_memory(e):
            raise
        raise ImageMemoryError(Path(meta.path), meta.width, meta.height) from e


def read_image(path: str | Path, *, half_size: bool = False, max_pixels: int | None = None,
               meta: PhotoMeta | None = None,
               keep_8bit: bool = False) -> tuple[torch.Tensor, PhotoMeta]:
    """Decode a photo to a float32 3 x H x W tensor in [0, 1], upright, plus its metadata.

    16-bit sources keep their precision. RAW files are demosaiced by LibRaw with the camera
    white balance to sRGB (``half_size``: half resolution, much faster). ``max_pixels`` raises
    the decompression-bomb limit (default :data:`DEFAULT_MAX_PIXELS`). ``meta``: this file's
    :func:`read_metadata`, when the caller has it already (EXIF is then not parsed again and
    a RAW file is opened once more only, to decode). ``keep_8bit``: an 8-bit JPEG/PNG/TIFF
    comes back as its own uint8 pixels (0-255, 3 x H x W) instead, with no float copy.
    """
    arr, meta = decode_pixels(path, half_size=half_size, max_pixels=max_pixels, meta=meta,
                              keep_8bit=keep_8bit)
    return pixels_to_tensor(arr, meta, half_size=half_size, keep_8bit=keep_8bit), meta


# --- writing -------------------------------------------------------------------------------

def _output_format(path: Path, format: str | None) -> OutputFormat:
    if format:
        fmt = output_format_named(format)
        if fmt is not None:
            return fmt
        raise FlashcliError(f"{path}: unknown output format {format!r}; use {format_choices()}")
    fmt = output_format_of(path)
    if fmt is None:
        raise FlashcliError(
            f"{path}: cannot tell the output format from {path.suffix or 'no extension'!r}; "
            "name the file .jpg, .png or .tif")
    return fmt


def _planes(image: torch.Tensor) -> list[np.ndarray] | None:
    """The three planes of an 8-bit 3 x H x W tensor (JPEG writes merge them in C), or None."""
    x = image.detach()
    if x.dtype != torch.uint8 or x.ndim not in (3, 4) or x.shape[-3] != 3:
        return None
    if x.ndim == 4:
        if x.shape[0] != 1:
            return None
        x = x[0]
    return [np.ascontiguousarray(p) for p in x.cpu().numpy()]


def _quantize(image: torch.Tensor, bit_depth: int) -> np.ndarray:
    x = image.detach()
    if x.dtype == torch.uint8:
        x = x.float().div_(255)
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise FlashcliError(f"cannot write an image of shape {tuple(x.shape)}; expected 3 x H x W")
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    top = 255 if bit_depth == 8 else 65535
    q = (torch.nan_to_num(x.float()).clamp(0, 1) * top).round().to(torch.int32).cpu().permute(1, 2, 0).numpy()
    return np.ascontiguousarray(q.astype(np.uint8 if bit_depth == 8 else np.uint16))


def write_image(path: str | Path, image: torch.Tensor, meta: PhotoMeta | None = None, *,
                format: str | None = None, quality: int = 95, bit_depth: int = 8,
                protect: Sequence[str | Path] = (), subsampling: str | int | None = None) -> Path:
    """Write a 3 x H x W tensor in [0, 1] (or uint8, 0-255) atomically; carry ``meta``'s EXIF (Orientation = 1,
    Software = flashcli) and ICC profile. Refuses to replace ``meta.path`` or any ``protect`` path.

    Formats: JPEG (``quality``, ``subsampling`` "4:4:4"/"4:2:2"/"4:2:0"), PNG and TIFF;
    ``bit_depth`` 16 is TIFF only.
    """
    path = Path(path)
    spec = _output_format(path, format)
    if bit_depth not in BIT_DEPTHS:
        raise FlashcliError(f"{path}: bit depth {bit_depth} is not supported; use 8 or 16")
    refusal = bit_depth_refusal(spec, bit_depth)
    if refusal:
        deep = format_for_bit_depth(bit_depth)
        raise FlashcliError(f"{path}: {spec.pillow} output is {refusal}; write a "
                            f".{deep.ext if deep else spec.ext} for {bit_depth}-bit output")
    fmt = spec.pillow
    planes = _planes(image) if fmt == "JPEG" else None
    arr = planes[0] if planes else _quantize(image, bit_depth)
    guard = tuple(Path(p) for p in protect)
    if meta is not None and meta.path:
        guard += (Path(meta.path),)
    exif = _exif.output_exif(meta)
    icc = meta.icc_profile if meta is not None else None
    check = functools.partial(verify_image, fmt=fmt, size=(arr.shape[1], arr.shape[0]))
    with atomic_path(path, protect=guard, verify=check) as tmp:
        if fmt == "TIFF":
            _write_tiff(tmp, arr, exif, icc)
        else:
            block = _exif.exif_bytes(exif)
            if fmt == "JPEG" and len(block) > 65533 and meta is not None:  # APP1 size limit
                slim = dataclasses.replace(meta, exif_block=None)
                block = _exif.exif_bytes(_exif.output_exif(slim))
            options = {"exif": block}
            if icc:
                options["icc_profile"] = icc
            if fmt == "JPEG":
                options["quality"] = int(quality)
                if subsampling is not None:
                    options["subsampling"] = subsampling
            pil = (Image.merge("RGB", [Image.fromarray(p) for p in planes]) if planes
                   else Image.fromarray(arr, "RGB"))
            pil.save(tmp, fmt, **options)
    return path


def verify_image(path: Path, fmt: str, size: tuple[int, int]) -> None:
    """Check a just-written image is complete without decoding it all: the header says
    ``size`` (width, height), a JPEG ends with its end marker, every PNG chunk is there
    with a good CRC, every TIFF strip or tile lies inside the file. Raises when not."""
    if fmt == "TIFF":
        end = path.stat().st_size
        with tifffile.TiffFile(path) as tf:
            page = tf.pages[0]
            if (int(page.imagewidth), int(page.imagelength)) != size:
                raise ValueError(f"header says {page.imagewidth}x{page.imagelength}")
            for off, n in zip(page.dataoffsets, page.databytecounts, strict=True):
                if off + n > end:
                    raise ValueError(f"image data runs past the end of the file ({end} bytes)")
        return
    with Image.open(path) as img:
        if img.size != size:
            raise ValueError(f"header says {img.width}x{img.height}")
        if fmt == "PNG":
            img.verify()  # reads every chunk through IEND, checking CRCs (no inflating)
    if fmt == "JPEG":
        with open(path, "rb") as fh:
            fh.seek(-2, 2)
            if fh.read(2) != b"\xff\xd9":
                raise ValueError("no JPEG end marker")


def _write_tiff(tmp: Path, arr: np.ndarray, exif, icc: bytes | None) -> None:
    tifffile.imwrite(tmp, arr, photometric="rgb", compression="zlib",
                     compressionargs={"level": 1}, predictor=True, software=f"flashcli {__version__}",
                     iccprofile=icc, extratags=_exif.tiff_extratags(exif), metadata=None)
