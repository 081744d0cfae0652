"""Training runs through the CLI: a diverging loss stops the run keeping the last good
checkpoint; resuming; epochs.csv and the summary; option help and refusals; training on
two folders (--pairs, --test-pairs) and the wrong-layout error."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import photo_factory as pf
import pytest
from pair_factory import write_pair_dataset
from plugin_dist import make_dist

from flashcli.cli import cli
from flashcli.weights import load_weights
from tests.clitools import run as _run
from tests.plugins.test_trainable_example import tinynet  # noqa: F401 - fixture: the example plugin, installed

TINY = ["--crop-size", "16", "--batch-size", "2", "--device", "cpu"]


def _json(result) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{"):])


DIVERGING = """
    import torch
    import flashcli
    from flashcli.enhancer import Enhancer, Option
    from flashcli.training.task import TrainingTask, make_adam

    class Task(TrainingTask):
        def __init__(self, net, after):
            super().__init__({"network": net}, {"network": make_adam(net.parameters(), 1e-3)})
            self.after, self.steps = after, 0

        def step(self, flash, ambient, ctx):
            self.steps += 1
            net = self.modules["network"]
            loss = (net(flash) - ambient).abs().mean()
            if self.steps > self.after:  # what a learning rate far too high ends in
                loss = loss * float("inf")
            ctx.update(loss, "network")
            return {"l1": loss.detach()}

        def predict(self, flash):
            return self.modules["network"](flash)

    class Diverge(Enhancer):
        name = "diverge"
        trainable = True
        options = (Option("after", 2, "finite steps before the loss blows up"),)

        def __init__(self, **options):
            super().__init__(**options)
            self.network = torch.nn.Conv2d(3, 3, 1)

        def enhance(self, flash):
            return self.network(flash)

        def training_task(self, config):
            return Task(self.network, self.config["after"])

    @flashcli.hookimpl
    def flashcli_register_enhancers(register):
        register(Diverge)
    """


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_pair_dataset(tmp_path_factory.mktemp("pairs"), n_train=4, n_test=1, size=(24, 20))


@pytest.fixture
def diverge_method(tmp_path_factory, monkeypatch):
    site = tmp_path_factory.mktemp("diverge_site")
    make_dist(site, "fx-diverge", "1.0", {"diverge": "fx_diverge"}, {"fx_diverge": DIVERGING})
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop("fx_diverge", None)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


ROOT = Path(__file__).resolve().parents[2]


def _split_folders(dataset: Path, split: str, dest: Path) -> tuple[Path, Path]:
    """Copy ``dataset/split`` into ``dest/flash`` and ``dest/ambient`` with plain stems."""

    flash, ambient = dest / "flash", dest / "ambient"
    for d in (flash, ambient):
        d.mkdir(parents=True)
    for f in sorted((dataset / split).glob("*.png")):
        stem, role = f.stem.rsplit("_", 1)
        shutil.copy(f, (flash if role == "flash" else ambient) / f"{stem}.png")
    return flash, ambient


def test_train_stops_on_non_finite_loss_keeping_last_good_checkpoint(diverge_method, pairs, tmp_path):
    run = tmp_path / "run"
    # 2 steps per epoch: epoch 1 is finite and checkpointed, epoch 2 diverges
    result = _run("train", str(pairs), "--method", "diverge", "--out", str(run), *TINY,
                  "--epochs", "3", "--checkpoint-every", "1", "--log-every", "100")
    assert result.exit_code == 1
    error = result.output.splitlines()[-1]
    assert error.startswith("Error: ")
    assert "training diverged at step 4 (loss l1 is " in error
    assert f"the last good checkpoint ({run / 'last.safetensors'}) is kept" in error
    state, meta = load_weights(run / "last.safetensors")
    assert meta["step"] == 2
    assert all(bool(t.isfinite().all()) for t in state.values())
    rows = (run / "epochs.csv").read_text().splitlines()
    assert len(rows) == 2  # header and the good epoch


def test_train_lr_inf_is_refused_at_parse_time(pairs, tmp_path):
    result = _run("train", str(pairs), "--out", str(tmp_path / "run"), "--lr", "inf")
    assert result.exit_code == 2
    assert "--lr inf" in result.output and "finite" in result.output
    assert not (tmp_path / "run").exists()


def test_train_resume_of_a_finished_run_says_how_to_extend_it(tinynet, pairs, tmp_path):  # noqa: F811
    run = tmp_path / "run"
    first = _run("train", str(pairs), "--method", "tinynet", "--out", str(run), *TINY, "--epochs", "1")
    assert first.exit_code == 0, first.output
    again = _run("train", "--resume", str(run))
    assert again.exit_code == 1
    line = again.output.strip().splitlines()[-1]
    assert "this run is finished (epoch 1 of --epochs 1)" in line
    assert f"flashcli train --resume {run} --epochs 2" in line
    longer = _run("train", "--resume", str(run), "--epochs", "2", "--json")
    assert longer.exit_code == 0 and _json(longer)["epochs"] == 2


def test_epochs_csv_keeps_the_losses_of_an_epoch_split_by_a_resume(tinynet, pairs, tmp_path):  # noqa: F811
    whole, split = tmp_path / "whole", tmp_path / "split"
    args = ["--method", "tinynet", *TINY, "--epochs", "1"]
    assert _run("train", str(pairs), "--out", str(whole), *args).exit_code == 0
    assert _run("train", str(pairs), "--out", str(split), *args, "--steps", "1").exit_code == 0
    resumed = _run("train", "--resume", str(split), "--steps", "2")
    assert resumed.exit_code == 0, resumed.output
    (row_whole,), (row_split,) = _csv_rows(whole / "epochs.csv"), _csv_rows(split / "epochs.csv")
    assert row_split["step"] == "2"
    assert float(row_split["l1"]) == pytest.approx(float(row_whole["l1"]), rel=1e-5)


def test_train_summary_speed_is_the_runs_mean(tinynet, pairs, tmp_path):  # noqa: F811
    result = _run("train", str(pairs), "--method", "tinynet", "--out", str(tmp_path / "run"), *TINY,
                  "--steps", "4", "--log-every", "1", "--json")
    summary = _json(result)
    last_logged = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])
    # the mean over 4 steps, not the speed of the last logged step: its time covers every step
    assert summary["images_per_s"] != last_logged["images_per_s"]
    # images / speed is the time the steps took: within the run's seconds (both are rounded)
    assert 0 < summary["steps"] * 2 / summary["images_per_s"] <= summary["seconds"] * 1.02 + 0.01


def test_every_train_option_has_help():
    result = _run("train", "--help")
    assert result.exit_code == 0
    command = cli.get_command(None, "train")
    for param in command.params:
        if param.param_type_name == "option":
            assert param.help, param.name
    assert "Side of the square random crops" in result.output


def test_train_amp_fp16_on_cpu_is_refused_with_the_reason(tinynet, pairs, tmp_path):  # noqa: F811
    result = _run("train", str(pairs), "--method", "tinynet", "--out", str(tmp_path / "run"), *TINY,
                  "--amp", "fp16")
    assert result.exit_code == 2
    assert "--amp fp16: float16 mixed precision needs a CUDA GPU" in result.output
    assert "use --amp off, or bf16" in result.output


def test_train_wrong_layout_names_only_existing_options(tinynet, tmp_path):  # noqa: F811
    import re

    flat = tmp_path / "flat"
    flat.mkdir()
    pf.write_png(flat / "a_flash.png")
    pf.write_png(flat / "a_ambient.png")
    result = _run("train", str(flat), "--method", "tinynet", "--out", str(tmp_path / "run"),
                  "--device", "cpu")
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert "expected the layout ROOT/train and ROOT/test" in line
    command = cli.get_command(None, "train")
    known = {o for p in command.params for o in p.opts}
    named = set(re.findall(r"--[a-z][a-z-]+", line))
    assert named <= known, named - known


def test_train_on_two_folders_with_pairs_and_test_pairs(tinynet, pairs, tmp_path):  # noqa: F811
    train_dirs = _split_folders(pairs, "train", tmp_path / "train")
    test_dirs = _split_folders(pairs, "test", tmp_path / "test")
    run = tmp_path / "run"
    result = _run("train", "--pairs", *map(str, train_dirs), "--test-pairs", *map(str, test_dirs),
                  "--method", "tinynet", "--out", str(run), *TINY, "--epochs", "1", "--json")
    assert result.exit_code == 0, result.output
    summary = _json(result)
    assert summary["steps"] == 2 and summary["test_psnr"] is not None  # 3 train pairs (1 of 4 held out), batch 2
    meta = json.loads((run / "last.json").read_text())
    assert meta["dataset"]["train_pairs"] == 3 and meta["dataset"]["val_pairs"] == 1  # 4, one held out
    assert meta["dataset"]["test_pairs"] == 1
    assert meta["dataset"]["root"] == f"--pairs {train_dirs[0]} {train_dirs[1]}"
    assert (run / "best.safetensors").is_file()
    # the run resumes from its saved folders
    longer = _run("train", "--resume", str(run), "--epochs", "2", "--json")
    assert longer.exit_code == 0, longer.output
    assert _json(longer)["epochs"] == 2


def test_resume_may_move_the_data_between_a_dataset_and_pairs(tinynet, pairs, tmp_path):  # noqa: F811
    train_dirs = _split_folders(pairs, "train", tmp_path / "train")
    test_dirs = _split_folders(pairs, "test", tmp_path / "test")
    run = tmp_path / "run"
    args = ["--method", "tinynet", "--out", str(run), *TINY, "--epochs", "1"]
    assert _run("train", "--pairs", *map(str, train_dirs), *args).exit_code == 0
    moved = _run("train", "--resume", str(run), str(pairs), "--epochs", "2", "--json")
    assert moved.exit_code == 0, moved.output
    meta = json.loads((run / "last.json").read_text())
    assert meta["dataset"]["root"] == str(pairs) and meta["dataset"]["test_pairs"] == 1
    back = _run("train", "--resume", str(run), "--pairs", *map(str, train_dirs),
                "--test-pairs", *map(str, test_dirs), "--epochs", "3", "--json")
    assert back.exit_code == 0, back.output
    meta = json.loads((run / "last.json").read_text())
    assert meta["dataset"]["root"].startswith("--pairs ") and meta["dataset"]["test_pairs"] == 1
    wrong = _run("train", "--resume", str(tmp_path / "run"), str(pairs), "--test-pairs",
                 *map(str, test_dirs), "--epochs", "4")
    assert wrong.exit_code == 2 and "--test-pairs goes with --pairs" in wrong.output


def test_train_pairs_without_test_pairs_warns_and_trains(tinynet, pairs, tmp_path):  # noqa: F811
    train_dirs = _split_folders(pairs, "train", tmp_path / "train")
    result = _run("train", "--pairs", *map(str, train_dirs), "--method", "tinynet",
                  "--out", str(tmp_path / "run"), *TINY, "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert "no --test-pairs FLASH_DIR AMBIENT_DIR given" in result.stderr


def test_train_pairs_problems_and_misuse_are_one_line_each(tinynet, pairs, tmp_path):  # noqa: F811
    flash, ambient = _split_folders(pairs, "train", tmp_path / "train")
    (ambient / "Objects_000.png").unlink()
    result = _run("train", "--pairs", str(flash), str(ambient), "--method", "tinynet",
                  "--out", str(tmp_path / "run"), *TINY)
    assert result.exit_code == 1
    assert f"{flash / 'Objects_000.png'}: no file with stem 'Objects_000' in {ambient}" in result.output
    both = _run("train", str(pairs), "--pairs", str(flash), str(ambient), "--method", "tinynet", *TINY)
    assert both.exit_code == 2 and "give either DATASET or --pairs" in both.output
    lone = _run("train", str(pairs), "--test-pairs", str(flash), str(ambient), "--method", "tinynet", *TINY)
    assert lone.exit_code == 2 and "--test-pairs goes with --pairs" in lone.output
    missing = _run("train", "--method", "tinynet", *TINY)
    assert missing.exit_code == 2 and "--pairs FLASH_DIR AMBIENT_DIR, or --resume RUN" in missing.output
    for result in (both, lone, missing):
        assert "Traceback" not in result.output


def test_wrong_layout_error_names_only_options_train_has(tinynet, tmp_path):  # noqa: F811
    from flashcli.commands.train import command as train_command

    (tmp_path / "photos").mkdir()
    result = _run("train", str(tmp_path), "--method", "tinynet", *TINY)
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert "split folder not found" in line and "--pairs FLASH_DIR AMBIENT_DIR" in line
    flags = {opt for p in train_command.params for opt in p.opts}
    named = {word.strip(",.;()`") for word in line.split() if word.startswith("--")}
    assert named and named <= flags, named - flags
    # with the default method too: the layout is checked before any pretrained weights are fetched
    default = _run("train", str(tmp_path), *TINY)
    assert default.exit_code == 1 and "split folder not found" in default.output
    assert "VGG-16" not in default.output
