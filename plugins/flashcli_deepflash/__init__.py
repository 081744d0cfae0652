"""The ``deepflash`` method (Capece et al. 2019): bilateral pre-filter, VGG-16
encoder-decoder predicting the low-frequency flash/ambient difference, L1. Needs weights
from ``flashcli train DATASET --method deepflash``. See ``flashcli_deepflash.model``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flashcli
from flashcli.enhancer import Enhancer, Option
from flashcli.errors import FlashcliError
from flashcli.lazy import lazy_exports

if TYPE_CHECKING:
    import torch

    from flashcli_deepflash.task import DeepFlashTask

__all__ = ["DeepFlash", "DeepFlashTask"]

# Imported on first use: the plugin loads for every command, even --help, without torch.
__getattr__ = lazy_exports(__name__, {"DeepFlashTask": "flashcli_deepflash.task"})


class DeepFlash(Enhancer):
    name = "deepflash"
    description = "DeepFlash (Capece et al. 2019): bilateral pre-filter + VGG-16 encoder-decoder."
    table_rank = 3
    options = (
        Option("width", 1.0, "channel multiplier of the VGG-16 encoder-decoder (1.0 = VGG-16)", positive=True, maximum=4.0),
        Option("lr", 1e-4, "Adam learning rate for training", positive=True),
        Option("freeze_encoder", False, "keep the (pretrained) VGG-16 encoder fixed in training"),
        Option("bf_window", 7, "bilateral filter window (pixels, odd)"),
        Option("bf_sigma_space", 7.0, "bilateral spatial sigma (pixels)"),
        Option("bf_sigma_range", 102.0, "bilateral range sigma on the 0..255 scale"),
        Option("pretrained", None, "start the VGG-16 encoder from ImageNet weights "
               "(default: when width is 1.0)", type=bool),
        Option("vgg_weights", None, "a torchvision vgg16 state-dict file, for offline "
               "pretrained starts", type=str),
    )
    needs_weights = True
    trainable = True
    working_size = 320

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        cfg = self.config
        if cfg["bf_window"] < 1 or cfg["bf_window"] % 2 == 0:
            raise FlashcliError(f"method deepflash: option bf_window={cfg['bf_window']} must be odd, e.g. 7")
        if not (cfg["bf_sigma_space"] > 0 and cfg["bf_sigma_range"] > 0):
            raise FlashcliError("method deepflash: options bf_sigma_space and bf_sigma_range must be > 0")
        from flashcli_deepflash.model import build_network

        self.network = build_network(cfg["width"])

    def prefilter(self, images: torch.Tensor) -> torch.Tensor:
        """The bilateral pre-filter with this enhancer's parameters ([0, 1] images)."""
        from flashcli_deepflash.model import prefilter

        cfg = self.config
        return prefilter(images, cfg["bf_window"], cfg["bf_sigma_space"], cfg["bf_sigma_range"])

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        from flashcli_deepflash.model import relight

        prediction = self.network(self.prefilter(flash))
        return relight(flash, prediction.float())

    def training_task(self, config: Any) -> DeepFlashTask:
        """Initialise the encoder from the options ``vgg_weights`` / ``pretrained``
        (default: ImageNet VGG-16 at width 1.0, random when narrower; nothing when
        ``config.resuming``), freeze it if asked, and return the L1 task; ``config.lr``
        overrides the ``lr`` option."""
        from flashcli.nn import init_vgg16_encoder
        from flashcli_deepflash.task import DeepFlashTask

        cfg = self.config
        init = None
        if not getattr(config, "resuming", False):
            init = init_vgg16_encoder(self.network.encoder, cfg["pretrained"], cfg["vgg_weights"])
        self.network.encoder.requires_grad_(not cfg["freeze_encoder"])
        self.network.to(self.device)
        lr = getattr(config, "lr", None)
        task = DeepFlashTask(self, lr=float(lr) if lr is not None else cfg["lr"])
        task.init = init
        return task


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(DeepFlash)
