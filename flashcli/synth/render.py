"""Render one flash/ambient pair of a scene: ray casting, both light set-ups, the camera."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from flashcli.synth import camera as cm
from flashcli.synth.compose import sample_scene
from flashcli.synth.scene import Scene
from flashcli.synth.shading import Hits, ambient, flash, trace

#: Bumped whenever a change alters the pixels rendered for a given seed.
RENDERER_VERSION = "2"
AMBIENT_SAMPLES = 8  # area-light samples per pixel (stratified, jittered)
FLASH_BIAS = -0.3  # stops: flash metering protects the near subject from blowing out


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


def _image(rows: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return rows.T.reshape(-1, height, width)


def _flash_frame(sc: Scene, hf: Hits, amb_f: torch.Tensor, device: torch.device) -> tuple:
    """Radiance of the flash frame (flash plus a little ambient light), irradiance, visibility
    and the flash's position."""
    cam, lt = sc.camera, sc.lighting
    off = lt.flash_offset
    light = (cam.position + off[0] * cam.right + off[1] * cam.up).to(device)
    rad, irr, vis = flash(sc, hf, light)
    rad = rad * lt.flash_rgb.to(device)
    level = cm.luminance(rad)[hf.valid].mean() if bool(hf.valid.any()) else rad.new_ones(())
    amb_level = cm.luminance(amb_f)[hf.valid].mean() if bool(hf.valid.any()) else rad.new_ones(())
    rad = rad + lt.ambient_leak * level / amb_level.clamp_min(1e-12) * amb_f
    return rad, irr, vis, light


def render_scene(scene: Scene, g: torch.Generator, size: tuple[int, int] = (320, 240),
                 device: torch.device | str = "cpu", misalign: float = 0.0, aux: bool = False) -> RenderedPair:
    """Render ``scene`` at ``size`` (width, height) as a flash and an ambient photograph.

    Each frame goes through the scene's camera (``camera.develop``): auto-exposure, sensor
    noise at its ISO, auto white balance, tone curve. ``misalign`` (pixels) turns the ambient
    camera by up to that many pixels and a matching tiny roll. Random draws come from ``g`` on
    the CPU. With ``aux`` the result carries ground truth (depth, surface ids, normals, albedo,
    flash visibility, irradiances, linear frames, the camera's choices) for tests.
    """
    width, height = size
    device = torch.device(device)
    cmod = scene.camera_model
    # All random draws first, on the CPU, in a fixed order.
    turn = torch.rand(3, generator=g) * 2 - 1
    jitter = torch.rand(AMBIENT_SAMPLES, width * height, 2, generator=g).to(device)
    noise_f = torch.randn(3, height, width, generator=g)
    noise_a = torch.randn(3, height, width, generator=g)

    sc = scene.to(device)
    cam = scene.camera
    hf = trace(sc, *cm.primary_rays(cam, width, height, device))
    rad_a, irr_a = ambient(sc, hf, jitter, (width, height))
    ha, amb_f = hf, rad_a
    if misalign > 0:
        f = cam.focal(width)
        shift = misalign * turn[:2] / max(1.0, float(turn[:2].norm()))
        cam_a = cam.turned(float(shift[0]) / f, float(shift[1]) / f, float(turn[2]) * misalign / f)
        ha = trace(sc, *cm.primary_rays(cam_a, width, height, device))
        rad_a, irr_a = ambient(sc, ha, jitter, (width, height))
    rad_f, irr_f, vis_f, light = _flash_frame(sc, hf, amb_f, device)

    vig = cm.vignette(height, width, cmod.vignette, device)
    lin_f, lin_a = _image(rad_f, height, width), _image(rad_a, height, width)
    img_f, info_f = cm.develop(lin_f, noise_f.to(device), cmod.iso[0], cmod.ae_error[0] + FLASH_BIAS, cmod.awb_error[0], cmod, vig)
    img_a, info_a = cm.develop(lin_a, noise_a.to(device), cmod.iso[1], cmod.ae_error[1], cmod.awb_error[1], cmod, vig)
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
            "ambient_linear": lin_a, "light": light, "flash_offset": scene.lighting.flash_offset,
            "flash_camera": info_f, "ambient_camera": info_a, "ambient_kind": scene.lighting.ambient_kind,
        }
    return RenderedPair(img_f, img_a, scene.category, extra)


def render_pair(seed: int, index: int, size: tuple[int, int] = (320, 240), device: torch.device | str = "cpu",
                misalign: float = 0.0, aux: bool = False, category: str | None = None,
                photos: Sequence[torch.Tensor] | None = None) -> RenderedPair:
    """Pair ``index`` of the data set with seed ``seed`` (see ``render_scene``); ``photos``
    (``textures.photo_textures``) cover some surfaces."""
    g = pair_generator(seed, index)
    return render_scene(sample_scene(g, category, photos), g, size, device, misalign, aux)


def render_images(seed: int, index: int, size: tuple[int, int] = (320, 240), device: torch.device | str = "cpu",
                  misalign: float = 0.0, photos: Sequence[torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Only the two images of pair ``index``: flash and ambient, uint8 3 x H x W."""
    pair = render_pair(seed, index, size, device, misalign, photos=photos)
    return pair.flash, pair.ambient


def render_batch(seed: int, indices: Sequence[int], size: tuple[int, int] = (320, 240),
                 device: torch.device | str = "cpu", misalign: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Pairs ``indices`` stacked: flash and ambient uint8 N x 3 x H x W, and their categories."""
    pairs = [render_pair(seed, i, size, device, misalign) for i in indices]
    return (torch.stack([p.flash for p in pairs]), torch.stack([p.ambient for p in pairs]),
            [p.category for p in pairs])
