"""`--strength` on relight and eval, and the weights' identity in their reports."""

from __future__ import annotations

import json

import numpy as np
import photo_factory as pf
from click.testing import CliRunner
from PIL import Image

from flashcli.cli import cli
from flashcli.weights import save_weights, sha256_of
from tests.relight.test_relight_cli import test_method  # noqa: F401 - fixture


def _relight(shoot, out, *extra):
    return CliRunner().invoke(cli, ["relight", str(shoot), "-o", str(out), "-m", "test-exposure",
                                    "--format", "png", *map(str, extra)])


def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def test_relight_strength_zero_keeps_the_photo_and_half_lies_between(tmp_path, test_method):  # noqa: F811
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_png(shoot / "a.png", 48, 32)
    flash = _pixels(shoot / "a.png")
    results = {}
    for s in (0, 0.5, 1):
        out = tmp_path / f"out{s}"
        res = _relight(shoot, out, "--include-unknown", "--strength", s, "--json")
        assert res.exit_code == 0, res.output
        report = json.loads(res.stdout)
        assert report["strength"] == s and report["weights"] is None
        results[s] = _pixels(out / "a_ambient.png")
    assert np.array_equal(results[0], flash)  # bit-exact: strength 0 is the photo itself
    full, half = results[1] - flash, results[0.5] - flash
    assert np.abs(full).mean() > 5  # the method does change the photo
    assert 0.25 * np.abs(full).mean() < np.abs(half).mean() < 0.75 * np.abs(full).mean()
    assert np.all(np.sign(half[np.abs(full) > 8]) == np.sign(full[np.abs(full) > 8]))


def test_relight_refuses_a_strength_out_of_range(tmp_path, test_method):  # noqa: F811
    res = _relight(tmp_path, tmp_path / "o", "--strength", "3")
    assert res.exit_code == 2 and "--strength" in res.output


def _weights_file(tmp_path):
    from flashcli_guided_cgan import GuidedCGAN

    path = tmp_path / "w.safetensors"
    meta = {"method": "guided-cgan", "options": {"width": 0.125},
            "provenance": {"data": "three test renders"}}
    save_weights(path, GuidedCGAN(width=0.125).state_dict(), meta)
    return path


def test_relight_names_its_weights_first_and_in_json(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg", 40, 30)
    weights = _weights_file(tmp_path)
    digest = sha256_of(weights)
    res = CliRunner().invoke(cli, ["relight", str(shoot), "-o", str(tmp_path / "o"), "-m",
                                   "guided-cgan", "-w", str(weights)])
    assert res.exit_code == 0, res.output
    first = res.stderr.strip().splitlines()[0]
    assert "guided-cgan" in first and "w.safetensors" in first
    assert digest[:12] in first and "three test renders" in first
    res = CliRunner().invoke(cli, ["relight", str(shoot), "-o", str(tmp_path / "o2"), "-m",
                                   "guided-cgan", "-w", str(weights), "--json"])
    info = json.loads(res.stdout)["weights"]
    assert info["sha256"] == digest and info["bundled"] is False
    assert info["provenance"]["data"] == "three test renders"


def test_eval_records_strength_and_weights(tmp_path):
    data = tmp_path / "data" / "test"
    data.mkdir(parents=True)
    for i in range(2):
        pf.write_png(data / f"Objects_{i:03d}_flash.png", 40, 32, data=pf.pixels(40, 32, kind="noise", seed=i))
        pf.write_png(data / f"Objects_{i:03d}_ambient.png", 40, 32, data=pf.pixels(40, 32, kind="noise", seed=i + 7))
    weights = _weights_file(tmp_path)
    res = CliRunner().invoke(cli, ["eval", str(tmp_path / "data"), "--methods", "guided-cgan",
                                   "--weights", f"guided-cgan={weights}", "--strength", "0.5",
                                   "--metrics", "psnr,ssim", "--json"])
    assert res.exit_code == 0, res.output
    config = json.loads(res.stdout)["config"]
    assert config["strength"] == 0.5
    assert config["weights_used"]["guided-cgan"]["sha256"] == sha256_of(weights)


def test_eval_exposure_and_white_balance_move_the_scores_not_the_flash_row(tmp_path):
    data = tmp_path / "data" / "test"
    data.mkdir(parents=True)
    for i in range(2):
        pf.write_png(data / f"Objects_{i:03d}_flash.png", 40, 32, data=pf.pixels(40, 32, kind="noise", seed=i))
        pf.write_png(data / f"Objects_{i:03d}_ambient.png", 40, 32, data=pf.pixels(40, 32, kind="noise", seed=i))

    def scores(*args):
        res = CliRunner().invoke(cli, ["eval", str(tmp_path / "data"), "--methods", "identity,lime",
                                       "--metrics", "psnr", "--json", *args])
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        return {s["method"]: s["psnr_mean"] for s in out["summaries"]}, out["config"]

    plain, _ = scores()
    darker, config = scores("--exposure", "-1", "--white-balance", "3200")
    assert config["exposure"] == -1.0 and config["white_balance"] == 3200.0
    assert darker["identity"] == plain["identity"]  # the flash photo is the bar, untouched
    assert darker["lime"] < plain["lime"] - 1.0
    bad = CliRunner().invoke(cli, ["eval", str(tmp_path / "data"), "--methods", "lime", "--white-balance", "x"])
    assert bad.exit_code == 2 and "--white-balance x" in bad.output
