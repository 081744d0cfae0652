"""The U-Net of Chen et al. (CVPR 2018, "Learning to see in the dark"), flash -> ambient.

Five levels with 32 base channels doubling to 512; each level is two 3x3 convolutions with
ReLU (docs/method.md, "Baselines"; the authors' code used LeakyReLU 0.2); 2x2 max-pool down; 2x2
transposed convolution (stride 2) up, concatenated with the encoder output of the same
level; a 1x1 convolution to 3 channels. As in Chen et al., the output is linear: L1 is taken
on it during training and it is clamped to [0, 1] at inference. Any H x W works: the input
is reflect-padded to a multiple of 16 and the output cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def level_channels(width: float = 1.0, levels: int = 5, base: int = 32) -> list[int]:
    """Channels of each level: ``base * width`` doubling per level (at least 1)."""
    return [max(1, round(base * width * 2**i)) for i in range(levels)]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the bottom and right of ``x`` to a multiple of ``multiple``; return the original
    ``(H, W)``. Reflect padding where the image is large enough, edge replication otherwise."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


class DoubleConv(nn.Sequential):
    """Two 3x3 convolutions, each followed by ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """Chen et al.'s U-Net; ``width`` multiplies every channel count (1.0 = the paper's)."""

    def __init__(self, width: float = 1.0, in_channels: int = 3, out_channels: int = 3,
                 levels: int = 5) -> None:
        super().__init__()
        chans = level_channels(width, levels)
        self.multiple = 2 ** (levels - 1)
        self.down = nn.ModuleList(
            DoubleConv(cin, cout) for cin, cout in zip([in_channels, *chans[:-1]], chans, strict=True)
        )
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in range(levels - 1)
        )
        self.merge = nn.ModuleList(DoubleConv(2 * chans[i], chans[i]) for i in range(levels - 1))
        self.out = nn.Conv2d(chans[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_multiple(x, self.multiple)
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        for i in reversed(range(len(self.up))):
            x = self.up[i](x)
            x = self.merge[i](torch.cat([x, skips[i]], dim=1))
        return self.out(x)[..., :h, :w]
