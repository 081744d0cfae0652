"""Render one flash/ambient pair of a scene: ray casting, both light set-ups, the camera."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from flashcli.synth import camera as cm
from flashcli.synth.compose import sample_scene
from flashcli.synth.scene import Scene
from flashcli.synth.shading import Hits, ambient, flash, pixel_lobes, trace

#: Bumped whenever a change alters the pixels rendered for a given seed.
RENDERER_VERSION = "4"
AMBIENT_SAMPLES = 8  # area-light samples per pixel (stratified, jittered)
FLASH_BIAS = -0.3  # stops: flash metering protects the near subject from blowing out
KINDS = ("photo", "faid")  # flash frame: flash + ambient in one photograph, or flash only


@dataclass
class RenderedPair:
    """One rendered pair: uint8 3 x H x W images, the scene's category, optional ground truth,
    and the kind of flash frame ("photo": flash + ambient light; "faid": flash only)."""

    flash: torch.Tensor
    ambient: torch.Tensor
    category: str
    aux: dict = field(default_factory=dict)
    kind: str = "photo"


def pair_generator(seed: int, index: int) -> torch.Generator:
    """A CPU generator seeded from (seed, index) alone: pair ``index`` never depends on how many
    pairs are rendered, in which order, or on which device."""
    if seed < 0 or index < 0:
        raise ValueError("seed and index must be non-negative")
    a, b = np.random.SeedSequence([seed, index]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(((int(a) << 32) | int(b)) & (2**63 - 1))


def _image(rows: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return rows.T.reshape(-1, height, width)


def _flash_light(sc: Scene, hf: Hits, device: torch.device, width: int) -> tuple:
    """Luminous exposure of the flash per unit output (cd s/m² per cd s) at the flash camera's
    hits, irradiance factor cos/r², visibility and the flash's position."""
    cam, lt = sc.camera, sc.lighting
    off = lt.flash_offset
    light = (cam.position + off[0] * cam.right + off[1] * cam.up).to(device)
    rad, irr, vis = flash(sc, pixel_lobes(sc, hf, 1.0 / cam.focal(width)), light, cam.forward,
                          sc.camera_model.flash_beam)
    return rad * lt.flash_rgb.to(device), irr, vis, light


