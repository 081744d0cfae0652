"""The whole ``flashcli eval`` of N generated pairs with the given methods, timed.

Writes N flash/ambient PNG pairs (320x240 by default, the paper's test size) to a temporary
dataset, gives every method that needs weights randomly initialised ones (speed does not
depend on the weights), then times ``flashcli.evaluation.evaluate`` end to end: decoding,
every method on every image, 8-bit quantisation, PSNR, SSIM and LOE. Reports the wall time
(median of ``--repeats`` after one warm-up run) and each method's seconds per image. JSON
to stdout or ``--out``.

    python benchmarks/eval.py --device cpu --pairs 16 --methods identity,unet --width 0.25
    python benchmarks/eval.py --device cuda --pairs 116 --methods identity,guided-cgan,deepflash,unet
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import device_label, emit
from PIL import Image


def write_dataset(root: Path, n: int, width: int, height: int, seed: int = 0) -> Path:
    """ROOT/test/Objects_<i>_{flash,ambient}.png with smooth shading, edges and noise."""
    folder = root / "test"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(n):
        base = 50 + 110 * (xx / width) * (0.6 + 0.4 * np.cos(yy / height * rng.uniform(1, 5)))
        amb = np.stack([base, base * 0.85 + 15, 200 - base * 0.6], axis=-1)
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(15, 70)
        amb[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 200, 3)
        amb = np.clip(amb + rng.normal(0, 5, amb.shape), 0, 255)
        flash = np.clip(amb * 1.6 + 30, 0, 255)
        Image.fromarray(amb.astype(np.uint8)).save(folder / f"Objects_{i:03d}_ambient.png")
        Image.fromarray(flash.astype(np.uint8)).save(folder / f"Objects_{i:03d}_flash.png")
    return root


def random_weights(methods: list[str], width: float, folder: Path) -> dict[str, Path]:
    """Randomly initialised weights for every method that needs weights."""
    from flashcli.plugins import registry
    from flashcli.weights import save_weights

    out = {}
    for name in methods:
        cls = registry().get(name).cls
        if not cls.needs_weights:
            continue
        opts = {"width": width} if any(o.name == "width" for o in cls.options) else {}
        enhancer = cls(**opts)
        out[name] = save_weights(folder / f"{name}.safetensors", enhancer.state_dict(),
                                 {"method": name, "options": opts})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--pairs", type=int, default=116)
    ap.add_argument("--size", default="320x240", help="W x H")
    ap.add_argument("--methods", default="identity,guided-cgan,deepflash,unet")
    ap.add_argument("--width", type=float, default=1.0, help="channel multiplier of the networks")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--no-loe", action="store_true")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--out", default=None, help="write JSON here instead of stdout")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from flashcli.evaluation import evaluate

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    w, _, h = args.size.lower().partition("x")
    with tempfile.TemporaryDirectory(prefix="flashcli-bench-eval-") as tmp:
        root = write_dataset(Path(tmp) / "ds", args.pairs, int(w), int(h))
        weights = random_weights(methods, args.width, Path(tmp))
        options = {m: {"width": args.width} for m in weights}

        def once(limit=None):
            t0 = time.perf_counter()
            result = evaluate(root, methods, weights, options, device=args.device,
                              progress=False, batch_size=args.batch_size,
                              metrics=("psnr", "ssim") if args.no_loe else None, limit=limit)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            return time.perf_counter() - t0, result

        once(limit=min(args.pairs, args.batch_size))  # warm-up: kernels, caches
        runs = [once() for _ in range(args.repeats)]
    seconds = statistics.median(r[0] for r in runs)
    result = runs[-1][1]
    if result.failures:
        print(f"warning: {len(result.failures)} failures: {result.failures[0].message}",
              file=sys.stderr)
    device = torch.device(result.config["device"])
    report = {
        "benchmark": "eval",
        "pairs": args.pairs,
        "size": args.size,
        "methods": result.methods,
        "width": args.width,
        "device": str(device),
        "device_name": device_label(device),
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "loe": not args.no_loe,
        "seconds": seconds,
        "seconds_all_repeats": [r[0] for r in runs],
        "method_seconds_per_image": {m: s.seconds_per_image
                                     for m, s in result.summaries.items()},
        "failures": len(result.failures),
    }
    emit(report, args.out)


if __name__ == "__main__":
    main()
