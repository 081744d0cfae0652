"""EXIF flash detection (tag 0x9209), orientation and camera fields, EXIF for outputs."""

from __future__ import annotations

from datetime import datetime

import photo_factory as pf
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from flashcli.io import exif
from flashcli.io.exif import FlashInfo, decode_flash
from flashcli.io.imageio import read_metadata


def test_decode_flash_examples():
    assert decode_flash(None) == FlashInfo()
    assert decode_flash(None).fired_text == "unknown"
    f = decode_flash(0x19)
    assert (f.fired, f.mode, f.strobe_return, f.red_eye, f.no_flash_function) == (
        True, "auto", "no detection", False, False)
    f = decode_flash(0x10)
    assert (f.fired, f.mode, f.fired_text) == (False, "compulsory off", "no")
    f = decode_flash(0x5F)  # fired, return detected, auto, red-eye
    assert (f.fired, f.strobe_return, f.mode, f.red_eye) == (True, "detected", "auto", True)
    assert decode_flash(0x20).no_flash_function is True
    assert decode_flash(0x0D).strobe_return == "not detected"


@given(st.integers(min_value=0, max_value=127))
def test_decode_flash_bit_fields(value):
    f = decode_flash(value)
    assert f.raw == value
    assert f.fired is bool(value & 1)
    assert f.fired_text == ("yes" if value & 1 else "no")
    assert f.red_eye is bool(value & 0x40)
    assert f.no_flash_function is bool(value & 0x20)
    modes = ["unknown", "compulsory on", "compulsory off", "auto"]
    assert f.mode == modes[(value >> 3) & 3]
    returns = ["no detection", "reserved", "not detected", "detected"]
    assert f.strobe_return == returns[(value >> 1) & 3]
    # The fields determine the value again.
    back = (int(f.fired) | returns.index(f.strobe_return) << 1 | modes.index(f.mode) << 3
            | int(f.no_flash_function) << 5 | int(f.red_eye) << 6)
    assert back == value


@pytest.mark.parametrize("value, fired, mode", [
    (pf.FLASH_FIRED, True, "compulsory on"),
    (pf.FLASH_NOT_FIRED, False, "compulsory off"),
    (pf.FLASH_AUTO_NOT_FIRED, False, "auto"),
    (pf.FLASH_AUTO_FIRED, True, "auto"),
    (pf.NO_TAG, None, None),
])
def test_jpeg_flash_detection(tmp_path, value, fired, mode):
    meta = read_metadata(pf.write_jpeg(tmp_path / "a.jpg", flash=value))
    assert meta.flash.fired is fired
    assert meta.flash.mode == mode
    assert meta.flash.raw == value


def test_no_exif_at_all_is_unknown(tmp_path):
    meta = read_metadata(pf.write_jpeg(tmp_path / "a.jpg", exif=False))
    assert meta.flash.fired is None and meta.make is None and meta.captured is None
    meta = read_metadata(pf.write_png(tmp_path / "a.png"))
    assert meta.flash.fired is None and meta.exif == {}


def test_camera_fields(tmp_path):
    meta = read_metadata(pf.write_jpeg(tmp_path / "a.jpg", make="NIKON CORPORATION",
                                       model="NIKON D750"))
    assert (meta.make, meta.model) == ("NIKON CORPORATION", "NIKON D750")
    assert meta.camera == "NIKON CORPORATION NIKON D750"
    assert meta.captured == datetime(2024, 5, 1, 12, 30, 45)
    assert meta.exif["EXIF ExposureTime"] == "1/60"
    meta = read_metadata(pf.write_jpeg(tmp_path / "b.jpg"))
    assert meta.camera == "Canon EOS 80D"  # make not repeated


def test_flash_in_tiff_ifd0_and_png_exif(tmp_path):
    meta = read_metadata(pf.write_tiff(tmp_path / "a.tif", flash=pf.FLASH_AUTO_FIRED))
    assert meta.flash.fired is True and meta.flash.mode == "auto"
    meta = read_metadata(pf.write_png(tmp_path / "a.png", exif=True, flash=pf.FLASH_NOT_FIRED))
    assert meta.flash.fired is False


