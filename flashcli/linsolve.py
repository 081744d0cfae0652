"""Batched preconditioned conjugate gradient for five-point-stencil systems, in torch.

Solves, for every image of a batch, the symmetric positive-definite system

    A x = b,    A = I + Dx^T diag(wx) Dx + Dy^T diag(wy) Dy

where ``Dx`` and ``Dy`` are forward differences between horizontal and vertical neighbours
(no wrap-around: the boundary has no outgoing edge) and ``wx``, ``wy`` >= 0 are per-edge
weights. Row by row this is

    x_p + sum over neighbours q of w_pq (x_p - x_q) = b_p,

the system behind edge-aware smoothing (LIME's illumination refinement, the sub-problems of
SRIE, weighted least squares filters). ``A`` is applied as stencils on the image grid; no
dense or sparse matrix is built, so memory is a handful of image-sized buffers. The Jacobi
(diagonal) preconditioner is ``1 + sum of the weights of the edges at p``.

Shapes: ``b`` is ``(..., H, W)`` (any leading batch dimensions), ``wx`` is ``(..., H, W-1)``
(edge between columns j and j+1) and ``wy`` is ``(..., H-1, W)`` (edge between rows i and
i+1). Works on any device, in float32 (default) or float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SolveResult:
    """Solution of a batch of systems and how the solver got there."""

    x: torch.Tensor
    #: Iterations run (the batch stops together when every system has converged).
    iterations: int
    #: Final relative preconditioned residual per system (leading dimensions of b).
    residual: torch.Tensor
    #: Whether each system reached the tolerance.
    converged: torch.Tensor


def _check_shapes(b: torch.Tensor, wx: torch.Tensor, wy: torch.Tensor) -> None:
    if b.ndim < 2:
        raise ValueError(f"b must be (..., H, W), got shape {tuple(b.shape)}")
    *lead, h, w = b.shape
    if tuple(wx.shape) != (*lead, h, w - 1):
        raise ValueError(f"wx must have shape {(*lead, h, w - 1)}, got {tuple(wx.shape)}")
    if tuple(wy.shape) != (*lead, h - 1, w):
        raise ValueError(f"wy must have shape {(*lead, h - 1, w)}, got {tuple(wy.shape)}")


def apply_operator(
    x: torch.Tensor,
    wx: torch.Tensor,
    wy: torch.Tensor,
    out: torch.Tensor | None = None,
    scratch: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Return ``A x`` (see the module docstring). ``out`` and ``scratch`` (buffers shaped
    like ``wx`` and ``wy``) avoid allocations inside loops."""
    out = torch.empty_like(x) if out is None else out
    gx, gy = scratch if scratch is not None else (torch.empty_like(wx), torch.empty_like(wy))
    out.copy_(x)
    torch.sub(x[..., :, 1:], x[..., :, :-1], out=gx)
    gx.mul_(wx)
    out[..., :, :-1].sub_(gx)
    out[..., :, 1:].add_(gx)
    torch.sub(x[..., 1:, :], x[..., :-1, :], out=gy)
    gy.mul_(wy)
    out[..., :-1, :].sub_(gy)
    out[..., 1:, :].add_(gy)
    return out


def operator_diagonal(wx: torch.Tensor, wy: torch.Tensor) -> torch.Tensor:
    """The diagonal of ``A``: 1 plus the weights of the edges touching each pixel."""
    *lead, h, wm1 = wx.shape
    d = torch.ones((*lead, h, wm1 + 1), dtype=wx.dtype, device=wx.device)
    d[..., :, :-1] += wx
    d[..., :, 1:] += wx
    d[..., :-1, :] += wy
    d[..., 1:, :] += wy
    return d


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vecdot(a.flatten(-2), b.flatten(-2))


def solve(
    b: torch.Tensor,
    wx: torch.Tensor,
    wy: torch.Tensor,
    *,
    x0: torch.Tensor | None = None,
    tol: float = 1e-4,
    max_iter: int = 500,
    dtype: torch.dtype | None = None,
) -> SolveResult:
    """Solve ``A x = b`` for every image of the batch by Jacobi-preconditioned CG.

    Stops when every system has ``||r||_M <= tol * ||b||_M`` (``r = b - A x``, norms
    weighted by the inverse diagonal ``M^-1``, which measures the residual in units of
    ``x`` where the weights are large) or after ``max_iter`` iterations. ``x0`` is a
    starting guess (default ``b``, a good one for smoothing problems). ``dtype`` is the working precision (default float32; float64 for tight
    tolerances). The result is in the working precision, on ``b``'s device.
    """
    _check_shapes(b, wx, wy)
    if tol <= 0 or max_iter < 1:
        raise ValueError("tol must be > 0 and max_iter >= 1")
    dtype = dtype or torch.float32
    if b.device.type == "cpu":
        # Process-wide setting. Residuals in flat regions decay to subnormal floats, which run ~100x slower on
        # x86 CPUs; flushing them to zero changes nothing at any useful tolerance.
        torch.set_flush_denormal(True)
    b = b.to(dtype)
    wx = wx.to(dtype)
    wy = wy.to(dtype)
    x = (b if x0 is None else x0.to(dtype)).clone()
    dinv = operator_diagonal(wx, wy).reciprocal_()
    scratch = (torch.empty_like(wx), torch.empty_like(wy))

    ap = torch.empty_like(x)
    r = b - apply_operator(x, wx, wy, out=ap, scratch=scratch)
    bnorm = _dot(b, b * dinv).sqrt_().clamp_min_(torch.finfo(dtype).tiny)
    z = r * dinv
    p = z.clone()
    rz = _dot(r, z)
    res = rz.sqrt() / bnorm
    done = res <= tol
    iterations = 0
    while iterations < max_iter and not bool(done.all()):
        iterations += 1
        apply_operator(p, wx, wy, out=ap, scratch=scratch)
        pap = _dot(p, ap)
        # Converged systems are frozen (step 0) so a zero residual cannot produce NaNs.
        alpha = torch.where(done | (pap <= 0), torch.zeros_like(rz), rz / pap)
        x.addcmul_(alpha[..., None, None], p)
        r.addcmul_(alpha[..., None, None], ap, value=-1.0)
        torch.mul(r, dinv, out=z)
        rz_new = _dot(r, z)
        res = torch.where(done, res, rz_new.clamp_min(0).sqrt() / bnorm)
        done = done | (res <= tol)
        beta = torch.where(done | (rz <= 0), torch.zeros_like(rz), rz_new / rz)
        rz = rz_new
        p.mul_(beta[..., None, None]).add_(z)
    return SolveResult(x=x, iterations=iterations, residual=res, converged=done)
