"""The contract between the training engine and a trainable method.

A trainable enhancer (``trainable = True``) returns a ``TrainingTask`` from
``Enhancer.training_task(config)``. The engine owns everything generic: data on the
device, the paper's augmentation, AMP, channels_last, DDP, checkpoints, logs, progress.
The task owns the method: its modules, its optimizers and what one step does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn


class StepContext:
    """Handed to ``TrainingTask.step``: mixed precision and optimiser stepping.

    ``autocast()`` wraps forward passes; ``update(loss, name)`` back-propagates ``loss``
    (scaled when fp16 needs it) and steps the optimiser called ``name``.
    """

    def __init__(self, device: torch.device, amp_dtype: torch.dtype | None, optimizers: dict[str, torch.optim.Optimizer],
                 scaler: torch.amp.GradScaler | None = None) -> None:
        self.device = device
        self.amp_dtype = amp_dtype
        self.optimizers = optimizers
        self.scaler = scaler

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if self.amp_dtype is None:
            yield
        else:
            with torch.autocast(self.device.type, dtype=self.amp_dtype):
                yield

    def update(self, loss: torch.Tensor, name: str) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(opt)
        else:
            loss.backward()
            opt.step()


class TrainingTask:
    """One method's training recipe.

    ``modules``: every module trained or checkpointed, by name. ``network`` (the module
    the enhancer runs at inference) must be among them under the name ``inference``
    refers to. ``optimizers``: by name, checkpointed with their state.
    """

    #: The key in ``modules`` of the network the enhancer uses at inference.
    inference: str = "network"

    def __init__(self, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer]) -> None:
        self.modules = modules
        self.optimizers = optimizers

    def step(self, flash: torch.Tensor, ambient: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        """One optimisation step on an augmented batch.

        ``flash`` and ``ambient`` are float N x 3 x S x S in [0, 1] on the device. Return
        the losses as detached 0-d tensors (no ``.item()``: the engine reads them only
        every few steps, so the step never waits for the device).
        """
        raise NotImplementedError

    def predict(self, flash: torch.Tensor) -> torch.Tensor:
        """Ambient estimate for ``flash`` (used for test metrics and image grids)."""
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        """Anything else to checkpoint (plain data and tensors only)."""
        return {}
