"""The guided-cgan weights shipped in the package: loadable, documented, and no harm on
renders they never saw (the flash photo itself is the bar)."""

from __future__ import annotations

import json

import torch

from flashcli.methods import create_enhancer
from flashcli.ops.metrics import METRICS, psnr, quantize, ssim
from flashcli.synth import RENDERER_VERSION, render_batch

#: A seed no training or calibration set used.
UNSEEN_SEED = 424242


def test_bundled_weights_load_with_their_architecture_and_provenance():
    enh = create_enhancer("guided-cgan", device="cpu")
    assert enh.config["width"] == 0.25  # taken from the weights, not the option default
    assert enh.config["output"] == "gain"
    path = type(enh).default_weights()
    assert path is not None and path.stat().st_size < 8 * 1024 * 1024
    meta = json.loads(path.with_suffix(".json").read_text())
    prov = meta["provenance"]
    assert "not FAID" in prov["data"]
    assert prov["renderer"]["renderer_version"] == "3"  # the network's last training data
    assert prov["renderer"]["seed"] == 21 and prov["renderer"]["pairs"] == 1000
    # the fall-off head was fitted afterwards, on renders of today's renderer, and predicts
    # the renders it did not see better than one slope for all
    falloff = prov["falloff"]
    assert [d["renderer_version"] for d in falloff["data"]] == [RENDERER_VERSION]
    assert falloff["test"]["mae_stops"] < 0.9 * falloff["test"]["mae_stops_constant"]
    assert float(enh.state_dict()["falloff.weight"].abs().sum()) > 0
    assert any(c.startswith("flashcli train") and "--init bundled" in c for c in prov["commands"])
    previous = prov["previous"]  # fine-tuned from the renderer-v2 model: its recipe is kept
    assert previous["renderer"]["seed"] == 1 and previous["renderer"]["pairs"] == 1500
    assert any(k.startswith("camera.") for k in enh.state_dict())  # the camera stage ships
    assert meta["options"]["spatial"] == prov["calibration"]["chosen"]
    assert meta["metrics"]["test_psnr"] > 15
    assert enh.weights_info["sha256"] and enh.weights_info["bundled"] is True


def test_bundled_model_does_no_harm_on_unseen_renders():
    """On renders of an unseen seed, the bundled model beats the untouched flash photo on at
    least 85 % of pairs in PSNR, SSIM and colour difference (CIEDE2000), and by a clear
    margin on average."""
    flash, ambient, _ = render_batch(UNSEEN_SEED, list(range(20)), (320, 240), "cpu", 0.0)
    flash, ambient = flash.float() / 255, ambient.float() / 255
    out = quantize(create_enhancer("guided-cgan", device="cpu")(flash))
    assert torch.isfinite(out).all()
    p_out, p_in = psnr(out, ambient), psnr(flash, ambient)
    s_out, s_in = ssim(out, ambient), ssim(flash, ambient)
    de2000 = METRICS["de2000"].function
    e_out, e_in = de2000(out, ambient), de2000(flash, ambient)
    assert (p_out > p_in).float().mean() >= 0.85
    assert (s_out > s_in).float().mean() >= 0.85
    assert (e_out < e_in).float().mean() >= 0.85
    assert p_out.mean() > p_in.mean() + 1.0
    assert s_out.mean() > s_in.mean()
    assert e_out.mean() < e_in.mean() - 1.0
