"""A complete trainable flashcli plugin: a two-layer residual network trained with L1.

Install it (``pip install -e docs/examples/flashcli-tinynet``), then::

    flashcli train DATASET --method tinynet --epochs 5 --out runs/tiny
    flashcli relight SHOOT/ -o OUT/ --method tinynet --weights runs/tiny

This module only declares the method: every flashcli command (even ``flashcli --help``)
imports it, so torch and the network are imported from ``network.py`` when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flashcli
from flashcli.enhancer import Enhancer, Option

if TYPE_CHECKING:
    import torch

    from flashcli_tinynet.network import TinyTask


class TinyNet(Enhancer):
    name = "tinynet"
    description = "Two-layer residual network (example trainable plugin)."
    trainable = True
    options = (
        Option("width", 8, "hidden channels", positive=True),
        Option("lr", 1e-3, "Adam learning rate (flashcli train --lr overrides it)", positive=True),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from flashcli_tinynet.network import build_network

        self.network = build_network(self.config["width"])

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        from flashcli_tinynet.network import run_network

        return run_network(self.network, flash)

    def training_task(self, config: Any) -> TinyTask:
        """``config`` is the run's ``flashcli.training.config.TrainConfig``."""
        from flashcli_tinynet.network import TinyTask

        lr = config.lr if config.lr is not None else self.config["lr"]
        task = TinyTask(self.network, lr)
        task.init = None if config.resuming else "scratch"
        return task


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(TinyNet)
