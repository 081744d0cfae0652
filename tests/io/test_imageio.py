"""Reading and writing photos: formats, orientation, bit depth, RAW, bad files, round trips."""

from __future__ import annotations

import re

import numpy as np
import photo_factory as pf
import pytest
import torch
from PIL import Image, ImageOps

from flashcli.errors import FlashcliError
from flashcli.io import imageio
from flashcli.io.imageio import ImageReadError, read_image, read_metadata, write_image


def _u8(x: torch.Tensor) -> np.ndarray:
    return (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def test_extensions():
    assert imageio.is_image_path("a/B.JPG") and imageio.is_image_path("x.nef")
    assert imageio.is_image_path("x.tiff") and not imageio.is_image_path("notes.txt")
    assert imageio.is_raw_path("x.CR3") and not imageio.is_raw_path("x.jpg")
    assert imageio.RAW_EXTENSIONS <= imageio.IMAGE_EXTENSIONS


def test_png_pixels_exact(tmp_path):
    data = pf.pixels(20, 10, kind="noise")
    x, meta = read_image(pf.write_png(tmp_path / "a.png", data=data))
    assert x.dtype == torch.float32 and x.shape == (3, 10, 20)
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(_u8(x), data)
    assert (meta.format, meta.width, meta.height, meta.bit_depth) == ("PNG", 20, 10, 8)
    assert meta.icc_profile is None


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_applied_like_pillow(tmp_path, orientation):
    data = pf.pixels(6, 4, kind="noise")
    path = pf.write_png(tmp_path / "a.png", data=data, exif=True, orientation=orientation)
    x, meta = read_image(path)
    with Image.open(path) as img:
        expected = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    np.testing.assert_array_equal(_u8(x), expected)
    assert (meta.width, meta.height) == (expected.shape[1], expected.shape[0])
    assert meta.orientation == orientation


def test_rotated_jpeg(tmp_path):
    x, meta = read_image(pf.write_jpeg(tmp_path / "a.jpg", 32, 24, orientation=6))
    assert x.shape == (3, 32, 24) and (meta.width, meta.height) == (24, 32)


def test_16bit_tiff_keeps_precision(tmp_path):
    data = pf.pixels(16, 8, kind="noise", dtype=np.uint16)
    x, meta = read_image(pf.write_tiff(tmp_path / "a.tif", data=data, bit_depth=16))
    assert meta.bit_depth == 16
    assert torch.equal((x * 65535).round().to(torch.int32),
                       torch.from_numpy(data.astype(np.int32)).permute(2, 0, 1))


def test_16bit_png_keeps_precision(tmp_path):
    data = pf.pixels(16, 8, kind="noise", dtype=np.uint16)
    x, meta = read_image(pf.write_png(tmp_path / "a.png", data=data, bit_depth=16))
    assert meta.bit_depth == 16
    got = (x * 65535).round().to(torch.int32).permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(got, data)


def test_png_with_icc(tmp_path):
    icc = pf.srgb_icc()
    _, meta = read_image(pf.write_png(tmp_path / "a.png", icc=icc))
    assert meta.icc_profile == icc


def test_dng_decodes_with_libraw(tmp_path):
    path = pf.write_dng(tmp_path / "a.dng", 64, 48, rgb=(0.6, 0.4, 0.2))
    x, meta = read_image(path)
    assert x.shape == (3, 48, 64) and x.dtype == torch.float32
    assert (meta.width, meta.height, meta.bit_depth, meta.format) == (64, 48, 16, "DNG")
    assert meta.flash.fired is True
    r, g, b = x.mean(dim=(1, 2)).tolist()
    assert r > g > b > 0.05  # the tint survives white balance (AsShotNeutral = 1, 1, 1)
    assert x[:, :, -4:].mean() > x[:, :, :4].mean()  # left-to-right ramp
    half, _ = read_image(path, half_size=True)
    assert half.shape == (3, 24, 32)


def test_dng_orientation_from_libraw(tmp_path):
    path = pf.write_dng(tmp_path / "a.dng", 64, 48, orientation=6)
    meta = read_metadata(path)
    assert (meta.width, meta.height, meta.orientation) == (48, 64, 6)
    x, _ = read_image(path, half_size=True)
    assert x.shape == (3, 32, 24)


def test_half_size_for_pillow_formats(tmp_path):
    x, _ = read_image(pf.write_png(tmp_path / "a.png", 21, 10), half_size=True)
    assert x.shape == (3, 5, 11)


@pytest.mark.parametrize("maker, words", [
    (pf.write_truncated, "truncated"),
    (pf.write_corrupt, "damaged"),
    (pf.write_text_as_image, "not a readable image"),
])
def test_bad_files_give_one_line_errors(tmp_path, maker, words):
    path = maker(tmp_path / "bad.jpg")
    with pytest.raises(ImageReadError, match=re.escape(words)) as e:
        read_image(path)
    msg = e.value.format_message()
    assert msg.startswith(str(path)) and words in msg and "\n" not in msg
    assert isinstance(e.value, FlashcliError)


def test_bad_raw(tmp_path):
    path = tmp_path / "x.nef"
    path.write_bytes(b"II*\x00" + bytes(100))
    with pytest.raises(FlashcliError, match="LibRaw cannot read"):
        read_metadata(path)


def test_missing_and_folder(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_metadata(tmp_path / "nope.jpg")
    with pytest.raises(ImageReadError, match="is a folder"):
        read_image(tmp_path)


def test_decompression_bomb_limit(tmp_path):
    path = pf.write_png(tmp_path / "big.png", 40, 30)
    with pytest.raises(ImageReadError, match="--max-pixels 1200") as e:
        read_image(path, max_pixels=1000)
    assert "over the limit of 1000" in e.value.format_message()
    x, _ = read_image(path, max_pixels=1200)
    assert x.shape == (3, 30, 40)
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's global left as it was


def test_pillow_bomb_limit_not_hit_below_ours(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow would refuse; flashcli decides
    x, _ = read_image(pf.write_png(tmp_path / "a.png", 40, 30))
    assert x.shape == (3, 30, 40) and Image.MAX_IMAGE_PIXELS == 100


# --- writing ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, bit_depth, tol", [
    ("out.png", 8, 0.5 / 255), ("out.tif", 8, 0.5 / 255), ("out16.tif", 16, 0.5 / 65535),
    ("out.jpg", 8, 6 / 255),
])
def test_round_trip(tmp_path, name, bit_depth, tol):
    icc = pf.srgb_icc()
    src = pf.write_jpeg(tmp_path / "src.jpg", 24, 16, orientation=8, flash=pf.FLASH_AUTO_FIRED,
                        icc=icc, data=pf.pixels(24, 16, kind="solid"))
    _, meta = read_image(src)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 24), torch.linspace(0, 1, 16), indexing="ij")
    image = torch.stack([0.2 + 0.6 * yy, 0.3 + 0.4 * xx, 0.5 + 0.1 * (xx + yy) / 2])
    out = write_image(tmp_path / name, image, meta, bit_depth=bit_depth, subsampling="4:4:4")
    assert out == tmp_path / name
    back, m2 = read_image(out)
    assert back.shape == image.shape
    assert (back - image).abs().max() <= tol + 1e-6
    assert m2.orientation == 1 and m2.bit_depth == bit_depth
    assert m2.flash == meta.flash and m2.flash.fired is True
    assert (m2.make, m2.model, m2.captured) == (meta.make, meta.model, meta.captured)
    assert m2.icc_profile == icc
    assert m2.exif["Image Software"].startswith("flashcli")
    exposure = m2.exif.get("EXIF ExposureTime") or m2.exif.get("Image ExposureTime")
    assert exposure == "1/60"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_raw_source_gets_exif_block(tmp_path):
    x, meta = read_image(pf.write_dng(tmp_path / "a.dng", flash=pf.FLASH_FIRED), half_size=True)
    _, m2 = read_image(write_image(tmp_path / "a.jpg", x, meta))
    assert m2.flash.fired is True and m2.make == "Flashcli" and m2.model == "Test Cam"
    assert m2.captured == meta.captured and m2.exif["EXIF ExposureTime"] == "1/125"
    assert m2.icc_profile is None


