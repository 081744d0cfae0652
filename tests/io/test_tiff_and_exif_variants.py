"""TIFF variants (tifffile is a core dependency) and a malformed EXIF Flash tag."""

from __future__ import annotations

import json
from pathlib import Path

import bad_inputs as bi
import photo_factory as pf
import pytest

from flashcli.io.imageio import read_image
from tests.clitools import jpeg as _jpeg
from tests.clitools import run_wide as _run

ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture
def photo(tmp_path):
    return _jpeg(tmp_path / "shoot" / "a.jpg", 32, 24, flash=pf.FLASH_FIRED)


def test_tiff_variants(tmp_path):
    cases = {c: bi.make_case_2(c, tmp_path / "in") for c in ("tiff_float", "tiff_uint32", "tiff_lzw16")}
    for path in cases.values():
        x, meta = read_image(path)
        assert x.shape == (3, 14, 20) and 0.3 < float(x.mean()) < 0.7, path
    result = _run("relight", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-m", "identity",
                  "--include-unknown", "--json")
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out").glob("*.tif"))) == 3
    lzw = bi.make_case_2("tiff_lzw16_rgb", tmp_path / "lzw")
    bad = _run("relight", str(lzw), "-o", str(tmp_path / "o2"), "-m", "identity", "--include-unknown")
    bi.assert_clean_failure(bad, "LZW", "imagecodecs")
    assert "truncated or damaged" not in bad.output


def test_tifffile_is_a_core_dependency():
    text = (ROOT / "pyproject.toml").read_text()
    core = text[text.index("dependencies = ["):text.index("[project.optional-dependencies]")]
    assert '"tifffile' in core


# a malformed EXIF tag

def test_a_rational_flash_tag_counts_as_absent(tmp_path):
    photo = bi.make_case_2("exif_flash_rational", tmp_path / "in")
    info = _run("info", str(photo), "--json")
    assert info.exit_code == 0, info.output
    assert json.loads(info.stdout)[0]["flash"]["fired"] is None
    skipped = _run("relight", str(photo), "-o", str(tmp_path / "out"), "-m", "identity", "--json")
    assert skipped.exit_code == 0 and '"skipped-unknown": 1' in skipped.stdout
    done = _run("relight", str(photo), "-o", str(tmp_path / "out"), "-m", "identity",
                "--include-unknown")
    assert done.exit_code == 0, done.output
    assert read_image(tmp_path / "out" / "exif_flash_rational_ambient.jpg")[0].shape == (3, 12, 16)
