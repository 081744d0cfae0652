"""The identity plugin: the flash image unchanged, and the reference row of evaluations."""

from __future__ import annotations

import torch
from flashcli_identity import Identity

from flashcli.methods import create_enhancer
from flashcli.plugins import registry


def test_returns_the_flash_image_unchanged_in_a_new_tensor():
    flash = torch.rand(2, 3, 9, 13)
    out = Identity()(flash)
    assert torch.equal(out, flash) and out.data_ptr() != flash.data_ptr()


def test_is_the_reference_and_runs_without_weights():
    reg = registry()
    assert reg.reference_method() == "identity"
    enhancer = create_enhancer("identity", device="cpu")
    assert not enhancer.needs_weights and enhancer.config == {}
