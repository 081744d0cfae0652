"""Photo I/O speed: read_metadata, read_image (full and half size) and write_image per format.

Synthetic photos are generated in a temporary folder (noise, so codecs do real work).
Usage: python benchmarks/bench_imageio.py --size 2000x1500 --repeat 3 [--out result.json]
``--device cuda`` also times moving the decoded tensor to the GPU.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import photo_factory as pf  # noqa: E402
from common import emit

from flashcli.io.imageio import read_image, read_metadata, write_image  # noqa: E402


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _sources(folder: Path, w: int, h: int) -> dict[str, Path]:
    smooth = pf.pixels(w, h)
    noisy = np.clip(smooth.astype(np.int16) + pf.pixels(w, h, kind="noise") // 8 - 16, 0, 255)
    data8 = noisy.astype(np.uint8)
    return {
        "jpeg": pf.write_jpeg(folder / "a.jpg", data=data8, icc=pf.srgb_icc()),
        "png": pf.write_png(folder / "a.png", data=data8),
        "tiff16": pf.write_tiff(folder / "a.tif", data=data8.astype(np.uint16) * 257),
        "dng": pf.write_dng(folder / "a.dng", w, h),
    }


def run(width: int, height: int, repeat: int, device: str) -> dict:
    results: dict = {"size": f"{width}x{height}", "megapixels": width * height / 1e6,
                     "repeat": repeat, "device": device, "torch": torch.__version__,
                     "seconds": {}}
    sec = results["seconds"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = _sources(folder, width, height)
        for name, path in sources.items():
            sec[f"read_metadata/{name}"] = _best(lambda p=path: read_metadata(p), repeat)
            sec[f"read_image/{name}"] = _best(lambda p=path: read_image(p), repeat)
            sec[f"read_image_half/{name}"] = _best(lambda p=path: read_image(p, half_size=True),
                                                   repeat)
        image, meta = read_image(sources["jpeg"])
        if device.startswith("cuda"):
            def to_gpu():
                image.to(device)
                torch.cuda.synchronize()
            sec["to_device/jpeg_tensor"] = _best(to_gpu, repeat)
        for name, fmt, bits in (("jpeg", "jpeg", 8), ("png", "png", 8), ("tiff8", "tiff", 8),
                                ("tiff16", "tiff", 16)):
            out = folder / f"out_{name}.{fmt}"
            sec[f"write_image/{name}"] = _best(
                lambda o=out, f=fmt, b=bits: write_image(o, image, meta, format=f, bit_depth=b),
                repeat)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="2000x1500", help="WIDTHxHEIGHT of the synthetic photos")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--out", type=Path, default=None, help="write JSON here instead of stdout")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: CUDA is not available on this machine")
    width, height = (int(v) for v in args.size.lower().split("x"))
    emit(run(width, height, args.repeat, args.device), args.out)


if __name__ == "__main__":
    main()
