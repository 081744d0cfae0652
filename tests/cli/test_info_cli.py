"""``flashcli info``: table, JSON, folders, unreadable files."""

from __future__ import annotations

import json

import photo_factory as pf
import pytest
from click.testing import CliRunner

from flashcli.cli import cli
from flashcli.info import collect_photos, inspect_paths


@pytest.fixture()
def shoot(tmp_path):
    """A folder: flash / no-flash / unknown JPEGs, a DNG, a nested TIFF, a README, a bad file."""
    pf.write_jpeg(tmp_path / "flash.jpg", flash=pf.FLASH_AUTO_FIRED)
    pf.write_jpeg(tmp_path / "ambient.jpg", flash=pf.FLASH_AUTO_NOT_FIRED, orientation=6)
    pf.write_jpeg(tmp_path / "notag.jpg", flash=pf.NO_TAG)
    pf.write_dng(tmp_path / "raw.dng", flash=pf.FLASH_FIRED)
    (tmp_path / "nested").mkdir()
    pf.write_tiff(tmp_path / "nested" / "deep.tif", flash=pf.FLASH_NOT_FIRED)
    (tmp_path / "README.txt").write_text("notes")
    return tmp_path


def _json(result) -> list[dict]:
    return json.loads(result.stdout)


def test_json_over_folder(shoot):
    result = CliRunner().invoke(cli, ["info", str(shoot), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["file"].split("/")[-1]: r for r in _json(result)}
    assert set(rows) == {"flash.jpg", "ambient.jpg", "notag.jpg", "raw.dng"}  # no README, no nested
    assert rows["flash.jpg"]["flash_fired"] == "yes" and rows["flash.jpg"]["flash_mode"] == "auto"
    assert rows["ambient.jpg"]["flash_fired"] == "no"
    assert (rows["ambient.jpg"]["width"], rows["ambient.jpg"]["height"]) == (24, 32)
    assert rows["notag.jpg"]["flash_fired"] == "unknown" and rows["notag.jpg"]["flash_mode"] is None
    assert rows["raw.dng"]["format"] == "DNG" and rows["raw.dng"]["flash_fired"] == "yes"
    assert rows["raw.dng"]["camera"] == "Flashcli Test Cam"
    assert all(r["error"] is None for r in rows.values())


def test_recursive_and_table(shoot):
    result = CliRunner().invoke(cli, ["info", str(shoot), "-r"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("deep.tif", "TIFF 16-bit", "Nikon Z 6", "compulsory off", "flash.jpg", "24x32",
                 "Canon EOS 80D", "unknown"):
        assert text in result.stdout
    assert "README" not in result.stdout
    assert "5 photos: flash fired in 2, not in 2, unknown for 1" in result.stderr


def test_unreadable_files_get_rows_and_exit_1(shoot):
    pf.write_text_as_image(shoot / "notes.jpg")
    pf.write_corrupt(shoot / "broken.jpg")
    result = CliRunner().invoke(cli, ["info", str(shoot), "--json"])
    assert result.exit_code == 1
    rows = {r["file"].split("/")[-1]: r for r in _json(result)}
    assert "not a readable image" in rows["notes.jpg"]["error"]
    assert rows["broken.jpg"]["error"]
    assert rows["flash.jpg"]["error"] is None  # the batch went on
    assert "2 of 6 files could not be read" in result.stderr
    assert "Traceback" not in result.output


def test_check_finds_truncated_and_applies_max_pixels(tmp_path):
    trunc = pf.write_truncated(tmp_path / "cut.jpg")
    good = pf.write_jpeg(tmp_path / "good.jpg", 40, 30)
    assert CliRunner().invoke(cli, ["info", str(trunc)]).exit_code == 0  # header is fine
    result = CliRunner().invoke(cli, ["info", str(tmp_path), "--check", "--json"])
    assert result.exit_code == 1
    rows = {r["file"].split("/")[-1]: r for r in _json(result)}
    assert "truncated" in rows["cut.jpg"]["error"] and rows["good.jpg"]["error"] is None
    result = CliRunner().invoke(cli, ["info", str(good), "--check", "--max-pixels", "100",
                                      "--json"])
    assert result.exit_code == 1 and "--max-pixels 1200" in _json(result)[0]["error"]


def test_missing_path_and_empty_folder(tmp_path):
    result = CliRunner().invoke(cli, ["info", str(tmp_path / "nope.jpg")])
    assert result.exit_code == 1 and "no such file" in result.stdout
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["info", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "no photos found" in result.stderr


def test_python_api(shoot):
    files = collect_photos([shoot], recursive=True)
    assert [f.name for f in files] == ["ambient.jpg", "flash.jpg", "deep.tif", "notag.jpg",
                                       "raw.dng"]
    assert collect_photos([shoot / "raw.dng", shoot, shoot / "nope.jpg"]) == [
        shoot / "raw.dng", shoot / "ambient.jpg", shoot / "flash.jpg", shoot / "notag.jpg",
        shoot / "nope.jpg"]
    rows = inspect_paths([shoot / "flash.jpg", shoot / "raw.dng"])
    assert [r["flash"]["raw"] for r in rows] == [pf.FLASH_AUTO_FIRED, pf.FLASH_FIRED]
