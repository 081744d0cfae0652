"""Untrusted weights and run folders: metadata checked before anything is built, a
safetensors file named .pt loaded, a saved run state checked on resume, a crashed run
(torn log, garbage CSV) resumed, a FIFO named like weights never blocks."""

from __future__ import annotations

import json
from pathlib import Path

import bad_inputs as bi
import photo_factory as pf
import pytest
import torch

from tests.clitools import jpeg as _jpeg
from tests.clitools import one_clean_line as _one_clean_line
from tests.clitools import run_subprocess as _subprocess
from tests.clitools import run_wide as _run

ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    return bi.write_tiny_unet(tmp_path_factory.mktemp("w") / "tiny.safetensors")


@pytest.fixture
def photo(tmp_path):
    return _jpeg(tmp_path / "shoot" / "a.jpg", 32, 24, flash=pf.FLASH_FIRED)


def _state(tmp_path: Path, **changes) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    state = {"config": {"data": str(tmp_path), "out": str(run), "method": "unet"}, "modules": {},
             "optimizers": {}, "rng": {"cpu": torch.get_rng_state()}, "epoch": 0, "step": 1,
             "batch_in_epoch": 1}
    for key, value in changes.items():
        if key == "crop_size":
            state["config"]["crop_size"] = value
        else:
            state[key] = value
    torch.save(state, run / "state.pt")
    return run


TINY = ["--no-pretrained", "--opt", "width=0.0625", "--crop-size", "16", "--batch-size", "2",
        "--log-every", "1"]


@pytest.mark.parametrize("options, expected", [
    ({"width": 2.0}, "weights do not fit method unet"),
    ({"width": 12.0}, "option width=12.0: must be at most 4"),
    ({"width": None}, "expected float (a finite number)"),
    ({"width": [1]}, "expected float (a finite number)"),
    ({"width": "1e400"}, "expected float (a finite number)"),
    ({"lr": True}, "expected float (a finite number)"),
])
def test_weights_metadata_is_checked_before_anything_is_built(tmp_path, photo, options, expected,
                                                              monkeypatch):
    import flashcli_unet

    w = bi.write_tiny_unet(tmp_path / "w.safetensors", options)
    built, init = [], flashcli_unet.UNetEnhancer.__init__
    monkeypatch.setattr(flashcli_unet.UNetEnhancer, "__init__",
                        lambda self, *a, **k: built.append(k) or init(self, *a, **k))
    result = _run("relight", str(photo.parent), "-o", str(tmp_path / "out"), "-m", "unet", "-w", str(w))
    bi.assert_clean_failure(result, str(w), expected)
    assert not (tmp_path / "out").exists()
    # nothing of gigabytes was built: no network wider than the option allows
    assert all(0 < float(k.get("width", 1.0)) <= 4.0 for k in built), built


def test_deeply_nested_metadata_is_refused_and_a_deep_sidecar_ignored(tmp_path, photo):
    deep = bi.write_tiny_unet(tmp_path / "deep.safetensors", embedded=bi.deep_json())
    result = _run("relight", str(photo.parent), "-o", str(tmp_path / "o1"), "-m", "unet", "-w", str(deep))
    bi.assert_clean_failure(result, "embedded metadata is malformed", "nested deeper")
    plain = bi.write_tiny_unet(tmp_path / "plain.safetensors", embedded="")
    plain.with_suffix(".json").write_text(bi.deep_json())
    ok = _run("relight", str(photo.parent), "-o", str(tmp_path / "o2"), "-m", "unet", "-w", str(plain),
              "--opt", "width=0.0625")
    assert ok.exit_code == 0, ok.output


def test_a_safetensors_file_named_pt_is_loaded_not_refused(tmp_path, tiny_weights, photo):
    renamed = tmp_path / "tiny.pt"
    renamed.write_bytes(tiny_weights.read_bytes())
    result = _run("relight", str(photo.parent), "-o", str(tmp_path / "out"), "-m", "unet",
                  "-w", str(renamed))
    assert result.exit_code == 0, result.output
    assert "refused" not in result.output


@pytest.mark.parametrize("change, expected", [
    ({"rng": {"cpu": torch.zeros(7, dtype=torch.uint8)}}, "rng.cpu"),
    ({"rng": {"cpu": "garbage"}}, "rng.cpu"),
    ({"crop_size": 10**9}, "--crop-size 1000000000: must be 8 to 8192"),
    ({"crop_size": "big"}, "--crop-size 'big': must be a whole number"),
])
def test_resume_checks_the_saved_state(tmp_path, change, expected):
    run = _state(tmp_path, **change)
    result = _run("train", "--resume", str(run))
    bi.assert_clean_failure(result, expected)


def test_resume_tolerates_a_torn_log_and_a_garbage_csv(tmp_path):
    data = tmp_path / "data"
    bi.write_pairs(data / "train", 2)
    run = tmp_path / "run"
    first = _run("train", str(data), "--method", "unet", *TINY, "--steps", "1", "--out", str(run))
    assert first.exit_code == 0, first.output
    bi.torn_jsonl(run)
    bi.garbage_csv(run)
    result = _run("train", "--resume", str(run), "--steps", "2")
    assert result.exit_code == 0, result.output
    steps = [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2]


def test_a_fifo_named_safetensors_does_not_block(tmp_path, photo):
    wdir = tmp_path / "weights"
    fifo = bi.make_not_file("fifo", wdir / "x.safetensors")
    for w, expected in ((wdir, "no weights found"), (fifo, "named pipe")):
        proc = _subprocess(["relight", str(photo.parent), "-o", str(tmp_path / "out"), "-m", "unet",
                            "-w", str(w)])
        assert proc.returncode == 1, proc.stderr
        _one_clean_line(proc.stderr, str(w), expected)
