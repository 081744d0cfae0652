"""Batched multigrid-preconditioned conjugate gradient for five-point-stencil systems, in torch.

Solves, for every image of a batch, the symmetric positive-definite system

    A x = b,    A = diag(m) + Dx^T diag(wx) Dx + Dy^T diag(wy) Dy

where ``Dx`` and ``Dy`` are forward differences between horizontal and vertical neighbours
(no wrap-around: the boundary has no outgoing edge), ``wx``, ``wy`` >= 0 are per-edge
weights and the mass ``m`` is 1 for the systems callers pass. Row by row this is

    m_p x_p + sum over neighbours q of w_pq (x_p - x_q) = b_p,

the system behind edge-aware smoothing (LIME's illumination refinement, the sub-problems of
SRIE, weighted least squares filters). ``A`` is applied as stencils on the image grid; no
dense or sparse matrix is built, so memory is a handful of image-sized buffers.

Preconditioner (default ``"multigrid"``): one V-cycle of aggregation multigrid. Each coarser
level merges 2 x 2 blocks of pixels and is again a five-point system of the same form: the
masses of a block add up, and a coarse edge weight sums, over the two rows (columns) the
blocks share, the conductance of a series path: half of each block's inner edge and the
crossing edge between them, each inner edge taken at least as strong as the crossing one.
For constant weights this is the rediscretised operator (exactly half the Galerkin product
``P^T A P`` with piecewise-constant ``P``, which is too stiff and makes the correction too
short); across weak inner edges it stays between half and all of the Galerkin weight.
Smoothing is symmetric: on large levels alternating zebra line Gauss-Seidel (even rows, odd
rows, even columns, odd columns, each line solved exactly by cyclic reduction in
:mod:`flashcli.ops.tridiag`, then the same in reverse after the coarse correction), which
handles the strong one-directional couplings edge-aware weights produce along edges; on
small levels, where the line solves' many small operations cost more than they gain,
red-black point Gauss-Seidel. The coarsest level (at most ``COARSEST`` pixels) is solved by
dense Cholesky. The cycle is symmetric and positive definite, so CG applies. ``"jacobi"``
(the diagonal of ``A``) is kept for comparison.

Shapes: ``b`` is ``(..., H, W)`` (any leading batch dimensions), ``wx`` is ``(..., H, W-1)``
(edge between columns j and j+1) and ``wy`` is ``(..., H-1, W)`` (edge between rows i and
i+1). Works on any device, in float32 (default) or float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from flashcli.ops.tridiag import Tridiagonal

#: Largest grid (pixels) solved directly at the bottom of the V-cycle.
COARSEST = 256
#: Levels with at least this many pixels smooth by lines, smaller ones pointwise.
LINE_MIN = 65536
#: Alternating zebra line sweeps (rows, then columns) before and after a coarse correction.
SWEEPS = 1
#: Red-black point Gauss-Seidel sweeps before and after a coarse correction (small levels).
POINT_SWEEPS = 4
PRECONDITIONERS = ("multigrid", "jacobi")


@dataclass
class SolveResult:
    """Solution of a batch of systems and how the solver got there."""

    x: torch.Tensor
    #: Iterations run (the batch stops together when every system has converged).
    iterations: int
    #: Final relative Jacobi-weighted residual per system (leading dimensions of b).
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


def neighbour_sum(x: torch.Tensor, wx: torch.Tensor, wy: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out = sum over neighbours q of w_pq x_q`` (the off-diagonal part of ``-A``)."""
    out.zero_()
    out[..., :, :-1].addcmul_(wx, x[..., :, 1:])
    out[..., :, 1:].addcmul_(wx, x[..., :, :-1])
    out[..., :-1, :].addcmul_(wy, x[..., 1:, :])
    out[..., 1:, :].addcmul_(wy, x[..., :-1, :])
    return out


def apply_operator(
    x: torch.Tensor,
    wx: torch.Tensor,
    wy: torch.Tensor,
    out: torch.Tensor | None = None,
    scratch: tuple[torch.Tensor, torch.Tensor] | None = None,
    mass: torch.Tensor | None = None,
) -> torch.Tensor:
    """Return ``A x`` (see the module docstring; mass 1 unless given). ``out`` and
    ``scratch`` (buffers shaped like ``wx`` and ``wy``) avoid allocations inside loops."""
    out = torch.empty_like(x) if out is None else out
    gx, gy = scratch if scratch is not None else (torch.empty_like(wx), torch.empty_like(wy))
    if mass is None:
        out.copy_(x)
    else:
        torch.mul(x, mass, out=out)
    torch.sub(x[..., :, 1:], x[..., :, :-1], out=gx)
    gx.mul_(wx)
    out[..., :, :-1].sub_(gx)
    out[..., :, 1:].add_(gx)
    torch.sub(x[..., 1:, :], x[..., :-1, :], out=gy)
    gy.mul_(wy)
    out[..., :-1, :].sub_(gy)
    out[..., 1:, :].add_(gy)
    return out