def _lux_scale(sc: Scene, hf: Hits, irr: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Factor that turns the ambient render into cd/m²: the subject (the middle of the frame,
    valid hits) receives ``ambient_lux`` lux."""
    ys = torch.arange(height, device=irr.device).view(-1, 1)
    xs = torch.arange(width, device=irr.device).view(1, -1)
    mid = ((ys - height / 2).abs() < height / 4) & ((xs - width / 2).abs() < width / 4)
    ok = hf.valid & mid.flatten()
    ok = ok if bool(ok.any()) else hf.valid
    level = irr[ok].mean() if bool(ok.any()) else irr.new_ones(())
    return sc.lighting.ambient_lux / level.clamp_min(1e-12)


def _turned_ambient(sc: Scene, cam, turn: torch.Tensor, misalign: float, jitter: torch.Tensor,
                    size: tuple[int, int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The ambient light seen by a camera turned by up to ``misalign`` pixels (and a tiny roll)."""
    width, height = size
    f = cam.focal(width)
    shift = misalign * turn[:2] / max(1.0, float(turn[:2].norm()))
    cam_a = cam.turned(float(shift[0]) / f, float(shift[1]) / f, float(turn[2]) * misalign / f)
    ha = trace(sc, *cm.primary_rays(cam_a, width, height, device))
    return ambient(sc, ha, jitter, size)


def _flash_frame(cmod, ambient_image, flash_image: torch.Tensor, noise: torch.Tensor) -> tuple:
    """The flash frame by kind: exposed linear frame, developed image, and both info dicts.
    ``ambient_image()`` gives the ambient light through the lens (photo kind only)."""
    if cmod.kind == "photo":
        exposed, info = cm.expose_flash_photo(ambient_image(), flash_image, cmod, cmod.ae_error[0] + FLASH_BIAS)
        gain = 1.0
    else:
        exposed, gain, info = cm.expose_flash_only(flash_image, cmod, cmod.ae_error[0] + FLASH_BIAS)
    # cameras know their flash fired and balance for it; phones balance the whole frame
    wb = info.pop("flash_part", exposed) if cmod.ttl else exposed
    img, dev = cm.develop(exposed, noise, info["iso"], cmod.keep_warmth, cmod.awb_error[0], cmod, gain, wb)
    return exposed, img, info, dev


def render_scene(scene: Scene, g: torch.Generator, size: tuple[int, int] = (320, 240),
                 device: torch.device | str = "cpu", misalign: float = 0.0, aux: bool = False) -> RenderedPair:
    """Render ``scene`` at ``size`` (width, height) as a flash and an ambient photograph.

    Light is absolute: the ambient light gives the subject ``lighting.ambient_lux`` lux, the
    flash has the camera model's guide number. The ambient frame is auto-exposed within the
    device's limits (``camera.expose_ambient``); the flash frame is, by ``camera_model.kind``,
    the photograph with flash (flash plus the ambient light at the flash exposure,
    ``camera.expose_flash_photo``) or FAID's flash-only image (``camera.expose_flash_only``).
    Then sensor noise at each frame's ISO, white balance and tone curve (``camera.develop``).
    ``misalign`` (pixels) turns the ambient camera. Random draws come from ``g`` on the CPU.
    With ``aux`` the result carries ground truth (geometry, albedo, flash visibility,
    irradiances, linear frames, the camera's choices: shutter, ISO, limits hit) for tests.
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
    lux = _lux_scale(scene, hf, irr_a, width, height)
    amb_f = rad_a * lux
    rad_a, irr_a = amb_f, irr_a * lux
    if misalign > 0:
        rad_a, irr_a = _turned_ambient(sc, cam, turn, misalign, jitter, (width, height), device)
        rad_a, irr_a = rad_a * lux, irr_a * lux
    rad_f, irr_f, vis_f, light = _flash_light(sc, hf, device, width)

    vig = cm.vignette(height, width, cmod.vignette, device)
    lens = lambda rows: cm.soften(_image(rows, height, width) * vig)  # noqa: E731
    amb_img, fl_img = lens(rad_a), lens(rad_f)
    exposure_a, info_a = cm.expose_ambient(amb_img, cmod, cmod.ae_error[1])
    exposed_f, img_f, info_f, dev_f = _flash_frame(cmod, lambda: lens(amb_f), fl_img, noise_f.to(device))
    warmth = cm.ambient_warmth(cmod, info_a["ev"])
    img_a, dev_a = cm.develop(amb_img * exposure_a, noise_a.to(device), info_a["iso"], warmth, cmod.awb_error[1], cmod)
    extra = {}
    if aux:
        n_planes = len(scene.planes)
        info_f = {**info_f, **dev_f, "exposure": float(cm.meter(exposed_f))}
        info_a = {**info_a, **dev_a, "exposure": exposure_a, "keep_warmth": warmth}
        extra = {
            "depth": hf.t.view(height, width), "surface": hf.sid.view(height, width),
            "num_planes": n_planes, "object": (hf.sid >= n_planes).view(height, width),
            "position": _image(hf.p, height, width), "normal": _image(hf.n, height, width),
            "albedo": _image(hf.albedo, height, width),
            "flash_visible": vis_f.view(height, width), "flash_irradiance": irr_f.view(height, width),
            "ambient_irradiance": irr_a.view(height, width), "flash_linear": _image(rad_f, height, width),
            "flash_frame": exposed_f,
            "ambient_linear": amb_img * exposure_a, "light": light, "flash_offset": scene.lighting.flash_offset,
            "flash_camera": info_f, "ambient_camera": info_a, "ambient_kind": scene.lighting.ambient_kind,
            "kind": cmod.kind, "style": cmod.style, "ambient_lux": scene.lighting.ambient_lux,
        }
    return RenderedPair(img_f, img_a, scene.category, extra, cmod.kind)


def check_kind(kind: str | None) -> str | None:
    """``None`` or "mixed" (each pair draws its kind) -> None; "photo" / "faid" pass; else an error."""
    if kind is None or kind == "mixed":
        return None
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use photo, faid or mixed")
    return kind


def render_pair(seed: int, index: int, size: tuple[int, int] = (320, 240), device: torch.device | str = "cpu",
                misalign: float = 0.0, aux: bool = False, category: str | None = None,
                photos: Sequence[torch.Tensor] | None = None, kind: str | None = None) -> RenderedPair:
    """Pair ``index`` of the data set with seed ``seed`` (see ``render_scene``); ``photos``
    (``textures.photo_textures``) cover some surfaces. ``kind``: "photo", "faid", or None /
    "mixed" (about half each, drawn per pair); a given kind leaves the rest of the scene as the
    mixed draw has it."""
    g = pair_generator(seed, index)
    return render_scene(sample_scene(g, category, photos, check_kind(kind)), g, size, device, misalign, aux)


def render_images(seed: int, index: int, size: tuple[int, int] = (320, 240), device: torch.device | str = "cpu",
                  misalign: float = 0.0, photos: Sequence[torch.Tensor] | None = None,
                  kind: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Only the two images of pair ``index``: flash and ambient, uint8 3 x H x W."""
    pair = render_pair(seed, index, size, device, misalign, photos=photos, kind=kind)
    return pair.flash, pair.ambient


def render_batch(seed: int, indices: Sequence[int], size: tuple[int, int] = (320, 240),
                 device: torch.device | str = "cpu", misalign: float = 0.0,
                 kind: str | None = None) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Pairs ``indices`` stacked: flash and ambient uint8 N x 3 x H x W, and their categories."""
    pairs = [render_pair(seed, i, size, device, misalign, kind=kind) for i in indices]
    return (torch.stack([p.flash for p in pairs]), torch.stack([p.ambient for p in pairs]),
            [p.category for p in pairs])
