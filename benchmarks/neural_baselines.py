"""Inference speed of the DeepFlash and U-Net baselines and of the bilateral pre-filter.

Times one image per call at each size (seconds and seconds per megapixel, median of
``--repeats`` after one warm-up) with randomly initialised weights (speed does not depend
on the weights), and the peak memory of the call: CUDA's allocator peak on a GPU, the
growth of the process's peak RSS on the CPU (each case runs in its own process so the
numbers do not mix). JSON goes to stdout or ``--out``.

    python benchmarks/neural_baselines.py --device cpu --sizes 320x240,1mp --repeats 3
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time

import torch
from common import device_label, emit, peak_rss_mib

METHODS = ("deepflash", "unet", "bilateral")


def parse_size(text: str) -> tuple[int, int]:
    """``320x240`` (W x H) or ``12mp`` (a 4:3 image of that many megapixels)."""
    text = text.strip().lower()
    if text.endswith("mp"):
        pixels = float(text[:-2]) * 1e6
        h = int(round(math.sqrt(pixels * 3 / 4)))
        return int(round(h * 4 / 3)), h
    w, _, h = text.partition("x")
    return int(w), int(h)


def build(method: str, width: float, device: torch.device):
    """A callable ``N x 3 x H x W -> same`` for ``method``."""
    if method == "bilateral":
        from flashcli.ops.filters import bilateral_filter

        return bilateral_filter
    from flashcli.plugins import registry

    return registry().get(method).cls(width=width).to(device)


def network_gflop(enhancer, x: torch.Tensor) -> float:
    """Floating-point operations (GFLOP) of one forward pass of the method's network."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        enhancer.network(x)
    return round(counter.get_total_flops() / 1e9, 2)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_case(method: str, size: str, width: float, device: torch.device, repeats: int) -> dict:
    """Time ``method`` on one random image of ``size`` in this process."""
    w, h = parse_size(size)
    fn = build(method, width, device)
    x = torch.rand(1, 3, h, w, device=device)
    rss_before = peak_rss_mib()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with torch.inference_mode():
        fn(x)  # warm-up (its peak counts: every call needs the same memory)
        sync(device)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(x)
            sync(device)
            times.append(time.perf_counter() - start)
    if device.type == "cuda":
        peak_mib = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_mib = peak_rss_mib() - rss_before
    seconds = statistics.median(times)
    mp = w * h / 1e6
    gflop = network_gflop(fn, x) if method != "bilateral" else None
    return {"method": method, "size": f"{w}x{h}", "megapixels": round(mp, 3),
            "width": width if method != "bilateral" else None, "seconds": round(seconds, 4),
            "seconds_per_mp": round(seconds / mp, 4), "network_gflop": gflop,
            "peak_mib": round(peak_mib, 1),
            "peak_kind": "cuda_allocated" if device.type == "cuda" else "cpu_rss_growth"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--sizes", default="320x240,1mp", help="comma list of WxH or Nmp")
    parser.add_argument("--width", type=float, default=1.0, help="network channel multiplier")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--out", help="write the JSON here instead of stdout")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: one case, one process
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    if args.case:
        method, size = args.case.split("@")
        print(json.dumps(run_case(method, size, args.width, device, args.repeats)))
        return

    results = []
    for method in args.methods.split(","):
        for size in args.sizes.split(","):
            cmd = [sys.executable, __file__, "--case", f"{method}@{size}", "--device", args.device,
                   "--width", str(args.width), "--repeats", str(args.repeats),
                   "--threads", str(args.threads)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                results.append({"method": method, "size": size, "error": done.stderr.strip().splitlines()[-1]})
            else:
                results.append(json.loads(done.stdout))
            print(json.dumps(results[-1]), file=sys.stderr)
    report = {
        "benchmark": "neural_baselines",
        "device": device_label(device),
        "threads": args.threads or torch.get_num_threads(),
        "torch": torch.__version__,
        "results": results,
    }
    emit(report, args.out)


if __name__ == "__main__":
    main()
