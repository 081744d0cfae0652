"""PSNR + SSIM of N image pairs: flashcli.ops.metrics (batched torch) against scikit-image.

Both are run in the same process on the same generated 8-bit pairs (smooth shading, hard
edges, noise; 320x240 by default, as the paper's 116 test pairs). Reports seconds for the
whole set (median of ``--repeats`` after one warm-up for flashcli), the speed-up, and the
largest difference between the two (SSIM and PSNR). The colour metrics are timed apart
(``flashcli_seconds_<name>``, the same median), CIEDE2000 against scikit-image's
``deltaE_ciede2000(rgb2lab(.), rgb2lab(.))``; ``--no-colour`` skips them. JSON to stdout or
``--out``.

    python benchmarks/metrics.py --device cpu --pairs 116
    python benchmarks/metrics.py --device cuda --pairs 116 --with-loe
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from common import device_label, emit


def make_pairs(n: int, width: int, height: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (output, reference) uint8 pairs, N x H x W x 3."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    refs, outs = [], []
    for _ in range(n):
        fx, fy, phase = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 6)
        base = 60 + 120 * (xx / width) * (0.5 + 0.5 * np.cos(fy * yy / height + phase))
        img = np.stack([base, base * 0.8 + 20, 255 - base * fx / 4], axis=-1)
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(10, 80)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 4, img.shape)
        ref = np.clip(np.round(img), 0, 255).astype(np.uint8)
        out = np.clip(np.round(img * 0.75 + 15 + rng.normal(0, 10, img.shape)), 0, 255)
        refs.append(ref)
        outs.append(out.astype(np.uint8))
    return np.stack(outs), np.stack(refs)


def run_skimage(outs: np.ndarray, refs: np.ndarray) -> tuple[float, list[float], list[float]]:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    t0 = time.perf_counter()
    p, s = [], []
    for o, r in zip(outs, refs, strict=True):
        p.append(peak_signal_noise_ratio(r / 255.0, o / 255.0, data_range=1.0))
        s.append(structural_similarity(o, r, channel_axis=-1, gaussian_weights=True,
                                       use_sample_covariance=False, data_range=255))
    return time.perf_counter() - t0, p, s


def run_skimage_de2000(outs: np.ndarray, refs: np.ndarray) -> tuple[float, list[float]]:
    from skimage.color import deltaE_ciede2000, rgb2lab

    t0 = time.perf_counter()
    d = [float(deltaE_ciede2000(rgb2lab(o), rgb2lab(r)).mean())
         for o, r in zip(outs, refs, strict=True)]
    return time.perf_counter() - t0, d


def run_one(outs: np.ndarray, refs: np.ndarray, device: torch.device, batch: int,
            name: str) -> list[float]:
    """One pass over the set with the metric ``name`` of ``flashcli.ops.metrics.METRICS``."""
    from flashcli.ops import metrics

    fn = metrics.METRICS[name].function
    values = []
    for i in range(0, len(outs), batch):
        o = torch.from_numpy(outs[i:i + batch]).to(device).permute(0, 3, 1, 2).float() / 255
        r = torch.from_numpy(refs[i:i + batch]).to(device).permute(0, 3, 1, 2).float() / 255
        values.append(fn(o, r))
    sync(device)
    return torch.cat(values).tolist()


def time_colour(outs: np.ndarray, refs: np.ndarray, device: torch.device, batch: int,
                repeats: int) -> dict:
    """Seconds for the set (median of ``repeats`` after a warm-up) of each colour metric, and
    CIEDE2000 against scikit-image."""
    out: dict = {}
    for name in ("de2000", "psnr_wb"):
        run_one(outs[:batch], refs[:batch], device, batch, name)  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            values = run_one(outs, refs, device, batch, name)
            times.append(time.perf_counter() - t0)
        out[f"flashcli_seconds_{name}"] = statistics.median(times)
        out[f"mean_{name}"] = float(np.mean(values))
        if name == "de2000":
            sk_seconds, sk_values = run_skimage_de2000(outs, refs)
            out["skimage_seconds_de2000"] = sk_seconds
            out["max_abs_diff_de2000"] = max(abs(a - b) for a, b in
                                             zip(values, sk_values, strict=True))
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_flashcli(outs: np.ndarray, refs: np.ndarray, device: torch.device, batch: int,
                 with_loe: bool) -> tuple[list[float], list[float]]:
    """One pass over the set: uint8 upload, PSNR, SSIM (and LOE) per batch."""
    from flashcli.ops import metrics

    p, s = [], []
    for i in range(0, len(outs), batch):
        o = torch.from_numpy(outs[i:i + batch]).to(device).permute(0, 3, 1, 2).float() / 255
        r = torch.from_numpy(refs[i:i + batch]).to(device).permute(0, 3, 1, 2).float() / 255
        p.append(metrics.psnr(o, r))
        s.append(metrics.ssim(o, r))
        if with_loe:
            metrics.loe(o, r)
    sync(device)
    return torch.cat(p).tolist(), torch.cat(s).tolist()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--pairs", type=int, default=116)
    ap.add_argument("--size", default="320x240", help="W x H")
    ap.add_argument("--batch", type=int, default=32, help="pairs per flashcli call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--with-loe", action="store_true", help="also time LOE (flashcli only)")
    ap.add_argument("--no-colour", action="store_true",
                    help="do not time the colour metrics (de2000, psnr_wb)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--out", default=None, help="write JSON here instead of stdout")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    w, _, h = args.size.lower().partition("x")
    outs, refs = make_pairs(args.pairs, int(w), int(h))

    sk_seconds, sk_p, sk_s = run_skimage(outs, refs)
    run_flashcli(outs[: args.batch], refs[: args.batch], device, args.batch, False)  # warm-up
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        fp, fs = run_flashcli(outs, refs, device, args.batch, False)
        times.append(time.perf_counter() - t0)
    fl_seconds = statistics.median(times)
    result = {
        "benchmark": "metrics",
        "pairs": args.pairs,
        "size": args.size,
        "device": str(device),
        "device_name": device_label(device),
        "torch_threads": torch.get_num_threads(),
        "batch": args.batch,
        "skimage_seconds": sk_seconds,
        "flashcli_seconds": fl_seconds,
        "flashcli_seconds_all_repeats": times,
        "speedup": sk_seconds / fl_seconds,
        "max_abs_diff_ssim": max(abs(a - b) for a, b in zip(fs, sk_s, strict=True)),
        "max_abs_diff_psnr_db": max(abs(a - b) for a, b in zip(fp, sk_p, strict=True)),
        "mean_ssim": float(np.mean(fs)),
        "mean_psnr": float(np.mean(fp)),
    }
    if args.with_loe:
        t0 = time.perf_counter()
        run_flashcli(outs, refs, device, args.batch, True)
        result["flashcli_seconds_with_loe"] = time.perf_counter() - t0
    if not args.no_colour:
        result.update(time_colour(outs, refs, device, args.batch, args.repeats))
    emit(result, args.out)


if __name__ == "__main__":
    main()
