"""Helpers of benchmarks/gpu/run.sh, and the summary of its output folder.

    python benchmarks/gpu/summary.py env OUTDIR [--smoke]        # OUTDIR/env.json
    python benchmarks/gpu/summary.py record OUTDIR NAME RC SECONDS TIMEOUT CMD...
    python benchmarks/gpu/summary.py train-steps OUTDIR SECONDS BATCH DEFAULT_IPS
    python benchmarks/gpu/summary.py dist-info SITE pyproject.toml
    python benchmarks/gpu/summary.py collect OUTDIR               # summary.json + Markdown

``record`` writes OUTDIR/NAME.step.json (exit status, seconds, whether the step ran out of
time, the end of its log when it failed). ``collect`` gathers every JSON of the folder into
OUTDIR/summary.json and prints a Markdown table (also OUTDIR/summary.md) for
docs/performance.md; it exits 1 when a step failed, timed out or was skipped.
Standard library only: it must run even where flashcli does not.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any) -> None:
    """Atomic: a temporary file in the same folder, then a rename."""
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    """The file's JSON, or {"error": ...} when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {"error": f"{path.name}: {type(exc).__name__}: {exc}"}


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- run.sh helpers ---------------------------------------------------------------------


def cmd_env(out: Path, smoke: bool) -> None:
    info: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "smoke": smoke,
                            "python": platform.python_version(), "host_cpus": os.cpu_count()}
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                            text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["git_commit"] = None
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.is_available()
        info["device"] = torch.cuda.get_device_name() if info["cuda"] else platform.processor() or "cpu"
    except Exception as exc:  # noqa: BLE001 - recorded, the steps report their own failures
        info["torch_error"] = f"{type(exc).__name__}: {exc}"
    write_json(out / "env.json", info)


def cmd_record(out: Path, name: str, rc: int, seconds: float, timeout: float, cmd: list[str]) -> None:
    record: dict[str, Any] = {"step": name, "rc": rc, "seconds": round(seconds, 2),
                              "timeout_s": timeout, "timed_out": rc in (124, 137),
                              "command": " ".join(cmd), "log": f"logs/{name}.log"}
    if rc == 125:
        record["skipped"] = "no time left in the script's budget"
    elif rc:
        record["error"] = log_tail(out / "logs" / f"{name}.log")
    write_json(out / f"{name}.step.json", record)


def cmd_train_steps(out: Path, seconds: float, batch: int, default_ips: float) -> int:
    """Steps that fill ``seconds`` at the uncompiled optimized speed measured at ``batch``.

    An unfrozen encoder costs about a third more per image than the frozen one measured."""
    rows = read_json(out / "train_throughput.json").get("results", [])
    speeds = [r["images_per_s"] for r in rows if r.get("mode") == "optimized"
              and r.get("batch") == batch and not r.get("compile") and "images_per_s" in r]
    ips = speeds[0] / 1.35 if speeds else default_ips
    return max(1, int(seconds * ips / batch))


def cmd_dist_info(site: Path, pyproject: Path) -> None:
    """A minimal flashcli dist-info (its plugin entry points) in ``site``, for a checkout on
    PYTHONPATH where ``pip install -e`` could not run (an old setuptools, say)."""
    import tomllib

    project = tomllib.loads(pyproject.read_text())["project"]
    info = site / "flashcli-0+checkout.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: flashcli\nVersion: 0+checkout\n")
    lines = []
    for group, points in {"console_scripts": project.get("scripts", {}),
                          **project.get("entry-points", {})}.items():
        lines += [f"[{group}]"] + [f"{k} = {v}" for k, v in points.items()] + [""]
    (info / "entry_points.txt").write_text("\n".join(lines))


# -- collect ----------------------------------------------------------------------------


