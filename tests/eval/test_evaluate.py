"""flashcli.evaluation (scoring and report) on generated PNG pairs."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from flashcli import evaluation as ev
from flashcli.errors import FlashcliError, WeightsError
from flashcli.evaluation import pairs as ev_pairs
from flashcli.evaluation import plan as ev_plan
from flashcli.evaluation import score as ev_score
from flashcli.evaluation.report import (
    CAPTION,
    HEADER,
    PAD,
    contact_sheets,
    ordered_methods,
    table_markdown,
    write_report,
)
from flashcli.ops import metrics
from flashcli.weights import save_weights


def ambient_pixels(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 40 + 100 * xx / max(w - 1, 1) + 30 * (yy > h // 2)
    img = np.stack([base, base * 0.9, 160 - base * 0.5], axis=-1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def flash_of(ambient: np.ndarray) -> np.ndarray:
    return np.clip(np.round(ambient * 1.5 + 25), 0, 255).astype(np.uint8)


def make_dataset(root: Path, sizes=((24, 32), (24, 32), (24, 32), (27, 35)), split: str = "test",
                 category: str = "People") -> Path:
    """ROOT/<split>/<Category>_<NNN>_{flash,ambient}.png (docs/method.md, "Data: FAID")."""
    folder = root / split
    folder.mkdir(parents=True, exist_ok=True)
    for i, (h, w) in enumerate(sizes):
        amb = ambient_pixels(h, w, i)
        Image.fromarray(amb).save(folder / f"{category}_{i:03d}_ambient.png")
        Image.fromarray(flash_of(amb)).save(folder / f"{category}_{i:03d}_flash.png")
    return root


def direct_scores(path_flash: Path, path_ambient: Path) -> tuple[float, float]:
    f = torch.from_numpy(np.array(Image.open(path_flash))).permute(2, 0, 1)[None] / 255.0
    a = torch.from_numpy(np.array(Image.open(path_ambient))).permute(2, 0, 1)[None] / 255.0
    return float(metrics.psnr(f, a)), float(metrics.ssim(f, a))


def unet_weights(path: Path) -> Path:
    from flashcli_unet import UNetEnhancer

    torch.manual_seed(0)
    net = UNetEnhancer(width=0.125)
    return save_weights(path, net.state_dict(), {"method": "unet", "options": {"width": 0.125}})


def test_identity_scores_equal_the_metrics_computed_directly(tmp_path):
    root = make_dataset(tmp_path / "ds")
    result = ev.evaluate(root, ["identity"], progress=False, batch_size=2)
    assert result.failures == []
    assert [s.stem for s in result.scores] == [f"People_{i:03d}" for i in range(4)]
    for s in result.scores:
        p, q = direct_scores(root / "test" / f"{s.stem}_flash.png",
                             root / "test" / f"{s.stem}_ambient.png")
        assert s.values["psnr"] == pytest.approx(p, abs=1e-9)
        assert s.values["ssim"] == pytest.approx(q, abs=1e-9)
        assert s.values["loe"] is not None and s.values["loe"] >= 0
        assert s.category == "People"
    summary = result.summaries["identity"]
    psnrs = [s.values["psnr"] for s in result.scores]
    assert summary.images == 4
    assert summary.mean["psnr"] == pytest.approx(float(np.mean(psnrs)))
    assert summary.std["psnr"] == pytest.approx(float(np.std(psnrs, ddof=1)))
    assert result.comparisons == []  # identity is the baseline itself


def test_eval_scores_worked_out_by_hand(tmp_path):
    # Two pairs whose scores need no metric code to work out (identity scores the flash).
    folder = tmp_path / "ds" / "test"
    folder.mkdir(parents=True)
    # 1. Ambient grey level 100; the flash is 51 levels (exactly 0.2) brighter on the top
    #    4 of 16 rows: MSE = 0.2^2 / 4 = 0.01, PSNR = 10 log10(1 / 0.01) = 20 dB.
    amb = np.full((16, 16, 3), 100, np.uint8)
    flash = amb.copy()
    flash[:4] = 151
    Image.fromarray(amb).save(folder / "Toys_000_ambient.png")
    Image.fromarray(flash).save(folder / "Toys_000_flash.png")
    # 2. Ambient white; the flash is black on the top half. PSNR: an error of 1 on half the
    #    values, 10 log10(2) = 3.0103 dB. The white half fits a gain of 1, so PSNR-WB is the
    #    same. dE00: black (L* 0) against white (L* 100) is 100 at mean L* 50 (S_L = 1; a*,
    #    b* of white are within 0.005 of 0), on half the pixels: 50.
    amb = np.full((16, 16, 3), 255, np.uint8)
    flash = amb.copy()
    flash[:8] = 0
    Image.fromarray(amb).save(folder / "Toys_001_ambient.png")
    Image.fromarray(flash).save(folder / "Toys_001_flash.png")
    result = ev.evaluate(tmp_path / "ds", ["identity"], progress=False)
    first, second = (s.values for s in result.scores)
    assert first["psnr"] == pytest.approx(20.0, abs=1e-5)  # eval's pixels are float32
    assert second["psnr"] == pytest.approx(3.0103, abs=1e-4)
    assert second["psnr_wb"] == pytest.approx(3.0103, abs=1e-4)
    assert second["de2000"] == pytest.approx(50.0, abs=1e-3)
    assert result.summaries["identity"].mean["psnr"] == pytest.approx((20.0 + 3.0103) / 2,
                                                                      abs=1e-4)


def test_limit_category_and_split(tmp_path):
    root = make_dataset(tmp_path / "ds")
    make_dataset(root, sizes=((20, 22),), category="Toys")
    make_dataset(root, sizes=((20, 22),), split="train", category="Rooms")
    assert len(ev.evaluate(root, ["identity"], progress=False, limit=2).scores) == 2
    only = ev.evaluate(root, ["identity"], progress=False, category="toys")
    assert [s.stem for s in only.scores] == ["Toys_000"]
    train = ev.evaluate(root, ["identity"], progress=False, split="train")
    assert [s.stem for s in train.scores] == ["Rooms_000"]


def test_unknown_method_lists_the_available_ones(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16),))
    with pytest.raises(FlashcliError, match=r"unknown method 'nope'.*identity") as info:
        ev.evaluate(root, ["identity", "nope"], progress=False)
    assert "\n" not in info.value.message


def test_missing_weights_fail_before_any_image_is_read(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16),))

    def no_reading(pair):
        raise AssertionError("images were read before the weights were checked")

    monkeypatch.setattr(ev_score, "load_pair_uint8", no_reading)
    monkeypatch.setattr(ev_pairs, "check_pairs", no_reading)
    with pytest.raises(WeightsError, match="unet needs weights"):
        ev.evaluate(root, ["identity", "unet"], progress=False)
    with pytest.raises(FlashcliError, match="not among the methods"):
        ev.evaluate(root, ["identity"], weights={"unet": "x.safetensors"}, progress=False)


def test_trained_method_is_scored_and_paired_with_the_baseline(tmp_path):
    root = make_dataset(tmp_path / "ds")
    weights = unet_weights(tmp_path / "unet.safetensors")
    result = ev.evaluate(root, ["unet"], weights={"unet": weights}, progress=False,
                         batch_size=3, metrics=("psnr", "ssim"))
    assert result.methods == ["identity", "unet"]  # the baseline is added
    assert len(result.scores) == 8
    base = result.score_table("identity")
    mine = result.score_table("unet")
    (comp,) = result.comparisons
    assert comp.method == "unet" and comp.baseline == "identity" and comp.images == 4
    diffs = [mine[s].values["psnr"] - base[s].values["psnr"] for s in base]
    assert comp.diff["psnr"] == pytest.approx(float(np.mean(diffs)))
    assert comp.wins["psnr"] == sum(d > 0 for d in diffs)
    assert comp.wins["ssim"] == sum(mine[s].values["ssim"] > base[s].values["ssim"] for s in base)
    assert all(s.values.get("loe") is None for s in result.scores)
    assert result.metrics == ["psnr", "ssim"]
    assert result.config["options"]["unet"]["width"] == 0.125


def test_lower_is_better_metrics_are_paired_the_right_way_round():
    def score(stem, method, de, wb):
        return ev.ImageScore(stem, method, {"de2000": de, "psnr_wb": wb}, 0.0)

    scores = [score("a", "base", 4.0, 20.0), score("a", "m", 3.0, 21.0),
              score("b", "base", 4.0, 20.0), score("b", "m", 5.0, 19.0),
              score("c", "base", 4.0, 20.0), score("c", "m", 1.0, math.inf)]
    comp = ev.compare(scores, "m", "base", metrics.select("de2000,psnr_wb"))
    assert comp.images == 3
    assert comp.wins == {"de2000": 2, "psnr_wb": 2}  # lower dE00 wins, higher PSNR-WB wins
    assert comp.diff["de2000"] == pytest.approx(-1.0)  # (-1 + 1 - 3) / 3: a gain is negative
    assert comp.diff["psnr_wb"] == pytest.approx(0.0)  # the infinite one is left out


def test_outputs_are_quantised_unless_asked_not_to(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "ds", sizes=((16, 20),))
    seen = []
    real = metrics.METRICS["psnr"]

    def spy(a, b):
        seen.append(a.clone())
        return real.function(a, b)

    monkeypatch.setitem(metrics.METRICS, "psnr", dataclasses.replace(real, function=spy))
    weights = unet_weights(tmp_path / "unet.safetensors")
    ev.evaluate(root, ["unet"], weights={"unet": weights}, baseline=None, progress=False)
    ev.evaluate(root, ["unet"], weights={"unet": weights}, baseline=None, progress=False,
                quantize=False)
    q, f = seen
    assert torch.equal(q * 255, torch.round(q * 255))
    assert not torch.equal(f * 255, torch.round(f * 255))
    assert torch.allclose(q, metrics.quantize(f))


def test_unreadable_image_is_counted_and_the_rest_is_scored(tmp_path):
    root = make_dataset(tmp_path / "ds")
    (root / "test" / "People_001_flash.png").write_bytes(b"not a png at all")
    (root / "test" / "People_009_flash.png").write_bytes(b"no partner")
    result = ev.evaluate(root, ["identity"], progress=False)
    assert sorted(s.stem for s in result.scores) == ["People_000", "People_002", "People_003"]
    stems = sorted(f.stem for f in result.failures)
    assert stems == ["People_001", "People_009_flash.png"]
    assert result.summaries["identity"].failures == 0  # the dataset's problems, not identity's
    assert result.config["dataset_problems"] == 2
    assert all("\n" not in f.message for f in result.failures)


def test_a_method_error_fails_its_images_only(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "ds")
    real = ev_plan.create_enhancer

    class Broken:
        config: dict = {}

        def __call__(self, flash):
            if flash.shape[-1] == 35:
                raise RuntimeError("out of memory\nsecond line")
            return flash

    monkeypatch.setattr(ev_plan, "create_enhancer",
                        lambda name, *a: Broken() if name == "unet" else real(name, *a))
    result = ev.evaluate(root, ["identity", "unet"], progress=False)
    assert len(result.score_table("identity")) == 4
    assert sorted(result.score_table("unet")) == ["People_000", "People_001", "People_002"]
    (failure,) = result.failures
    assert failure.method == "unet" and failure.stem == "People_003"
    # An allocation failure names the image, its size and the fix (issue 25), on one line.
    assert failure.message.startswith("unet on People_003: ")
    assert "not enough memory for this 35x27 image; " in failure.message
    assert "\n" not in failure.message and "second line" not in failure.message


def test_saved_images_have_the_dataset_stems_and_sizes(tmp_path):
    root = make_dataset(tmp_path / "ds")
    out = tmp_path / "out"
    ev.evaluate(root, ["identity"], progress=False, save_images_dir=out)
    files = sorted(p.name for p in (out / "identity").iterdir())
    assert files == [f"People_{i:03d}.png" for i in range(4)]
    saved = np.asarray(Image.open(out / "identity" / "People_003.png"))
    assert saved.shape == (27, 35, 3)
    assert np.array_equal(saved, np.asarray(Image.open(root / "test" / "People_003_flash.png")))


def test_report_files(tmp_path):
    root = make_dataset(tmp_path / "ds")
    weights = unet_weights(tmp_path / "unet.safetensors")
    result = ev.evaluate(root, ["unet", "identity"], weights={"unet": weights},
                         progress=False, thumbnail_side=20)
    written = write_report(result, tmp_path / "report")
    names = sorted(p.name for p in written)
    assert names == ["contact_sheet_001.png", "results.csv", "results.json", "table.md"]

    data = json.loads((tmp_path / "report" / "results.json").read_text())
    assert data["config"]["quantize"] is True and data["config"]["split"] == "test"
    assert "torch" in data["versions"] and "plugin:unet" in data["versions"]
    by_key = {(i["stem"], i["method"]): i for i in data["images"]}
    assert len(by_key) == 8
    assert data["metrics"] == list(metrics.DEFAULT_METRICS)
    for s in result.scores:
        for name in metrics.DEFAULT_METRICS:
            assert by_key[(s.stem, s.method)][name] == s.values[name]
        assert s.values["de2000"] > 0 and s.values["psnr_wb"] > 0
    summary = next(x for x in data["summaries"] if x["method"] == "unet")
    assert summary["de2000_mean"] == result.summaries["unet"].mean["de2000"]
    assert {"psnr_wb_mean", "psnr_wb_std"} <= set(summary)
    assert {"de2000_diff", "de2000_wins", "psnr_wb_diff"} <= set(data["comparisons"][0])

    rows = list(csv.DictReader((tmp_path / "report" / "results.csv").open()))
    assert len(rows) == 8
    assert {float(r["psnr"]) for r in rows if r["method"] == "identity"} == {
        s.values["psnr"] for s in result.scores if s.method == "identity"}
    assert {float(r["de2000"]) for r in rows if r["method"] == "unet"} == {
        s.values["de2000"] for s in result.scores if s.method == "unet"}
    assert "psnr_wb" in rows[0]

    table = (tmp_path / "report" / "table.md").read_text()
    assert table.index("| identity |") < table.index("| unet |")
    mean = result.summaries["unet"].mean["psnr"]
    assert f"| unet | {mean:.2f} ± " in table
    assert "| ΔE00 | PSNR-WB (dB) |" in table and "| Δ(ΔE00) | ΔPSNR-WB (dB) |" in table
    assert "LOE and ΔE00: lower is better" in table

    # Thumbnails keep their size (long side 20 -> 27x35 becomes 15x20), cells fit the largest.
    sheet = Image.open(tmp_path / "report" / "contact_sheet_001.png")
    columns, rows_n = 3, 4  # flash (= identity: no column of its own), unet, ambient
    cw, ch = 20, 15
    assert sheet.size == (PAD + columns * (cw + PAD), HEADER + rows_n * (ch + CAPTION + PAD) + PAD)
    px = np.asarray(sheet)
    assert px[HEADER: HEADER + ch, PAD: PAD + cw].std() > 0  # a real picture, not blank


def test_contact_sheets_are_paginated(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16),) * 5)
    result = ev.evaluate(root, ["identity"], progress=False, thumbnail_side=16,
                         thumbnail_pairs=3)
    sheets = contact_sheets(result, rows_per_sheet=2)
    assert [s.size[1] for s in sheets] == [HEADER + 2 * (16 + CAPTION + PAD) + PAD,
                                           HEADER + 1 * (16 + CAPTION + PAD) + PAD]


def test_paper_order():
    names = ["zeta", "guided-cgan", "unet", "identity", "alpha", "lime", "deepflash", "srie"]
    assert ordered_methods(names) == ["identity", "lime", "srie", "deepflash", "unet",
                                      "guided-cgan", "alpha", "zeta"]


def test_infinite_psnr_is_written_as_null(tmp_path):
    root = tmp_path / "ds"
    (root / "test").mkdir(parents=True)
    same = ambient_pixels(16, 16, 0)
    for role in ("flash", "ambient"):
        Image.fromarray(same).save(root / "test" / f"Toys_000_{role}.png")
    result = ev.evaluate(root, ["identity"], progress=False)
    assert math.isinf(result.scores[0].values["psnr"])
    assert result.to_dict()["images"][0]["psnr"] is None
    assert "| identity | inf ± " in table_markdown(result)


def test_lime_scores_equal_its_quantised_output_scored_directly(tmp_path):
    from flashcli.methods import create_enhancer
    from flashcli.plugins import registry

    if "lime" not in registry().methods:
        pytest.skip("the lime plugin is not installed")
    root = make_dataset(tmp_path / "ds", sizes=((16, 20),))
    fast = {"max_iter": 20}  # a few solver steps: the point is the bookkeeping, not LIME
    result = ev.evaluate(root, ["lime"], options={"lime": fast}, progress=False)
    assert result.methods == ["identity", "lime"]
    assert result.config["options"]["lime"]["max_iter"] == 20
    lime = create_enhancer("lime", fast, device="cpu")
    for s in result.scores:
        if s.method != "lime":
            continue
        flash = torch.from_numpy(np.array(Image.open(root / "test" / f"{s.stem}_flash.png")))
        amb = torch.from_numpy(np.array(Image.open(root / "test" / f"{s.stem}_ambient.png")))
        out = metrics.quantize(lime(flash.permute(2, 0, 1)[None].float() / 255))
        ref = amb.permute(2, 0, 1)[None].float() / 255
        assert s.values["psnr"] == pytest.approx(float(metrics.psnr(out, ref)), abs=1e-9)
        assert s.values["ssim"] == pytest.approx(float(metrics.ssim(out, ref)), abs=1e-9)
