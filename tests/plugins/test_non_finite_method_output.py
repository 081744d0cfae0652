"""A method whose output is not finite (NaN): relight fails that photo and writes nothing,
eval counts it as a failure of that method."""

from __future__ import annotations

import json
import sys

import photo_factory as pf
import pytest
from pair_factory import write_pair_dataset
from plugin_dist import make_dist

from tests.clitools import run as _run

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


def _json(result) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{"):])


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
