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
