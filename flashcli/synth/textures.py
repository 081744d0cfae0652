"""Procedural albedo textures (linear RGB, 3 x T x T, tileable where it matters).

Every random choice draws from the caller's CPU ``torch.Generator``, so a texture depends
only on the generator's state.
"""

from __future__ import annotations

import colorsys
import functools
import logging
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from flashcli.errors import FlashcliError
from flashcli.io.imageio import ImageReadError, is_image_path, read_image

log = logging.getLogger(__name__)

SIZE = 128
KINDS = ("plain", "noise", "stripes", "checkers", "text", "gradient")
_WORDS = ("FLASH", "organic", "tea", "milk", "Nº 5", "sale", "2018", "cereal", "RICE", "notes",
          "vol. II", "kitchen", "pasta", "soap", "HOME", "atlas", "coffee", "jam", "BOOK",
          "fresh", "salt", "honey", "lamp", "paper", "oil", "toys", "ink", "mint", "ABC")


def rand(g: torch.Generator, *shape: int) -> torch.Tensor:
    """Uniform [0, 1) numbers from ``g``."""
    return torch.rand(shape, generator=g)


def uniform(g: torch.Generator, lo: float, hi: float) -> float:
    """One uniform number in [lo, hi)."""
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def randint(g: torch.Generator, lo: int, hi: int) -> int:
    """One integer in [lo, hi] (inclusive)."""
    return int(torch.randint(lo, hi + 1, (), generator=g))


