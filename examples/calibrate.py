"""Choose the bundled model's calibration: the largest share of its predicted log-gain that
still beats the untouched flash photo on at least 95 % of a validation set's pairs, in PSNR
and in SSIM. The no-harm bar on held-out renders is 90 %; the extra margin is for the gap
between renders and real photographs. Prints the choice and every candidate as JSON.

    python examples/calibrate.py RUN_FOLDER DATASET [--split test] [--out calibration.json]

The validation set is the training run's own test split, never the held-out renders that
docs/results.md reports.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flashcli.evaluate import evaluate

CANDIDATES = (1.0, 0.9, 0.8, 0.75, 0.7, 0.6, 0.5)
BAR = 0.95


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("data", type=Path)
    ap.add_argument("--split", default="test")
    ap.add_argument("--method", default="guided-cgan")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows = []
    for c in CANDIDATES:
        result = evaluate(args.data, ["identity", args.method], {args.method: args.run},
                          {args.method: {"calibration": c}}, split=args.split,
                          metrics="psnr,ssim", baseline="identity", progress=False)
        comp = result.comparisons[0]
        n = comp.images
        rows.append({"calibration": c, "pairs": n, "psnr_diff": comp.diff["psnr"],
                     "ssim_diff": comp.diff["ssim"], "psnr_win_rate": comp.wins["psnr"] / n,
                     "ssim_win_rate": comp.wins["ssim"] / n})
    ok = [r for r in rows if r["psnr_win_rate"] >= BAR and r["ssim_win_rate"] >= BAR]
    chosen = max(ok, key=lambda r: r["calibration"]) if ok else min(rows, key=lambda r: r["calibration"])
    report = {"rule": f"largest calibration with PSNR and SSIM win rates >= {BAR} against the flash "
                      f"photo on {args.data.name}/{args.split}", "chosen": chosen["calibration"],
              "candidates": rows}
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
