"""The bad-input corpus of issue 9, generated on the spot (tiny files, nothing big allocated).

Every writer returns the path it wrote. :func:`make_corpus` writes one file per case into a
folder (named after the case, so every stem differs) and returns ``{case: path}``; :data:`CASES` describes each case (the names are the
rows of ``docs/reliability.md``). Cases that a command must *refuse* are in
:data:`UNREADABLE`; the others are odd but valid photos that must be processed (or skipped)
without a crash.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import photo_factory as pf

#: case -> what it is.
CASES: dict[str, str] = {
    "zero_jpg": "zero-byte file named .jpg",
    "zero_png": "zero-byte file named .png",
    "zero_tif": "zero-byte file named .tif",
    "zero_dng": "zero-byte file named .dng",
    "truncated_jpg": "JPEG cut in half (header intact, pixel data missing)",
    "truncated_png": "PNG cut in half (IDAT incomplete, no IEND)",
    "truncated_tif": "TIFF cut in half (strips point past the end)",
    "truncated_dng": "DNG cut in half (CFA data missing)",
    "png_named_jpg": "a valid PNG named .jpg (wrong extension)",
    "png_named_dng": "a valid PNG named .dng (wrong extension, RAW decoder)",
    "text_jpg": "a text file named .jpg",
    "exif_garbage": "JPEG whose EXIF block is random bytes",
    "exif_out_of_range": "JPEG with Flash=0xFFFF, Orientation=99, date 9999:99:99, rational x/0",
    "exif_enormous": "JPEG whose EXIF declares 2^31 values, offsets past the end, Flash=2^32-1",
    "one_pixel": "a 1x1 JPEG, flash fired",
    "bomb_png": "PNG header declaring 50000x50000 pixels (decompression bomb; tiny file)",
    "bomb_jpg": "JPEG header declaring 50000x50000 pixels, flash fired (tiny file)",
    "unicode_path": "a valid flash JPEG in 'ünï cødé/phöto 1 📷.jpg' (unicode and spaces)",
}

#: Cases whose very header cannot be read.
BAD_HEADER = frozenset({"zero_jpg", "zero_png", "zero_tif", "zero_dng", "png_named_dng",
                        "text_jpg"})
#: Cases with a sound header and missing pixel data (found when the pixels are decoded).
TRUNCATED = frozenset({"truncated_jpg", "truncated_png", "truncated_tif", "truncated_dng"})
#: Cases no command can decode (each must give one line naming the file and a non-zero exit).
UNREADABLE = BAD_HEADER | TRUNCATED
#: Readable headers, but the pixels are refused (over the decompression-bomb limit).
TOO_LARGE = frozenset({"bomb_png", "bomb_jpg"})
#: Odd but valid photos: read, processed or skipped like any other, never a crash.
READABLE = frozenset(CASES) - UNREADABLE - TOO_LARGE

BOMB_SIDE = 50_000


# --- single cases ---------------------------------------------------------------------------

def write_zero(path: str | Path) -> Path:
    path = Path(path)
    path.write_bytes(b"")
    return path


def _cut(path: Path, keep: float) -> Path:
    blob = path.read_bytes()
    path.write_bytes(blob[: max(1, int(len(blob) * keep))])
    return path


def write_truncated_jpeg(path: str | Path) -> Path:
    return pf.write_truncated(path, keep=0.5)


def write_truncated_png(path: str | Path) -> Path:
    path = pf.write_png(path, 48, 32, data=pf.pixels(48, 32, kind="noise"))
    return _cut(path, 0.5)


def write_truncated_tiff(path: str | Path) -> Path:
    path = pf.write_tiff(path, 48, 32, bit_depth=8, flash=pf.FLASH_FIRED)
    return _cut(path, 0.5)


def write_truncated_dng(path: str | Path) -> Path:
    path = pf.write_dng(path, 64, 48, flash=pf.FLASH_FIRED)
    return _cut(path, 0.5)


def write_png_named(path: str | Path) -> Path:
    """A valid PNG under whatever name ``path`` has (``.jpg``, ``.dng``...)."""
    path = Path(path)
    from PIL import Image

    Image.fromarray(pf.pixels(16, 12), "RGB").save(path, "PNG")
    return path


def _jpeg_with_app1(path: Path, payload: bytes, width: int = 16, height: int = 12) -> Path:
    """A valid JPEG with ``payload`` as its APP1 (EXIF) segment body."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pf.pixels(width, height), "RGB").save(buf, "JPEG", quality=90)
    jpeg = buf.getvalue()
    assert jpeg[:2] == b"\xff\xd8"
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    path.write_bytes(jpeg[:2] + seg + jpeg[2:])
    return path


