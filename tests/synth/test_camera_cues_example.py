"""examples/camera_cues.py (docs/results.md, "What else was measured"): its regression and
one small run of the whole script."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "camera_cues.py"


@pytest.fixture(scope="module")
def cues():
    spec = importlib.util.spec_from_file_location("camera_cues", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ridge_recovers_a_linear_law_and_not_noise(cues):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = 0.5 * x[:, 0] - 2.0 * x[:, 2] + 1.0  # exact: the held-out error is near 0
    assert cues.ridge_mae(x, y, 300, lam=1e-6) < 1e-6
    noise = rng.normal(size=400)  # no law: no better than the spread of N(0, 1), mean |e| 0.8
    assert cues.ridge_mae(x, noise, 300) > 0.6


def test_the_script_reports_every_error_on_renders(cues, tmp_path, monkeypatch):
    out = tmp_path / "cues.json"
    monkeypatch.setattr(sys, "argv", ["camera_cues.py", "--pairs", "8", "--seed", "3",
                                      "--json", str(out)])
    cues.main()
    result = json.loads(out.read_text())
    assert result["pairs"] == 8 and result["held_out"] == 2 and result["kind"] == "photo"
    for key in ("ev_mae_unchanged_level", "ev_mae_photo_features", "ev_mae_exif",
                "ev_mae_features_and_exif", "ev_mae_share_and_exposures"):
        assert math.isfinite(result[key]) and result[key] >= 0
    assert -1 <= result["ev_corr_share_and_exposures"] <= 1
