"""Run an image operator on overlapping tiles and blend them without seams.

Tiles of a fixed size overlap by ``overlap`` pixels; the last row and column of tiles are
aligned with the image border so every tile has the same size (and tiles are batched).
Each tile's result is weighted by a separable raised-cosine ramp that is zero for the
``margin`` pixels next to an inner tile border (where a convolutional operator sees the
tile's artificial border) and rises smoothly to one across the rest of the overlap; image
borders get no ramp. The blend is ``sum(w * f(tile)) / sum(w)``, smooth everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``length`` with at least ``overlap``."""
    if tile >= length:
        return [0]
    step = tile - overlap
    if step <= 0:
        raise ValueError(f"overlap {overlap} must be smaller than the tile size {tile}")
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def ramp(size: int, overlap: int, margin: int, *, lead: bool, trail: bool,
         device: torch.device | None = None) -> torch.Tensor:
    """1-D blending weight of one tile: raised-cosine ramps on the inner sides."""
    w = torch.ones(size, dtype=torch.float32, device=device)
    rise = max(1, overlap - 2 * margin)
    d = torch.arange(size, dtype=torch.float32, device=device)
    up = 0.5 - 0.5 * torch.cos(math.pi * ((d - margin + 0.5) / rise).clamp(0.0, 1.0))
    up = torch.where(d < margin, torch.zeros_like(up), up)
    if lead:
        w = w * up
    if trail:
        w = w * up.flip(0)
    return w


def run_tiled(
    fn: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    tile: int | tuple[int, int],
    overlap: int,
    *,
    margin: int | None = None,
    batch: int = 4,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Apply ``fn`` (``B x C x h x w`` -> ``B x C' x h x w``) to ``image`` (``N x C x H x W``)
    tile by tile and return the blended ``N x C' x H x W`` result on ``image``'s device.

    ``overlap`` is the minimum overlap between neighbouring tiles; ``margin`` (default
    ``overlap // 4``) the band next to an inner tile border that gets zero weight. Up to
    ``batch`` tiles go through ``fn`` at once, moved to ``device`` (default: the image's).
    """
    th, tw = (tile, tile) if isinstance(tile, int) else tile
    n, _, h, w = image.shape
    th, tw = min(th, h), min(tw, w)
    if margin is None:
        margin = overlap // 4
    if overlap < 0 or margin < 0 or (overlap > 0 and 2 * margin >= overlap):
        raise ValueError(f"need overlap >= 0 and margin < overlap / 2 (got {overlap}, {margin})")
    dev = torch.device(device) if device is not None else image.device
    ys, xs = tile_starts(h, th, overlap), tile_starts(w, tw, overlap)
    boxes = [(y, x) for y in ys for x in xs]
    wy = {y: ramp(th, overlap, margin, lead=y > 0, trail=y + th < h, device=image.device) for y in ys}
    wx = {x: ramp(tw, overlap, margin, lead=x > 0, trail=x + tw < w, device=image.device) for x in xs}

    acc: torch.Tensor | None = None
    norm = torch.zeros(h, w, dtype=torch.float32, device=image.device)
    per_call = max(1, batch // n)
    for i in range(0, len(boxes), per_call):
        group = boxes[i:i + per_call]
        crops = torch.cat([image[:, :, y:y + th, x:x + tw] for y, x in group])
        result = fn(crops.to(dev)).to(image.device, torch.float32)
        if result.shape[0] != crops.shape[0] or result.shape[-2:] != crops.shape[-2:]:
            raise RuntimeError(f"tiled function returned {tuple(result.shape)} for {tuple(crops.shape)}")
        if acc is None:
            acc = torch.zeros(n, result.shape[1], h, w, dtype=torch.float32, device=image.device)
        for j, (y, x) in enumerate(group):
            weight = wy[y][:, None] * wx[x][None, :]
            acc[:, :, y:y + th, x:x + tw] += result[j * n:(j + 1) * n] * weight
            norm[y:y + th, x:x + tw] += weight
    assert acc is not None
    return acc.div_(norm)
