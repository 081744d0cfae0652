"""Copy a training run's best weights into the guided-cgan plugin as its bundled default,
with a sidecar saying exactly how they were made.

    python examples/bundle_weights.py RUN_FOLDER SYNTH_FOLDER --command "flashcli train ..."

See examples/bundled_model.sh for the whole pipeline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import flashcli_guided_cgan

from flashcli.weights import load_weights, save_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="flashcli train run folder")
    ap.add_argument("synth", type=Path, help="the flashcli synth folder it was trained on")
    ap.add_argument("--command", action="append", default=[], help="a command of the pipeline (repeatable)")
    ap.add_argument("--note", default="", help="anything else a reader should know")
    ap.add_argument("--data", default="synthetic renders from `flashcli synth` (not FAID)",
                    help="what the model is and was trained on, in one line (shown by relight and plugins)")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="set a method option stored with the weights (e.g. calibration=0.75)")
    ap.add_argument("--calibration", type=Path, default=None,
                    help="a JSON file describing how the stored options were chosen")
    ap.add_argument("--previous", type=Path, default=None,
                    help="the sidecar (.json) of the weights the run started from (train --init), kept as provenance")
    ap.add_argument("--out", type=Path, default=flashcli_guided_cgan.WEIGHTS)
    args = ap.parse_args()

    state, meta = load_weights(args.run / "best.safetensors")
    synth = json.loads((args.synth / "synth.json").read_text())
    meta["provenance"] = {
        "data": args.data,
        "renderer": {k: v for k, v in synth.items() if k != "categories"},
        "commands": args.command,
        "note": args.note,
    }
    if args.previous is not None:
        meta["provenance"]["previous"] = json.loads(args.previous.read_text()).get("provenance", {})
    if args.calibration is not None:
        meta["provenance"]["calibration"] = json.loads(args.calibration.read_text())
    opts = meta.setdefault("options", {})
    for item in args.option:
        key, _, value = item.partition("=")
        opts[key] = json.loads(value)
    for key in ("root",):
        meta.get("dataset", {}).pop(key, None)
    meta.get("train", {}).pop("out", None)
    meta.get("train", {}).pop("data", None)
    save_weights(args.out, state, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
