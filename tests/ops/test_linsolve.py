"""The stencil PCG solver against a straightforward SciPy sparse direct solve."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spl
import torch
from stencil_reference import scipy_matrix

from flashcli.ops import linsolve
from flashcli.ops.linsolve import (
    apply_operator,
    build_hierarchy,
    operator_diagonal,
    prolong,
    restrict,
    solve,
    vcycle,
)
from flashcli.ops.tridiag import Tridiagonal


def random_system(n=2, h=13, w=17, scale=50.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    b = torch.rand(n, h, w, generator=g, dtype=torch.float64)
    # Weights spanning several decades, as edge-aware smoothing produces.
    wx = scale * torch.rand(n, h, w - 1, generator=g, dtype=torch.float64) ** 4
    wy = scale * torch.rand(n, h - 1, w, generator=g, dtype=torch.float64) ** 4
    return b, wx, wy


@pytest.mark.parametrize("preconditioner", ["multigrid", "jacobi"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-9), (torch.float32, 1e-6)])
@pytest.mark.parametrize("h,w", [(13, 17), (37, 45)])
def test_matches_scipy_direct_solve(dtype, tol, h, w, preconditioner):
    # 13 x 17 is solved on the coarsest grid alone; 37 x 45 (odd) runs a three-level cycle.
    b, wx, wy = random_system(h=h, w=w)
    result = solve(b, wx, wy, tol=tol, max_iter=2000, dtype=dtype, preconditioner=preconditioner)
    assert bool(result.converged.all())
    assert result.x.dtype == dtype
    for i in range(b.shape[0]):
        a = scipy_matrix(wx[i].numpy(), wy[i].numpy())
        expected = spl.spsolve(a, b[i].numpy().ravel()).reshape(b.shape[1:])
        np.testing.assert_allclose(result.x[i].double().numpy(), expected, atol=1e-4)


def test_operator_and_diagonal_match_matrix():
    b, wx, wy = random_system(n=1, h=5, w=6)
    a = scipy_matrix(wx[0].numpy(), wy[0].numpy())
    ax = apply_operator(b, wx, wy)[0].numpy().ravel()
    np.testing.assert_allclose(ax, a @ b[0].numpy().ravel(), rtol=1e-12)
    np.testing.assert_allclose(operator_diagonal(wx, wy)[0].numpy().ravel(), a.diagonal(), rtol=1e-12)


def test_zero_weights_give_identity_and_zero_rhs_is_stable():
    b = torch.rand(3, 4, 5)
    b[1] = 0
    result = solve(b, torch.zeros(3, 4, 4), torch.zeros(3, 3, 5))
    assert result.iterations == 0
    assert torch.equal(result.x, b)
    assert not torch.isnan(result.x).any()


def test_batch_dims_and_iteration_cap(device):
    b, wx, wy = random_system(n=4, h=30, w=34, scale=1e4)
    b, wx, wy = (t.reshape(2, 2, *t.shape[1:]).float().to(device) for t in (b, wx, wy))
    capped = solve(b, wx, wy, tol=1e-12, max_iter=3)
    assert capped.iterations == 3
    assert capped.residual.shape == (2, 2)
    assert not bool(capped.converged.any())
    full = solve(b, wx, wy, tol=1e-5, max_iter=5000)
    assert bool(full.converged.all())
    assert full.iterations < 5000
    # Each system of the batch solves as if alone.
    alone = solve(b[1, 0], wx[1, 0], wy[1, 0], tol=1e-5, max_iter=5000)
    torch.testing.assert_close(full.x[1, 0], alone.x, atol=1e-4, rtol=0)


def test_warm_start_from_solution_stops_immediately():
    b, wx, wy = random_system(n=1)
    x = solve(b, wx, wy, tol=1e-10, dtype=torch.float64).x
    again = solve(b, wx, wy, x0=x, tol=1e-8, dtype=torch.float64)
    assert again.iterations == 0


def test_coarse_levels_of_constant_weights_are_rediscretised():
    # Constant weight k on a 64 x 48 grid: each level has mass 4^l and the same edge weight k,
    # half the Galerkin product P^T A P (2 k), down to a grid solved directly.
    wx, wy = torch.full((1, 48, 63), 5.0), torch.full((1, 47, 64), 5.0)
    levels = build_hierarchy(wx, wy, coarsest=16)
    assert [tuple(lv.mass.shape[-2:]) for lv in levels] == [(48, 64), (24, 32), (12, 16), (6, 8), (3, 4)]
    for i, level in enumerate(levels):
        torch.testing.assert_close(level.mass, torch.full_like(level.mass, 4.0**i))
        torch.testing.assert_close(level.wx, torch.full_like(level.wx, 5.0))
        torch.testing.assert_close(level.wy, torch.full_like(level.wy, 5.0))
    assert levels[-1].chol is not None


def test_stiff_blocks_coarsen_to_the_galerkin_product():
    # Inner edges of every 2 x 2 block far stronger than the crossing ones: the coarse
    # operator approaches P^T A P, built here from the fine operator applied to P e_j.
    g = torch.Generator().manual_seed(1)
    h, w = 6, 8
    wx = torch.rand(1, h, w - 1, generator=g, dtype=torch.float64)
    wy = torch.rand(1, h - 1, w, generator=g, dtype=torch.float64)
    wx[..., :, 0::2] = 1e9
    wy[..., 0::2, :] = 1e9
    coarse = build_hierarchy(wx, wy, coarsest=1)[1]
    hc, wc = coarse.mass.shape[-2:]
    for j in range(hc * wc):
        e = torch.zeros(1, hc, wc, dtype=torch.float64)
        e.view(-1)[j] = 1
        galerkin = restrict(apply_operator(prolong(e, h, w), wx, wy))
        torch.testing.assert_close(apply_operator(e, coarse.wx, coarse.wy, mass=coarse.mass), galerkin, rtol=1e-6, atol=1e-6)


def test_vcycle_is_symmetric_positive_definite():
    b, wx, wy = random_system(n=1, h=33, w=40, scale=1e3)
    levels = build_hierarchy(wx, wy, coarsest=30)
    assert len(levels) >= 3
    g = torch.Generator().manual_seed(2)
    u, v = (torch.randn(1, 33, 40, generator=g, dtype=torch.float64) for _ in range(2))
    mu, mv = vcycle(levels, u), vcycle(levels, v)
    torch.testing.assert_close((u * mv).sum(), (mu * v).sum(), rtol=1e-10, atol=0)
    assert float((u * mu).sum()) > 0


@pytest.mark.parametrize("anisotropic", [False, True])
def test_iterations_grow_slowly_with_size(anisotropic, monkeypatch):
    # Weights jumping 50x across the middle, in both directions or (anisotropic) only along
    # x: the multigrid count barely moves when the grid has 16x the pixels, while
    # Jacobi-PCG needs many times more iterations. Line smoothing on every level but the
    # coarsest, as on large images.
    monkeypatch.setattr(linsolve, "LINE_MIN", 1)
    counts = {}
    for n in (64, 256):
        yy, xx = torch.meshgrid(torch.linspace(0, 1, n), torch.linspace(0, 1, n), indexing="ij")
        b = 0.5 + 0.3 * torch.sin(6 * xx) * torch.cos(4 * yy)
        wx = 1e3 * (1 + 50 * (xx[:, 1:] > 0.5))[None].float()
        wy = 1e3 * (1 + 50 * (xx[1:, :] > 0.5) * (not anisotropic))[None].float()
        counts[n] = solve(b[None], wx, wy, tol=1e-4, max_iter=2000).iterations
        if n == 256:
            jacobi = solve(b[None], wx, wy, tol=1e-4, max_iter=5000, preconditioner="jacobi").iterations
    assert counts[256] <= counts[64] + 4
    assert jacobi > 5 * counts[256]


def test_tridiagonal_matches_dense_solve():
    g = torch.Generator().manual_seed(3)
    for n in (1, 2, 3, 8, 33):
        w = 10 * torch.rand(2, 3, n - 1, generator=g, dtype=torch.float64)
        d = torch.full((2, 3, n), 0.5, dtype=torch.float64)
        d[..., :-1] += w
        d[..., 1:] += w
        f = torch.randn(2, 3, n, generator=g, dtype=torch.float64)
        dense = torch.diag_embed(d) - torch.diag_embed(w, 1) - torch.diag_embed(w, -1)
        expected = torch.linalg.solve(dense, f)
        torch.testing.assert_close(Tridiagonal(d, w).solve(f), expected, rtol=1e-10, atol=1e-12)


def test_shape_errors():
    b = torch.rand(1, 4, 5)
    with pytest.raises(ValueError, match="wx"):
        solve(b, torch.zeros(1, 4, 5), torch.zeros(1, 3, 5))
    with pytest.raises(ValueError, match="wy"):
        solve(b, torch.zeros(1, 4, 4), torch.zeros(1, 4, 5))
    with pytest.raises(ValueError, match="preconditioner"):
        solve(b, torch.zeros(1, 4, 4), torch.zeros(1, 3, 5), preconditioner="ilu")


@pytest.mark.gpu
def test_cuda_matches_cpu():
    b, wx, wy = random_system()
    cpu = solve(b, wx, wy, tol=1e-9, dtype=torch.float64).x
    gpu = solve(b.cuda(), wx.cuda(), wy.cuda(), tol=1e-9, dtype=torch.float64).x
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-6, rtol=0)
