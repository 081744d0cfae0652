"""Vectorised analytic ray casting: planes and affine-transformed unit primitives.

Every object is a unit primitive (sphere, box [-1, 1]^3 or capped cylinder of radius 1 along
local y, y in [-1, 1]) placed by ``world = center + linear @ local``. Rays are carried into
local space with ``to_local = linear^-1`` (the ray parameter t is the same in both spaces), so
ellipsoids, rotated boxes and oval cylinders need no extra code. Room surfaces are planes
``normal . x = offset`` whose normals face into the room.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

SPHERE, BOX, CYLINDER = 0, 1, 2
EPS = 1e-4
_TINY = 1e-12
_CHUNK = 1 << 17  # rays per chunk, bounds memory for the G x R x 3 temporaries
GROUP = 6  # objects per bounding group


@dataclass
class Shapes:
    """Objects of a scene as tensors (K of them), on one device.

    Objects are also grouped (G groups of up to ``GROUP`` consecutive objects) under bounding
    spheres, a two-level hierarchy that keeps scenes with many objects cheap to trace.
    """

    kind: torch.Tensor  # K long: SPHERE, BOX or CYLINDER
    center: torch.Tensor  # K x 3
    to_local: torch.Tensor  # K x 3 x 3, world -> unit-primitive space
    radius: torch.Tensor  # K bounding-sphere radii
    group_center: torch.Tensor  # G x 3
    group_radius: torch.Tensor  # G
    members: torch.Tensor  # G x GROUP long object ids, -1 padded

    @classmethod
    def make(cls, kind: torch.Tensor, center: torch.Tensor, to_local: torch.Tensor, half: torch.Tensor) -> Shapes:
        """Pack objects given by kind, centre, world->local map and half extents (K x 3)."""
        flat = torch.maximum(half[:, 0], half[:, 2])
        radius = torch.where(kind == SPHERE, half.amax(-1),
                             torch.where(kind == BOX, half.norm(dim=-1), torch.hypot(flat, half[:, 1])))
        groups = _cluster(center)
        members = torch.full((len(groups), GROUP), -1, dtype=torch.long)
        gc, gr = torch.zeros(len(groups), 3), torch.zeros(len(groups))
        for i, ids in enumerate(groups):
            ids = torch.tensor(ids, dtype=torch.long)
            members[i, :len(ids)] = ids
            gc[i] = center[ids].mean(0)
            gr[i] = ((center[ids] - gc[i]).norm(dim=-1) + radius[ids]).max()
        return cls(kind, center, to_local, radius, gc, gr, members)

    def to(self, device: torch.device) -> Shapes:
        return Shapes(*(getattr(self, f.name).to(device) for f in fields(self)))

    def __len__(self) -> int:
        return int(self.kind.numel())


def _cluster(center: torch.Tensor) -> list[list[int]]:
    """Greedy groups of up to GROUP nearby objects (deterministic)."""
    left = list(range(center.shape[0]))
    groups = []
    while left:
        seed = left[0]
        dist = (center[left] - center[seed]).norm(dim=-1)
        order = sorted(range(len(left)), key=lambda j: (float(dist[j]), left[j]))[:GROUP]
        group = sorted(left[j] for j in order)
        groups.append(group)
        left = [i for i in left if i not in group]
    return groups


@dataclass
class Planes:
    """Room surfaces (P of them): points x with ``normal . x = offset``."""

    normal: torch.Tensor  # P x 3, unit, facing into the room
    offset: torch.Tensor  # P

    def to(self, device: torch.device) -> Planes:
        return Planes(self.normal.to(device), self.offset.to(device))

    def __len__(self) -> int:
        return int(self.offset.numel())


def _safe(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x.abs() < _TINY, torch.full_like(x, _TINY), x)


def _t_sphere(o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    a = (d * d).sum(-1)
    b = (o * d).sum(-1)
    c = (o * o).sum(-1) - 1.0
    disc = b * b - a * c
    s = disc.clamp_min(0).sqrt()
    t0 = (-b - s) / a
    t = torch.where(t0 > EPS, t0, (-b + s) / a)
    return torch.where((disc >= 0) & (t > EPS), t, torch.inf)


def _t_box(o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    inv = 1.0 / _safe(d)
    t1 = (-1.0 - o) * inv
    t2 = (1.0 - o) * inv
    tn = torch.minimum(t1, t2).amax(-1)
    tf = torch.maximum(t1, t2).amin(-1)
    t = torch.where(tn > EPS, tn, tf)
    return torch.where((tf >= tn) & (t > EPS), t, torch.inf)


def _t_cylinder(o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    ox, oy, oz = o.unbind(-1)
    dx, dy, dz = d.unbind(-1)
    a = (dx * dx + dz * dz).clamp_min(_TINY)
    b = ox * dx + oz * dz
    c = ox * ox + oz * oz - 1.0
    disc = b * b - a * c
    s = disc.clamp_min(0).sqrt()
    best = torch.full_like(a, torch.inf)
    for t in ((-b - s) / a, (-b + s) / a):
        ok = (disc >= 0) & (t > EPS) & ((oy + t * dy).abs() <= 1.0)
        best = torch.where(ok, torch.minimum(best, t), best)
    sdy = _safe(dy)
    for cap in (-1.0, 1.0):
        t = (cap - oy) / sdy
        x, z = ox + t * dx, oz + t * dz
        ok = (t > EPS) & (x * x + z * z <= 1.0)
        best = torch.where(ok, torch.minimum(best, t), best)
    return best


_T_FUNCS = {SPHERE: _t_sphere, BOX: _t_box, CYLINDER: _t_cylinder}


def _dense_sphere_test(o: torch.Tensor, d: torch.Tensor, center: torch.Tensor, radius: torch.Tensor,
                       tmax: torch.Tensor | None) -> torch.Tensor:
    """Whether R rays may hit M bounding spheres within (EPS, tmax): R x M, via matrix products."""
    b = (o * d).sum(-1, keepdim=True) - d @ center.T
    cc = (o * o).sum(-1, keepdim=True) - 2 * (o @ center.T) + (center * center).sum(-1)
    r = radius * 1.01 + 1e-3  # conservative: absorbs the rounding of the expanded form
    disc = b * b - (cc - r * r)
    s = disc.clamp_min(0).sqrt()
    ok = (disc >= 0) & (s - b > EPS)
    if tmax is not None:
        ok &= -b - s < tmax.unsqueeze(-1)
    return ok


def _hits_of(shapes: Shapes, ids: list[int], kinds: list[int], o: torch.Tensor, d: torch.Tensor,
             tmax: torch.Tensor | None, rows: torch.Tensor, out: list) -> None:
    """Hits of rays (global ids ``rows``) with objects ``ids``: bounding spheres densely, then
    the exact test object by object on the rays that reach each sphere."""
    sel = torch.tensor(ids, device=o.device)
    ok = _dense_sphere_test(o, d, shapes.center[sel], shapes.radius[sel], tmax)
    for j, obj in enumerate(ids):
        r = ok[:, j].nonzero().flatten()
        if r.numel() == 0:
            continue
        m = shapes.to_local[obj].T
        t = _T_FUNCS[kinds[obj]]((o[r] - shapes.center[obj]) @ m, d[r] @ m)
        hit = torch.isfinite(t) if tmax is None else t < tmax[r] * (1 - 1e-4)
        out.append((torch.full((int(hit.sum()),), obj, dtype=torch.long, device=o.device), rows[r[hit]], t[hit]))


def shape_hits(shapes: Shapes, o: torch.Tensor, d: torch.Tensor,
               tmax: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All ray-object hits as sparse triples (object id, ray id, t), culled by bounding spheres
    (and, for many objects, by group spheres first). With ``tmax``, only hits before it."""
    out: list = []
    kinds = shapes.kind.tolist()
    rows = torch.arange(o.shape[0], device=o.device)
    if len(shapes) <= 2 * GROUP:
        if len(shapes):
            _hits_of(shapes, list(range(len(shapes))), kinds, o, d, tmax, rows, out)
    else:
        ok = _dense_sphere_test(o, d, shapes.group_center, shapes.group_radius, tmax)
        for gi, members in enumerate(shapes.members.tolist()):
            r = ok[:, gi].nonzero().flatten()
            if r.numel():
                _hits_of(shapes, [m for m in members if m >= 0], kinds, o[r], d[r],
                         None if tmax is None else tmax[r], r, out)
    if not out:
        empty = torch.zeros(0, dtype=torch.long, device=o.device)
        return empty, empty, torch.zeros(0, device=o.device, dtype=o.dtype)
    k, r, t = (torch.cat(parts) for parts in zip(*out, strict=True))
    return k, r, t


