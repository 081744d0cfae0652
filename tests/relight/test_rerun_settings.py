"""Issue 23: a re-run into an output folder with other settings redoes the outputs those
settings change (OUT/.flashcli-relight.json records what made each one)."""

from __future__ import annotations

import json

import numpy as np
import photo_factory as pf
import pytest
from click.testing import CliRunner
from PIL import Image

from flashcli.cli import cli
from flashcli.relight import manifest
from flashcli.relight.report import REDONE, SKIP_EXISTS, UNKNOWN_SETTINGS

MANIFEST = ".flashcli-relight.json"


@pytest.fixture
def shoot(tmp_path):
    d = tmp_path / "shoot"
    d.mkdir()
    pf.write_jpeg(d / "a.jpg", 48, 32)
    pf.write_jpeg(d / "b.jpg", 48, 32)
    return d


def relight(shoot, out, *args):
    return CliRunner().invoke(cli, ["relight", str(shoot), "-o", str(out), *map(str, args)])


def as_json(shoot, out, *args) -> dict:
    res = relight(shoot, out, *args, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def pixels(path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), np.float64)


def test_strength_0_after_strength_1_changes_the_output(shoot, tmp_path):
    out = tmp_path / "out"
    first = as_json(shoot, out, "-m", "lime", "--strength", "1")
    assert first["counts"]["processed"] == 2
    relit = pixels(out / "a_ambient.jpg")
    before = (out / "a_ambient.jpg").read_bytes()
    assert np.abs(relit - pixels(shoot / "a.jpg")).mean() > 2  # lime changed the photo
    again = as_json(shoot, out, "-m", "lime", "--strength", "0")
    assert again["counts"][REDONE] == 2 and again["counts"]["processed"] == 0
    assert again["counts"][SKIP_EXISTS] == 0
    (entry,) = [f for f in again["files"] if f["source"].endswith("a.jpg")]
    assert entry["status"] == REDONE and "strength 1 -> 0" in entry["reason"]
    assert (out / "a_ambient.jpg").read_bytes() != before
    # strength 0 leaves the photo as it was (up to the JPEG round trip)
    assert np.abs(pixels(out / "a_ambient.jpg") - pixels(shoot / "a.jpg")).mean() < 1.5
    assert "1 photo" not in " ".join(again["notes"]) and any("2 photos redone" in n for n in again["notes"])


def test_same_settings_are_skipped_and_the_table_names_redone(shoot, tmp_path):
    out = tmp_path / "out"
    as_json(shoot, out, "-m", "lime")
    same = as_json(shoot, out, "-m", "lime")
    assert same["counts"][SKIP_EXISTS] == 2 and same["counts"][REDONE] == 0
    assert all("same settings" in f["reason"] for f in same["files"])
    table = relight(shoot, out, "-m", "identity")  # another method: everything is redone
    assert table.exit_code == 0, table.output
    assert "redone: settings changed" in table.stdout and "2 photos redone" in table.stdout
    back = as_json(shoot, out, "-m", "lime")
    assert "method identity -> lime" in back["files"][0]["reason"]


@pytest.mark.parametrize("args, change", [
    (("--exposure", "-0.5"), "exposure 0 -> -0.5"),
    (("--white-balance", "3200"), "white balance auto -> 3200"),
    (("--quality", "80"), "quality 95 -> 80"),
    (("--opt", "gamma=0.5"), "--opt gamma 0.7 -> 0.5"),
])
def test_each_setting_is_part_of_the_fingerprint(shoot, tmp_path, args, change):
    out = tmp_path / "out"
    as_json(shoot, out, "-m", "lime")
    again = as_json(shoot, out, "-m", "lime", *args)
    assert again["counts"][REDONE] == 2, again["files"]
    assert change in again["files"][0]["reason"]
    assert as_json(shoot, out, "-m", "lime", *args)["counts"][SKIP_EXISTS] == 2


