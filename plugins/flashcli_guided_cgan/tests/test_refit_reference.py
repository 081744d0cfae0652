"""The guided refit of the gain output (``refine_radius``) against a reference written
here in NumPy/SciPy, float64, from the guided filter's definition (He et al., "Guided Image
Filtering"; docs/method.md): per window of radius r, the linear-light gain of the raw output
over the photo is fitted as an affine function of the photo's three colours (ridge eps),
the coefficients are averaged over the same windows, evaluated at every pixel and clamped
to the range of the raw gain."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from flashcli_guided_cgan import GuidedCGAN
from scipy.ndimage import uniform_filter

W = 0.125
EPS, FLOOR = 1e-3, 1e-2


def _srgb_to_linear(v):
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(v):
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def _mean(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over the (2r+1)^2 window of each pixel, over the pixels inside the image."""
    size = 2 * r + 1
    ones = np.ones(x.shape[-2:])
    count = uniform_filter(ones, size, mode="constant", cval=0.0)
    return uniform_filter(x, (1,) * (x.ndim - 2) + (size, size), mode="constant", cval=0.0) / count


def reference_refit(flash: np.ndarray, raw: np.ndarray, r: int) -> np.ndarray:
    """3 x H x W sRGB photo and raw output (float64) -> the refitted output."""
    lin = _srgb_to_linear(flash)
    p = (_srgb_to_linear(raw) + FLOOR) / (lin + FLOOR)  # the gain, c x H x W
    mi, mp = _mean(flash, r), _mean(p, r)
    sigma = _mean(flash[:, None] * flash[None, :], r) - mi[:, None] * mi[None, :]
    sigma = sigma + EPS * np.eye(3)[:, :, None, None]
    cov = _mean(p[:, None] * flash[None, :], r) - mp[:, None] * mi[None, :]  # c, k
    # a[c] = sigma^-1 cov[c], per pixel
    s = np.moveaxis(sigma, (0, 1), (-2, -1))  # H, W, 3, 3
    rhs = np.moveaxis(cov, (0, 1), (-1, -2))  # H, W, 3(k), 3(c)
    a = np.moveaxis(np.linalg.solve(s, rhs), (-2, -1), (1, 0))  # c, k, H, W
    b = mp - (a * mi[None]).sum(1)
    a, b = _mean(a, r), _mean(b, r)
    gain = (a * flash[None]).sum(1) + b
    gain = np.clip(gain, p.min((1, 2), keepdims=True), p.max((1, 2), keepdims=True))
    return _linear_to_srgb((lin + FLOOR) * gain - FLOOR)


def _textured(h: int = 40, w: int = 56, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = torch.stack([0.3 + 0.4 * xx, 0.25 + 0.3 * yy, 0.5 - 0.3 * xx * yy])[None]
    return (base + 0.2 * torch.rand(1, 3, h, w, generator=g)).clamp(0, 1)


def _pair(radius: int) -> tuple[GuidedCGAN, GuidedCGAN]:
    """The same random network with the refit off and at ``radius``."""
    torch.manual_seed(0)
    raw = GuidedCGAN(width=W, output="gain", gain_cell=2, refine_radius=0)
    g = torch.Generator().manual_seed(1)
    net = raw.network
    with torch.no_grad():
        net.decoder.out.weight.copy_(torch.randn(net.decoder.out.weight.shape, generator=g) * 8.0)
        net.decoder.out.bias.copy_(torch.randn(3, generator=g) * 0.3)
        net.camera.mlp[-1].bias.copy_(torch.tensor([-0.4, -0.6, -0.9]))
    refit = GuidedCGAN(width=W, output="gain", gain_cell=2, refine_radius=radius)
    refit.network.load_state_dict(net.state_dict())
    return raw, refit


@pytest.mark.parametrize("radius", [1, 4, 12])
def test_refit_matches_the_reference(radius):
    flash = _textured()
    raw, refit = _pair(radius)
    with torch.no_grad():
        before, after = raw(flash), refit(flash)
    expected = reference_refit(flash[0].double().numpy(), before[0].double().numpy(), radius)
    assert np.abs(before[0].numpy() - expected).max() > 0.01  # the refit does something
    assert np.abs(after[0].double().numpy() - expected).max() < 1e-4


def test_the_radius_matters():
    flash = _textured()
    outs = {}
    for radius in (1, 12):
        _, refit = _pair(radius)
        with torch.no_grad():
            outs[radius] = refit(flash)
    assert (outs[1] - outs[12]).abs().max() > 0.05
