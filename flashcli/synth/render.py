"""Render one flash/ambient pair of a scene: ray casting, both light set-ups, camera."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from flashcli.synth import camera as cm
from flashcli.synth.compose import sample_scene
from flashcli.synth.scene import Scene
from flashcli.synth.shading import Hits, ceiling, flash, trace

#: Bumped whenever a change alters the pixels rendered for a given seed.
RENDERER_VERSION = "1"
AMBIENT_SAMPLES = 8  # ceiling-light samples per pixel (stratified, jittered)
MAX_CLIPPED = 0.06  # flash metering clips at most this share of the frame


@dataclass
class RenderedPair:
    """One rendered pair: uint8 3 x H x W images, the scene's category, optional ground truth."""

    flash: torch.Tensor
    ambient: torch.Tensor
    category: str
    aux: dict = field(default_factory=dict)


def pair_generator(seed: int, index: int) -> torch.Generator:
    """A CPU generator seeded from (seed, index) alone: pair ``index`` never depends on how many
    pairs are rendered, in which order, or on which device."""
    if seed < 0 or index < 0:
        raise ValueError("seed and index must be non-negative")
    a, b = np.random.SeedSequence([seed, index]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(((int(a) << 32) | int(b)) & (2**63 - 1))


def _subject_level(h: Hits, lum: torch.Tensor, n_planes: int) -> torch.Tensor:
    """90th-percentile luminance of the nearest sizeable object (the flash metering target)."""
    obj = h.valid & (h.sid >= n_planes)
    min_px = max(32, int(0.003 * lum.numel()))
    best, best_depth = None, float("inf")
    ids, counts = torch.unique(h.sid[obj], return_counts=True)
    for i, c in zip(ids.tolist(), counts.tolist(), strict=True):
        if c >= min_px:
            depth = float(h.t[h.sid == i].median())
            if depth < best_depth:
                best, best_depth = i, depth
    if best is not None:
        mask = h.sid == best
    else:
        mask = h.valid & (h.t <= torch.quantile(h.t[h.valid], 0.25))
    return torch.quantile(lum[mask], 0.9).clamp_min(1e-12)


def _image(rows: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return rows.T.reshape(-1, height, width)


def render_scene(scene: Scene, g: torch.Generator, size: tuple[int, int] = (320, 240),
                 device: torch.device | str = "cpu", misalign: float = 0.0, aux: bool = False) -> RenderedPair:
    """Render ``scene`` at ``size`` (width, height) as a flash and an ambient photograph.

    ``misalign`` (pixels) turns the ambient camera by up to that many pixels and a matching tiny
    roll. Random draws come from ``g`` on the CPU. With ``aux`` the result carries ground truth
    (depth, surface ids, normals, albedo, flash visibility, irradiances) for tests.
    """
    width, height = size
    device = torch.device(device)
    lt = scene.lighting
    # All random draws first, on the CPU, in a fixed order.
    turn = torch.rand(3, generator=g) * 2 - 1
    jitter = torch.rand(AMBIENT_SAMPLES, width * height, 2, generator=g)
    noise_f = torch.randn(3, height, width, generator=g)
    noise_a = torch.randn(3, height, width, generator=g)

    sc = scene.to(device)
    cam = scene.camera
    o, d = cm.primary_rays(cam, width, height, device)
    hf = trace(sc, o, d)
    off = lt.flash_offset
    light = (cam.position + off[0] * cam.right + off[1] * cam.up).to(device)
    rad_f, irr_f, vis_f = flash(sc, hf, light)
    rad_f = rad_f * lt.flash_tint.to(device)
    lum_f = cm.luminance(rad_f)
    exposure = lt.flash_target / _subject_level(hf, lum_f, len(scene.planes))
    cap = 1.0 / torch.quantile(rad_f.amax(-1)[hf.valid], 1 - MAX_CLIPPED).clamp_min(1e-12)
    rad_f = rad_f * torch.minimum(exposure, cap)  # metering never clips more than MAX_CLIPPED

    ha = hf
    if misalign > 0:
        f = cam.focal(width)
        shift = misalign * turn[:2] / max(1.0, float(turn[:2].norm()))
        cam_a = cam.turned(float(shift[0]) / f, float(shift[1]) / f, float(turn[2]) * misalign / f)
        ha = trace(sc, *cm.primary_rays(cam_a, width, height, device))
    rad_a, irr_a = ceiling(sc, ha, jitter.to(device), (width, height))
    rad_a = rad_a * lt.ambient_tint.to(device)
    lum = cm.luminance(rad_a)[ha.valid].clamp_min(1e-8)
    exposure = lt.ambient_key / lum.log().mean().exp()
    cap = 1.0 / torch.quantile(rad_a.amax(-1)[ha.valid], 1 - MAX_CLIPPED / 3).clamp_min(1e-12)
    rad_a = rad_a * torch.minimum(exposure, cap)

    vig = cm.vignette(height, width, lt.vignette, device)
    lin_f, lin_a = _image(rad_f, height, width), _image(rad_a, height, width)
    common = {"contrast": lt.contrast, "vignette_map": vig}
    img_f = cm.develop(lin_f, noise=noise_f.to(device), gain=lt.noise_gain / 4, floor=lt.noise_floor / 4, **common)
    img_a = cm.develop(lin_a, noise=noise_a.to(device), gain=lt.noise_gain, floor=lt.noise_floor, **common)
    extra = {}
    if aux:
        n_planes = len(scene.planes)
        extra = {
            "depth": hf.t.view(height, width), "surface": hf.sid.view(height, width),
            "num_planes": n_planes, "object": (hf.sid >= n_planes).view(height, width),
            "position": _image(hf.p, height, width), "normal": _image(hf.n, height, width),
            "albedo": _image(hf.albedo, height, width),
            "flash_visible": vis_f.view(height, width), "flash_irradiance": irr_f.view(height, width),
            "ambient_irradiance": irr_a.view(height, width), "flash_linear": lin_f,
            "ambient_linear": lin_a, "light": light, "flash_offset": off,
        }
    return RenderedPair(img_f, img_a, scene.category, extra)


def render_pair(seed: int, index: int, size: tuple[int, int] = (320, 240), device: torch.device | str = "cpu",
                misalign: float = 0.0, aux: bool = False, category: str | None = None) -> RenderedPair:
    """Pair ``index`` of the data set with seed ``seed`` (see ``render_scene``)."""
    g = pair_generator(seed, index)
    return render_scene(sample_scene(g, category), g, size, device, misalign, aux)


def render_batch(seed: int, indices: Sequence[int], size: tuple[int, int] = (320, 240),
                 device: torch.device | str = "cpu", misalign: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Pairs ``indices`` stacked: flash and ambient uint8 N x 3 x H x W, and their categories."""
    pairs = [render_pair(seed, i, size, device, misalign) for i in indices]
    return (torch.stack([p.flash for p in pairs]), torch.stack([p.ambient for p in pairs]),
            [p.category for p in pairs])
