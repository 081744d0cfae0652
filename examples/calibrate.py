"""Choose the bundled model's spatial share: the largest share of its spatial field
(``--opt spatial``) whose mean PSNR and SSIM beat the untouched flash photo on every
validation set given. Prints the choice and every candidate as JSON.

    python examples/calibrate.py WEIGHTS --data DATASET[:SPLIT] ... \
        [--pairs FLASH_DIR AMBIENT_DIR ...] [--out spatial.json]

Validation sets are held-out renders and real pairs kept for measuring (never the sets the
weights were trained on, and never anything that ships).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flashcli.datasets import pairs_from_dirs
from flashcli.evaluation import evaluate

CANDIDATES = (1.0, 0.75, 0.5, 0.25)


def _score(source: dict, weights: Path, share: float) -> dict:
    data = pairs_from_dirs(*source["pairs"]) if "pairs" in source else source["root"]
    result = evaluate(data, ["identity", "guided-cgan"], {"guided-cgan": weights},
                      {"guided-cgan": {"spatial": share}}, split=source.get("split"),
                      metrics="psnr,ssim,de2000", baseline="identity", progress=False)
    comp = result.comparisons[0]
    return {"set": source["name"], "pairs": comp.images, **{f"{k}_diff": comp.diff[k] for k in comp.diff}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("--data", action="append", default=[], metavar="DATASET[:SPLIT]")
    ap.add_argument("--pairs", nargs=2, action="append", default=[], metavar=("FLASH_DIR", "AMBIENT_DIR"))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    sources = [{"name": d, "root": d.split(":")[0], "split": (d.split(":") + ["test"])[1]} for d in args.data]
    sources += [{"name": f"{f} {a}", "pairs": (f, a)} for f, a in args.pairs]
    rows = []
    for share in CANDIDATES:
        sets = [_score(s, args.weights, share) for s in sources]
        ok = all(r["psnr_diff"] > 0 and r["ssim_diff"] >= 0 for r in sets)
        rows.append({"spatial": share, "beats_flash_everywhere": ok, "sets": sets})
    good = [r for r in rows if r["beats_flash_everywhere"]]
    chosen = max(good, key=lambda r: r["spatial"]) if good else min(rows, key=lambda r: r["spatial"])
    report = {"rule": "largest spatial share whose mean PSNR and SSIM beat the flash photo on every set",
              "chosen": chosen["spatial"], "candidates": rows}
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
