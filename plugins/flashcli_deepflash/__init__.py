"""The ``deepflash`` method (Capece et al. 2019): bilateral pre-filter, VGG-16
encoder-decoder predicting the low-frequency flash/ambient difference, L1. Needs weights
from ``flashcli train DATASET --method deepflash``. See ``flashcli_deepflash.model``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flashcli
from flashcli.enhancer import Enhancer, Option, OptionValues, option_error
from flashcli.nn.backbone import VGGBackbone
from flashcli.runtime.lazy import lazy_exports, lazy_module
from flashcli.training.config import TrainConfig

if TYPE_CHECKING:
    import torch

    import flashcli_deepflash.task as deepflash_task
    from flashcli_deepflash import model
    from flashcli_deepflash.task import DeepFlashTask
else:  # torch: the plugin loads for every command, even --help
    deepflash_task = lazy_module("flashcli_deepflash.task")
    model = lazy_module("flashcli_deepflash.model")

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
        Option("bf_window", 7, "bilateral filter window (pixels, odd)", minimum=1),
        Option("bf_sigma_space", 7.0, "bilateral spatial sigma (pixels)", positive=True),
        Option("bf_sigma_range", 102.0, "bilateral range sigma on the 0..255 scale", positive=True),
        *VGGBackbone.options(freeze_encoder=False),
    )
    needs_weights = True
    trainable = True
    working_size = 320

    @classmethod
    def check_options(cls, options: OptionValues) -> None:
        if options.bf_window % 2 == 0:
            raise option_error("bf_window", options.bf_window, "must be odd (1, 3, 5, 7, ...), e.g. 7")
        VGGBackbone.check(options)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.network = model.build_network(self.config.width)

    def prefilter(self, images: torch.Tensor) -> torch.Tensor:
        """The bilateral pre-filter with this enhancer's parameters ([0, 1] images)."""
        c = self.config
        return model.prefilter(images, c.bf_window, c.bf_sigma_space, c.bf_sigma_range)

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        prediction = self.network(self.prefilter(flash))
        return model.relight(flash, prediction.float())

    def training_task(self, config: TrainConfig) -> DeepFlashTask:
        """Start the encoder from the options ``vgg_weights`` / ``pretrained`` (default:
        ImageNet VGG-16 at width 1.0, random when narrower; nothing when
        ``config.resuming``), freeze it if asked, and return the L1 task; ``config.lr``
        overrides the ``lr`` option."""
        config = TrainConfig.of(config)
        init = VGGBackbone.of(self.config).start(self.network.encoder, self.name, config.resuming)
        self.network.to(self.device)
        task = deepflash_task.DeepFlashTask(self, lr=config.learning_rate(self.config.lr))
        task.init = init
        return task


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(DeepFlash)
