"""Training throughput of a trainable method (default: the guided cGAN) through the real
engine (device-resident uint8 data, on-device augmentation, one D then one G update per step).

Reports images/s and peak memory for "eager" (fp32, no channels_last, no compile) and
"optimized" (AMP bf16/fp16 on CUDA, channels_last on CUDA, torch.compile where asked),
at the paper's 224 x 224 batch 8 and, with --max-batch, at the largest batch that fits.

    python benchmarks/train_throughput.py --device cuda --max-batch 512
    python benchmarks/train_throughput.py --device cpu --width 0.25 --size 112 --steps 6
    python benchmarks/train_throughput.py --device cuda --batches 8,32,128 --compile-modes off,on

With --batches / --compile-modes the "optimized" mode runs once per (compile, batch); "eager"
runs once, at --batch (the plain fp32 loop the speed-up is measured against). Each row also
gives achieved TFLOP/s (209 GFLOP per training image at 224 x 224 and width 1, scaled by
area and width squared) and the projected time of the paper's schedule (1000 epochs x 969
pairs). The JSON is rewritten after every row, so a run stopped early keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import emit, peak_rss_mib
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


#: The paper's training work and schedule.
GFLOP_PER_IMAGE_224 = 209.0
SCHEDULE_IMAGES = 1000 * 969


def measure(data: Path, args: argparse.Namespace, mode: str, batch: int,
            compile_on: bool | None = None) -> dict:
    """Run warmup + steps training steps; images/s over the steps after the warm-up."""
    optimized = mode == "optimized"
    cuda = args.device == "cuda"
    if compile_on is None:
        compile_on = (cuda or args.compile) and not args.no_compile
    out = Path(tempfile.mkdtemp(prefix="flashcli-bench-"))
    config = TrainConfig(
        data=str(data), out=str(out / "run"), method=args.method,
        options={"width": args.width, "pretrained": False, "output": "image"} if args.method == "guided-cgan" else {},
        steps=args.warmup + args.steps, batch_size=batch, crop_size=args.size,
        device=args.device, amp=args.amp if optimized else "off",
        channels_last=(cuda or args.channels_last) if optimized else False,
        compile=optimized and compile_on,
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
            else peak_rss_mib() * 2**20)
    ips = logs[-1]["images_per_s"]
    return {"mode": mode, "batch": batch, "images_per_s": round(ips, 2),
            "step_ms": round(1000 * batch / ips, 2),
            "tflops": round(ips * gflop_per_image(args) / 1000, 3),
            "schedule_minutes": round(SCHEDULE_IMAGES / ips / 60, 2),
            "peak_memory_mib": round(peak / 2**20, 1),
            "peak_memory_kind": "cuda max_memory_allocated" if cuda else "process max RSS",
            "amp": config.amp, "channels_last": config.channels_last, "compile": config.compile,
            "steps_timed": args.steps, "wall_s_incl_setup": round(wall, 2),
            "last_losses": summary["losses"]}


def gflop_per_image(args: argparse.Namespace) -> float:
    """Training work per image: the 224 x 224, width-1 figure scaled by area and width squared."""
    return GFLOP_PER_IMAGE_224 * (args.size / 224) ** 2 * args.width ** 2


def largest_batch(data: Path, args: argparse.Namespace, mode: str) -> dict | None:
    """Double the batch from 16 until it no longer fits (CUDA OOM) or passes --max-batch."""
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


def plan(args: argparse.Namespace) -> list[tuple[str, int, bool | None]]:
    """(mode, batch, compile) of every row: eager once at --batch, optimized per batch and compile."""
    batches = [int(b) for b in args.batches.split(",") if b] if args.batches else [args.batch]
    compiles = ([c.strip() == "on" for c in args.compile_modes.split(",") if c.strip()]
                if args.compile_modes else [None])
    rows: list[tuple[str, int, bool | None]] = []
    for mode in args.modes.split(","):
        if mode == "eager":
            rows.append((mode, args.batch, False))
        else:
            for c in compiles:  # compiled rows largest batch first: a budget cut drops small ones
                rows += [(mode, b, c) for b in (sorted(batches, reverse=True) if c else batches)]
    return rows


def one_row(data: Path, args: argparse.Namespace, mode: str, batch: int, compile_on) -> dict:
    """One measured row, or the row's error (out of memory, compile failure, ...)."""
    if compile_on:
        torch._dynamo.reset()  # a fresh compile per row: no shape marked dynamic by the last one
    try:
        return measure(data, args, mode, batch, compile_on)
    except Exception as exc:  # noqa: BLE001 - report it and go on with the other rows
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return {"mode": mode, "batch": batch, "compile": bool(compile_on),
                "error": f"{type(exc).__name__}: {first}"}
    finally:
        if args.device == "cuda":
            torch.cuda.empty_cache()


def verdict(results: list[dict], batch: int) -> dict:
    """Best row, its projected schedule time and its speed-up over eager fp32 at ``batch``."""
    done = [r for r in results if "images_per_s" in r]
    if not done:
        return {}
    best = max(done, key=lambda r: r["images_per_s"])
    eager = next((r for r in done if r["mode"] == "eager" and r["batch"] == batch), None)
    out = {"best": {k: best.get(k) for k in ("mode", "batch", "compile", "images_per_s", "tflops")},
           "schedule_images": SCHEDULE_IMAGES, "schedule_minutes": best["schedule_minutes"],
           "target_schedule_minutes": 15, "meets_schedule": best["schedule_minutes"] < 15}
    if eager:
        out["eager_batch"] = batch
        out["speedup_vs_eager"] = round(best["images_per_s"] / eager["images_per_s"], 2)
        out["meets_10x"] = out["speedup_vs_eager"] >= 10
    return out


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
    p.add_argument("--batches", default="", help="optimized mode at each of these batch sizes, e.g. 8,32,128")
    p.add_argument("--compile-modes", default="", help="optimized mode with compile off and/or on, e.g. off,on")
    p.add_argument("--amp", default="auto", choices=["auto", "bf16", "fp16", "off"], help="optimized mode's AMP")
    p.add_argument("--budget-s", type=float, default=0, help="start no new row after this many seconds")
    p.add_argument("--out", type=Path, help="write the JSON here instead of stdout")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    report = {"benchmark": "train_throughput", "device": device, "torch": torch.__version__,
              "method": args.method, "width": args.width, "size": args.size,
              "gflop_per_image": round(gflop_per_image(args), 2),
              "tflops_basis": "209 GFLOP per image at 224x224, width 1; scaled by area and width^2",
              "results": []}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = make_pairs(Path(tmp), args.pairs)
        for mode, batch, compile_on in plan(args):
            if args.budget_s and time.perf_counter() - t0 > args.budget_s:
                report["results"].append({"mode": mode, "batch": batch, "compile": bool(compile_on),
                                          "skipped": f"over --budget-s {args.budget_s:g}"})
                continue
            report["results"].append(one_row(data, args, mode, batch, compile_on))
            report["summary"] = verdict(report["results"], args.batch)
            if args.out:
                emit(report, args.out)
            if args.max_batch and mode != "eager":
                big = largest_batch(data, args, mode)
                if big:
                    report["results"].append({**big, "largest_batch": True})
    report["summary"] = verdict(report["results"], args.batch)
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
