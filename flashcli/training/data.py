"""The training split held on the device as uint8 tensors, and the batches of each epoch."""

from __future__ import annotations

import math

import torch

from flashcli.datasets import SizeGroup


class DeviceData:
    """Pairs as uint8 ``N x 6 x H x W`` tensors (flash then ambient channels), one tensor per
    image size (FAID mixes 320x240 and 240x320), kept on ``device``."""

    def __init__(self, groups: list[SizeGroup], device: torch.device | str) -> None:
        self.pairs = [torch.cat([g.flash, g.ambient], dim=1).to(device) for g in groups]
        self.stems = [list(g.stems) for g in groups]
        self.device = torch.device(device)

    def __len__(self) -> int:
        return sum(len(s) for s in self.stems)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() for t in self.pairs)

    def epoch_plan(self, epoch: int, seed: int, per_step: int) -> tuple[list[int], torch.Tensor]:
        """The batches of ``epoch``: a group index per batch and an index tensor
        ``[batches, per_step]`` on the device (``per_step`` = batch size x processes).

        Reproducible from (seed, epoch) alone. Every batch is full: a group's last batch
        wraps around to its first pairs, so batch shapes never change.
        """
        gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        groups: list[int] = []
        rows: list[torch.Tensor] = []
        for gi, stems in enumerate(self.stems):
            n = len(stems)
            if n == 0:
                continue
            perm = torch.randperm(n, generator=gen)
            count = math.ceil(n / per_step)
            need = count * per_step
            idx = perm.repeat(math.ceil(need / n))[:need].view(count, per_step)
            groups += [gi] * count
            rows.append(idx)
        order = torch.randperm(len(groups), generator=gen)
        index = torch.cat(rows)[order]
        return [groups[i] for i in order.tolist()], index.to(self.device)

    def batch(self, group: int, index: torch.Tensor) -> torch.Tensor:
        """uint8 ``B x 6 x H x W`` pairs of ``group`` at ``index`` (a device tensor)."""
        return self.pairs[group].index_select(0, index)

    def steps_per_epoch(self, per_step: int) -> int:
        return sum(math.ceil(len(s) / per_step) for s in self.stems if s)
