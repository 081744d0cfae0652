"""LIME: the refinement system against SciPy, its behaviour, and the plugin's options."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.sparse.linalg as spl
import torch
from flashcli_lime import initial_illumination, lime, refine_illumination, strategy3_weights
from stencil_reference import scipy_matrix

from flashcli.errors import FlashcliError
from flashcli.methods import create_enhancer


def scene(h=24, w=32, seed=0):
    """A lit scene: textured objects, bright on the left, dark on the right."""
    g = torch.Generator().manual_seed(seed)
    albedo = 0.5 + 0.4 * torch.rand(1, 3, h // 4, w // 4, generator=g)
    albedo = torch.nn.functional.interpolate(albedo, size=(h, w), mode="nearest")
    light = torch.linspace(0.9, 0.08, w).expand(h, w)
    return (albedo * light).clamp(0, 1)


def numpy_weights(t0: np.ndarray, sigma: float, eps: float):
    """Strategy III written directly with scipy.ndimage (zero outside the image)."""
    radius = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()

    def window(x):
        return ndi.correlate1d(ndi.correlate1d(x, k, axis=0, mode="constant"), k, axis=1, mode="constant")

    gx = np.zeros_like(t0)
    gx[:, :-1] = np.diff(t0, axis=1)
    vx = np.zeros_like(t0)
    vx[:, :-1] = 1
    wx = window(vx) / (np.abs(window(gx)) + eps) / (np.abs(gx) + eps)
    gy = np.zeros_like(t0)
    gy[:-1] = np.diff(t0, axis=0)
    vy = np.zeros_like(t0)
    vy[:-1] = 1
    wy = window(vy) / (np.abs(window(gy)) + eps) / (np.abs(gy) + eps)
    return wx[:, :-1], wy[:-1]


def test_weights_match_scipy():
    t0 = initial_illumination(scene().double())
    wx, wy = strategy3_weights(t0, 2.0, 1e-3)
    ex, ey = numpy_weights(t0[0].numpy(), 2.0, 1e-3)
    np.testing.assert_allclose(wx[0].numpy(), ex, rtol=1e-8)
    np.testing.assert_allclose(wy[0].numpy(), ey, rtol=1e-8)


def test_refinement_matches_scipy_direct_solve():
    t0 = initial_illumination(scene().double())
    result = refine_illumination(t0, lam=0.15, sigma=2.0, eps=1e-3, tol=1e-9, max_iter=20000, dtype=torch.float64)
    assert bool(result.converged.all())
    ex, ey = numpy_weights(t0[0].numpy(), 2.0, 1e-3)
    a = scipy_matrix(0.15 * ex, 0.15 * ey)
    expected = spl.spsolve(a, t0[0].numpy().ravel()).reshape(t0.shape[1:])
    np.testing.assert_allclose(result.x[0].numpy(), expected, atol=1e-4)


def test_default_float32_solution_is_close_to_exact():
    t0 = initial_illumination(scene())
    exact = refine_illumination(t0.double(), tol=1e-9, max_iter=20000, dtype=torch.float64).x
    fast = refine_illumination(t0)
    assert bool(fast.converged.all())
    assert float((fast.x.double() - exact).abs().max()) < 1e-3


def test_brightens_dark_region_and_keeps_bright_image():
    image = scene()
    out = lime(image)
    dark, bright = (slice(None), slice(None), slice(None), slice(-8, None)), (..., slice(0, 8))
    assert float(out[dark].mean()) > 1.5 * float(image[dark].mean())
    assert float(out[bright].mean()) >= float(image[bright].mean())
    # An evenly lit bright image only moves by its gamma: I / I_max^0.7.
    flat = torch.full((1, 3, 16, 16), 0.9)
    flat[:, 1] = 0.8
    got = lime(flat)
    torch.testing.assert_close(got, (flat / 0.9**0.7).clamp(0, 1), atol=2e-3, rtol=0)
    assert float((got - flat).abs().max()) < 0.07


def test_registry_options_and_batch():
    enhancer = create_enhancer("lime", {"gamma": "0.8"}, device="cpu")
    assert enhancer.config["gamma"] == 0.8 and enhancer.config["lambda"] == 0.15
    assert not enhancer.needs_weights and enhancer.working_size is None
    batch = torch.cat([scene(seed=1), scene(seed=2)])
    out = enhancer(batch)
    assert out.shape == batch.shape
    torch.testing.assert_close(out[1:], enhancer(batch[1:]), atol=1e-4, rtol=0)
    low_gamma = create_enhancer("lime", {"gamma": 0.5}, device="cpu")(batch)
    assert float(low_gamma.mean()) < float(out.mean())


def test_unknown_and_bad_options():
    with pytest.raises(FlashcliError, match="unknown option"):
        create_enhancer("lime", {"alpha": "1"}, device="cpu")
    with pytest.raises(FlashcliError, match="gamma"):
        create_enhancer("lime", {"gamma": "-1"}, device="cpu")
    with pytest.raises(FlashcliError, match="expected float"):
        create_enhancer("lime", {"sigma": "wide"}, device="cpu")


@pytest.mark.gpu
def test_cuda_matches_cpu():
    image = scene()
    enhancer = create_enhancer("lime", device="cuda")
    torch.testing.assert_close(enhancer(image.cuda()).cpu(), lime(image), atol=2e-3, rtol=0)


def test_cli_relight_with_lime(tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from flashcli.cli import cli

    pixels = (scene(24, 32)[0].permute(1, 2, 0) * 255).round().byte().numpy()
    Image.fromarray(pixels).save(tmp_path / "dark.png")
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["relight", str(tmp_path / "dark.png"), "-o", str(out), "--all", "-m", "lime", "--device", "cpu"]
    result = runner.invoke(cli, [*args, "--opt", "gamma=0.8"])
    assert result.exit_code == 0, result.output
    written = np.asarray(Image.open(out / "dark_ambient.png"), dtype=np.float64)
    assert written.shape == pixels.shape
    assert written[:, -8:].mean() > 1.5 * pixels[:, -8:].mean()
    bad = runner.invoke(cli, [*args, "--opt", "alpha=1", "-o", str(tmp_path / "bad")])
    assert bad.exit_code == 2  # an unknown option is a usage error
    assert "unknown option alpha" in bad.output
