"""The contract between the training engine and a trainable method.

A trainable enhancer (``trainable = True``) returns a ``TrainingTask`` from
``Enhancer.training_task(config)``. The engine owns everything generic: data on the
device, the paper's augmentation, AMP, channels_last, DDP, checkpoints, logs, progress.
The task owns the method: its modules, its optimizers and what one step does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def make_adam(params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999),
              **kwargs: Any) -> torch.optim.Adam:
    """Adam, fused (one kernel for all parameters) when the parameters live on CUDA."""
    params = list(params)
    fused = bool(params) and all(p.is_cuda for p in params)
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=fused or None, **kwargs)


@contextlib.contextmanager
def eval_mode(modules: Iterable[nn.Module]) -> Iterator[None]:
    """Put ``modules`` in eval mode for the block, then restore each one's mode."""
    saved = [(m, m.training) for m in modules]
    for m, _ in saved:
        m.eval()
    try:
        yield
    finally:
        for m, was_training in saved:
            m.train(was_training)


class StepContext:
    """Handed to ``TrainingTask.step``: mixed precision and optimiser stepping.

    ``autocast()`` wraps forward passes; ``update(loss, name)`` back-propagates ``loss``
    (scaled when fp16 needs it) and steps the optimiser called ``name``; ``frozen(module)``
    wraps a forward pass whose backward must not touch ``module``'s parameters (the
    discriminator inside the generator's loss), also under DistributedDataParallel.
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

    @contextlib.contextmanager
    def frozen(self, module: nn.Module) -> Iterator[None]:
        """Run ``module`` without recording gradients for its parameters (the input still
        gets its gradient). Under DDP the wrapper's gradient sync is skipped as well."""
        inner = module.module if isinstance(module, DistributedDataParallel) else module
        params = [p for p in inner.parameters() if p.requires_grad]
        sync = module.no_sync() if isinstance(module, DistributedDataParallel) else contextlib.nullcontext()
        try:
            with sync:
                for p in params:
                    p.requires_grad_(False)
                yield
        finally:
            for p in params:
                p.requires_grad_(True)

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

    The engine moves every module to the device (channels_last on CUDA) after
    ``training_task`` returns, loads a resumed state into it, and, under torchrun, replaces
    each module with trainable parameters by its DistributedDataParallel wrapper both in
    ``modules`` and in any attribute of the task that refers to it: call the networks
    through ``self.modules[...]`` or such attributes inside ``step``. A forward pass whose
    parameters must not be updated by the following backward (a discriminator inside the
    generator loss) goes in ``with ctx.frozen(module):``.
    """

    #: The key in ``modules`` of the network the enhancer uses at inference.
    inference: str = "network"
    #: Where the starting weights came from (e.g. ``"scratch"``, ``"file:PATH"``); written
    #: to the weights' sidecar as ``init``, so a trained file says how it began.
    init: str | None = None

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
        """Ambient estimate for ``flash`` (used for test metrics and image grids). The engine
        calls it under ``torch.no_grad()`` with every module in eval mode."""
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        """Anything else to checkpoint (plain data and tensors only)."""
        return {}
