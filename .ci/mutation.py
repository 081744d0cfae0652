#!/usr/bin/env python3
"""Mutation check of the tests (issue 26): are they able to see a broken photo?

Applies small deliberate mistakes ("mutations") to the modules that touch pixels, options
and metrics, one at a time, on a temporary copy of the working tree, runs the test files
relevant to each, and reports which mutations the tests caught (a test failed) and which
survived (every test passed). Not run in CI: a full run takes 15-25 minutes on 2 cores.

    python .ci/mutation.py                      # all mutations; table on stdout
    python .ci/mutation.py --json result.json   # also the results as JSON
    python .ci/mutation.py --only look-strength-clamped,raw-8bit-decode
    python .ci/mutation.py --list               # the mutations, nothing run
    python .ci/mutation.py --check              # each mutation still applies to the source

The copy is made from the files git lists (tracked and untracked, not ignored) into a
temporary folder; the tests run there with the copy first on PYTHONPATH, so neither the
working tree nor the editable install is touched. A baseline run of every selected test
file on the unmutated copy comes first (skip it with --no-baseline): a mutation is only
"caught" if the same tests pass without it. docs/testing.md has the last result.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Test files, by what they check.
FID = "tests/relight/test_fidelity.py"
OPT = "tests/cli/test_option_wiring.py"
REFIT = "plugins/flashcli_guided_cgan/tests/test_refit_reference.py"
GAIN = "plugins/flashcli_guided_cgan/tests/test_gain_output.py"
IMAGEIO = "tests/io/test_imageio.py"
EXIF = "tests/io/test_exif.py"
UPSAMPLE = "tests/ops/test_upsample.py"
LOOK = "tests/ops/test_look.py"
RELIGHT = "tests/relight/test_relight.py"
RELIGHT_CLI = "tests/relight/test_relight_cli.py"
EVAL_CLI = "tests/eval/test_eval_cli.py"
STRENGTH = "tests/relight/test_strength_and_weights.py"
METRICS = "tests/ops/test_metrics.py"
FALLOFF = "plugins/flashcli_guided_cgan/tests/test_falloff.py"
EVAL_SIZE = "tests/eval/test_eval_working_size.py"
EVAL_TILES = "tests/eval/test_eval_working_size.py::test_full_resolution_is_tiled_as_relight_tiles_it"


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    what: str


def m(name, path, old, new, tests, what) -> Mutation:
    return Mutation(name, path, old, new, tuple(tests), what)


IO, RAW, EX = "flashcli/io/imageio.py", "flashcli/io/raw.py", "flashcli/io/exif.py"
UP, LK, RUN, PLAN = "flashcli/ops/upsample.py", "flashcli/ops/look.py", "flashcli/relight/run.py", "flashcli/relight/plan.py"
MET, ENH = "flashcli/ops/metrics.py", "flashcli/enhancer.py"
CR, CE = "flashcli/commands/relight.py", "flashcli/commands/eval.py"
GC, GNET = "plugins/flashcli_guided_cgan/__init__.py", "plugins/flashcli_guided_cgan/networks.py"

MUTATIONS: list[Mutation] = [
    # --- reading and writing photos
    m("imageio-16bit-to-256-levels", IO,
      '        scale = 65535.0\n    elif arr.dtype.kind in "iu":',
      '        arr, scale = arr // 257 * 257, 65535.0\n    elif arr.dtype.kind in "iu":',
      [FID, IMAGEIO], "16-bit sources quantised to 256 levels on decode"),
    m("imageio-tiff16-drops-exif-icc", IO,
      "            _write_tiff(tmp, arr, exif, icc)",
      "            _write_tiff(tmp, arr, exif if arr.dtype == np.uint8 else _exif.output_exif(None), "
      "icc if arr.dtype == np.uint8 else None)",
      [FID, IMAGEIO], "--bit-depth 16 outputs lose the source's EXIF and ICC"),
    m("imageio-16bit-output-darker", IO,
      "    top = 255 if bit_depth == 8 else 65535",
      "    top = 255 if bit_depth == 8 else 65280",
      [FID, IMAGEIO], "16-bit output scaled to 65280 instead of 65535"),
    m("imageio-jpeg-quality-ignored", IO,
      '                options["quality"] = int(quality)',
      '                options["quality"] = 95',
      [OPT, IMAGEIO], "write_image ignores quality"),
    m("imageio-icc-dropped-jpeg-png", IO,
      '            if icc:\n                options["icc_profile"] = icc',
      '            if False:\n                options["icc_profile"] = icc',
      [IMAGEIO, FID], "JPEG/PNG outputs lose the ICC profile"),
    m("imageio-max-pixels-ignored", IO,
      "    limit = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)",
      "    limit = DEFAULT_MAX_PIXELS",
      [OPT, IMAGEIO], "the pixel limit ignores max_pixels"),
    m("imageio-raw-exif-dropped", RAW,
      "    meta.exif_block = exif.build_exif_block(tags)",
      "    meta.exif_block = None",
      [FID], "RAW relight outputs lose the camera's EXIF block"),
    m("raw-8bit-decode", RAW, "output_bps=16", "output_bps=8",
      [FID, IMAGEIO], "RAW decoded at 8 bits"),
    m("raw-auto-bright", RAW, "no_auto_bright=True", "no_auto_bright=False",
      [FID, IMAGEIO], "RAW decode brightened automatically (exposure not as shot)"),
    m("exif-orientation-kept", EX, "    exif[TAG_ORIENTATION] = 1\n", "    pass\n",
      [EXIF, IMAGEIO], "outputs keep the source's Orientation (rotated twice by viewers)"),
    m("exif-software-not-marked", EX,
      '    exif[TAG_SOFTWARE] = f"{SOFTWARE_MARK} {__version__}"', "    pass",
      [FID, EXIF], "outputs not marked Software=flashcli (relit again next run)"),
    m("exif-fallback-flash-dropped", EX,
      "        if meta.flash.raw is not None:\n            exif.get_ifd(TAG_EXIF_IFD)[TAG_FLASH] = meta.flash.raw",
      "        pass",
      [FID, EXIF, IMAGEIO], "outputs of sources without an EXIF block lose the Flash tag"),
    # --- carrying the gain to full resolution
    m("upsample-no-clamp", UP, "            gain.clamp_(min=low, max=high)", "            pass",
      [UPSAMPLE, FID], "float gain not clamped to the fitted range"),
    m("upsample-u8-floor", UP,
      "        lin.add_(floor).mul_(gain).sub_(floor)\n        lin.clamp_(0.0, 1.0).sqrt_()",
      "        lin.add_(floor).mul_(gain)\n        lin.clamp_(0.0, 1.0).sqrt_()",
      [FID, UPSAMPLE], "8-bit gain path forgets to remove the floor"),
    m("upsample-eps", UP, "EPS = 1e-3", "EPS = 1e-1", [REFIT, UPSAMPLE],
      "guided-filter regularisation 100x too strong"),
    m("upsample-box-window", UP, "    hi = (idx + radius + 1).clamp(max=n)",
      "    hi = (idx + radius).clamp(max=n)", [REFIT, UPSAMPLE], "box window one pixel short"),
    # --- the guided cGAN
    m("guided-refit-radius-ignored", GC, "fit_gain(flash, out, radius=c.refine_radius)",
      "fit_gain(flash, out)", [REFIT, GAIN], "the refit ignores refine_radius"),
    m("guided-camera-share-ignored", GNET,
      "        total = camera * levels.float()[:, :, None, None] + spatial * field",
      "        total = levels.float()[:, :, None, None] + spatial * field",
      [GAIN], "the camera option is not applied"),
    m("guided-falloff-share-ignored", GNET,
      "            total = total + falloff * self.falloff(flash, feats)",
      "            total = total + self.falloff(flash, feats)",
      [FALLOFF], "the falloff option is not applied"),
    m("falloff-radial-not-round", "plugins/flashcli_guided_cgan/falloff.py",
      "    r2 = (ys[:, None] ** 2 + xs[None, :] ** 2) / ((height / 2) ** 2 + (width / 2) ** 2)",
      "    r2 = ((ys[:, None] / height) ** 2 + (xs[None, :] / width) ** 2) * 2",
      [FALLOFF], "the fall-off's radial map is stretched to the frame, not round"),
    # --- eval
    m("eval-working-size-ignored", "flashcli/evaluation/score.py",
      '        if max(h, w) <= size:',
      '        if True:',
      [EVAL_SIZE], "eval runs every method on the whole photo"),
    m("eval-full-untiled", "flashcli/evaluation/score.py",
      "            if tile is None or max(h, w) <= tile:",
      "            if True:",
      [EVAL_TILES], "eval at full resolution runs every method whole, where relight tiles it"),
    # --- the look
    m("look-strength-clamped", LK,
      "        return Look(float(self.strength), float(self.exposure), parse_white_balance(self.white_balance))",
      "        return Look(min(float(self.strength), 1.0), float(self.exposure), "
      "parse_white_balance(self.white_balance))",
      [FID, LOOK, OPT], "Look.validate clamps the strength to 1"),
    m("run-strength-clamped", RUN,
      "        return Look(float(self.strength), float(self.exposure), self.white_balance)",
      "        return Look(min(float(self.strength), 1.0), float(self.exposure), self.white_balance)",
      [FID, STRENGTH], "relight's --strength silently clamped to 1 (RelightConfig.look)"),
    m("look-strength0-off-by-one", LK, "        result = flash.clone()",
      "        result = (flash + 1 / 255).clamp(0, 1)", [FID, LOOK],
      "--strength 0 one level off"),
    m("look-exposure-sign", LK, "    return lin * 2.0 ** look.exposure",
      "    return lin * 2.0 ** -look.exposure", [OPT, LOOK], "--exposure goes the wrong way"),
    m("look-kelvin-ignored", LK,
      "    return cast(float(white_balance)).to(cast_now).expand_as(cast_now)",
      "    return cast_now", [OPT, LOOK], "--white-balance KELVIN ignored"),
    m("look-flash-wb-ignored", LK,
      '    if white_balance == "flash":\n        return torch.zeros_like(cast_now)',
      '    if white_balance == "flash":\n        return cast_now', [OPT, LOOK],
      "--white-balance flash keeps the method's cast"),
    # --- the relight run
    m("run-direct-off-by-one-at-strength-0", RUN,
      "            return [(o.cpu(), look) for o, look in zip(out, looks, strict=True)]",
      "            return [((o + (0.6 / 255 if self.look.strength == 0 else 0)).clamp(0, 1).cpu(), look)"
      " for o, look in zip(out, looks, strict=True)]",
      [FID, STRENGTH, RELIGHT], "the direct path one level off at --strength 0"),
    m("run-max-pixels-dropped", RUN, "        self.max_pixels = config.max_pixels",
      "        self.max_pixels = None", [OPT, RELIGHT], "RelightConfig.max_pixels not used"),
    m("run-quality-dropped", RUN,
      "        self.quality, self.bit_depth = config.quality, config.bit_depth",
      "        self.quality, self.bit_depth = 95, config.bit_depth", [OPT, RELIGHT],
      "RelightConfig.quality not used"),
    m("run-tiled-no-look", RUN,
      "                    y, looks = self._looked(x[None].to(y.device), y.clamp_(0.0, 1.0))",
      "                    looks = self._looked(x[None].to(y.device), y.clamp_(0.0, 1.0))[1]",
      [FID, RELIGHT], "the tiled path forgets the look (strength, exposure, white balance)"),
    m("run-gain-no-look", RUN,
      "            lo_out, looks = self._looked(lo_in, self._method(lo_in))",
      "            lo_out = self._method(lo_in)\n            looks = self._looked(lo_in, lo_out)[1]",
      [FID, RELIGHT], "the gain path forgets the look"),
    m("plan-16bit-not-tiff", IO,
      "    return holding[0] if len(holding) == 1 else None",
      "    return None", [FID, RELIGHT],
      "--bit-depth 16 without --format does not pick TIFF"),
    m("plan-all-ignored", PLAN,
      '        if select == "all":\n            return None, f"flash did not fire',
      '        if False:\n            return None, f"flash did not fire', [RELIGHT_CLI, RELIGHT],
      "--all does not relight frames shot without flash"),
    # --- options, from the command line to the method
    m("opt-values-dropped", ENH, "        config[name] = known[name].parse(value)",
      "        known[name].parse(value)", [OPT, FID], "--opt values checked, then dropped"),
    m("cmd-relight-quality", CR, "format=fmt, quality=quality,", "format=fmt, quality=95,",
      [OPT, RELIGHT_CLI], "relight --quality ignored"),
    m("cmd-relight-bit-depth", CR, "bit_depth=int(bit_depth),", "bit_depth=8,",
      [FID, RELIGHT_CLI], "relight --bit-depth ignored"),
    m("cmd-relight-max-pixels", CR, "        max_pixels=max_pixels, strength=strength,",
      "        max_pixels=None, strength=strength,", [OPT, RELIGHT_CLI],
      "relight --max-pixels ignored"),
    m("cmd-relight-strength", CR, "max_pixels=max_pixels, strength=strength,",
      "max_pixels=max_pixels, strength=min(strength, 1.0),", [FID, STRENGTH],
      "relight --strength clamped to 1 by the command"),
    m("cmd-relight-exposure", CR, "strength=strength, exposure=exposure,",
      "strength=strength, exposure=0.0,", [OPT, RELIGHT_CLI], "relight --exposure ignored"),
    m("cmd-relight-white-balance", CR, "exposure=exposure, white_balance=white_balance,",
      'exposure=exposure, white_balance="auto",', [OPT, RELIGHT_CLI],
      "relight --white-balance ignored"),
    m("cmd-eval-strength", CE, "metrics=_metric_names(metrics, no_loe), strength=strength,",
      "metrics=_metric_names(metrics, no_loe), strength=1.0,", [OPT, EVAL_CLI],
      "eval --strength ignored"),
    m("cmd-eval-split", CE, "split=split, category=category", 'split="test", category=category',
      [OPT, EVAL_CLI], "eval --split ignored"),
    m("cmd-eval-baseline", CE, "quantize=not no_quantize, baseline=base,",
      "quantize=not no_quantize, baseline=True,", [OPT, EVAL_CLI], "eval --baseline ignored"),
    m("cmd-eval-opt-values", CE, "parse_options(opts, names), config",
      "{k: {} for k in parse_options(opts, names)}, config",
      [OPT, EVAL_CLI], "eval --opt values dropped"),
    m("cmd-eval-exposure", CE, "        exposure=exposure, white_balance=white_balance, working_size=working_size)",
      "        exposure=0.0, white_balance=white_balance, working_size=working_size)", [OPT, STRENGTH],
      "eval --exposure ignored"),
    m("cmd-relight-working-size", CR, "working_size=working_size, template=template",
      "working_size=None, template=template", [OPT, RELIGHT_CLI], "relight --working-size ignored"),
    m("cmd-relight-include-unknown", CR, "include_unknown=include_unknown, include_relit",
      "include_unknown=False, include_relit", [FID, RELIGHT_CLI], "relight --include-unknown ignored"),
    m("cmd-relight-format", CR, "template=template, format=fmt,", "template=template, format=None,",
      [FID, RELIGHT_CLI], "relight --format ignored"),
    m("cmd-eval-limit", CE, "category=category, limit=limit,", "category=category, limit=None,",
      [EVAL_CLI, OPT], "eval --limit ignored"),
    m("cmd-eval-no-quantize", CE, "quantize=not no_quantize,", "quantize=True,",
      [EVAL_CLI, OPT], "eval --no-quantize ignored"),
    m("imageio-orientation-6-as-8", IO, "        return torch.rot90(x, -1, (-2, -1))",
      "        return torch.rot90(x, 1, (-2, -1))", [IMAGEIO, FID],
      "EXIF Orientation 6 turned the wrong way"),
    # --- metrics
    m("metrics-psnr-plus-half-db", MET, "    return 10.0 * torch.log10(1.0 / mse)",
      "    return 10.0 * torch.log10(1.0 / mse) + 0.5", [OPT, EVAL_CLI],
      "PSNR 0.5 dB too high"),
    m("metrics-quantize-no-round", MET,
      "    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0",
      "    return x.clamp(0.0, 1.0)", [METRICS, OPT], "outputs scored unquantised"),
]


def copy_tree(dest: Path) -> None:
    """The working tree as git sees it (tracked and untracked, not ignored) into ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file() and not src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def run_tests(tree: Path, tests: tuple[str, ...] | list[str], timeout: float,
              stop_first: bool = True) -> tuple[str, str, float]:
    """(outcome, first failing test or note, seconds): passed, failed, error or timeout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tree), str(tree / "plugins"), str(tree / "tests"), os.environ.get("PYTHONPATH", "")]),
        "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
           "--tb=no", "-rf", *(["-x"] if stop_first else []), *tests]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", f"over {timeout:.0f} s", time.monotonic() - start
    took = time.monotonic() - start
    failed = re.findall(r"^FAILED (\S+)", proc.stdout, re.M)
    if proc.returncode == 0:
        return "passed", "", took
    if proc.returncode == 1 and failed:
        return "failed", failed[0], took
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["?"]
    return "error", f"pytest exit {proc.returncode}: {tail[0][:120]}", took


def check(mutations: list[Mutation]) -> list[str]:
    problems = []
    for mu in mutations:
        n = (ROOT / mu.path).read_text().count(mu.old)
        if n != 1:
            problems.append(f"{mu.name}: the text to mutate occurs {n} times in {mu.path}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma-separated mutation names")
    ap.add_argument("--json", dest="json_path", help="also write the results here as JSON")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    ap.add_argument("--check", action="store_true", help="check every mutation applies, and exit")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per mutation (default 600)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = ap.parse_args(argv)

    chosen = MUTATIONS
    if args.only:
        names = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = names - {mu.name for mu in MUTATIONS}
        if unknown:
            ap.error(f"unknown mutation(s): {', '.join(sorted(unknown))}")
        chosen = [mu for mu in MUTATIONS if mu.name in names]
    if args.list:
        for mu in chosen:
            print(f"{mu.name:38} {mu.path:42} {mu.what}")
        return 0
    problems = check(chosen)
    if args.check or problems:
        print("\n".join(problems) or f"all {len(chosen)} mutations apply")
        return 1 if problems else 0

    tmp = Path(tempfile.mkdtemp(prefix="flashcli-mutation-"))
    results = []
    try:
        copy_tree(tmp)
        if not args.no_baseline:
            tests = sorted({t for mu in chosen for t in mu.tests})
            outcome, note, took = run_tests(tmp, tests, args.timeout * 3, stop_first=False)
            print(f"baseline ({len(tests)} test files): {outcome} in {took:.0f} s {note}", flush=True)
            if outcome != "passed":
                print("the tests fail without any mutation; fix them first", file=sys.stderr)
                return 2
        for i, mu in enumerate(chosen, 1):
            target = tmp / mu.path
            original = target.read_text()
            target.write_text(original.replace(mu.old, mu.new, 1))
            try:
                outcome, note, took = run_tests(tmp, mu.tests, args.timeout)
            finally:
                target.write_text(original)
            status = {"failed": "caught", "passed": "SURVIVED"}.get(outcome, f"caught ({outcome})")
            results.append({"name": mu.name, "file": mu.path, "what": mu.what,
                            "tests": list(mu.tests), "status": status.split(" ")[0].lower(),
                            "detail": status, "caught_by": note, "seconds": round(took, 1)})
            print(f"[{i:2}/{len(chosen)}] {status:16} {mu.name:38} {took:5.0f} s  {note}", flush=True)
    finally:
        if args.keep:
            print(f"copy kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    caught = sum(r["status"] == "caught" for r in results)
    print()
    print("| mutation | file | result | caught by |")
    print("|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['file']} | {r['detail']} | {r['caught_by'] or '-'} |")
    print(f"\n{caught} of {len(results)} caught ({100 * caught / max(1, len(results)):.0f} %)")
    survivors = [r["name"] for r in results if r["status"] == "survived"]
    if survivors:
        print("survived: " + ", ".join(survivors))
    summary = {"caught": caught, "total": len(results), "survived": survivors, "results": results}
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(summary, indent=2) + "\n")
    else:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