def choice(g: torch.Generator, options, weights=None):
    """One element of ``options`` (optionally weighted)."""
    if weights is None:
        return options[randint(g, 0, len(options) - 1)]
    w = torch.tensor(weights, dtype=torch.float64)
    return options[int(torch.multinomial(w, 1, generator=g))]


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """sRGB-encoded values in [0, 1] to linear light."""
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def color(g: torch.Generator, saturation: tuple[float, float] | None = None,
          value: tuple[float, float] = (0.25, 0.92), hue: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """A random albedo colour (linear RGB, 3). Saturation is varied: greys, pastels, vivid."""
    if saturation is None:
        saturation = choice(g, ((0.0, 0.12), (0.15, 0.45), (0.5, 0.95)))
    h = uniform(g, *hue) % 1.0
    s = uniform(g, *saturation)
    v = uniform(g, *value)
    return srgb_to_linear(torch.tensor(colorsys.hsv_to_rgb(h, s, v), dtype=torch.float32))


def _mix(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return a.view(3, 1, 1) * (1 - w) + b.view(3, 1, 1) * w


def value_noise(g: torch.Generator, cells: int, size: int = SIZE, octaves: int = 2) -> torch.Tensor:
    """Tileable smooth noise in [0, 1]: size x size, ``cells`` random values across (rounded
    to a power of two that divides ``size``), plus finer octaves."""
    cells = 2 ** max(1, min(round(math.log2(max(cells, 2))), int(math.log2(size)) - 1))
    total = torch.zeros(size, size)
    amp, norm = 1.0, 0.0
    for _ in range(octaves):
        step = size // cells
        grid = F.pad(rand(g, 1, 1, cells, cells), (2, 2, 2, 2), mode="circular")
        up = F.interpolate(grid, scale_factor=step, mode="bicubic", align_corners=False)
        total += amp * up[0, 0, 2 * step:2 * step + size, 2 * step:2 * step + size]
        norm += amp
        amp *= 0.5
        cells = min(cells * 2, size // 2)
    return (total / norm).clamp(0, 1)


def _coords(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    v, u = torch.meshgrid(torch.arange(size) / size, torch.arange(size) / size, indexing="ij")
    return u, v


def _stripes(g: torch.Generator, a: torch.Tensor, b: torch.Tensor, size: int) -> torch.Tensor:
    u, v = _coords(size)
    n = randint(g, 2, 12)
    direction = choice(g, ((1, 0), (0, 1), (1, 1)))
    phase = (u * direction[0] + v * direction[1]) * n
    soft = uniform(g, 0.02, 0.3)
    w = torch.sigmoid(torch.sin(2 * math.pi * phase) / soft)
    return _mix(a, b, w)


def _checkers(g: torch.Generator, a: torch.Tensor, b: torch.Tensor, size: int) -> torch.Tensor:
    u, v = _coords(size)
    n = randint(g, 2, 8)
    w = ((torch.floor(u * n) + torch.floor(v * n)) % 2).float()
    return _mix(a, b, w)


@functools.lru_cache(maxsize=16)
def _font(px: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


def _text(g: torch.Generator, a: torch.Tensor, b: torch.Tensor, size: int) -> torch.Tensor:
    """Printed words (PIL's default font) on a background: labels, book spines, posters."""
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    px = randint(g, 10, 22)
    y = randint(g, 0, px)
    while y < size - px // 2:
        words = " ".join(choice(g, _WORDS) for _ in range(randint(g, 1, 3)))
        draw.text((randint(g, 0, size // 4), y), words, fill=255, font=_font(px))
        y += int(px * uniform(g, 1.2, 2.2))
    w = torch.from_numpy(np.asarray(mask, dtype=np.float32) / 255.0)
    return _mix(a, b, w)


def texture(g: torch.Generator, kind: str | None = None, base: torch.Tensor | None = None,
            size: int = SIZE) -> torch.Tensor:
    """A random albedo texture of ``kind`` (random when None), 3 x size x size, linear RGB.

    ``base`` fixes the main colour (e.g. skin, foliage); the second colour is random.
    """
    kind = kind or choice(g, KINDS, (3, 3, 2, 1.5, 1.5, 1))
    a = base if base is not None else color(g)
    if kind == "plain":
        n = value_noise(g, randint(g, 4, 16), size)
        return a.view(3, 1, 1) * (1 + 0.12 * (n - 0.5))
    if kind == "text":
        b = color(g, saturation=(0.0, 0.9), value=(0.05, 0.35)) if a.max() > 0.2 else color(g, value=(0.8, 0.95))
        return _text(g, a, b, size)
    b = color(g)
    if kind == "noise":
        return _mix(a, b, value_noise(g, randint(g, 3, 10), size, octaves=3))
    if kind == "stripes":
        return _stripes(g, a, b, size)
    if kind == "checkers":
        return _checkers(g, a, b, size)
    if kind == "gradient":
        u, v = _coords(size)
        return _mix(a, b, (u if randint(g, 0, 1) else v) * 0.999)
    raise ValueError(f"unknown texture kind {kind!r}")


def wood(g: torch.Generator, size: int = SIZE) -> torch.Tensor:
    """Floorboards: warped stripes in browns or a pale laminate."""
    a = color(g, saturation=(0.35, 0.7), value=(0.3, 0.75), hue=(0.05, 0.11))
    b = a * uniform(g, 0.55, 0.8)
    u, v = _coords(size)
    warp = value_noise(g, randint(g, 3, 6), size)
    n = randint(g, 3, 8)
    grain = 0.5 + 0.5 * torch.sin(2 * math.pi * (v * n + 0.6 * warp))
    return _mix(a, b, grain)


def atlas(textures: list[torch.Tensor]) -> torch.Tensor:
    """Textures side by side: 3 x T x (n T), clipped to plausible albedos."""
    return torch.cat(textures, dim=2).clamp(0.01, 0.9)


def sample_atlas(atlas_img: torch.Tensor, index: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup of texture ``index`` at wrapped (u, v): 3 x N."""
    t = atlas_img.shape[1]
    width = atlas_img.shape[2]
    px = index.to(u.dtype) * t + torch.frac(torch.frac(u) + 1) * (t - 1)
    py = torch.frac(torch.frac(v) + 1) * (t - 1)
    grid = torch.stack([px / (width - 1) * 2 - 1, py / (t - 1) * 2 - 1], -1).view(1, 1, -1, 2)
    out = F.grid_sample(atlas_img.unsqueeze(0), grid, mode="bilinear", align_corners=True)
    return out[0, :, 0]


MAX_PHOTOS = 256


def photo_texture(image: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """A photo (sRGB 3 x H x W in [0, 1]) as an albedo texture: centre square, ``size`` pixels,
    linear light, within plausible albedos."""
    _, h, w = image.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[:, top:top + side, left:left + side].unsqueeze(0).float()
    small = F.interpolate(square, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    return 0.02 + 0.86 * srgb_to_linear(small.clamp(0, 1))


#: ``--textures`` value for the sample photographs that ship with scikit-image (public domain
#: or CC0: a portrait, a cat, a coffee cup, a rocket, a stained tissue slide, a sky survey; brick,
#: grass, gravel, coins, a camera man, the moon, printed text). The default when it is installed.
BUILTIN = "builtin"
SAMPLE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field",
                 "brick", "grass", "gravel", "camera", "coins", "moon", "page", "text")


def builtin_photos(size: int = SIZE) -> list[torch.Tensor]:
    """scikit-image's sample photographs (``SAMPLE_PHOTOS``) as textures; [] without scikit-image
    (the renderer then uses its procedural textures only)."""
    try:
        from skimage import data  # optional: without it, procedural textures only
    except ImportError:
        return []
    out = []
    for name in SAMPLE_PHOTOS:
        try:
            pixels = np.asarray(getattr(data, name)(), dtype=np.float32) / 255.0
        except Exception as e:  # a sample that needs a download, or one a release renamed
            log.debug("scikit-image sample %s: %s", name, e)
            continue
        image = torch.from_numpy(np.ascontiguousarray(pixels))
        image = image.expand(3, *image.shape) if image.ndim == 2 else image[..., :3].permute(2, 0, 1)
        out.append(photo_texture(image, size))
    return out


def photo_textures(folder: str | Path, size: int = SIZE) -> list[torch.Tensor]:
    """The photos in ``folder`` (not its subfolders; sorted by name, at most ``MAX_PHOTOS``) as
    textures, read with flashcli's image reader. Unreadable files are skipped with a warning."""
    path = Path(folder)
    if not path.is_dir():
        raise FlashcliError(f"--textures {path}: no such folder; give a folder of photos (JPEG, PNG, TIFF, RAW)")
    files = sorted(p for p in path.iterdir() if p.is_file() and is_image_path(p))
    if not files:
        raise FlashcliError(f"--textures {path}: holds no photos; put JPEG, PNG, TIFF or RAW files in it")
    if len(files) > MAX_PHOTOS:
        log.warning("--textures %s: using the first %d of %d photos (by name)", path, MAX_PHOTOS, len(files))
        files = files[:MAX_PHOTOS]
    out = []
    for f in files:
        try:
            out.append(photo_texture(read_image(f, half_size=True)[0], size))
        except ImageReadError as e:
            log.warning("%s", e.message)
    if not out:
        raise FlashcliError(f"--textures {path}: none of its {len(files)} photos could be read; "
                            "check that they open in an image viewer")
    return out
