"""Generator and discriminator of the guided cGAN (docs/method.md).

The generator has two outputs:

- ``image`` (the paper): the decoder's sigmoid output *is* the ambient image;
- ``gain``: the log2 gain in linear light applied to the flash photo, in two parts: the
  camera stage (:mod:`flashcli_guided_cgan.camera`: one level per channel for the whole
  photo, its exposure and white balance) plus the spatial field, which the decoder predicts
  at reduced resolution, averaged over cells of ``gain_cell`` pixels and upsampled
  bilinearly (smooth by construction), with zero mean per photo (it moves light around, the
  camera stage sets the level) and, unless ``spatial_colour`` > 0, the same in every channel
  (it cannot tint skin grey or cyan), plus the flash's fall-off towards the frame's corners
  (:mod:`flashcli_guided_cgan.falloff`, one slope per photo, also the same in every channel).
  The output keeps every detail of the photo: the network only estimates how the light
  changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from flashcli.nn import VGGEncoderDecoder, scaled
from flashcli.ops.colour import LUMA
from flashcli.ops.upsample import linear_to_srgb, srgb_to_linear
from flashcli_guided_cgan import OUTPUTS
from flashcli_guided_cgan.camera import CameraHead, photo_features
from flashcli_guided_cgan.falloff import FalloffHead

#: The encoder pools four times: inputs are padded to a multiple of this.
MULTIPLE = 16


def pad_for_network(x: torch.Tensor, margin: int = MULTIPLE,
                    multiple: int = MULTIPLE) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Pad ``x`` by reflection: ``margin`` pixels on every side (so the convolutions' own
    zero padding falls outside the photo and its borders look like the interior), plus what
    makes the size a multiple of ``multiple``. Returns the padded tensor and the crop box
    ``(top, left, height, width)`` of the original."""
    h, w = x.shape[-2:]
    ph, pw = (-(h + 2 * margin)) % multiple, (-(w + 2 * margin)) % multiple
    top, left = margin + ph // 2, margin + pw // 2
    bottom, right = margin + ph - ph // 2, margin + pw - pw // 2
    mode = "reflect" if max(top, bottom) < h and max(left, right) < w else "replicate"
    return F.pad(x, (left, right, top, bottom), mode=mode), (top, left, h, w)


def apply_log_gain(flash: torch.Tensor, log2_gain: torch.Tensor) -> torch.Tensor:
    """``flash`` (sRGB, [0, 1]) times ``2 ** log2_gain`` in linear light, back to sRGB."""
    return linear_to_srgb(srgb_to_linear(flash.float()) * torch.exp2(log2_gain.float()))


class Generator(VGGEncoderDecoder):
    """VGG-16 encoder (torchvision's layers) + symmetric decoder with skips.

    ``output="image"``: sigmoid out, the paper's generator. ``output="gain"``: see the module
    doc; ``gain_scale`` is the resolution the network runs at (relative to its input),
    ``gain_cell`` the smoothing cell in input pixels, ``max_stops`` bounds each part,
    ``spatial_colour`` is the share of the spatial field's colour kept (0: luminance only).
    """

    def __init__(self, width: float = 1.0, output: str = "image", gain_scale: float = 0.5,
                 gain_cell: int = 16, max_stops: float = 3.0, spatial_colour: float = 0.0) -> None:
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, not {output!r}")
        super().__init__(width=width, out_channels=3, head="sigmoid" if output == "image" else "none",
                         normalize=True)
        self.output = output
        self.gain_scale, self.gain_cell, self.max_stops = gain_scale, gain_cell, max_stops
        self.spatial_colour = spatial_colour
        if output == "gain":  # start from "change nothing"
            nn.init.zeros_(self.decoder.out.weight)
            nn.init.zeros_(self.decoder.out.bias)
            self.camera = CameraHead(max_stops=max_stops)
            self.falloff = FalloffHead(max_stops=max_stops)

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        padded, (top, left, h, w) = pad_for_network(x)
        return self.head(self.decoder(self.encoder(padded)))[..., top:top + h, left:left + w]

    def log_gain(self, flash: torch.Tensor, camera: float = 1.0, spatial: float = 1.0,
                 falloff: float = 0.0) -> torch.Tensor:
        """The smooth per-channel log2 gain (N x 3 x H x W) this generator applies: the
        camera stage's levels times ``camera`` plus the spatial field times ``spatial`` plus
        the fall-off towards the corners times ``falloff`` (fitted after training, so 0 in
        training), squashed to at most ``max_stops``."""
        feats = photo_features(flash) if camera or falloff else None  # both heads read them
        levels = (self.camera.from_features(feats.to(self.camera.mean.dtype)) if camera
                  else flash.new_zeros(flash.shape[0], 3))
        field = self.spatial_field(flash) if spatial else 0.0
        total = camera * levels.float()[:, :, None, None] + spatial * field
        if falloff:
            total = total + falloff * self.falloff(flash, feats)
        return self.max_stops * torch.tanh(total / self.max_stops)

    def spatial_field(self, flash: torch.Tensor) -> torch.Tensor:
        """The spatial part of the log2 gain: N x 3 x H x W, zero mean per photo and channel,
        equal in every channel but for ``spatial_colour`` of its colour."""
        h, w = flash.shape[-2:]
        size = (max(MULTIPLE, round(h * self.gain_scale)), max(MULTIPLE, round(w * self.gain_scale)))
        lo = F.interpolate(flash, size=size, mode="bilinear", antialias=True, align_corners=False)
        raw = self._run(lo).float()
        g = self.max_stops * torch.tanh(raw / self.max_stops)
        cell = max(1, round(self.gain_cell * size[0] / h))
        g = F.avg_pool2d(g, cell, cell, ceil_mode=True, count_include_pad=False)
        g = g - g.mean((-2, -1), keepdim=True)
        luma = torch.tensor(LUMA, device=g.device, dtype=g.dtype).view(1, 3, 1, 1)
        lum = (g * luma).sum(1, keepdim=True)
        g = lum + self.spatial_colour * (g - lum)
        return F.interpolate(g, size=(h, w), mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.output == "image":
            return self._run(x)
        return apply_log_gain(x, self.log_gain(x))


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