def test_the_manifest_records_each_output(shoot, tmp_path):
    out = tmp_path / "out"
    as_json(shoot, out, "-m", "lime", "--strength", "0.5", "--white-balance", "flash")
    data = json.loads((out / MANIFEST).read_text())
    assert set(data["outputs"]) == {"a_ambient.jpg", "b_ambient.jpg"}
    fp = data["outputs"]["a_ambient.jpg"]
    assert set(fp) == set(manifest.KEYS)
    assert fp["method"] == "lime" and fp["strength"] == 0.5 and fp["white_balance"] == "flash"
    assert fp["format"] == "jpeg" and fp["quality"] == 95 and fp["bit_depth"] == 8
    assert fp["weights"] is None and "gamma" in fp["options"]


def test_bundled_weights_are_fingerprinted_by_content(shoot, tmp_path):
    out = tmp_path / "out"
    as_json(shoot, out, "--working-size", "32")
    fp = json.loads((out / MANIFEST).read_text())["outputs"]["a_ambient.jpg"]
    assert fp["method"] == "guided-cgan" and len(fp["weights"]["sha256"]) == 64
    assert fp["weights"]["name"].endswith(".safetensors")


def test_unrecorded_outputs_are_kept_and_named(shoot, tmp_path):
    out = tmp_path / "out"
    as_json(shoot, out, "-m", "lime")
    (out / MANIFEST).unlink()  # outputs of an older flashcli, or copied in by hand
    before = (out / "a_ambient.jpg").read_bytes()
    report = as_json(shoot, out, "-m", "lime", "--strength", "0")
    assert report["counts"][SKIP_EXISTS] == 2
    assert {f["reason"] for f in report["files"]} == {UNKNOWN_SETTINGS}
    assert any("made with unknown settings" in n and "--overwrite" in n for n in report["notes"])
    assert (out / "a_ambient.jpg").read_bytes() == before
    table = relight(shoot, out, "-m", "lime", "--strength", "0")
    assert "unknown settings" in table.stdout
    quiet = relight(shoot, out, "-m", "lime", "--strength", "0", "-q")
    assert quiet.exit_code == 0 and quiet.stdout == ""
    lines = [line for line in quiet.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "warning:" in lines[0] and "unknown settings" in lines[0]
    forced = as_json(shoot, out, "-m", "lime", "--strength", "0", "--overwrite")
    assert forced["counts"]["processed"] == 2
    assert set(json.loads((out / MANIFEST).read_text())["outputs"]) == {"a_ambient.jpg", "b_ambient.jpg"}


def test_quiet_rerun_with_other_settings_prints_nothing(shoot, tmp_path):
    out = tmp_path / "out"
    as_json(shoot, out, "-m", "lime")
    res = relight(shoot, out, "-m", "lime", "--strength", "0.3", "-q")
    assert res.exit_code == 0 and res.output == ""


def test_dry_run_says_what_would_be_redone(shoot, tmp_path):
    out = tmp_path / "out"
    as_json(shoot, out, "-m", "lime")
    manifest_before = (out / MANIFEST).read_bytes()
    dry = as_json(shoot, out, "-m", "lime", "--strength", "0.5", "-n")
    assert dry["counts"]["would-process"] == 2
    assert "settings changed: strength 1 -> 0.5" in dry["files"][0]["reason"]
    assert (out / MANIFEST).read_bytes() == manifest_before


def test_a_broken_manifest_is_a_warning_and_unknown_settings(shoot, tmp_path):
    out = tmp_path / "out"
    as_json(shoot, out, "-m", "lime")
    (out / MANIFEST).write_text("{not json")
    res = relight(shoot, out, "-m", "lime", "--json")
    assert res.exit_code == 0, res.output
    assert "cannot read the record of settings" in res.stderr
    assert {f["reason"] for f in json.loads(res.stdout)["files"]} == {UNKNOWN_SETTINGS}


def test_the_manifest_is_merged_not_replaced(shoot, tmp_path):
    out = tmp_path / "out"
    as_json(shoot / "a.jpg", out, "-m", "lime")
    as_json(shoot / "b.jpg", out, "-m", "identity")
    outputs = json.loads((out / MANIFEST).read_text())["outputs"]
    assert outputs["a_ambient.jpg"]["method"] == "lime"
    assert outputs["b_ambient.jpg"]["method"] == "identity"
