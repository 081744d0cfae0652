"""Colour temperature: a light's colour in linear sRGB from its correlated colour
temperature (CCT), and back from a colour cast to the nearest CCT.

Chromaticities come from the Planckian locus (Kim et al.'s cubic approximation, 1667-25000 K)
or the CIE daylight locus (4000-25000 K); XYZ goes to linear sRGB with the sRGB (D65)
matrix. Colours are scaled to unit luminance, so a light's colour never changes its
brightness.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import torch
else:
    torch = lazy_module("torch")  # the constants below load without it

_XYZ_TO_RGB = ((3.2406, -1.5372, -0.4986),
               (-0.9689, 1.8758, 0.0415),
               (0.0557, -0.2040, 1.0570))
LUMA = (0.2126, 0.7152, 0.0722)
#: The colour temperature of a camera flash (xenon or LED), in kelvin.
FLASH_KELVIN = 5500.0
#: The range ``white_balance`` accepts and :func:`nearest_kelvin` reports.
KELVIN_RANGE = (1700.0, 12000.0)


def planckian_xy(cct: float) -> tuple[float, float]:
    """CIE 1931 xy of a black body at ``cct`` kelvin (1667..25000)."""
    t = min(max(float(cct), 1667.0), 25000.0)
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return x, y


def daylight_xy(cct: float) -> tuple[float, float]:
    """CIE 1931 xy of CIE daylight at ``cct`` kelvin (4000..25000)."""
    t = min(max(float(cct), 4000.0), 25000.0)
    if t <= 7000:
        x = -4.6070e9 / t**3 + 2.9678e6 / t**2 + 0.09911e3 / t + 0.244063
    else:
        x = -2.0064e9 / t**3 + 1.9018e6 / t**2 + 0.24748e3 / t + 0.237040
    return x, -3.0 * x * x + 2.87 * x - 0.275


def xy_to_rgb(x: float, y: float, green_shift: float = 0.0) -> torch.Tensor:
    """Linear sRGB (3, float32) of chromaticity (x, y) at unit luminance; ``green_shift``
    (log units) tilts it towards green (> 0) or magenta (< 0), as cheap LEDs do."""
    xyz = torch.tensor([x / y, 1.0, (1 - x - y) / y], dtype=torch.float64)
    rgb = (torch.tensor(_XYZ_TO_RGB, dtype=torch.float64) @ xyz).clamp_min(1e-4)
    rgb = rgb * torch.tensor([1.0, float(torch.tensor(green_shift).exp()), 1.0], dtype=torch.float64)
    return (rgb / (rgb @ torch.tensor(LUMA, dtype=torch.float64))).float()


def white(cct: float, daylight: bool = False, green_shift: float = 0.0) -> torch.Tensor:
    """Linear sRGB colour (unit luminance) of a light at ``cct`` kelvin: black body, or CIE
    daylight when ``daylight`` (and above 4000 K)."""
    xy = daylight_xy(cct) if daylight and cct >= 4000 else planckian_xy(cct)
    return xy_to_rgb(*xy, green_shift=green_shift)


def cast(cct: float) -> torch.Tensor:
    """The colour cast (3 log2 gains, zero mean in luminance) of a light at ``cct`` kelvin
    as a camera white-balanced for the flash records it: warm below ``FLASH_KELVIN``, cool
    above."""
    ratio = white(cct) / white(FLASH_KELVIN)
    log = torch.log2(ratio.double())
    return (log - math.log2(float(ratio.double() @ torch.tensor(LUMA, dtype=torch.float64)))).float()


@functools.lru_cache(maxsize=1)
def _cast_table() -> tuple[torch.Tensor, torch.Tensor]:
    ccts = torch.logspace(math.log10(KELVIN_RANGE[0]), math.log10(KELVIN_RANGE[1]), 1024)
    return ccts, torch.stack([cast(float(c)) for c in ccts])


def nearest_kelvin(log_cast: torch.Tensor) -> float:
    """The colour temperature whose :func:`cast` is closest (in red/blue log balance) to
    ``log_cast`` (3 log2 gains)."""
    ccts, table = _cast_table()
    rb = table[:, 0] - table[:, 2]
    want = float(log_cast[0] - log_cast[2])
    return float(ccts[int((rb - want).abs().argmin())])
