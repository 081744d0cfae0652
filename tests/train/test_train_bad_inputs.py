"""Issue 9, ``flashcli train``: every dataset problem is listed by name before training
starts; a resume file that would run code (or is damaged) is refused with one line; Ctrl-C
(a real SIGINT to a real process) leaves a checkpoint from which ``--resume`` continues."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import bad_inputs as bi
import pytest
import torch
from click.testing import CliRunner

from flashcli.cli import cli
from flashcli.io import fsutil

TINY = ["--no-pretrained", "--opt", "width=0.0625", "--crop-size", "16", "--batch-size", "2"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("dåta set")  # unicode and a space in the path
    bi.write_pairs(root / "train", 4)
    bi.write_pairs(root / "test", 1)
    return root


def _steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]


def test_dataset_problems_are_listed_one_per_line_before_training(tmp_path):
    root = tmp_path / "data"
    bi.write_pairs(root / "train", 2)
    bi.write_pairs(root / "test", 1)
    train = root / "train"
    bi.write_zero(train / "Zero_001_flash.png")
    bi.write_pairs(tmp_path / "spare", 1)
    (tmp_path / "spare" / "Objects_000_ambient.png").rename(train / "Zero_001_ambient.png")
    bi.write_png_named(train / "Lonely_001_flash.png")
    (train / "Text_001_flash.png").write_text("not a photo")
    bi.write_png_named(train / "Text_001_ambient.png")
    bi.make_symlink_loop(train)
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", str(root), *TINY, "--steps", "1", "--out", str(run)])
    names = ["Zero_001_flash.png", "Lonely_001_flash.png", "Text_001_flash.png"]
    bi.assert_clean_failure(result, *names)
    assert "3 dataset problem(s)" in result.output
    for name in names:  # one line each
        assert sum(name in line for line in result.output.splitlines()) == 1
    assert not (run / "state.pt").exists()


def test_undecodable_pairs_are_all_listed(tmp_path):
    root = tmp_path / "data"
    bi.write_pairs(root / "train", 2)
    cut = bi.write_pairs(root / "train", 1, prefix="Cut")[0][0]
    cut.write_bytes(cut.read_bytes()[: len(cut.read_bytes()) // 2])  # header intact
    bi.write_bomb_png(root / "train" / "Bomb_000_flash.png")
    bi.write_bomb_png(root / "train" / "Bomb_000_ambient.png")
    result = CliRunner().invoke(cli, ["train", str(root), *TINY, "--steps", "1",
                                      "--out", str(tmp_path / "run")])
    bi.assert_clean_failure(result, "Cut_000_flash.png", "truncated", "Bomb_000_flash.png",
                            "50000x50000")
    assert "2 dataset problem(s)" in result.output


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


@pytest.mark.parametrize("kind", ["code", "text", "cut", "wrong_shape"])
def test_resume_refuses_untrusted_or_damaged_state(tmp_path, kind):
    run = tmp_path / "run"
    run.mkdir()
    marker = tmp_path / "PWNED"
    state = run / "state.pt"
    if kind == "code":
        torch.save({"config": {}, "modules": {}, "x": _Payload(marker)}, state)
    elif kind == "text":
        state.write_text("hello world, not a checkpoint")
    elif kind == "cut":
        torch.save({"config": {}, "modules": {"g": {"w": torch.zeros(256)}}}, state)
        state.write_bytes(state.read_bytes()[:300])
    else:
        torch.save({"config": [1, 2], "modules": 3}, state)
    result = CliRunner().invoke(cli, ["train", "--resume", str(run)])
    bi.assert_clean_failure(result, str(state))
    assert ("refused" in result.output) == (kind == "code")
    assert not marker.exists()


def test_run_folder_not_writable(data, tmp_path, monkeypatch):
    run = tmp_path / "run"
    real = fsutil.tempfile.mkstemp

    def refuse(*args, dir=None, **kwargs):
        if Path(dir) == run:
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(fsutil.tempfile, "mkstemp", refuse)
    result = CliRunner().invoke(cli, ["train", str(data), *TINY, "--steps", "1",
                                      "--out", str(run)])
    bi.assert_clean_failure(result, str(run), "Permission denied", "choose a writable output folder")
    assert not any(p.is_file() and p.name.startswith(".") for p in run.rglob("*"))


def test_sigint_leaves_a_checkpoint_that_resume_continues(data, tmp_path):
    run = tmp_path / "rün 1"
    cmd = [sys.executable, "-m", "flashcli", "train", str(data), *TINY, "--epochs", "100000",
           "--out", str(run), "--log-every", "1", "--checkpoint-every", "100000",
           "--eval-every", "100000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    log = run / "log.jsonl"
    deadline = time.monotonic() + 90
    try:
        while not (log.is_file() and len(log.read_text().splitlines()) >= 2):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training never logged a step"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"--resume {run}" in err
    assert (run / "state.pt").is_file()
    assert not [p for p in run.rglob("*") if p.name.startswith(".") or ".part" in p.name]
    done = _steps(run)
    assert done == list(range(1, len(done) + 1))
    stop = done[-1]
    result = CliRunner().invoke(cli, ["train", "--resume", str(run), "--steps", str(stop + 2),
                                      "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    assert summary["steps"] == stop + 2
    assert _steps(run) == list(range(1, stop + 3))  # continued, not restarted
    assert (run / "last.safetensors").is_file()


def test_missing_dataset_is_named_before_anything_else(tmp_path):
    """Not a VGG download or an offline-weights message: the wrong path, first."""
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "nope")])
    bi.assert_clean_failure(result, "nope", "does not exist")
    assert "VGG" not in result.output


def test_vgg_weights_that_would_run_code_are_refused(data, tmp_path):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "vgg16.pth"
    torch.save({"features.0.weight": torch.zeros(1), "x": _Payload(marker)}, evil)
    result = CliRunner().invoke(cli, ["train", str(data), "--opt", f"vgg_weights={evil}",
                                      "--steps", "1", "--out", str(tmp_path / "run")])
    bi.assert_clean_failure(result, str(evil), "refused", "could run code")
    assert not marker.exists()
