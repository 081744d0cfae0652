"""Surface attributes at ray hits and the two light set-ups (flash; ambient area light + fill).

All per-ray tensors are rows (R x 3 or R). Radiance is linear and unexposed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from flashcli.synth import textures as tx
from flashcli.synth.geometry import BOX, CYLINDER, SPHERE, cast, local_normals, occluded
from flashcli.synth.scene import Lighting, Scene

_BIAS = 1e-3  # shadow-ray origin offset along the normal (metres)


@dataclass
class Hits:
    """What each camera ray sees."""

    t: torch.Tensor  # R, distance (inf where nothing was hit)
    sid: torch.Tensor  # R long, surface id (-1: none)
    p: torch.Tensor  # R x 3 world position
    n: torch.Tensor  # R x 3 unit normal
    v: torch.Tensor  # R x 3 unit vector towards the camera
    albedo: torch.Tensor  # R x 3 linear diffuse albedo
    ks: torch.Tensor  # R specular albedo
    shininess: torch.Tensor  # R
    valid: torch.Tensor  # R bool


def _face(head: torch.Tensor, pl: torch.Tensor, albedo: torch.Tensor, hair: torch.Tensor) -> torch.Tensor:
    """Hair cap, eyes and mouth on ellipsoid heads (local frame: the face looks along -z)."""
    x, y, z = pl.unbind(-1)
    hairline = 0.35 - 0.55 * z.clamp_min(0) - 0.08 * torch.cos(9 * x)
    is_hair = head & (y > hairline)
    out = torch.where(is_hair.unsqueeze(-1), hair.expand_as(albedo), albedo)
    eye = torch.zeros_like(head)
    for ex in (-0.36, 0.36):
        eye |= ((x - ex) ** 2 + ((y - 0.08) / 0.6) ** 2 < 0.012) & (z < 0)
    out = torch.where((head & eye).unsqueeze(-1), albedo * 0.08, out)
    mouth = head & (z < 0) & ((x / 0.28) ** 2 + ((y + 0.45) / 0.06) ** 2 < 1)
    lips = albedo * torch.tensor([0.75, 0.45, 0.45], device=albedo.device)
    return torch.where(mouth.unsqueeze(-1), lips, out)


def _uv(scene: Scene, sid: torch.Tensor, p: torch.Tensor, pl: torch.Tensor, nl: torch.Tensor,
        kind: torch.Tensor, k: torch.Tensor, is_plane: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    scale = scene.tex_scale[sid]
    axes = scene.plane_axes[sid.clamp(max=len(scene.planes) - 1)]
    pu, pv = (p * axes[:, 0]).sum(-1) / scale, (p * axes[:, 1]).sum(-1) / scale
    x, y, z = pl.unbind(-1)
    around = torch.atan2(x, -z) / (2 * math.pi) + 0.5
    su, sv = around * scale, torch.acos(y.clamp(-1, 1)) / math.pi
    half = scene.half[k]
    axis = nl.abs().argmax(-1)
    hx, hy, hz = (pl * half).unbind(-1)
    bu = torch.where(axis == 0, hz, hx)
    bv = torch.where(axis == 1, hz, -hy)
    bu, bv = bu / scale + 0.5, bv / scale + 0.5
    cap = nl[:, 1].abs() > 0.5
    cu = torch.where(cap, (x + 1) / 2, around * scale)
    cv = torch.where(cap, (z + 1) / 2, (1 - y) / 2)
    u = torch.where(kind == SPHERE, su, torch.where(kind == BOX, bu, cu))
    v = torch.where(kind == SPHERE, sv, torch.where(kind == BOX, bv, cv))
    return torch.where(is_plane, pu, u), torch.where(is_plane, pv, v)


def trace(scene: Scene, o: torch.Tensor, d: torch.Tensor) -> Hits:
    """Cast camera rays into the scene and look up the surfaces they hit."""
    t, sid = cast(scene.planes, scene.shapes, o, d)
    valid = sid >= 0
    sid_c = sid.clamp_min(0)
    t_c = torch.where(valid, t, torch.zeros_like(t))
    p = o + t_c.unsqueeze(-1) * d
    n_planes = len(scene.planes)
    is_plane = sid_c < n_planes
    if len(scene.shapes):
        k = (sid_c - n_planes).clamp(0, len(scene.shapes) - 1)
        m = scene.shapes.to_local[k]
        pl = (m @ (p - scene.shapes.center[k]).unsqueeze(-1)).squeeze(-1)
        kind = scene.shapes.kind[k]
        nl = local_normals(kind, pl)
        nw = (m.transpose(1, 2) @ nl.unsqueeze(-1)).squeeze(-1)
    else:
        k = torch.zeros_like(sid_c)
        pl = nl = nw = torch.zeros_like(p)
        kind = torch.full_like(sid_c, CYLINDER)
    n = torch.where(is_plane.unsqueeze(-1), scene.planes.normal[sid_c.clamp(max=n_planes - 1)], nw)
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    u, v = _uv(scene, sid_c, p, pl, nl, kind, k, is_plane)
    albedo = tx.sample_atlas(scene.atlas, scene.tex_index[sid_c], u, v).T
    albedo = _face(scene.head[sid_c] & ~is_plane, pl, albedo, scene.hair)
    albedo = torch.where(valid.unsqueeze(-1), albedo, torch.zeros_like(albedo))
    return Hits(t, sid, p, n, -d, albedo, scene.ks[sid_c], scene.shininess[sid_c], valid)


def _blinn(h: Hits, wi: torch.Tensor, max_shininess: float | None = None) -> torch.Tensor:
    """Normalised Blinn-Phong lobe for light direction(s) ``wi`` (... x R x 3) -> ... x R.

    ``max_shininess`` broadens sharp lobes (an area light blurs its reflection anyway, and a
    few samples of a sharp lobe would only give speckle).
    """
    half = wi + h.v
    half = half / half.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    nh = (half * h.n).sum(-1).clamp(0, 1)
    s = h.shininess if max_shininess is None else h.shininess.clamp(max=max_shininess)
    return h.ks * (s + 8) / (8 * math.pi) * nh ** s


def pixel_lobes(scene: Scene, h: Hits, pixel_angle: float) -> Hits:
    """The hits with sharp specular lobes broadened by the spread of normals one pixel covers
    on a curved surface (Toksvig): exponent s becomes s / (1 + s σ²), σ the normal's turn across
    the pixel (distance x ``pixel_angle`` / radius of curvature; flat faces keep theirs). The
    normalised lobe keeps its energy, so a hot spot smaller than a pixel lights that pixel instead
    of falling between the samples."""
    n_planes = len(scene.planes)
    if not len(scene.half):
        return h
    k = (h.sid - n_planes).clamp(0, len(scene.half) - 1)
    half = scene.half[k]
    kind = scene.shapes.kind[k]
    radius = torch.where(kind == SPHERE, half.amin(-1),
                         torch.where(kind == CYLINDER, torch.minimum(half[:, 0], half[:, 2]),
                                     torch.full_like(half[:, 0], math.inf)))
    sigma = torch.where(h.sid >= n_planes, (h.t.clamp_max(1e3) * pixel_angle / radius).clamp_max(1.0),
                        torch.zeros_like(h.t))
    return replace(h, shininess=h.shininess / (1 + h.shininess * sigma * sigma))


def flash(scene: Scene, h: Hits, light: torch.Tensor, axis: torch.Tensor | None = None,
          beam: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A point light at ``light`` (3) aimed along ``axis`` (3, unit) whose intensity falls off
    as cos^``beam`` of the angle off that axis (0: the same in every direction): radiance
    R x 3, irradiance R, visibility R bool."""
    to_l = light - h.p
    r2 = (to_l * to_l).sum(-1).clamp_min(1e-6)
    r = r2.sqrt()
    wi = to_l / r.unsqueeze(-1)
    cos = (h.n * wi).sum(-1).clamp_min(0)
    visible = ~occluded(scene.shapes, h.p + _BIAS * h.n, wi, r) & h.valid
    irradiance = cos / r2 * visible
    if axis is not None and beam > 0:
        irradiance = irradiance * (-(wi @ axis.to(wi))).clamp_min(0) ** beam
    radiance = irradiance.unsqueeze(-1) * (h.albedo / math.pi + _blinn(h, wi).unsqueeze(-1))
    return radiance, irradiance, visible


