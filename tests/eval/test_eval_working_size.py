"""eval runs a method at its working size, as relight does, so it scores what relight writes."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import flashcli
from flashcli import methods, plugins
from flashcli.cli import cli
from tests.eval.test_evaluate import ambient_pixels, flash_of
from tests.relight.test_relight import Blur, Exposure, blur


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def test_methods(monkeypatch):
    """The test-only `test-exposure` (working size 64) and `test-blur` (32) methods."""
    plugin = types.SimpleNamespace(flashcli_register_enhancers=flashcli.hookimpl(
        lambda register: [register(Exposure), register(Blur)]))
    reg = plugins.build_registry(extra_plugins=[("test-methods", plugin)])
    monkeypatch.setattr(plugins, "registry", lambda: reg)
    monkeypatch.setattr(methods, "registry", lambda: reg)


@pytest.fixture
def pairs(tmp_path):
    """Three 160x120 pairs: larger than test-exposure's working size (64)."""
    flash, ambient = tmp_path / "flash", tmp_path / "ambient"
    flash.mkdir()
    ambient.mkdir()
    for i in range(3):
        amb = ambient_pixels(120, 160, i)
        Image.fromarray(amb).save(ambient / f"p{i}.png")
        Image.fromarray(flash_of(amb)).save(flash / f"p{i}.png")
    return flash, ambient


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a / 255.0 - b / 255.0) ** 2)))


def test_eval_scores_what_relight_writes(test_methods, pairs, tmp_path):
    flash, ambient = pairs
    relit, saved = tmp_path / "relit", tmp_path / "saved"
    r = _run("relight", flash, "-o", relit, "-m", "test-exposure", "--include-unknown", "--format", "png", "-q")
    assert r.exit_code == 0, r.output
    e = _run("eval", "--pairs", flash, ambient, "-m", "test-exposure", "--metrics", "psnr",
             "--save-images", saved, "--json", "-q")
    assert e.exit_code == 0, e.output
    report = json.loads(e.stdout)
    assert report["config"]["working_size"] == {"identity": "full", "test-exposure": 64}
    scores = {s["stem"]: s["psnr"] for s in report["images"] if s["method"] == "test-exposure"}
    for i in range(3):
        written = np.asarray(Image.open(relit / f"p{i}_ambient.png"), np.float64)
        scored = np.asarray(Image.open(saved / "test-exposure" / f"p{i}.png"), np.float64)
        assert scored.shape == written.shape == (120, 160, 3)
        assert np.abs(scored - written).max() <= 1  # relight's 8-bit path rounds once more
        truth = np.asarray(Image.open(ambient / f"p{i}.png"), np.float64)
        assert scores[f"p{i}"] == pytest.approx(_psnr(written, truth), abs=0.02)


def test_working_size_full_runs_the_method_on_the_whole_image(test_methods, pairs, tmp_path):
    # A 3x3 blur run at 32 px and carried up leaves the full-size noise; run on the whole
    # image it blurs it.
    flash, ambient = pairs
    x = torch.from_numpy(np.array(Image.open(flash / "p1.png"))).permute(2, 0, 1)[None] / 255.0
    blurred = (blur(x)[0].permute(1, 2, 0).numpy() * 255).round()
    for size in ("full", None):
        saved = tmp_path / f"saved-{size}"
        e = _run("eval", "--pairs", flash, ambient, "-m", "test-blur", *(["--working-size", size] if size else []),
                 "--metrics", "psnr", "--save-images", saved, "--json", "-q")
        assert e.exit_code == 0, e.output
        assert json.loads(e.stdout)["config"]["working_size"]["test-blur"] == (size or 32)
        got = np.asarray(Image.open(saved / "test-blur" / "p1.png"), np.float64)
        if size == "full":
            assert np.abs(got - blurred).max() <= 1
        else:
            assert np.abs(got - blurred).mean() > 2


def test_full_resolution_is_tiled_as_relight_tiles_it(test_methods, pairs, tmp_path):
    # test-exposure's ramp runs across its input: in 64 px tiles it differs from one ramp
    # across the photo, and eval must score the tiles relight writes.
    flash, ambient = pairs
    relit, saved = tmp_path / "relit", tmp_path / "saved"
    r = _run("relight", flash, "-o", relit, "-m", "test-exposure", "--working-size", "full",
             "--include-unknown", "--format", "png", "-q")
    assert r.exit_code == 0, r.output
    e = _run("eval", "--pairs", flash, ambient, "-m", "test-exposure", "--working-size", "full",
             "--metrics", "psnr", "--save-images", saved, "--json", "-q")
    assert e.exit_code == 0, e.output
    x = torch.from_numpy(np.array(Image.open(flash / "p0.png"))).permute(2, 0, 1)[None] / 255.0
    whole = (Exposure()(x)[0].permute(1, 2, 0).numpy() * 255).round()
    written = np.asarray(Image.open(relit / "p0_ambient.png"), np.float64)
    scored = np.asarray(Image.open(saved / "test-exposure" / "p0.png"), np.float64)
    assert np.abs(scored - written).max() <= 1
    assert np.abs(scored - whole).mean() > 2


@pytest.mark.parametrize(("value", "message"), [("0", "too small"), ("big", "a number of pixels or 'full'")])
def test_bad_working_size_is_one_line_and_exit_2(pairs, value, message):
    flash, ambient = pairs
    r = _run("eval", "--pairs", flash, ambient, "-m", "identity", "--working-size", value)
    assert r.exit_code == 2
    assert len(r.output.strip().splitlines()) == 1
    assert f"--working-size {value}" in r.output and message in r.output
