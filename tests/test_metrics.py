"""flashcli.metrics against scikit-image (PSNR, SSIM) and hand-made LOE cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from flashcli import metrics
from flashcli.errors import FlashcliError

SIZES = [(11, 11), (13, 17), (37, 53), (48, 64)]


def random_uint8(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def natural_uint8(h: int, w: int, seed: int) -> np.ndarray:
    """Smooth shading, hard edges (a disc and a bar) and a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 60 + 120 * (xx / max(w - 1, 1)) * (0.5 + 0.5 * np.cos(yy / max(h, 1) * 3))
    img = np.stack([base, base * 0.8 + 20, 255 - base], axis=-1)
    disc = (yy - h * 0.4) ** 2 + (xx - w * 0.6) ** 2 < (min(h, w) * 0.3) ** 2
    img[disc] = [230, 40, 60]
    img[:, w // 3: w // 3 + max(1, w // 10)] = 15
    img += rng.normal(0, 4, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def degrade(img: np.ndarray, seed: int) -> np.ndarray:
    """A plausible enhancer output: darker, shifted, noisy."""
    rng = np.random.default_rng(seed)
    out = img.astype(np.float64) * 0.7 + 10 + rng.normal(0, 12, img.shape)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def to_tensor(batch: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float() / 255.0


def sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a, b, channel_axis=-1, gaussian_weights=True,
                                 use_sample_covariance=False, data_range=255)


def sk_psnr(a: np.ndarray, b: np.ndarray) -> float:
    return peak_signal_noise_ratio(a / 255.0, b / 255.0, data_range=1.0)


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("make", [random_uint8, natural_uint8])
def test_psnr_and_ssim_match_scikit_image(h, w, make):
    refs = [make(h, w, seed) for seed in range(3)]
    outs = [degrade(r, seed + 10) for seed, r in enumerate(refs)]
    got_ssim = metrics.ssim(to_tensor(outs), to_tensor(refs))
    got_psnr = metrics.psnr(to_tensor(outs), to_tensor(refs))
    assert got_ssim.shape == (3,) and got_psnr.shape == (3,)
    for i in range(3):
        assert abs(float(got_ssim[i]) - sk_ssim(outs[i], refs[i])) < 1e-4
        assert abs(float(got_psnr[i]) - sk_psnr(outs[i], refs[i])) < 1e-3


def test_banded_matrix_filter_equals_shifted_sums():
    # GPUs use banded matrix products, the CPU shifted sums: both give the same valid filter.
    x = torch.rand(2, 5, 19, 26, dtype=torch.float64)
    kernel = metrics._gaussian_kernel(torch.float64, x.device)
    banded = metrics._band(19, kernel).T @ (x @ metrics._band(26, kernel))
    shifted = metrics._shift_add(metrics._shift_add(x, kernel, -1), kernel, -2)
    assert banded.shape == (2, 5, 9, 16)
    assert torch.allclose(banded, shifted, atol=1e-12, rtol=0)


def test_wide_images_and_chunked_batches_still_match(monkeypatch):
    monkeypatch.setattr(metrics, "_PIXELS_PER_CHUNK_CPU", 20 * 1030)  # one image per chunk
    refs = [natural_uint8(12, 1030, 7), natural_uint8(12, 1030, 9)]
    outs = [degrade(r, 8) for r in refs]
    got = metrics.ssim(to_tensor(outs), to_tensor(refs))
    for i in range(2):
        assert abs(float(got[i]) - sk_ssim(outs[i], refs[i])) < 1e-4


def test_ssim_on_float_images_matches_scikit_image_on_scaled_floats():
    a = np.random.default_rng(1).random((21, 30, 3))
    b = np.clip(a + np.random.default_rng(2).normal(0, 0.1, a.shape), 0, 1)
    ta = torch.from_numpy(a).permute(2, 0, 1).float()
    tb = torch.from_numpy(b).permute(2, 0, 1).float()
    ref = structural_similarity(ta.permute(1, 2, 0).double().numpy() * 255,
                                tb.permute(1, 2, 0).double().numpy() * 255, channel_axis=-1,
                                gaussian_weights=True, use_sample_covariance=False,
                                data_range=255)
    assert abs(float(metrics.ssim(ta, tb)) - ref) < 1e-6  # a single 3 x H x W image works too


def test_identical_images_score_perfectly(device):
    x = to_tensor([natural_uint8(20, 24, 0)]).to(device)
    assert torch.isinf(metrics.psnr(x, x)).all()
    assert float(metrics.ssim(x, x)) == pytest.approx(1.0, abs=1e-12)
    assert float(metrics.loe(x, x)) == 0.0


def test_batch_equals_one_by_one(device):
    a = to_tensor([random_uint8(16, 18, s) for s in range(4)]).to(device)
    b = to_tensor([natural_uint8(16, 18, s) for s in range(4)]).to(device)
    whole = metrics.ssim(a, b)
    single = torch.stack([metrics.ssim(a[i], b[i])[0] for i in range(4)])
    assert torch.allclose(whole, single, atol=1e-12, rtol=0)


def test_bad_shapes_are_one_line_errors():
    with pytest.raises(FlashcliError, match="too small"):
        metrics.ssim(torch.rand(1, 3, 10, 40), torch.rand(1, 3, 10, 40))
    with pytest.raises(FlashcliError, match="sizes differ"):
        metrics.psnr(torch.rand(1, 3, 12, 12), torch.rand(1, 3, 12, 13))
    with pytest.raises(FlashcliError, match="N x 3 x H x W"):
        metrics.psnr(torch.rand(1, 1, 12, 12), torch.rand(1, 1, 12, 12))


def test_quantize_rounds_to_8_bit_levels():
    x = torch.tensor([-0.2, 0.0, 0.3, 0.5 / 255, 1.7 / 255, 1.0, 1.3])
    q = metrics.quantize(x)
    assert torch.equal(q * 255, torch.round(q * 255))
    assert q.min() == 0 and q.max() == 1
    assert float(q[4] * 255) == pytest.approx(2.0)
    assert torch.equal(metrics.quantize(q), q)


def gray(values: torch.Tensor) -> torch.Tensor:
    """A 1 x 3 x H x W grey image from an H x W tensor."""
    return values.expand(1, 3, *values.shape).clone()


def test_loe_zero_for_order_preserving_changes():
    x = to_tensor([natural_uint8(50, 60, 3)])
    assert float(metrics.loe(x ** 2.2, x)) == 0.0  # monotone curve keeps the order
    assert float(metrics.loe(x * 0.5, x)) == 0.0


def test_loe_counts_inverted_pairs_exactly():
    side = 50  # already at the 50 px working size: no resampling
    values = torch.arange(side * side, dtype=torch.float64).view(side, side) / (side * side)
    a = values.clone()
    flat = a.view(-1)
    flat[0], flat[-1] = flat[-1].item(), flat[0].item()  # darkest and brightest swap
    p = side * side
    # The two swapped pixels disagree with every other pixel; the rest with both of them.
    expected = (2 * (p - 1) + 2 * (p - 2)) / p
    assert float(metrics.loe(gray(a), gray(values))) == pytest.approx(expected)
    inverted = float(metrics.loe(gray(1 - values), gray(values)))
    assert inverted == pytest.approx(p - 1)  # every other pixel flips order
    # chunking the pairwise comparison does not change the count
    assert float(metrics.loe(gray(a), gray(values), chunk=7)) == pytest.approx(expected)


def test_loe_downsamples_to_short_side_50():
    x = to_tensor([natural_uint8(120, 160, 4)])
    small = metrics._lightness_small(x)
    assert small.shape == (1, 50 * 67)
    y = to_tensor([degrade(natural_uint8(120, 160, 4), 5)])
    assert float(metrics.loe(y, x)) > 0


@pytest.mark.gpu
def test_cuda_matches_cpu():
    a = to_tensor([natural_uint8(240, 320, s) for s in range(4)])
    b = to_tensor([degrade(natural_uint8(240, 320, s), s) for s in range(4)])
    for fn in (metrics.psnr, metrics.ssim, metrics.loe):
        cpu = fn(a, b)
        gpu = fn(a.cuda(), b.cuda())
        assert gpu.device.type == "cuda"
        assert torch.allclose(gpu.cpu(), cpu, atol=1e-9, rtol=1e-9)