def junit(path: Path) -> dict[str, Any]:
    """Counts and the first failures of a pytest JUnit XML file."""
    if not path.is_file():
        return {"error": f"{path.name} missing"}
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        return {"error": f"{path.name}: {exc}"}
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    get = lambda k: int(suite.get(k, 0))  # noqa: E731
    failed = []
    for case in suite.iter("testcase"):
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is not None:
            message = (bad.get("message") or "").strip().splitlines()
            failed.append(f"{case.get('classname')}::{case.get('name')}: {message[0][:200] if message else ''}")
    total, skipped = get("tests"), get("skipped")
    bad_count = get("failures") + get("errors")
    return {"tests": total, "passed": total - skipped - bad_count, "failed": bad_count,
            "skipped": skipped, "seconds": float(suite.get("time", 0)), "failures": failed[:20]}


def _row(item: str, figure: str, value: Any, target: str = "", ok: bool | None = None) -> dict:
    return {"item": item, "figure": figure, "value": value, "target": target,
            "verdict": "" if ok is None else ("met" if ok else "NOT met")}


def _fmt(x: Any, digits: int = 3) -> str:
    return f"{x:.{digits}g}" if isinstance(x, (int, float)) else str(x)


def rows_tests(data: dict) -> list[dict]:
    rows = []
    for key, label in (("pytest_gpu", "GPU tests (-m gpu)"), ("pytest_suite", "suite, --device (not gpu)")):
        t = data.get(key, {})
        if "error" in t:
            rows.append(_row("1", label, t["error"]))
            continue
        value = f"{t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped ({t['seconds']:.0f} s)"
        ran = t["passed"] + t["failed"]
        rows.append(_row("1", label, value, "all pass", t["failed"] == 0 if ran else None))
    return rows


def rows_train(tt: dict) -> list[dict]:
    rows = []
    for r in tt.get("results", []):
        label = f"train {r.get('mode')} b{r.get('batch')} compile {'on' if r.get('compile') else 'off'}"
        if "images_per_s" in r:
            value = (f"{r['images_per_s']:.1f} img/s, {r['tflops']:.3g} TFLOP/s, "
                     f"{r['peak_memory_mib']:.0f} MiB peak, schedule {r['schedule_minutes']:.1f} min")
        else:
            value = r.get("error") or r.get("skipped") or "no result"
        rows.append(_row("2", label, value))
    s = tt.get("summary") or {}
    if s:
        rows.append(_row("2", f"paper schedule (1000 x 969 pairs), best row b{s['best']['batch']}",
                         f"{s['schedule_minutes']:.1f} min", "< 15 min", s["meets_schedule"]))
    if "speedup_vs_eager" in s:
        rows.append(_row("2", f"speed-up over the eager fp32 loop at batch {s.get('eager_batch', '?')}",
                         f"{s['speedup_vs_eager']:.1f}x", ">= 10x", s["meets_10x"]))
    return rows


def rows_relight(rl: dict) -> list[dict]:
    rows = []
    photos = rl.get("photos", [])
    for p in photos:
        wall = (p.get("stages_s") or {}).get("wall")
        rows.append(_row("3", f"relight whole file, {_fmt(p['megapixels'], 2)} MP JPEG", f"{_fmt(wall)} s"))
    if photos:
        big = max(photos, key=lambda p: p["megapixels"])
        dev = big.get("device_part_s") or {}
        if "total_s" in dev:
            ms = 1000 * dev["total_s"]
            rows.append(_row("3", f"relight device part (network + gain), {_fmt(big['megapixels'], 2)} MP",
                             f"{ms:.1f} ms", "< 50 ms", ms < 50))
    return rows


def rows_speed(bl: dict, mt: dict, ev: dict) -> list[dict]:
    rows = []
    for r in bl.get("results", []):
        label = f"{r.get('method')} {r.get('megapixels', '')} MP"
        if "seconds" in r:
            rows.append(_row("4", label, f"{_fmt(r['seconds'])} s", "< 0.5 s", r["seconds"] < 0.5))
        else:
            rows.append(_row("4", label, r.get("error") or r.get("skipped")))
    if "speedup" in mt:
        rows.append(_row("4", f"metrics, {mt['pairs']} pairs {mt['size']}, vs scikit-image",
                         f"{mt['speedup']:.1f}x ({_fmt(mt['flashcli_seconds'])} s)", ">= 50x",
                         mt["speedup"] >= 50))
    if "seconds" in ev:
        rows.append(_row("4", f"eval, {ev['pairs']} pairs, {','.join(ev['methods'])}",
                         f"{ev['seconds']:.2f} s", "< 10 s", ev["seconds"] < 10))
    return rows


