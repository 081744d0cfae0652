"""Fit guided-cgan's fall-off head (the flash's fall-off towards the frame's corners,
docs/method.md "The fall-off") on rendered pairs, and store it in a copy of a weights file.

    python examples/fit_falloff.py DATASET [DATASET...] --out NEW.safetensors \
        [--weights OLD.safetensors] [--ridge 10]

DATASET is a flashcli data set (``flashcli synth`` output: train/ and test/ splits). The
model of ``--weights`` (default: the bundled weights) relights every flash photo without any
fall-off, at its working size; the slope that is left, the ambient frame over that output on
:func:`flashcli_guided_cgan.falloff.radial`, is the target. A ridge regression on the camera
stage's photo statistics is fitted on the train splits and scored on the test splits (mean
absolute error in stops, against predicting the train splits' mean for every photo). Every
other tensor is copied unchanged.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import flashcli_guided_cgan
import torch
from flashcli_guided_cgan import falloff
from flashcli_guided_cgan.camera import photo_features

from flashcli.datasets import find_pairs, load_pair_uint8
from flashcli.errors import FlashcliError
from flashcli.methods import create_enhancer
from flashcli.ops import upsample
from flashcli.weights import load_weights, save_weights


def features_and_slopes(model, root: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Photo statistics of every flash photo of ``root/split`` and the slope left between
    ``model``'s output (run at its working size) and the pair's ambient frame."""
    feats, slopes = [], []
    for pair in find_pairs(root, split).pairs:
        flash, ambient = (x.float().div(255)[None] for x in load_pair_uint8(pair))
        size = upsample.working_shape(*flash.shape[-2:], model.working_size)
        flash, ambient = upsample.downscale(flash, size), upsample.downscale(ambient, size)
        with torch.no_grad():
            out = model(flash).clamp(0, 1)
        feats.append(photo_features(flash))
        slopes.append(falloff.slope(out, ambient))
    return torch.cat(feats), torch.cat(slopes)


def _check_splits(roots: list[Path]) -> None:
    """One line and exit 1 unless every data set has train and test pairs."""
    for root in roots:
        for split in ("train", "test"):
            try:
                found = find_pairs(root, split).pairs
            except FlashcliError as exc:
                raise SystemExit(str(exc)) from None
            if not found:
                raise SystemExit(f"{root}: no pairs in its {split} split; render it with "
                                 "`flashcli synth ... --test-fraction 0.1`")


def _synth_settings(root: Path) -> dict | str:
    """What ``flashcli synth`` recorded about ``root`` (without its per-pair lists)."""
    path = root / "synth.json"
    if not path.is_file():
        return root.name
    return {k: v for k, v in json.loads(path.read_text()).items() if k not in ("done", "categories")}


def scores(pred: torch.Tensor, true: torch.Tensor, constant: float) -> dict[str, float]:
    return {"mae_stops": float((pred - true).abs().mean()),
            "mae_stops_constant": float((true - constant).abs().mean()),
            "correlation": float(torch.corrcoef(torch.stack([pred, true]))[0, 1]),
            "mean_true": float(true.mean()), "mean_predicted": float(pred.mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, nargs="+", help="flashcli data sets (train/ and test/ splits)")
    ap.add_argument("--weights", type=Path, default=flashcli_guided_cgan.WEIGHTS)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--ridge", type=float, default=10.0, help="weight of the ridge penalty")
    ap.add_argument("--command", action="append", default=[], help="a command of the pipeline (repeatable)")
    args = ap.parse_args()

    _check_splits(args.data)
    model = create_enhancer("guided-cgan", {"falloff": 0.0}, args.weights, device="cpu")
    parts = [[features_and_slopes(model, root, split) for root in args.data] for split in ("train", "test")]
    (x, y), (xv, yv) = [tuple(torch.cat(t) for t in zip(*p, strict=True)) for p in parts]
    fitted = falloff.fit(x, y, args.ridge)
    state, meta = load_weights(args.weights)
    head = falloff.FalloffHead(max_stops=model.config.max_stops)
    head.load_state_dict(fitted)
    with torch.no_grad():
        report = {"train": scores(head.from_features(x), y, float(y.mean())),
                  "test": scores(head.from_features(xv), yv, float(y.mean())),
                  "pairs": {"train": len(x), "test": len(xv)}, "ridge": args.ridge,
                  "data": [_synth_settings(d) for d in args.data], "commands": args.command}
    state = {k: v for k, v in state.items() if not k.startswith("falloff.")}
    state.update({f"falloff.{k}": v for k, v in fitted.items()})
    prov = meta.setdefault("provenance", {})
    prov["falloff"] = report
    if prov.get("data"):
        versions = sorted({str(d.get("renderer_version")) for d in report["data"] if isinstance(d, dict)})
        prov["data"] = (prov["data"].split("; fall-off fitted on")[0]
                        + f"; fall-off fitted on {len(x)} renders (renderer v{'/'.join(versions)})")
    save_weights(args.out, state, meta)
    print(json.dumps({k: report[k] for k in ("train", "test", "pairs")}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
