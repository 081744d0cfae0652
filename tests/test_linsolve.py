"""The stencil PCG solver against a straightforward SciPy sparse direct solve."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spl
import torch
from stencil_reference import scipy_matrix

from flashcli.linsolve import apply_operator, operator_diagonal, solve


def random_system(n=2, h=13, w=17, scale=50.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    b = torch.rand(n, h, w, generator=g, dtype=torch.float64)
    # Weights spanning several decades, as edge-aware smoothing produces.
    wx = scale * torch.rand(n, h, w - 1, generator=g, dtype=torch.float64) ** 4
    wy = scale * torch.rand(n, h - 1, w, generator=g, dtype=torch.float64) ** 4
    return b, wx, wy


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-9), (torch.float32, 1e-6)])
def test_matches_scipy_direct_solve(dtype, tol):
    b, wx, wy = random_system()
    result = solve(b, wx, wy, tol=tol, max_iter=2000, dtype=dtype)
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


def test_batch_dims_and_iteration_cap():
    b, wx, wy = random_system(n=4, scale=1e4)
    b, wx, wy = (t.reshape(2, 2, *t.shape[1:]).float() for t in (b, wx, wy))
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


def test_shape_errors():
    b = torch.rand(1, 4, 5)
    with pytest.raises(ValueError, match="wx"):
        solve(b, torch.zeros(1, 4, 5), torch.zeros(1, 3, 5))
    with pytest.raises(ValueError, match="wy"):
        solve(b, torch.zeros(1, 4, 4), torch.zeros(1, 4, 5))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    b, wx, wy = random_system()
    cpu = solve(b, wx, wy, tol=1e-9, dtype=torch.float64).x
    gpu = solve(b.cuda(), wx.cuda(), wy.cuda(), tol=1e-9, dtype=torch.float64).x
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-6, rtol=0)