def rows_short_run(tr: dict, sc: dict) -> list[dict]:
    rows = []
    if "steps" in tr:
        ips = tr.get("images_per_s")
        rows.append(_row("5", "short training run", f"{tr['steps']} steps in {tr['seconds']:.0f} s"
                         + (f", {ips:.1f} img/s" if ips else "") + f"; weights {tr.get('weights')}"))
    for s in sc.get("summaries", []):
        rows.append(_row("5", f"held-out renders, {s['method']} ({s['images']} pairs)",
                         f"PSNR {s['psnr_mean']:.2f} dB, SSIM {s['ssim_mean']:.4f}"))
    return rows


def collect(out: Path) -> dict[str, Any]:
    """Every JSON of the folder by name, the JUnit files, and the table rows."""
    data: dict[str, Any] = {"steps": {}}
    for path in sorted(out.glob("*.json")):
        if path.name == "summary.json":
            continue
        if path.name.endswith(".step.json"):
            data["steps"][path.name[: -len(".step.json")]] = read_json(path)
        else:
            data[path.stem] = read_json(path)
    for name in ("pytest_gpu", "pytest_suite"):
        data[name] = junit(out / f"{name}.xml")
    scores = read_json(out / "train_scores" / "results.json")
    rows = rows_tests(data) + rows_train(data.get("train_throughput", {}))
    rows += rows_relight(data.get("relight", {}))
    rows += rows_speed(data.get("baselines", {}), data.get("metrics", {}), data.get("eval", {}))
    rows += rows_short_run(data.get("train_short", {}), scores)
    for name, step in data["steps"].items():
        if step.get("rc"):
            why = step.get("skipped") or ("timed out" if step.get("timed_out") else f"exit {step['rc']}")
            rows.append(_row("-", f"step {name}", why))
    if data.get("env", {}).get("smoke"):  # tiny sizes on a CPU: the targets do not apply
        rows = [{**r, "verdict": ""} for r in rows]
    data["train_scores"] = scores
    data["rows"] = rows
    return data


def markdown(data: dict[str, Any]) -> str:
    env = data.get("env", {})
    head = (f"{env.get('date', '?')}, {env.get('device', '?')}, torch {env.get('torch', '?')}, "
            f"commit {(env.get('git_commit') or '?')[:10]}{' (smoke)' if env.get('smoke') else ''}")
    lines = [head, "", "| item | figure | measured | target | verdict |", "|---|---|---|---|---|"]
    for r in data["rows"]:
        value = str(r["value"]).replace("|", "/").replace("\n", " ")
        lines.append(f"| {r['item']} | {r['figure']} | {value} | {r['target']} | {r['verdict']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    verb, out = args[0], Path(args[1])
    if verb == "env":
        cmd_env(out, "--smoke" in args[2:])
    elif verb == "record":
        cmd_record(out, args[2], int(args[3]), float(args[4]), float(args[5]), args[6:])
    elif verb == "dist-info":
        cmd_dist_info(out, Path(args[2]))
    elif verb == "train-steps":
        print(cmd_train_steps(out, float(args[2]), int(args[3]), float(args[4])))
    elif verb == "collect":
        data = collect(out)
        write_json(out / "summary.json", data)
        text = markdown(data)
        tmp = out / ".summary.md.part"
        tmp.write_text(text)
        tmp.replace(out / "summary.md")
        sys.stdout.write(text)
        return 1 if any(step.get("rc") for step in data["steps"].values()) else 0
    else:
        print(f"unknown command {verb!r}: use env, record, train-steps, dist-info or collect", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
