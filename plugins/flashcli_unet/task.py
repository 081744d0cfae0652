"""Training of the U-Net: L1 to the ambient image."""

from __future__ import annotations

import torch

from flashcli.training.task import StepContext, TrainingTask, make_adam
from flashcli_unet.network import UNet


class UNetTask(TrainingTask):
    """L1 between the U-Net's output and the ambient image; Adam."""

    inference = "network"

    def __init__(self, network: UNet, lr: float) -> None:
        optimizer = make_adam(network.parameters(), lr)
        super().__init__({"network": network}, {"network": optimizer})
        self.network = network

    def step(self, flash: torch.Tensor, ambient: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        self.network.train()
        with ctx.autocast():
            pred = self.network(flash)
        loss = (pred.float() - ambient.float()).abs().mean()
        ctx.update(loss, "network")
        return {"l1": loss.detach()}

    @torch.no_grad()
    def predict(self, flash: torch.Tensor) -> torch.Tensor:
        return self.network(flash).float().clamp(0.0, 1.0)