def _visibility(scene: Scene, h: Hits, wi: torch.Tensor, r: torch.Tensor, geom: torch.Tensor,
                rays: torch.Tensor) -> torch.Tensor:
    """Unoccluded share of the light (geometry-weighted over the S samples) for rays ``rays``."""
    g = geom[:, rays]
    lit = (g > 0).flatten().nonzero().flatten()
    s_count = geom.shape[0]
    p0 = (h.p[rays] + _BIAS * h.n[rays]).unsqueeze(0).expand(s_count, -1, -1).reshape(-1, 3)
    blocked = occluded(scene.shapes, p0[lit], wi[:, rays].reshape(-1, 3)[lit], r[:, rays].flatten()[lit])
    seen = g.flatten().index_put((lit,), g.flatten()[lit] * (~blocked)).view_as(g).sum(0)
    total = g.sum(0)
    return torch.where(total > 0, seen / total.clamp_min(1e-20), torch.ones_like(total))


def _smooth(h: Hits, anchors: torch.Tensor, vis: torch.Tensor, shape: tuple[int, int], radius: int = 2) -> torch.Tensor:
    """Edge-aware blur of the anchors' visibility (averages the sampling noise of the penumbra
    without crossing from one surface to another)."""
    sid = h.sid[anchors].view(shape)
    t = torch.where(h.valid, h.t, torch.zeros_like(h.t))[anchors].view(shape)
    n = h.n[anchors].view(*shape, 3)
    v = vis.view(shape)
    acc, wsum = torch.zeros_like(v), torch.zeros_like(v)
    height, width = shape
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            ys, yd = slice(max(dy, 0), height + min(dy, 0)), slice(max(-dy, 0), height + min(-dy, 0))
            xs, xd = slice(max(dx, 0), width + min(dx, 0)), slice(max(-dx, 0), width + min(-dx, 0))
            same = ((sid[ys, xs] == sid[yd, xd]) & ((t[ys, xs] - t[yd, xd]).abs() < 0.02 + 0.03 * t[yd, xd])
                    & ((n[ys, xs] * n[yd, xd]).sum(-1) > 0.9))
            w = same * math.exp(-(dx * dx + dy * dy) / (radius * radius))
            acc[yd, xd] += w * v[ys, xs]
            wsum[yd, xd] += w
    return (acc / wsum.clamp_min(1e-12)).flatten()