def operator_diagonal(wx: torch.Tensor, wy: torch.Tensor, mass: torch.Tensor | None = None) -> torch.Tensor:
    """The diagonal of ``A``: the mass (1) plus the weights of the edges touching each pixel."""
    *lead, h, wm1 = wx.shape
    d = torch.ones((*lead, h, wm1 + 1), dtype=wx.dtype, device=wx.device) if mass is None else mass.clone()
    d[..., :, :-1] += wx
    d[..., :, 1:] += wx
    d[..., :-1, :] += wy
    d[..., 1:, :] += wy
    return d


def _pair_sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Sum neighbouring pairs along ``dim`` (-1 or -2), zero-padding an odd length."""
    n = x.shape[dim]
    if n % 2:
        x = F.pad(x, (0, 1) if dim == -1 else (0, 0, 0, 1))
        n += 1
    if dim == -1:
        return x.reshape(*x.shape[:-1], n // 2, 2).sum(-1)
    return x.reshape(*x.shape[:-2], n // 2, 2, x.shape[-1]).sum(-2)


def restrict(x: torch.Tensor) -> torch.Tensor:
    """Sum over 2 x 2 blocks (``P^T x``); odd sizes get a last block of one row or column."""
    return _pair_sum(_pair_sum(x, -1), -2)


def prolong(xc: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Piecewise-constant prolongation ``P xc`` onto an ``h x w`` grid."""
    *lead, hc, wc = xc.shape
    fine = xc[..., :, None, :, None].expand(*lead, hc, 2, wc, 2).reshape(*lead, 2 * hc, 2 * wc)
    return fine[..., :h, :w]


@dataclass
class Level:
    """One grid of the multigrid hierarchy: ``A = diag(mass) + Dx^T wx Dx + Dy^T wy Dy``."""

    mass: torch.Tensor
    wx: torch.Tensor
    wy: torch.Tensor
    dinv: torch.Tensor
    red: torch.Tensor
    #: Cholesky factor of the dense operator (coarsest level only).
    chol: torch.Tensor | None = None
    #: Line solvers: rows of each parity (along x), then columns of each parity (along y).
    lines: tuple[Tridiagonal, ...] = ()


def _checkerboard(h: int, w: int, device: torch.device) -> torch.Tensor:
    i = torch.arange(h, device=device)[:, None]
    j = torch.arange(w, device=device)[None, :]
    return (i + j) % 2 == 0


def _dense_cholesky(mass: torch.Tensor, wx: torch.Tensor, wy: torch.Tensor) -> torch.Tensor:
    """Cholesky factor (float64) of the dense matrix of a small level, batch flattened."""
    *lead, h, w = mass.shape
    n = h * w
    idx = torch.arange(n, device=mass.device).reshape(h, w)
    a = torch.diag_embed(operator_diagonal(wx, wy, mass).reshape(-1, n).double())
    for p, q, wt in ((idx[:, :-1], idx[:, 1:], wx), (idx[:-1, :], idx[1:, :], wy)):
        p, q, wt = p.flatten(), q.flatten(), wt.reshape(a.shape[0], p.numel()).double()
        a[:, p, q] -= wt
        a[:, q, p] -= wt
    return torch.linalg.cholesky(a)


def _series(w: torch.Tensor) -> torch.Tensor:
    """Per row, the conductance between neighbouring 2-pixel blocks along the last axis:
    half the block's inner edge, the crossing edge and half the next block's inner edge in
    series, inner edges at least as strong as the crossing one (a missing inner edge, in a
    1-pixel block, conducts perfectly)."""
    n = w.shape[-1] + 1  # pixels
    nc = (n + 1) // 2
    if nc < 2:
        return w[..., :0]
    wp = F.pad(w, (0, 2 * nc - 1 - w.shape[-1]), value=float("inf"))
    a, c, b = wp[..., 0:-1:2], wp[..., 1::2], wp[..., 2::2]
    a, b = torch.maximum(a, c), torch.maximum(b, c)
    return (0.5 / a + 1.0 / c + 0.5 / b).reciprocal_()


