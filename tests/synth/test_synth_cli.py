"""``flashcli synth`` and ``render_dataset``: layout, determinism on disk, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from flashcli.cli import cli
from flashcli.datasets import find_pairs, load_pair_uint8, require_clean
from flashcli.errors import FlashcliError
from flashcli.synth import RENDERER_VERSION, parse_size, render_dataset, render_pair
from flashcli.synth.dataset import test_count as split_count
from flashcli.synth.textures import SAMPLE_PHOTOS, builtin_photos, photo_textures


def _png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_cli_writes_loadable_pairs_and_preview(tmp_path):
    out, preview = tmp_path / "set", tmp_path / "sheet.png"
    args = ["synth", str(out), "--pairs", "3", "--size", "48x32", "--seed", "4",
            "--test-fraction", "0.34", "--preview", str(preview), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["pairs"], summary["train"], summary["test"], summary["size"]) == (3, 2, 1, "48x32")

    train, test = find_pairs(out, "train"), find_pairs(out, "test")
    require_clean(train)
    require_clean(test)
    assert len(train) == 2 and len(test) == 1 and not train.problems
    assert {p.category for p in train.pairs} | {p.category for p in test.pairs} <= {
        "People", "Objects", "Toys", "Shelves", "Plants", "Rooms"}
    flash, ambient = load_pair_uint8(test.pairs[0])
    assert flash.shape == ambient.shape == (3, 32, 48)
    assert test.pairs[0].stem.endswith("_002")  # the last pair is the test pair

    # what is on disk is exactly the pair rendered in memory from (seed, index), with the
    # default textures: scikit-image's sample photographs
    photos = builtin_photos()
    assert len(photos) == len(SAMPLE_PHOTOS) and photos[0].shape == (3, 128, 128)
    pair = render_pair(4, 2, (48, 32), photos=photos)
    assert np.array_equal(_png(test.pairs[0].flash), pair.flash.permute(1, 2, 0).numpy())
    assert np.array_equal(_png(test.pairs[0].ambient), pair.ambient.permute(1, 2, 0).numpy())

    manifest = json.loads((out / "synth.json").read_text())
    assert manifest["seed"] == 4 and manifest["renderer_version"] == summary["renderer_version"] == RENDERER_VERSION
    assert RENDERER_VERSION == "4" and manifest["textures"]["photos"] == len(SAMPLE_PHOTOS)
    assert manifest["kind"] == "mixed" and sum(manifest["kinds"].values()) == 3
    sheet = _png(preview)
    assert sheet.shape[0] > 2 * 32 and sheet.shape[1] > 4 * 48  # 3 pairs, two per row


def test_same_seed_same_files_and_refuses_to_overwrite(tmp_path):
    runner = CliRunner()
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        result = runner.invoke(cli, ["synth", str(out), "--pairs", "2", "--size", "32x24", "--seed", "9", "-q"])
        assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert len(files) == 4
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)

    again = runner.invoke(cli, ["synth", str(a), "--pairs", "2", "--size", "32x24", "--seed", "10"])
    assert again.exit_code == 1
    assert "already holds 4 paired images" in again.output and "Traceback" not in again.output
    forced = runner.invoke(cli, ["synth", str(a), "--pairs", "2", "--size", "32x24", "--seed", "10",
                                 "--overwrite"])
    assert forced.exit_code == 0, forced.output
    fresh = render_dataset(tmp_path / "c", 2, (32, 24), seed=10, device="cpu", progress=False)
    assert fresh["pairs"] == 2
    assert sorted(p.relative_to(a) for p in a.rglob("*.png")) == sorted(
        p.relative_to(tmp_path / "c") for p in (tmp_path / "c").rglob("*.png"))  # nothing left over

    foreign = tmp_path / "faid"
    (foreign / "train").mkdir(parents=True)
    (foreign / "train" / "IMG_1_flash.png").write_bytes(b"x")
    refused = runner.invoke(cli, ["synth", str(foreign), "--pairs", "1", "--size", "32x24", "--overwrite"])
    assert refused.exit_code == 1 and "did not write" in refused.output
    assert (foreign / "train" / "IMG_1_flash.png").exists()


def test_table_output_and_bad_arguments(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["synth", str(tmp_path / "t"), "--pairs", "1", "--size", "32x24"])
    assert result.exit_code == 0, result.output
    assert "rendered 1 pairs" in result.output and "s per pair" in result.output
    bad = runner.invoke(cli, ["synth", str(tmp_path / "u"), "--size", "big"])
    assert bad.exit_code == 2 and "expected WIDTHxHEIGHT" in bad.output
    assert not (tmp_path / "u").exists()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    clash = runner.invoke(cli, ["synth", str(a_file), "--pairs", "1", "--size", "32x24"])
    assert clash.exit_code != 0


def test_python_api_validation_and_split_counts(tmp_path):
    assert parse_size("320x240") == (320, 240) and parse_size(" 64 X 48 ") == (64, 48)
    with pytest.raises(FlashcliError, match="--size 8x8: each side must be 16..4096"):
        parse_size("8x8")
    assert [split_count(n, 0.1) for n in (1, 2, 10, 25, 100)] == [0, 1, 1, 2, 10]
    assert split_count(10, 0.0) == 0 and split_count(3, 0.99) == 2
    with pytest.raises(FlashcliError, match="--pairs 0: render at least one pair"):
        render_dataset(tmp_path / "x", 0, (32, 24))
    with pytest.raises(FlashcliError, match=r"--test-fraction 1.0: use a value in \[0, 1\)"):
        render_dataset(tmp_path / "x", 2, (32, 24), test_fraction=1.0)
    summary = render_dataset(tmp_path / "y", 2, (32, 24), seed=1, test_fraction=0, device="cpu",
                             misalign=1.0, progress=False)
    assert summary["test"] == 0 and summary["train"] == 2 and summary["misalign"] == 1.0
    assert not (tmp_path / "y" / "test").exists()


def test_kind_of_flash_frame(tmp_path):
    summary = render_dataset(tmp_path / "faid", 2, (32, 24), seed=3, test_fraction=0, device="cpu",
                             progress=False, kind="faid", textures="none")
    assert summary["kind"] == "faid" and summary["kinds"] == {"faid": 2} and summary["textures"] is None
    on_disk = sorted((tmp_path / "faid" / "train").glob("*_001_flash.png"))
    pair = render_pair(3, 1, (32, 24), kind="faid")
    assert pair.kind == "faid" and np.array_equal(_png(on_disk[0]), pair.flash.permute(1, 2, 0).numpy())
    photo = render_pair(3, 1, (32, 24), kind="photo", aux=True)
    assert photo.kind == "photo" and photo.category == pair.category  # the same scene, another flash frame
    assert not torch.equal(photo.flash, pair.flash)
    mixed = {render_pair(3, i, (32, 24)).kind for i in range(8)}
    assert mixed == {"photo", "faid"}
    with pytest.raises(FlashcliError, match="--kind"):
        render_dataset(tmp_path / "bad", 1, (32, 24), kind="studio")
    assert not (tmp_path / "bad").exists()
    with pytest.raises(ValueError, match="studio"):
        render_pair(3, 1, (32, 24), kind="studio")


def test_kind_option_on_the_command_line(tmp_path):
    out = tmp_path / "photo"
    res = CliRunner().invoke(cli, ["synth", str(out), "--pairs", "2", "--size", "32x24", "--kind", "photo",
                                   "--test-fraction", "0"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "synth.json").read_text())
    assert manifest["kind"] == "photo" and manifest["kinds"] == {"photo": 2}
    assert "kinds photo 2" in res.output
    bad = CliRunner().invoke(cli, ["synth", str(tmp_path / "x"), "--pairs", "1", "--kind", "studio"])
    assert bad.exit_code == 2 and "studio" in bad.output and not (tmp_path / "x").exists()


@pytest.mark.slow
def test_worker_processes_write_the_same_files(tmp_path):
    one = render_dataset(tmp_path / "one", 3, (32, 24), seed=2, device="cpu", progress=False,
                         preview=tmp_path / "p1.png", preview_pairs=2)
    two = render_dataset(tmp_path / "two", 3, (32, 24), seed=2, device="cpu", progress=False,
                         preview=tmp_path / "p2.png", preview_pairs=2, workers=2)
    assert two["workers"] == 2 and one["categories"] == two["categories"]
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.png"))
    assert files == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*.png"))
    assert all((tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes() for f in files)
    assert np.array_equal(_png(tmp_path / "p1.png"), _png(tmp_path / "p2.png"))


def _photo_folder(folder, count=3):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        img = np.zeros((40, 60, 3), np.uint8)
        img[..., 0], img[..., 2] = 230, 200  # magenta photos with random blocks
        img[::8, :, 1] = rng.integers(0, 255, (5, 60), dtype=np.uint8)
        Image.fromarray(img).save(folder / f"photo_{i}.png")
    return folder


def test_cli_renders_with_user_photos_as_textures(tmp_path):
    photos = _photo_folder(tmp_path / "photos")
    out = tmp_path / "set"
    args = ["synth", str(out), "--pairs", "4", "--size", "48x32", "--seed", "5", "--test-fraction", "0",
            "--textures", str(photos), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "synth.json").read_text())
    assert manifest["textures"]["photos"] == 3 and manifest["renderer_version"] == RENDERER_VERSION
    textures = photo_textures(photos)
    assert len(textures) == 3 and textures[0].shape == (3, 128, 128)
    assert textures[0][0].mean() > 3 * textures[0][1].mean()  # magenta stays magenta (linear)
    differs = 0
    for i in range(4):
        with_photos = render_pair(5, i, (48, 32), photos=textures)
        plain = render_pair(5, i, (48, 32))
        on_disk = next((out / "train").glob(f"*_{i:03d}_flash.png"))
        assert np.array_equal(_png(on_disk), with_photos.flash.permute(1, 2, 0).numpy())
        differs += not torch.equal(with_photos.flash, plain.flash)
    assert differs >= 2  # the photos are on some surfaces


@pytest.mark.parametrize("case", ["missing", "empty", "unreadable"])
def test_textures_folder_errors_are_one_clear_line(tmp_path, case):
    folder = tmp_path / "photos"
    if case != "missing":
        folder.mkdir()
        (folder / "notes.txt").write_text("not a photo")
    if case == "unreadable":
        (folder / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "set"
    result = CliRunner().invoke(cli, ["synth", str(out), "--pairs", "1", "--size", "32x24", "--textures", str(folder)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    skipped = [line for line in lines if line.startswith("warning: ")]  # each unreadable file
    assert all("broken.jpg" in line for line in skipped) and len(skipped) == (case == "unreadable")
    lines = [line for line in lines if line not in skipped]
    assert len(lines) == 1 and "--textures" in lines[0] and str(folder) in lines[0], result.output
    assert "Traceback" not in result.output and not out.exists()
    with pytest.raises(FlashcliError, match="--textures"):
        photo_textures(folder)


def test_without_scikit_image_the_default_textures_are_procedural_and_said(tmp_path, monkeypatch, caplog):
    import flashcli.synth.dataset as dataset

    monkeypatch.setattr(dataset, "builtin_photos", lambda: [])
    dataset._builtin_cached.cache_clear()
    try:
        with caplog.at_level("WARNING"):
            summary = render_dataset(tmp_path / "p", 1, (32, 24), seed=3, test_fraction=0, progress=False)
    finally:
        dataset._builtin_cached.cache_clear()
    assert summary["textures"] is None
    assert "scikit-image is not installed" in caplog.text and "--textures DIR" in caplog.text
    on_disk = next((tmp_path / "p" / "train").glob("*_000_flash.png"))
    assert np.array_equal(_png(on_disk), render_pair(3, 0, (32, 24)).flash.permute(1, 2, 0).numpy())
