"""Reliability round three (issue 25), the rest of the independent fault corpus: TIFFs whose
compression tag names a codec flashcli cannot decode, and a legal photo too large for the
memory limit. Each ends in one line naming the file, what is wrong and the fix, a non-zero
exit, no traceback and no decoder or allocator text; nothing half-written is left behind."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import bad_inputs as bi
import numpy as np
import photo_factory as pf
import pytest
import tifffile
from PIL import Image

from flashcli.io.decodefail import is_out_of_memory, tiff_compression
from tests.clitools import run_wide as _run

#: Compression tag values written into valid uncompressed TIFFs: 7 JPEG, 8/32946 Deflate,
#: 50000 Zstandard (codecs flashcli has, given data that is not theirs), 34712 JPEG 2000,
#: 34887 LERC (codecs Pillow lacks) and 99 (no codec at all).
HOSTILE_CODES = (7, 8, 32946, 34712, 34887, 50000, 99)
#: Codes no decoder here reads for 8-bit TIFFs (Pillow's libtiff).
UNSUPPORTED_8BIT = (34712, 34887, 99)
#: Decoder and allocator words that must never reach the user.
INTERNAL_TEXT = ("No module named", "decoder error", "Error -3", "ModuleNotFoundError",
                 "DefaultCPUAllocator", "can't allocate", "bad_alloc", "Traceback", "KeyError",
                 "COMPRESSION.")


def _written(folder: Path) -> list[str]:
    """The files under ``folder`` but relight's own settings record."""
    return sorted(p.name for p in folder.rglob("*") if p.name != ".flashcli-relight.json")


def set_compression(path: Path, value: int) -> Path:
    """Rewrite the Compression tag (259) of a little-endian TIFF's first directory in place."""
    data = bytearray(path.read_bytes())
    (offset,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, offset)
    for i in range(count):
        entry = offset + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == 259:
            struct.pack_into("<HHIHH", data, entry, 259, 3, 1, value, 0)
            path.write_bytes(bytes(data))
            return path
    raise AssertionError(f"{path}: no Compression tag")


def write_hostile_tiff(path: Path, code: int, bits: int = 8) -> Path:
    """A valid uncompressed TIFF (8-bit through Pillow, 16-bit through tifffile) whose tag then
    claims compression ``code``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if bits == 8:
        Image.fromarray(pf.pixels(32, 24)).save(path, "TIFF")
    else:
        tifffile.imwrite(path, pf.pixels(32, 24, dtype=np.uint16), photometric="rgb")
    return set_compression(path, code)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[tuple[int, int], Path]:
    folder = tmp_path_factory.mktemp("hostile") / "in"
    files = {(bits, code): write_hostile_tiff(folder / f"b{bits}_c{code}.tif", code, bits)
             for bits in (8, 16) for code in HOSTILE_CODES}
    Image.fromarray(pf.pixels(32, 24)).save(folder / "lzw.tif", "TIFF", compression="tiff_lzw")
    return files


def _assert_one_line(text: str, path: Path, code: int, bits: int) -> None:
    assert str(path) in text or path.name in text, text
    for word in INTERNAL_TEXT:
        assert word not in text, (word, text)
    if bits == 8 and code in UNSUPPORTED_8BIT or code == 99:
        assert f"unsupported TIFF compression {code}" in text, text
        assert "convert it to an uncompressed or LZW TIFF, or a JPEG" in text, text
    else:  # a codec flashcli has (or has with imagecodecs): damaged data or the missing package
        assert ("does not decode" in text and "convert it to" in text) or "imagecodecs" in text, text


# --- 1. TIFF compressions --------------------------------------------------------------------

def test_tiff_compression_is_read_from_the_header(tmp_path):
    assert tiff_compression(write_hostile_tiff(tmp_path / "a.tif", 34887)) == 34887
    tifffile.imwrite(tmp_path / "big.tif", pf.pixels(8, 8), bigtiff=True, byteorder=">",
                     compression="zlib")
    assert tiff_compression(tmp_path / "big.tif") == 8
    Image.fromarray(pf.pixels(8, 8)).save(tmp_path / "plain.tif", "TIFF")
    assert tiff_compression(tmp_path / "plain.tif") == 1
    assert tiff_compression(pf.write_jpeg(tmp_path / "x.jpg")) is None
    (tmp_path / "cut.tif").write_bytes(b"II*\x00\xff\xff\xff\x00")
    assert tiff_compression(tmp_path / "cut.tif") is None


def test_info_names_each_hostile_compression(hostile):
    folder = next(iter(hostile.values())).parent
    result = _run("info", "--check", "--json", str(folder))
    assert result.exit_code == 1, result.output
    rows = {Path(r["file"]).name: r for r in json.loads(result.stdout)}
    assert not rows["lzw.tif"]["error"]
    for (bits, code), path in hostile.items():
        _assert_one_line(rows[path.name]["error"], path, code, bits)
    plain = _run("info", str(folder))  # headers only: the codes nothing reads are refused too
    assert plain.exit_code == 1
    for code in UNSUPPORTED_8BIT:
        assert f"b8_c{code}.tif" in plain.output.split("could not be read:")[-1]


def test_relight_fails_each_hostile_tiff_and_relights_the_rest(hostile, tmp_path):
    folder = next(iter(hostile.values())).parent
    out = tmp_path / "out"
    result = _run("relight", str(folder), "-o", str(out), "-m", "identity", "--include-unknown",
                  "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    files = {Path(f["source"]).name: f for f in report["files"]}
    assert files["lzw.tif"]["status"] == "processed"
    for (bits, code), path in hostile.items():
        assert files[path.name]["status"] == "failed"
        _assert_one_line(files[path.name]["reason"], path, code, bits)
    assert _written(out) == ["lzw_ambient.tif"]  # and no .part file left


def test_eval_and_train_name_a_hostile_tiff_pair(tmp_path):
    data = tmp_path / "data"
    for split in ("train", "test"):
        bi.write_pairs(data / split, 2)
    write_hostile_tiff(data / "test" / "Objects_009_flash.tif", 34712)
    write_hostile_tiff(data / "test" / "Objects_009_ambient.tif", 34712)
    result = _run("eval", str(data), "--methods", "identity")
    bi.assert_clean_failure(result, "Objects_009_flash.tif", "unsupported TIFF compression 34712")
    write_hostile_tiff(data / "train" / "Objects_008_flash.tif", 8)
    write_hostile_tiff(data / "train" / "Objects_008_ambient.tif", 8)
    run = tmp_path / "run"
    result = _run("train", str(data), "-o", str(run), "--epochs", "1", "-m", "unet")
    bi.assert_clean_failure(result, "Objects_009_flash.tif", "unsupported TIFF compression 34712")
    assert not run.exists()
    (data / "test" / "Objects_009_flash.tif").unlink()
    (data / "test" / "Objects_009_ambient.tif").unlink()
    result = _run("train", str(data), "-o", str(run), "--epochs", "1", "-m", "unet")
    bi.assert_clean_failure(result, "Objects_008_flash.tif", "Deflate-compressed pixel data does not decode")
    assert "Error -3" not in result.output and not run.exists()


# --- 2. a legal photo larger than the memory limit -------------------------------------------

def write_zero_png(path: Path, width: int, height: int) -> Path:
    """An all-black RGB PNG: a few hundred KB on disk, width x height x 3 bytes decoded."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row, packer = b"\x00" * (1 + 3 * width), zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))
    return path


