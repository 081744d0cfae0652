"""The options and the training start of a VGG-16 backbone, shared by the methods built on
:class:`flashcli.nn.VGGEncoderDecoder` (the guided cGAN and DeepFlash).

Torch-free: a plugin declares its options with it when it is imported (every command, even
``--help``)::

    options = (Option("width", 1.0, ...), ..., *VGGBackbone.options())

    def training_task(self, config):
        init = VGGBackbone.of(self.config).start(self.network.encoder, self.name, config.resuming)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from flashcli.enhancer import Option, option_error
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    from flashcli.nn import vgg
    from flashcli.nn.vgg import VGG16Encoder
else:  # imports torch: VGGBackbone declares options without it
    vgg = lazy_module("flashcli.nn.vgg")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VGGBackbone:
    """How a method's VGG-16 encoder starts and trains: ``width`` (its channel multiplier;
    ImageNet weights exist at 1.0 only), ``pretrained`` (None: at width 1.0 only),
    ``vgg_weights`` (a torchvision vgg16 state-dict file, for offline starts) and
    ``freeze_encoder`` (None: frozen when the encoder starts from pretrained weights,
    trained when it starts from random ones: a random frozen encoder learns nothing)."""

    width: float = 1.0
    pretrained: bool | None = None
    vgg_weights: str | None = None
    freeze_encoder: bool | None = None

    @staticmethod
    def options(freeze_encoder: bool | None = None) -> tuple[Option, ...]:
        """The backbone's ``Option`` declarations, to splice into a method's ``options``
        (the method declares ``width`` itself: what it scales differs). ``freeze_encoder``
        None: frozen when pretrained, trained from scratch."""
        freeze_help = ("keep the VGG-16 encoder frozen while training" if freeze_encoder is not None
                       else "keep the VGG-16 encoder frozen while training (default: frozen when "
                            "it starts from pretrained weights, trained when it starts from scratch)")
        return (
            Option("freeze_encoder", freeze_encoder, freeze_help, type=bool),
            Option("pretrained", None, "start the VGG-16 encoder from ImageNet weights "
                   "(default: when width is 1.0)", type=bool),
            Option("vgg_weights", None, "a torchvision vgg16 state-dict file, for offline "
                   "pretrained starts", type=str),
        )

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> VGGBackbone:
        """The bundle from a method's option values (``self.config``)."""
        return cls(**{f.name: options[f.name] for f in fields(cls) if f.name in options})

    @classmethod
    def check(cls, options: Mapping[str, Any]) -> None:
        """The backbone's rule across options, for a method's ``check_options``: pretrained
        weights (ImageNet, or a ``vgg_weights`` file) exist at width 1.0 only."""
        self = cls.of(options)
        if self.width != 1.0 and (self.vgg_weights is not None or self.pretrained):
            name = "vgg_weights" if self.vgg_weights is not None else "pretrained"
            raise option_error(name, options[name], f"pretrained VGG-16 weights exist only at width 1.0 "
                               f"(width is {self.width:g}); use --no-pretrained or --opt width=1.0")

    @property
    def pretrained_start(self) -> bool:
        """Whether the encoder starts from pretrained weights (a ``vgg_weights`` file, or
        ImageNet when ``pretrained``; auto: at width 1.0 only), decided by the options alone
        so that a resumed run decides as its first start did."""
        if self.vgg_weights is not None:
            return True
        return self.pretrained if self.pretrained is not None else self.width == 1.0

    @property
    def frozen(self) -> bool:
        """Whether the encoder stays frozen: ``freeze_encoder`` when given, else when it
        starts from pretrained weights (the paper's protocol)."""
        return self.freeze_encoder if self.freeze_encoder is not None else self.pretrained_start

    def learning_rate(self, pretrained: float, scratch: float) -> float:
        """A method's default learning rate: ``pretrained`` (the paper's, for a pretrained
        encoder) or ``scratch`` (for one that trains from random weights)."""
        return pretrained if self.pretrained_start else scratch

    def start(self, encoder: VGG16Encoder, method: str, resuming: bool = False) -> str | None:
        """Make ``encoder`` ready for training: load its starting weights (``vgg_weights``,
        else ImageNet when ``pretrained``; none when ``resuming``: the saved state replaces
        them), then freeze it if asked. Returns where the weights came from (``"scratch"``,
        ``"imagenet"``, ``"file:PATH"``; None when resuming)."""
        init = None if resuming else vgg.init_vgg16_encoder(encoder, self.pretrained, self.vgg_weights)
        encoder.requires_grad_(not self.frozen)
        if init == "scratch" and self.frozen:
            log.warning(f"{method}: the encoder starts from random weights and stays frozen; "
                        "pass --opt freeze_encoder=false to train it")
        return init
