"""The input side of relight (issue 23): what it passes over is counted and named, "no photos
found" says what was found instead, HEIC/HEIF photos are read (pillow-heif), what an output
does not keep of its photo (alpha, greyscale) is said, and a name template that cannot work
is refused before anything is read or written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import bad_inputs as bi
import numpy as np
import photo_factory as pf
import pytest
from PIL import Image

from flashcli.io.imageio import read_metadata
from tests.clitools import run_wide as _run


def _relight(*args: str):
    return _run("relight", "-m", "identity", *args)


@pytest.fixture
def mixed(tmp_path) -> Path:
    """One flash JPEG among things relight cannot use."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    pf.write_jpeg(folder / "a.jpg", 32, 24)
    Image.new("RGB", (8, 8)).save(folder / "anim.gif")
    (folder / "notes.txt").write_text("call the client")
    (folder / "README").write_text("no extension")
    os.symlink(folder / "gone.jpg", folder / "broken.jpg")
    (folder / ".DS_Store").write_bytes(b"hidden: never counted")
    return folder


# --- 4. what relight passes over -------------------------------------------------------------

def test_files_passed_over_are_counted_and_named(mixed, tmp_path):
    result = _relight(str(mixed), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert ("passed over (not photos flashcli reads): 3 files of other types (1 GIF, 1 TXT, "
            "1 without an extension); 1 broken symbolic link; -v or --json names them") in result.output
    assert "notes.txt" not in result.output  # names only with -v
    verbose = _relight(str(mixed), "-o", str(tmp_path / "out2"), "-v")
    for name in ("anim.gif", "notes.txt", "README", "broken.jpg"):
        assert f"passed over {mixed / name}" in verbose.output, name
    assert ".DS_Store" not in verbose.output
    report = json.loads(_relight(str(mixed), "-o", str(tmp_path / "out3"), "--json").stdout)
    assert {Path(i["path"]).name: i["kind"] for i in report["ignored"]} == {
        "anim.gif": "GIF", "notes.txt": "TXT", "README": "no extension",
        "broken.jpg": "broken symbolic link"}
    assert [Path(f["source"]).name for f in report["files"]] == ["a.jpg"]


def test_no_photos_found_says_what_was_found(mixed, tmp_path):
    (mixed / "a.jpg").unlink()
    result = _relight(str(mixed), "-o", str(tmp_path / "out"))
    bi.assert_clean_failure(result, "no photos found", "only 3 files of other types (1 GIF, 1 TXT, "
                            "1 without an extension); 1 broken symbolic link")
    assert "--recursive" not in result.output  # no subfolder: it would point the wrong way
    nested = tmp_path / "card"
    (nested / "DCIM" / "100").mkdir(parents=True)
    pf.write_jpeg(nested / "DCIM" / "100" / "a.jpg", 16, 16)
    result = _relight(str(nested), "-o", str(tmp_path / "out"))
    bi.assert_clean_failure(result, "no photos found here, 1 subfolder not searched; --recursive")
    empty = tmp_path / "empty"
    empty.mkdir()
    bi.assert_clean_failure(_relight(str(empty), "-o", str(tmp_path / "out")), "it is empty")


# --- 5. HEIC/HEIF, alpha, greyscale -----------------------------------------------------------

def _heic(path: Path, flash: int | None, orientation: int | None = None) -> Path:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = pf.make_exif(flash=flash, orientation=orientation)
    Image.fromarray(pf.pixels(64, 48)).save(path, format="HEIF", exif=exif.tobytes(), quality=90)
    return path


def test_heic_is_relit_upright_to_jpeg_with_its_exif(tmp_path):
    _heic(tmp_path / "in" / "IMG_0001.HEIC", pf.FLASH_FIRED, orientation=6)
    _heic(tmp_path / "in" / "IMG_0002.heic", pf.FLASH_NOT_FIRED)
    meta = read_metadata(tmp_path / "in" / "IMG_0001.HEIC")
    assert (meta.format, meta.width, meta.height, meta.orientation) == ("HEIF", 48, 64, 1)
    assert meta.flash.fired is True
    out = tmp_path / "out"
    result = _relight(str(tmp_path / "in"), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)["counts"]
    assert counts["processed"] == 1 and counts["skipped-no-flash"] == 1
    written = out / "IMG_0001_ambient.jpg"
    with Image.open(written) as img:
        assert img.format == "JPEG" and img.size == (48, 64)  # upright, turned once only
        exif = img.getexif()
        assert exif.get(0x0112, 1) == 1 and exif.get_ifd(0x8769)[0x9209] == pf.FLASH_FIRED
    info = _run("info", str(tmp_path / "in"))
    assert info.exit_code == 0 and "HEIF 8-bit" in info.output


def test_heic_without_pillow_heif_says_how_to_install_it(tmp_path, monkeypatch):
    import flashcli.io.imageio as imageio

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "IMG_0001.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    monkeypatch.setattr(imageio, "heif_decoder",
                        lambda: "a HEIC/HEIF photo needs the pillow-heif package (No module "
                                "named 'pillow_heif')")
    result = _relight(str(folder), "-o", str(tmp_path / "out"))
    bi.assert_clean_failure(result, "IMG_0001.heic", "pip install pillow-heif")


