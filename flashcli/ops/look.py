"""The look of a relit photo, for any method: a camera part and a spatial part, and the
user's hand on each.

Whatever a method does to a flash photo is a gain in linear light. It splits into

- the **camera part**, one level per channel for the whole photo: what a camera's
  auto-exposure (exposure, in EV) and white balance (a colour cast, reported as the colour
  temperature of the light that would cause it under a flash-balanced camera) change between
  the flash frame and the ambient frame. It is measured as the ratio of the mean linear
  light of the output over that of the photo, per channel, over the pixels the flash did not
  clip;
- the **spatial part**, the rest: where the light changes across the photo (the flash's
  hot spot and fall-off, its shadows, the ambient light's own shape).

:class:`Look` holds the user's settings: ``strength`` scales the method's whole change in
log space (0 leaves the photo as it is), ``white_balance`` keeps the method's cast
(``"auto"``), removes it (``"flash"``) or sets the cast of a light at a colour temperature
(kelvin), and ``exposure`` adds EV on top. :func:`apply_look` applies them and reports both
parts per photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flashcli.errors import UsageError
from flashcli.ops.colour import KELVIN_RANGE, LUMA, cast, nearest_kelvin
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import torch

    from flashcli.ops import upsample
else:  # Look and its parsing load without torch (relight plans before importing it)
    torch = lazy_module("torch")
    upsample = lazy_module("flashcli.ops.upsample")

#: Input pixels at or above this level (any channel) are clipped: their gain is not measured.
CLIPPED = 0.98
#: Pixels sampled for the spatial part's percentiles.
SAMPLE_PIXELS = 1 << 18
WHITE_BALANCE_HELP = "auto (the method's), flash (keep the flash photo's colour) or a colour temperature in kelvin"


def parse_white_balance(value: str | float) -> str | float:
    """``"auto"``, ``"flash"`` or kelvin (a number in ``KELVIN_RANGE``, ``"3200"`` or ``"3200K"``)."""
    text = str(value).strip().lower()
    if text in ("auto", "flash"):
        return text
    try:
        kelvin = float(text[:-1] if text.endswith("k") else text)
    except ValueError:
        kelvin = math.nan
    lo, hi = KELVIN_RANGE
    if not lo <= kelvin <= hi:  # NaN fails too
        raise UsageError(f"--white-balance {value}: use auto, flash or a colour temperature from "
                         f"{lo:.0f} to {hi:.0f} (kelvin, e.g. 3200 for tungsten light)")
    return kelvin


@dataclass(frozen=True)
class Look:
    """The user's settings over a method's result (see the module doc)."""

    strength: float = 1.0
    exposure: float = 0.0
    white_balance: str | float = "auto"

    def validate(self) -> Look:
        if not 0.0 <= float(self.strength) <= 2.0:  # NaN fails too
            raise UsageError(f"--strength {self.strength}: use a number from 0 (no change) to 1 "
                             "(the full relight); up to 2 exaggerates")
        if not -4.0 <= float(self.exposure) <= 4.0:
            raise UsageError(f"--exposure {self.exposure}: use a shift from -4 to 4 EV (0 keeps the "
                             "predicted exposure)")
        return Look(float(self.strength), float(self.exposure), parse_white_balance(self.white_balance))

    @property
    def is_plain(self) -> bool:
        """The method's result as it is."""
        return self.strength == 1.0 and self.exposure == 0.0 and self.white_balance == "auto"

    def describe(self) -> dict[str, float | str]:
        return {"strength": self.strength, "exposure": self.exposure, "white_balance": self.white_balance}


def _unclipped(lin_in: torch.Tensor, flash: torch.Tensor) -> torch.Tensor:
    """N x 1 x H x W weights: 1 where no channel of the photo is clipped (all pixels of a
    photo that is nearly all clipped)."""
    ok = (flash.amax(1, keepdim=True) < CLIPPED).to(lin_in.dtype)
    few = ok.flatten(1).mean(1) < 0.01
    return torch.where(few.view(-1, 1, 1, 1), torch.ones_like(ok), ok)


