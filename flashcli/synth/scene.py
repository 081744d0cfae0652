"""Scene description (tensors) and a builder that assembles one from primitives.

World frame: metres, y up, the camera near z = 0 looking roughly along +z, the floor at y = 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from flashcli.synth import textures as tx
from flashcli.synth.geometry import BOX, CYLINDER, SPHERE, Planes, Shapes


@dataclass
class Camera:
    """A pinhole camera: position, orthonormal basis, horizontal field of view."""

    position: torch.Tensor  # 3
    right: torch.Tensor  # 3
    up: torch.Tensor  # 3
    forward: torch.Tensor  # 3
    fov_x: float  # radians

    def focal(self, width: int) -> float:
        """Focal length in pixels for an image ``width`` pixels wide."""
        return (width / 2) / math.tan(self.fov_x / 2)

    def turned(self, yaw: float, pitch: float, roll: float) -> Camera:
        """The same camera rotated by small angles (radians) about its own axes."""
        f = self.forward + math.tan(yaw) * self.right + math.tan(pitch) * self.up
        f = f / f.norm()
        r = torch.linalg.cross(self.up, f)
        r = r / r.norm()
        u = torch.linalg.cross(f, r)
        c, s = math.cos(roll), math.sin(roll)
        return Camera(self.position, c * r + s * u, c * u - s * r, f, self.fov_x)


def look_at(position: list[float], target: list[float], fov_x: float, roll: float = 0.0) -> Camera:
    """A camera at ``position`` looking at ``target`` (y up), rolled by ``roll`` radians."""
    p = torch.tensor(position, dtype=torch.float32)
    f = torch.tensor(target, dtype=torch.float32) - p
    f = f / f.norm()
    r = torch.linalg.cross(torch.tensor([0.0, 1.0, 0.0]), f)
    r = r / r.norm()
    u = torch.linalg.cross(f, r)
    return Camera(p, r, u, f, fov_x).turned(0.0, 0.0, roll)


@dataclass
class Lighting:
    """Both light set-ups for one pair (colours are linear sRGB at unit luminance)."""

    flash_offset: torch.Tensor  # 2: metres along camera right and up from the lens
    flash_rgb: torch.Tensor  # 3: the flash's colour (near 5500 K)
    flash_cct: float  # kelvin
    ambient_kind: str  # tungsten, led, window or window+lamp
    ambient_cct: float  # kelvin of the main light
    area_center: torch.Tensor  # 3: the main light, a rectangle (ceiling lamp or window)
    area_u: torch.Tensor  # 3: one edge of the rectangle (metres)
    area_v: torch.Tensor  # 3: the other edge
    area_normal: torch.Tensor  # 3: the side it shines from (into the room)
    main_rgb: torch.Tensor  # 3: the main light's colour
    second_rgb: torch.Tensor  # 3: a shadowless second light (window beside a lamp, sky)
    second_dir: torch.Tensor  # 3: unit vector towards the second light
    second_level: float  # its irradiance relative to the main light's mean
    fill: float  # weak fill (interreflection) relative to the mean direct irradiance
    ambient_lux: float  # illuminance the ambient light gives the subject (lux)


@dataclass
class CameraModel:
    """The camera or phone that takes both frames of a pair, its limits, and its choices."""

    style: str  # "phone" or "camera"
    kind: str  # "photo" (flash + ambient in one frame) or "faid" (flash-only frame)
    key: float  # linear level auto-exposure brings the metered luminance to
    clip_share: float  # auto-exposure clips at most this share of the pixels
    ae_error: tuple[float, float]  # metering error (stops): flash, ambient frame
    f_number: float  # aperture (fixed on phones, the lens's wide-open value on cameras)
    iso_base: float  # lowest ISO
    iso_max: float  # highest ISO auto-exposure uses for the ambient frame
    iso_flash_max: float  # highest auto ISO with the flash on
    shutter_max: float  # longest hand-held shutter (s)
    shutter_flash: float  # shutter with the flash on (sync speed, s)
    flash_gn: float  # the flash's full-power guide number (metres at ISO 100)
    ttl: bool  # flash power metered (xenon, cameras); phones fire their LED at full power
    flash_ambient: float  # stops the flash frame's ambient part is exposed under the key (cameras)
    dim_key: float  # stops the key drops per stop of scene brightness below EV 6 (phones)
    shot_noise: float  # shot-noise variance per unit signal at ISO 100
    read_noise: float  # read-noise variance at ISO 100
    keep_warmth: float  # share of a tungsten cast the white balance leaves in bright light
    keep_warmth_dim: float  # extra share kept in dim light (phones keep dim lamp light warm)
    awb_error: torch.Tensor  # 2 x 2: log red / blue gain errors, flash and ambient frame
    contrast: float  # S-curve strength of the tone curve
    shoulder: float  # highlight roll-off (phones), 0 for none
    local_contrast: float  # phone-style detail boost, 0 for none
    denoise: float  # phone noise reduction strength at ISO 3200 (0: none)
    vignette: float  # corner fall-off
    flash_beam: float  # the flash's fall-off off its axis: intensity ~ cos^flash_beam


@dataclass
class Scene:
    """Everything needed to render one flash/ambient pair."""

    category: str
    camera: Camera
    planes: Planes
    plane_axes: torch.Tensor  # P x 2 x 3: texture u, v directions (metres)
    shapes: Shapes
    half: torch.Tensor  # K x 3: half extents (for texture scale)
    atlas: torch.Tensor  # 3 x T x (N T): the N distinct textures side by side
    tex_index: torch.Tensor  # S long (S = P + K surfaces): each surface's texture in the atlas
    tex_scale: torch.Tensor  # S: metres per texture tile (planes, boxes) or repeats
    ks: torch.Tensor  # S: specular albedo
    shininess: torch.Tensor  # S: Blinn-Phong exponent
    head: torch.Tensor  # S bool: ellipsoid heads get hair and eyes
    hair: torch.Tensor  # 3: hair albedo
    lighting: Lighting
    camera_model: CameraModel
    room_albedo: torch.Tensor  # 3: mean wall colour, tints the fill light

    def to(self, device: torch.device) -> Scene:
        """The same scene with its geometry and materials on ``device``."""
        return replace(
            self, planes=self.planes.to(device), plane_axes=self.plane_axes.to(device),
            shapes=self.shapes.to(device), half=self.half.to(device), atlas=self.atlas.to(device),
            tex_index=self.tex_index.to(device),
            tex_scale=self.tex_scale.to(device), ks=self.ks.to(device),
            shininess=self.shininess.to(device), head=self.head.to(device), hair=self.hair.to(device),
        )


def rotation(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> torch.Tensor:
    """Rotation matrix Ry(yaw) @ Rx(pitch) @ Rz(roll)."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    ry = torch.tensor([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]], dtype=torch.float32)
    rx = torch.tensor([[1, 0, 0], [0, cp, -sp], [0, sp, cp]], dtype=torch.float32)
    rz = torch.tensor([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]], dtype=torch.float32)
    return ry @ rx @ rz


