"""DistributedDataParallel under ``torchrun``: process group, module wrapping, rank helpers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from flashcli.runtime.device import resolve_device
from flashcli.training.task import TrainingTask


@dataclass
class Dist:
    """This process's place in the run (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is True on any rank (a collective)."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def setup(device: str = "auto") -> Dist:
    """Join the process group torchrun set up in the environment (gloo on CPU, NCCL on
    CUDA, one GPU per local rank); a plain single-process ``Dist`` otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dev = resolve_device(device)
    if world <= 1:
        return Dist(device=dev)
    rank = int(os.environ.get("RANK", "0"))
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank=rank, world=world, device=dev, owns_group=owns)


def _swap(task: TrainingTask, old: nn.Module, new: nn.Module) -> None:
    for name, module in list(task.modules.items()):
        if module is old:
            task.modules[name] = new
    for attr, value in list(vars(task).items()):
        if value is old:
            setattr(task, attr, new)


def wrap_ddp(task: TrainingTask, d: Dist) -> dict[nn.Module, nn.Module]:
    """Replace every trainable module of ``task`` (in ``task.modules`` and among its
    attributes) by its DDP wrapper; returns ``{wrapper: module}``."""
    wrapped: dict[nn.Module, nn.Module] = {}
    if not d.active:
        return wrapped
    for module in list(task.modules.values()):
        if not any(p.requires_grad for p in module.parameters()):
            continue
        ids = [d.device.index] if d.device.type == "cuda" else None
        ddp = DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)
        _swap(task, module, ddp)
        wrapped[ddp] = module
    return wrapped


@contextlib.contextmanager
def unwrapped(task: TrainingTask, wrapped: dict[nn.Module, nn.Module]) -> Iterator[None]:
    """Temporarily give ``task`` its plain modules back (evaluation on one rank)."""
    for ddp, module in wrapped.items():
        _swap(task, ddp, module)
    try:
        yield
    finally:
        for ddp, module in wrapped.items():
            _swap(task, module, ddp)
