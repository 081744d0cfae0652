"""Light colours: correlated colour temperature (CCT) to a linear sRGB white, and the
illuminants found indoors (tungsten, LED, daylight through a window, camera flash).

The colours themselves (Planckian and daylight loci, unit luminance) come from
:mod:`flashcli.ops.colour`.
"""

from __future__ import annotations

import functools

import torch

from flashcli.ops.colour import daylight_xy, planckian_xy, white, xy_to_rgb
from flashcli.synth import textures as tx

__all__ = ["daylight_xy", "locus_table", "planckian_xy", "sample_ambient", "sample_flash", "white", "xy_to_rgb"]

KINDS = ("tungsten", "led", "window", "window+lamp")
KIND_WEIGHTS = (3.5, 3.0, 1.5, 2.0)
#: Photographs with flash are mostly taken by lamp light (evenings, dim rooms), seldom by a window.
PHOTO_KIND_WEIGHTS = (4.5, 3.0, 0.7, 1.8)
FLASH_CCT = (5200.0, 5900.0)


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
