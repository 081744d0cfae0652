"""The ``unet`` method: Chen et al.'s U-Net trained from scratch with L1 (the paper's
ablation 4). Needs weights from ``flashcli train DATASET --method unet``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flashcli
from flashcli.enhancer import Enhancer, Option
from flashcli.runtime.lazy import lazy_exports, lazy_module
from flashcli.training.config import TrainConfig

if TYPE_CHECKING:
    import torch

    import flashcli_unet.network as unet_network
    import flashcli_unet.task as unet_task
    from flashcli_unet.network import UNet
    from flashcli_unet.task import UNetTask
else:  # torch: the plugin loads for every command, even --help
    unet_network = lazy_module("flashcli_unet.network")
    unet_task = lazy_module("flashcli_unet.task")

__all__ = ["UNet", "UNetEnhancer", "UNetTask"]

# Imported on first use: the plugin loads for every command, even --help, without torch.
__getattr__ = lazy_exports(__name__, {"UNet": "flashcli_unet.network", "UNetTask": "flashcli_unet.task"})


class UNetEnhancer(Enhancer):
    name = "unet"
    description = "U-Net of Chen et al. (CVPR 2018) trained from scratch with L1 (ablation baseline)."
    table_rank = 4
    options = (
        Option("width", 1.0, "channel multiplier (1.0 = 32 base channels doubling to 512)", positive=True, maximum=4.0),
        Option("lr", 1e-4, "Adam learning rate for training (Chen et al.: 1e-4)", positive=True),
    )
    needs_weights = True
    trainable = True
    working_size = 320

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.network = unet_network.UNet(width=self.config.width)

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        return self.network(flash).clamp(0.0, 1.0)

    def training_task(self, config: TrainConfig) -> UNetTask:
        """Train from scratch (it has no pretrained backbone, so no such option);
        ``config.lr`` overrides the ``lr`` option."""
        config = TrainConfig.of(config)
        self.network.to(self.device)
        task = unet_task.UNetTask(self.network, lr=config.learning_rate(self.config.lr))
        task.init = None if config.resuming else "scratch"
        return task


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(UNetEnhancer)
