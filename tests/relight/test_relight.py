"""The relight API (flashcli.relight): discovery, planning, the gain and tile paths."""

from __future__ import annotations

import json
import re

import numpy as np
import photo_factory as pf
import pytest
import torch
import torch.nn.functional as F

from flashcli.enhancer import Enhancer, Option
from flashcli.errors import FlashcliError
from flashcli.io.imageio import read_image, read_metadata
from flashcli.ops.upsample import linear_to_srgb, srgb_to_linear
from flashcli.relight import (
    FAILED,
    PROCESSED,
    SKIP_EXISTS,
    SKIP_NO_FLASH,
    SKIP_UNKNOWN,
    WOULD_PROCESS,
    check_template,
    discover,
    output_format,
    plan,
    relight,
)


class Exposure(Enhancer):
    """Test method: a smooth left-to-right exposure ramp in linear light."""

    name = "test-exposure"
    options = (Option("strength", 0.8, "ramp strength"),)
    working_size = 64

    def __init__(self, **options):
        super().__init__(**options)
        self.shapes: list[tuple[int, ...]] = []

    def enhance(self, flash):
        self.shapes.append(tuple(flash.shape))
        return exposure(flash, self.config["strength"])


def exposure(x: torch.Tensor, strength: float = 0.8) -> torch.Tensor:
    w = x.shape[-1]
    gain = 0.4 + strength * torch.linspace(0, 1, w, device=x.device)
    return linear_to_srgb(srgb_to_linear(x) * gain).clamp(0, 1)


class Blur(Enhancer):
    """Test method: a local operator (3x3 box blur), for the tiled path."""

    name = "test-blur"
    working_size = 32

    def enhance(self, flash):
        return blur(flash)


def blur(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)


def edge_pixels(w: int = 160, h: int = 120) -> np.ndarray:
    """Texture plus a sharp vertical edge at an odd column."""
    rng = np.random.default_rng(3)
    base = np.full((h, w, 3), 0.6) + 0.05 * rng.standard_normal((h, w, 3))
    base[:, 87:] *= 0.35
    return np.round(base.clip(0, 1) * 255).astype(np.uint8)


@pytest.fixture
def shoot(tmp_path):
    """A small shoot: fired JPEGs, a DNG, a no-flash and an unknown-flash frame, clutter."""
    d = tmp_path / "shoot"
    (d / "day2").mkdir(parents=True)
    pf.write_jpeg(d / "a.jpg", 48, 32)
    pf.write_jpeg(d / "b.jpg", 48, 32, flash=pf.FLASH_AUTO_FIRED)
    pf.write_jpeg(d / "off.jpg", 48, 32, flash=pf.FLASH_NOT_FIRED)
    pf.write_jpeg(d / "bare.jpg", 48, 32, exif=False)
    pf.write_dng(d / "day2" / "raw.dng", 64, 48)
    (d / "notes.txt").write_text("not a photo")
    pf.write_jpeg(d / ".hidden.jpg", 16, 16)
    return d


# --- discovery and planning ------------------------------------------------------------------

def test_discover_folders_globs_and_files(shoot, tmp_path):
    names = sorted(s.rel.as_posix() for s in discover([shoot]))
    assert names == ["a.jpg", "b.jpg", "bare.jpg", "off.jpg"]
    deep = sorted(s.rel.as_posix() for s in discover([shoot], recursive=True))
    assert "day2/raw.dng" in deep and len(deep) == 5
    globbed = discover([str(shoot / "*.jpg"), shoot / "a.jpg"])
    assert sorted(s.rel.as_posix() for s in globbed) == ["a.jpg", "b.jpg", "bare.jpg", "off.jpg"]
    other = tmp_path / "other"
    other.mkdir()
    pf.write_jpeg(other / "a.jpg", 16, 16)
    both = sorted(s.rel.as_posix() for s in discover([shoot / "a.jpg", other / "a.jpg"]))
    assert both == ["other/a.jpg", "shoot/a.jpg"]
    with pytest.raises(FlashcliError, match="no such file"):
        discover([tmp_path / "missing"])
    with pytest.raises(FlashcliError, match="no files match"):
        discover([str(tmp_path / "*.nef")])


