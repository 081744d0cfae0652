"""The camera stage: what the ambient frame's exposure and white balance will be, read from
the whole flash photo (docs/method.md, "The camera stage").

A camera meters every frame within its limits and white-balances it, so the ambient frame
differs from the flash frame first by one level per channel. The cues are global: how bright
the photo is and how its brightness is spread (a flash-lit subject against a dark, unlit
background), what colour its dim parts have (lit by the ambient light alone in a flash
photo) against its bright, flash-lit parts, how much the flash clipped, how the light falls
off from the centre. :func:`photo_features` measures them; :class:`CameraHead` maps them to
three log2 levels (red, green, blue in linear light), trained with its own loss against the
pair's true levels (:func:`flashcli.ops.look.camera_levels` of flash -> ambient).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from flashcli.ops.colour import LUMA
from flashcli.ops.upsample import srgb_to_linear

#: Long side the features are measured at (any input size gives comparable numbers).
FEATURE_SIDE = 128
PERCENTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
NUM_FEATURES = len(PERCENTILES) + 12
_EPS = 1e-4


def _small(flash: torch.Tensor) -> torch.Tensor:
    h, w = flash.shape[-2:]
    scale = FEATURE_SIDE / max(h, w)
    if scale >= 1:
        return flash.float()
    size = (max(8, round(h * scale)), max(8, round(w * scale)))
    return F.interpolate(flash.float(), size=size, mode="area")


def _chroma(lin: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """N x 2: log2 red/green and blue/green of the weighted mean linear colour."""
    m = (lin * weight).sum((-2, -1)) / weight.sum((-2, -1)).clamp_min(1e-6) + _EPS
    return torch.stack([torch.log2(m[:, 0] / m[:, 1]), torch.log2(m[:, 2] / m[:, 1])], 1)


def photo_features(flash: torch.Tensor) -> torch.Tensor:
    """N x ``NUM_FEATURES`` global statistics of flash photos (N x 3 x H x W sRGB, [0, 1])."""
    x = _small(flash).clamp(0, 1)
    lin = srgb_to_linear(x)
    luma = torch.tensor(LUMA, device=x.device, dtype=lin.dtype).view(1, 3, 1, 1)
    lum = (lin * luma).sum(1, keepdim=True)
    log_lum = torch.log2(lum + _EPS)
    flat = log_lum.flatten(1)
    q = torch.quantile(flat, torch.tensor(PERCENTILES, device=x.device, dtype=flat.dtype), dim=1).T
    dark_cut = torch.quantile(flat, 0.3, dim=1).view(-1, 1, 1, 1)
    bright_cut = torch.quantile(flat, 0.7, dim=1).view(-1, 1, 1, 1)
    dim_parts = (log_lum <= dark_cut).to(lin.dtype)
    lit_parts = (log_lum >= bright_cut).to(lin.dtype)
    h, w = lum.shape[-2:]
    centre = torch.zeros_like(lum)
    centre[..., h // 4: h - h // 4, w // 4: w - w // 4] = 1
    top = torch.zeros_like(lum)
    top[..., : h // 2, :] = 1

    def level(weight: torch.Tensor) -> torch.Tensor:
        return torch.log2((lum * weight).sum((-2, -1)) / weight.sum((-2, -1)).clamp_min(1e-6) + _EPS)[:, 0]

    feats = [
        q,
        torch.log2(lum.mean((-2, -1)) + _EPS),
        (lum < 0.005).to(lin.dtype).mean((-3, -2, -1))[:, None],
        (x.amax(1, keepdim=True) > 0.98).to(lin.dtype).mean((-3, -2, -1))[:, None],
        _chroma(lin, torch.ones_like(lum)),
        _chroma(lin, dim_parts),
        _chroma(lin, lit_parts),
        (level(centre) - level(1 - centre))[:, None],
        (level(top) - level(1 - top))[:, None],
        (level(lit_parts) - level(dim_parts))[:, None],
    ]
    return torch.cat(feats, 1)


class CameraHead(nn.Module):
    """Photo features -> 3 log2 levels (the ambient frame over the flash frame, per channel
    in linear light), bounded to ``max_stops``. Standardised inputs, a small MLP; the last
    layer starts at zero, so an untrained head changes nothing.

    The standardisation is learnt as batch normalisation does without its affine part: in
    training, batches of two or more photos are standardised by their own statistics, which
    also update a cumulative average (``seen`` photos so far) used at inference."""

    def __init__(self, hidden: int = 32, max_stops: float = 3.0) -> None:
        super().__init__()
        self.max_stops = max_stops
        self.register_buffer("mean", torch.zeros(NUM_FEATURES))
        self.register_buffer("var", torch.ones(NUM_FEATURES))
        self.register_buffer("seen", torch.zeros((), dtype=torch.float64))
        self.mlp = nn.Sequential(nn.Linear(NUM_FEATURES, hidden), nn.Tanh(),
                                 nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 3))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def _standardise(self, features: torch.Tensor) -> torch.Tensor:
        n = features.shape[0]
        if self.training and n > 1:
            mean, var = features.mean(0), features.var(0, unbiased=False)
            with torch.no_grad():
                share = n / (float(self.seen) + n)
                self.mean.lerp_(mean.detach(), share)
                self.var.lerp_(var.detach(), share)
                self.seen += n
        else:
            mean, var = self.mean, self.var
        return (features - mean) / (var + 1e-6).sqrt()

    def from_features(self, features: torch.Tensor) -> torch.Tensor:
        z = self._standardise(features)
        raw = self.mlp(z.clamp(-6, 6))
        return self.max_stops * torch.tanh(raw / self.max_stops)

    def forward(self, flash: torch.Tensor) -> torch.Tensor:
        """N x 3 log2 levels for flash photos (N x 3 x H x W sRGB)."""
        return self.from_features(photo_features(flash).to(self.mean.dtype))
