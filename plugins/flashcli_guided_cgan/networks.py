"""Generator and discriminator of the guided cGAN (REFERENCE.md §1)."""

from __future__ import annotations

import torch
from torch import nn

from flashcli.nn import VGGEncoderDecoder, scaled


class Generator(VGGEncoderDecoder):
    """VGG-16 encoder (torchvision's layers) + symmetric decoder with skips, sigmoid out."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__(width=width, out_channels=3, head="sigmoid", normalize=True)


class PatchDiscriminator(nn.Module):
    """Unconditional patch discriminator: 5 stride-2 3x3 convs (64..1024 channels, BatchNorm
    on all but the first, LeakyReLU 0.2) then a 3x3 conv to 1 logit per patch.
    224 x 224 in -> 7 x 7 logits out."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        chans = [scaled(c, width) for c in (64, 128, 256, 512, 1024)]
        layers: list[nn.Module] = []
        cin = 3
        for i, cout in enumerate(chans):
            layers.append(nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            cin = cout
        layers.append(nn.Conv2d(cin, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
