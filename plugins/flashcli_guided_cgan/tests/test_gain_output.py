"""The gain output of the guided cGAN: detail kept by construction, smooth gain, clean borders."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from flashcli_guided_cgan import GuidedCGAN
from flashcli_guided_cgan.networks import Generator, apply_log_gain, pad_for_network

from flashcli.ops.upsample import srgb_to_linear

W = 0.125


def _textured(n: int = 2, h: int = 48, w: int = 64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, 1, 1, generator=g) * 0.5 + 0.2
    return (base + 0.25 * torch.rand(n, 3, h, w, generator=g)).clamp(0, 1)


def _randomise_head(gen: Generator, scale: float = 0.5, seed: int = 1) -> None:
    """Random last layers for the spatial field's decoder and the camera stage."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        gen.decoder.out.weight.copy_(torch.randn(gen.decoder.out.weight.shape, generator=g) * scale)
        gen.decoder.out.bias.copy_(torch.randn(3, generator=g) * 0.3)
        last = gen.camera.mlp[-1]
        last.weight.copy_(torch.randn(last.weight.shape, generator=g) * 0.3)
        last.bias.copy_(torch.tensor([-0.4, -0.6, -0.9]))  # darker and warmer


def test_untrained_gain_generator_changes_nothing():
    flash = _textured()
    out = GuidedCGAN(width=W, output="gain")(flash)
    assert (out - flash).abs().max() < 1e-5


def test_gain_output_keeps_the_photo_detail():
    gen = Generator(W, output="gain").eval()
    _randomise_head(gen)
    flash = _textured(h=64, w=80)
    with torch.no_grad():
        out = gen(flash)
    assert (out - flash).abs().mean() > 0.01  # it does relight
    # the change is a smooth multiplicative field: log ratio varies far less than the photo
    ratio = (srgb_to_linear(out) + 1e-3).log() - (srgb_to_linear(flash) + 1e-3).log()
    inside = (out > 0.02) & (out < 0.98)

    def roughness(x):
        return (x[..., 1:, :] - x[..., :-1, :]).abs()[inside[..., 1:, :]].mean()

    assert roughness(ratio) < 0.2 * roughness((srgb_to_linear(flash) + 1e-3).log())


def test_gain_is_smooth_and_bounded():
    gen = Generator(W, output="gain", max_stops=2.0).eval()
    _randomise_head(gen, scale=5.0)
    with torch.no_grad():
        g = gen.log_gain(_textured(h=64, w=96))
    assert g.shape == (2, 3, 64, 96)
    assert g.abs().max() <= 2.0 + 1e-5
    blurred = F.avg_pool2d(g, 5, 1, 2, count_include_pad=False)
    assert (g - blurred).abs().mean() < 0.1 * g.std()


def test_apply_log_gain_is_a_linear_light_gain():
    flash = torch.full((1, 3, 4, 4), 0.5)
    out = apply_log_gain(flash, torch.full((1, 3, 4, 4), -1.0))  # one stop down
    assert torch.allclose(srgb_to_linear(out), srgb_to_linear(flash) / 2, atol=1e-5)


def test_reflection_padding_box_and_odd_sizes():
    x = torch.rand(1, 3, 37, 53)
    padded, (top, left, h, w) = pad_for_network(x)
    assert padded.shape[-2] % 16 == 0 and padded.shape[-1] % 16 == 0
    assert torch.equal(padded[..., top:top + h, left:left + w], x)
    for output in ("image", "gain"):
        assert GuidedCGAN(width=W, output=output)(x).shape == x.shape


def test_camera_and_spatial_shares_apply_at_inference_only():
    torch.manual_seed(0)
    full = GuidedCGAN(width=W, output="gain", refine_radius=0)
    _randomise_head(full.network)
    shared = GuidedCGAN(width=W, output="gain", camera=0.5, spatial=0.25, refine_radius=0)
    shared.network.load_state_dict(full.network.state_dict())
    flash = _textured(h=48, w=64)
    full.network.eval()
    with torch.no_grad():
        levels = full.network.camera(flash)
        field = full.network.spatial_field(flash)
        expected = apply_log_gain(flash, 3.0 * torch.tanh((0.5 * levels[:, :, None, None] + 0.25 * field) / 3.0))
    assert torch.allclose(shared(flash), expected.clamp(0, 1), atol=1e-5)
    assert not torch.allclose(full(flash), shared(flash), atol=1e-3)
    with torch.no_grad():  # training sees the network itself, whole
        assert torch.allclose(shared.network(flash), full.network(flash))


def test_spatial_field_moves_light_without_tinting_it():
    """Zero mean per photo and channel (the camera stage sets the level) and the same in
    every channel (no grey or cyan patches); spatial_colour=1 keeps the field's colour."""
    gen = Generator(W, output="gain").eval()
    _randomise_head(gen, scale=2.0)
    ramp = torch.linspace(0.3, 1.0, 80).view(1, 1, 1, -1)  # light falling off across the photo
    flash = _textured(h=64, w=80) * ramp
    with torch.no_grad():
        field = gen.spatial_field(flash)
        out = gen(flash)
    assert field.abs().mean() > 0.02  # there is a field
    assert field.mean((-2, -1)).abs().max() < 0.02
    assert (field - field[:, :1]).abs().max() < 1e-5
    # the output's colour change is the camera stage's alone: one cast for the whole photo
    ok = (out < 0.98).all(1) & (flash > 0.02).all(1)
    ratio = torch.log2(srgb_to_linear(out) / srgb_to_linear(flash))
    for i in range(len(flash)):
        cast = (ratio[i, 0] - ratio[i, 2])[ok[i]]
        assert cast.std() < 0.02 and cast.mean().abs() > 0.2
    coloured = Generator(W, output="gain", spatial_colour=1.0).eval()
    coloured.load_state_dict(gen.state_dict())
    with torch.no_grad():
        tinted = coloured.spatial_field(flash)
    assert (tinted - tinted[:, :1]).abs().max() > 0.05


def test_refinement_keeps_a_uniform_gain_and_is_applied():
    """The guided refinement refits the gain as a local affine function of the photo's
    colours: a uniform gain comes through unchanged, and with a varying gain the enhancer's
    output differs from the unrefined one."""
    from flashcli.ops.upsample import apply_gain, fit_gain

    flash = _textured(h=48, w=64)
    uniform = apply_log_gain(flash, torch.full_like(flash, -0.5))
    refined = apply_gain(fit_gain(flash, uniform, radius=12), flash)
    assert (refined - uniform).abs().max() < 2e-3
    torch.manual_seed(0)
    raw = GuidedCGAN(width=W, output="gain", refine_radius=0)
    _randomise_head(raw.network)
    ref = GuidedCGAN(width=W, output="gain")
    ref.network.load_state_dict(raw.network.state_dict())
    assert (ref(flash) - raw(flash)).abs().mean() > 1e-4
