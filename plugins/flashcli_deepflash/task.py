"""Training of DeepFlash: L1 on the predicted low-frequency difference."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from flashcli.training.task import StepContext, TrainingTask, make_adam
from flashcli_deepflash.model import difference_target

if TYPE_CHECKING:
    from flashcli_deepflash import DeepFlash


class DeepFlashTask(TrainingTask):
    """L1 between the predicted and the true low-frequency difference; Adam."""

    inference = "network"

    def __init__(self, enhancer: DeepFlash, lr: float) -> None:
        network = enhancer.network
        params = [p for p in network.parameters() if p.requires_grad]
        super().__init__({"network": network}, {"network": make_adam(params, lr)})
        self.enhancer = enhancer
        self.network = network

    def step(self, flash: torch.Tensor, ambient: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        self.network.train()
        with torch.no_grad():
            flash_bf = self.enhancer.prefilter(flash)
            target = difference_target(flash_bf, self.enhancer.prefilter(ambient))
        with ctx.autocast():
            pred = self.network(flash_bf)
        loss = (pred.float() - target).abs().mean()
        ctx.update(loss, "network")
        return {"l1": loss.detach()}

    @torch.no_grad()
    def predict(self, flash: torch.Tensor) -> torch.Tensor:
        return self.enhancer.enhance(flash.float())
