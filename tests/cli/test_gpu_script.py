"""benchmarks/gpu: run.sh parses, and summary.py turns fabricated step output into the table.

The script itself runs in CI (`.ci/run`, --smoke), not here."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

GPU = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu"


@pytest.fixture(scope="module")
def summary():
    spec = importlib.util.spec_from_file_location("gpu_summary", GPU / "summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@needs_bash
def test_run_sh_parses_and_refuses_a_missing_outdir():
    for script in ("run.sh", "fetch_wheels.sh"):
        assert subprocess.run(["bash", "-n", str(GPU / script)]).returncode == 0
    done = subprocess.run(["bash", str(GPU / "run.sh")], capture_output=True, text=True)
    assert done.returncode == 2 and "usage:" in done.stderr


def _write(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0"
failures="1" skipped="2" tests="10" time="12.5"><testcase classname="tests.test_x" name="test_a"/>
<testcase classname="tests.test_x" name="test_b"><failure message="AssertionError: dtype"
>trace</failure></testcase></testsuite></testsuites>"""


def _fabricate(out: Path) -> None:
    _write(out / "env.json", {"date": "2026-12-01", "device": "NVIDIA H200", "torch": "2.11.0",
                              "git_commit": "abcdef0123456789", "smoke": False})
    rows = [{"mode": "eager", "batch": 8, "compile": False, "images_per_s": 100.0, "tflops": 20.9,
             "peak_memory_mib": 3000.0, "schedule_minutes": 161.5},
            {"mode": "optimized", "batch": 128, "compile": True, "images_per_s": 1292.0,
             "tflops": 270.0, "peak_memory_mib": 40000.0, "schedule_minutes": 12.5},
            {"mode": "optimized", "batch": 32, "compile": True, "error": "OutOfMemoryError: boom"}]
    _write(out / "train_throughput.json", {"results": rows, "summary": {
        "best": {"batch": 128}, "schedule_minutes": 12.5, "meets_schedule": True,
        "eager_batch": 8, "speedup_vs_eager": 12.92, "meets_10x": True}})
    _write(out / "relight.json", {"photos": [
        {"megapixels": 12.0, "stages_s": {"wall": 2.5}, "device_part_s": {"total_s": 0.02}},
        {"megapixels": 24.0, "stages_s": {"wall": 4.75}, "device_part_s": {"total_s": 0.061}}]})
    _write(out / "baselines.json", {"results": [
        {"method": "lime", "megapixels": 12.0, "seconds": 0.25},
        {"method": "srie", "megapixels": 12.0, "error": "over --timeout 40 s"}]})
    _write(out / "metrics.json", {"pairs": 116, "size": "320x240", "speedup": 64.0, "flashcli_seconds": 0.1})
    _write(out / "eval.json", {"pairs": 116, "methods": ["identity", "unet"], "seconds": 12.0})
    _write(out / "train_short.json", {"steps": 900, "seconds": 91.0, "images_per_s": 316.5,
                                      "weights": "run/last.safetensors"})
    _write(out / "train_scores" / "results.json", {"summaries": [
        {"method": "guided-cgan", "images": 200, "psnr_mean": 24.5, "ssim_mean": 0.81}]})
    (out / "pytest_gpu.xml").write_text(JUNIT)
    (out / "logs").mkdir()
    (out / "logs" / "relight.log").write_text("line 1\nRuntimeError: expected cuda tensor\n")


def test_collect_builds_rows_and_verdicts_from_the_json(summary, tmp_path, capsys):
    _fabricate(tmp_path)
    summary.main(["record", str(tmp_path), "relight", "124", "90", "90", "python", "relight.py"])
    assert summary.main(["collect", str(tmp_path)]) == 1  # a step timed out
    data = json.loads((tmp_path / "summary.json").read_text())
    rows = {r["figure"]: r for r in data["rows"]}

    assert data["pytest_gpu"]["failed"] == 1 and data["pytest_gpu"]["passed"] == 7
    assert data["pytest_gpu"]["failures"] == ["tests.test_x::test_b: AssertionError: dtype"]
    assert rows["GPU tests (-m gpu)"]["verdict"] == "NOT met"
    assert rows["suite, --device (not gpu)"]["value"] == "pytest_suite.xml missing"
    assert rows["paper schedule (1000 x 969 pairs), best row b128"]["verdict"] == "met"
    assert rows["speed-up over the eager fp32 loop at batch 8"]["value"] == "12.9x"
    assert rows["train optimized b32 compile on"]["value"] == "OutOfMemoryError: boom"
    device = rows["relight device part (network + gain), 24 MP"]
    assert (device["value"], device["verdict"]) == ("61.0 ms", "NOT met")
    assert rows["relight whole file, 12 MP JPEG"]["value"] == "2.5 s"
    assert rows["lime 12.0 MP"]["verdict"] == "met"
    assert rows["srie 12.0 MP"]["value"] == "over --timeout 40 s"
    assert rows["metrics, 116 pairs 320x240, vs scikit-image"]["verdict"] == "met"
    assert rows["eval, 116 pairs, identity,unet"]["verdict"] == "NOT met"
    assert rows["held-out renders, guided-cgan (200 pairs)"]["value"] == "PSNR 24.50 dB, SSIM 0.8100"
    assert rows["step relight"]["value"] == "timed out"
    assert "expected cuda tensor" in data["steps"]["relight"]["error"]

    table = capsys.readouterr().out
    assert table.startswith("2026-12-01, NVIDIA H200, torch 2.11.0, commit abcdef0123")
    assert "| 2 | train optimized b128 compile on | 1292.0 img/s, 270 TFLOP/s, 40000 MiB peak" in table
    assert (tmp_path / "summary.md").read_text() == table

    _write(tmp_path / "env.json", {"smoke": True})
    summary.main(["collect", str(tmp_path)])
    smoke = json.loads((tmp_path / "summary.json").read_text())
    assert {r["verdict"] for r in smoke["rows"]} == {""}  # no verdicts on smoke sizes


def test_train_steps_follow_the_measured_speed(summary, tmp_path, capsys):
    _write(tmp_path / "train_throughput.json", {"results": [
        {"mode": "optimized", "batch": 32, "compile": False, "images_per_s": 270.0},
        {"mode": "optimized", "batch": 32, "compile": True, "images_per_s": 2700.0}]})
    summary.main(["train-steps", str(tmp_path), "100", "32", "50"])
    # 270 img/s / 1.35 (unfrozen encoder) = 200 img/s: 100 s x 200 / 32 = 625 steps
    assert capsys.readouterr().out.strip() == "625"
    summary.main(["train-steps", str(tmp_path / "none"), "64", "32", "50"])
    assert capsys.readouterr().out.strip() == "100"  # no measurement: the default speed


def test_skipped_step_and_dist_info(summary, tmp_path):
    pytest.importorskip("tomllib")
    (tmp_path / "logs").mkdir()
    summary.main(["record", str(tmp_path), "eval", "125", "0", "0", "python", "eval.py"])
    record = json.loads((tmp_path / "eval.step.json").read_text())
    assert record["skipped"] and not record["timed_out"] and "error" not in record
    summary.main(["dist-info", str(tmp_path / "site"), str(GPU.parents[1] / "pyproject.toml")])
    points = (tmp_path / "site" / "flashcli-0+checkout.dist-info" / "entry_points.txt").read_text()
    assert "[flashcli]" in points and "lime = flashcli_lime" in points
