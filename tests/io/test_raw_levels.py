"""RAW files with degenerate black and white levels: one line naming the file and the level,
the other photos go on."""

from __future__ import annotations

import re

import photo_factory as pf
import pytest

from tests.clitools import run_wide as _run


def _refused(result, code: int, pattern: str) -> None:
    out = result.output
    assert result.exit_code == code, out
    assert "Traceback" not in out, out
    assert re.search(pattern, out), (pattern, out)


DEGENERATE_RAW = [
    ({"white_level": 0}, r"white level is 0, so every pixel would decode to black"),
    ({"black_level": 4095}, r"black level 4095 is at or above its white level 4095"),
    ({"black_level": 5000}, r"black level 5000 is at or above its white level 4095"),
]


@pytest.mark.parametrize(("levels", "why"), DEGENERATE_RAW)
def test_relight_refuses_a_raw_with_degenerate_levels_and_goes_on(tmp_path, levels, why):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "good.jpg", 16, 12)
    pf.write_dng(shoot / "bad.dng", **levels)
    out = tmp_path / "out"
    result = _run("relight", str(shoot), "-o", str(out), "-m", "identity")
    _refused(result, 1, rf"bad\.dng.*{why}")
    assert "1 of 2 photos failed" in result.output
    assert (out / "good_ambient.jpg").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith("bad")]


@pytest.mark.parametrize(("levels", "why"), DEGENERATE_RAW)
def test_info_names_a_raw_with_degenerate_levels(tmp_path, levels, why):
    pf.write_dng(tmp_path / "bad.dng", **levels)
    result = _run("info", str(tmp_path / "bad.dng"))
    _refused(result, 1, why)


def test_a_raw_with_sound_levels_still_relights(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_dng(shoot / "fine.dng", black_level=64, white_level=4095)
    result = _run("relight", str(shoot), "-o", str(tmp_path / "out"), "-m", "identity")
    assert result.exit_code == 0, result.output
    written = list((tmp_path / "out").glob("fine*"))
    assert len(written) == 1 and written[0].stat().st_size > 0
    from PIL import Image

    with Image.open(written[0]) as im:
        assert min(im.size) > 0 and im.getextrema() != ((0, 0), (0, 0), (0, 0))


def test_levels_libraw_reports_are_checked_too(tmp_path):
    """Formats without DNG tags: the levels LibRaw unpacks are checked before demosaicing."""
    from types import SimpleNamespace

    from flashcli.io.raw import RawReadError, _check_levels

    with pytest.raises(RawReadError, match=r"x\.nef: the RAW file's black level 600 is at or above"):
        _check_levels(SimpleNamespace(black_level_per_channel=[600] * 4, white_level=512),
                      tmp_path / "x.nef")
    _check_levels(SimpleNamespace(black_level_per_channel=[64] * 4, white_level=4095), tmp_path / "x.nef")
