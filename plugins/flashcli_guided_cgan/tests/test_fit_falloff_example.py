"""examples/fit_falloff.py: one small run of the whole script on renders and tiny weights."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from flashcli_guided_cgan import GuidedCGAN

from flashcli.cli import cli
from flashcli.methods import create_enhancer
from flashcli.weights import load_weights, save_weights

SCRIPT = Path(__file__).resolve().parents[3] / "examples" / "fit_falloff.py"


def test_the_script_fits_and_stores_the_head_and_keeps_every_other_tensor(tmp_path, monkeypatch):
    data = tmp_path / "renders"
    r = CliRunner().invoke(cli, ["synth", str(data), "--pairs", "9", "--size", "64x48", "--seed", "5",
                                 "--test-fraction", "0.34", "-q"])
    assert r.exit_code == 0, r.output
    torch.manual_seed(0)
    model = GuidedCGAN(width=0.125, output="gain")
    old = save_weights(tmp_path / "old.safetensors", model.state_dict(),
                       {"method": "guided-cgan", "options": {"width": 0.125, "output": "gain"},
                        "provenance": {"data": "tiny test weights"}})
    new = tmp_path / "new.safetensors"
    spec = importlib.util.spec_from_file_location("fit_falloff", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["fit_falloff.py", str(data), "--weights", str(old), "--out", str(new),
                                      "--command", "the test's command"])
    module.main()

    state_old, _ = load_weights(old)
    state, meta = load_weights(new)
    assert {k for k in state if not k.startswith("falloff.")} == {k for k in state_old if not k.startswith("falloff.")}
    assert all(torch.equal(state[k], v) for k, v in state_old.items() if not k.startswith("falloff."))
    assert float(state["falloff.weight"].abs().sum()) > 0 and torch.isfinite(state["falloff.weight"]).all()
    report = meta["provenance"]["falloff"]
    assert report["pairs"] == {"train": 6, "test": 3}
    assert report["data"][0]["renderer_version"] and "done" not in report["data"][0]
    assert report["commands"] == ["the test's command"]
    assert all(math.isfinite(report[s][k]) for s in ("train", "test") for k in ("mae_stops", "mae_stops_constant"))
    assert meta["provenance"]["data"].startswith("tiny test weights; fall-off fitted on 6 renders (renderer v")

    # the head's predictions are a ridge regression's (penalty 10 on the standardised
    # statistics, the intercept free), solved here as least squares on stacked rows
    enh = create_enhancer("guided-cgan", weights=new, device="cpu")
    x, y = module.features_and_slopes(create_enhancer("guided-cgan", {"falloff": 0.0}, old, device="cpu"),
                                      data, "train")
    z = (x.double().numpy() - x.double().numpy().mean(0)) / (x.double().numpy().std(0) + 1e-6)
    k = z.shape[1]
    a = np.r_[np.c_[z, np.ones(len(z))], np.c_[np.sqrt(10.0) * np.eye(k), np.zeros(k)]]
    coef = np.linalg.lstsq(a, np.r_[y.double().numpy(), np.zeros(k)], rcond=None)[0]
    want = np.clip(np.clip(z, -6, 6) @ coef[:-1] + coef[-1], -3, 3)
    assert np.allclose(enh.network.falloff.from_features(x).numpy(), want, atol=1e-3)
    assert math.isclose(report["train"]["mean_true"], float(y.mean()), abs_tol=1e-6)


def test_the_script_refuses_a_data_set_without_a_test_split(tmp_path, monkeypatch):
    data = tmp_path / "renders"
    r = CliRunner().invoke(cli, ["synth", str(data), "--pairs", "2", "--size", "32x24", "--test-fraction", "0", "-q"])
    assert r.exit_code == 0, r.output
    spec = importlib.util.spec_from_file_location("fit_falloff", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["fit_falloff.py", str(data), "--out", str(tmp_path / "w.safetensors")])
    with pytest.raises(SystemExit, match=r"renders/test: split folder not found \(found train\)"):
        module.main()
    assert not (tmp_path / "w.safetensors").exists()
