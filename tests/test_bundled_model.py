"""The guided-cgan weights shipped in the package: loadable, documented, and better than
the flash image on renders it never saw."""

from __future__ import annotations

import json

import torch

from flashcli.methods import create_enhancer
from flashcli.metrics import psnr, quantize, ssim
from flashcli.synth import render_batch


def test_bundled_weights_load_with_their_architecture_and_provenance():
    enh = create_enhancer("guided-cgan", device="cpu")
    assert enh.config["width"] == 0.25  # taken from the weights, not the option default
    path = type(enh).default_weights()
    assert path is not None and path.stat().st_size < 8 * 1024 * 1024
    meta = json.loads(path.with_suffix(".json").read_text())
    prov = meta["provenance"]
    assert "not FAID" in prov["data"]
    assert prov["renderer"]["seed"] == 1 and prov["renderer"]["pairs"] == 1000
    assert any(c.startswith("flashcli train") for c in prov["commands"])
    assert meta["metrics"]["test_psnr"] > 15


def test_bundled_model_beats_the_flash_image_on_unseen_renders():
    flash, ambient, _ = render_batch(424242, list(range(6)), (320, 240), "cpu", 0.0)
    flash, ambient = flash.float() / 255, ambient.float() / 255
    out = quantize(create_enhancer("guided-cgan", device="cpu")(flash))
    assert psnr(out, ambient).mean() > psnr(flash, ambient).mean() + 2.0
    assert ssim(out, ambient).mean() > ssim(flash, ambient).mean()
    assert torch.isfinite(out).all()
