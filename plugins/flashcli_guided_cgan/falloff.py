"""The flash's fall-off towards the frame's corners (docs/method.md, "The fall-off").

A flash lights the middle of the frame more than its corners: its beam is narrower than a
wide lens (a phone's LED most of all) and the subject it lights is usually in the middle.
The ambient light has no such centre. So the ambient frame over the flash frame grows
towards the corners, by an amount that differs per photo. :class:`FalloffHead` predicts that
amount, a slope in stops per unit of :func:`radial` (0 in the middle's average, 1 more in
the corners), from the camera stage's photo statistics by a linear map fitted in closed form
(:func:`fit`) on rendered pairs: it is the part of the log gain the convolutional field,
trained on crops, cannot place, because a crop does not say where the frame's centre is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from flashcli.ops.colour import LUMA
from flashcli.ops.upsample import srgb_to_linear
from flashcli_guided_cgan.camera import NUM_FEATURES, photo_features

#: Long side of the blurred luminance the slope is measured on (cells of 8 px at 320 px).
MEASURE_SIDE = 40
_EPS = 2e-3


def radial(height: int, width: int, device: torch.device | None = None,
           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """H x W squared distance from the frame's centre (in pixels, so circles are round),
    1 at the corners, minus its mean."""
    ys = torch.arange(height, device=device, dtype=dtype) + 0.5 - height / 2
    xs = torch.arange(width, device=device, dtype=dtype) + 0.5 - width / 2
    r2 = (ys[:, None] ** 2 + xs[None, :] ** 2) / ((height / 2) ** 2 + (width / 2) ** 2)
    return r2 - r2.mean()


def _log_luminance(image: torch.Tensor) -> torch.Tensor:
    h, w = image.shape[-2:]
    scale = min(1.0, MEASURE_SIDE / max(h, w))
    size = (max(2, round(h * scale)), max(2, round(w * scale)))
    lin = srgb_to_linear(image.float().clamp(0, 1))
    luma = torch.tensor(LUMA, device=lin.device, dtype=lin.dtype).view(1, 3, 1, 1)
    lum = F.interpolate((lin * luma).sum(1, keepdim=True), size=size, mode="area")
    return torch.log2(lum + _EPS)[:, 0]


def slope(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """N: the least-squares slope, on :func:`radial`, of the log2 luminance of ``target``
    over ``source`` (both N x 3 x H x W sRGB), measured on a blurred copy of each."""
    ratio = _log_luminance(target) - _log_luminance(source)
    r = radial(*ratio.shape[-2:], device=ratio.device)  # zero mean: the ratio's level drops out
    return (ratio * r).sum((-2, -1)) / (r * r).sum().clamp_min(1e-12)


class FalloffHead(nn.Module):
    """Photo statistics -> the fall-off slope (stops per unit of :func:`radial`), a linear
    map of the standardised statistics, bounded to ``max_stops``. All zero (no fall-off) until
    :func:`fit` fills it."""

    def __init__(self, max_stops: float = 3.0) -> None:
        super().__init__()
        self.max_stops = max_stops
        for name, value in (("mean", torch.zeros(NUM_FEATURES)), ("std", torch.ones(NUM_FEATURES)),
                            ("weight", torch.zeros(NUM_FEATURES)), ("bias", torch.zeros(()))):
            self.register_buffer(name, value)

    def from_features(self, features: torch.Tensor) -> torch.Tensor:
        z = ((features.to(self.mean.dtype) - self.mean) / self.std).clamp(-6, 6)
        return (z @ self.weight + self.bias).clamp(-self.max_stops, self.max_stops)

    def forward(self, flash: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """N x 1 x H x W log2 gain: each photo's slope times :func:`radial` (``features``:
        :func:`photo_features` of ``flash``, when already measured)."""
        s = self.from_features(photo_features(flash) if features is None else features)
        return s[:, None, None, None].float() * radial(*flash.shape[-2:], device=flash.device)


def fit(features: torch.Tensor, slopes: torch.Tensor, ridge: float = 10.0) -> dict[str, torch.Tensor]:
    """The :class:`FalloffHead` state (its buffers) of a ridge regression of ``slopes`` (N) on
    ``features`` (N x NUM_FEATURES), standardised; ``ridge`` weighs the weights' squared norm
    (the intercept is not shrunk)."""
    x, y = features.double(), slopes.double()
    mean, std = x.mean(0), x.std(0, unbiased=False) + 1e-6
    z = torch.cat([(x - mean) / std, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], 1)
    penalty = ridge * torch.eye(z.shape[1], dtype=x.dtype, device=x.device)
    penalty[-1, -1] = 0
    coef = torch.linalg.solve(z.T @ z + penalty, z.T @ y)
    return {"mean": mean.float(), "std": std.float(), "weight": coef[:-1].float(), "bias": coef[-1].float()}
