"""Every user-facing option of relight and eval changes what it should (issue 26).

Each test runs the command twice, with and without the option (or with two values), and
checks the difference in what was written or scored: file sizes, pixels, refusals, rows.
Expected values are worked out here (sRGB in NumPy, PSNR by hand), not with flashcli.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import photo_factory as pf
import pytest
from click.testing import CliRunner
from PIL import Image

from flashcli.cli import cli
from tests.eval.test_evaluate import make_dataset
from tests.relight.test_relight_cli import test_method  # noqa: F401 - fixture: the `test-exposure` method


def invoke(*args):
    return CliRunner().invoke(cli, [*map(str, args)])


def relight(*args):
    result = invoke("relight", *args)
    assert result.exit_code == 0, result.output
    return result


def eval_json(*args) -> dict:
    result = invoke("eval", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def srgb_to_linear(v):
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v):
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def pixels_of(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), np.float64)


@pytest.fixture
def png_shoot(tmp_path):
    """One flash-fired PNG, 48 x 32, noisy mid-tones (nothing clipped)."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    data = (40 + pf.pixels(48, 32, kind="noise", seed=3).astype(np.int64) * 150 // 255)
    pf.write_png(shoot / "a.png", data=data.astype(np.uint8), exif=True, flash=pf.FLASH_FIRED)
    return shoot


# --- relight ---------------------------------------------------------------------------------

def test_quality_sets_the_jpeg_size(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    src = pf.write_jpeg(shoot / "a.jpg", 96, 64, data=pf.pixels(96, 64, kind="noise"))
    sizes, errors = {}, {}
    for q in (20, 95):
        out = tmp_path / f"q{q}"
        relight(shoot, "-o", out, "-m", "identity", "--quality", q)
        sizes[q] = (out / "a_ambient.jpg").stat().st_size
        errors[q] = np.abs(pixels_of(out / "a_ambient.jpg") - pixels_of(src)).mean()
    assert sizes[20] < 0.6 * sizes[95]
    assert errors[20] > 2 * errors[95]


def test_max_pixels_is_the_limit(png_shoot, tmp_path):
    under = invoke("relight", png_shoot, "-o", tmp_path / "o1", "-m", "identity",
                   "--max-pixels", 48 * 32 - 1, "--json")
    assert under.exit_code == 1
    (file,) = json.loads(under.stdout)["files"]
    assert file["status"] == "failed" and f"over the limit of {48 * 32 - 1}" in file["reason"]
    assert not (tmp_path / "o1" / "a_ambient.png").exists()
    relight(png_shoot, "-o", tmp_path / "o2", "-m", "identity", "--max-pixels", 48 * 32)
    assert (tmp_path / "o2" / "a_ambient.png").is_file()


def _ramp(src: np.ndarray, strength: float) -> np.ndarray:
    """The `test-exposure` method worked out here: gain 0.4 + strength * x / (W - 1) across
    the width, in linear light."""
    gain = 0.4 + strength * np.linspace(0, 1, src.shape[1])[None, :, None]
    return np.round(linear_to_srgb(srgb_to_linear(src / 255) * gain) * 255)


def test_opt_values_reach_the_pixels(png_shoot, tmp_path, test_method):  # noqa: F811
    src = pixels_of(png_shoot / "a.png")
    for value in ("0.2", "1.0"):
        out = tmp_path / value
        relight(png_shoot, "-o", out, "-m", "test-exposure", "--opt", f"strength={value}")
        got = pixels_of(out / "a_ambient.png")
        assert np.abs(got - _ramp(src, float(value))).max() <= 1


def test_exposure_shifts_the_light_by_stops(png_shoot, tmp_path):
    src = pixels_of(png_shoot / "a.png")
    for ev in ("-1", "0.5"):
        out = tmp_path / ev
        relight(png_shoot, "-o", out, "-m", "identity", "--exposure", ev)
        expected = np.round(linear_to_srgb(srgb_to_linear(src / 255) * 2.0 ** float(ev)) * 255)
        assert np.abs(pixels_of(out / "a_ambient.png") - expected).max() <= 1


def test_white_balance_warms_and_cools(png_shoot, tmp_path):
    src = pixels_of(png_shoot / "a.png")

    def red_over_blue(img):
        lin = srgb_to_linear(img / 255)
        return lin[..., 0].mean() / lin[..., 2].mean()

    ratios = {}
    for wb in ("3000", "flash", "9000"):
        out = tmp_path / wb
        relight(png_shoot, "-o", out, "-m", "identity", "--white-balance", wb)
        ratios[wb] = red_over_blue(pixels_of(out / "a_ambient.png"))
    base = red_over_blue(src)
    assert ratios["flash"] == pytest.approx(base, rel=0.01)  # identity has no cast to remove
    assert ratios["3000"] > 1.3 * base  # tungsten: warmer
    assert ratios["9000"] < base / 1.05  # shade: cooler


# --- eval ------------------------------------------------------------------------------------

def _pair(folder: Path, stem: str, flash: np.ndarray, ambient: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(flash.astype(np.uint8)).save(folder / f"{stem}_flash.png")
    Image.fromarray(ambient.astype(np.uint8)).save(folder / f"{stem}_ambient.png")


def test_psnr_by_hand(tmp_path):
    """Ambient is the flash photo plus 25 levels everywhere: the flash photo's error is
    25/255 in every sample, so its PSNR is 20 log10(255 / 25) = 20.172 dB."""
    flash = 60 + pf.pixels(24, 16, kind="noise", seed=1).astype(np.int64) * 100 // 255
    _pair(tmp_path / "ds" / "test", "People_000", flash, flash + 25)
    data = eval_json(tmp_path / "ds", "--methods", "identity", "--metrics", "psnr,de2000")
    (image,) = data["images"]
    assert image["psnr"] == pytest.approx(20 * math.log10(255 / 25), abs=1e-4)
    assert image["psnr"] == pytest.approx(20.1720, abs=1e-4)
    assert data["summaries"][0]["psnr_mean"] == pytest.approx(image["psnr"], abs=1e-9)
    _pair(tmp_path / "same" / "test", "People_000", flash, flash)
    same = eval_json(tmp_path / "same", "--methods", "identity", "--metrics", "de2000")
    assert same["images"][0]["de2000"] == pytest.approx(0.0, abs=1e-9)


@pytest.fixture
def dataset(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16), (16, 16)))
    make_dataset(root, sizes=((16, 16),) * 3, split="train", category="Plants")
    return root


