"""What `flashcli relight` writes, pixel by pixel and tag by tag (issue 26).

Every test runs the command (click's CliRunner) on tiny generated photos and reads the
result back with Pillow or tifffile, never with flashcli's own readers. Expected values come
from the source files themselves or from formulas written out here (sRGB in NumPy), never
from the code under test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import photo_factory as pf
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

from flashcli.cli import cli
from tests.relight.test_relight_cli import test_method  # noqa: F401 - fixture: the `test-exposure` method

ROOT = Path(__file__).resolve().parents[2]
#: EXIF tags, by number (the EXIF 2.3 standard).
MAKE, MODEL, SOFTWARE, EXIF_IFD = 0x010F, 0x0110, 0x0131, 0x8769
EXPOSURE_TIME, DATE_ORIGINAL, FLASH = 0x829A, 0x9003, 0x9209


def relight(*args):
    result = CliRunner().invoke(cli, ["relight", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def pixels_of(path: Path) -> np.ndarray:
    """H x W x 3 pixels as stored (uint8 or uint16), read without flashcli."""
    if path.suffix.lower() in (".tif", ".tiff"):
        return tifffile.imread(path)
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def tiff_tags(path: Path) -> dict[int, object]:
    with tifffile.TiffFile(path) as tf:
        return {t.code: t.value for t in tf.pages[0].tags.values()}


def smooth16(width: int = 64, height: int = 48) -> np.ndarray:
    """A 16-bit photo with thousands of distinct levels (ramps in raster order), most of
    them between two 8-bit levels."""
    k = np.arange(width * height, dtype=np.float64).reshape(height, width) / (width * height - 1)
    arr = np.stack([0.1 + 0.8 * k, 0.85 - 0.6 * k, 0.2 + 0.3 * k], -1)
    return np.round(arr * 65535).astype(np.uint16)


# --- 16-bit sources and outputs -------------------------------------------------------------

@pytest.mark.parametrize("method", ["identity", "lime"])
def test_16bit_tiff_keeps_its_levels_exif_and_icc(tmp_path, method):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    icc = pf.srgb_icc()
    src = pf.write_tiff(shoot / "deep.tif", data=smooth16(), flash=pf.FLASH_FIRED, icc=icc,
                        make="Nikon", model="Z 6")
    out = tmp_path / "out"
    relight(shoot, "-o", out, "-m", method, "--bit-depth", "16", "--opt" if method == "lime" else "-q",
            *(["max_iter=30"] if method == "lime" else []))
    dst = out / "deep_ambient.tif"
    got, want = pixels_of(dst), pixels_of(src)
    assert got.dtype == np.uint16 and got.shape == want.shape
    assert len(np.unique(got)) > 1000  # a 16-bit gradient, not 256 levels
    assert np.any(got % 257 != 0)  # not 8-bit levels scaled up
    if method == "identity":
        assert np.array_equal(got, want)
    else:  # lime brightens; smoothly, so the ramp keeps its fine steps
        assert np.abs(got.astype(np.int64) - want).mean() > 500
    tags = tiff_tags(dst)
    assert bytes(tags[34675]) == icc
    assert tags[MAKE] == "Nikon" and tags[MODEL] == "Z 6"
    assert tags[36867] == pf.DEFAULT_DATE and tags[37385] == pf.FLASH_FIRED
    assert str(tags[SOFTWARE]).startswith("flashcli")


def test_16bit_png_source_to_16bit_tiff_is_exact(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    data = smooth16(40, 30)
    pf.write_png(shoot / "deep.png", data=data, bit_depth=16)
    out = tmp_path / "out"
    relight(shoot, "-o", out, "-m", "identity", "--include-unknown", "--bit-depth", "16")
    assert np.array_equal(pixels_of(out / "deep_ambient.tif"), data)


# --- --strength ------------------------------------------------------------------------------

PATHS = {  # relight's three ways of running a method, by working size (photos are 64 x 48)
    "direct": ["--working-size", "64"],
    "gain": ["--working-size", "16"],
    "tiled": ["--working-size", "full"],
}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_strength_zero_is_bit_exact_on_every_path(tmp_path, path, fmt):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    src = pf.write_png(shoot / "a.png", 64, 48, data=pf.pixels(64, 48, kind="noise", seed=5))
    out = tmp_path / "out"
    relight(shoot, "-o", out, "-m", "lime", "--opt", "max_iter=30", "--include-unknown",
            "--strength", "0", "--format", fmt, *PATHS[path])
    got = pixels_of(out / f"a_ambient.{'png' if fmt == 'png' else 'tif'}")
    assert got.dtype == np.uint8
    assert np.array_equal(got, pixels_of(src))


@pytest.mark.parametrize("path", sorted(PATHS))
def test_strength_zero_is_bit_exact_in_16_bits(tmp_path, path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    src = pf.write_tiff(shoot / "a.tif", data=smooth16(), flash=pf.FLASH_FIRED)
    out = tmp_path / "out"
    relight(shoot, "-o", out, "-m", "lime", "--opt", "max_iter=30", "--strength", "0",
            "--bit-depth", "16", *PATHS[path])
    got = pixels_of(out / "a_ambient.tif")
    assert got.dtype == np.uint16 and np.array_equal(got, pixels_of(src))


def _log_gain(out: np.ndarray, src: np.ndarray) -> np.ndarray:
    floor = 1e-2
    return np.log2((srgb_to_linear(out / 255.0) + floor) / (srgb_to_linear(src / 255.0) + floor))


def test_strength_two_doubles_the_change_in_log_light(tmp_path, test_method):  # noqa: F811
    """--strength s raises the method's gain over the photo (linear light) to the power s
    (README, docs/architecture.md): strength 2 goes twice as far as 1, in stops."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    src = pf.write_png(shoot / "a.png", 48, 32, data=pf.pixels(48, 32, kind="solid",
                                                               color=(90, 100, 110)))
    flash = pixels_of(src).astype(np.float64)
    got = {}
    for s in ("1", "2"):
        out = tmp_path / f"out{s}"
        relight(shoot, "-o", out, "-m", "test-exposure", "--opt", "strength=0.3",
                "--include-unknown", "--strength", s, "--format", "png")
        got[s] = pixels_of(out / "a_ambient.png").astype(np.float64)
    one, two = _log_gain(got["1"], flash), _log_gain(got["2"], flash)
    moved = np.abs(one) > 0.2  # away from the ramp's unit-gain column, where levels round
    assert moved.mean() > 0.5
    assert np.allclose(two[moved] / one[moved], 2.0, atol=0.1)
    assert np.abs(got["2"] - flash).mean() > 1.6 * np.abs(got["1"] - flash).mean()


