"""Batched symmetric tridiagonal solves by cyclic reduction, in torch.

Each line (the last axis; any leading dimensions) is the system

    d_i x_i - w_{i-1} x_{i-1} - w_i x_{i+1} = f_i,

with ``d`` of length ``n`` and the couplings ``w`` (length ``n - 1``) between neighbours.
Cyclic reduction eliminates the odd-indexed unknowns, which leaves a system of the same
form on the even ones, half as long; after ``log2 n`` halvings the last unknown is solved
and the odd ones are filled in on the way back. Every step is a vectorised operation over
all lines at once (no loop along a line), so it runs well on a GPU. The reduction depends
only on the matrix: :class:`Tridiagonal` does it once and then solves for many right-hand
sides. Stable for diagonally dominant systems (``d_i >= w_{i-1} + w_i``), the case of the
five-point systems in :mod:`flashcli.ops.linsolve`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class _Step:
    """One halving: how the even equations absorb the odd ones, and how to recover them."""

    alpha: torch.Tensor  # weight of the left odd right-hand side in each even equation
    gamma: torch.Tensor  # weight of the right odd right-hand side
    left: torch.Tensor  # coupling of each odd unknown to its left even neighbour
    right: torch.Tensor  # ... and to its right even neighbour (0 past the end)
    odd_dinv: torch.Tensor


class Tridiagonal:
    """Factor the lines of ``(d, w)`` once; :meth:`solve` then costs a few passes over ``f``."""

    def __init__(self, d: torch.Tensor, w: torch.Tensor) -> None:
        if w.shape[-1] != d.shape[-1] - 1 or w.shape[:-1] != d.shape[:-1]:
            raise ValueError(f"w must have shape {(*d.shape[:-1], d.shape[-1] - 1)}, got {tuple(w.shape)}")
        self.steps: list[_Step] = []
        while d.shape[-1] > 1:
            d, w = self._halve(d, w)
        self.last_dinv = d.reciprocal()

    def _halve(self, d: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = d.shape[-1]
        ne, no = (n + 1) // 2, n // 2
        wp = F.pad(w, (1, 2 * ne - n))  # wp[2k] = w[2k-1], wp[2k+1] = w[2k], zeros outside
        w_left, w_right = wp[..., 0::2], wp[..., 1::2]
        d_odd = d[..., 1::2]
        d_left = F.pad(d_odd, (1, 0), value=1.0)[..., :ne]
        d_right = F.pad(d_odd, (0, ne - no), value=1.0)
        alpha, gamma = w_left / d_left, w_right / d_right
        right = F.pad(w_left[..., 1:], (0, no - ne + 1))
        self.steps.append(_Step(alpha, gamma, w_right[..., :no], right, d_odd.reciprocal()))
        d_even = d[..., 0::2] - alpha * w_left - gamma * w_right
        return d_even, gamma[..., :-1] * w_left[..., 1:]

    def solve(self, f: torch.Tensor) -> torch.Tensor:
        """``x`` with ``A x = f`` for every line; ``f`` shaped like ``d``."""
        odds = []
        for step in self.steps:
            f_odd = f[..., 1::2]
            no = f_odd.shape[-1]
            odds.append(f_odd)
            f = _reduce_rhs(f[..., 0::2], step, f_odd)
        x = f * self.last_dinv
        for step, f_odd in zip(reversed(self.steps), reversed(odds), strict=True):
            ne, no = x.shape[-1], f_odd.shape[-1]
            x_odd = torch.addcmul(f_odd, step.left, x[..., :no])
            m = min(no, ne - 1)
            x_odd[..., :m].addcmul_(step.right[..., :m], x[..., 1 : m + 1])
            x_odd.mul_(step.odd_dinv)
            full = torch.empty((*x.shape[:-1], ne + no), dtype=x.dtype, device=x.device)
            full[..., 0::2] = x
            full[..., 1::2] = x_odd
            x = full
        return x


def _reduce_rhs(f_even: torch.Tensor, step: _Step, f_odd: torch.Tensor) -> torch.Tensor:
    """Right-hand sides of the even equations once the odd unknowns are eliminated."""
    ne, no = f_even.shape[-1], f_odd.shape[-1]
    if ne == no:
        out = torch.addcmul(f_even, step.gamma, f_odd)
    else:  # odd length: the last even equation has no right odd neighbour
        out = f_even.clone()
        out[..., :no].addcmul_(step.gamma[..., :no], f_odd)
    out[..., 1:].addcmul_(step.alpha[..., 1:], f_odd[..., : ne - 1])
    return out
