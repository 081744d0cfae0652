"""Issue 9, ``flashcli eval``: bad pairs are listed by name and the others are still scored;
a method that raises fails only its images; report and image writes never leave partial
files and fail with one clear line."""

from __future__ import annotations

import errno
import json
import shutil
import sys
from pathlib import Path

import bad_inputs as bi
import pytest
from click.testing import CliRunner
from PIL import Image

from flashcli.cli import cli
from flashcli.io import fsutil

GOOD = 3


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """ROOT/test with GOOD sound pairs and one pair per kind of problem; ``{case: file}``."""
    root = tmp_path_factory.mktemp("data")
    test = root / "test"
    bi.write_pairs(test, GOOD)
    bi.write_pairs(root / "train", 1)
    spare = bi.write_pairs(root / "spare", 1)[0]
    bad: dict[str, Path] = {}

    def pair(stem: str, flash=None, ambient=None) -> None:
        for role, maker in (("flash", flash), ("ambient", ambient)):
            target = test / f"{stem}_{role}.png"
            if maker is None:
                shutil.copy(spare[0 if role == "flash" else 1], target)
            elif maker != "missing":
                maker(target)

    pair("Bad_001", flash=bi.write_zero)
    bad["zero"] = test / "Bad_001_flash.png"
    pair("Bad_002", ambient=lambda p: bi.write_truncated_png(p) and _resize_cut(p))
    bad["truncated"] = test / "Bad_002_ambient.png"
    pair("Bad_003", flash=lambda p: p.write_text("not a photo"))
    bad["text"] = test / "Bad_003_flash.png"
    pair("Bad_004", ambient="missing")
    bad["missing_partner"] = test / "Bad_004_flash.png"
    pair("Bad_005", flash=lambda p: bi.write_pairs(p.parent / "big", 1, size=(30, 20)) and
         shutil.move(p.parent / "big" / "Objects_000_flash.png", p))
    bad["size_mismatch"] = test / "Bad_005_flash.png"
    pair("Bad_006", flash=bi.write_bomb_png, ambient=bi.write_bomb_png)
    bad["bomb"] = test / "Bad_006_flash.png"
    shutil.rmtree(test / "big")
    pair("Ünï cødé 1")  # a sound pair with unicode and spaces in its name
    bi.make_symlink_loop(test)
    return root, bad


def _resize_cut(path: Path) -> bool:
    """A truncated PNG of the spare pair's size (24 x 16), so only the truncation is wrong."""
    bi.write_png_named(path)  # valid, then cut
    img = Image.new("RGB", (24, 16), (90, 80, 70))
    img.save(path, "PNG")
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    return True


def _json(result) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{"):])


def test_bad_pairs_are_listed_and_the_rest_is_scored(dataset):
    root, bad = dataset
    result = CliRunner().invoke(cli, ["eval", str(root), "--methods", "identity", "--no-loe",
                                      "--json"])
    bi.assert_clean_failure(result, *(p.name for p in bad.values()))
    data = _json(result)
    assert len(data["images"]) == GOOD + 1  # the loop (loop -> .) adds no duplicates
    assert {i["category"] for i in data["images"]} == {"Objects", None}
    messages = " | ".join(f["message"] for f in data["failures"])
    assert len(data["failures"]) == len(bad), messages
    assert "no ambient partner" in messages and "differs from its ambient image" in messages
    assert "truncated or damaged" in messages and "not a readable image" in messages
    assert "50000x50000" in messages and "--max-pixels" in messages
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"Error: {len(bad)} pair(s) of the data could not be used")


def test_table_output_names_each_bad_file(dataset):
    root, bad = dataset
    result = CliRunner().invoke(cli, ["eval", str(root), "--methods", "identity", "--no-loe"],
                                env={"COLUMNS": "400"})
    bi.assert_clean_failure(result, *(p.name for p in bad.values()))
    for path in bad.values():
        assert sum(path.name in line for line in result.output.splitlines()) >= 1


@pytest.fixture
def methods(tmp_path, monkeypatch):
    site = bi.make_method_site(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    yield site
    for mod in [m for m in sys.modules if m.startswith("fx_")]:
        del sys.modules[mod]


def test_a_method_that_raises_fails_only_its_images(methods, tmp_path):
    root = tmp_path / "data"
    bi.write_pairs(root / "test", 2)
    bi.write_pairs(root / "test", 1, size=(15, 13), prefix="Odd")
    result = CliRunner().invoke(cli, ["eval", str(root), "--methods", "identity,flaky",
                                      "--no-loe", "--json"])
    bi.assert_clean_failure(result, "flaky exploded on an odd width")
    data = _json(result)
    assert [(f["method"], f["stem"]) for f in data["failures"]] == [("flaky", "Odd_000")]
    scored = {s["method"]: (s["images"], s["failures"]) for s in data["summaries"]}
    assert scored == {"identity": (3, 0), "flaky": (2, 1)}


def test_report_folder_not_writable(tmp_path, monkeypatch):
    root = tmp_path / "data"
    bi.write_pairs(root / "test", 2)
    report = tmp_path / "report"
    report.mkdir()
    real = fsutil.tempfile.mkstemp

    def refuse(*args, dir=None, **kwargs):
        if Path(dir) == report:
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(fsutil.tempfile, "mkstemp", refuse)
    result = CliRunner().invoke(cli, ["eval", str(root), "--methods", "identity", "--no-loe",
                                      "--report", str(report)])
    bi.assert_clean_failure(result, str(report / "results.json"), "Permission denied",
                            "choose a writable output folder")
    assert list(report.iterdir()) == []


def test_saving_images_fails_midway_per_image(tmp_path, monkeypatch):
    root = tmp_path / "data"
    bi.write_pairs(root / "test", 3)
    out = tmp_path / "saved"
    real_save = Image.Image.save

    def save(self, fp, *args, **kwargs):
        if "Objects_001" in str(fp):
            Path(fp).write_bytes(b"\x89PNG half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    result = CliRunner().invoke(cli, ["eval", str(root), "--methods", "identity", "--no-loe",
                                      "--save-images", str(out), "--json"])
    bi.assert_clean_failure(result, "Objects_001", "No space left on device")
    saved = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert saved == ["Objects_000.png", "Objects_002.png"], saved  # no partial, no temp file
