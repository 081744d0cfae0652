"""`flashcli relight` speed: per-stage times for one photo, the device part alone, and a folder.

For each size (megapixels, 4:3 or 3:2) a synthetic flash-fired JPEG is written to a temporary
folder and relit through :func:`flashcli.relight.relight` (decode, method, upsample, encode
seconds from its report, plus the CPU seconds the process used: on a busy shared machine
``process_cpu / cores`` bounds the idle wall time better than the wall time). The *device part* (working-size downscale, method, guided-filter
fit and full-resolution gain, with the photo already on the device) is timed alone, as is
whole-folder throughput (``--folder N`` copies of the first size).

When the method's weights are not installed the network runs with random weights (the
timing is the same). Usage:

    python benchmarks/relight.py --device cpu --sizes 12,24 --folder 4 --out relight.json
    python benchmarks/relight.py --device cuda --sizes 12,24,50 --folder 16 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import photo_factory as pf  # noqa: E402
from common import emit

from flashcli.enhancer import parse_opt_pairs  # noqa: E402
from flashcli.errors import FlashcliError  # noqa: E402
from flashcli.methods import create_enhancer  # noqa: E402
from flashcli.ops.upsample import apply_gain, downscale, fit_gain, working_shape  # noqa: E402
from flashcli.plugins import registry  # noqa: E402
from flashcli.relight import relight, resolve_working_size  # noqa: E402
from flashcli.runtime.device import resolve_device  # noqa: E402


def _dims(megapixels: float, aspect: float) -> tuple[int, int]:
    h = int(round(math.sqrt(megapixels * 1e6 / aspect)))
    return int(round(h * aspect)), h


def _photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Smooth colour fields plus sensor-like noise (the codecs do real work)."""
    rng = np.random.default_rng(seed)
    small = rng.random((height // 64 + 2, width // 64 + 2, 3))
    t = torch.from_numpy(small).permute(2, 0, 1)[None].float()
    smooth = torch.nn.functional.interpolate(t, size=(height, width), mode="bicubic",
                                             align_corners=False)[0].permute(1, 2, 0).numpy()
    noise = rng.standard_normal((height, width, 1), dtype=np.float32) * 0.02
    return np.round(np.clip(smooth * 0.8 + 0.1 + noise, 0, 1) * 255).astype(np.uint8)


def _enhancer(args, device):
    try:
        return create_enhancer(args.method, parse_opt_pairs(args.opt), args.weights, device), "trained"
    except FlashcliError:
        cls = registry().get(args.method).cls
        return cls(**parse_opt_pairs(args.opt)).to(device), "random"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_part(enhancer, image: torch.Tensor, size: int, repeat: int) -> dict[str, float]:
    """Median seconds of downscale + method and of the gain fit + full-resolution apply."""
    dev = enhancer.device
    x = image.to(dev)
    shape = working_shape(*x.shape[-2:], size)
    amp = dev.type == "cuda"
    method, upsample = [], []
    for i in range(repeat + 1):  # first run warms up
        _sync(dev)
        t0 = time.perf_counter()
        lo = downscale(x, shape)
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            out = enhancer(lo)
        _sync(dev)
        t1 = time.perf_counter()
        target = x.clone()  # the pipeline writes in place into the decoded photo
        _sync(dev)
        t2 = time.perf_counter()
        apply_gain(fit_gain(lo, out), target, out=target)
        _sync(dev)
        t3 = time.perf_counter()
        if i:
            method.append(t1 - t0)
            upsample.append(t3 - t2)
        del target
    return {"method_s": statistics.median(method), "upsample_s": statistics.median(upsample),
            "total_s": statistics.median(m + u for m, u in zip(method, upsample, strict=True))}


def pillow_floor(files: list[Path], out_dir: Path, quality: int) -> float:
    """Seconds for a plain Pillow decode + encode of ``files`` (the job's physical floor):
    the same quality and chroma subsampling relight writes, EXIF and ICC carried."""
    out_dir.mkdir(exist_ok=True)
    start = time.perf_counter()
    for f in files:
        with Image.open(f) as img:
            img.load()
            extra = {"exif": img.info.get("exif", b""), "icc_profile": img.info.get("icc_profile")}
            sub = 0 if quality >= 90 else -1  # relight keeps 4:4:4 at quality >= 90
            img.save(out_dir / f.name, "JPEG", quality=quality, subsampling=sub,
                     **{k: v for k, v in extra.items() if v})
    return time.perf_counter() - start


def flashcli_process(inputs: Path, out_dir: Path, extra: list[str]) -> dict:
    """Wall seconds and peak RSS of ``flashcli relight INPUTS --json`` in its own process
    (start-up and imports included), with the stage times of its report."""
    log = out_dir.with_name(out_dir.name + ".log")
    peak_file = out_dir.with_name(out_dir.name + ".peak")
    cmd = [sys.executable, str(Path(__file__).with_name("peak.py")), str(peak_file),
           "-m", "flashcli", "relight", str(inputs), "-o", str(out_dir), "--json", "--overwrite", *extra]
    with open(log, "w+b") as fh:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.DEVNULL)
        _, status, _ = os.wait4(proc.pid, 0)  # not its ru_maxrss: that holds ours at fork
        wall = time.perf_counter() - start
        fh.seek(0)
        text = fh.read().decode()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"flashcli relight failed: {text[-500:]}")
    report = json.loads(text)
    return {"wall_s": round(wall, 3), "peak_rss_mib": float(peak_file.read_text()),
            "stages_s": {k: round(v, 3) for k, v in report["timings"].items()}}


