"""``flashcli eval`` through click's CliRunner, asserting on what it wrote."""

from __future__ import annotations

import csv
import json
import re

import pytest
from click.testing import CliRunner

from flashcli.cli import cli
from flashcli.selection import parse_options as parse_method_options
from flashcli.selection import parse_weights
from tests.eval.test_evaluate import direct_scores, make_dataset, unet_weights


def run(*args: str, columns: int | None = None):
    env = {"COLUMNS": str(columns)} if columns else None
    return CliRunner().invoke(cli, ["eval", *args], catch_exceptions=False, env=env)


def test_report_and_json(tmp_path):
    root = make_dataset(tmp_path / "ds")
    weights = unet_weights(tmp_path / "unet.safetensors")
    report = tmp_path / "report"
    result = run(str(root), "--methods", "unet,identity", "--weights", f"unet={weights}",
                 "--opt", "unet.width=0.125", "--report", str(report), "--json",
                 "--device", "cpu")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    saved = json.loads((report / "results.json").read_text())
    assert printed["images"] == saved["images"]
    assert saved["config"]["device"] == "cpu"
    assert sorted(p.rsplit("/", 1)[-1] for p in printed["written"]) == [
        "contact_sheet_001.png", "results.csv", "results.json", "table.md"]
    for item in saved["images"]:
        if item["method"] == "identity":
            p, q = direct_scores(root / "test" / f"{item['stem']}_flash.png",
                                 root / "test" / f"{item['stem']}_ambient.png")
            assert item["psnr"] == pytest.approx(p, abs=1e-9)
            assert item["ssim"] == pytest.approx(q, abs=1e-9)
    rows = list(csv.DictReader((report / "results.csv").open()))
    assert sorted({r["method"] for r in rows}) == ["identity", "unet"] and len(rows) == 8
    (comp,) = saved["comparisons"]
    assert comp["method"] == "unet" and comp["baseline"] == "identity" and comp["images"] == 4


def test_table_is_in_paper_order(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16), (16, 16)))
    weights = unet_weights(tmp_path / "unet.safetensors")
    result = run(str(root), "--methods", "unet", "--weights", f"unet={weights}", "--metrics", "psnr,ssim")
    assert result.exit_code == 0, result.output
    table = result.stdout
    assert table.index("identity") < table.index("unet")
    assert "paired with identity" in table


def test_pairs_from_two_folders_and_saved_images(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 18), (16, 18)))
    flash_dir, ambient_dir = tmp_path / "f", tmp_path / "a"
    flash_dir.mkdir()
    ambient_dir.mkdir()
    for i in range(2):
        (root / "test" / f"People_{i:03d}_flash.png").rename(flash_dir / f"img{i}.png")
        (root / "test" / f"People_{i:03d}_ambient.png").rename(ambient_dir / f"img{i}.png")
    out = tmp_path / "out"
    result = run("--pairs", str(flash_dir), str(ambient_dir), "--methods", "identity",
                 "--save-images", str(out), "--json", "--no-quantize")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [i["stem"] for i in data["images"]] == ["img0", "img1"]
    assert data["config"]["quantize"] is False
    assert sorted(p.name for p in (out / "identity").iterdir()) == ["img0.png", "img1.png"]


def test_unknown_method_is_one_line(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16),))
    result = run(str(root), "--methods", "identity,bogus")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "unknown method 'bogus'" in line and "identity" in line and "unet" in line
    assert "Traceback" not in result.output


def test_missing_weights_stop_before_any_work(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16),))
    report = tmp_path / "report"
    result = run(str(root), "--methods", "unet", "--report", str(report))
    assert result.exit_code == 1
    assert "unet needs weights" in result.stderr and "--weights unet=PATH" in result.stderr
    assert not report.exists()


