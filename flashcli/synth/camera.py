"""The camera: primary rays, then what a camera or phone does to every frame it takes.

Per frame: lens blur and vignetting, auto-exposure metered on the frame's own luminance (with
a realistic error), sensor noise at the frame's ISO (shot + read, in linear raw), auto white
balance estimated from the frame itself, a tone curve, and 8-bit output.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from flashcli.synth.illuminants import locus_table
from flashcli.synth.scene import Camera, CameraModel

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


def soften(img: torch.Tensor) -> torch.Tensor:
    """A 3x3 lens blur (also anti-aliases the one-sample-per-pixel render): 3 x H x W."""
    k = torch.tensor([0.2, 0.6, 0.2], device=img.device, dtype=img.dtype)
    kernel = (k.view(-1, 1) * k.view(1, -1)).expand(3, 1, 3, 3)
    return F.conv2d(F.pad(img.unsqueeze(0), (1, 1, 1, 1), mode="replicate"), kernel, groups=3)[0]


def meter(img: torch.Tensor) -> torch.Tensor:
    """What a camera's evaluative metering reads from a linear frame (3 x H x W): a
    centre-weighted blend of the mean and the median luminance (a scalar tensor)."""
    _, h, w = img.shape
    lum = torch.einsum("c,chw->hw", torch.tensor(_LUMA, device=img.device, dtype=img.dtype), img)
    ys = torch.linspace(-1, 1, h, device=img.device).view(-1, 1)
    xs = torch.linspace(-1, 1, w, device=img.device).view(1, -1)
    weight = torch.exp(-(xs * xs + ys * ys) / 0.8)
    mean = (lum * weight).sum() / weight.sum()
    median = lum.flatten().median()
    return (mean.clamp_min(1e-12) ** 1.0 * median.clamp_min(1e-12) ** 0.0)


def auto_exposure(img: torch.Tensor, key: float, error_stops: float, clip_share: float) -> torch.Tensor:
    """The exposure (scalar tensor) that brings the metered level to ``key``, off by
    ``error_stops``; where that would clip more than ``clip_share`` of the pixels, highlight
    protection takes back half of the excess (in stops)."""
    exposure = key * 2.0 ** error_stops / meter(img)
    brightest = img.amax(0).flatten()
    cap = 1.0 / torch.quantile(brightest, 1 - clip_share).clamp_min(1e-12)
    return exposure * torch.minimum(cap / exposure, torch.ones_like(exposure)).sqrt()


def sensor_noise(raw: torch.Tensor, noise: torch.Tensor, iso: float, cam: CameraModel) -> torch.Tensor:
    """Shot and read noise at ``iso`` added to an exposed linear raw frame (before white
    balance); ``noise`` holds standard normal samples of the frame's shape."""
    gain = iso / 100.0
    variance = cam.shot_noise * gain * raw.clamp_min(0) + cam.read_noise * gain * gain
    return raw + variance.sqrt() * noise


def auto_white_balance(raw: torch.Tensor, keep_warmth: float, error: torch.Tensor) -> torch.Tensor:
    """Per-channel gains (3, green = 1) a camera applies to ``raw`` (3 x H x W).

    The light is estimated shades-of-grey style (p = 4) over unclipped pixels, then snapped to
    the nearest colour on the black-body / daylight locus; low colour temperatures are only
    partly corrected (up to ``keep_warmth`` of the cast is kept, as phones do for tungsten), and
    ``error`` (2: log gains of red and blue) is the estimate's residual error.
    """
    x = raw.clamp_min(0).flatten(1)
    ok = x.amax(0) < 0.95
    x = x[:, ok] if int(ok.sum()) > 16 else x
    est = (x**4).mean(1).clamp_min(1e-16) ** 0.25
    chroma = torch.stack([(est[0] / est[1]).log(), (est[2] / est[1]).log()]).cpu().float()
    ccts, table = locus_table()
    i = int(((table - chroma) ** 2).sum(-1).argmin())
    cct = float(ccts[i])
    keep = keep_warmth * min(max((4500.0 - cct) / 1800.0, 0.0), 1.0)
    log_gain = -(1.0 - keep) * table[i] + error.cpu().float()
    return torch.stack([log_gain[0].exp(), torch.tensor(1.0), log_gain[1].exp()]).to(raw.device, raw.dtype)


def tone_curve(x: torch.Tensor, contrast: float) -> torch.Tensor:
    """Camera rendering: clip, sRGB transfer, then a gentle S-curve (monotonic for contrast < 1)."""
    x = x.clamp(0, 1)
    s = torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)
    return (s - contrast * torch.sin(2 * math.pi * s) / (2 * math.pi)).clamp(0, 1)


def local_contrast(img: torch.Tensor, amount: float) -> torch.Tensor:
    """Phone-style detail boost: the luminance's difference from a coarse blur of itself,
    ``amount`` times, added to every channel (3 x H x W, display-encoded)."""
    if amount <= 0:
        return img
    lum = img.mean(0, keepdim=True).unsqueeze(0)
    _, _, h, w = lum.shape
    k = max(2, min(h, w) // 16)
    base = F.interpolate(F.avg_pool2d(lum, k, ceil_mode=True), size=(h, w), mode="bilinear", align_corners=False)
    return (img + amount * (lum - base)[0]).clamp(0, 1)


def render_output(raw: torch.Tensor, gains: torch.Tensor, cam: CameraModel) -> torch.Tensor:
    """White-balanced raw (3 x H x W) -> uint8 sRGB: highlight shoulder (phones), tone curve,
    local contrast."""
    x = (raw * gains.view(3, 1, 1)).clamp(0, 1)
    if cam.shoulder > 0:
        x = (1 + cam.shoulder) * x / (1 + cam.shoulder * x)
    y = local_contrast(tone_curve(x, cam.contrast), cam.local_contrast)
    return (y * 255).round().to(torch.uint8)


def develop(linear: torch.Tensor, noise: torch.Tensor, iso: float, ae_error: float, awb_error: torch.Tensor,
            cam: CameraModel, vignette_map: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """One frame, unexposed linear radiance (3 x H x W) -> uint8 sRGB and what the camera
    chose (exposure, white-balance gains, ISO)."""
    img = soften(linear * vignette_map)
    exposure = auto_exposure(img, cam.key, ae_error, cam.clip_share)
    raw = sensor_noise(img * exposure, noise, iso, cam)
    gains = auto_white_balance(img * exposure, cam.keep_warmth, awb_error)
    return render_output(raw, gains, cam), {"exposure": float(exposure), "wb_gains": gains, "iso": iso,
                                            "raw": raw}