def _shoot_photo(path: Path, megapixels: float, seed: int) -> Path:
    w, h = _dims(megapixels, 4 / 3)
    pf.write_jpeg(path, data=_photo(w, h, seed), quality=92, icc=pf.srgb_icc())
    return path


def shoot(args, tmp: Path) -> dict:
    """Process wall of a shoot of ``--shoot`` 12 MP photos and of one photo against the
    Pillow floor of the same files measured in the same run; peak memory at ``--memory``
    sizes (each its own process)."""
    folder, single = tmp / "shoot", tmp / "single"
    folder.mkdir()
    single.mkdir()
    first = _shoot_photo(folder / "p000.jpg", 12, 0)
    for k in range(1, args.shoot):
        shutil.copyfile(first, folder / f"p{k:03d}.jpg")
    shutil.copyfile(first, single / "p000.jpg")
    files = sorted(folder.glob("*.jpg"))
    extra = ["--device", args.device, *sum((["--opt", o] for o in args.opt), [])]
    one = flashcli_process(single, tmp / "single_out", extra)
    one_floor = pillow_floor(files[:1], tmp / "floor1", args.quality)
    many = flashcli_process(folder, tmp / "shoot_out", extra)
    floor = pillow_floor(files, tmp / "floor", args.quality)
    res = {"photos": args.shoot, "megapixels_each": 12,
           "pillow_floor_s": round(floor, 3), "flashcli": many,
           "ratio": round(many["wall_s"] / floor, 2),
           "photos_per_minute": round(60 * args.shoot / many["wall_s"], 1),
           "pillow_photos_per_minute": round(60 * args.shoot / floor, 1),
           "one_photo": {**one, "pillow_floor_s": round(one_floor, 3),
                         "ratio": round(one["wall_s"] / one_floor, 2)}, "memory": []}
    for mp in [float(m) for m in args.memory.split(",") if m]:
        d = tmp / f"mem{mp:g}"
        d.mkdir()
        _shoot_photo(d / "p.jpg", mp, 1)
        r = flashcli_process(d, tmp / f"mem{mp:g}_out", extra)
        res["memory"].append({"megapixels": mp, **r})
        print(f"memory {mp} MP: {r}", file=sys.stderr)
    return res


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="flashcli relight benchmark")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--method", default="guided-cgan")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--sizes", default="12,24", help="megapixels, comma separated")
    parser.add_argument("--aspect", default="4:3,3:2", help="aspect per size (last one repeats)")
    parser.add_argument("--working-size", default=None, help="default: the method's")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--folder", type=int, default=4, help="photos in the throughput folder")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write JSON here (else stdout)")
    parser.add_argument("--shoot", type=int, default=0,
                        help="only the process-wall shoot of N 12 MP photos against Pillow")
    parser.add_argument("--memory", default="", help="with --shoot: peak memory at these MP")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality (relight's default)")
    args = parser.parse_args(argv)
    if args.shoot:
        with tempfile.TemporaryDirectory() as tmp:
            emit({"cpu_cores": os.cpu_count(), "load_average_1min": os.getloadavg()[0],
                  "device": args.device, "shoot": shoot(args, Path(tmp))}, args.out)
        return

    device = resolve_device(args.device)
    enhancer, weights = _enhancer(args, device)
    size = resolve_working_size(args.working_size, enhancer)
    sizes = [float(s) for s in args.sizes.split(",") if s]
    aspects = [float(a.split(":")[0]) / float(a.split(":")[1]) for a in args.aspect.split(",")]
    result: dict = {
        "cpu_cores": os.cpu_count(), "load_average_1min": os.getloadavg()[0],
        "device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch_threads": torch.get_num_threads(), "method": args.method, "weights": weights,
        "working_size": size, "repeat": args.repeat, "photos": [], "folder": None,
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        first = None
        for i, mp in enumerate(sizes):
            w, h = _dims(mp, aspects[min(i, len(aspects) - 1)])
            src = tmp / f"in{i}" / f"photo_{w}x{h}.jpg"
            src.parent.mkdir()
            data = _photo(w, h, i)
            pf.write_jpeg(src, data=data, quality=92)
            first = first or (src, data)
            runs = []
            for _ in range(args.repeat):
                cpu = time.process_time()
                rep = relight([src], tmp / f"out{i}", enhancer=enhancer, working_size=size,
                              overwrite=True, workers=args.workers)
                if rep.failed:
                    raise SystemExit(f"relight failed: {rep.failed[0].reason}")
                runs.append({**rep.timings, "process_cpu": time.process_time() - cpu})
            stages = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            image = torch.from_numpy(data).permute(2, 0, 1)[None].float().contiguous() / 255
            dev = device_part(enhancer, image, size, args.repeat) if size != "full" else None
            result["photos"].append({"megapixels": round(w * h / 1e6, 2), "width": w, "height": h,
                                     "file_mb": round(src.stat().st_size / 1e6, 2),
                                     "stages_s": {k: round(v, 4) for k, v in stages.items()},
                                     "device_part_s": dev and {k: round(v, 4) for k, v in dev.items()}})
            print(f"{w}x{h}: {stages}", file=sys.stderr)
        if args.folder and first is not None:
            folder = tmp / "folder"
            folder.mkdir()
            for k in range(args.folder):
                (folder / f"f{k:03d}.jpg").write_bytes(first[0].read_bytes())
            cpu = time.process_time()
            rep = relight([folder], tmp / "folder_out", enhancer=enhancer, working_size=size,
                          workers=args.workers)
            cpu = time.process_time() - cpu
            wall = rep.timings["wall"]
            result["folder"] = {"photos": args.folder, "megapixels": round(rep.megapixels, 2),
                                "wall_s": round(wall, 3), "photos_per_s": round(args.folder / wall, 3),
                                "megapixels_per_s": round(rep.megapixels / wall, 3),
                                "process_cpu_s": round(cpu, 3),
                                "stages_s": {k: round(v, 3) for k, v in rep.timings.items()}}
    emit(result, args.out)


if __name__ == "__main__":
    main()
