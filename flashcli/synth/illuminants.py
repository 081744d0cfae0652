"""Light colours: correlated colour temperature (CCT) to a linear sRGB white, and the
illuminants found indoors (tungsten, LED, daylight through a window, camera flash).

Chromaticities come from the Planckian locus (Kim et al.'s cubic approximation, 1667-25000 K)
or the CIE daylight locus (4000-25000 K); XYZ goes to linear sRGB with the sRGB (D65) matrix.
Colours are scaled to unit luminance, so a light's colour never changes its brightness.
"""

from __future__ import annotations

import functools

import torch

from flashcli.synth import textures as tx

_XYZ_TO_RGB = torch.tensor([[3.2406, -1.5372, -0.4986],
                            [-0.9689, 1.8758, 0.0415],
                            [0.0557, -0.2040, 1.0570]], dtype=torch.float64)
_LUMA = torch.tensor([0.2126, 0.7152, 0.0722], dtype=torch.float64)
KINDS = ("tungsten", "led", "window", "window+lamp")
KIND_WEIGHTS = (3.5, 3.0, 1.5, 2.0)
#: Photographs with flash are mostly taken by lamp light (evenings, dim rooms), seldom by a window.
PHOTO_KIND_WEIGHTS = (4.5, 3.0, 0.7, 1.8)
FLASH_CCT = (5200.0, 5900.0)


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
    rgb = (_XYZ_TO_RGB @ xyz).clamp_min(1e-4)
    rgb = rgb * torch.tensor([1.0, float(torch.tensor(green_shift).exp()), 1.0], dtype=torch.float64)
    return (rgb / (rgb @ _LUMA)).float()


def white(cct: float, daylight: bool = False, green_shift: float = 0.0) -> torch.Tensor:
    """Linear sRGB colour (unit luminance) of a light at ``cct`` kelvin: black body, or CIE
    daylight when ``daylight`` (and above 4000 K)."""
    xy = daylight_xy(cct) if daylight and cct >= 4000 else planckian_xy(cct)
    return xy_to_rgb(*xy, green_shift=green_shift)


@functools.lru_cache(maxsize=1)
def locus_table() -> tuple[torch.Tensor, torch.Tensor]:
    """CCTs 2000..10000 K (log-spaced, 96 steps) and their log(R/G), log(B/G): 96 and 96 x 2.
    A camera's white balance searches this table for the light it sees."""
    ccts = torch.logspace(torch.log10(torch.tensor(2000.0)), 4.0, 96)
    rgb = torch.stack([white(float(c), daylight=float(c) >= 4500) for c in ccts])
    chroma = torch.stack([(rgb[:, 0] / rgb[:, 1]).log(), (rgb[:, 2] / rgb[:, 1]).log()], -1)
    return ccts, chroma


def sample_ambient(g: torch.Generator, weights: tuple[float, ...] = KIND_WEIGHTS) -> dict:
    """One indoor light set-up (its kind drawn with ``weights`` over ``KINDS``): its kind, the
    main (area) light's CCT and colour, and a second, shadowless light's colour (a window beside
    a lamp, or the lamp beside a window). Home LEDs are mostly warm white."""
    kind = tx.choice(g, KINDS, weights)
    tungsten = tx.uniform(g, 2700, 3200)
    led = tx.uniform(g, 2700, 4200)
    day = tx.uniform(g, 5000, 6500)
    led_tint = tx.uniform(g, -0.04, 0.06)
    lamp_cct, lamp_rgb = (led, white(led, green_shift=led_tint)) if tx.randint(g, 0, 2) == 0 else (
        tungsten, white(tungsten))
    if kind == "tungsten":
        return {"kind": kind, "cct": tungsten, "main": white(tungsten), "second": white(tungsten)}
    if kind == "led":
        return {"kind": kind, "cct": led, "main": white(led, green_shift=led_tint),
                "second": white(led, green_shift=led_tint)}
    sky = white(day, daylight=True)
    if kind == "window":
        return {"kind": kind, "cct": day, "main": sky, "second": white(day * 1.3, daylight=True)}
    return {"kind": kind, "cct": lamp_cct, "main": lamp_rgb, "second": sky}


def sample_flash(g: torch.Generator) -> tuple[float, torch.Tensor]:
    """A flash's CCT (near 5500 K) and colour (with a slight green/magenta spread)."""
    cct = tx.uniform(g, *FLASH_CCT)
    return cct, white(cct, daylight=True, green_shift=tx.uniform(g, -0.02, 0.02))