def write_exif_garbage(path: str | Path, seed: int = 7) -> Path:
    noise = np.random.default_rng(seed).integers(0, 256, 600, dtype=np.uint8).tobytes()
    return _jpeg_with_app1(Path(path), b"Exif\x00\x00" + noise)


def _ifd(entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0) -> bytes:
    """Little-endian IFD: (tag, type, count, 4-byte value or offset) entries."""
    body = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        body += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\x00")[:4]
    return body + struct.pack("<I", next_ifd)


def write_exif_out_of_range(path: str | Path) -> Path:
    """Flash with every bit set, Orientation 99, an impossible date, ExposureTime 1/0."""
    date = b"9999:99:99 99:99:99\x00"
    # Layout: header(8) | IFD0 at 8 (3 entries) | ExifIFD | date | rational
    ifd0_len = 2 + 3 * 12 + 4
    exif_at = 8 + ifd0_len
    exif_len = 2 + 3 * 12 + 4
    date_at = exif_at + exif_len
    rat_at = date_at + len(date)
    ifd0 = _ifd([
        (0x0112, 3, 1, struct.pack("<H", 99)),                 # Orientation 99
        (0x0132, 2, len(date), struct.pack("<I", date_at)),     # DateTime
        (0x8769, 4, 1, struct.pack("<I", exif_at)),            # Exif IFD pointer
    ])
    sub = _ifd([
        (0x829A, 5, 1, struct.pack("<I", rat_at)),             # ExposureTime 1/0
        (0x9003, 2, len(date), struct.pack("<I", date_at)),     # DateTimeOriginal
        (0x9209, 3, 1, struct.pack("<H", 0xFFFF)),             # Flash: all bits set
    ])
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + sub + date + struct.pack("<II", 1, 0)
    return _jpeg_with_app1(Path(path), b"Exif\x00\x00" + tiff)


def write_exif_enormous(path: str | Path) -> Path:
    """Counts of 2^31, offsets far past the end of the file, a LONG Flash of 2^32 - 1."""
    ifd0 = _ifd([
        (0x010F, 2, 0x7FFFFFFF, struct.pack("<I", 0x7FFFFFF0)),   # Make: 2 GB string
        (0x0110, 2, 5000, struct.pack("<I", 0xFFFFFF00)),         # Model: offset past end
        (0x8769, 4, 1, struct.pack("<I", 8 + 2 + 4 * 12 + 4)),   # Exif IFD pointer
        (0x0100, 4, 0x40000000, struct.pack("<I", 12)),           # ImageWidth: 2^30 values
    ])
    sub = _ifd([
        (0x9209, 4, 1, struct.pack("<I", 0xFFFFFFFF)),           # Flash as LONG 2^32-1
        (0x829A, 5, 0x10000000, struct.pack("<I", 0x7FFFFFFF)),   # ExposureTime: 2^28 rationals
    ], next_ifd=0xFFFFFFF0)                                       # next IFD past the end
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + sub
    return _jpeg_with_app1(Path(path), b"Exif\x00\x00" + tiff)