def test_output_format_and_template_rules():
    from pathlib import Path

    assert output_format(Path("x.JPG"), None) == "jpeg"
    assert output_format(Path("x.cr2"), None) == "jpeg"
    assert output_format(Path("x.png"), None) == "png"
    assert output_format(Path("x.tif"), None) == "tiff"
    assert output_format(Path("x.jpg"), None, bit_depth=16) == "tiff"
    assert output_format(Path("x.jpg"), "TIF") == "tiff"
    with pytest.raises(FlashcliError, match="--format gif: unknown format"):
        output_format(Path("x.jpg"), "gif")
    check_template("{stem}-{method}.{ext}")
    for bad, why in (("{stem}_{nope}.{ext}", "unknown field nope"),
                     ("sub/{stem}.{ext}", "must be a file name"), ("{stem", "expected '}'")):
        with pytest.raises(FlashcliError, match=re.escape(f"--template {bad!r}: ") + ".*" + re.escape(why)):
            check_template(bad)


def test_plan_selects_by_flash(shoot, tmp_path):
    out = tmp_path / "out"
    jobs = plan(discover([shoot], recursive=True), out)
    fate = {j.source.rel.as_posix(): (j.result.status if j.result else "todo") for j in jobs}
    assert fate == {"a.jpg": "todo", "b.jpg": "todo", "day2/raw.dng": "todo",
                    "off.jpg": SKIP_NO_FLASH, "bare.jpg": SKIP_UNKNOWN}
    todo = {j.source.rel.as_posix(): j.output for j in jobs if j.result is None}
    assert todo["day2/raw.dng"] == out / "day2" / "raw_ambient.jpg"
    assert todo["a.jpg"] == out / "a_ambient.jpg"
    unknown = plan(discover([shoot]), out, include_unknown=True)
    assert sum(j.result is None for j in unknown) == 3
    every = plan(discover([shoot]), out, select="all")
    assert all(j.result is None for j in every)


def test_plan_never_targets_an_input_and_ignores_own_outputs(shoot):
    (shoot / "a_ambient.jpg").write_bytes((shoot / "a.jpg").read_bytes())  # a previous run
    jobs = plan(discover([shoot]), shoot)
    by_name = {j.source.path.name: j for j in jobs}
    assert "a_ambient.jpg" not in by_name  # not treated as a new input
    assert by_name["a.jpg"].result.status == SKIP_EXISTS
    nested = shoot / "relit"
    nested.mkdir()
    pf.write_jpeg(nested / "old_result.jpg", 16, 16)
    assert all(j.source.path.parent != nested for j in plan(discover([shoot], True), nested))
    with pytest.raises(FlashcliError, match="names each result exactly like its photo") as onto:
        plan(discover([shoot]), shoot, template="{name}", select="all")
    assert onto.value.exit_code == 2  # refused up front, not photo by photo


def test_plan_reports_colliding_outputs(tmp_path):
    pf.write_jpeg(tmp_path / "x.jpg", 16, 16)
    pf.write_dng(tmp_path / "x.dng", 32, 32)
    jobs = plan(discover([tmp_path]), tmp_path / "out")
    statuses = sorted(j.result.status if j.result else "todo" for j in jobs)
    assert statuses == [FAILED, "todo"]
    ok = plan(discover([tmp_path]), tmp_path / "out", template="{stem}_{inext}.{ext}")
    assert all(j.result is None for j in ok)


# --- running ---------------------------------------------------------------------------------

def test_relight_shoot_end_to_end(shoot, tmp_path):
    out = tmp_path / "out"
    seen = []
    report = relight([shoot], out, recursive=True, method="identity", working_size=32,
                     on_result=seen.append)
    assert {f.source.name for f in report.processed} == {"a.jpg", "b.jpg", "raw.dng"}
    assert [f.source.name for f in report.skipped_no_flash] == ["off.jpg"]
    assert [f.source.name for f in report.skipped_unknown] == ["bare.jpg"]
    assert len(seen) == 3 and not report.failed
    meta = read_metadata(out / "a_ambient.jpg")
    assert meta.flash.fired is True and meta.make == "Canon" and meta.orientation == 1
    assert (meta.width, meta.height) == (48, 32)
    raw_out = read_metadata(out / "day2" / "raw_ambient.jpg")
    assert (raw_out.width, raw_out.height) == (64, 48)
    original, _ = read_image(shoot / "a.jpg")
    relit, _ = read_image(out / "a_ambient.jpg")
    assert (relit - original).abs().mean() < 0.02  # identity method
    assert set(report.timings) >= {"decode", "method", "upsample", "encode", "wall"}
    json.dumps(report.to_dict())
    # a second run resumes: everything is already there
    again = relight([shoot], out, recursive=True, method="identity", working_size=32)
    assert len(again.skipped_exists) == 3 and not again.processed


