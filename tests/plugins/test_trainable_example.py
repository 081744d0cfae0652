"""The trainable example plugin of docs/plugins.md (docs/examples/flashcli-tinynet): it
trains and relights, and the page shows the code it ships."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import photo_factory as pf
import pytest
from pair_factory import write_pair_dataset
from plugin_dist import make_dist

from tests.clitools import run as _run

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


TINY = ["--crop-size", "16", "--batch-size", "2", "--device", "cpu"]


def _json(result) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{"):])


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_pair_dataset(tmp_path_factory.mktemp("pairs"), n_train=4, n_test=1, size=(24, 20))


@pytest.fixture
def tinynet(tmp_path, monkeypatch):
    site = tmp_path / "site"
    shutil.copytree(EXAMPLES / "flashcli-tinynet" / "flashcli_tinynet", site / "flashcli_tinynet")
    make_dist(site, "flashcli-tinynet", "0.1.0", {"tinynet": "flashcli_tinynet"})
    monkeypatch.syspath_prepend(str(site))
    yield site
    for mod in [m for m in sys.modules if m.startswith("flashcli_tinynet")]:
        del sys.modules[mod]


ROOT = Path(__file__).resolve().parents[2]


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
