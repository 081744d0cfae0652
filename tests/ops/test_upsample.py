"""Edge-aware gain upsampling (flashcli.ops.upsample)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from flashcli.ops.upsample import (
    GainField,
    apply_gain,
    box_mean,
    downscale,
    fit_gain,
    gain_upsample,
    linear_to_srgb,
    srgb_to_linear,
    working_shape,
)


def scene(h: int = 240, w: int = 320, seed: int = 0) -> torch.Tensor:
    """Smooth colours, fine texture, a sharp vertical edge at an odd column, a dark band."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    img = torch.stack([0.3 + 0.4 * xx, 0.2 + 0.5 * yy, 0.6 - 0.3 * xx * yy])[None]
    img = img + 0.04 * torch.randn(1, 3, h, w, generator=g)
    img[..., :, (w * 11) // 20 + 1:] *= 0.3
    img[..., h // 8: h // 5, :] *= 0.1
    return img.clamp(0, 1)


def relight_op(x: torch.Tensor) -> torch.Tensor:
    """A smooth, spatially varying exposure change in linear light."""
    h, w = x.shape[-2:]
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    gain = (0.4 + 0.8 * xx)[None, None]
    return linear_to_srgb(srgb_to_linear(x) * gain).clamp(0, 1)


def test_srgb_round_trip():
    x = torch.linspace(0, 1, 1001)
    assert torch.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-5)
    assert srgb_to_linear(torch.tensor(0.5)).item() == pytest.approx(0.21404, abs=1e-4)


@pytest.mark.parametrize("radius", [1, 3])
def test_box_mean_matches_avg_pool(radius):
    x = torch.rand(2, 3, 17, 23)
    ref = F.avg_pool2d(x, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)
    assert torch.allclose(box_mean(x, radius), ref, atol=1e-5)


def test_unchanged_output_gives_unchanged_image(device):
    full = scene().to(device)
    lo = downscale(full, working_shape(*full.shape[-2:], 80))
    out = gain_upsample(lo, lo.clone(), full)
    assert (out - full).abs().max() < 1e-4


def test_gain_path_reproduces_method_and_keeps_sharp_edge():
    full = scene()
    h, w = full.shape[-2:]
    lo = downscale(full, working_shape(h, w, 80))
    reference = relight_op(full)
    out = gain_upsample(lo, relight_op(lo), full)
    naive = F.interpolate(relight_op(lo), size=(h, w), mode="bilinear", align_corners=False)
    err, err_naive = (out - reference).abs(), (naive - reference).abs()
    assert err.mean() < 0.004
    assert err.mean() < err_naive.mean() / 4
    col = (w * 11) // 20
    edge = slice(col - 2, col + 4)
    assert err[..., edge].mean() < 0.01 < err_naive[..., edge].mean()
    # the step across the edge is as sharp as in the full-resolution reference
    step = (out[..., col] - out[..., col + 1]).mean()
    ref_step = (reference[..., col] - reference[..., col + 1]).mean()
    assert step == pytest.approx(ref_step.item(), rel=0.1)


def test_bands_in_place_and_batch_agree(device):
    full = torch.cat([scene(seed=1), scene(seed=2).flip(-1)]).to(device)
    lo = downscale(full, (60, 80))
    field = fit_gain(lo, relight_op(lo))
    whole = apply_gain(field, full, band_pixels=10**9)
    banded = apply_gain(field, full, band_pixels=320 * 7)
    assert torch.allclose(whole, banded, atol=1e-6)
    one = GainField(field.a[1:], field.b[1:], field.floor, field.low[1:], field.high[1:])
    alone = apply_gain(one, full[1:].clone())
    assert torch.allclose(alone, whole[1:], atol=1e-6)
    copy = full.clone()
    apply_gain(field, copy, out=copy, band_pixels=320 * 13)
    assert torch.allclose(copy, whole, atol=1e-6)


def test_coefficients_are_upsampled_bilinearly():
    h, w = 48, 64
    b = torch.rand(1, 3, 6, 8) + 0.5
    field = GainField(torch.zeros(1, 3, 3, 6, 8), b, floor=0.01)
    full = torch.rand(1, 3, h, w)
    out = apply_gain(field, full, band_pixels=64 * 5)
    gain = F.interpolate(b, size=(h, w), mode="bilinear", align_corners=False)
    expected = linear_to_srgb(gain * (srgb_to_linear(full) + 0.01) - 0.01)
    assert torch.allclose(out, expected, atol=1e-5)


def test_gain_is_clamped_to_fitted_range():
    full = scene()
    lo = downscale(full, (60, 80))
    field = fit_gain(lo, (lo * 0.7).clamp(0, 1))
    outlier = full.clone()
    outlier[..., 5, 5] = torch.tensor([1.0, 0.0, 1.0])
    out = apply_gain(field, outlier)
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_shape_checks_and_working_shape():
    with pytest.raises(ValueError, match=r"lo_in \(1, 3, 4, 4\) and lo_out \(1, 3, 5, 4\) differ"):
        gain_upsample(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 5, 4), torch.rand(1, 3, 8, 8))
    assert working_shape(3000, 4000, 320) == (240, 320)
    assert working_shape(100, 50, 320) == (100, 50)


@pytest.mark.gpu
def test_cuda_matches_cpu():
    full = scene()
    lo = downscale(full, (60, 80))
    cpu = gain_upsample(lo, relight_op(lo), full)
    gpu = gain_upsample(lo.cuda(), relight_op(lo).cuda(), full.cuda())
    assert gpu.device.type == "cuda"
    assert torch.allclose(gpu.cpu(), cpu, atol=1e-4)


def test_strength_interpolates_the_gain_in_log_space():
    from flashcli.ops.look import Look, apply_look
    from flashcli.ops.upsample import linear_gain

    def with_strength(flash, out, s):
        return apply_look(flash, out, Look(strength=s))[0]

    g = torch.Generator().manual_seed(5)
    flash = torch.rand(2, 3, 12, 16, generator=g) * 0.8 + 0.1
    out = (flash * 0.6 + 0.05).clamp(0, 1)
    assert torch.equal(with_strength(flash, out, 0.0), flash)
    assert with_strength(flash, out, 1.0) is out
    half = with_strength(flash, out, 0.5)
    # the half-strength gain is the square root of the full one, pixel by pixel
    full_gain = linear_gain(flash, out)
    half_gain = linear_gain(flash, half)
    assert torch.allclose(half_gain, full_gain.sqrt(), rtol=1e-4, atol=1e-5)
    # and it lies between the flash photo and the full result
    lo, hi = torch.minimum(flash, out), torch.maximum(flash, out)
    assert bool(((half >= lo - 1e-5) & (half <= hi + 1e-5)).all())


def test_8bit_path_matches_the_float_path_within_one_level():
    from flashcli.ops.upsample import apply_gain_u8, downscale_u8

    full = scene(seed=3)
    u8 = (full * 255).round().to(torch.uint8)
    full = u8.float() / 255
    lo = downscale(full, (60, 80))
    assert torch.allclose(downscale_u8(u8, (60, 80)), lo, atol=1e-5)
    field = fit_gain(lo, relight_op(lo))
    ref = (apply_gain(field, full) * 255).round()
    out = apply_gain_u8(field, u8, band_pixels=320 * 5)
    assert out.dtype == torch.uint8
    diff = (out.float() - ref).abs()
    assert diff.max() <= 1 and diff.mean() < 0.05
    same = u8.clone()
    apply_gain_u8(field, same, out=same)  # in place gives the same pixels
    assert torch.equal(same, out)