# --- RAW -------------------------------------------------------------------------------------

def test_raw_relight_keeps_its_exif_with_the_bundled_model(tmp_path):
    """The README's case: a flash DNG, relit by the default method, written as a JPEG that
    carries the camera's EXIF (which fired, which camera, when, the shutter)."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_dng(shoot / "raw.dng", 64, 48, make="Flashcli", model="Test Cam")
    out = tmp_path / "out"
    relight(shoot, "-o", out, "--working-size", "32")
    dst = out / "raw_ambient.jpg"
    with Image.open(dst) as img:
        assert img.size == (64, 48)
        exif = img.getexif()
        sub = exif.get_ifd(EXIF_IFD)
    assert exif[MAKE] == "Flashcli" and exif[MODEL] == "Test Cam"
    assert str(exif[SOFTWARE]).startswith("flashcli")
    assert sub[FLASH] == pf.FLASH_FIRED
    assert sub[DATE_ORIGINAL] == pf.DEFAULT_DATE
    assert float(sub[EXPOSURE_TIME]) == pytest.approx(1 / 125)


def test_raw_is_decoded_in_16_bits(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_dng(shoot / "raw.dng", 128, 32)
    out = tmp_path / "out"
    relight(shoot, "-o", out, "-m", "identity", "--bit-depth", "16")
    got = pixels_of(out / "raw_ambient.tif")
    assert got.dtype == np.uint16 and got.shape == (32, 128, 3)
    assert np.any(got % 257 != 0)  # LibRaw's 16-bit output, not 8-bit levels scaled up
    assert len(np.unique(got)) > 256


def test_raw_keeps_the_exposure_as_shot(tmp_path):
    """A DNG of a grey ramp at 5 % to 20 % of white decodes to that light (linear luminance),
    not brightened: flash and ambient frames stay comparable."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_dng(shoot / "raw.dng", 128, 32, rgb=(0.2, 0.2, 0.2))
    out = tmp_path / "out"
    relight(shoot, "-o", out, "-m", "identity", "--bit-depth", "16")
    lin = srgb_to_linear(pixels_of(out / "raw_ambient.tif") / 65535.0)
    luminance = lin @ np.array([0.2126, 0.7152, 0.0722])
    scene = 0.2 * np.linspace(0.25, 1.0, 128)  # photo_factory.write_dng's ramp
    ratio = luminance[8:24, 4:-4].mean(0) / scene[4:-4]
    assert np.allclose(ratio, 1.0, atol=0.03)


# --- the README's main command ----------------------------------------------------------------

def test_readme_main_command_relights_the_example_shoot(tmp_path):
    """`flashcli relight examples/shoot -o out/`, for real, with the bundled model: the four
    flash-fired frames (three JPEGs and the DNG) are relit at full size with their EXIF; the
    frame shot without flash and the scan without EXIF are skipped."""
    shoot = tmp_path / "shoot"
    shutil.copytree(ROOT / "examples" / "shoot", shoot)
    out = tmp_path / "out"
    result = relight(shoot, "-o", out, "--json")
    report = json.loads(result.stdout)
    assert report["counts"]["processed"] == 4 and report["counts"]["failed"] == 0
    assert report["counts"]["skipped-no-flash"] == 1 and report["counts"]["skipped-unknown"] == 1
    assert sorted(p.name for p in out.iterdir()) == [
        ".flashcli-relight.json", "IMG_0101_ambient.jpg", "IMG_0102_ambient.jpg", "IMG_0103_ambient.jpg",
        "IMG_0104_ambient.jpg"]
    for k in (1, 2, 3):
        with Image.open(shoot / f"IMG_010{k}.jpg") as img:
            size, src = img.size, np.asarray(img.convert("RGB"), np.float64)
            make = img.getexif()[MAKE]
        with Image.open(out / f"IMG_010{k}_ambient.jpg") as img:
            assert img.size == size
            exif = img.getexif()
            got = np.asarray(img.convert("RGB"), np.float64)
        assert exif[MAKE] == make and exif.get_ifd(EXIF_IFD)[FLASH] & 1
        assert np.abs(got - src).mean() > 2  # relit, not copied
    with Image.open(out / "IMG_0104_ambient.jpg") as img:
        assert img.size == (160, 120)
    assert sorted(p.name for p in shoot.iterdir()) == sorted(
        p.name for p in (ROOT / "examples" / "shoot").iterdir())  # nothing written beside them