def test_write_without_meta_and_batched_input(tmp_path):
    image = torch.full((1, 3, 4, 5), 0.5)
    _, meta = read_image(write_image(tmp_path / "a.png", image))
    assert (meta.width, meta.height, meta.orientation) == (5, 4, 1)
    assert meta.flash.fired is None and meta.exif["Image Software"].startswith("flashcli")
    with pytest.raises(FlashcliError, match="expected 3 x H x W"):
        write_image(tmp_path / "b.png", torch.zeros(2, 3, 4, 5))


def test_format_option_and_jpeg_quality(tmp_path):
    image = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(1))
    low = write_image(tmp_path / "low.jpeg", image, quality=20)
    high = write_image(tmp_path / "high.jpeg", image, quality=95)
    assert low.stat().st_size < high.stat().st_size
    out = write_image(tmp_path / "data.bin", image, format="tiff")
    assert read_metadata(out).format == "TIFF"


def test_write_refusals(tmp_path):
    src = pf.write_jpeg(tmp_path / "src.jpg")
    image, meta = read_image(src)
    before = src.read_bytes()
    with pytest.raises(FlashcliError, match="refusing to write over an input"):
        write_image(src, image, meta)
    other = pf.write_png(tmp_path / "other.png")
    with pytest.raises(FlashcliError, match="refusing"):
        write_image(other, image, protect=[other])
    assert src.read_bytes() == before
    with pytest.raises(FlashcliError, match="8-bit only"):
        write_image(tmp_path / "a.jpg", image, bit_depth=16)
    with pytest.raises(FlashcliError, match="output format"):
        write_image(tmp_path / "a.gif", image)
    with pytest.raises(FlashcliError, match="unknown output format"):
        write_image(tmp_path / "a.png", image, format="bmp")
    with pytest.raises(FlashcliError, match="bit depth"):
        write_image(tmp_path / "a.tif", image, bit_depth=12)