def test_eval_strength_moves_the_scores(dataset):
    def psnr(strength):
        data = eval_json(dataset, "--methods", "lime", "--opt", "lime.max_iter=30",
                         "--metrics", "psnr", "--strength", strength)
        return {s["method"]: s["psnr_mean"] for s in data["summaries"]}

    zero, full = psnr("0"), psnr("1")
    assert zero["lime"] == pytest.approx(zero["identity"], abs=1e-6)  # strength 0: the flash photo
    assert abs(full["lime"] - zero["lime"]) > 0.5
    assert full["identity"] == zero["identity"]


def test_eval_split_chooses_the_rows(dataset):
    test = eval_json(dataset, "--methods", "identity", "--metrics", "psnr")
    train = eval_json(dataset, "--methods", "identity", "--metrics", "psnr", "--split", "train")
    assert [i["stem"] for i in test["images"]] == ["People_000", "People_001"]
    assert [i["stem"] for i in train["images"]] == ["Plants_000", "Plants_001", "Plants_002"]


def test_eval_baseline_chooses_the_comparison(dataset):
    args = (dataset, "--methods", "lime", "--opt", "lime.max_iter=30", "--metrics", "psnr")
    default = eval_json(*args)
    assert [(c["method"], c["baseline"]) for c in default["comparisons"]] == [("lime", "identity")]
    none = eval_json(*args, "--baseline", "none")
    assert none["comparisons"] == [] and sorted({i["method"] for i in none["images"]}) == ["lime"]
    other = eval_json(dataset, "--methods", "identity", "--metrics", "psnr", "--baseline", "lime",
                      "--opt", "lime.max_iter=30")
    assert [(c["method"], c["baseline"]) for c in other["comparisons"]] == [("identity", "lime")]


def test_eval_opt_values_reach_the_method(dataset):
    def lime_psnr(gamma):
        data = eval_json(dataset, "--methods", "lime", "--opt", "lime.max_iter=30", "--opt",
                         f"lime.gamma={gamma}", "--metrics", "psnr", "--baseline", "none")
        return data["summaries"][0]["psnr_mean"]

    assert abs(lime_psnr("0.3") - lime_psnr("1.0")) > 0.5


def test_look_validation_keeps_every_setting():
    from flashcli.ops.look import Look

    assert Look(2.0, -1.5, "3200K").validate() == Look(2.0, -1.5, 3200.0)
    assert Look(0.0, 4.0, "flash").validate() == Look(0.0, 4.0, "flash")


def test_working_size_reaches_the_run(png_shoot, tmp_path, test_method):  # noqa: F811
    src = pixels_of(png_shoot / "a.png")
    for size in ("16", "full"):
        out = tmp_path / size
        report = json.loads(relight(png_shoot, "-o", out, "-m", "test-exposure", "--working-size",
                                    size, "--json").stdout)
        assert report["working_size"] == (int(size) if size.isdigit() else size)
        # the gain of a smooth ramp survives the trip through 16 pixels and back
        error = np.abs(pixels_of(out / "a_ambient.png") - _ramp(src, 0.8)).mean()
        assert error < 4 and error < 0.25 * np.abs(src - _ramp(src, 0.8)).mean()
