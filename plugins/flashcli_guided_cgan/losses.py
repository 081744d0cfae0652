"""The attention map M and the losses R and A (paper eq. 1-4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def attention_map(flash: torch.Tensor, ambient: torch.Tensor) -> torch.Tensor:
    """``M = 1 - mean_c |I_a - I_f|``: N x 1 x H x W, 1 where the pair agrees, lower where
    flash and ambient differ (over-exposure, shadows, misalignment)."""
    return 1.0 - (ambient.float() - flash.float()).abs().mean(dim=1, keepdim=True)


def guided(image: torch.Tensor, m: torch.Tensor | None) -> torch.Tensor:
    """``M * image`` (element-wise, broadcast over channels); ``image`` when ``m`` is None."""
    return image if m is None else image * m


def reconstruction_loss(fake: torch.Tensor, real: torch.Tensor, m: torch.Tensor | None) -> torch.Tensor:
    """R: L1 between ``M * G(I_f)`` and ``M * I_a`` (plain L1 when ``m`` is None)."""
    return F.l1_loss(guided(fake.float(), m), guided(real.float(), m))


def adversarial_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """A: binary cross-entropy with logits against all-ones (real) or all-zeros (fake)."""
    logits = logits.float()
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)
