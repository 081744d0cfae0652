"""Random indoor scenes in FAID-like categories: a room corner, objects, camera and lights."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from flashcli.synth import illuminants as il
from flashcli.synth import textures as tx
from flashcli.synth.scene import (
    BOX,
    CYLINDER,
    SPHERE,
    Camera,
    CameraModel,
    Lighting,
    Scene,
    SceneBuilder,
    look_at,
    rotation,
)

CATEGORIES = ("People", "Objects", "Toys", "Shelves", "Plants", "Rooms")
_WEIGHTS = (2.0, 2.0, 1.5, 1.5, 1.5, 1.5)
#: Illuminance on the subject (lux, log-uniform) by ambient kind: dim rooms are lamp-lit
#: (candle-dim to a bright lamp), LEDs light brighter rooms, daylight through windows more.
_LUX = {"tungsten": (3.0, 150.0), "led": (8.0, 400.0), "window": (80.0, 2000.0), "window+lamp": (20.0, 600.0)}
_PHOTO_DIM = 3.0  # skew of the ambient level towards dim for photographs with flash
_SKIN = ((0.96, 0.80, 0.69), (0.87, 0.67, 0.53), (0.76, 0.57, 0.45), (0.55, 0.38, 0.28), (0.36, 0.24, 0.18))


def _room(b: SceneBuilder, depth: tuple[float, float], width: tuple[float, float]) -> dict:
    """Floor, ceiling, back wall and side walls (one of them often in frame)."""
    g = b.g
    zb = tx.uniform(g, *depth)
    hc = tx.uniform(g, 2.4, 3.0)
    near_side = tx.uniform(g, 0.9, 1.8)
    far_side = tx.uniform(g, *width)
    xl, xr = (near_side, far_side) if tx.randint(g, 0, 1) else (far_side, near_side)
    paint = tx.color(g, saturation=(0.0, 0.35), value=(0.55, 0.95))
    wall = b.texture(tx.choice(g, ("plain", "stripes", "noise", "plain"), (4, 1, 1, 0)), base=paint, share=0.15)
    side = wall if tx.randint(g, 0, 2) else tx.texture(g, "plain", base=tx.color(g, (0.0, 0.4), (0.5, 0.95)))
    floor = tx.choice(g, ("wood", "checkers", "plain"), (3, 1, 2))
    floor_tex = tx.wood(g) if floor == "wood" else tx.texture(g, floor if floor == "checkers" else "noise")
    b.plane([0, 1, 0], 0.0, [[1, 0, 0], [0, 0, 1]], floor_tex, tx.uniform(g, 0.8, 2.0), *b.material())
    b.plane([0, -1, 0], -hc, [[1, 0, 0], [0, 0, 1]], tx.texture(g, "plain", base=tx.color(g, (0, 0.05), (0.85, 0.95))), 2.0)
    b.plane([0, 0, -1], -zb, [[1, 0, 0], [0, -1, 0]], wall, tx.uniform(g, 0.6, 2.0))
    b.plane([1, 0, 0], -xl, [[0, 0, 1], [0, -1, 0]], side, 1.5)
    b.plane([-1, 0, 0], -xr, [[0, 0, -1], [0, -1, 0]], side, 1.5)
    b.plane([0, 0, 1], -1.5, [[1, 0, 0], [0, -1, 0]], wall, 1.5)
    for _ in range(tx.randint(g, 0, 2)):  # pictures and posters on the back wall
        half = [tx.uniform(g, 0.12, 0.45), tx.uniform(g, 0.1, 0.35), 0.012]
        tex = b.texture(tx.choice(g, ("text", "noise", "stripes", "gradient")), share=1.0)
        b.shape(BOX, [tx.uniform(g, -xl + 0.5, xr - 0.5), tx.uniform(g, 1.1, hc - 0.5), zb - 0.013],
                half, None, tex, scale=2 * max(half))
    return {"back": zb, "ceiling": hc, "left": -xl, "right": xr}


def _object(b: SceneBuilder, x: float, z: float, y0: float, size: float, vivid: bool) -> float:
    """A random everyday object standing at (x, y0, z); returns its top height."""
    g = b.g
    kind = tx.choice(g, ("sphere", "box", "cylinder", "ellipsoid"), (2, 3, 3, 1.5))
    sat = (0.55, 1.0) if vivid else None
    yaw = tx.uniform(g, -math.pi, math.pi)
    if kind == "sphere":
        r = size * tx.uniform(g, 0.5, 0.9)
        tex = b.texture(tx.choice(g, ("plain", "noise", "stripes", "checkers")), base=tx.color(g, sat))
        b.shape(SPHERE, [x, y0 + r, z], [r, r, r], rotation(yaw), tex, scale=tx.randint(g, 1, 3))
        return y0 + 2 * r
    if kind == "ellipsoid":
        h = size * tx.uniform(g, 0.5, 1.0)
        a = size * tx.uniform(g, 0.4, 0.8)
        b.shape(SPHERE, [x, y0 + h, z], [a, h, a * tx.uniform(g, 0.6, 1.0)], rotation(yaw),
                b.texture(base=tx.color(g, sat)), scale=1)
        return y0 + 2 * h
    if kind == "box":
        half = [size * tx.uniform(g, 0.4, 1.0), size * tx.uniform(g, 0.3, 1.2), size * tx.uniform(g, 0.3, 0.9)]
        tex = b.texture(tx.choice(g, tx.KINDS, (1, 1, 1, 1, 3, 1)), base=tx.color(g, sat))
        b.shape(BOX, [x, y0 + half[1], z], half, rotation(yaw * 0.3), tex, scale=max(half) * 2)
        return y0 + 2 * half[1]
    r = size * tx.uniform(g, 0.35, 0.7)
    h = size * tx.uniform(g, 0.5, 1.3)
    tex = b.texture(tx.choice(g, tx.KINDS, (2, 1, 2, 1, 2, 1)), base=tx.color(g, sat))
    b.shape(CYLINDER, [x, y0 + h, z], [r, h, r], rotation(yaw), tex, scale=1)
    return y0 + 2 * h


def _scatter(b: SceneBuilder, n: int, region: tuple[float, float, float, float], y0: float,
             size: tuple[float, float], vivid: bool = False) -> list[tuple[float, float, float]]:
    """Up to ``n`` objects on a support at height ``y0``; their (x, top, z)."""
    placed = []
    for _ in range(n):
        s = tx.uniform(b.g, *size)
        spot = b.place(region, s * 1.1, y0)
        if spot is not None:
            placed.append((spot[0], _object(b, spot[0], spot[1], y0, s, vivid), spot[1]))
    return placed


def _table(b: SceneBuilder, x: float, z: float) -> tuple[float, tuple[float, float, float, float]]:
    """A solid table or cabinet; returns its top height and top region."""
    g = b.g
    w, d, h = tx.uniform(g, 0.35, 0.7), tx.uniform(g, 0.25, 0.45), tx.uniform(g, 0.35, 0.42)
    top = tx.wood(g) if tx.randint(g, 0, 1) else b.texture(tx.choice(g, ("plain", "noise", "checkers")), share=0.3)
    b.shape(BOX, [x, h, z], [w, h, d], None, top, scale=1.0)
    b.footprints.append((x, z, math.hypot(w, d), 0.0))
    return 2 * h, (x - w * 0.9, x + w * 0.9, z - d * 0.9, z + d * 0.9)


def _person(b: SceneBuilder, x: float, z: float, head_y: float) -> None:
    """Head (ellipsoid with hair and eyes), neck and body; faces the camera (-z)."""
    g = b.g
    skin = tx.srgb_to_linear(torch.tensor(tx.choice(g, _SKIN))) * tx.uniform(g, 0.9, 1.05)
    face = tx.texture(g, "plain", base=skin)
    yaw = tx.uniform(g, -0.5, 0.5)
    hx, hy, hz = tx.uniform(g, 0.075, 0.085), tx.uniform(g, 0.105, 0.12), tx.uniform(g, 0.09, 0.1)
    b.shape(SPHERE, [x, head_y, z], [hx, hy, hz], rotation(yaw, tx.uniform(g, -0.15, 0.15)), face,
            scale=1, ks=tx.uniform(g, 0.08, 0.2), shininess=tx.uniform(g, 25, 80), head=True)  # skin's sheen
    neck_top = head_y - hy * 0.7
    shoulders = neck_top - 0.08
    b.shape(CYLINDER, [x, neck_top - 0.05, z + 0.01], [0.05, 0.06, 0.05], None, face, scale=1,
            ks=0.02, shininess=20)
    shirt = b.texture(tx.choice(g, ("plain", "stripes", "checkers", "noise")))
    b.shape(CYLINDER, [x, shoulders / 2, z + 0.02], [tx.uniform(g, 0.17, 0.23), shoulders / 2, 0.12],
            rotation(yaw * 0.5), shirt, scale=2, ks=0.01, shininess=8)
    b.footprints.append((x, z, 0.3, 0.0))


def _compose_people(b: SceneBuilder, room: dict) -> tuple[Camera, list]:
    g = b.g
    zp = tx.uniform(g, 0.8, min(2.2, room["back"] - 0.5))
    xp = tx.uniform(g, -0.3, 0.3)
    head_y = tx.uniform(g, 1.15, 1.7)
    _person(b, xp, zp, head_y)
    _scatter(b, tx.randint(g, 0, 3), (room["left"], room["right"], zp + 0.3, room["back"]), 0.0, (0.1, 0.35))
    cam = look_at([xp + tx.uniform(g, -0.3, 0.3), head_y + tx.uniform(g, -0.15, 0.1), 0.0],
                  [xp + tx.uniform(g, -0.15, 0.15), head_y - tx.uniform(g, 0.0, 0.25), zp],
                  math.radians(tx.uniform(g, 45, 65)), tx.uniform(g, -0.05, 0.05))
    return cam, [(xp, zp)]


def _compose_objects(b: SceneBuilder, room: dict, toys: bool = False) -> tuple[Camera, list]:
    g = b.g
    zt = tx.uniform(g, 0.7, min(1.5, room["back"] - 0.5))
    xt = tx.uniform(g, -0.2, 0.2)
    if toys and tx.randint(g, 0, 1):
        y0, region = 0.0, (xt - 0.5, xt + 0.5, zt - 0.3, zt + 0.4)
    else:
        y0, region = _table(b, xt, zt)
    size = (0.04, 0.1) if toys else (0.05, 0.16)
    n = tx.randint(g, 3, 6) if toys else tx.randint(g, 2, 4)
    items = _scatter(b, n, region, y0, size, vivid=toys)
    _scatter(b, tx.randint(g, 0, 2), (room["left"], room["right"], zt + 0.6, room["back"]), 0.0, (0.15, 0.4))
    height = y0 + tx.uniform(g, 0.35, 0.75)
    cam = look_at([xt + tx.uniform(g, -0.3, 0.3), height, tx.uniform(g, -0.2, 0.2)],
                  [xt + tx.uniform(g, -0.1, 0.1), y0 + 0.05, zt], math.radians(tx.uniform(g, 45, 65)),
                  tx.uniform(g, -0.05, 0.05))
    return cam, [(x, z) for x, _, z in items] or [(xt, zt)]


def _compose_shelves(b: SceneBuilder, room: dict) -> tuple[Camera, list]:
    g = b.g
    back = room["back"]
    w, depth = tx.uniform(g, 0.45, 0.9), tx.uniform(g, 0.12, 0.2)
    zc = back - depth - 0.01
    xc = tx.uniform(g, -0.2, 0.2)
    board = tx.wood(g) if tx.randint(g, 0, 1) else tx.texture(g, "plain", base=tx.color(g, (0, 0.3), (0.2, 0.9)))
    levels = tx.randint(g, 3, 5)
    gap = tx.uniform(g, 0.3, 0.4)
    # a palette of covers shared by the books (a hundred textures would cost more than the rays)
    covers = [b.texture(tx.choice(g, ("text", "plain", "stripes")), base=tx.color(g)) for _ in range(12)]
    jars = [b.texture() for _ in range(4)]
    for i in range(levels):
        y = 0.25 + i * gap
        b.shape(BOX, [xc, y, zc], [w, 0.012, depth], None, board, scale=1.0, ks=0.03, shininess=20)
        x = xc - w + 0.02
        while x < xc + w - 0.06:
            if tx.randint(g, 0, 4) == 0:
                r, h = tx.uniform(g, 0.03, 0.06), tx.uniform(g, 0.04, 0.1)
                b.shape(CYLINDER, [x + r, y + 0.012 + h, zc], [r, h, r], None, tx.choice(g, jars), scale=1)
                x += 2 * r + 0.01
                continue
            bw, bh = tx.uniform(g, 0.01, 0.03), tx.uniform(g, 0.08, gap * 0.42)
            tex = tx.choice(g, covers)
            b.shape(BOX, [x + bw, y + 0.012 + bh, zc], [bw, bh, depth * 0.9], None, tex, scale=2 * bh)
            x += 2 * bw + tx.uniform(g, 0.0, 0.02)
    for side in (-1, 1):
        b.shape(BOX, [xc + side * (w + 0.012), 0.25 + (levels - 1) * gap / 2, zc],
                [0.012, (levels - 1) * gap / 2 + 0.05, depth], None, board, scale=1.0, ks=0.03, shininess=20)
    mid = 0.25 + (levels - 1) * gap / 2
    dist = tx.uniform(g, 1.0, 1.8)
    cam = look_at([xc + tx.uniform(g, -0.4, 0.4), mid + tx.uniform(g, -0.2, 0.3), back - depth - dist],
                  [xc + tx.uniform(g, -0.2, 0.2), mid + tx.uniform(g, -0.2, 0.1), zc],
                  math.radians(tx.uniform(g, 45, 70)), tx.uniform(g, -0.04, 0.04))
    return cam, [(xc, zc)]


def _plant(b: SceneBuilder, x: float, z: float, y0: float) -> float:
    g = b.g
    r, h = tx.uniform(g, 0.07, 0.14), tx.uniform(g, 0.05, 0.11)
    pot = tx.color(g, (0.4, 0.8), (0.4, 0.8), (0.02, 0.08)) if tx.randint(g, 0, 1) else tx.color(g)
    b.shape(CYLINDER, [x, y0 + h, z], [r, h, r], None, tx.texture(g, tx.choice(g, ("plain", "stripes")), base=pot), scale=1)
    stem = tx.uniform(g, 0.15, 0.45)
    b.shape(CYLINDER, [x, y0 + 2 * h + stem / 2, z], [0.008, stem / 2, 0.008], None,
            tx.texture(g, "plain", base=tx.color(g, (0.4, 0.7), (0.2, 0.4), (0.22, 0.3))), scale=1, ks=0.0, shininess=8)
    top = y0 + 2 * h + stem
    for _ in range(tx.randint(g, 6, 14)):
        length = tx.uniform(g, 0.06, 0.16)
        green = tx.color(g, (0.45, 0.9), (0.2, 0.7), (0.2, 0.42))
        yaw, pitch = tx.uniform(g, -math.pi, math.pi), tx.uniform(g, -1.2, 1.2)
        center = [x + tx.uniform(g, -0.12, 0.12), top + tx.uniform(g, -stem * 0.6, 0.1), z + tx.uniform(g, -0.12, 0.12)]
        b.shape(SPHERE, center, [length * 0.45, length * 0.06, length], rotation(yaw, pitch, tx.uniform(g, -0.6, 0.6)),
                tx.texture(g, "noise", base=green), scale=1, ks=tx.uniform(g, 0.05, 0.3), shininess=tx.uniform(g, 20, 120))
    return top


def _compose_plants(b: SceneBuilder, room: dict) -> tuple[Camera, list]:
    g = b.g
    zt = tx.uniform(g, 0.8, min(1.6, room["back"] - 0.5))
    xt = tx.uniform(g, -0.2, 0.2)
    if tx.randint(g, 0, 1):
        y0, region = _table(b, xt, zt)
    else:
        y0, region = 0.0, (xt - 0.6, xt + 0.6, zt - 0.3, zt + 0.3)
    spots = []
    for _ in range(tx.randint(g, 1, 2)):
        spot = b.place(region, 0.15, y0)
        if spot is not None:
            spots.append((spot, _plant(b, spot[0], spot[1], y0)))
    if not spots:
        spots.append(((xt, zt), _plant(b, xt, zt, y0)))
    _scatter(b, tx.randint(g, 0, 2), region, y0, (0.04, 0.1))
    (px, pz), top = spots[0]
    cam = look_at([px + tx.uniform(g, -0.3, 0.3), top + tx.uniform(g, -0.1, 0.4), pz - tx.uniform(g, 0.6, 1.2)],
                  [px, (y0 + top) / 2 + 0.1, pz], math.radians(tx.uniform(g, 45, 65)), tx.uniform(g, -0.04, 0.04))
    return cam, [s[0] for s in spots]


def _compose_rooms(b: SceneBuilder, room: dict) -> tuple[Camera, list]:
    g = b.g
    region = (room["left"], room["right"], 1.2, room["back"])
    for _ in range(tx.randint(g, 2, 4)):
        w, h, d = tx.uniform(g, 0.25, 0.6), tx.uniform(g, 0.2, 0.5), tx.uniform(g, 0.2, 0.4)
        spot = b.place(region, math.hypot(w, d))
        if spot is not None:
            b.shape(BOX, [spot[0], h, spot[1]], [w, h, d], rotation(tx.uniform(g, -0.3, 0.3)), scale=1.0)
    spot = b.place((-1.0, 1.0, 1.3, room["back"] - 0.2), 0.8)
    if spot is not None:
        b.footprints.pop()  # _table adds its own footprint
        y0, top_region = _table(b, *spot)
        _scatter(b, tx.randint(g, 1, 3), top_region, y0, (0.05, 0.12))
    _scatter(b, tx.randint(g, 1, 3), region, 0.0, (0.1, 0.3))
    x, z = spot if spot is not None else (0.0, room["back"] / 2)
    cam = look_at([tx.uniform(g, -0.4, 0.4), tx.uniform(g, 1.2, 1.7), tx.uniform(g, -0.8, 0.0)],
                  [tx.uniform(g, -0.5, 0.5), tx.uniform(g, 0.4, 0.9), room["back"]],
                  math.radians(tx.uniform(g, 60, 80)), tx.uniform(g, -0.04, 0.04))
    return cam, [(x, z)]


def _main_light(g: torch.Generator, room: dict, sx: float, sz: float, window: bool) -> dict:
    """The main ambient light's rectangle: a ceiling lamp over the subject, or a window in a
    side or the back wall (facing into the room)."""
    if not window:
        lz = sz + tx.uniform(g, -0.3, 0.7) * (room["back"] - sz)
        lz = min(lz, room["back"] - tx.uniform(g, 0.6, 1.5))  # lamps hang in the room, not at the wall
        center = [sx + tx.uniform(g, -0.6, 0.6), room["ceiling"] - 0.01, lz]
        u, v, n = [tx.uniform(g, 0.3, 1.2), 0, 0], [0, 0, tx.uniform(g, 0.3, 1.2)], [0, -1, 0]
    else:
        wall = tx.choice(g, ("left", "right", "back"), (2, 2, 1))
        y, w, hgt = tx.uniform(g, 1.1, 1.7), tx.uniform(g, 0.6, 1.4), tx.uniform(g, 0.8, 1.3)
        if wall == "back":
            center, n = [sx + tx.uniform(g, -1.0, 1.0), y, room["back"] - 0.01], [0, 0, -1]
            u = [w, 0, 0]
        else:
            x = room[wall] + (0.01 if wall == "left" else -0.01)
            center = [x, y, tx.uniform(g, max(0.3, sz - 0.8), max(0.4, room["back"] - 0.5))]
            u, n = [0, 0, w], [1 if wall == "left" else -1, 0, 0]
        v = [0, hgt, 0]
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return {"area_center": t(center), "area_u": t(u), "area_v": t(v), "area_normal": t(n)}


def _lighting(g: torch.Generator, room: dict, subjects: list, kind: str) -> Lighting:
    """The flash's place and colour, the ambient light set-up and its level. Photographs with
    flash are mostly taken where it is dim (their ambient level leans to the dim end)."""
    sx = sum(s[0] for s in subjects) / len(subjects)
    sz = sum(s[1] for s in subjects) / len(subjects)
    amb = il.sample_ambient(g, il.PHOTO_KIND_WEIGHTS if kind == "photo" else il.KIND_WEIGHTS)
    area = _main_light(g, room, sx, sz, window=amb["kind"] == "window")
    side = 1.0 if tx.randint(g, 0, 1) else -1.0
    second_dir = torch.tensor([-side, tx.uniform(g, -0.1, 0.4), tx.uniform(g, -0.6, 0.3)])
    level = tx.uniform(g, 0.3, 1.2) if "window" in amb["kind"] else tx.uniform(g, 0.0, 0.15)
    flash_cct, flash_rgb = il.sample_flash(g)
    return Lighting(
        flash_offset=torch.tensor([side * tx.uniform(g, 0.03, 0.08), tx.uniform(g, -0.01, 0.05)]),
        flash_rgb=flash_rgb, flash_cct=flash_cct, ambient_kind=amb["kind"], ambient_cct=amb["cct"],
        **area, main_rgb=amb["main"], second_rgb=amb["second"],
        second_dir=second_dir / second_dir.norm(), second_level=level,
        fill=tx.uniform(g, 0.08, 0.25), ambient_lux=_log_uniform(g, *_LUX[amb["kind"]], _PHOTO_DIM if kind == "photo" else 1.0),
    )


def _log_uniform(g: torch.Generator, lo: float, hi: float, skew: float = 1.0) -> float:
    """lo..hi, log-uniform; ``skew`` > 1 leans towards ``lo``."""
    return lo * (hi / lo) ** (tx.uniform(g, 0.0, 1.0) ** skew)


def _camera_model(g: torch.Generator, kind: str) -> CameraModel:
    """The device for ``kind`` of flash frame (FAID was shot with phones; photographs with flash
    half by phones, half by cameras), its limits and its choices for the two frames (the same
    draws whatever the kind)."""
    phone = kind == "faid" or tx.uniform(g, 0.0, 1.0) < 0.5
    ae_error = torch.randn(2, generator=g) * 0.25
    awb_error = torch.randn(2, 2, generator=g) * 0.04
    common = {
        "kind": kind, "key": tx.uniform(g, 0.15, 0.2), "clip_share": tx.uniform(g, 0.01, 0.04),
        "ae_error": (float(ae_error[0]), float(ae_error[1])), "awb_error": awb_error,
        "vignette": tx.uniform(g, 0.05, 0.3),
    }
    phone_draws = {
        "f_number": tx.uniform(g, 1.5, 2.2), "iso_base": tx.choice(g, (25.0, 32.0, 50.0)),
        "iso_max": _log_uniform(g, 1600, 3200), "iso_flash_max": _log_uniform(g, 400, 1600),
        "shutter_max": 1 / tx.uniform(g, 10, 15), "shutter_flash": 1 / tx.uniform(g, 30, 60),
        "flash_gn": tx.uniform(g, 1.2, 2.2), "ttl": False, "flash_ambient": 0.0,
        "dim_key": tx.uniform(g, 0.25, 0.5),
        "shot_noise": tx.uniform(g, 6e-5, 2e-4), "read_noise": tx.uniform(g, 3e-4, 1e-3) ** 2,
        "keep_warmth": tx.uniform(g, 0.05, 0.2), "keep_warmth_dim": tx.uniform(g, 0.35, 0.7),
        "contrast": tx.uniform(g, 0.1, 0.35), "shoulder": tx.uniform(g, 0.3, 1.5),
        "local_contrast": tx.uniform(g, 0.0, 0.3), "denoise": tx.uniform(g, 0.4, 0.8),
    }
    camera_draws = {
        "f_number": _log_uniform(g, 2.8, 5.6), "iso_base": 100.0,
        "iso_max": tx.choice(g, (3200.0, 6400.0)), "iso_flash_max": tx.choice(g, (400.0, 800.0, 1600.0)),
        "shutter_max": 1 / tx.uniform(g, 30, 60), "shutter_flash": 1 / 60,
        "flash_gn": tx.uniform(g, 10, 13), "ttl": True, "flash_ambient": tx.uniform(g, 0.5, 1.5),
        "dim_key": tx.uniform(g, 0.0, 0.1),
        "shot_noise": tx.uniform(g, 2e-5, 6e-5), "read_noise": tx.uniform(g, 1e-4, 4e-4) ** 2,
        "keep_warmth": tx.uniform(g, 0.1, 0.25), "keep_warmth_dim": tx.uniform(g, 0.25, 0.45),
        "contrast": tx.uniform(g, 0.0, 0.25), "shoulder": tx.uniform(g, 0.0, 0.3),
        "local_contrast": 0.0, "denoise": 0.0,
    }
    # The flash's beam: cos^b off-axis. A phone's LED lights a 65° frame's corners 0.7-2.1
    # stops less than its middle; a camera's flash head is zoomed to the lens (b 0.5-2).
    beam = tx.uniform(g, 2.0, 6.0) if phone else tx.uniform(g, 0.5, 2.0)
    return CameraModel(style="phone" if phone else "camera", **common, flash_beam=beam,
                       **(phone_draws if phone else camera_draws))


def sample_scene(g: torch.Generator, category: str | None = None,
                 photos: Sequence[torch.Tensor] | None = None, kind: str | None = None) -> Scene:
    """A random scene drawn from ``g`` (category random unless given); ``photos`` (linear
    3 x T x T textures, see ``textures.photo_textures``) cover some of its surfaces; ``kind``
    ("photo" or "faid") fixes the kind of flash frame, else it is drawn."""
    category = category or tx.choice(g, CATEGORIES, _WEIGHTS)
    b = SceneBuilder(g, photos)
    if category == "Rooms":
        room = _room(b, (3.5, 6.0), (1.6, 3.0))
        cam, subjects = _compose_rooms(b, room)
    else:
        room = _room(b, (2.0, 4.0), (1.2, 2.5))
        if category == "People":
            cam, subjects = _compose_people(b, room)
        elif category == "Shelves":
            cam, subjects = _compose_shelves(b, room)
        elif category == "Plants":
            cam, subjects = _compose_plants(b, room)
        elif category in ("Objects", "Toys"):
            cam, subjects = _compose_objects(b, room, toys=category == "Toys")
        else:
            raise ValueError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
    hair = tx.color(g, (0.3, 0.7), (0.04, 0.3), (0.03, 0.1))
    drawn = "photo" if tx.uniform(g, 0.0, 1.0) < 0.5 else "faid"  # drawn even when ``kind`` is given
    kind = kind or drawn
    return b.build(category, cam, _lighting(g, room, subjects, kind), _camera_model(g, kind), hair)
