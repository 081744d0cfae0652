"""`flashcli relight` through click's CliRunner."""

from __future__ import annotations

import json
import types

import numpy as np
import photo_factory as pf
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import flashcli
from flashcli import methods, plugins
from flashcli.cli import cli
from flashcli.io.imageio import read_metadata
from tests.relight.test_relight import Exposure, exposure


@pytest.fixture
def shoot(tmp_path):
    d = tmp_path / "shoot"
    d.mkdir()
    pf.write_jpeg(d / "fired.jpg", 48, 32)
    pf.write_jpeg(d / "off.jpg", 48, 32, flash=pf.FLASH_NOT_FIRED)
    pf.write_jpeg(d / "bare.jpg", 48, 32, exif=False)
    return d


@pytest.fixture
def test_method(monkeypatch):
    """Make the test-only `test-exposure` method available to the CLI."""
    plugin = types.SimpleNamespace(
        flashcli_register_enhancers=flashcli.hookimpl(lambda register: register(Exposure)))
    reg = plugins.build_registry(extra_plugins=[("test-exposure", plugin)])
    monkeypatch.setattr(plugins, "registry", lambda: reg)
    monkeypatch.setattr(methods, "registry", lambda: reg)


def run(*args):
    return CliRunner().invoke(cli, ["relight", *map(str, args)])


def test_relight_writes_outputs_and_summary(shoot, tmp_path):
    out = tmp_path / "out"
    res = run(shoot, "-o", out, "--method", "identity", "--working-size", "32")
    assert res.exit_code == 0, res.output
    assert "processed" in res.output and "skipped: no flash" in res.output
    assert "skipped: unknown flash" in res.output
    assert sorted(p.name for p in out.iterdir()) == [".flashcli-relight.json", "fired_ambient.jpg"]
    assert read_metadata(out / "fired_ambient.jpg").flash.fired is True


def test_json_report_all_frames_and_png(shoot, tmp_path):
    out = tmp_path / "out"
    res = run(shoot, "-o", out, "-m", "identity", "--all", "--format", "png", "--json", "-q")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["counts"]["processed"] == 3 and report["counts"]["failed"] == 0
    assert sorted(p.name for p in out.iterdir()) == [".flashcli-relight.json", "bare_ambient.png",
                                                     "fired_ambient.png", "off_ambient.png"]
    again = json.loads(run(shoot, "-o", out, "-m", "identity", "--all", "--format", "png",
                           "--json").stdout)
    assert again["counts"]["skipped-exists"] == 3


def test_options_reach_the_method_and_dry_run_lists_fates(shoot, tmp_path, test_method):
    out = tmp_path / "out"
    dry = run(shoot, "-o", out, "-m", "test-exposure", "--opt", "strength=0.2", "--dry-run",
              "--include-unknown", "--json")
    assert dry.exit_code == 0, dry.output
    fates = {f["source"].rsplit("/", 1)[-1]: f["status"] for f in json.loads(dry.stdout)["files"]}
    assert fates == {"fired.jpg": "would-process", "bare.jpg": "would-process",
                     "off.jpg": "skipped-no-flash"}
    assert not out.exists()
    res = run(shoot / "fired.jpg", "-o", out, "-m", "test-exposure", "--opt", "strength=0.2",
              "--template", "{stem}.{method}.{ext}", "--quality", "90")
    assert res.exit_code == 0, res.output
    # the option's value reached the pixels: the ramp of strength 0.2, not the default 0.8
    src = torch.from_numpy(np.asarray(Image.open(shoot / "fired.jpg"), np.float32) / 255).permute(2, 0, 1)
    got = torch.from_numpy(np.asarray(Image.open(out / "fired.test-exposure.jpg"), np.float32) / 255)
    got = got.permute(2, 0, 1)
    assert (got - exposure(src, 0.2)).abs().mean() < 0.4 * (got - exposure(src, 0.8)).abs().mean()
    bad = run(shoot, "-o", out, "-m", "test-exposure", "--opt", "nope=1")
    assert bad.exit_code == 2 and "unknown option nope" in bad.output
    assert "Traceback" not in bad.output


def test_failures_give_exit_1_and_are_listed(shoot, tmp_path):
    pf.write_truncated(shoot / "broken.jpg")
    out = tmp_path / "out"
    res = run(shoot, "-o", out, "-m", "identity")
    assert res.exit_code == 1
    assert "broken.jpg" in res.output and "1 of" in res.output
    assert (out / "fired_ambient.jpg").is_file()


@pytest.mark.parametrize("args,message", [
    (["--method", "no-such-method"], "unknown method"),
    (["-m", "identity", "--working-size", "big"], "--working-size"),
    (["-m", "identity", "--bit-depth", "16", "--format", "png"], "8-bit only"),
    (["-m", "identity", "--template", "{oops}.{ext}"], "unknown field"),
])
def test_bad_arguments_are_one_line_errors(shoot, tmp_path, args, message):
    res = run(shoot, "-o", tmp_path / "out", *args)
    assert res.exit_code != 0 and message in res.output
    assert "Traceback" not in res.output and not (tmp_path / "out").exists()


def test_default_method_without_weights_is_a_clear_error(shoot, tmp_path, monkeypatch):
    cls = plugins.registry().get("guided-cgan").cls
    monkeypatch.setattr(cls, "default_weights", classmethod(lambda c: None))
    res = run(shoot, "-o", tmp_path / "out")
    assert res.exit_code == 1
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "needs weights" in lines[0] and "--weights" in lines[0]
    # nothing to do (all outputs exist, made with unrecorded settings) needs no weights at all
    run(shoot, "-o", tmp_path / "out", "-m", "identity")
    (tmp_path / "out" / ".flashcli-relight.json").unlink()
    again = run(shoot, "-o", tmp_path / "out")
    assert again.exit_code == 0 and "skipped: unknown settings" in again.output
