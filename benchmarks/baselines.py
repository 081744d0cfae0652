"""Seconds per megapixel and peak memory of the baseline methods (LIME, SRIE, ...).

Each (method, size) runs in a fresh subprocess so the peak memory is its own: CUDA peak
allocated memory on a GPU, peak resident set size (RSS) on the CPU. Methods that need
weights are skipped unless given ``--weights NAME=PATH``. ``--scipy`` adds the time of a
SciPy sparse direct solve (``spsolve``) of LIME's refinement system at the largest size,
with the torch solver's time on the same system beside it. ``--iterations MP ...`` adds a
table of solver iterations per size for LIME's system (multigrid-preconditioned CG, and
Jacobi-preconditioned CG up to ``--jacobi-max`` MP), each at LIME's default tolerance.

    python benchmarks/baselines.py --device cpu --sizes 0.0768 1 --methods lime srie --scipy \
        --iterations 0.08 0.3 1 2 4
    python benchmarks/baselines.py --device cuda --sizes 1 12 24 --out baselines.json
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time

from common import emit, peak_rss_mib

#: Methods benchmarked by default, with the options they run with. Add a method here
#: (its options as strings, as on the command line) and it is timed like the others.
METHODS: dict[str, dict[str, str]] = {
    "lime": {},
    "srie": {},
    "deepflash": {},
    "unet": {},
}


def test_image(megapixels: float, device: str, seed: int = 0):
    """A deterministic 4:3 scene of about ``megapixels``: blocks of colour with fine
    texture under smooth, uneven light (a dark corner), N x 3 x H x W in [0, 1]."""
    import torch

    w = int(round(math.sqrt(megapixels * 1e6 * 4 / 3)))
    h = int(round(w * 3 / 4))
    g = torch.Generator().manual_seed(seed)
    albedo = 0.3 + 0.6 * torch.rand(1, 3, max(2, h // 64), max(2, w // 64), generator=g)
    albedo = torch.nn.functional.interpolate(albedo, size=(h, w), mode="nearest")
    albedo = albedo.to(device)
    albedo += 0.05 * torch.rand(1, 1, h, w, generator=g).to(device)
    yy = torch.linspace(0, 1, h, device=device)[:, None]
    xx = torch.linspace(0, 1, w, device=device)[None, :]
    light = 0.95 - 0.8 * (xx * yy)
    return (albedo * light).clamp_(0, 1)


def run_one(method: str, megapixels: float, device: str, repeat: int, weights: str | None) -> dict:
    """Time one method at one size in this process."""
    import torch

    from flashcli.methods import create_enhancer

    enhancer = create_enhancer(method, METHODS.get(method, {}), weights=weights, device=device)
    image = test_image(megapixels, device)
    cuda = device.startswith("cuda")
    if cuda:
        enhancer(image[..., :64, :64])  # warm-up: kernels, cuBLAS handles
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        enhancer(image)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    mp = image.shape[-1] * image.shape[-2] / 1e6
    best = min(times)
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if cuda
        else peak_rss_mib()
    )
    return {
        "method": method,
        "device": device,
        "megapixels": round(mp, 3),
        "size": [image.shape[-2], image.shape[-1]],
        "seconds": round(best, 3),
        "seconds_per_megapixel": round(best / mp, 3),
        "peak_memory_mib": round(peak, 1),
        "peak_memory_kind": "cuda_allocated" if cuda else "process_rss",
        "threads": torch.get_num_threads(),
    }


def lime_system(megapixels: float, device: str):
    """LIME's refinement system (default options) for the test image: ``t0, wx, wy``."""
    from flashcli_lime import initial_illumination, strategy3_weights

    t0 = initial_illumination(test_image(megapixels, device))
    wx, wy = strategy3_weights(t0, 2.0, 1e-3)
    return t0, wx.mul_(0.15), wy.mul_(0.15)


def solver_iterations(megapixels: float, device: str, jacobi_max: float) -> dict:
    """Iterations and seconds of the torch solver on LIME's system at one size."""
    import torch

    from flashcli.ops.linsolve import build_hierarchy, solve

    t0, wx, wy = lime_system(megapixels, device)
    row = {"megapixels": round(t0.numel() / 1e6, 3), "size": list(t0.shape[-2:])}
    row["levels"] = len(build_hierarchy(wx, wy))
    kinds = ["multigrid"] + (["jacobi"] * (megapixels <= jacobi_max))
    for kind in kinds:
        start = time.perf_counter()
        result = solve(t0, wx, wy, tol=1e-2, max_iter=20000, preconditioner=kind)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        row[f"{kind}_iterations"] = result.iterations
        row[f"{kind}_seconds"] = round(time.perf_counter() - start, 3)
    return row


