"""Train guided-cgan's camera stage (exposure and white balance, docs/method.md "The camera
stage") on flash/ambient pairs, and store it in a copy of a weights file.

    python examples/train_camera.py DATASET [DATASET...] --out NEW.safetensors \
        [--weights OLD.safetensors] [--epochs 3000]

DATASET is a flashcli data set (``flashcli synth`` output: train/ and test/ splits). The
head learns from the train splits with its own loss (squared error of the three log2 levels
against the pair's true ones, :func:`flashcli.ops.look.camera_levels`), is chosen on the test
splits, and its errors there are reported in EV and in kelvin. The spatial field and every
other tensor of ``--weights`` (default: the bundled weights) are copied unchanged.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import flashcli_guided_cgan
import torch
from flashcli_guided_cgan.camera import CameraHead, photo_features

from flashcli.datasets import find_pairs, load_pair_uint8
from flashcli.ops.colour import nearest_kelvin
from flashcli.ops.look import camera_levels, split_levels
from flashcli.weights import load_weights, save_weights


def features_and_levels(root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of every flash photo of ``root/split`` and the true levels of its pair."""
    feats, levels = [], []
    for pair in find_pairs(root, split).pairs:
        flash, ambient = (x.float().div(255)[None] for x in load_pair_uint8(pair))
        feats.append(photo_features(flash))
        levels.append(camera_levels(flash, ambient))
    return torch.cat(feats), torch.cat(levels)


def errors(pred: torch.Tensor, true: torch.Tensor) -> dict[str, float]:
    """Exposure error (EV) and colour-temperature error (kelvin, and mired) of predictions."""
    ev_p, cast_p = split_levels(pred)
    ev_t, cast_t = split_levels(true)
    k_p = torch.tensor([nearest_kelvin(c) for c in cast_p])
    k_t = torch.tensor([nearest_kelvin(c) for c in cast_t])
    mired = (1e6 / k_p - 1e6 / k_t).abs()
    return {"exposure_mae_ev": float((ev_p - ev_t).abs().mean()),
            "exposure_median_ev": float((ev_p - ev_t).abs().median()),
            "exposure_mae_ev_if_unchanged": float(ev_t.abs().mean()),
            "kelvin_median_error": float((k_p - k_t).abs().median()),
            "mired_mae": float(mired.mean()),
            "mired_mae_if_unchanged": float((1e6 / 5500.0 - 1e6 / k_t).abs().mean()),
            "level_rmse": float((pred - true).pow(2).mean().sqrt())}


def fit(head: CameraHead, x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor,
        epochs: int, weight_decay: float, seed: int) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Full-batch Adam on the squared error; the state with the lowest test loss."""
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(head.parameters(), lr=3e-3, weight_decay=weight_decay)
    best, best_state, curve = math.inf, None, []
    for epoch in range(1, epochs + 1):
        head.train()
        loss = (head.from_features(x) - y).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if epoch % 50 == 0 or epoch == epochs:
            head.eval()
            with torch.no_grad():
                val = float((head.from_features(xv) - yv).pow(2).mean())
            curve.append({"epoch": epoch, "train": float(loss.detach()), "test": val})
            if val < best:
                best, best_state = val, {k: v.clone() for k, v in head.state_dict().items()}
    assert best_state is not None
    return best_state, curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, nargs="+", help="flashcli data sets (train/ and test/ splits)")
    ap.add_argument("--weights", type=Path, default=flashcli_guided_cgan.WEIGHTS)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=3000)
    ap.add_argument("--weight-decay", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--command", action="append", default=[], help="a command of the pipeline (repeatable)")
    args = ap.parse_args()

    parts = [[features_and_levels(root, split) for root in args.data] for split in ("train", "test")]
    (x, y), (xv, yv) = [tuple(torch.cat(t) for t in zip(*p, strict=True)) for p in parts]
    state, meta = load_weights(args.weights)
    head = CameraHead(max_stops=float(meta.get("options", {}).get("max_stops", 3.0)))
    best, curve = fit(head, x, y, xv, yv, args.epochs, args.weight_decay, args.seed)
    head.load_state_dict(best)
    head.eval()
    with torch.no_grad():
        report = {"train": errors(head.from_features(x), y), "test": errors(head.from_features(xv), yv),
                  "pairs": {"train": len(x), "test": len(xv)},
                  "weight_decay": args.weight_decay, "epochs": args.epochs, "curve": curve[-3:],
                  "data": [json.loads((d / "synth.json").read_text()) if (d / "synth.json").is_file()
                           else str(d) for d in args.data],
                  "commands": args.command}
    state = {k: v for k, v in state.items() if not k.startswith("camera.")}
    state.update({f"camera.{k}": v for k, v in best.items()})
    meta.setdefault("provenance", {})["camera"] = report
    save_weights(args.out, state, meta)
    print(json.dumps({k: report[k] for k in ("train", "test", "pairs")}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
