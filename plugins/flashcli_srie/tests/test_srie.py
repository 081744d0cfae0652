"""SRIE: each update against SciPy, convergence, R x L = V, and the plugin's options."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.sparse.linalg as spl
import torch
from flashcli_srie import decompose, srie
from stencil_reference import scipy_matrix

from flashcli.errors import FlashcliError
from flashcli.methods import create_enhancer

srie_module = importlib.import_module("flashcli_srie.decomposition")


def scene(h=20, w=24, seed=0):
    """Piecewise-constant colours under smooth light, darker towards the bottom right."""
    g = torch.Generator().manual_seed(seed)
    albedo = 0.4 + 0.5 * torch.rand(1, 3, h // 4, w // 4, generator=g)
    albedo = torch.nn.functional.interpolate(albedo, size=(h, w), mode="nearest")
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    light = 0.9 - 0.6 * (xx + yy) / 2
    return (albedo * light).clamp(0, 1)


def test_updates_match_scipy_direct_solve():
    v = scene().amax(dim=1) * 255
    s = v.clamp_min(1).log()
    r = torch.full_like(s, -0.3)
    r[..., ::3, :] = -0.6
    log_l = s - r
    c1, c2, lam, eps = 0.01, 0.1, 1.0, 1e-3
    got_l = srie_module._update_l(s, r, log_l, c2, lam, 1e-7, 20000)
    big_l = log_l.exp()[0].numpy()
    # (1 + lambda) l + c2 D^T (L_p L_q) D l = s - r + lambda s, divided through by 1 + lambda.
    vx = c2 / (1 + lam) * big_l[:, 1:] * big_l[:, :-1]
    vy = c2 / (1 + lam) * big_l[1:] * big_l[:-1]
    rhs = ((s - r + lam * s) / (1 + lam))[0].numpy().ravel()
    expected = spl.spsolve(scipy_matrix(vx, vy), rhs).reshape(s.shape[1:])
    np.testing.assert_allclose(got_l[0].numpy(), np.maximum(expected, s[0].numpy()), atol=1e-4)

    got_r = srie_module._update_r(s, got_l, r, c1, lam, eps, 1e-7, 20000)
    big_r = r.exp()[0].numpy()
    ux = c1 / 2 * big_r[:, 1:] * big_r[:, :-1] / np.maximum(np.abs(np.diff(big_r, axis=1)), eps)
    uy = c1 / 2 * big_r[1:] * big_r[:-1] / np.maximum(np.abs(np.diff(big_r, axis=0)), eps)
    rhs = (s - got_l)[0].numpy().ravel()
    expected = spl.spsolve(scipy_matrix(ux, uy), rhs).reshape(s.shape[1:])
    np.testing.assert_allclose(got_r[0].numpy(), np.minimum(expected, 0), atol=1e-4)


def test_converges_and_reproduces_v():
    v = scene().amax(dim=1) * 255
    d = decompose(v, max_iter=200)
    assert bool(d.converged.all())
    assert 1 < int(d.iterations[0]) < 200
    assert float(d.reflectance.max()) <= 1.0 + 1e-6
    assert bool((d.illumination >= v.clamp_min(1) * (1 - 1e-5)).all())
    rel = (d.reflectance * d.illumination - v).abs() / v
    assert float(rel.mean()) < 0.01
    assert float(rel.max()) < 0.1


def two_region(h=96, w=128, seed=0):
    """Blocks of albedo 0.5..0.9 lit at 30 (left half) and 250 (right half), 0..255."""
    g = torch.Generator().manual_seed(seed)
    albedo = 0.5 + 0.4 * torch.rand(1, 1, h // 8, w // 8, generator=g)
    albedo = torch.nn.functional.interpolate(albedo, size=(h, w), mode="nearest")[:, 0]
    light = torch.where(torch.arange(w) < w // 2, 30.0, 250.0).expand(h, w)
    return albedo * light


def test_two_region_illumination_is_recovered():
    d = decompose(two_region())
    assert bool(d.converged.all())
    lum = d.illumination[0]
    q = lum.shape[-1] // 4  # the outer quarter of each half, away from the light's edge
    ratio = float(lum[:, -q:].mean() / lum[:, :q].mean())
    assert abs(ratio - 250 / 30) < 0.25 * 250 / 30


def test_reflectance_edge_under_uniform_light_stays_in_r():
    w = 128
    v = torch.where(torch.arange(w) < w // 2, 0.3, 0.9).expand(1, 96, w) * 200.0
    d = decompose(v)
    c = w // 2
    jump_r = float(d.reflectance[0, :, c].mean() / d.reflectance[0, :, c - 1].mean())
    jump_l = float(d.illumination[0, :, c].mean() / d.illumination[0, :, c - 1].mean())
    assert jump_r > 2.0  # of the true 3x
    assert jump_l < 1.5
    torch.testing.assert_close(d.reflectance * d.illumination, v, rtol=0.02, atol=0.5)


def flash_photo(h=96, w=128):
    """A flash photo: a bright subject with a clipped highlight before a dark background."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    subject = ((xx / 0.45) ** 2 + (yy / 0.6) ** 2) < 1
    image = torch.full((1, 3, h, w), 0.06)
    image[..., subject] = 0.75
    image[:, 0, subject] = 0.85
    highlight = ((xx / 0.12) ** 2 + ((yy + 0.2) / 0.12) ** 2) < 1
    image[..., highlight] = 1.0
    g = torch.Generator().manual_seed(3)
    return (image * (0.9 + 0.1 * torch.rand(1, 1, h, w, generator=g))).clamp(0, 1), subject, highlight


