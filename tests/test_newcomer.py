"""Issue 14, a newcomer's first hour: each item checked through the CLI."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import photo_factory as pf
import pytest
from click.testing import CliRunner
from pair_factory import write_pair_dataset
from plugin_dist import make_dist

from flashcli.cli import cli
from flashcli.weights import load_weights

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
TINY = ["--crop-size", "16", "--batch-size", "2", "--device", "cpu"]

NAN_METHOD = """
    import torch
    import flashcli
    from flashcli.enhancer import Enhancer

    class Broken(Enhancer):
        name = "nanny"
        description = "Returns NaN, like a method whose weights went bad."

        def enhance(self, flash):
            return flash * float("nan")

    @flashcli.hookimpl
    def flashcli_register_enhancers(register):
        register(Broken)
    """


@pytest.fixture
def nan_method(tmp_path_factory, monkeypatch):
    site = tmp_path_factory.mktemp("nan_site")
    make_dist(site, "fx-nanny", "1.0", {"nanny": "fx_nanny"}, {"fx_nanny": NAN_METHOD})
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop("fx_nanny", None)


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def _json(result) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{"):])


# --- item 2: non-finite outputs fail, naming the method --------------------------------------

def test_relight_nan_output_fails_that_photo_and_writes_nothing(nan_method, tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg")
    out = tmp_path / "out"
    result = _run("relight", str(shoot), "-o", str(out), "--method", "nanny", "--json")
    assert result.exit_code == 1
    (entry,) = _json(result)["files"]
    assert entry["status"] == "failed"
    assert "method nanny returned non-finite values" in entry["reason"]
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


def test_eval_nan_output_is_a_failure_of_that_method(nan_method, tmp_path):
    data = write_pair_dataset(tmp_path / "data", n_train=1, n_test=2)
    result = _run("eval", str(data), "--methods", "nanny,identity", "--json")
    report = _json(result)
    by_method = {s["method"]: s for s in report["summaries"]}
    assert by_method["nanny"]["images"] == 0
    assert by_method["nanny"]["failures"] == 2
    assert by_method["identity"]["images"] == 2
    assert any("non-finite" in f["message"] for f in report["failures"])


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


# --- item 9: the trainable example plugin of docs/plugins.md ------------------------------

@pytest.fixture
def tinynet(tmp_path, monkeypatch):
    site = tmp_path / "site"
    shutil.copytree(EXAMPLES / "flashcli-tinynet" / "flashcli_tinynet", site / "flashcli_tinynet")
    make_dist(site, "flashcli-tinynet", "0.1.0", {"tinynet": "flashcli_tinynet"})
    monkeypatch.syspath_prepend(str(site))
    yield site
    for mod in [m for m in sys.modules if m.startswith("flashcli_tinynet")]:
        del sys.modules[mod]


def test_example_trainable_plugin_trains_and_relights(tinynet, pairs, tmp_path):
    listing = _run("plugins")
    assert "tinynet" in listing.output and "flashcli-tinynet" in listing.output
    run = tmp_path / "run"
    result = _run("train", str(pairs), "--method", "tinynet", "--out", str(run), *TINY,
                  "--steps", "3", "--json")
    assert result.exit_code == 0, result.output
    summary = _json(result)
    assert summary["steps"] == 3 and set(summary["losses"]) == {"l1"}
    assert (run / "last.safetensors").exists()
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg")
    relit = _run("relight", str(shoot), "-o", str(tmp_path / "out"), "--method", "tinynet",
                 "--weights", str(run), "--json")
    assert relit.exit_code == 0, relit.output
    assert _json(relit)["counts"]["processed"] == 1


# --- item 1: photos of unknown flash status are counted, explained, and the flag named ------

def test_relight_summary_names_skipped_unknown_and_the_flag(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    for i in range(3):
        pf.write_png(scans / f"scan_{i}.png")  # no EXIF at all
    result = _run("relight", str(scans), "-o", str(tmp_path / "out"), "--method", "identity")
    assert result.exit_code == 0, result.output
    assert "3 photos skipped, no EXIF flash information" in result.stdout
    assert "--include-unknown relights them" in result.stdout
    again = _run("relight", str(scans), "-o", str(tmp_path / "out"), "--method", "identity",
                 "--include-unknown", "--json")
    assert _json(again)["counts"]["processed"] == 3


def test_relight_json_carries_the_same_notes(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "off.jpg", flash=pf.FLASH_NOT_FIRED)
    pf.write_png(shoot / "scan.png")
    result = _run("relight", str(shoot), "-o", str(tmp_path / "out"), "--method", "identity", "--json")
    notes = _json(result)["notes"]
    assert notes == ["1 photo skipped, no EXIF flash information (scans, PNG exports, downloads); "
                     "--include-unknown relights them",
                     "1 photo skipped, the flash did not fire; --all relights them"]


# --- item 3: flashcli's own outputs are marked and not relit again --------------------------

def test_relit_outputs_are_skipped_unless_forced(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg")  # flash fired; the output keeps EXIF Flash
    first = _run("relight", str(shoot), "-o", str(tmp_path / "out"), "--method", "identity")
    assert first.exit_code == 0, first.output
    second = _run("relight", str(tmp_path / "out"), "-o", str(tmp_path / "out2"),
                  "--method", "identity", "--json")
    assert second.exit_code == 0, second.output
    (entry,) = _json(second)["files"]
    assert entry["status"] == "skipped-flashcli-output"
    assert "EXIF Software: flashcli" in entry["reason"] and "--include-relit" in entry["reason"]
    assert not (tmp_path / "out2").exists()
    table = _run("relight", str(tmp_path / "out"), "-o", str(tmp_path / "out2"), "--method", "identity")
    assert "skipped: flashcli output" in table.stdout and "--include-relit relights them again" in table.stdout
    forced = _run("relight", str(tmp_path / "out"), "-o", str(tmp_path / "out2"),
                  "--method", "identity", "--include-relit", "--json")
    assert _json(forced)["counts"]["processed"] == 1
    assert (tmp_path / "out2" / "a_ambient_ambient.jpg").is_file()


# --- item 5: exit codes ------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["relight", "SHOOT", "-o", "OUT", "--device", "gpu"],
    ["relight", "SHOOT", "-o", "OUT", "--working-size", "0"],
    ["relight", "SHOOT", "-o", "OUT", "--template", "{foo}"],
    ["relight", "SHOOT", "-o", "OUT", "--template", "{stem:d}.png"],
    ["relight", "SHOOT", "-o", "OUT", "--opt", "strength"],
    ["relight", "SHOOT", "-o", "OUT", "--method", "lime", "--opt", "gamma=nan"],
    ["relight", "SHOOT", "-o", "OUT", "--bogus-flag"],
    ["synth", "OUT", "--size", "abc"],
    ["train", "DATA", "--epochs", "0"],
    ["train", "DATA", "--batch-size", "0"],
    ["eval", "DATA", "--metrics", "nope"],
])
def test_usage_errors_exit_2_in_one_line(args, tmp_path, pairs):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg")
    names = {"SHOOT": str(shoot), "OUT": str(tmp_path / "out"), "DATA": str(pairs)}
    result = _run(*[names.get(a, a) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "Error" in result.output.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_failed_work_exits_1(tmp_path):
    broken = tmp_path / "shoot"
    broken.mkdir()
    (broken / "a.jpg").write_bytes(b"not a photo")
    result = _run("relight", str(broken), "-o", str(tmp_path / "out"), "--method", "identity", "--all")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "Error: 1 of 1 photos failed; see the report above"


def test_ctrl_c_during_relight_exits_130(tmp_path, monkeypatch):
    import flashcli.relight.run as relight_run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(relight_run, "relight", interrupted)
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg")
    result = _run("relight", str(shoot), "-o", str(tmp_path / "out"))
    assert result.exit_code == 130
    assert result.stderr.strip().startswith("flashcli: interrupted; finished files are complete")


# --- item 6: train -----------------------------------------------------------------------------

def _csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_train_resume_of_a_finished_run_says_how_to_extend_it(tinynet, pairs, tmp_path):
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


def test_epochs_csv_keeps_the_losses_of_an_epoch_split_by_a_resume(tinynet, pairs, tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    args = ["--method", "tinynet", *TINY, "--epochs", "1"]
    assert _run("train", str(pairs), "--out", str(whole), *args).exit_code == 0
    assert _run("train", str(pairs), "--out", str(split), *args, "--steps", "1").exit_code == 0
    resumed = _run("train", "--resume", str(split), "--steps", "2")
    assert resumed.exit_code == 0, resumed.output
    (row_whole,), (row_split,) = _csv_rows(whole / "epochs.csv"), _csv_rows(split / "epochs.csv")
    assert row_split["step"] == "2"
    assert float(row_split["l1"]) == pytest.approx(float(row_whole["l1"]), rel=1e-5)


def test_train_summary_speed_is_the_runs_mean(tinynet, pairs, tmp_path):
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


def test_train_amp_fp16_on_cpu_is_refused_with_the_reason(tinynet, pairs, tmp_path):
    result = _run("train", str(pairs), "--method", "tinynet", "--out", str(tmp_path / "run"), *TINY,
                  "--amp", "fp16")
    assert result.exit_code == 2
    assert "--amp fp16: float16 mixed precision needs a CUDA GPU" in result.output
    assert "use --amp off, or bf16" in result.output


def test_train_wrong_layout_names_only_existing_options(tinynet, tmp_path):
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


# --- item 7: eval ------------------------------------------------------------------------------

LONG_METHOD = """
    import flashcli
    from flashcli.enhancer import Enhancer

    class Long(Enhancer):
        name = "a-method-with-a-really-very-long-plugin-name"
        description = "Halves the flash image."

        def enhance(self, flash):
            return flash * 0.5

    @flashcli.hookimpl
    def flashcli_register_enhancers(register):
        register(Long)
    """


@pytest.fixture
def long_method(tmp_path_factory, monkeypatch):
    site = tmp_path_factory.mktemp("long_site")
    make_dist(site, "fx-long", "1.0", {"long": "fx_long"}, {"fx_long": LONG_METHOD})
    monkeypatch.syspath_prepend(str(site))
    yield "a-method-with-a-really-very-long-plugin-name"
    sys.modules.pop("fx_long", None)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_eval_dataset_problems_once_and_not_failures_of_identity(pairs, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(pairs, data)
    test = data / "test"
    pf.write_png(test / "Lonely_000_flash.png")  # no partner
    (test / "Broken_000_flash.png").write_bytes(b"junk")
    pf.write_png(test / "Broken_000_ambient.png")
    result = _run("eval", str(data), "--methods", "identity,lime")
    assert result.exit_code == 1
    text = result.output
    for name in ("Lonely_000_flash.png", "Broken_000_flash.png"):
        assert text.count(name) == 1, text
    assert f"test{'/'}Broken_000_flash.png: not a readable image" in text  # relative, as the other
    assert str(data) + "/test/Broken" not in text
    report = _json(_run("eval", str(data), "--methods", "identity,lime", "--json"))
    assert {s["method"]: s["failures"] for s in report["summaries"]} == {"identity": 0, "lime": 0}
    assert report["config"]["dataset_problems"] == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: 2 pair(s) of the data could not be used, listed above; the numbers cover the "
        "other images")


def test_eval_title_names_the_pairs_folders(tmp_path):
    flash, ambient = tmp_path / "flashes", tmp_path / "ambients"
    flash.mkdir()
    ambient.mkdir()
    pf.write_png(flash / "x.png")
    pf.write_png(ambient / "x.png")
    result = _run("eval", "--pairs", str(flash), str(ambient), "--methods", "identity")
    assert result.exit_code == 0, result.output
    assert f"flashcli eval: 1 pairs from --pairs {flash} {ambient}" in _flat(result.stdout)
    assert f"from {tmp_path} " not in _flat(result.stdout)


def test_eval_tables_fit_80_columns_without_cutting_numbers(long_method, pairs):
    import re

    result = _run("eval", str(pairs), "--methods", f"identity,lime,{long_method}")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert "…" not in result.stdout
    # every mean ± std is whole: three methods, five metrics (psnr ssim loe de2000 psnr_wb)
    assert len(re.findall(r"\d+\.\d+ ± \d+\.\d+", result.stdout)) == 15
    # the long name wraps inside its column instead of being cut
    assert long_method in "".join(line.split("│")[1].strip() for line in lines if line.count("│") > 3)


def test_plugins_table_fits_80_columns_and_keeps_every_description_word():
    from flashcli.plugins import registry

    result = _run("plugins")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    table = [line for line in lines if line.startswith(("│", "┃", "┏", "└"))]
    assert table and max(map(len, table)) <= 80
    assert "…" not in result.stdout
    cells = " ".join(line.split("│")[5].strip() for line in table if line.count("│") == 6)
    for info in registry().methods.values():
        assert "".join(info.cls.description.split()) in "".join(cells.split())  # folded, not cut


# --- item 9: docs ------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _tracked_text_files() -> list[Path]:
    skip = {".png", ".jpg", ".dng", ".safetensors", ".pt"}
    return [p for p in ROOT.rglob("*") if p.is_file() and p.suffix.lower() not in skip
            and not any(part.startswith(".") or part in ("__pycache__", "runs") for part in
                        p.relative_to(ROOT).parts)]


def test_no_file_cites_the_missing_reference_file():
    missing = "REFERENCE" + ".md"
    citing = [str(p.relative_to(ROOT)) for p in _tracked_text_files()
              if missing in p.read_text(errors="replace")]
    assert citing == []
    method = (ROOT / "docs" / "method.md").read_text()
    for heading in ("## The guided conditional GAN", "## Data: FAID", "## Metrics",
                    "## Baselines", "## Camera facts"):
        assert heading in method


def test_plugins_page_documents_the_trainable_example_it_ships():
    page = (ROOT / "docs" / "plugins.md").read_text()
    package = EXAMPLES / "flashcli-tinynet" / "flashcli_tinynet"
    example = (package / "__init__.py").read_text() + (package / "network.py").read_text()
    assert "docs/examples/flashcli-tinynet" in page
    assert "def __init__(self, modules: dict[str, nn.Module]," in page  # the signature
    assert "What `training_task(config)` receives" in page and "config.resuming" in page
    # the task shown on the page is the one the tests train
    for line in ("super().__init__({\"network\": network}, {\"network\": make_adam(network.parameters(), lr)})",
                 "ctx.update(loss, \"network\")", "return {\"l1\": loss.detach()}"):
        assert line in page and line in example


def test_performance_page_has_no_stale_rows():
    page = (ROOT / "docs" / "performance.md").read_text()
    assert "not installed yet" not in page


def _split_folders(dataset: Path, split: str, dest: Path) -> tuple[Path, Path]:
    """Copy ``dataset/split`` into ``dest/flash`` and ``dest/ambient`` with plain stems."""
    import shutil

    flash, ambient = dest / "flash", dest / "ambient"
    for d in (flash, ambient):
        d.mkdir(parents=True)
    for f in sorted((dataset / split).glob("*.png")):
        stem, role = f.stem.rsplit("_", 1)
        shutil.copy(f, (flash if role == "flash" else ambient) / f"{stem}.png")
    return flash, ambient


def test_train_on_two_folders_with_pairs_and_test_pairs(tinynet, pairs, tmp_path):
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


def test_resume_may_move_the_data_between_a_dataset_and_pairs(tinynet, pairs, tmp_path):
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


def test_train_pairs_without_test_pairs_warns_and_trains(tinynet, pairs, tmp_path):
    train_dirs = _split_folders(pairs, "train", tmp_path / "train")
    result = _run("train", "--pairs", *map(str, train_dirs), "--method", "tinynet",
                  "--out", str(tmp_path / "run"), *TINY, "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert "no --test-pairs FLASH_DIR AMBIENT_DIR given" in result.stderr


def test_train_pairs_problems_and_misuse_are_one_line_each(tinynet, pairs, tmp_path):
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


def test_wrong_layout_error_names_only_options_train_has(tinynet, tmp_path):
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


# --- item 8: start-up without torch --------------------------------------------------------

def _fresh(code: str, **env: str) -> str:
    import os
    import subprocess

    paths = [str(ROOT), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(paths), **env})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _imports_torch(args: list[str], expect: str, **env: str) -> str:
    code = ("import sys; from click.testing import CliRunner; from flashcli.cli import cli; "
            f"r = CliRunner().invoke(cli, {args!r}); "
            f"assert r.exit_code == 0 and {expect!r} in r.output, r.output; "
            "print('torch' in sys.modules)")
    return _fresh(code, **env)


def test_info_does_not_import_torch():
    assert _imports_torch(["info", str(ROOT / "examples" / "shoot")], "flash fired") == "False"


def test_help_and_plugins_do_not_import_torch_with_every_builtin_plugin_loaded():
    # the built-in plugins are imported by every command (they may add commands), so their
    # modules must load without torch; networks and solvers are imported when used
    assert _imports_torch(["--help"], "relight") == "False"
    assert _imports_torch(["relight", "--help"], "--strength") == "False"
    assert _imports_torch(["plugins"], "guided-cgan") == "False"
    assert _imports_torch(["plugins", "--json"], '"lime"') == "False"


def test_help_without_plugins_does_not_import_torch():
    builtin = "identity,lime,srie,deepflash,unet,guided-cgan"
    assert _imports_torch(["--help"], "relight", FLASHCLI_DISABLE_PLUGINS=builtin) == "False"


def test_lazy_plugin_exports_still_import():
    code = ("import sys; from flashcli_lime import lime; from flashcli_guided_cgan import Generator, "
            "GuidedCGANTask; from flashcli_unet import UNet, UNetTask; from flashcli_deepflash import "
            "DeepFlashTask; from flashcli_srie import decompose; print(callable(lime), "
            "Generator.__module__, 'torch' in sys.modules)")
    assert _fresh(code) == "True flashcli_guided_cgan.networks True"
    code = "import flashcli_lime; flashcli_lime.nothing_here"
    import subprocess
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "has no attribute 'nothing_here'" in done.stderr
