"""Shared network building blocks: the VGG-16 encoder and its symmetric decoder.

Used by the guided cGAN (sigmoid head) and DeepFlash (tanh head). ``width`` scales every
channel count (1.0 = the paper); ImageNet weights exist only at width 1.0.
:class:`VGGBackbone` (``flashcli.nn.backbone``) holds the options of such a backbone and
its training start; it imports no torch, so plugins declare their options with it. The
other names import torch when first read.
"""

from typing import TYPE_CHECKING

from flashcli.nn.backbone import VGGBackbone
from flashcli.runtime.lazy import lazy_exports

if TYPE_CHECKING:
    from flashcli.nn.decoder import SymmetricDecoder, VGGEncoderDecoder
    from flashcli.nn.vgg import (
        VGG16Encoder,
        init_vgg16_encoder,
        load_imagenet_vgg16,
        read_vgg16_file,
        scaled,
        vgg16_channels,
    )

__all__ = [
    "SymmetricDecoder",
    "VGG16Encoder",
    "VGGBackbone",
    "VGGEncoderDecoder",
    "init_vgg16_encoder",
    "load_imagenet_vgg16",
    "read_vgg16_file",
    "scaled",
    "vgg16_channels",
]

__getattr__ = lazy_exports(__name__, {
    **dict.fromkeys(["SymmetricDecoder", "VGGEncoderDecoder"], "flashcli.nn.decoder"),
    **dict.fromkeys(["VGG16Encoder", "init_vgg16_encoder", "load_imagenet_vgg16", "read_vgg16_file",
                     "scaled", "vgg16_channels"], "flashcli.nn.vgg"),
})