def test_alpha_and_greyscale_are_said_not_dropped_silently(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    exif = pf.make_exif(flash=pf.FLASH_FIRED).tobytes()
    rgba = np.dstack([pf.pixels(32, 24), np.full((24, 32), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "logo.png", exif=exif)
    Image.fromarray(pf.pixels(32, 24)[:, :, 0], "L").save(folder / "bw.jpg", exif=exif)
    pf.write_jpeg(folder / "colour.jpg", 32, 24)
    result = _relight(str(folder), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert ("1 photo had transparency (an alpha channel), which the output does not keep: "
            "relight writes opaque RGB") in result.output
    assert "1 greyscale photo written as colour (RGB)" in result.output
    report = json.loads(_relight(str(folder), "-o", str(tmp_path / "out2"), "--json").stdout)
    dropped = {Path(f["source"]).name: f.get("dropped") for f in report["files"]}
    assert dropped == {"logo.png": "alpha channel dropped (the output is opaque)",
                       "bw.jpg": "greyscale, written as colour (RGB)", "colour.jpg": None}
    verbose = _relight(str(folder), "-o", str(tmp_path / "out3"), "-v")
    assert "(alpha channel dropped (the output is opaque))" in verbose.output


# --- 6. templates that cannot work, refused up front -----------------------------------------

@pytest.mark.parametrize("template, says", [
    ("{stem}.{ext}", "names each result exactly like its photo"),
    ("{name}", "names each result exactly like its photo"),
    ("{stem}_relit", "lacks a .jpg, .png or .tif extension"),
    ("{stem}_relit.gif", "lacks a .jpg, .png or .tif extension"),
    ("{stem}_relit.png", "is a JPEG file, but the template names it 'a_relit.png'"),
])
def test_a_template_that_cannot_work_is_refused_before_anything_runs(tmp_path, template, says):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg", 32, 24)
    pf.write_jpeg(shoot / "off.jpg", 32, 24, flash=pf.FLASH_NOT_FIRED)  # skipped either way
    before = sorted(p.name for p in shoot.iterdir())
    result = _relight(str(shoot), "-o", str(shoot), "--template", template, "--overwrite")
    bi.assert_clean_failure(result, f"--template {template!r}", says)
    assert result.exit_code == 2
    assert "failed" not in result.output  # one line, not a failure per photo
    assert sorted(p.name for p in shoot.iterdir()) == before


def test_overwrite_never_replaces_another_input_photo(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_dng(shoot / "a.dng")
    pf.write_jpeg(shoot / "a_x.jpg", 32, 24)  # the photographer's own file, not a result
    original = (shoot / "a_x.jpg").read_bytes()
    result = _relight(str(shoot), "-o", str(shoot), "--template", "{stem}_x.{ext}", "--overwrite")
    bi.assert_clean_failure(result, "the result of a.dng would be", "one of the input photos")
    assert result.exit_code == 2 and (shoot / "a_x.jpg").read_bytes() == original
    # Without --overwrite that file is an existing output, kept as it is.
    kept = _relight(str(shoot), "-o", str(shoot), "--template", "{stem}_x.{ext}")
    assert kept.exit_code == 0, kept.output
    assert (shoot / "a_x.jpg").read_bytes() == original


def test_info_says_what_it_found_instead_of_photos(mixed):
    (mixed / "a.jpg").unlink()
    (mixed / "broken.jpg").unlink()
    result = _run("info", str(mixed))
    bi.assert_clean_failure(result, "no photos found (JPEG, PNG, TIFF, HEIC or RAW), only 3 files "
                            "of other types (1 GIF, 1 TXT, 1 without an extension)")
