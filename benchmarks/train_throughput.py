"""Training throughput of a trainable method (default: the guided cGAN) through the real
engine (device-resident uint8 data, on-device augmentation, one D then one G update per step).

Reports images/s and peak memory for "eager" (fp32, no channels_last, no compile) and
"optimized" (AMP bf16/fp16 on CUDA, channels_last on CUDA, torch.compile where asked),
at the paper's 224 x 224 batch 8 and, with --max-batch, at the largest batch that fits.

    python benchmarks/train_throughput.py --device cuda --max-batch 512
    python benchmarks/train_throughput.py --device cpu --width 0.25 --size 112 --steps 6
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import emit
from PIL import Image

from flashcli.training import TrainConfig, train


def make_pairs(root: Path, n: int, seed: int = 0) -> Path:
    """``n`` synthetic 320x240 / 240x320 flash/ambient PNG pairs in root/train (no test split)."""
    rng = np.random.default_rng(seed)
    folder = root / "train"
    folder.mkdir(parents=True)
    for i in range(n):
        h, w = (240, 320) if i % 4 else (320, 240)
        ambient = rng.integers(0, 160, (h, w, 3), dtype=np.uint8)
        flash = np.clip(ambient.astype(np.int32) + 80, 0, 255).astype(np.uint8)
        Image.fromarray(flash).save(folder / f"Toys_{i:03d}_flash.png")
        Image.fromarray(ambient).save(folder / f"Toys_{i:03d}_ambient.png")
    return root


def measure(data: Path, args: argparse.Namespace, mode: str, batch: int) -> dict:
    """Run warmup + steps training steps; images/s over the steps after the warm-up."""
    optimized = mode == "optimized"
    cuda = args.device == "cuda"
    out = Path(tempfile.mkdtemp(prefix="flashcli-bench-"))
    config = TrainConfig(
        data=str(data), out=str(out / "run"), method=args.method,
        options={"width": args.width, "pretrained": False} if args.method == "guided-cgan" else {},
        steps=args.warmup + args.steps, batch_size=batch, crop_size=args.size,
        device=args.device, amp="auto" if optimized else "off",
        channels_last=(cuda or args.channels_last) if optimized else False,
        compile=optimized and (cuda or args.compile) and not args.no_compile,
        log_every=args.warmup, checkpoint_every=10**6, eval_every=10**6, grid_pairs=1,
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    try:
        summary = train(config)
        wall = time.perf_counter() - t0
        logs = [json.loads(x) for x in (out / "run" / "log.jsonl").read_text().splitlines()]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    peak = (torch.cuda.max_memory_allocated() if cuda
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"mode": mode, "batch": batch, "images_per_s": round(logs[-1]["images_per_s"], 2),
            "step_ms": round(1000 * batch / logs[-1]["images_per_s"], 2),
            "peak_memory_mib": round(peak / 2**20, 1),
            "peak_memory_kind": "cuda max_memory_allocated" if cuda else "process max RSS",
            "amp": config.amp, "channels_last": config.channels_last, "compile": config.compile,
            "steps_timed": args.steps, "wall_s_incl_setup": round(wall, 2),
            "last_losses": summary["losses"]}


def largest_batch(data: Path, args: argparse.Namespace, mode: str) -> dict | None:
    """Double the batch from 8 until it no longer fits (CUDA OOM) or reaches --max-batch."""
    best, batch = None, 16
    while batch <= args.max_batch:
        try:
            best = measure(data, args, mode, batch)
        except torch.OutOfMemoryError:
            break
        finally:
            if args.device == "cuda":
                torch.cuda.empty_cache()
        batch *= 2
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--method", default="guided-cgan")
    p.add_argument("--width", type=float, default=1.0, help="guided-cgan width multiplier")
    p.add_argument("--size", type=int, default=224, help="crop size (paper: 224)")
    p.add_argument("--batch", type=int, default=8, help="batch size (paper: 8)")
    p.add_argument("--steps", type=int, default=30, help="timed steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (compile, autotune)")
    p.add_argument("--pairs", type=int, default=32, help="synthetic training pairs")
    p.add_argument("--modes", default="eager,optimized")
    p.add_argument("--max-batch", type=int, default=0, help="also find the largest batch up to this")
    p.add_argument("--compile", action="store_true", help="torch.compile on CPU too")
    p.add_argument("--no-compile", action="store_true", help="no torch.compile even on CUDA")
    p.add_argument("--channels-last", action="store_true", help="channels_last on CPU too")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument("--out", type=Path, help="write the JSON here instead of stdout")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = make_pairs(Path(tmp), args.pairs)
        results = []
        for mode in args.modes.split(","):
            results.append(measure(data, args, mode, args.batch))
            if args.max_batch:
                big = largest_batch(data, args, mode)
                if big:
                    results.append({**big, "largest_batch": True})
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    report = {"benchmark": "train_throughput", "device": device, "torch": torch.__version__,
              "method": args.method, "width": args.width, "size": args.size, "results": results}
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
