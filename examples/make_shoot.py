"""Generate examples/shoot/: a tiny "shoot" for trying `flashcli relight` on a fresh machine.

    python examples/make_shoot.py            # (re)writes examples/shoot/

Frames (synthetic, deterministic): three flash-fired JPEGs, one flash-fired DNG, one JPEG
whose flash did not fire and one PNG without EXIF (flash unknown), so that

    flashcli relight examples/shoot -o relit/

relights four frames and shows both skip reasons. Uses the fixture writers of
tests/photo_factory.py (EXIF Flash, Make/Model, DNG).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "tests"))

import photo_factory as pf  # noqa: E402


def flash_scene(width: int, height: int, seed: int, hue: tuple[float, float, float]) -> np.ndarray:
    """A flash-lit look: a bright, specular subject in front of a dark falling-off room."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    cx, cy = 0.35 + 0.3 * rng.random(), 0.3 + 0.1 * rng.random()
    r2 = (xx - cx) ** 2 + (yy - cy) ** 2
    room = 0.08 + 0.10 * (1 - yy / yy.max())[..., None] * np.array([0.9, 0.8, 0.7])
    subject = (r2 < 0.04)[..., None] * np.array(hue) * (0.75 + 0.25 * np.cos(25 * xx))[..., None]
    shadow = ((xx - cx - 0.06) ** 2 + (yy - cy - 0.03) ** 2 < 0.04) & (r2 >= 0.04)
    img = room * np.where(shadow, 0.35, 1.0)[..., None] + subject
    img += 0.9 * np.exp(-((xx - cx + 0.05) ** 2 + (yy - cy + 0.06) ** 2) / 0.0006)[..., None]
    img += 0.015 * rng.standard_normal(img.shape)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "shoot", help="folder to write")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    w, h = 480, 320
    hues = [(0.95, 0.55, 0.35), (0.4, 0.7, 0.95), (0.85, 0.85, 0.5)]
    for i, hue in enumerate(hues):
        pf.write_jpeg(out / f"IMG_{101 + i:04d}.jpg", data=flash_scene(w, h, i, hue),
                      flash=pf.FLASH_FIRED_RETURN if i else pf.FLASH_FIRED, quality=85,
                      make="Canon", model="Canon EOS 80D")
    pf.write_dng(out / "IMG_0104.dng", 160, 120, flash=pf.FLASH_AUTO_FIRED)
    pf.write_jpeg(out / "IMG_0105.jpg", data=flash_scene(w, h, 5, (0.5, 0.5, 0.5)) // 2,
                  flash=pf.FLASH_AUTO_NOT_FIRED, quality=85)
    pf.write_png(out / "scan_0001.png", data=flash_scene(240, 160, 6, (0.6, 0.9, 0.6)))
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {len(list(out.iterdir()))} files, {total / 1024:.0f} KiB, to {out}")


if __name__ == "__main__":
    main()
