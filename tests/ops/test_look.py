"""The look of a relit photo: camera part (exposure, colour temperature) and spatial part,
and the user's --strength / --exposure / --white-balance over any method."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from flashcli.cli import cli
from flashcli.errors import UsageError
from flashcli.ops.colour import cast, nearest_kelvin
from flashcli.ops.look import Look, apply_look, camera_levels, parse_white_balance, split_levels
from flashcli.ops.upsample import linear_to_srgb, srgb_to_linear


def _photo(seed: int = 0, h: int = 24, w: int = 32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (0.15 + 0.5 * torch.rand(2, 3, h, w, generator=g)).clamp(0, 0.9)


def _times(flash: torch.Tensor, gains: tuple[float, float, float]) -> torch.Tensor:
    """``flash`` times a per-channel gain in linear light (no clipping in these photos)."""
    return linear_to_srgb(srgb_to_linear(flash) * torch.tensor(gains).view(1, 3, 1, 1))


def test_camera_levels_of_a_uniform_gain_are_its_log2():
    flash = _photo()
    levels = camera_levels(flash, _times(flash, (0.5, 1.0, 2.0)))
    assert torch.allclose(levels, torch.tensor([[-1.0, 0.0, 1.0]] * 2), atol=1e-4)
    ev, tint = split_levels(torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    assert torch.allclose(ev, torch.tensor([1.0, 0.0])) and tint.abs().max() < 1e-6
    # luminance weights 0.2126, 0.7152, 0.0722: gains (2, 1, 1) raise luminance by 1.2126
    ev, _ = split_levels(torch.tensor([[1.0, 0.0, 0.0]]))
    assert ev.item() == pytest.approx(math.log2(1.2126), abs=1e-4)


def test_clipped_pixels_do_not_count():
    flash = _photo()
    flash[:, :, :4] = 1.0  # a clipped band: the flash's hot spot
    out = _times(flash, (0.5, 0.5, 0.5)).clamp(0, 1)
    assert torch.allclose(camera_levels(flash, out), torch.full((2, 3), -1.0), atol=1e-4)


def test_plain_look_returns_the_method_result_and_strength_zero_the_photo():
    flash = _photo()
    out = _times(flash, (0.7, 0.8, 0.6))
    same, stats = apply_look(flash, out, Look())
    assert same is out
    assert stats[0]["camera"]["exposure_ev"] == pytest.approx(math.log2(0.2126 * 0.7 + 0.7152 * 0.8 + 0.0722 * 0.6),
                                                             abs=2e-3)
    untouched, stats = apply_look(flash, out, Look(strength=0.0, white_balance=3200.0))
    assert torch.equal(untouched, flash)
    assert stats[0]["camera"]["exposure_ev"] == 0.0


def test_white_balance_and_exposure_set_what_they_say():
    flash = _photo()
    out = _times(flash, (0.5, 0.6, 1.2))  # the method made it darker and cool
    neutral, _ = apply_look(flash, out, Look(white_balance="flash"))
    ev_out, _ = split_levels(camera_levels(flash, out))
    ev, tint = split_levels(camera_levels(flash, neutral))
    assert torch.allclose(ev, ev_out, atol=0.02) and tint.abs().max() < 0.02  # colour of the photo, level kept
    warm, stats = apply_look(flash, out, Look(white_balance="3200"))
    _, tint = split_levels(camera_levels(flash, warm))
    assert torch.allclose(tint, cast(3200.0).expand(2, 3), atol=0.02)
    assert stats[0]["camera"]["kelvin"] == pytest.approx(3200, rel=0.02)
    brighter, stats = apply_look(flash, out, Look(exposure=1.0))
    assert torch.allclose(split_levels(camera_levels(flash, brighter))[0], ev_out + 1.0, atol=0.02)
    assert stats[1]["camera"]["exposure_ev"] == pytest.approx(float(ev_out[1]) + 1.0, abs=2e-3)
    half, _ = apply_look(flash, out, Look(strength=0.5))
    assert torch.allclose(camera_levels(flash, half), 0.5 * camera_levels(flash, out), atol=0.02)


def test_spatial_part_is_the_rest():
    flash = _photo(h=32, w=64)
    ramp = torch.linspace(-1.0, 1.0, 64).view(1, 1, 1, -1)  # two stops from left to right
    out = linear_to_srgb(srgb_to_linear(flash) * torch.exp2(ramp)).clamp(0, 1)
    _, stats = apply_look(flash, out, Look())
    lo, hi = stats[0]["spatial"]["p5_stops"], stats[0]["spatial"]["p95_stops"]
    assert hi - lo == pytest.approx(1.8, abs=0.15)  # the 5th..95th percentiles of a 2-stop ramp


def test_colour_temperatures():
    assert cast(5500.0).abs().max() < 1e-6  # the flash itself
    warm = cast(2800.0)
    assert warm[0] > 0.5 and warm[2] < -1.0  # tungsten: red up, blue down, in stops
    for kelvin in (2000.0, 3200.0, 4500.0, 7000.0):
        assert nearest_kelvin(cast(kelvin)) == pytest.approx(kelvin, rel=0.01)


@pytest.mark.parametrize("text, expected", [("auto", "auto"), ("Flash", "flash"), ("3200", 3200.0),
                                            ("2700K", 2700.0)])
def test_parse_white_balance(text, expected):
    assert parse_white_balance(text) == expected


@pytest.mark.parametrize("text", ["warm", "99", "nan", "50000", ""])
def test_bad_white_balance_is_a_usage_error(text):
    with pytest.raises(UsageError, match="--white-balance"):
        parse_white_balance(text)


@pytest.fixture(scope="module")
def flash_jpeg(tmp_path_factory):
    from photo_factory import write_jpeg

    folder = tmp_path_factory.mktemp("shoot")
    write_jpeg(folder / "IMG_1.jpg", 96, 64)  # EXIF: the flash fired
    return folder


def _relight(folder, out, *args):
    res = CliRunner().invoke(cli, ["relight", str(folder), "-o", str(out), "-m", "lime", "--json", *args])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    arr = np.asarray(Image.open(report["files"][0]["output"]).convert("RGB"), dtype=np.float32)
    img = torch.from_numpy(arr).permute(2, 0, 1)[None] / 255
    return report, img


def test_relight_options_change_the_photos(flash_jpeg, tmp_path):
    report, plain = _relight(flash_jpeg, tmp_path / "a")
    assert report["white_balance"] == "auto" and report["exposure"] == 0.0
    cam = report["files"][0]["camera"]
    assert {"exposure_ev", "kelvin", "gains", "method_exposure_ev", "method_kelvin"} <= set(cam)
    assert report["files"][0]["spatial"]["p95_stops"] >= report["files"][0]["spatial"]["p5_stops"]
    report, darker = _relight(flash_jpeg, tmp_path / "b", "--exposure", "-1")
    assert report["files"][0]["camera"]["exposure_ev"] == pytest.approx(cam["exposure_ev"] - 1, abs=1e-3)
    ratio = srgb_to_linear(darker).mean() / srgb_to_linear(plain).mean()
    assert ratio == pytest.approx(0.5, abs=0.05)  # one stop, in linear light
    report, warm = _relight(flash_jpeg, tmp_path / "c", "--white-balance", "2800")
    assert report["files"][0]["camera"]["kelvin"] == pytest.approx(2800, rel=0.02)
    lin_w, lin_p = srgb_to_linear(warm), srgb_to_linear(plain)
    assert lin_w[0, 0].mean() / lin_w[0, 2].mean() > 1.5 * lin_p[0, 0].mean() / lin_p[0, 2].mean()


@pytest.mark.parametrize("working_size", ["48", "full"])
def test_exposure_on_the_gain_and_tiled_paths(flash_jpeg, tmp_path, working_size):
    """The look is applied to whole photos on every path: a working-size copy whose gain is
    carried to full resolution, and full-resolution tiles."""
    _, plain = _relight(flash_jpeg, tmp_path / "a", "--working-size", working_size)
    report, darker = _relight(flash_jpeg, tmp_path / "b", "--working-size", working_size, "--exposure", "-1",
                              "--white-balance", "flash")
    assert report["working_size"] == (48 if working_size == "48" else "full")
    ratio = srgb_to_linear(darker).mean() / srgb_to_linear(plain).mean()
    assert ratio == pytest.approx(0.5, abs=0.06)
    assert report["files"][0]["camera"]["kelvin"] == pytest.approx(5500, rel=0.02)  # the flash's colour


def test_relight_refuses_a_bad_white_balance_in_one_line(flash_jpeg, tmp_path):
    res = CliRunner().invoke(cli, ["relight", str(flash_jpeg), "-o", str(tmp_path / "o"), "--white-balance", "blue"])
    assert res.exit_code == 2
    assert "--white-balance blue" in res.output and "kelvin" in res.output
    assert not (tmp_path / "o").exists()
