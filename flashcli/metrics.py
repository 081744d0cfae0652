"""Image quality metrics as the paper's authors computed them (REFERENCE.md §3).

All functions take batches ``N x 3 x H x W`` (a single ``3 x H x W`` image is accepted too)
of floats in [0, 1] on any device and return one value per image as a float tensor of
length N on the same device.

- ``psnr``: ``10 * log10(1 / MSE)`` over all pixels and channels (inf for identical images).
- ``ssim``: scikit-image's ``structural_similarity(a, b, channel_axis=-1,
  gaussian_weights=True, use_sample_covariance=False, data_range=255)`` on the images scaled
  to 0..255: Gaussian window sigma 1.5 truncated at 3.5 sigma (11 x 11), K1 = 0.01,
  K2 = 0.03, mean over the region where the whole window fits (scikit-image crops a 5 px
  border) and over channels.
- ``loe``: lightness order error on the max-over-RGB lightness, downsampled so the short
  side is 50 px.
- ``quantize``: round to the 256 levels of an 8-bit image, as the authors saved outputs.

Sums are computed in float64 (float32 where the device has no float64, e.g. Apple MPS), so
the numbers agree with scikit-image to ~1e-6.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from flashcli.errors import FlashcliError

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
#: Window radius as scipy.ndimage computes it: int(truncate * sigma + 0.5) = 5.
SSIM_RADIUS = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
LOE_SHORT_SIDE = 50
_BAND_MAX = 1024


def _pair(a: torch.Tensor, b: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Check shapes, add a batch axis to single images, and pick the working dtype."""
    if a.ndim == 3:
        a = a.unsqueeze(0)
    if b.ndim == 3:
        b = b.unsqueeze(0)
    if a.ndim != 4 or a.shape[1] != 3:
        raise FlashcliError(f"{what}: expected N x 3 x H x W images, got {tuple(a.shape)}")
    if a.shape != b.shape:
        raise FlashcliError(
            f"{what}: image sizes differ ({tuple(a.shape)} vs {tuple(b.shape)}); "
            "compare images of the same size"
        )
    b = b.to(a.device)
    dtype = _work_dtype(a.device)
    return a.to(dtype), b.to(dtype)


def _work_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round ``x`` (floats in [0, 1]) to 8-bit levels, clipping to [0, 1]; same dtype."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB with peak 1: ``10 * log10(1 / MSE)``; inf where MSE is 0."""
    a, b = _pair(a, b, "psnr")
    mse = (a - b).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(1.0 / mse)


def _gaussian_kernel(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The normalised 1-D Gaussian scipy.ndimage uses (sigma 1.5, radius 5)."""
    x = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
    return (k / k.sum()).to(device=device, dtype=dtype)


def _band(n: int, kernel: torch.Tensor) -> torch.Tensor:
    """An n x (n - 2r) matrix whose columns are the kernel shifted by one: x @ band filters x."""
    k = kernel.numel()
    out = torch.zeros(n, n - k + 1, dtype=kernel.dtype, device=kernel.device)
    cols = torch.arange(n - k + 1, device=kernel.device)
    rows = cols[None, :] + torch.arange(k, device=kernel.device)[:, None]
    out[rows, cols.expand(k, -1)] = kernel[:, None].expand(-1, n - k + 1)
    return out


def _filter_valid(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter of every channel of ``x`` (B x C x H x W), valid region only.

    Up to 1024 px a side this is two matrix products with banded matrices (fast in float64
    on CPU and GPU alike); larger images use depthwise convolutions.
    """
    h, w = x.shape[-2:]
    if max(h, w) <= _BAND_MAX:
        return _band(h, kernel).T @ (x @ _band(w, kernel))
    c = x.shape[1]
    n = kernel.numel()
    x = F.conv2d(x, kernel.view(1, 1, 1, n).expand(c, 1, 1, n), groups=c)
    return F.conv2d(x, kernel.view(1, 1, n, 1).expand(c, 1, n, 1), groups=c)


def ssim_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The SSIM map (N x 3 x (H-10) x (W-10)) over the region scikit-image averages."""
    a, b = _pair(a, b, "ssim")
    side = 2 * SSIM_RADIUS + 1
    if min(a.shape[-2:]) < side:
        raise FlashcliError(
            f"ssim: images of {a.shape[-1]}x{a.shape[-2]} px are too small; "
            f"SSIM needs at least {side}x{side} px"
        )
    a = a * 255.0
    b = b * 255.0
    # One filter pass over the five moments: x, y, x*x, y*y, x*y.
    stack = torch.cat([a, b, a * a, b * b, a * b], dim=1)
    kernel = _gaussian_kernel(a.dtype, a.device)
    ux, uy, uxx, uyy, uxy = _filter_valid(stack, kernel).split(3, dim=1)
    vx = uxx - ux * ux
    vy = uyy - uy * uy
    vxy = uxy - ux * uy
    c1 = (SSIM_K1 * 255.0) ** 2
    c2 = (SSIM_K2 * 255.0) ** 2
    return ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM, equal to scikit-image's Gaussian SSIM on the 0..255 images."""
    return ssim_map(a, b).flatten(1).mean(dim=1)


def _lightness_small(x: torch.Tensor) -> torch.Tensor:
    """Max-over-RGB lightness resized so the short side is 50 px, flattened to N x P."""
    light = x.amax(dim=1, keepdim=True)
    h, w = light.shape[-2:]
    r = LOE_SHORT_SIDE / min(h, w)
    size = (max(1, round(h * r)), max(1, round(w * r)))
    if size != (h, w):
        light = F.interpolate(light, size=size, mode="bilinear", align_corners=False,
                              antialias=size[0] < h)
    return light.flatten(1)


def loe(a: torch.Tensor, b: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Per-image lightness order error of ``a`` against the reference ``b``.

    For every pixel i of the downsampled lightness maps, count the pixels j for which
    ``L_a(i) >= L_a(j)`` and ``L_b(i) >= L_b(j)`` disagree; LOE is the mean count per pixel
    (0 for images with the same lightness order). ``chunk`` bounds the memory used by the
    pairwise comparison (N x chunk x P booleans).
    """
    a, b = _pair(a, b, "loe")
    la = _lightness_small(a)
    lb = _lightness_small(b)
    n, p = la.shape
    total = torch.zeros(n, dtype=torch.float64, device=la.device)
    for start in range(0, p, chunk):
        stop = min(start + chunk, p)
        oa = la[:, start:stop, None] >= la[:, None, :]
        ob = lb[:, start:stop, None] >= lb[:, None, :]
        total += (oa ^ ob).flatten(1).sum(dim=1).to(torch.float64)
    return (total / p).to(la.dtype)