def test_flash_photo_dark_regions_brightened_highlights_kept():
    image, subject, highlight = flash_photo()
    out = srie(image)
    dark = ~subject
    assert float(out[..., dark].mean()) > 1.5 * float(image[..., dark].mean())
    # Highlights stay highlights: never darkened, still near white.
    assert bool((out[..., highlight] >= image[..., highlight] - 1e-4).all())
    assert float(out[..., highlight].mean()) > 0.95
    # The lit subject changes far less than the background.
    gain_subject = float(out[..., subject & ~highlight].mean() / image[..., subject & ~highlight].mean())
    assert gain_subject < 1.25


def test_iteration_cap_is_respected():
    v = scene().amax(dim=1) * 255
    d = decompose(v, max_iter=2)
    assert int(d.iterations[0]) == 2
    assert not bool(d.converged.any())


def test_brightens_with_gamma_and_keeps_hue():
    image = scene()
    out = srie(image)
    assert out.shape == image.shape
    assert float(out.mean()) > 1.2 * float(image.mean())
    # Hue and saturation kept: channel ratios unchanged where nothing clipped.
    ratio_in = image[:, 0] / image[:, 1]
    ratio_out = out[:, 0] / out[:, 1]
    mask = out.amax(dim=1) < 0.999
    torch.testing.assert_close(ratio_out[mask], ratio_in[mask], rtol=1e-4, atol=1e-5)


def test_registry_options_and_batch():
    enhancer = create_enhancer("srie", {"c2": "0.2", "max_iter": "30"}, device="cpu")
    assert enhancer.config["c2"] == 0.2 and enhancer.config["c1"] == 0.01
    assert enhancer.config["lambda"] == 1.0 and enhancer.config["stop"] == 1e-3
    assert not enhancer.needs_weights and enhancer.working_size is None
    batch = torch.cat([scene(seed=1), scene(seed=2)])
    out = enhancer(batch)
    # Every image stops by its own rule, so a batch equals its images run alone.
    torch.testing.assert_close(out[1:], enhancer(batch[1:]), atol=1e-4, rtol=0)


def test_unknown_and_bad_options():
    with pytest.raises(FlashcliError, match="unknown option"):
        create_enhancer("srie", {"c3": "1"}, device="cpu")
    with pytest.raises(FlashcliError, match="lambda"):
        create_enhancer("srie", {"lambda": "0"}, device="cpu")


@pytest.mark.gpu
def test_cuda_matches_cpu():
    image = scene()
    enhancer = create_enhancer("srie", device="cuda")
    torch.testing.assert_close(enhancer(image.cuda()).cpu(), srie(image), atol=2e-3, rtol=0)


def test_cli_relight_with_srie(tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from flashcli.cli import cli

    pixels = (scene()[0].permute(1, 2, 0) * 255).round().byte().numpy()
    Image.fromarray(pixels).save(tmp_path / "shot.png")
    out = tmp_path / "out"
    args = ["relight", str(tmp_path / "shot.png"), "-o", str(out), "--all", "-m", "srie"]
    result = CliRunner().invoke(cli, [*args, "--opt", "c2=0.2", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    written = np.asarray(Image.open(out / "shot_ambient.png"), dtype=np.float64)
    assert written.shape == pixels.shape
    assert written.mean() > 1.2 * pixels.mean()
