"""The camera: primary rays, exposure metering, sensor noise, tone curve and 8-bit output."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from flashcli.synth.scene import Camera

_LUMA = (0.2126, 0.7152, 0.0722)


def primary_rays(cam: Camera, width: int, height: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Ray origins and unit directions through the pixel centres, row-major: (H W) x 3 each."""
    f = cam.focal(width)
    ys, xs = torch.meshgrid(torch.arange(height, device=device, dtype=torch.float32),
                            torch.arange(width, device=device, dtype=torch.float32), indexing="ij")
    x = ((xs + 0.5 - width / 2) / f).reshape(-1, 1)
    y = (-(ys + 0.5 - height / 2) / f).reshape(-1, 1)
    r, u, fw = (v.to(device) for v in (cam.right, cam.up, cam.forward))
    d = fw + x * r + y * u
    d = d / d.norm(dim=-1, keepdim=True)
    return cam.position.to(device).expand_as(d), d


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """Relative luminance of linear RGB rows (N x 3) -> N."""
    return rgb @ torch.tensor(_LUMA, device=rgb.device, dtype=rgb.dtype)


def vignette(height: int, width: int, strength: float, device: torch.device) -> torch.Tensor:
    """Radial fall-off, 1 at the centre and 1 - strength in the corners: H x W."""
    ys = torch.linspace(-1, 1, height, device=device).view(-1, 1)
    xs = torch.linspace(-1, 1, width, device=device).view(1, -1)
    return 1 - strength * (xs * xs + ys * ys) / 2


def _soften(img: torch.Tensor) -> torch.Tensor:
    """A 3x3 lens blur (also anti-aliases the one-sample-per-pixel render): 3 x H x W."""
    k = torch.tensor([0.2, 0.6, 0.2], device=img.device, dtype=img.dtype)
    kernel = (k.view(-1, 1) * k.view(1, -1)).expand(3, 1, 3, 3)
    return F.conv2d(F.pad(img.unsqueeze(0), (1, 1, 1, 1), mode="replicate"), kernel, groups=3)[0]


def tone_curve(x: torch.Tensor, contrast: float) -> torch.Tensor:
    """Camera rendering: clip, sRGB transfer, then a gentle S-curve (monotonic for contrast < 1)."""
    x = x.clamp(0, 1)
    s = torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)
    return (s - contrast * torch.sin(2 * math.pi * s) / (2 * math.pi)).clamp(0, 1)


def develop(linear: torch.Tensor, *, noise: torch.Tensor, gain: float, floor: float, contrast: float,
            vignette_map: torch.Tensor) -> torch.Tensor:
    """Exposed linear image (3 x H x W) -> uint8 sRGB with shot and read noise.

    ``noise`` holds standard normal samples of the same shape (drawn by the caller, so the
    result does not depend on the device's random number generator).
    """
    img = _soften(linear * vignette_map)
    sigma = (gain * img.clamp_min(0) + floor).sqrt()
    img = img + sigma * noise
    return (tone_curve(img, contrast) * 255).round().to(torch.uint8)