def _soft_shadows(scene: Scene, h: Hits, wi: torch.Tensor, r: torch.Tensor, geom: torch.Tensor,
                  size: tuple[int, int], step: int = 2) -> torch.Tensor:
    """Light visibility per ray (R), traced exactly on a grid of anchor pixels every ``step``
    pixels and interpolated between anchors that lie on the same surface at a similar depth;
    pixels without such anchors (silhouettes) are traced exactly too."""
    width, height = size
    dev = h.p.device
    ya, xa = torch.arange(0, height, step, device=dev), torch.arange(0, width, step, device=dev)
    anchors = (ya.view(-1, 1) * width + xa.view(1, -1)).flatten()
    grid = torch.zeros(h.t.shape[0], device=dev)
    grid[anchors] = _smooth(h, anchors, _visibility(scene, h, wi, r, geom, anchors), (len(ya), len(xa)))
    y = torch.arange(height, device=dev).view(-1, 1).expand(height, width).flatten()
    x = torch.arange(width, device=dev).view(1, -1).expand(height, width).flatten()
    iy0, ix0 = y // step, x // step
    fy, fx = (y - iy0 * step) / step, (x - ix0 * step) / step
    iy1, ix1 = (iy0 + 1).clamp(max=len(ya) - 1), (ix0 + 1).clamp(max=len(xa) - 1)
    t = torch.where(h.valid, h.t, torch.zeros_like(h.t))
    acc, wsum = torch.zeros_like(grid), torch.zeros_like(grid)
    for iy, ix, w in ((iy0, ix0, (1 - fy) * (1 - fx)), (iy0, ix1, (1 - fy) * fx),
                      (iy1, ix0, fy * (1 - fx)), (iy1, ix1, fy * fx)):
        a = ya[iy] * width + xa[ix]
        same = (h.sid[a] == h.sid) & ((t[a] - t).abs() < 0.02 + 0.03 * t) & ((h.n[a] * h.n).sum(-1) > 0.9)
        w = w * same
        acc += w * grid[a]
        wsum += w
    vis = acc / wsum.clamp_min(1e-12)
    orphans = ((wsum < 1e-6) & h.valid).nonzero().flatten()
    if orphans.numel():
        vis[orphans] = _visibility(scene, h, wi, r, geom, orphans)
    return vis


