"""Seconds per rendered flash/ambient pair (``flashcli.synth``), CPU or CUDA.

    python benchmarks/synth.py --device cpu --size 320x240 --pairs 12 --threads 1

Prints JSON (or writes it to --out): wall and CPU seconds per pair, overall and per category,
and the camera statistics of the timed pairs (``flashcli.synth.stats``: ambient/flash
brightness ratio in linear light, colour-cast ratio R/B over R/B, noise ratio).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict

import torch
from common import device_label, emit

from flashcli.synth import RENDERER_VERSION, parse_size, render_pair
from flashcli.synth.stats import pair_stats, summarize


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(device: str, size: tuple[int, int], pairs: int, seed: int, threads: int, warmup: int,
        misalign: float) -> dict:
    """Render ``pairs`` pairs (after ``warmup`` untimed ones) and time each."""
    dev = torch.device(device)
    torch.set_num_threads(threads)
    for i in range(warmup):
        render_pair(seed + 1, i, size, dev, misalign)
    _sync(dev)
    walls, cpus, per_cat, stats = [], [], defaultdict(list), []
    for i in range(pairs):
        w, c = time.perf_counter(), time.process_time()
        pair = render_pair(seed, i, size, dev, misalign)
        _sync(dev)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
        per_cat[pair.category].append(walls[-1])
        stats.append(pair_stats(pair.flash.cpu(), pair.ambient.cpu()))
    return {
        "benchmark": "synth", "renderer_version": RENDERER_VERSION, "device": str(dev),
        "device_name": device_label(dev),
        "threads": threads, "size": f"{size[0]}x{size[1]}", "pairs": pairs, "seed": seed, "misalign": misalign,
        "wall_s_per_pair_mean": round(statistics.mean(walls), 4),
        "wall_s_per_pair_median": round(statistics.median(walls), 4),
        "cpu_s_per_pair_mean": round(statistics.mean(cpus), 4),
        "wall_s_per_pair_by_category": {k: round(statistics.mean(v), 4) for k, v in sorted(per_cat.items())},
        "camera_stats": summarize(stats),
        "torch": torch.__version__,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--size", default="320x240", help="WIDTHxHEIGHT")
    ap.add_argument("--pairs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--misalign", type=float, default=0.0)
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("benchmarks/synth.py: CUDA is not available here; use --device cpu")
    result = run(args.device, parse_size(args.size), args.pairs, args.seed, args.threads, args.warmup,
                 args.misalign)
    emit(result, args.out)


if __name__ == "__main__":
    main()
