"""Issue 9, ``flashcli synth``: bad options and unwritable or failing outputs give one clear
line and no traceback; nothing half-written is left; a folder of someone else's pairs is
never overwritten."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import bad_inputs as bi
import pytest
from click.testing import CliRunner
from PIL import Image

from flashcli.cli import cli
from flashcli.io import fsutil

SMALL = ["--pairs", "2", "--size", "32x24"]


def _synth(*args: str):
    return CliRunner().invoke(cli, ["synth", *args])


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _no_temp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.startswith(".") or ".part" in p.name]


@pytest.mark.parametrize("size,message", [
    ("0x0", "16..4096"), ("abc", "WIDTHxHEIGHT"), ("50000x50000", "16..4096"), ("-3x9", ""),
])
def test_bad_size(tmp_path, size, message):
    result = _synth(str(tmp_path / "out"), "--pairs", "1", "--size", size)
    bi.assert_clean_failure(result, f"--size {size}", message)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.png"))


def test_out_is_a_file_or_below_one(tmp_path):
    photo = bi.write_one_pixel(tmp_path / "photo.jpg")
    before = photo.read_bytes()
    bi.assert_clean_failure(_synth(str(photo), *SMALL), "photo.jpg", "is a file")
    result = _synth(str(photo / "sub"), *SMALL)
    bi.assert_clean_failure(result, "photo.jpg", "cannot write", "choose another output folder")
    assert photo.read_bytes() == before


def test_read_only_out(tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = fsutil.tempfile.mkstemp

    def refuse(*args, dir=None, **kwargs):
        if out in Path(dir).parents or Path(dir) == out:
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(fsutil.tempfile, "mkstemp", refuse)
    result = _synth(str(out), *SMALL)
    bi.assert_clean_failure(result, str(out), "Permission denied", "choose a writable output folder")
    assert not any(p.is_file() for p in out.rglob("*"))


def test_a_write_failing_midway_leaves_no_partial_file(tmp_path, monkeypatch):
    out = tmp_path / "out"
    real_save = Image.Image.save
    calls = {"n": 0}

    def save(self, fp, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the second PNG: disk full half-way through
            Path(fp).write_bytes(b"\x89PNG half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    result = _synth(str(out), *SMALL)
    bi.assert_clean_failure(result, "No space left on device", "free some disk space")
    _no_temp_files(out)
    for png in out.rglob("*.png"):  # whatever was written is complete
        with Image.open(png) as img:
            img.load()


def test_existing_pairs_are_never_overwritten_silently(tmp_path):
    out = tmp_path / "out"
    assert _synth(str(out), *SMALL).exit_code == 0
    before = _hashes(out)
    again = _synth(str(out), *SMALL, "--seed", "7")
    bi.assert_clean_failure(again, str(out), "--overwrite")
    assert _hashes(out) == before
    # Someone else's dataset: even --overwrite refuses to touch it.
    theirs = tmp_path / "theirs"
    bi.write_pairs(theirs / "train", 2)
    mine = _hashes(theirs)
    result = _synth(str(theirs), *SMALL, "--overwrite")
    bi.assert_clean_failure(result, "did not write")
    assert _hashes(theirs) == mine


def test_unicode_out_folder(tmp_path):
    out = tmp_path / "dåta sét"
    result = _synth(str(out), *SMALL)
    assert result.exit_code == 0, result.output
    assert len(list(out.rglob("*_flash.png"))) == 2
    _no_temp_files(out)
