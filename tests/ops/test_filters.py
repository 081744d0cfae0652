"""The bilateral filter against a plain per-pixel NumPy loop, and its behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from flashcli.ops.filters import band_rows, bilateral_filter, window_offsets


def reference_bilateral(img: np.ndarray, window: int, sigma_space: float, sigma_range: float,
                        distance: str = "l1") -> np.ndarray:
    """Textbook bilateral filter, one pixel at a time (C x H x W, float64, reflect-101)."""
    c, h, w = img.shape
    r = window // 2
    padded = np.pad(img, ((0, 0), (r, r), (r, r)), mode="reflect")
    out = np.zeros_like(img)
    for y in range(h):
        for x in range(w):
            centre = img[:, y, x]
            num = np.zeros(c)
            den = np.zeros(c)
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    if dy * dy + dx * dx > r * r:
                        continue
                    q = padded[:, y + r + dy, x + r + dx]
                    if distance == "l1":
                        d2 = np.abs(q - centre).sum() ** 2 * np.ones(c)
                    elif distance == "l2":
                        d2 = ((q - centre) ** 2).sum() * np.ones(c)
                    else:
                        d2 = (q - centre) ** 2
                    space = math.exp(-(dy * dy + dx * dx) / (2 * sigma_space**2))
                    wgt = space * np.exp(-d2 / (2 * sigma_range**2))
                    num += wgt * q
                    den += wgt
            out[:, y, x] = num / den
    return out


@pytest.mark.parametrize("distance", ["l1", "l2", "channel"])
def test_matches_per_pixel_reference(distance):
    rng = np.random.default_rng(0)
    img = rng.random((3, 9, 11))
    expected = reference_bilateral(img, 7, 7.0, 0.4, distance)
    got = bilateral_filter(torch.from_numpy(img).float()[None], 7, 7.0, 0.4, distance)[0]
    assert np.abs(got.double().numpy() - expected).max() < 1e-5


def test_other_window_and_sigmas_match_reference():
    rng = np.random.default_rng(1)
    img = rng.random((3, 8, 6))
    expected = reference_bilateral(img, 5, 1.5, 0.1)
    got = bilateral_filter(torch.from_numpy(img)[None], 5, 1.5, 0.1)[0]
    assert got.dtype == torch.float64
    assert np.abs(got.numpy() - expected).max() < 1e-10


def test_bands_give_the_same_result_as_one_pass():
    x = torch.rand(2, 3, 37, 23)
    whole = bilateral_filter(x)
    assert band_rows(23, 3, 2, band_elements=2 * 3 * 29 * 10) < 37
    banded = bilateral_filter(x, band_elements=2 * 3 * 29 * 10)
    one_row = bilateral_filter(x, band_elements=1)
    assert torch.allclose(whole, banded, atol=1e-6)
    assert torch.allclose(whole, one_row, atol=1e-6)


def test_batch_items_are_filtered_independently():
    x = torch.rand(3, 3, 12, 10)
    batched = bilateral_filter(x)
    for i in range(3):
        assert torch.allclose(batched[i], bilateral_filter(x[i]), atol=1e-6)


def test_edge_preserved_noise_smoothed():
    gen = torch.Generator().manual_seed(0)
    clean = torch.zeros(1, 3, 24, 24)
    clean[..., 12:] = 0.8  # vertical step edge
    noisy = clean + 0.02 * torch.randn(clean.shape, generator=gen)
    out = bilateral_filter(noisy, 7, 7.0, 0.1)
    # Edge stays sharp: the columns either side of it keep their levels.
    assert (out[..., 11].mean() - 0.0).abs() < 0.01
    assert (out[..., 12].mean() - 0.8).abs() < 0.01
    # Noise on the flat sides is reduced.
    assert (out - clean).std() < 0.5 * (noisy - clean).std()
    # A plain Gaussian of the same spatial extent would blur the edge instead.
    blurred = bilateral_filter(noisy, 7, 7.0, 1e6)
    assert (blurred[..., 11].mean() - 0.0).abs() > 0.1


def test_constant_image_unchanged_and_range_kept():
    x = torch.full((1, 3, 5, 8), 0.3)
    assert torch.allclose(bilateral_filter(x), x, atol=1e-6)
    y = bilateral_filter(torch.rand(2, 3, 16, 16))
    assert y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (1, 3, 2, 5), (2, 3, 3, 1), (1, 1, 4, 4)])
def test_tiny_images(shape):
    x = torch.rand(shape)
    y = bilateral_filter(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_half_input_keeps_dtype():
    x = torch.rand(1, 3, 10, 10)
    y = bilateral_filter(x.half())
    assert y.dtype == torch.float16
    assert torch.allclose(y.float(), bilateral_filter(x), atol=2e-3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="window must be a positive odd number, got 4"):
        bilateral_filter(torch.rand(1, 3, 4, 4), window=4)
    with pytest.raises(ValueError, match="sigmas must be positive"):
        bilateral_filter(torch.rand(1, 3, 4, 4), sigma_range=0)
    with pytest.raises(ValueError, match="distance must be one of .*got 'linf'"):
        bilateral_filter(torch.rand(1, 3, 4, 4), distance="linf")
    with pytest.raises(ValueError, match=r"N x C x H x W tensor, got shape \(4, 4\)"):
        bilateral_filter(torch.rand(4, 4))


def test_window_offsets_circular():
    assert len(window_offsets(7)) == 29
    assert len(window_offsets(1)) == 1


@pytest.mark.gpu
def test_cuda_matches_cpu():
    x = torch.rand(2, 3, 40, 30)
    assert torch.allclose(bilateral_filter(x.cuda()).cpu(), bilateral_filter(x), atol=1e-5)
