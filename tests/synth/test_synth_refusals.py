"""synth --misalign out of range, --preview inside a split: one line naming the value and the
fix, never a traceback."""

from __future__ import annotations

import re

import pytest

from tests.clitools import run_wide as _run


def _refused(result, code: int, pattern: str) -> None:
    out = result.output
    assert result.exit_code == code, out
    assert "Traceback" not in out, out
    assert re.search(pattern, out), (pattern, out)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e308", "65", "-1"])
def test_synth_refuses_a_non_finite_or_absurd_misalign(tmp_path, value):
    out = tmp_path / "synth"
    result = _run("synth", str(out), "--pairs", "1", "--size", "32x24", "--misalign", value)
    _refused(result, 2, r"--misalign \S+: use a number of pixels from 0 to 64")
    assert not out.exists()


def test_synth_library_refuses_a_non_finite_misalign(tmp_path):
    from flashcli.errors import UsageError
    from flashcli.synth import render_dataset

    with pytest.raises(UsageError, match="from 0 to 64"):
        render_dataset(tmp_path / "synth", 1, (32, 24), misalign=float("nan"))


@pytest.mark.parametrize("split", ["train", "test", "test/deeper"])
def test_synth_refuses_a_preview_inside_a_split_folder(tmp_path, split):
    out = tmp_path / "synth"
    preview = out / split / "preview.png"
    result = _run("synth", str(out), "--pairs", "1", "--size", "32x24", "--preview", str(preview))
    _refused(result, 2, r"--preview .*preview\.png: lies inside the data set's (train|test)/ folder")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_synth_accepts_a_preview_beside_the_splits(tmp_path):
    out = tmp_path / "synth"
    result = _run("synth", str(out), "--pairs", "1", "--size", "32x24", "--misalign", "64",
                  "--preview", str(out / "preview.png"))
    assert result.exit_code == 0, result.output
    assert (out / "preview.png").is_file()


def test_synth_never_writes_its_preview_over_a_texture_photo(tmp_path):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    photo = photos / "IMG_0102.jpg"
    Image.new("RGB", (64, 48), (120, 90, 60)).save(photo)
    before = photo.read_bytes()
    result = _run("synth", str(tmp_path / "synth"), "--pairs", "1", "--size", "32x24", "--textures", str(photos),
                  "--overwrite", "--preview", str(photo))
    _refused(result, 2, r"--preview .*IMG_0102\.jpg: lies inside the --textures folder")
    assert photo.read_bytes() == before
    assert not (tmp_path / "synth").exists()