def scipy_lime_solve(megapixels: float) -> dict:
    """Time SciPy's sparse direct solve of LIME's refinement system for the test image, and
    the torch multigrid solve of the same system."""
    import numpy as np
    import scipy.sparse as sp
    import scipy.sparse.linalg as spl

    from flashcli.ops.linsolve import solve

    t0, wx, wy = lime_system(megapixels, "cpu")
    h, w = t0.shape[-2:]
    start = time.perf_counter()
    dx1 = sp.diags([-np.ones(w - 1), np.ones(w - 1)], [0, 1], shape=(w - 1, w))
    dy1 = sp.diags([-np.ones(h - 1), np.ones(h - 1)], [0, 1], shape=(h - 1, h))
    dx, dy = sp.kron(sp.eye(h), dx1), sp.kron(dy1, sp.eye(w))
    a = sp.eye(h * w) + dx.T @ sp.diags(wx[0].double().numpy().ravel()) @ dx
    a = a + dy.T @ sp.diags(wy[0].double().numpy().ravel()) @ dy
    exact = spl.spsolve(a.tocsc(), t0[0].double().numpy().ravel())
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    ours = solve(t0, wx, wy, tol=1e-2, max_iter=200)
    torch_seconds = time.perf_counter() - start
    mp = h * w / 1e6
    return {
        "flashcli_solve_seconds": round(torch_seconds, 3),
        "flashcli_solve_iterations": ours.iterations,
        "flashcli_max_abs_error": float(np.abs(ours.x[0].double().numpy().ravel() - exact).max()),
        "method": "scipy_spsolve_lime_system",
        "device": "cpu",
        "megapixels": round(mp, 3),
        "seconds": round(seconds, 3),
        "seconds_per_megapixel": round(seconds / mp, 3),
        "peak_memory_mib": round(peak_rss_mib(), 1),
        "peak_memory_kind": "process_rss",
    }


def run_child(cmd: list[str], method: str, megapixels: float, timeout: float) -> dict:
    """One (method, size) in its own process: its JSON, or the error (last stderr line, time-out)."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or None)
    except subprocess.TimeoutExpired:
        return {"method": method, "megapixels": megapixels, "error": f"over --timeout {timeout:g} s"}
    if done.returncode:
        tail = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"method": method, "megapixels": megapixels, "error": tail}
    return json.loads(done.stdout)


def run_methods(methods: list[str], sizes: list[float], base: list[str], weights: dict,
                timeout: float = 0) -> list[dict]:
    """Time every method at every size, each in its own subprocess."""
    from flashcli.plugins import registry

    results = []
    for method in methods:
        try:
            cls = registry().get(method).cls
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            results.append({"method": method, "skipped": f"not available: {exc}"})
            continue
        if cls.needs_weights and method not in weights:
            results.append({"method": method, "skipped": "needs weights (--weights NAME=PATH)"})
            continue
        for mp in sizes:
            results.append(run_child([*base, "--single", method, str(mp)], method, mp, timeout))
            print(json.dumps(results[-1]), file=sys.stderr)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 12, 24], help="megapixels")
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--weights", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--scipy", action="store_true", help="add SciPy's direct solve of LIME's system")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per (method, size) run (0: none)")
    parser.add_argument("--iterations", type=float, nargs="*", default=[], metavar="MP",
                        help="add solver iteration counts for LIME's system at these sizes")
    parser.add_argument("--jacobi-max", type=float, default=0.3, help="largest MP timed with Jacobi-PCG")
    parser.add_argument("--out", help="write the JSON here instead of stdout")
    parser.add_argument("--single", nargs=2, metavar=("METHOD", "MP"), help=argparse.SUPPRESS)
    parser.add_argument("--scipy-single", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    weights = dict(item.split("=", 1) for item in args.weights)

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.single:
        method, mp = args.single[0], float(args.single[1])
        print(json.dumps(run_one(method, mp, args.device, args.repeat, weights.get(method))))
        return 0
    if args.scipy_single:
        print(json.dumps(scipy_lime_solve(args.scipy_single)))
        return 0

    base = [sys.executable, __file__, "--device", args.device, "--repeat", str(args.repeat)]
    base += ["--threads", str(args.threads)] + [f"--weights={w}" for w in args.weights]
    results = run_methods(args.methods, args.sizes, base, weights, args.timeout)
    if args.scipy:
        done = subprocess.run([*base, "--scipy-single", str(max(args.sizes))], capture_output=True, text=True)
        results.append(json.loads(done.stdout) if not done.returncode else {"method": "scipy", "error": done.stderr[-300:]})
        print(json.dumps(results[-1]), file=sys.stderr)
    iterations = []
    for mp in args.iterations:
        iterations.append(solver_iterations(mp, args.device, args.jacobi_max))
        print(json.dumps(iterations[-1]), file=sys.stderr)
    emit({"device": args.device, "threads": args.threads, "results": results, "solver_iterations": iterations}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
