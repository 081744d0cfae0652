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
    ap.add_argument("--out", type=Path, default=flashcli_guided_cgan.WEIGHTS)
    args = ap.parse_args()

    state, meta = load_weights(args.run / "best.safetensors")
    synth = json.loads((args.synth / "synth.json").read_text())
    meta["provenance"] = {
        "data": "synthetic renders from `flashcli synth` (not FAID)",
        "renderer": {k: synth[k] for k in ("renderer_version", "seed", "pairs", "size", "test_fraction",
                                           "train", "test", "misalign")},
        "commands": args.command,
        "note": args.note,
    }
    for key in ("root",):
        meta.get("dataset", {}).pop(key, None)
    meta.get("train", {}).pop("out", None)
    meta.get("train", {}).pop("data", None)
    save_weights(args.out, state, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