def _area_samples(lt: Lighting, jitter: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, float]:
    """S stratified jittered points on the main light's rectangle (S x R x 3) and each
    sample's share of its area."""
    s_count = jitter.shape[0]
    nx = max(1, int(math.sqrt(s_count)))
    while s_count % nx:
        nx -= 1
    nz = s_count // nx
    idx = torch.arange(s_count, device=device)
    cell = torch.stack([(idx % nx).float(), (idx // nx).float()], -1).unsqueeze(1)  # S x 1 x 2
    frac = (cell + jitter) / torch.tensor([nx, nz], device=device) - 0.5
    u, v = lt.area_u.to(device), lt.area_v.to(device)
    q = lt.area_center.to(device) + frac[..., :1] * u + frac[..., 1:] * v
    return q, float(u.norm() * v.norm()) / s_count


def ambient(scene: Scene, h: Hits, jitter: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The ambient light: a rectangular area light (a ceiling lamp or a window) sampled at S
    stratified jittered points per ray (``jitter``: S x R x 2 in [0, 1)) with soft shadows, a
    shadowless second light from one side (window light beside a lamp, or sky), and a weak
    fill tinted by the room. ``size`` is the image (width, height) the rays are laid out in.

    Returns radiance R x 3 (coloured by the lights) and irradiance R.
    """
    lt = scene.lighting
    dev = h.p.device
    q, area = _area_samples(lt, jitter, dev)
    to_l = q - h.p.unsqueeze(0)  # S x R x 3
    r2 = (to_l * to_l).sum(-1).clamp_min(1e-6)
    r = r2.sqrt()
    wi = to_l / r.unsqueeze(-1)
    cos_s = (h.n.unsqueeze(0) * wi).sum(-1).clamp_min(0)
    cos_l = (-(wi * lt.area_normal.to(dev)).sum(-1)).clamp_min(0)
    geom = cos_s * cos_l / r2 * area * h.valid
    vis = _soft_shadows(scene, h, wi, r, geom, size) if len(scene.shapes) else torch.ones_like(h.t)
    direct = geom.sum(0) * vis
    to_c = lt.area_center.to(dev) - h.p  # the highlight: one lobe towards the light's centre, broadened
    spec = direct * _blinn(h, to_c / to_c.norm(dim=-1, keepdim=True).clamp_min(1e-9), max_shininess=60.0)
    level = direct[h.valid].mean() if bool(h.valid.any()) else direct.new_zeros(())
    room = scene.room_albedo.to(dev)
    main, second = lt.main_rgb.to(dev), lt.second_rgb.to(dev)
    fill = lt.fill * level * (0.65 + 0.35 * h.n[:, 1]).unsqueeze(-1) * room / room.mean() * main
    side = lt.second_level * level * (0.3 + 0.7 * (h.n * lt.second_dir.to(dev)).sum(-1).clamp_min(0))
    light = direct.unsqueeze(-1) * main + fill + side.unsqueeze(-1) * second
    radiance = h.albedo / math.pi * light + spec.unsqueeze(-1) * main
    irradiance = direct + fill.mean(-1) + side
    return radiance * h.valid.unsqueeze(-1), irradiance * h.valid
