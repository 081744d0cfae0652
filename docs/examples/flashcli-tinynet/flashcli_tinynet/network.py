"""The network and its training step (torch is imported here, not in ``__init__``)."""

from __future__ import annotations

import torch
from torch import nn

from flashcli.training.task import StepContext, TrainingTask, make_adam


def build_network(width: int) -> nn.Module:
    """Predicts a correction added to the flash image (reflection padding: no border frame)."""
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1, padding_mode="reflect"),
        nn.ReLU(),
        nn.Conv2d(width, 3, 3, padding=1, padding_mode="reflect"),
    )


def run_network(network: nn.Module, flash: torch.Tensor) -> torch.Tensor:
    """The one forward pass shared by inference and training."""
    return (flash + network(flash)).clamp(0.0, 1.0)


class TinyTask(TrainingTask):
    """What one training step does; the engine does everything else."""

    inference = "network"  # the key in ``modules`` of the network the enhancer runs

    def __init__(self, network: nn.Module, lr: float) -> None:
        # TrainingTask.__init__ takes the modules and the optimisers, each by name.
        super().__init__({"network": network}, {"network": make_adam(network.parameters(), lr)})

    def step(self, flash: torch.Tensor, ambient: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        network = self.modules["network"]  # through ``modules``: DDP may have wrapped it
        network.train()
        with ctx.autocast():
            pred = run_network(network, flash)
        loss = (pred.float() - ambient.float()).abs().mean()
        ctx.update(loss, "network")  # backward and optimiser step, AMP-aware
        return {"l1": loss.detach()}  # 0-d tensors, no .item()

    def predict(self, flash: torch.Tensor) -> torch.Tensor:
        return run_network(self.modules["network"], flash).float()
