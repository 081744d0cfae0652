"""How much of the ambient frame's exposure the cues a relighter could read would predict,
measured on renders (docs/results.md, "What else was measured").

    python examples/camera_cues.py [--pairs 1200] [--seed 77] [--kind photo] [--json OUT]

Renders ``--pairs`` flash/ambient pairs with their ground truth (small, 160x120), takes each
pair's true exposure change (EV, :func:`flashcli.ops.look.camera_levels`), and fits a ridge
regression on three quarters of them from

- the camera stage's photo statistics (:func:`flashcli_guided_cgan.camera.photo_features`);
- what EXIF would say about the flash frame: log2 exposure (shutter x ISO / f-number²),
  log2 ISO, log2 shutter, phone or camera;
- both;

and reports the mean absolute EV error on the last quarter, beside leaving the level as it
is (the mean of the training EVs). It also reports how well the exposure is explained by the
ambient light's share of the flash frame and the two frames' exposures, which renders know
and a photo does not say.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import torch
from flashcli_guided_cgan.camera import photo_features

from flashcli.ops.look import camera_levels, split_levels
from flashcli.synth.compose import sample_scene
from flashcli.synth.render import pair_generator, render_scene
from flashcli.synth.textures import builtin_photos


def measure(seed: int, index: int, kind: str, photos) -> dict:
    """One rendered pair: its true EV, photo features, EXIF-like capture facts, ambient share."""
    g = pair_generator(seed, index)
    scene = sample_scene(g, None, photos, kind)
    pair = render_scene(scene, g, (160, 120), aux=True)
    flash, ambient = (x[None].float() / 255 for x in (pair.flash, pair.ambient))
    ev = float(split_levels(camera_levels(flash, ambient))[0][0])
    fl, am = pair.aux["flash_camera"], pair.aux["ambient_camera"]
    f2 = scene.camera_model.f_number ** 2
    exif = [math.log2(fl["shutter"] * fl["iso"] / f2), math.log2(fl["iso"]),
            math.log2(fl["shutter"]), float(pair.aux["style"] == "phone")]
    exposures = math.log2(am["shutter"] * am["iso"] / (fl["shutter"] * fl["iso"]))
    return {"ev": ev, "features": photo_features(flash)[0].tolist(), "exif": exif,
            "share": fl.get("ambient_share"), "exposures": exposures}


def ridge_mae(x: np.ndarray, y: np.ndarray, n_train: int, lam: float = 1.0) -> float:
    """Mean absolute error on rows ``n_train:`` of a ridge fit on rows ``:n_train``."""
    mean, std = x[:n_train].mean(0), x[:n_train].std(0) + 1e-6
    z = np.c_[(x - mean) / std, np.ones(len(x))]
    a = z[:n_train]
    w = np.linalg.solve(a.T @ a + lam * np.eye(z.shape[1]), a.T @ y[:n_train])
    return float(np.abs(z[n_train:] @ w - y[n_train:]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--kind", choices=("photo", "faid"), default="photo")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    photos = tuple(builtin_photos())
    rows = [measure(args.seed, i, args.kind, photos) for i in range(args.pairs)]
    y = np.array([r["ev"] for r in rows])
    feats = np.array([r["features"] for r in rows])
    exif = np.array([r["exif"] for r in rows])
    n = len(rows) * 3 // 4
    result = {
        "pairs": len(rows), "kind": args.kind, "held_out": len(rows) - n,
        "ev_mae_unchanged_level": float(np.abs(y[n:] - y[:n].mean()).mean()),
        "ev_mae_photo_features": ridge_mae(feats, y, n),
        "ev_mae_exif": ridge_mae(exif, y, n),
        "ev_mae_features_and_exif": ridge_mae(np.c_[feats, exif], y, n),
    }
    if args.kind == "photo":
        explained = np.log2(np.array([r["share"] for r in rows]) + 1e-3) + np.array([r["exposures"] for r in rows])
        result["ev_mae_share_and_exposures"] = float(np.abs(y - explained).mean())
        result["ev_corr_share_and_exposures"] = float(np.corrcoef(y, explained)[0, 1])
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