def build_hierarchy(wx: torch.Tensor, wy: torch.Tensor, coarsest: int = COARSEST) -> list[Level]:
    """The multigrid levels for the system of ``wx``, ``wy`` (mass 1), finest first."""
    *lead, h, wm1 = wx.shape
    mass = torch.ones((*lead, h, wm1 + 1), dtype=wx.dtype, device=wx.device)
    levels = []
    while True:
        h, w = mass.shape[-2:]
        level = Level(mass, wx, wy, operator_diagonal(wx, wy, mass).reciprocal_(), _checkerboard(h, w, mass.device))
        levels.append(level)
        if h * w <= coarsest or (h == 1 and w == 1):
            level.chol = _dense_cholesky(mass, wx, wy)
            return levels
        if h * w >= LINE_MIN:
            level.lines = _line_solvers(level)
        wx = _pair_sum(_series(wx), -2)
        wy = _pair_sum(_series(wy.transpose(-1, -2)).transpose(-1, -2), -1)
        mass = restrict(mass)




def _line_solvers(level: Level) -> tuple[Tridiagonal, ...]:
    d = level.dinv.reciprocal()
    dt, wyt = d.transpose(-1, -2), level.wy.transpose(-1, -2)
    return tuple(Tridiagonal(dd[..., c::2, :], ww[..., c::2, :]) for dd, ww in ((d, level.wx), (dt, wyt)) for c in (0, 1))


def _line_rhs(b: torch.Tensor, x: torch.Tensor, w: torch.Tensor, k: int) -> torch.Tensor:
    """``b`` plus the couplings ``w`` (across dim -2) to the fixed neighbours, for the lines
    ``k::2`` along the last axis."""
    rhs = b[..., k::2, :].clone()
    u = 1 - k  # neighbours above line k + 2m are rows u + 2m (edges u + 2m), from m = u
    xu, wu = x[..., u::2, :], w[..., u::2, :]
    c = min(rhs.shape[-2] - u, xu.shape[-2], wu.shape[-2])
    rhs[..., u : u + c, :].addcmul_(wu[..., :c, :], xu[..., :c, :])
    xd, wd = x[..., k + 1 :: 2, :], w[..., k::2, :]  # neighbours below
    c = min(xd.shape[-2], wd.shape[-2])
    rhs[..., :c, :].addcmul_(wd[..., :c, :], xd[..., :c, :])
    return rhs


def _line_sweep(level: Level, x: torch.Tensor, b: torch.Tensor, order) -> None:
    """Zebra line Gauss-Seidel: solve whole rows (``0``, ``1``: even, odd) or columns
    (``2``, ``3``) exactly with the other lines held fixed, in place."""
    for k in order:
        if k < 2:
            x[..., k::2, :] = level.lines[k].solve(_line_rhs(b, x, level.wy, k))
        else:
            xt = x.transpose(-1, -2)
            rhs = _line_rhs(b.transpose(-1, -2), xt, level.wx.transpose(-1, -2), k - 2)
            xt[..., k - 2 :: 2, :] = level.lines[k].solve(rhs)


def _smooth(level: Level, x: torch.Tensor, b: torch.Tensor, nb: torch.Tensor, colours) -> None:
    """Gauss-Seidel half-sweeps over the given colours (True = red), in place."""
    for red in colours:
        neighbour_sum(x, level.wx, level.wy, nb).add_(b).mul_(level.dinv)
        mask = level.red if red else ~level.red
        torch.where(mask, nb, x, out=x)


def vcycle(levels: list[Level], b: torch.Tensor, k: int = 0) -> torch.Tensor:
    """One V-cycle from a zero guess: an approximation of ``A_k^-1 b``."""
    level = levels[k]
    if level.chol is not None:
        *lead, h, w = b.shape
        x = torch.cholesky_solve(b.reshape(-1, h * w, 1).double(), level.chol)
        return x.to(b.dtype).reshape(b.shape)
    h, w = b.shape[-2:]
    nb = torch.empty_like(b)
    if level.lines:
        x = torch.zeros_like(b)
        _line_sweep(level, x, b, (0, 1, 2, 3) * SWEEPS)
    else:
        x = (b * level.dinv).masked_fill_(~level.red, 0.0)  # red half-sweep from zero
        _smooth(level, x, b, nb, (False,) + (True, False) * (POINT_SWEEPS - 1))
    r = b - apply_operator(x, level.wx, level.wy, out=nb, mass=level.mass)
    x.add_(prolong(vcycle(levels, restrict(r), k + 1), h, w))
    if level.lines:
        _line_sweep(level, x, b, (3, 2, 1, 0) * SWEEPS)
    else:
        _smooth(level, x, b, nb, (False, True) * POINT_SWEEPS)
    return x


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vecdot(a.flatten(-2), b.flatten(-2))