def test_apply_orientation_matches_pillow():
    data = pf.pixels(5, 3, kind="noise")
    x = torch.from_numpy(data).permute(2, 0, 1)
    ops = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}
    for o, op in ops.items():
        want = np.asarray(Image.fromarray(data).transpose(op))
        got = imageio.apply_orientation(x[None], o)[0].permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(got, want)


def test_half_size_jpeg_uses_draft(tmp_path):
    data = pf.pixels(40, 30, kind="solid", color=(200, 100, 50))
    x, _ = read_image(pf.write_jpeg(tmp_path / "a.jpg", data=data, orientation=6),
                      half_size=True)
    assert x.shape == (3, 20, 15)
    assert torch.allclose(x.mean(dim=(1, 2)), torch.tensor([200, 100, 50]) / 255, atol=0.02)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "I;16"])
def test_other_pillow_modes_become_rgb(tmp_path, mode):
    rgb = Image.fromarray(pf.pixels(8, 6, kind="noise"))
    img = Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257) \
        if mode == "I;16" else rgb.convert(mode)
    img.save(tmp_path / "a.png")
    x, meta = read_image(tmp_path / "a.png")
    assert x.shape == (3, 6, 8) and meta.bit_depth == (16 if mode == "I;16" else 8)
    grey = np.repeat(np.asarray(rgb.convert("L"))[:, :, None], 3, axis=2)
    want = {"P": np.asarray(img.convert("RGB")), "RGBA": np.asarray(rgb)}.get(mode, grey)
    np.testing.assert_array_equal(_u8(x), want)


def test_cmyk_jpeg(tmp_path):
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(tmp_path / "c.jpg")
    x, _ = read_image(tmp_path / "c.jpg")
    assert x.shape == (3, 6, 8) and x[0].mean() > 0.9 and x[1:].mean() < 0.1


def test_oversized_exif_is_slimmed_for_jpeg(tmp_path):
    src = pf.write_png(tmp_path / "a.png", exif=True, flash=pf.FLASH_FIRED)
    image, meta = read_image(src)
    big = Image.Exif()
    big.load(meta.exif_block)
    big[0x010E] = "x" * 70000  # ImageDescription too big for a JPEG APP1 segment
    meta.exif_block = big.tobytes()
    _, m2 = read_image(write_image(tmp_path / "out.jpg", image, meta))
    assert m2.flash.fired is True and m2.make == "Canon" and "Image ImageDescription" not in m2.exif


def test_truncated_dng(tmp_path):
    path = pf.write_dng(tmp_path / "a.dng")
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FlashcliError, match=r"a\.dng: LibRaw failed to decode \(LibRawIOError: "
                                            r"Input/output error\); the file may be truncated"):
        read_image(path)


def test_write_half_precision_and_nan(tmp_path):
    image = torch.full((3, 4, 4), 0.5, dtype=torch.float16)
    image[0, 0, 0] = float("nan")
    x, _ = read_image(write_image(tmp_path / "a.png", image))
    assert x[0, 0, 0] == 0 and torch.allclose(x[1], torch.full((4, 4), 128 / 255))


@pytest.mark.gpu
def test_write_from_cuda_tensor(tmp_path):
    image = torch.rand(3, 8, 8, device="cuda")
    x, _ = read_image(write_image(tmp_path / "a.png", image))
    assert (x - image.cpu()).abs().max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize("orientation", [1, 6])
def test_8bit_pixels_kept_and_written_from_planes(tmp_path, orientation):
    data = pf.pixels(40, 30, kind="noise", seed=4)
    src = pf.write_jpeg(tmp_path / "a.jpg", data=data, orientation=orientation, icc=pf.srgb_icc())
    x, meta = read_image(src)
    u8, _ = read_image(src, keep_8bit=True)
    assert u8.dtype == torch.uint8 and u8.shape == x.shape
    assert torch.equal(u8.float() / 255, x)
    out = write_image(tmp_path / "b.jpg", u8, meta, quality=100, subsampling="4:4:4")
    back, meta_b = read_image(out)
    assert (back - x).abs().mean() < 0.01  # the same picture, upright
    assert meta_b.icc_profile == meta.icc_profile and meta_b.flash.fired