def test_gain_path_matches_method_at_full_resolution(tmp_path):
    data = edge_pixels()
    (tmp_path / "in").mkdir()
    pf.write_png(tmp_path / "in" / "e.png", data=data, exif=True, flash=pf.FLASH_FIRED)
    method = Exposure()
    report = relight([tmp_path / "in"], tmp_path / "out", enhancer=method)
    assert len(report.processed) == 1 and method.shapes == [(1, 3, 48, 64)]
    full = torch.from_numpy(data).permute(2, 0, 1)[None].float() / 255
    expected = exposure(full)[0]
    relit, _ = read_image(tmp_path / "out" / "e_ambient.png")
    err = (relit - expected).abs()
    assert err.mean() < 0.006
    assert err[:, :, 85:90].mean() < 0.012  # the sharp edge survives
    step = (relit[:, :, 86] - relit[:, :, 87]).mean()
    assert step == pytest.approx((expected[:, :, 86] - expected[:, :, 87]).mean().item(), rel=0.1)


def test_tiled_full_resolution_leaves_no_seams(tmp_path):
    data = edge_pixels(150, 100)
    (tmp_path / "in").mkdir()
    pf.write_png(tmp_path / "in" / "t.png", data=data, exif=True, flash=pf.FLASH_FIRED)
    report = relight([tmp_path / "in"], tmp_path / "out", enhancer=Blur(), working_size="full")
    assert report.working_size == "full" and len(report.processed) == 1
    full = torch.from_numpy(data).permute(2, 0, 1)[None].float() / 255
    relit, _ = read_image(tmp_path / "out" / "t_ambient.png")
    assert (relit - blur(full)[0]).abs().max() <= 1 / 255 + 1e-6


class FrameMean(Enhancer):
    """Test method that reads the whole frame: every pixel scaled so the frame's mean
    becomes 0.5 (run in tiles, each tile would get its own scale)."""

    name = "test-frame-mean"
    working_size = 32
    whole_frame = True

    def __init__(self, **options):
        super().__init__(**options)
        self.shapes: list[tuple[int, ...]] = []

    def enhance(self, flash):
        self.shapes.append(tuple(flash.shape))
        return (flash * (0.5 / flash.mean((-3, -2, -1), keepdim=True))).clamp(0, 1)


def test_whole_frame_methods_are_not_tiled_at_full_resolution(tmp_path):
    data = edge_pixels(150, 100)
    (tmp_path / "in").mkdir()
    pf.write_png(tmp_path / "in" / "t.png", data=data, exif=True, flash=pf.FLASH_FIRED)
    method = FrameMean()
    relight([tmp_path / "in"], tmp_path / "out", enhancer=method, working_size="full")
    assert method.shapes == [(1, 3, 100, 150)]  # once, the whole photo
    full = torch.from_numpy(data).permute(2, 0, 1)[None].float() / 255
    relit, _ = read_image(tmp_path / "out" / "t_ambient.png")
    assert (relit - (full * 0.5 / full.mean()).clamp(0, 1)[0]).abs().max() <= 1 / 255 + 1e-6
    tiled = FrameMean()
    tiled.whole_frame = False  # the same method, tiled: 32 px tiles, each scaled on its own
    relight([tmp_path / "in"], tmp_path / "tiled", enhancer=tiled, working_size="full")
    assert len(tiled.shapes) > 1 and all(max(s[-2:]) <= 32 for s in tiled.shapes)