#: torch, flashcli and its plugins load first; then the address space is capped at what is
#: in use plus HEADROOM bytes, so the cap bites the photo (not the import), the same way on
#: any machine; then the command runs in that process.
LIMITED = textwrap.dedent("""
    import resource, sys
    import torch
    import flashcli.cli, flashcli.evaluation.run, flashcli.relight.run
    from flashcli.plugins import registry
    registry()
    status = open("/proc/self/status").read().split("VmSize:")[1].split()[0]
    limit = int(status) * 1024 + int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.argv = ["flashcli"] + sys.argv[2:]
    flashcli.cli.cli()
    """)
HEADROOM = 300 << 20
SIDE = 6000  # 36 MP: 108 MB as bytes (fits), 432 MB as float32 (does not)


def _limited(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "COLUMNS": "400", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", LIMITED, str(HEADROOM), *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_relight_and_eval_name_a_photo_too_large_for_the_memory_limit(tmp_path):
    big = write_zero_png(tmp_path / "in" / "huge.png", SIDE, SIDE)
    out = tmp_path / "out"
    result = _limited("relight", str(big.parent), "-o", str(out), "-m", "identity",
                      "--include-unknown", "--json")
    text = result.stdout + result.stderr
    assert result.returncode == 1, text
    report = json.loads(result.stdout)
    reason = report["files"][0]["reason"]
    assert reason.startswith(f"{big}: not enough memory for this 36-megapixel image "
                             f"({SIDE}x{SIDE})"), reason
    assert "--max-pixels" in reason and "ulimit -v" in reason
    for word in INTERNAL_TEXT + ("MemoryError",):
        assert word not in text, (word, text)
    assert _written(out) == []  # nothing written, no .part file left

    data = tmp_path / "data" / "test"
    data.mkdir(parents=True)
    (data / "Objects_000_flash.png").write_bytes(big.read_bytes())
    (data / "Objects_000_ambient.png").write_bytes(big.read_bytes())
    bi.write_pairs(data, 1, prefix="Small")
    result = _limited("eval", str(data.parent), "--methods", "identity", "--batch-size", "1")
    text = result.stdout + result.stderr
    assert result.returncode == 1, text
    assert "Objects_000_flash.png: not enough memory for this 36-megapixel image" in text, text
    assert "ulimit -v" in text
    for word in INTERNAL_TEXT + ("MemoryError",):
        assert word not in text, (word, text)


def test_allocation_failures_are_recognised():
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError(
        "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
        "memory: you tried to allocate 1728000000 bytes. Error code 12 (Cannot allocate memory)"))
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(OSError(12, "Cannot allocate memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("bad value"))


@pytest.mark.parametrize("error, says", [
    (MemoryError(), "ran out of memory (MemoryError); run with more memory (close other "
                    "programs, or raise the limit: ulimit -v), or leave the largest photos out "
                    "with --max-pixels N"),
    (ImportError("libtorch_cpu.so: failed to map segment from shared object"),
     "not enough memory to load torch (libtorch_cpu.so: failed to map segment from shared "
     "object); run with more memory"),
])
def test_running_out_of_memory_outside_a_photo_is_one_line(tmp_path, monkeypatch, error, says):
    import flashcli.commands.info as info_command

    def inspect(*args, **kwargs):
        raise error

    monkeypatch.setattr(info_command, "inspect_paths", inspect)
    result = _run("info", str(pf.write_jpeg(tmp_path / "a.jpg")))
    bi.assert_clean_failure(result, says)
    assert result.exit_code == 1