def write_one_pixel(path: str | Path) -> Path:
    return pf.write_jpeg(path, 1, 1, data=np.array([[[200, 150, 90]]], np.uint8),
                         flash=pf.FLASH_FIRED)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write_bomb_png(path: str | Path, side: int = BOMB_SIDE) -> Path:
    """A PNG whose header declares ``side`` x ``side`` RGB pixels; only one row of
    (compressed) data follows, so the file is tiny and nothing large is allocated here."""
    path = Path(path)
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    row = zlib.compress(b"\x00" + b"\x80" * (3 * side), 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                     + _png_chunk(b"IDAT", row) + _png_chunk(b"IEND", b""))
    return path


def write_bomb_jpeg(path: str | Path, side: int = BOMB_SIDE) -> Path:
    """A small flash-fired JPEG whose SOF marker is patched to declare ``side`` x ``side``."""
    path = pf.write_jpeg(path, 16, 16, flash=pf.FLASH_FIRED)
    blob = bytearray(path.read_bytes())
    i = 2
    while i < len(blob) - 9:
        if blob[i] != 0xFF:
            raise ValueError("unexpected JPEG structure")
        marker = blob[i + 1]
        length = struct.unpack(">H", blob[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):  # SOF: length, precision, height, width
            blob[i + 5:i + 9] = struct.pack(">HH", side, side)
            path.write_bytes(bytes(blob))
            return path
        i += 2 + length
    raise ValueError("no SOF marker found")


def write_unicode(folder: str | Path) -> Path:
    """A valid flash JPEG with unicode and spaces in both its folder and its name."""
    sub = Path(folder) / "ünï cødé"
    sub.mkdir(parents=True, exist_ok=True)
    return pf.write_jpeg(sub / "phöto 1 📷.jpg", flash=pf.FLASH_FIRED)


def make_symlink_loop(folder: str | Path) -> list[Path]:
    """A folder symlink pointing at its own parent (``loop -> .``) and a file symlink
    pointing at itself (``self.jpg -> self.jpg``, ELOOP when opened)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    loop = folder / "loop"
    os.symlink(".", loop, target_is_directory=True)
    selfref = folder / "self.jpg"
    os.symlink("self.jpg", selfref)
    return [loop, selfref]


_WRITERS = {
    "zero_jpg": lambda d: write_zero(d / "zero_jpg.jpg"),
    "zero_png": lambda d: write_zero(d / "zero_png.png"),
    "zero_tif": lambda d: write_zero(d / "zero_tif.tif"),
    "zero_dng": lambda d: write_zero(d / "zero_dng.dng"),
    "truncated_jpg": lambda d: write_truncated_jpeg(d / "truncated_jpg.jpg"),
    "truncated_png": lambda d: write_truncated_png(d / "truncated_png.png"),
    "truncated_tif": lambda d: write_truncated_tiff(d / "truncated_tif.tif"),
    "truncated_dng": lambda d: write_truncated_dng(d / "truncated_dng.dng"),
    "png_named_jpg": lambda d: write_png_named(d / "png_named_jpg.jpg"),
    "png_named_dng": lambda d: write_png_named(d / "png_named_dng.dng"),
    "text_jpg": lambda d: pf.write_text_as_image(d / "text_jpg.jpg"),
    "exif_garbage": lambda d: write_exif_garbage(d / "exif_garbage.jpg"),
    "exif_out_of_range": lambda d: write_exif_out_of_range(d / "exif_out_of_range.jpg"),
    "exif_enormous": lambda d: write_exif_enormous(d / "exif_enormous.jpg"),
    "one_pixel": lambda d: write_one_pixel(d / "one_pixel.jpg"),
    "bomb_png": lambda d: write_bomb_png(d / "bomb_png.png"),
    "bomb_jpg": lambda d: write_bomb_jpeg(d / "bomb_jpg.jpg"),
    "unicode_path": write_unicode,
}


def make_case(case: str, folder: str | Path) -> Path:
    """Write one case of :data:`CASES` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return _WRITERS[case](folder)


def make_corpus(folder: str | Path, cases: frozenset[str] | set[str] | None = None) -> dict[str, Path]:
    """Write every case (or the chosen ones) into ``folder``; ``{case: path}``."""
    return {c: make_case(c, folder) for c in CASES if cases is None or c in cases}


def make_readonly(folder: str | Path) -> Path:
    """A folder nobody may write into (root ignores this: tests then simulate the refusal)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    return folder


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def assert_clean_failure(result, *names: str) -> None:
    """A CliRunner result that failed the way issue 9 asks: non-zero exit, no traceback,
    no Python warning, and every name in ``names`` mentioned."""
    out = result.output  # click >= 8.2: stdout and stderr interleaved
    assert result.exit_code != 0, out
    assert "Traceback" not in out, out
    assert "Warning:" not in out, out
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    for name in names:
        assert name in out, (name, out)


def write_pairs(folder: str | Path, n: int = 2, size: tuple[int, int] = (24, 16),
                prefix: str = "Objects") -> list[tuple[Path, Path]]:
    """``n`` tiny PNG pairs ``<prefix>_<NNN>_flash.png`` / ``..._ambient.png`` in ``folder``."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    out = []
    for k in range(n):
        ambient = pf.pixels(w, h, kind="noise", seed=k) // 2
        flash = np.clip(ambient.astype(np.int32) * 2 + 30, 0, 255).astype(np.uint8)
        fl, am = folder / f"{prefix}_{k:03d}_flash.png", folder / f"{prefix}_{k:03d}_ambient.png"
        Image.fromarray(flash, "RGB").save(fl)
        Image.fromarray(ambient, "RGB").save(am)
        out.append((fl, am))
    return out


# --- test methods (a real plugin, installed as a fake distribution) -------------------------

#: ``slow``: halves the image after 0.1 s per photo; with ``$FLASHCLI_TEST_HOLD`` set (a
#: path), every call after the first four photos (relight's first batch) waits until that
#: file exists (at most 5 minutes), so a test can signal a run that has written some outputs
#: and not all, however loaded the machine. ``flaky``: raises on photos of odd width, like a method with a bug.
HOLD_ENV = "FLASHCLI_TEST_HOLD"
TEST_METHODS = {
    "fx_slow": """
        import os
        import time
        import flashcli
        from flashcli.enhancer import Enhancer

        class Slow(Enhancer):
            name = "slow"
            description = "Halve the flash image, slowly (0.1 s per photo)."
            photos = 0

            def enhance(self, flash):
                time.sleep(0.1 * flash.shape[0])
                seen, Slow.photos = Slow.photos, Slow.photos + flash.shape[0]
                hold = os.environ.get("FLASHCLI_TEST_HOLD")
                deadline = time.monotonic() + 300
                while hold and seen >= 4 and not os.path.exists(hold):
                    if time.monotonic() > deadline:
                        raise RuntimeError("slow: held for 5 minutes, nobody stopped the run")
                    time.sleep(0.05)
                return flash * 0.5

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            register(Slow)
        """,
    "fx_flaky": """
        import flashcli
        from flashcli.enhancer import Enhancer

        class Flaky(Enhancer):
            name = "flaky"
            description = "Fails on photos of odd width, like a method with a bug."

            def enhance(self, flash):
                if flash.shape[-1] % 2:
                    raise RuntimeError("flaky exploded on an odd width")
                return flash * 0.5

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            register(Flaky)
        """,
}


def make_method_site(site: str | Path) -> Path:
    """A site folder holding the ``fx-reltest`` distribution with the test methods; put it on
    ``sys.path`` (in-process) or ``PYTHONPATH`` (subprocesses) to install them."""
    from plugin_dist import make_dist

    site = Path(site)
    make_dist(site, "fx-reltest", "1.0", {"slow": "fx_slow", "flaky": "fx_flaky"}, TEST_METHODS)
    return site


# --- round two (issue 15) ---------------------------------------------------------------------

#: Photos added by issue 15: odd but readable (or refused for a named reason).
CASES_2: dict[str, str] = {
    "exif_flash_rational": "JPEG whose Flash tag is a RATIONAL 1/0 (a malformed tag)",
    "tiff_float": "RGB float32 TIFF, values in [0, 1]",
    "tiff_uint32": "RGB uint32 TIFF",
    "tiff_lzw16": "16-bit grey TIFF compressed with LZW (a codec tifffile lacks without imagecodecs)",
    "tiff_lzw16_rgb": "16-bit RGB TIFF marked LZW: no decoder here without imagecodecs",
}

#: Things that are not regular files, given directly or found in a folder.
NOT_FILES = ("fifo", "socket", "loop_link", "dangling_link")


def write_exif_flash_rational(path: str | Path) -> Path:
    """A flash JPEG whose EXIF Flash (0x9209) is stored as RATIONAL 1/0."""
    ifd0 = _ifd([(0x8769, 4, 1, struct.pack("<I", 8 + 2 + 12 + 4))])
    sub = _ifd([(0x9209, 5, 1, struct.pack("<I", 8 + 18 + 18))])
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + sub + struct.pack("<II", 1, 0)
    return _jpeg_with_app1(Path(path), b"Exif\x00\x00" + tiff)


def write_tiff_float(path: str | Path, w: int = 20, h: int = 14) -> Path:
    import tifffile

    arr = (pf.pixels(w, h, kind="noise").astype(np.float32) / 255.0)
    tifffile.imwrite(path, arr, photometric="rgb")
    return Path(path)


def write_tiff_uint32(path: str | Path, w: int = 20, h: int = 14) -> Path:
    import tifffile

    arr = pf.pixels(w, h, kind="noise").astype(np.uint32) * (2**24)
    tifffile.imwrite(path, arr, photometric="rgb")
    return Path(path)


def write_tiff_lzw16(path: str | Path, w: int = 20, h: int = 14) -> Path:
    """Pillow writes LZW for 16-bit grey; tifffile cannot read it without imagecodecs."""
    from PIL import Image

    arr = pf.pixels(w, h, kind="noise")[:, :, 0].astype(np.uint16) * 257
    Image.fromarray(arr).save(path, compression="tiff_lzw")
    return Path(path)


def write_tiff_lzw16_rgb(path: str | Path, w: int = 20, h: int = 14) -> Path:
    """16-bit RGB marked LZW-compressed (a plain TIFF whose Compression tag is patched to 5):
    neither Pillow nor tifffile without imagecodecs decodes it."""
    import tifffile

    arr = pf.pixels(w, h, kind="noise").astype(np.uint16) * 257
    tifffile.imwrite(path, arr, photometric="rgb")
    blob = Path(path).read_bytes()
    entry = struct.pack("<HHIH", 0x0103, 3, 1, 1)
    assert blob.count(entry) == 1
    Path(path).write_bytes(blob.replace(entry, struct.pack("<HHIH", 0x0103, 3, 1, 5)))
    return Path(path)


_WRITERS_2 = {
    "exif_flash_rational": lambda d: write_exif_flash_rational(d / "exif_flash_rational.jpg"),
    "tiff_float": lambda d: write_tiff_float(d / "tiff_float.tif"),
    "tiff_uint32": lambda d: write_tiff_uint32(d / "tiff_uint32.tif"),
    "tiff_lzw16": lambda d: write_tiff_lzw16(d / "tiff_lzw16.tif"),
    "tiff_lzw16_rgb": lambda d: write_tiff_lzw16_rgb(d / "tiff_lzw16_rgb.tif"),
}


def make_case_2(case: str, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return _WRITERS_2[case](folder)


def make_not_file(kind: str, path: str | Path) -> Path:
    """A FIFO, a listening-free Unix socket, a self-looping or a dangling link at ``path``."""
    import socket

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    elif kind == "loop_link":
        os.symlink(path.name, path)
    elif kind == "dangling_link":
        os.symlink(path.with_name("missing_target" + path.suffix).name, path)
    else:
        raise ValueError(kind)
    return path


# --- hostile weights, run folders and logs ------------------------------------------------------

def write_tiny_unet(path: str | Path, meta_options: dict | None = None, *,
                    embedded: str | None = None, width: float = 0.0625) -> Path:
    """Real ``unet`` weights at a tiny width whose metadata records ``meta_options`` (e.g.
    ``{"width": 12.0}``, which would build a network of gigabytes) or the raw ``embedded``
    metadata text (e.g. JSON nested 100k deep)."""
    from safetensors.torch import save_file

    from flashcli.plugins import registry

    enh = registry().get("unet").cls(width=width)
    tensors = {k: v.contiguous() for k, v in enh.state_dict().items()}
    import json

    text = embedded if embedded is not None else json.dumps(
        {"method": "unet", "options": {"width": width, **(meta_options or {})}})
    save_file(tensors, str(path), metadata={"flashcli": text})
    return Path(path)


def deep_json(levels: int = 100_000) -> str:
    return "[" * levels + "]" * levels


def torn_jsonl(run: str | Path) -> Path:
    """Cut ``run/log.jsonl`` in the middle of its last line (a kill or a full disk)."""
    log = Path(run) / "log.jsonl"
    blob = log.read_bytes()
    log.write_bytes(blob + b'{"step": 99, "loss')
    return log


def garbage_csv(run: str | Path, seed: int = 3) -> Path:
    path = Path(run) / "epochs.csv"
    noise = np.random.default_rng(seed).integers(0, 256, 300, dtype=np.uint8).tobytes()
    path.write_bytes(b"epoch,loss\n1,0.5\n" + noise.replace(b"\x00", b"\x01"))
    return path


# --- hostile plugins ------------------------------------------------------------------------------

#: module -> (code, what ``flashcli plugins`` lists for it, or None when it loads fine).
HOSTILE_PLUGINS = {
    "fx_non_class": ("""
        import flashcli

        def enhance(flash):
            return flash
        enhance.name = "nonclass"

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            register(enhance)
        """, "not an Enhancer subclass"),
    "fx_bad_options": ("""
        import flashcli
        from flashcli.enhancer import Enhancer

        class BadOptions(Enhancer):
            name = "badoptions"
            options = {"gamma": 1.0}

            def enhance(self, flash):
                return flash

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            register(BadOptions)
        """, "options must be a tuple"),
    "fx_escape_name": ("""
        import flashcli
        from flashcli.enhancer import Enhancer

        class Escape(Enhancer):
            name = "../../escape"

            def enhance(self, flash):
                return flash

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            register(Escape)
        """, "is not a plain name"),
    "fx_init_raises": ("""
        import flashcli
        from flashcli.enhancer import Enhancer

        class InitRaises(Enhancer):
            name = "initraises"

            def __init__(self, **options):
                raise RuntimeError("cannot start today")

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            register(InitRaises)
        """, None),
    "fx_enhance_exits": ("""
        import sys
        import flashcli
        from flashcli.enhancer import Enhancer

        class Exits(Enhancer):
            name = "exits"

            def enhance(self, flash):
                sys.exit(3)

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            register(Exits)
        """, None),
    "fx_mutates": ("""
        import flashcli
        from flashcli.enhancer import Enhancer

        class Mutates(Enhancer):
            name = "mutates"

            def enhance(self, flash):
                flash.zero_()
                return flash

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            register(Mutates)
        """, None),
}


def make_hostile_site(site: str | Path) -> Path:
    """A site folder with every hostile plugin installed, plus an unrelated distribution
    whose ``entry_points.txt`` is not UTF-8."""
    from plugin_dist import make_dist

    site = Path(site)
    for mod, (code, _) in HOSTILE_PLUGINS.items():
        make_dist(site, mod.replace("_", "-"), "1.0", {mod[3:]: mod}, {mod: code})
    info = site / "unrelated_latin1-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: unrelated-latin1\nVersion: 1.0\n")
    (info / "entry_points.txt").write_bytes("[console_scripts]\ncaf\xe9 = caf\xe9:main\n".encode("latin-1"))
    return site