@dataclass
class _Surface:
    texture: torch.Tensor
    scale: float
    ks: float
    shininess: float
    head: bool = False


class SceneBuilder:
    """Collects planes and objects with their materials, then packs them into a ``Scene``."""

    def __init__(self, g: torch.Generator, photos: Sequence[torch.Tensor] | None = None) -> None:
        self.g = g
        self.photos = list(photos or ())
        self.plane_rows: list[tuple[list[float], float, list[list[float]]]] = []
        self.plane_surfaces: list[_Surface] = []
        self.shape_rows: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.shape_surfaces: list[_Surface] = []
        self.footprints: list[tuple[float, float, float, float]] = []  # x, z, radius, support height

    def texture(self, kind: str | None = None, base: torch.Tensor | None = None, share: float = 0.5) -> torch.Tensor:
        """A procedural texture, or (with user photos, ``share`` of the time) one of the photos."""
        if self.photos and tx.uniform(self.g, 0.0, 1.0) < share:
            return tx.choice(self.g, self.photos)
        return tx.texture(self.g, kind, base)

    def material(self) -> tuple[float, float]:
        """A random (ks, shininess): matte, satin, glossy, or shiny (glazed ceramic, lacquer,
        glass: a sharp lobe the close flash turns into a small clipped hot spot)."""
        kind = tx.choice(self.g, ("matte", "satin", "gloss", "shiny"), (3, 3, 2, 1.5))
        if kind == "matte":
            return tx.uniform(self.g, 0.0, 0.03), 8.0
        if kind == "satin":
            return tx.uniform(self.g, 0.04, 0.15), tx.uniform(self.g, 10, 60)
        if kind == "gloss":
            return tx.uniform(self.g, 0.15, 0.5), tx.uniform(self.g, 60, 400)
        return tx.uniform(self.g, 0.3, 0.7), tx.uniform(self.g, 600, 3000)

    def plane(self, normal: list[float], offset: float, axes: list[list[float]],
              texture: torch.Tensor, scale: float, ks: float = 0.0, shininess: float = 8.0) -> None:
        """A room surface; ``axes`` are its texture u and v directions."""
        self.plane_rows.append((normal, offset, axes))
        self.plane_surfaces.append(_Surface(texture, scale, ks, shininess))

    def shape(self, kind: int, center: list[float], half: list[float], rot: torch.Tensor | None = None,
              texture: torch.Tensor | None = None, scale: float = 0.3, ks: float | None = None,
              shininess: float | None = None, head: bool = False) -> None:
        """An object: unit primitive ``kind`` scaled by ``half`` then rotated, centred at ``center``."""
        rot = rotation() if rot is None else rot
        half_t = torch.tensor(half, dtype=torch.float32)
        to_local = torch.diag(1.0 / half_t) @ rot.T
        if ks is None:
            ks, shininess = self.material()
        if texture is None:
            texture = self.texture()
        self.shape_rows.append((kind, torch.tensor(center, dtype=torch.float32), to_local, half_t))
        self.shape_surfaces.append(_Surface(texture, scale, ks, float(shininess), head))

    def place(self, region: tuple[float, float, float, float], radius: float, level: float = 0.0,
              tries: int = 24) -> tuple[float, float] | None:
        """A free spot (x, z) in ``region`` (x0, x1, z0, z1) on a support at height ``level``,
        or None when crowded."""
        x0, x1, z0, z1 = region
        for _ in range(tries):
            x = tx.uniform(self.g, x0 + radius, max(x1 - radius, x0 + radius + 1e-3))
            z = tx.uniform(self.g, z0 + radius, max(z1 - radius, z0 + radius + 1e-3))
            if all((x - a) ** 2 + (z - b) ** 2 > (radius + r) ** 2
                   for a, b, r, lv in self.footprints if abs(lv - level) < 0.05):
                self.footprints.append((x, z, radius, level))
                return x, z
        return None

    def build(self, category: str, camera: Camera, lighting: Lighting, camera_model: CameraModel,
              hair: torch.Tensor) -> Scene:
        """Pack everything into tensors (CPU)."""
        normals = torch.tensor([r[0] for r in self.plane_rows], dtype=torch.float32)
        offsets = torch.tensor([r[1] for r in self.plane_rows], dtype=torch.float32)
        axes = torch.tensor([r[2] for r in self.plane_rows], dtype=torch.float32)
        if self.shape_rows:
            kind = torch.tensor([r[0] for r in self.shape_rows], dtype=torch.long)
            center = torch.stack([r[1] for r in self.shape_rows])
            to_local = torch.stack([r[2] for r in self.shape_rows])
            half = torch.stack([r[3] for r in self.shape_rows])
        else:
            kind, center = torch.zeros(0, dtype=torch.long), torch.zeros(0, 3)
            to_local, half = torch.zeros(0, 3, 3), torch.zeros(0, 3)
        surfaces = self.plane_surfaces + self.shape_surfaces
        walls = [s.texture.mean((1, 2)) for s in self.plane_surfaces]
        distinct: dict[int, int] = {}  # texture object -> atlas slot (shared textures stored once)
        for s in surfaces:
            distinct.setdefault(id(s.texture), len(distinct))
        by_slot = {id(s.texture): s.texture for s in surfaces}
        return Scene(
            category=category,
            camera=camera,
            planes=Planes(normals, offsets),
            plane_axes=axes,
            shapes=Shapes.make(kind, center, to_local, half),
            half=half,
            atlas=tx.atlas([by_slot[key] for key in distinct]),
            tex_index=torch.tensor([distinct[id(s.texture)] for s in surfaces], dtype=torch.long),
            tex_scale=torch.tensor([s.scale for s in surfaces], dtype=torch.float32),
            ks=torch.tensor([s.ks for s in surfaces], dtype=torch.float32),
            shininess=torch.tensor([s.shininess for s in surfaces], dtype=torch.float32),
            head=torch.tensor([s.head for s in surfaces], dtype=torch.bool),
            hair=hair,
            lighting=lighting,
            camera_model=camera_model,
            room_albedo=torch.stack(walls).mean(0).clamp(0.05, 0.9),
        )


__all__ = ["BOX", "CYLINDER", "SPHERE", "Camera", "CameraModel", "Lighting", "Scene", "SceneBuilder", "look_at", "rotation"]
