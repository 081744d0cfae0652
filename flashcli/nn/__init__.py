"""Shared network building blocks: the VGG-16 encoder and its symmetric decoder.

Used by the guided cGAN (sigmoid head) and DeepFlash (tanh head). ``width`` scales every
channel count (1.0 = the paper); ImageNet weights exist only at width 1.0.
"""

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
    "VGGEncoderDecoder",
    "init_vgg16_encoder",
    "load_imagenet_vgg16",
    "read_vgg16_file",
    "scaled",
    "vgg16_channels",
]
