"""Short writes and a full disk: every writer (JPEG, PNG, TIFF, safetensors, JSON, CSV, the
contact sheet) catches a short write before the rename; no truncated output counts as
processed; one line, no temporary file left."""

from __future__ import annotations

import json
import os
from pathlib import Path

import bad_inputs as bi
import photo_factory as pf
import pytest
import torch

from flashcli.errors import FlashcliError
from flashcli.io import fsutil
from flashcli.io.imageio import read_image, write_image
from tests.clitools import hashes as _hashes
from tests.clitools import jpeg as _jpeg
from tests.clitools import no_temp_files as _no_temp_files
from tests.clitools import run_wide as _run


@pytest.fixture
def lying_disk(monkeypatch):
    """The disk keeps only the first half of every file (a nearly full disk that loses the
    tail of a write without an error)."""
    real = fsutil._fsync_file

    def half(path: Path) -> int:
        size = path.stat().st_size
        os.truncate(path, size // 2)
        return real(path)

    monkeypatch.setattr(fsutil, "_fsync_file", half)


def _writers(folder: Path) -> dict:
    from flashcli.training.logs import CsvLog, save_png
    from flashcli.weights import save_weights

    img = torch.rand(3, 12, 16)
    return {
        "jpeg": lambda: write_image(folder / "a.jpg", img),
        "png": lambda: write_image(folder / "a.png", img),
        "tiff": lambda: write_image(folder / "a.tif", img, bit_depth=16),
        "safetensors": lambda: save_weights(folder / "w.safetensors", {"x": torch.ones(64)}, {}),
        "json": lambda: fsutil.atomic_write_text(folder / "r.json", json.dumps({"a": 1})),
        "csv": lambda: CsvLog(folder / "epochs.csv").write({"epoch": 1, "loss": 0.5}),
        "grid png": lambda: save_png(folder / "grid.png", img),
    }


@pytest.mark.parametrize("kind", ["jpeg", "png", "tiff", "safetensors", "json", "csv", "grid png"])
def test_a_short_write_is_caught_before_the_rename(tmp_path, lying_disk, kind):
    with pytest.raises(FlashcliError, match="cannot write") as info:
        _writers(tmp_path)[kind]()
    assert "cannot write" in info.value.message and "free some disk space" in info.value.message
    assert "incomplete" in info.value.message
    assert [p.name for p in tmp_path.iterdir()] == []  # no output, no temporary file


def test_relight_does_not_report_a_truncated_output_as_processed(tmp_path, monkeypatch):
    shoot = tmp_path / "shoot"
    _jpeg(shoot / "a.jpg", 32, 24, flash=pf.FLASH_FIRED)
    before = _hashes(shoot)
    out = tmp_path / "out"
    real = fsutil._fsync_file
    monkeypatch.setattr(fsutil, "_fsync_file",
                        lambda p: (os.truncate(p, (p.stat().st_size // 2) // 4096 * 4096), real(p))[1])
    result = _run("relight", str(shoot), "-o", str(out), "-m", "identity", "--json")
    bi.assert_clean_failure(result)
    report = json.loads(result.stdout[result.stdout.index("{"):])
    assert report["counts"]["processed"] == 0 and report["counts"]["failed"] == 1
    assert "free some disk space" in report["files"][0]["reason"]
    assert not (out / "a_ambient.jpg").exists()
    _no_temp_files(out)
    monkeypatch.setattr(fsutil, "_fsync_file", real)  # the disk has room again
    rerun = _run("relight", str(shoot), "-o", str(out), "-m", "identity", "--json")
    assert rerun.exit_code == 0, rerun.output
    assert read_image(out / "a_ambient.jpg")[0].shape == (3, 24, 32)
    assert _hashes(shoot) == before


def test_a_full_disk_inside_safetensors_is_one_line(tmp_path, monkeypatch):
    import safetensors.torch
    from safetensors import SafetensorError

    from flashcli.weights import save_weights

    def full(*args, **kwargs):
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                              'message: "No space left on device" })')

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    with pytest.raises(FlashcliError, match="No space left on device") as info:
        save_weights(tmp_path / "w.safetensors", {"x": torch.ones(2)}, {})
    assert info.value.message == (f"{tmp_path / 'w.safetensors'}: cannot write (No space left on "
                                  "device); free some disk space and run again")
    assert list(tmp_path.iterdir()) == []
