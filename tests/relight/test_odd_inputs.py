"""Odd inputs and paths: templates with format specs, an empty input, non-files given directly,
permission denied (not called damage); one line each."""

from __future__ import annotations

import errno

import bad_inputs as bi
import photo_factory as pf
import pytest

from tests.clitools import jpeg as _jpeg
from tests.clitools import run_wide as _run


@pytest.fixture
def photo(tmp_path):
    return _jpeg(tmp_path / "shoot" / "a.jpg", 32, 24, flash=pf.FLASH_FIRED)


@pytest.mark.parametrize("template", ["{stem:d}.jpg", "{stem!z}.jpg", "{stem:>99999999999}.jpg"])
def test_templates_with_format_specs_are_one_line(photo, tmp_path, template):
    result = _run("relight", str(photo), "-o", str(tmp_path / "out"), "-m", "identity",
                  "--template", template)
    bi.assert_clean_failure(result, "--template")


def test_an_empty_input_is_refused(tmp_path, monkeypatch, photo):
    monkeypatch.chdir(photo.parent)
    result = _run("relight", "", "-o", str(tmp_path / "out"), "-m", "identity")
    bi.assert_clean_failure(result, "empty input path")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind, expected", [
    ("fifo", "named pipe"), ("socket", "a socket"), ("loop_link", "looping symbolic link"),
    ("dangling_link", "broken symbolic link")])
def test_non_files_given_directly_are_named(tmp_path, kind, expected):
    path = bi.make_not_file(kind, tmp_path / f"{kind}.jpg")
    for command in ("relight", "info"):
        args = [command, str(path)] + (["-o", str(tmp_path / "out"), "-m", "identity"]
                                       if command == "relight" else [])
        result = _run(*args)
        bi.assert_clean_failure(result, expected)
        assert "no such file" not in result.output


def test_permission_denied_is_not_called_damage(tmp_path, monkeypatch):
    from PIL import Image

    photo = _jpeg(tmp_path / "a.jpg", 16, 12)

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(photo))

    monkeypatch.setattr(Image, "open", denied)
    result = _run("info", str(photo), "--check")
    bi.assert_clean_failure(result, "permission denied")
    assert "damaged" not in result.output