@pytest.mark.parametrize("value", [pf.FLASH_FIRED, pf.FLASH_AUTO_NOT_FIRED, None])
def test_dng_flash_detection(tmp_path, value):
    meta = read_metadata(pf.write_dng(tmp_path / "a.dng", flash=value))
    assert meta.is_raw and meta.format == "DNG"
    assert meta.flash.raw == value
    assert meta.flash.fired is (None if value is None else bool(value & 1))
    assert (meta.make, meta.model) == ("Flashcli", "Test Cam")


def test_parse_datetime():
    assert exif.parse_datetime("2023:01:02 03:04:05") == datetime(2023, 1, 2, 3, 4, 5)
    assert exif.parse_datetime("2023-01-02 03:04:05") == datetime(2023, 1, 2, 3, 4, 5)
    assert exif.parse_datetime("    :  :     :  :  ") is None
    assert exif.parse_datetime(None) is None


def test_unreadable_exif_is_empty(tmp_path):
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\xff")
    assert exif.read_exif_tags(bad) == {}
    assert exif.read_exif_tags(pf.write_text_as_image(tmp_path / "t.jpg")) == {}


def test_output_exif_resets_orientation_and_names_flashcli(tmp_path):
    meta = read_metadata(pf.write_jpeg(tmp_path / "a.jpg", orientation=6, flash=pf.FLASH_FIRED))
    assert meta.orientation == 6
    out = exif.output_exif(meta)
    assert out[exif.TAG_ORIENTATION] == 1
    assert out[exif.TAG_SOFTWARE].startswith("flashcli")
    assert out.get_ifd(exif.TAG_EXIF_IFD)[exif.TAG_FLASH] == pf.FLASH_FIRED
    loaded = Image.Exif()
    loaded.load(exif.exif_bytes(out))
    assert loaded[0x010F] == "Canon" and loaded[exif.TAG_ORIENTATION] == 1


def test_output_exif_without_block_uses_fields(tmp_path):
    meta = read_metadata(pf.write_jpeg(tmp_path / "a.jpg", flash=pf.FLASH_AUTO_FIRED))
    meta.exif_block = None
    out = exif.output_exif(meta)
    assert out[0x010F] == "Canon" and out[0x0110] == "Canon EOS 80D"
    assert out.get_ifd(exif.TAG_EXIF_IFD)[exif.TAG_FLASH] == pf.FLASH_AUTO_FIRED
    assert exif.output_exif(None)[exif.TAG_ORIENTATION] == 1


def test_build_exif_block_from_raw_tags(tmp_path):
    tags = exif.read_exif_tags(pf.write_dng(tmp_path / "a.dng", flash=pf.FLASH_FIRED))
    block = exif.build_exif_block(tags)
    loaded = Image.Exif()
    loaded.load(block)
    sub = loaded.get_ifd(exif.TAG_EXIF_IFD)
    assert loaded[0x010F] == "Flashcli"
    assert sub[exif.TAG_FLASH] == pf.FLASH_FIRED
    assert float(sub[0x829A]) == pytest.approx(1 / 125)
    assert sub[0x9003] == pf.DEFAULT_DATE
    assert exif.build_exif_block({}) is None


def test_meta_to_dict_is_plain(tmp_path):
    import json

    d = read_metadata(pf.write_jpeg(tmp_path / "a.jpg", icc=pf.srgb_icc())).to_dict()
    assert json.loads(json.dumps(d))["flash"]["fired"] is True
    assert d["icc_profile_bytes"] > 0 and d["captured"] == "2024-05-01T12:30:45"


def test_tags_from_bare_block():
    block = pf.make_exif(flash=pf.FLASH_AUTO_NOT_FIRED, orientation=3).tobytes()
    tags = exif.tags_from_block(block)
    assert exif.flash_from_tags(tags).mode == "auto"
    assert exif.orientation_from_tags(tags) == 3
    assert exif.tags_from_block(block[6:]).keys() == tags.keys()  # without the Exif header
    assert exif.tags_from_block(None) == {} and exif.tags_from_block(b"junk") == {}