def camera_levels(flash: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The camera part of ``flash -> out`` (N x 3 x H x W sRGB): N x 3 log2 ratios of the
    mean linear light per channel, over the pixels the flash did not clip."""
    lin_in, lin_out = upsample.srgb_to_linear(flash.float()), upsample.srgb_to_linear(out.float())
    w = _unclipped(lin_in, flash.float())
    num = (lin_out * w).sum((-2, -1)) + 1e-6
    den = (lin_in * w).sum((-2, -1)) + 1e-6
    return torch.log2(num / den)


def split_levels(levels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """N x 3 log2 levels -> exposure (N, EV: the luminance's level) and cast (N x 3, zero in
    luminance)."""
    luma = torch.tensor(LUMA, dtype=levels.dtype, device=levels.device)
    ev = torch.log2((torch.exp2(levels) * luma).sum(-1))
    return ev, levels - ev[:, None]


def _target_cast(white_balance: str | float, cast_now: torch.Tensor) -> torch.Tensor:
    if white_balance == "auto":
        return cast_now
    if white_balance == "flash":
        return torch.zeros_like(cast_now)
    return cast(float(white_balance)).to(cast_now).expand_as(cast_now)


def _spatial_range(lin_in: torch.Tensor, lin: torch.Tensor, ev: torch.Tensor) -> list[tuple[float, float]]:
    """Per image, the 5th and 95th percentiles (stops) of the luminance gain ``lin_in ->
    lin`` less the exposure ``ev``."""
    luma = torch.tensor(LUMA, dtype=lin_in.dtype, device=lin_in.device).view(1, 3, 1, 1)
    floor = upsample.FLOOR
    lum_g = torch.log2(((lin * luma).sum(1) + floor) / ((lin_in * luma).sum(1) + floor)) - ev.view(-1, 1, 1)
    flat = lum_g.flatten(1).float()  # already a sample (see _sample)
    q = torch.quantile(flat, torch.tensor([0.05, 0.95], device=flat.device), dim=1)
    return [(float(q[0, i]), float(q[1, i])) for i in range(flat.shape[0])]


def _relit_linear(lin_in: torch.Tensor, out: torch.Tensor, delta: torch.Tensor, look: Look) -> torch.Tensor:
    """``out`` in linear light with the cast moved by ``delta`` (N x 3 log2), the strength
    and the exposure of ``look`` applied."""
    floor = upsample.FLOOR
    lin = upsample.srgb_to_linear(out.float()) * torch.exp2(delta)[:, :, None, None]  # white balance
    if look.strength != 1.0:  # the gain over the photo, raised to the strength (floored to stay finite)
        lin = (lin_in + floor) * ((lin + floor) / (lin_in + floor)).pow(look.strength) - floor
    return lin * 2.0 ** look.exposure


def _sample(x: torch.Tensor) -> torch.Tensor:
    """Every k-th row and column, so that about ``SAMPLE_PIXELS`` are left (measuring only)."""
    step = max(1, int((x.shape[-2] * x.shape[-1] / SAMPLE_PIXELS) ** 0.5))
    return x[..., ::step, ::step]


def apply_look(flash: torch.Tensor, out: torch.Tensor, look: Look) -> tuple[torch.Tensor, list[dict]]:
    """``out`` (a method's result for ``flash``, both N x 3 x H x W sRGB) with ``look``
    applied, and per image what was applied: ``camera`` (exposure EV, colour temperature,
    per-channel gains, and the method's own values) and ``spatial`` (the 5th-95th percentile
    range of the rest, in stops). Both are measured on at most about ``SAMPLE_PIXELS`` pixels
    per photo; the full-size result is computed only when the look changes something."""
    small_in, small_out = _sample(flash), _sample(out)
    ev, cast_now = split_levels(camera_levels(small_in, small_out))
    s = look.strength
    delta = _target_cast(look.white_balance, cast_now) - cast_now
    lin_small = upsample.srgb_to_linear(small_in.float())
    if look.is_plain:
        result = out
    elif s == 0.0 and look.exposure == 0.0:
        result = flash.clone()
    else:
        lin = _relit_linear(upsample.srgb_to_linear(flash.float()), out, delta, look)
        result = upsample.linear_to_srgb(lin).to(out.dtype)
    applied_ev = ev * s + look.exposure
    applied_cast = (cast_now + delta) * s
    spans = _spatial_range(lin_small, _relit_linear(lin_small, small_out, delta, look), applied_ev)
    stats = []
    for i in range(flash.shape[0]):
        gains = torch.exp2(applied_cast[i] + applied_ev[i])
        stats.append({
            "camera": {"exposure_ev": round(float(applied_ev[i]), 3),
                       "kelvin": round(nearest_kelvin(applied_cast[i].cpu()), -1),
                       "gains": [round(float(g), 4) for g in gains],
                       "method_exposure_ev": round(float(ev[i]), 3),
                       "method_kelvin": round(nearest_kelvin(cast_now[i].cpu()), -1)},
            "spatial": {"p5_stops": round(spans[i][0], 3), "p95_stops": round(spans[i][1], 3)},
        })
    return result, stats
