"""The paper's augmentation, batched on the device: a random square crop (side = short side
* U(crop_min, 1)), resized to ``size`` x ``size``, and a random horizontal flip, all in one
``grid_sample``. Flash and ambient are stacked on the channel axis, so a pair always gets the
same crop and flip."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_resize_flip(batch: torch.Tensor, size: int, generator: torch.Generator | None = None,
                     crop_min: float = 0.8, flip: bool = True) -> torch.Tensor:
    """``batch``: uint8 (0..255) or float ([0, 1]) N x C x H x W -> float N x C x size x size.

    The random numbers are drawn on ``batch``'s device from ``generator``: no host sync.
    """
    n, c, h, w = batch.shape
    dev = batch.device
    r = torch.rand(n, 4, generator=generator, device=dev)
    side = min(h, w) * (crop_min + (1.0 - crop_min) * r[:, 0])   # crop side, pixels
    x0 = (w - side) * r[:, 1]
    y0 = (h - side) * r[:, 2]
    sign = torch.where(r[:, 3] < 0.5, -1.0, 1.0) if flip else torch.ones(n, device=dev)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0] = side / w * sign        # normalised coords, align_corners=False:
    theta[:, 0, 2] = (2 * x0 + side) / w - 1  # the crop's centre
    theta[:, 1, 1] = side / h
    theta[:, 1, 2] = (2 * y0 + side) / h - 1
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    x = batch.float().div_(255.0) if batch.dtype == torch.uint8 else batch.float()
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