def _check_args(tol: float, max_iter: int, preconditioner: str) -> None:
    if tol <= 0 or max_iter < 1:
        raise ValueError("tol must be > 0 and max_iter >= 1")
    if preconditioner not in PRECONDITIONERS:
        raise ValueError(f"preconditioner must be one of {PRECONDITIONERS}, got {preconditioner!r}")


def solve(
    b: torch.Tensor,
    wx: torch.Tensor,
    wy: torch.Tensor,
    *,
    x0: torch.Tensor | None = None,
    tol: float = 1e-4,
    max_iter: int = 500,
    dtype: torch.dtype | None = None,
    preconditioner: str = "multigrid",
) -> SolveResult:
    """Solve ``A x = b`` for every image of the batch by preconditioned CG.

    Stops when every system has ``||r||_D <= tol * ||b||_D`` (``r = b - A x``, norms
    weighted by the inverse diagonal ``D^-1``, which measures the residual in units of
    ``x`` where the weights are large) or after ``max_iter`` iterations. ``x0`` is a
    starting guess (default ``b``, a good one for smoothing problems). ``dtype`` is the
    working precision (default float32; float64 for tight tolerances). The result is in the
    working precision, on ``b``'s device.
    """
    _check_shapes(b, wx, wy)
    _check_args(tol, max_iter, preconditioner)
    dtype = dtype or torch.float32
    if b.device.type == "cpu":
        # Process-wide setting. Residuals in flat regions decay to subnormal floats, which run ~100x slower on
        # x86 CPUs; flushing them to zero changes nothing at any useful tolerance.
        torch.set_flush_denormal(True)
    b, wx, wy = b.to(dtype), wx.to(dtype), wy.to(dtype)
    x = (b if x0 is None else x0.to(dtype)).clone()
    dinv = operator_diagonal(wx, wy).reciprocal_()
    scratch = (torch.empty_like(wx), torch.empty_like(wy))
    ap = torch.empty_like(x)
    r = b - apply_operator(x, wx, wy, out=ap, scratch=scratch)
    bnorm = _dot(b, b * dinv).sqrt_().clamp_min_(torch.finfo(dtype).tiny)
    res = _dot(r, r * dinv).clamp_min_(0).sqrt_() / bnorm
    done = res <= tol
    if bool(done.all()):
        return SolveResult(x=x, iterations=0, residual=res, converged=done)
    if preconditioner == "multigrid":
        levels = build_hierarchy(wx, wy)
        precondition = lambda v: vcycle(levels, v)  # noqa: E731
    else:
        precondition = lambda v: v * dinv  # noqa: E731
    iterations = _cg(x, r, wx, wy, bnorm, dinv, done, res, precondition, tol, max_iter, scratch, ap)
    return SolveResult(x=x, iterations=iterations, residual=res, converged=done)


def _cg(x, r, wx, wy, bnorm, dinv, done, res, precondition, tol, max_iter, scratch, ap) -> int:
    """Preconditioned CG iterations, updating ``x``, ``r``, ``done`` and ``res`` in place."""
    z = precondition(r)
    p = z.clone()
    rz = _dot(r, z)
    iterations = 0
    while iterations < max_iter and not bool(done.all()):
        iterations += 1
        apply_operator(p, wx, wy, out=ap, scratch=scratch)
        pap = _dot(p, ap)
        # Converged systems are frozen (step 0) so a zero residual cannot produce NaNs.
        alpha = torch.where(done | (pap <= 0), torch.zeros_like(rz), rz / pap)
        x.addcmul_(alpha[..., None, None], p)
        r.addcmul_(alpha[..., None, None], ap, value=-1.0)
        new_res = _dot(r, r * dinv).clamp_min_(0).sqrt_() / bnorm
        res.copy_(torch.where(done, res, new_res))
        done |= res <= tol
        if bool(done.all()):
            break
        z = precondition(r)
        rz_new = _dot(r, z)
        beta = torch.where(done | (rz <= 0), torch.zeros_like(rz), rz_new / rz)
        rz = rz_new
        p.mul_(beta[..., None, None]).add_(z)
    return iterations
