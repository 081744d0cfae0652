r"""SRIE (Fu, Zeng, Huang, Zhang and Ding, CVPR 2016): a weighted variational model for
simultaneous reflectance and illumination estimation, as the flash paper ran it.

The model works on the V channel of HSV on the 0..255 scale, ``S = max(V, 1)`` (the floor
keeps the logarithm finite), with ``s = log S``, ``r = log R``, ``l = log L``. The paper's
observation is that the usual log-domain model over-weights the gradients of dark pixels
(``grad r = grad R / R``); its weighted model keeps the log-domain data term and weights the
log-domain regularisers by ``R`` and ``L``, so they penalise the gradients of ``R`` and ``L``
themselves (``R grad r ~ grad R``, ``L grad l ~ grad L``)::

    E(r, l) = lambda * ||r + l - s||_2^2 + c1 * ||R . grad r||_1 + c2 * ||L . grad l||_2^2
    subject to  l >= s  (L >= S, i.e. R <= 1).

``c1`` weighs the sparse (l1, edge-preserving) prior on the reflectance's gradients,
``c2`` the smoothness (l2) prior on the illumination's gradients and ``lambda`` the data
term. Alternating minimisation with the weights frozen at the previous iterate makes each
update one sparse symmetric positive-definite five-point system, solved by
``flashcli.linsolve`` (stencil PCG, warm-started from the previous iterate); the l1 term is
handled by iterative reweighting, ``|a| ~ a^2 / (2 |a_prev|)``. For an edge ``p~q``:

    l-update:  (Id + sum_d D_d^T V_d D_d) l = s - r,   V_pq = (c2 / lambda) L_p L_q
               l <- max(l, s)                                  (the L >= S constraint)
    r-update:  (Id + sum_d D_d^T U_d D_d) r = s - l,   U_pq = (c1 / (2 lambda)) R_p R_q
                                                              / max(|R_q - R_p|, eps)
               r <- min(r, 0)                                  (R <= 1)

starting from ``L = S``, ``R = 1``, with ``L`` and ``R`` in the weights taken from the
previous iterate. The iteration stops, per image, when the relative change of both
``R`` and ``L`` (``||X_k - X_{k-1}|| / ||X_{k-1}||``) is below ``stop`` (1e-3), or at the
iteration cap. Enhancement: ``L_gamma = 255 (L / 255)^(1/gamma)`` (gamma 2.2), new
``V = R * L_gamma``, and back to RGB keeping hue and saturation, which is the same as
scaling R, G and B by ``V_new / V``.

Defaults are the authors': c1 = 0.01, c2 = 0.1, lambda = 1, stop = 1e-3.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from flashcli.linsolve import solve

#: Floor of V on the 0..255 scale, so that log V is finite.
V_FLOOR = 1.0


@dataclass
class Decomposition:
    """``S ~ R * L`` for a batch (``N x H x W``, L and S on the 0..255 scale)."""

    reflectance: torch.Tensor
    illumination: torch.Tensor
    #: Outer iterations run, per image.
    iterations: torch.Tensor
    #: Whether each image met the stopping rule before the cap.
    converged: torch.Tensor


def _edge_products(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``X_p X_q`` for horizontal and vertical edges."""
    return x[..., :, 1:] * x[..., :, :-1], x[..., 1:, :] * x[..., :-1, :]


def _rel_change(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    num = torch.linalg.vector_norm((new - old).flatten(-2), dim=-1)
    den = torch.linalg.vector_norm(old.flatten(-2), dim=-1).clamp_min_(1e-12)
    return num / den


def _update_l(s, r, l_prev, c2, lam, tol, max_iter):
    big_l = l_prev.exp()
    vx, vy = _edge_products(big_l)
    del big_l
    vx.mul_(c2 / lam)
    vy.mul_(c2 / lam)
    l_new = solve(s - r, vx, vy, x0=l_prev, tol=tol, max_iter=max_iter).x
    return torch.maximum(l_new, s, out=l_new)


def _update_r(s, log_l, r_prev, c1, lam, eps, tol, max_iter):
    big_r = r_prev.exp()
    ux, uy = _edge_products(big_r)
    dx = (big_r[..., :, 1:] - big_r[..., :, :-1]).abs_().clamp_min_(eps)
    ux.div_(dx).mul_(c1 / (2 * lam))
    del dx
    dy = (big_r[..., 1:, :] - big_r[..., :-1, :]).abs_().clamp_min_(eps)
    uy.div_(dy).mul_(c1 / (2 * lam))
    del dy, big_r
    r_new = solve(s - log_l, ux, uy, x0=r_prev, tol=tol, max_iter=max_iter).x
    return r_new.clamp_(max=0.0)


def decompose(
    v: torch.Tensor,
    c1: float = 0.01,
    c2: float = 0.1,
    lam: float = 1.0,
    stop: float = 1e-3,
    max_iter: int = 100,
    eps: float = 1e-3,
    solver_tol: float = 1e-4,
    solver_max_iter: int = 1000,
) -> Decomposition:
    """Estimate reflectance and illumination of ``v`` (``N x H x W``, 0..255 scale)."""
    s = v.float().clamp_min(V_FLOOR).log_()
    n = s.shape[0]
    r = torch.zeros_like(s)
    log_l = s.clone()
    iterations = torch.zeros(n, dtype=torch.long, device=s.device)
    active = torch.ones(n, dtype=torch.bool, device=s.device)
    for _ in range(max_iter):
        idx = active.nonzero().flatten()
        if idx.numel() == 0:
            break
        si, ri, li = s[idx], r[idx], log_l[idx]
        l_new = _update_l(si, ri, li, c2, lam, solver_tol, solver_max_iter)
        r_new = _update_r(si, l_new, ri, c1, lam, eps, solver_tol, solver_max_iter)
        change_l = _rel_change(l_new.exp(), li.exp())
        change_r = _rel_change(r_new.exp(), ri.exp())
        r[idx], log_l[idx] = r_new, l_new
        iterations[idx] += 1
        active[idx] = (change_l >= stop) | (change_r >= stop)
    return Decomposition(r.exp_(), log_l.exp_(), iterations, ~active)


def srie(
    image: torch.Tensor,
    c1: float = 0.01,
    c2: float = 0.1,
    lam: float = 1.0,
    stop: float = 1e-3,
    gamma: float = 2.2,
    max_iter: int = 100,
    solver_tol: float = 1e-4,
    solver_max_iter: int = 1000,
) -> torch.Tensor:
    """Enhance ``image`` (``N x 3 x H x W`` in [0, 1]) with SRIE; returns the same shape."""
    v = image.amax(dim=1) * 255.0
    d = decompose(v, c1, c2, lam, stop, max_iter, solver_tol=solver_tol, solver_max_iter=solver_max_iter)
    l_gamma = d.illumination.div_(255.0).pow_(1.0 / gamma).mul_(255.0)
    v_new = d.reflectance.mul_(l_gamma)
    ratio = v_new.div_(v.clamp_min_(V_FLOOR))
    return (image * ratio[:, None]).clamp_(0.0, 1.0)
