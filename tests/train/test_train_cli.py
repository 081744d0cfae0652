"""``flashcli train`` through click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from flashcli.cli import cli
from flashcli.methods import create_enhancer
from tests.train.test_training import make_dataset

TINY = ["--opt", "width=0.0625", "--crop-size", "32", "--batch-size", "2", "--device", "cpu"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("faid"))


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_train_json_then_resume_longer(dataset, tmp_path):
    run = tmp_path / "run"
    res = invoke("train", dataset, "--out", run, *TINY, "--epochs", "1", "--opt", "lr_g=1e-3",
                 "--opt", "adversarial=false", "--log-every", "2", "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert (summary["epochs"], summary["steps"]) == (1, 3)
    assert set(summary["losses"]) == {"rec", "camera", "g"}  # gain output: the camera stage's own loss
    assert summary["test_psnr"] > 0 and 0 < summary["test_ssim"] <= 1
    side = json.loads((run / "best.json").read_text())
    assert side["options"]["adversarial"] is False and side["options"]["lr_g"] == 1e-3
    assert side["init"] == "scratch"
    enhancer = create_enhancer("guided-cgan", weights=run, device="cpu")
    assert enhancer.config["adversarial"] is False
    assert [r["step"] for r in map(json.loads, (run / "log.jsonl").read_text().splitlines())] == [2, 3]

    res = invoke("train", "--resume", run, "--epochs", "2", "--json")
    assert res.exit_code == 0, res.output
    assert (json.loads(res.stdout)["epochs"], json.loads(res.stdout)["steps"]) == (2, 6)

    res = invoke("train", "--resume", run, "--batch-size", "4")
    assert res.exit_code == 2 and "--batch-size cannot change when resuming" in res.output

    # The run's own values typed again change nothing: resumed, not refused.
    res = invoke("train", "--resume", run, "--batch-size", "2", "--crop-size", "32", "--epochs", "3", "--json")
    assert res.exit_code == 0, res.output
    assert (json.loads(res.stdout)["epochs"], json.loads(res.stdout)["steps"]) == (3, 9)

    res = invoke("train", dataset, "--out", run, *TINY, "--steps", "1")
    assert res.exit_code == 1 and f"--resume {run}" in res.output


def test_init_fine_tunes_given_weights_with_their_options(dataset, tmp_path):
    from flashcli.weights import load_weights

    first = tmp_path / "first"
    res = invoke("train", dataset, "--out", first, *TINY, "--steps", "2", "--opt", "lr_g=1e-3",
                 "--opt", "adversarial=false")
    assert res.exit_code == 0, res.output
    second = tmp_path / "second"
    res = invoke("train", dataset, "--out", second, "--init", first, "--crop-size", "32",
                 "--batch-size", "2", "--device", "cpu", "--steps", "1", "--lr", "1e-12", "--json")
    assert res.exit_code == 0, res.output
    before, _ = load_weights(first / "last.safetensors")
    after, side = load_weights(second / "last.safetensors")
    assert side["options"]["width"] == 0.0625  # the init's stored options, not the default 1.0
    assert side["options"]["adversarial"] is False
    assert side["init"].startswith("weights ") and str(first) in side["init"]
    trained = [k for k in before if not k.startswith("camera.") or k.startswith("camera.mlp")]
    assert trained and all((before[k] - after[k]).abs().max() < 1e-6 for k in trained)

    res = invoke("train", dataset, "--out", tmp_path / "third", "--init", tmp_path / "nowhere", *TINY,
                 "--steps", "1")
    assert res.exit_code != 0 and "nowhere" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_table_output(dataset, tmp_path):
    res = invoke("train", dataset, "--out", tmp_path / "run", *TINY, "--steps", "2")
    assert res.exit_code == 0, res.output
    assert "flashcli train: guided-cgan" in res.stdout and "loss rec" in res.stdout


def test_offline_pretrained_fails_at_once_in_one_line(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    res = invoke("train", dataset, "--out", tmp_path / "run", "--pretrained", "--steps", "1",
                 "--device", "cpu")
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output
    assert "--opt vgg_weights=FILE" in lines[0] and "--no-pretrained" in lines[0]
    assert not (tmp_path / "run").exists()


def test_user_errors(dataset, tmp_path):
    res = invoke("train", dataset, "--out", tmp_path / "a", *TINY, "--opt", "attn=1")
    assert res.exit_code == 2 and "valid options: adversarial, attention_a" in res.output
    res = invoke("train", dataset, "--out", tmp_path / "b", *TINY, "--opt", f"vgg_weights={tmp_path / 'v.pth'}")
    assert res.exit_code == 2 and "only at width 1.0" in res.output  # a usage error, at parse time
    res = invoke("train", "--out", tmp_path / "c")
    assert res.exit_code == 2 and "missing DATASET" in res.output
    res = invoke("train", dataset, "--method", "nope", "--out", tmp_path / "d")
    assert res.exit_code == 2 and "unknown method 'nope'" in res.output
    res = invoke("train", "--resume", tmp_path)
    assert res.exit_code == 1 and "no training state" in res.output


def test_trained_run_scores_the_same_in_eval_and_relights(dataset, tmp_path):
    run = tmp_path / "run"
    res = invoke("train", dataset, "--out", run, *TINY, "--steps", "2", "--json")
    assert res.exit_code == 0, res.output
    trained = json.loads(res.stdout)
    res = invoke("eval", dataset, "--methods", "guided-cgan", "--weights", f"guided-cgan={run}",
                 "--no-loe", "--json", "--device", "cpu")
    assert res.exit_code == 0, res.output
    scored = {s["method"]: s for s in json.loads(res.stdout)["summaries"]}["guided-cgan"]
    assert scored["psnr_mean"] == pytest.approx(trained["test_psnr"], abs=1e-4)
    assert scored["ssim_mean"] == pytest.approx(trained["test_ssim"], abs=1e-4)
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "shot_flash.png").write_bytes((dataset / "test" / "Toys_000_flash.png").read_bytes())
    res = invoke("relight", photos, "-o", tmp_path / "relit", "--all", "--weights", run,
                 "--device", "cpu", "-q")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "relit").iterdir()) == [".flashcli-relight.json",
                                                                    "shot_flash_ambient.png"]
