"""The decoder symmetric to VGG-16 and the full encoder-decoder with skips (docs/method.md, "The guided conditional GAN")."""

from __future__ import annotations

import torch
from torch import nn

from flashcli.nn.vgg import VGG16Encoder, vgg16_channels

_HEADS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "none": nn.Identity}


def _convs(cin: int, cout: int, n: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class _Up(nn.Module):
    """3x3 transposed conv (stride 2) to the skip's exact size, concat the skip, convs."""

    def __init__(self, cin: int, cout: int, skip: int, n_convs: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1)
        self.convs = _convs(cout + skip, cout, n_convs)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x, output_size=skip.shape[-2:])
        return self.convs(torch.cat([x, skip], dim=1))


class SymmetricDecoder(nn.Module):
    """Four up levels (3 convs at the 512 level, 2 at the others: 512 -> 256 -> 128 -> 64)
    then a 3x3 conv to ``out_channels``. Takes the encoder's 5 block outputs."""

    def __init__(self, width: float = 1.0, out_channels: int = 3) -> None:
        super().__init__()
        c = vgg16_channels(width)  # [64, 128, 256, 512, 512] * width
        self.levels = nn.ModuleList([
            _Up(c[4], c[3], c[3], 3),
            _Up(c[3], c[2], c[2], 2),
            _Up(c[2], c[1], c[1], 2),
            _Up(c[1], c[0], c[0], 2),
        ])
        self.out = nn.Conv2d(c[0], out_channels, 3, padding=1)

    def forward(self, skips: list[torch.Tensor]) -> torch.Tensor:
        x = skips[-1]
        for level, skip in zip(self.levels, reversed(skips[:-1]), strict=True):
            x = level(x, skip)
        return self.out(x)


class VGGEncoderDecoder(nn.Module):
    """VGG-16 encoder + symmetric decoder with concatenated skips; any H x W works.

    ``head``: ``sigmoid`` (guided cGAN, output in [0, 1]), ``tanh`` (DeepFlash, [-1, 1]) or
    ``none``. ``normalize``: ImageNet normalisation of a [0, 1] input inside the encoder.
    """

    def __init__(self, width: float = 1.0, out_channels: int = 3, head: str = "sigmoid",
                 normalize: bool = True) -> None:
        super().__init__()
        if head not in _HEADS:
            raise ValueError(f"head must be one of {sorted(_HEADS)}")
        self.encoder = VGG16Encoder(width, normalize=normalize)
        self.decoder = SymmetricDecoder(width, out_channels)
        self.head = _HEADS[head]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.decoder(self.encoder(x)))
