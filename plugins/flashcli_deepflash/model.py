"""DeepFlash (Capece et al. 2019) as the paper's authors ran it (docs/method.md, "Baselines").

Both images are bilateral-filtered (window 7, sigma_space 7, sigma_range 102 on 0..255).
A VGG-16 encoder-decoder (the same ``flashcli.nn`` blocks as the guided cGAN's generator)
with a tanh head sees the filtered flash image and predicts the low-frequency difference
``(flash_bf - ambient_bf) / 2`` with images on [-1, 1]; the loss is L1. The result is
``clip(flash - 2 * prediction, -1, 1)``: the flash image's detail over the predicted
ambient low frequencies, mapped back to [0, 1].

The network input is the filtered flash image on [0, 1] with the ImageNet normalisation
inside the encoder (what the pretrained VGG-16 weights expect); that is an affine
re-scaling of the [-1, 1] input, so the prediction is unchanged in meaning.
"""

from __future__ import annotations

import torch

from flashcli.nn import VGGEncoderDecoder
from flashcli.ops.filters import bilateral_filter


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1]."""
    return x * 2.0 - 1.0


def from_signed(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1]."""
    return (x + 1.0) * 0.5


def build_network(width: float = 1.0) -> VGGEncoderDecoder:
    """DeepFlash's network: VGG-16 encoder, symmetric decoder, tanh head."""
    return VGGEncoderDecoder(width=width, out_channels=3, head="tanh", normalize=True)


def prefilter(images: torch.Tensor, window: int = 7, sigma_space: float = 7.0,
              sigma_range: float = 102.0) -> torch.Tensor:
    """Bilateral-filter [0, 1] images; ``sigma_range`` is on the 0..255 scale."""
    return bilateral_filter(images, window, sigma_space, sigma_range / 255.0)


def difference_target(flash_bf: torch.Tensor, ambient_bf: torch.Tensor) -> torch.Tensor:
    """The training target ``(flash_bf - ambient_bf) / 2`` with images on [-1, 1]."""
    return (to_signed(flash_bf) - to_signed(ambient_bf)) * 0.5


def relight(flash: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
    """``clip(flash - 2 * prediction, -1, 1)`` on [-1, 1], returned on [0, 1]."""
    return from_signed((to_signed(flash) - 2.0 * prediction).clamp(-1.0, 1.0))
