"""Edge-preserving image filters in torch: batched, vectorised, on any device.

``bilateral_filter`` follows the common definition (OpenCV's ``bilateralFilter``, the usual
tool for DeepFlash's pre-filter): for every pixel p, a weighted mean over the pixels q of a circular window of diameter
``window`` with weight

    w(p, q) = exp(-|p - q|^2 / (2 sigma_space^2)) * exp(-d(I_p, I_q)^2 / (2 sigma_range^2))

where ``d`` is the colour distance (default: the sum of absolute channel differences, as
OpenCV uses for colour images) and borders are mirrored without repeating the edge pixel.
The window is applied as a few whole-image tensor operations per offset (29 offsets for a
7-pixel window, whose weights are computed for half of them thanks to symmetry), so the
cost is linear in the pixel count; large images run in bands of rows so the
temporaries stay within a fixed memory budget.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Default size of one band, in float elements per temporary: small on the CPU so the
#: temporaries stay in cache (2 MiB), large on a GPU so kernel launches stay few (64 MiB).
CPU_BAND_ELEMENTS = 512 * 1024
GPU_BAND_ELEMENTS = 16 * 1024 * 1024

DISTANCES = ("l1", "l2", "channel")


def window_offsets(window: int) -> list[tuple[int, int]]:
    """The ``(dy, dx)`` offsets inside the circular window of diameter ``window``."""
    radius = window // 2
    return [
        (dy, dx)
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
        if dy * dy + dx * dx <= radius * radius
    ]


def _filter_padded(
    padded: torch.Tensor,
    r: int,
    offsets: list[tuple[int, int]],
    sigma_space: float,
    sigma_range: float,
    distance: str,
) -> torch.Tensor:
    """Filter the interior of an image padded by ``r`` on every side.

    The weight of a pixel pair does not depend on its order, so the weights of offset ``d``
    also serve offset ``-d`` (shifted by ``d``): each is computed once, over the interior
    grown by ``d``, for half of the offsets.
    """
    h, w = padded.shape[-2] - 2 * r, padded.shape[-1] - 2 * r
    center = padded[..., r : r + h, r : r + w]
    range_coef = -0.5 / (sigma_range * sigma_range)
    num = center.clone()  # the centre pixel, weight 1
    den_shape = center.shape if distance == "channel" else (*center.shape[:-3], 1, h, w)
    den = torch.ones(den_shape, dtype=center.dtype, device=center.device)
    for dy, dx in offsets:
        if dy < 0 or (dy == 0 and dx <= 0):
            continue  # handled as the mirror of (-dy, -dx), or the centre
        # Pixels p of the interior and of the interior shifted by -d, and their p + d.
        y0, x0 = r - dy, r - max(dx, 0)
        y1, x1 = r + h, r + w - min(dx, 0)
        base = padded[..., y0:y1, x0:x1]
        diff = padded[..., y0 + dy : y1 + dy, x0 + dx : x1 + dx] - base
        if distance == "l1":
            dist2 = diff.abs_().sum(dim=-3, keepdim=True).square_()
        elif distance == "l2":
            dist2 = diff.square_().sum(dim=-3, keepdim=True)
        else:
            dist2 = diff.square_()
        spatial = -0.5 * (dy * dy + dx * dx) / (sigma_space * sigma_space)
        weight = dist2.mul_(range_coef).add_(spatial).exp_()
        px = r - x0  # where the interior starts inside ``weight``
        forward = weight[..., dy : dy + h, px : px + w]  # pair (p, p + d)
        backward = weight[..., 0:h, px - dx : px - dx + w]  # pair (p - d, p)
        num.addcmul_(forward, padded[..., r + dy : r + dy + h, r + dx : r + dx + w])
        num.addcmul_(backward, padded[..., r - dy : r - dy + h, r - dx : r - dx + w])
        den.add_(forward).add_(backward)
    return num.div_(den)


def bilateral_filter(
    image: torch.Tensor,
    window: int = 7,
    sigma_space: float = 7.0,
    sigma_range: float = 102.0 / 255.0,
    distance: str = "l1",
    band_elements: int | None = None,
) -> torch.Tensor:
    """Bilateral-filter a batch of images.

    ``image``: ``N x C x H x W`` (or ``C x H x W``) float tensor on any device; values on the
    scale ``sigma_range`` refers to (the default 0.4 is 102 on the 0..255 scale, for images
    in [0, 1]). ``window``: diameter of the circular window (odd). ``distance``: colour
    distance of the range kernel: ``l1`` (sum of absolute channel differences, OpenCV's),
    ``l2`` (Euclidean) or ``channel`` (each channel filtered on its own).
    ``band_elements`` bounds the size of each temporary, so memory does not grow with the
    image (default: ``CPU_BAND_ELEMENTS`` or ``GPU_BAND_ELEMENTS`` by device). Returns a
    tensor of the same shape and dtype.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"bilateral window must be a positive odd number, got {window}")
    if sigma_space <= 0 or sigma_range <= 0:
        raise ValueError("bilateral sigmas must be positive")
    if distance not in DISTANCES:
        raise ValueError(f"bilateral distance must be one of {', '.join(DISTANCES)}, got {distance!r}")
    squeeze = image.ndim == 3
    x = image.unsqueeze(0) if squeeze else image
    if x.ndim != 4:
        raise ValueError(f"expected an N x C x H x W tensor, got shape {tuple(image.shape)}")
    out_dtype = x.dtype
    work = x if x.dtype == torch.float64 else x.float()
    radius = window // 2
    offsets = window_offsets(window)
    n, c, h, w = work.shape
    if radius == 0 or h == 0 or w == 0:
        return image.clone()

    if band_elements is None:
        band_elements = CPU_BAND_ELEMENTS if work.device.type == "cpu" else GPU_BAND_ELEMENTS
    band = band_rows(w, c, n, window, band_elements)
    out = torch.empty_like(work)
    for top in range(0, h, band):
        bottom = min(h, top + band)
        rows = _mirrored_rows(top - radius, bottom + radius, h, radius, work.device)
        piece = work.index_select(-2, rows)
        mode = "reflect" if radius < w else "replicate"
        padded = F.pad(piece, (radius, radius, 0, 0), mode=mode)
        out[:, :, top:bottom] = _filter_padded(padded, radius, offsets, sigma_space, sigma_range, distance)
    out = out.to(out_dtype)
    return out.squeeze(0) if squeeze else out


def _mirrored_rows(start: int, stop: int, h: int, radius: int, device: torch.device) -> torch.Tensor:
    """Row indices ``start..stop-1`` mirrored into ``0..h-1`` (reflect-101: -1 -> 1,
    h -> h - 2); edge rows repeated when the image is too small to mirror."""
    rows = torch.arange(start, stop, device=device)
    if radius < h:
        rows = rows.abs()
        return torch.where(rows > h - 1, 2 * (h - 1) - rows, rows)
    return rows.clamp(0, h - 1)


def band_rows(width: int, channels: int = 3, batch: int = 1, window: int = 7,
              band_elements: int = CPU_BAND_ELEMENTS) -> int:
    """Output rows per band so one temporary holds at most ``band_elements`` values."""
    radius = window // 2
    return max(1, band_elements // max(1, batch * channels * (width + 2 * radius)) - 2 * radius)
