"""The shared VGG-16 encoder / symmetric decoder blocks (flashcli.nn)."""

from __future__ import annotations

import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers

from flashcli.errors import FlashcliError
from flashcli.nn import (
    SymmetricDecoder,
    VGG16Encoder,
    VGGEncoderDecoder,
    init_vgg16_encoder,
    read_vgg16_file,
    vgg16_channels,
)

W = 1 / 16


@pytest.mark.parametrize("size", [(37, 53), (53, 37), (33, 33), (24, 32), (7, 5), (1, 1)])
def test_encoder_decoder_any_size(size):
    torch.manual_seed(0)
    net = VGGEncoderDecoder(W)
    x = torch.rand(2, 3, *size)
    skips = net.encoder(x)
    assert [s.shape[1] for s in skips] == vgg16_channels(W) == [4, 8, 16, 32, 32]
    h, w = size
    for s in skips:  # each pool halves, rounding up
        assert s.shape[-2:] == (h, w)
        h, w = -(-h // 2), -(-w // 2)
    y = net(x)
    assert y.shape == x.shape
    assert 0 < y.min() and y.max() < 1  # sigmoid head


def test_heads_and_channels_last():
    x = torch.rand(1, 3, 19, 26)
    assert VGGEncoderDecoder(W, head="tanh")(x).min() >= -1
    raw = VGGEncoderDecoder(W, out_channels=2, head="none")
    assert raw(x).shape == (1, 2, 19, 26)
    raw.to(memory_format=torch.channels_last)
    assert raw(x.contiguous(memory_format=torch.channels_last)).shape == (1, 2, 19, 26)
    with pytest.raises(ValueError, match="head must be one of"):
        VGGEncoderDecoder(W, head="relu")


def test_encoder_is_torchvision_vgg16_layout():
    enc = VGG16Encoder(1.0)
    reference = make_layers(cfgs["D"])  # what torchvision.models.vgg16().features is made of
    ours = {k: v.shape for k, v in enc.state_dict().items()}
    theirs = {f"features.{k}": v.shape for k, v in reference.state_dict().items()}
    assert ours == theirs
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in enc.features) == 4  # none after block 5
    assert vgg16_channels(1.0) == [64, 128, 256, 512, 512]


def test_decoder_structure():
    dec = SymmetricDecoder(1.0)
    convs = [sum(isinstance(m, torch.nn.Conv2d) for m in lvl.convs) for lvl in dec.levels]
    assert convs == [3, 2, 2, 2]
    assert [lvl.up.out_channels for lvl in dec.levels] == [512, 256, 128, 64]
    assert all(lvl.up.kernel_size == (3, 3) and lvl.up.stride == (2, 2) for lvl in dec.levels)
    assert dec.out.out_channels == 3


@pytest.fixture(scope="module")
def vgg16_state():
    """A torchvision-style vgg16 state dict: random features + a classifier entry."""
    g = torch.Generator().manual_seed(3)
    features = make_layers(cfgs["D"]).state_dict()
    state = {f"features.{k}": torch.randn(v.shape, generator=g) for k, v in features.items()}
    state["classifier.6.bias"] = torch.zeros(10)
    return state


def _vgg16_file(tmp_path, state, suffix=".pth"):
    """Write ``state`` as a .pth or .safetensors file."""
    path = tmp_path / f"vgg16{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path, state


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_vgg_weights_file_loads_exactly(tmp_path, suffix, vgg16_state):
    path, state = _vgg16_file(tmp_path, vgg16_state, suffix)
    enc = VGG16Encoder(1.0)
    assert init_vgg16_encoder(enc, pretrained=None, vgg_weights=path) == f"file:{path}"
    for key, value in enc.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert "features.0.weight" in read_vgg16_file(path)


def test_vgg_weights_errors(tmp_path, vgg16_state):
    path, _ = _vgg16_file(tmp_path, vgg16_state)
    with pytest.raises(FlashcliError, match="only at width 1.0"):
        init_vgg16_encoder(VGG16Encoder(W), vgg_weights=path)
    with pytest.raises(FlashcliError, match="not found"):
        read_vgg16_file(tmp_path / "missing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(FlashcliError, match="junk.pth: "):
        read_vgg16_file(junk)
    other = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, other)
    with pytest.raises(FlashcliError, match="no VGG-16"):
        read_vgg16_file(other)


def test_pretrained_offline_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    with pytest.raises(FlashcliError, match="vgg_weights=FILE") as err:
        init_vgg16_encoder(VGG16Encoder(1.0), pretrained=True)
    message = err.value.message
    assert "vgg_weights=FILE" in message and "--no-pretrained" in message
    assert "\n" not in message


def test_pretrained_from_hub_cache(tmp_path, monkeypatch, vgg16_state):
    """Weights already in the torch hub cache load without any download."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path, state = _vgg16_file(tmp_path, vgg16_state)
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    path.rename(cache / "vgg16-397923af.pth")
    enc = VGG16Encoder(1.0)
    assert init_vgg16_encoder(enc, pretrained=True) == "imagenet"
    assert torch.equal(enc.features[0].weight, state["features.0.weight"])


def test_scratch_and_auto():
    enc = VGG16Encoder(W)
    before = enc.features[0].weight.clone()
    assert init_vgg16_encoder(enc, pretrained=None) == "scratch"  # auto: narrow -> scratch
    assert init_vgg16_encoder(VGG16Encoder(1.0), pretrained=False) == "scratch"
    assert torch.equal(enc.features[0].weight, before)
    with pytest.raises(FlashcliError, match="--no-pretrained"):
        init_vgg16_encoder(enc, pretrained=True)