def test_failures_are_counted_and_reported(tmp_path):
    root = make_dataset(tmp_path / "ds")
    (root / "test" / "People_002_ambient.png").write_bytes(b"\x89PNG broken")
    report = tmp_path / "report"
    result = run(str(root), "--methods", "identity", "--report", str(report), "-q")
    assert result.exit_code == 1
    assert "1 pair(s) of the data could not be used" in result.stderr
    assert "People_002" in result.stderr
    data = json.loads((report / "results.json").read_text())
    assert len(data["images"]) == 3
    assert [f["stem"] for f in data["failures"]] == ["People_002"]
    assert data["summaries"][0]["failures"] == 0  # a dataset problem, not identity's
    assert data["config"]["dataset_problems"] == 1
    rows = list(csv.DictReader((report / "results.csv").open()))
    assert [r["stem"] for r in rows if r["error"]] == ["People_002"]


def test_limit_and_category_options(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16),) * 3)
    make_dataset(root, sizes=((16, 16),), category="Plants")
    result = run(str(root), "--methods", "identity", "--category", "Plants", "--json")
    assert [i["stem"] for i in json.loads(result.stdout)["images"]] == ["Plants_000"]
    result = run(str(root), "--methods", "identity", "--limit", "2", "--json")
    assert len(json.loads(result.stdout)["images"]) == 2


def test_argument_errors():
    assert run("--methods", "identity").exit_code == 1  # no data
    assert parse_weights(["guided-cgan=runs/a"]) == {"guided-cgan": "runs/a"}
    assert parse_method_options(["lime.gamma=0.7", "lime.x=1"]) == {"lime": {"gamma": "0.7",
                                                                             "x": "1"}}
    bad = run("somewhere", "--weights", "nopath")
    assert bad.exit_code == 2 and "expected NAME=PATH" in bad.stderr
    bad = run("somewhere", "--opt", "gamma=1")
    assert bad.exit_code == 2 and "expected NAME.key=value" in bad.stderr


def test_eval_runs_without_the_reference_plugin(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16),))
    monkeypatch.setenv("FLASHCLI_DISABLE_PLUGINS", "identity")
    result = run(str(root), "--methods", "lime", "--opt", "lime.max_iter=50", "--metrics", "psnr",
                 "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["methods"] == ["lime"] and data["comparisons"] == []


def test_colour_metrics_by_name_in_every_output(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16), (16, 16)))
    report = tmp_path / "report"
    result = run(str(root), "--methods", "identity,lime", "--opt", "lime.max_iter=20",
                 "--metrics", "psnr_wb,de2000", "--report", str(report), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["metrics"] == ["de2000", "psnr_wb"] == data["config"]["metrics"]
    assert all(set(i) >= {"de2000", "psnr_wb"} and "psnr" not in i for i in data["images"])
    (comp,) = data["comparisons"]
    assert set(comp) >= {"de2000_diff", "de2000_wins", "psnr_wb_diff", "psnr_wb_wins"}
    header = (report / "results.csv").read_text().splitlines()[0]
    assert header == "stem,category,method,de2000,psnr_wb,seconds,error"
    assert "| Method | ΔE00 | PSNR-WB (dB) | s/image | images |" in (report / "table.md").read_text()


def test_default_tables_fit_80_columns_and_split_only_when_needed(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16), (16, 16)))
    args = (str(root), "--methods", "identity,lime", "--opt", "lime.max_iter=20")
    narrow = run(*args, columns=80)
    assert narrow.exit_code == 0, narrow.output
    lines = narrow.stdout.splitlines()
    assert max(map(len, lines)) <= 80 and "…" not in narrow.stdout
    # every mean ± std whole: two methods, the five default metrics
    assert len(re.findall(r"\d+\.\d+ ± \d+\.\d+", narrow.stdout)) == 10
    for heading in ("PSNR (dB)", "SSIM", "LOE", "ΔE00", "PSNR-WB (dB)", "Δ(ΔE00)", "wins"):
        assert heading in narrow.stdout
    assert "(continued)" in narrow.stdout  # five metrics do not fit 80 columns in one table
    wide = run(*args, columns=200)
    assert wide.exit_code == 0 and "(continued)" not in wide.stdout
    assert "wins PSNR/SSIM/LOE/ΔE00/PSNR-WB" in wide.stdout
    assert len(re.findall(r"\d+\.\d+ ± \d+\.\d+", wide.stdout)) == 10