def planes_t(planes: Planes, o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Ray parameter of every ray with every (one-sided) plane: P x R (inf: miss)."""
    nd = planes.normal @ d.T
    no = planes.normal @ o.T
    t = (planes.offset.unsqueeze(1) - no) / _safe(nd)
    return torch.where((nd < -1e-8) & (t > EPS), t, torch.inf)


def cast(planes: Planes, shapes: Shapes, o: torch.Tensor, d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest hit of each ray: (t: R, surface id: R long). Ids 0..P-1 are planes, then objects.

    Rays that hit nothing get t = inf and id -1.
    """
    ts, ids = [], []
    n_planes = len(planes)
    for start in range(0, o.shape[0], _CHUNK):
        oc, dc = o[start:start + _CHUNK], d[start:start + _CHUNK]
        t, i = planes_t(planes, oc, dc).min(0)
        k, r, tk = shape_hits(shapes, oc, dc, t)  # only hits nearer than the room
        if k.numel():
            t = t.scatter_reduce(0, r, tk, reduce="amin")
            nearest = tk == t[r]
            i = i.index_put((r[nearest],), k[nearest] + n_planes)
        ts.append(t)
        ids.append(torch.where(torch.isfinite(t), i, torch.full_like(i, -1)))
    return torch.cat(ts), torch.cat(ids)


def occluded(shapes: Shapes, o: torch.Tensor, d: torch.Tensor, tmax: torch.Tensor) -> torch.Tensor:
    """Whether an object blocks each ray before ``tmax`` (planes never cast shadows): R bool."""
    out = torch.zeros(o.shape[0], dtype=torch.bool, device=o.device)
    for start in range(0, o.shape[0], _CHUNK):
        sl = slice(start, start + _CHUNK)
        _, r, _ = shape_hits(shapes, o[sl], d[sl], tmax[sl])
        out[r + start] = True
    return out


def local_normals(kind: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Outward normal of a unit primitive at local point ``p`` (N x 3), by kind (N)."""
    sphere = p
    ap = p.abs()
    axis = ap.argmax(-1, keepdim=True)
    box = torch.zeros_like(p).scatter(-1, axis, p.gather(-1, axis).sign())
    radial = torch.stack([p[:, 0], torch.zeros_like(p[:, 0]), p[:, 2]], -1)
    r = radial.norm(dim=-1)
    cap = (ap[:, 1] - 1.0).abs() < (r - 1.0).abs()
    cyl_cap = torch.stack([torch.zeros_like(r), p[:, 1].sign(), torch.zeros_like(r)], -1)
    cyl = torch.where(cap.unsqueeze(-1), cyl_cap, radial)
    k = kind.unsqueeze(-1)
    return torch.where(k == SPHERE, sphere, torch.where(k == BOX, box, cyl))
