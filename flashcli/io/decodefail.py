"""What to say when something fails: any exception as one line (:func:`one_line`), a photo
that failed (:func:`photo_failure`), a TIFF compression flashcli has no decoder for, pixel
data that does not decode, an image too large for the memory there is.

The one home of the rules that turn an exception into a line: modules do not keep private
helpers of their own for it.

Each is one line naming the file, what is wrong and the fix (``docs/reliability.md``), never
the decoder's or the allocator's own text ("No module named 'compression'", "decoder error
-2", "DefaultCPUAllocator: can't allocate memory"). Plain functions, no torch, no Pillow.
"""

from __future__ import annotations

import struct
from pathlib import Path

from flashcli.errors import FlashcliError

__all__ = [
    "PhotoOutOfMemory", "one_line", "photo_failure",
    "CONVERT_TIFF", "MEMORY_FIX", "TIFF_COMPRESSIONS", "compression_name", "is_out_of_memory",
    "max_pixels_fix", "out_of_memory", "tiff_compression", "tiff_undecodable",
    "tiff_unsupported",
]

# --- any exception --------------------------------------------------------------------------

def one_line(exc: BaseException, *, typed: bool | None = None) -> str:
    """The first line of ``exc``'s message (bytes arguments decoded), prefixed with its type
    name when ``typed`` (by default: for anything but a FlashcliError, whose message is
    written for the user); the type name alone when there is no message."""
    if typed is None:
        typed = not isinstance(exc, FlashcliError)
    arg = exc.args[0] if len(exc.args) == 1 else None  # LibRaw's messages are bytes
    text = arg.decode(errors="replace") if isinstance(arg, bytes) else str(exc)
    text = text.strip().splitlines()[0] if text.strip() else ""
    if not text:
        return type(exc).__name__
    return f"{type(exc).__name__}: {text}" if typed else text


class PhotoOutOfMemory:
    """Mixin of the errors that say a photo was too large for the memory there is: its
    ``path``, ``width`` and ``height``, so each command can name its own fix."""

    path: Path
    width: int
    height: int


def photo_failure(exc: BaseException, path: str | Path | None = None, width: int = 0,
                  height: int = 0) -> str:
    """One line for a photo that failed (relight, info): :func:`one_line`, except that
    running out of memory names the photo, its size and ``--max-pixels`` (the size from a
    :class:`PhotoOutOfMemory` error, else ``path``, ``width`` and ``height`` when given)."""
    if isinstance(exc, PhotoOutOfMemory):
        return out_of_memory(exc.path, exc.width, exc.height, max_pixels_fix(exc.width, exc.height))
    if path is not None and is_out_of_memory(exc):
        return out_of_memory(path, width, height, max_pixels_fix(width, height))
    return one_line(exc)


#: TIFF Compression tag (259) values and what they are called.
TIFF_COMPRESSIONS = {
    1: "none", 2: "CCITT RLE", 3: "CCITT Group 3 fax", 4: "CCITT Group 4 fax", 5: "LZW",
    6: "old-style JPEG", 7: "JPEG", 8: "Deflate", 32771: "raw 16-bit padding",
    32773: "PackBits", 32809: "ThunderScan", 32946: "Deflate", 33003: "JPEG 2000 (Aperio)",
    33005: "JPEG 2000 (Aperio)", 34661: "JBIG", 34676: "SGI LogLuv", 34677: "SGI LogLuv 24",
    34712: "JPEG 2000", 34887: "LERC", 34892: "lossy JPEG (DNG)", 34925: "LZMA",
    34933: "PNG", 34934: "JPEG XR", 50000: "Zstandard", 50001: "WebP", 50002: "JPEG XL",
    52546: "JPEG XL (DNG)",
}

#: The fix for a TIFF flashcli cannot decode: formats every decoder here reads.
CONVERT_TIFF = "convert it to an uncompressed or LZW TIFF, or a JPEG"


def compression_name(code: int) -> str:
    """``34712 (JPEG 2000)``, or ``99`` for a value no TIFF writer is known to use."""
    name = TIFF_COMPRESSIONS.get(code)
    return f"{code} ({name})" if name else str(code)