def test_batches_same_size_frames_and_reports_failures(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for i in range(3):
        pf.write_jpeg(d / f"f{i}.jpg", 96, 64, data=pf.pixels(96, 64, kind="noise", seed=i))
    pf.write_jpeg(d / "small.jpg", 40, 30)
    pf.write_truncated(d / "trunc.jpg")
    pf.write_corrupt(d / "corrupt.jpg")
    method = Exposure()
    report = relight([d], tmp_path / "out", enhancer=method, batch_size=4, workers=2)
    assert {f.source.name for f in report.processed} == {"f0.jpg", "f1.jpg", "f2.jpg", "small.jpg"}
    assert {f.source.name for f in report.failed} == {"trunc.jpg", "corrupt.jpg"}
    assert all(f.reason for f in report.failed)
    assert (3, 3, 43, 64) in method.shapes  # the three same-size frames in one batch
    assert (1, 3, 30, 40) in method.shapes  # small enough: run at full size
    assert not list((tmp_path / "out").glob(".*part*"))


def test_icc_and_orientation_are_honoured(tmp_path):
    icc = pf.srgb_icc()
    pf.write_jpeg(tmp_path / "turned.jpg", 48, 32, orientation=6, icc=icc)
    report = relight([tmp_path / "turned.jpg"], tmp_path / "out", enhancer=Exposure())
    meta = read_metadata(report.processed[0].output)
    assert (meta.width, meta.height, meta.orientation) == (32, 48, 1)
    assert meta.icc_profile == icc


def test_memory_budget_still_processes_everything(tmp_path, monkeypatch):
    import flashcli.relight.run as rl

    monkeypatch.setattr(rl, "IN_FLIGHT_MEGAPIXELS", 0.001)
    d = tmp_path / "in"
    d.mkdir()
    for i in range(4):
        pf.write_jpeg(d / f"f{i}.jpg", 96, 64)
    method = Exposure()
    report = relight([d], tmp_path / "out", enhancer=method, batch_size=4, workers=2)
    assert len(report.processed) == 4
    assert all(shape[0] == 1 for shape in method.shapes)  # one photo held at a time


def test_dry_run_writes_nothing_and_16_bit_tiff(shoot, tmp_path):
    out = tmp_path / "out"
    report = relight([shoot], out, method="identity", dry_run=True)
    assert report.dry_run and len(report.with_status(WOULD_PROCESS)) == 2 and not out.exists()
    assert all("flash fired" in f.reason for f in report.with_status(WOULD_PROCESS))
    deep = relight([shoot / "a.jpg"], out, method="identity", bit_depth=16)
    assert deep.processed[0].output.suffix == ".tif"
    assert read_metadata(out / "a_ambient.tif").bit_depth == 16
    with pytest.raises(FlashcliError, match="8-bit only"):
        relight([shoot], out, method="identity", bit_depth=16, format="jpeg")
    with pytest.raises(FlashcliError, match="unknown option"):
        relight([shoot], out, method="identity", options={"nope": "1"})
    with pytest.raises(FlashcliError, match="no photos found"):
        relight([shoot / "notes.txt"], out, method="identity")


def test_overwrite_replaces_and_status_constants(shoot, tmp_path):
    out = tmp_path / "out"
    relight([shoot / "a.jpg"], out, enhancer=Exposure())
    first = (out / "a_ambient.jpg").read_bytes()
    report = relight([shoot / "a.jpg"], out, enhancer=Exposure(strength=0.1), overwrite=True)
    assert report.processed[0].status == PROCESSED
    assert (out / "a_ambient.jpg").read_bytes() != first


def test_example_shoot_shows_the_skip_logic():
    from pathlib import Path

    shoot = Path(__file__).resolve().parents[2] / "examples" / "shoot"
    report = relight([shoot], shoot.parent / "relit", method="identity", dry_run=True)
    counts = report.counts()
    assert counts[WOULD_PROCESS] == 4 and counts[SKIP_NO_FLASH] == 1 and counts[SKIP_UNKNOWN] == 1
    assert sum(p.stat().st_size for p in shoot.iterdir()) < 300_000


@pytest.mark.gpu
def test_relight_on_cuda_with_amp(tmp_path):
    data = edge_pixels()
    (tmp_path / "in").mkdir()
    pf.write_png(tmp_path / "in" / "e.png", data=data, exif=True, flash=pf.FLASH_FIRED)
    report = relight([tmp_path / "in"], tmp_path / "out", enhancer=Exposure().to("cuda"))
    assert report.device.startswith("cuda") and len(report.processed) == 1
    full = torch.from_numpy(data).permute(2, 0, 1)[None].float() / 255
    relit, _ = read_image(tmp_path / "out" / "e_ambient.png")
    assert (relit - exposure(full)[0]).abs().mean() < 0.006


def test_first_decodes_start_before_torch_is_imported(tmp_path):
    """Start-up overlap: in a fresh process the first photos are queued for decoding (Pillow
    and NumPy only) before torch is imported."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for name in ("a", "b"):
        pf.write_jpeg(shoot / f"{name}.jpg", 48, 32)
    code = f"""
import sys
import flashcli.relight.run as run
seen = {{}}
start = run._Runner.start
def spy_start(self, jobs):
    seen.setdefault("start", "torch" in sys.modules)
    return start(self, jobs)
run._Runner.start = spy_start
report = run.relight([{str(shoot)!r}], {str(tmp_path / "out")!r}, method="identity", device="cpu")
print(seen["start"], sorted(f.status for f in report.files))
"""
    paths = [str(root), str(root / "plugins"), os.environ.get("PYTHONPATH", "")]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "False"  # torch not imported when the decodes were queued
    assert done.stdout.split()[1:] == ["['processed',", "'processed']"]
