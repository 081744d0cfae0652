"""Tiny generated flash/ambient datasets in the FAID layout, for training tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_pair_dataset(root: str | Path, n_train: int = 6, n_test: int = 2, size=(40, 32),
                       seed: int = 0) -> Path:
    """``ROOT/{train,test}/Objects_<NNN>_{flash,ambient}.png``: smooth random ambient
    scenes (``size`` = W x H) and flash images that are a brighter, flatter version of them
    (a mapping a tiny network learns in a few steps)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    w, h = size
    k = 0
    for split, count in (("train", n_train), ("test", n_test)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            coarse = rng.random((4, 5, 3))
            ambient = np.asarray(
                Image.fromarray((coarse * 120).astype(np.uint8)).resize((w, h), Image.BILINEAR),
                dtype=np.float64,
            )
            flash = np.clip(ambient * 1.5 + 60, 0, 255)
            Image.fromarray(ambient.astype(np.uint8)).save(folder / f"Objects_{k:03d}_ambient.png")
            Image.fromarray(flash.astype(np.uint8)).save(folder / f"Objects_{k:03d}_flash.png")
            k += 1
    return root