def tiff_compression(path: str | Path) -> int | None:
    """The Compression tag of a TIFF's first image (1 when the tag is absent), read from the
    header alone; None when the file is not a TIFF or its first directory is unreadable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
            order = {b"II": "<", b"MM": ">"}.get(head[:2])
            if order is None or len(head) < 16:
                return None
            magic = struct.unpack(order + "H", head[2:4])[0]
            if magic == 42:
                return _classic_compression(fh, order, struct.unpack(order + "I", head[4:8])[0])
            if magic == 43:
                return _big_compression(fh, order, struct.unpack(order + "Q", head[8:16])[0])
    except (OSError, struct.error, OverflowError, ValueError):
        return None
    return None


def _classic_compression(fh, order: str, offset: int) -> int | None:
    fh.seek(offset)
    (count,) = struct.unpack(order + "H", fh.read(2))
    entries = fh.read(12 * count)
    for i in range(len(entries) // 12):
        tag, kind = struct.unpack_from(order + "HH", entries, 12 * i)
        if tag == 259:
            fmt = "H" if kind == 3 else "I"
            return struct.unpack_from(order + fmt, entries, 12 * i + 8)[0]
    return 1


def _big_compression(fh, order: str, offset: int) -> int | None:
    fh.seek(offset)
    (count,) = struct.unpack(order + "Q", fh.read(8))
    entries = fh.read(20 * min(count, 65536))
    for i in range(len(entries) // 20):
        tag, kind = struct.unpack_from(order + "HH", entries, 20 * i)
        if tag == 259:
            fmt = "H" if kind == 3 else ("Q" if kind == 16 else "I")
            return struct.unpack_from(order + fmt, entries, 20 * i + 12)[0]
    return 1


def tiff_unsupported(path: str | Path, code: int) -> str:
    """The line for a TIFF whose compression no decoder here reads."""
    return (f"{path}: unsupported TIFF compression {compression_name(code)}; flashcli cannot "
            f"decode it: {CONVERT_TIFF}")


def tiff_undecodable(path: str | Path, code: int | None) -> str:
    """The line for a TIFF whose (supported) compressed pixel data does not decode."""
    name = TIFF_COMPRESSIONS.get(code or 1, str(code))
    what = "pixel data" if code in (None, 1) else f"{name}-compressed pixel data"
    return (f"{path}: the TIFF's {what} does not decode (the file is truncated or damaged, "
            f"or its compression tag is wrong); re-copy it from the source, or {CONVERT_TIFF}")


# --- memory ---------------------------------------------------------------------------------

_ALLOCATOR_TEXT = ("can't allocate memory", "cannot allocate memory", "out of memory",
                   "defaultcpuallocator", "bad_alloc", "unable to allocate", "failed to allocate")


def is_out_of_memory(exc: BaseException) -> bool:
    """True for the ways an allocation failure surfaces: MemoryError (Python, NumPy,
    Pillow), torch's ``DefaultCPUAllocator`` / CUDA out-of-memory RuntimeErrors,
    ``std::bad_alloc``, or an OSError ENOMEM."""
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, OSError) and exc.errno == 12:
        return True
    if isinstance(exc, (RuntimeError, OSError, ValueError)):
        text = str(exc).lower()
        return any(t in text for t in _ALLOCATOR_TEXT)
    return False


def out_of_memory(path: str | Path, width: int, height: int, fix: str) -> str:
    """``PATH: not enough memory for this 144-megapixel image (12000x12000); FIX``."""
    mp = width * height / 1e6
    if mp < 0.1:
        return f"{path}: not enough memory for this {width}x{height} image; {fix}"
    size = f"{mp:.0f}" if mp >= 10 else f"{mp:.1f}"
    return f"{path}: not enough memory for this {size}-megapixel image ({width}x{height}); {fix}"


#: The fix where no command option applies (eval, train, the library).
MEMORY_FIX = ("run it with more memory (close other programs, or raise the limit: ulimit -v), "
              "or use a smaller copy of the image")


def max_pixels_fix(width: int, height: int) -> str:
    """The fix for relight / info: more memory, or leave such photos out up front."""
    return ("run it with more memory (close other programs, or raise the limit: ulimit -v), "
            f"or leave photos this large out with --max-pixels N (N below {width * height})")
