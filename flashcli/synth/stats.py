"""Camera statistics of flash/ambient pairs, to compare renders with real photographs.

All take uint8 (or [0, 1] float) 3 x H x W sRGB images; brightness and colour are measured in
linear light.
"""

from __future__ import annotations

import statistics

import torch
import torch.nn.functional as F

from flashcli.synth.textures import srgb_to_linear


def _linear(img: torch.Tensor) -> torch.Tensor:
    x = img.float() / 255 if img.dtype == torch.uint8 else img.float()
    return srgb_to_linear(x.clamp(0, 1))


def brightness_ratio(flash: torch.Tensor, ambient: torch.Tensor) -> float:
    """Mean linear brightness of the ambient frame over the flash frame's."""
    return float(_linear(ambient).mean() / _linear(flash).mean().clamp_min(1e-6))


def red_blue(img: torch.Tensor) -> float:
    """Mean linear red over mean linear blue (above 1: warm)."""
    x = _linear(img)
    return float(x[0].mean() / x[2].mean().clamp_min(1e-6))


def cast_ratio(flash: torch.Tensor, ambient: torch.Tensor) -> float:
    """How much warmer the ambient frame is than the flash frame: R/B over R/B (1: same)."""
    return red_blue(ambient) / max(red_blue(flash), 1e-6)


def noise_level(img: torch.Tensor) -> float:
    """Median absolute difference between the grey image and its 3x3 mean, in 0..255 levels
    (the median keeps edges and texture out: flat areas, where noise dominates, are most pixels)."""
    x = img.float().mean(0, keepdim=True).unsqueeze(0)
    x = x * 255 if img.dtype != torch.uint8 else x
    local = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    return float((x - local).abs().median())


def pair_stats(flash: torch.Tensor, ambient: torch.Tensor) -> dict[str, float]:
    """Brightness ratio, colour-cast ratio and noise ratio (ambient over flash) of one pair."""
    return {"brightness_ratio": brightness_ratio(flash, ambient), "cast_ratio": cast_ratio(flash, ambient),
            "noise_ratio": noise_level(ambient) / max(noise_level(flash), 0.05)}


def summarize(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean, median, 10th and 90th percentile of each statistic over pairs."""
    out = {}
    for key in rows[0]:
        v = sorted(r[key] for r in rows)
        q = statistics.quantiles(v, n=10) if len(v) > 1 else [v[0]] * 9
        out[key] = {"mean": round(statistics.mean(v), 3), "median": round(statistics.median(v), 3),
                    "p10": round(q[0], 3), "p90": round(q[-1], 3)}
    return out
