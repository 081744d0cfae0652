"""Issue 9, ``flashcli info``: the bad-input corpus gives one clear line per bad file, a
non-zero exit and no traceback; the good files are still reported."""

from __future__ import annotations

import json
from pathlib import Path

import bad_inputs as bi
import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flashcli.cli import cli
from flashcli.errors import FlashcliError


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    cases = bi.make_corpus(folder)
    bi.make_symlink_loop(folder)
    return folder, cases


def _rows(result) -> dict[str, dict]:
    text = result.stdout
    return {Path(r["file"]).name: r for r in json.loads(text[text.index("["):])}


def test_corpus_folder_lists_every_bad_file_and_goes_on(corpus):
    folder, cases = corpus
    result = CliRunner().invoke(cli, ["info", str(folder), "-r", "--json"])
    bad = {cases[c].name for c in bi.BAD_HEADER} | {"self.jpg"}
    bi.assert_clean_failure(result, *bad)
    rows = _rows(result)
    for case, path in cases.items():
        row = rows[path.name]
        if case in bi.BAD_HEADER:
            assert row["error"] and row["error"].startswith(str(path)), row
        else:  # headers only: odd, truncated-after-header and huge files still have rows
            assert row["error"] is None, row
    assert "looping symbolic link" in rows["self.jpg"]["error"]
    # The symlink loop (loop -> .) is not followed: every file appears once.
    files = [r["file"] for r in json.loads(result.stdout[result.stdout.index("["):])]
    assert len(files) == len(set(files)) == len(cases) + 1
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"Error: {len(bad)} of {len(cases) + 1} files could not be read")
    assert all(name in summary for name in bad)


def test_check_decodes_and_refuses_truncated_and_bombs(corpus):
    folder, cases = corpus
    result = CliRunner().invoke(cli, ["info", str(folder), "--check", "--json"])
    rows = _rows(result)
    refused = bi.UNREADABLE | bi.TOO_LARGE
    bi.assert_clean_failure(result, *(cases[c].name for c in refused if c != "unicode_path"))
    for case in refused:
        assert rows[cases[case].name]["error"], case
    for case in ("bomb_png", "bomb_jpg"):
        err = rows[cases[case].name]["error"]
        assert "50000x50000" in err and "--max-pixels 2500000000" in err
    for case in ("truncated_jpg", "truncated_png", "truncated_tif"):
        assert "truncated or damaged" in rows[cases[case].name]["error"]
    for case in ("one_pixel", "png_named_jpg", "exif_garbage", "exif_out_of_range", "exif_enormous"):
        assert rows[cases[case].name]["error"] is None, case


@pytest.mark.parametrize("case", sorted(bi.UNREADABLE))
def test_each_unreadable_file_alone(tmp_path, case):
    path = bi.make_case(case, tmp_path)
    result = CliRunner().invoke(cli, ["info", "--check", str(path)])
    bi.assert_clean_failure(result, path.name)
    assert "1 of 1 files could not be read" in result.stderr


def test_odd_exif_is_read_as_far_as_it_makes_sense(corpus):
    _, cases = corpus
    paths = [cases[c] for c in ("exif_garbage", "exif_out_of_range", "exif_enormous", "one_pixel")]
    result = CliRunner().invoke(cli, ["info", "--json", *map(str, paths)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "Warning" not in result.output
    rows = _rows(result)
    assert rows["exif_garbage.jpg"]["flash_fired"] == "unknown"
    odd = rows["exif_out_of_range.jpg"]
    assert odd["flash"]["raw"] == 0xFFFF and odd["flash_fired"] == "yes"  # bit 0 decides
    assert odd["orientation"] == 1 and odd["captured"] is None  # 99 and 9999:99:99 ignored
    huge = rows["exif_enormous.jpg"]
    assert huge["flash"]["raw"] == 0xFFFFFFFF and huge["make"] is None
    assert (rows["one_pixel.jpg"]["width"], rows["one_pixel.jpg"]["height"]) == (1, 1)


def test_unicode_and_spaces_in_paths(corpus):
    _, cases = corpus
    path = cases["unicode_path"]
    result = CliRunner().invoke(cli, ["info", "--check", "--json", str(path)])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    assert row["file"] == str(path) and row["flash_fired"] == "yes"
    result = CliRunner().invoke(cli, ["info", str(path.parent)], env={"COLUMNS": "300"})
    assert result.exit_code == 0 and "phöto 1 📷.jpg" in result.stdout


def test_unexpected_exception_becomes_a_row(tmp_path, monkeypatch):
    import flashcli.info as info_cmd

    good = bi.write_one_pixel(tmp_path / "good.jpg")
    boom = bi.write_one_pixel(tmp_path / "boom.jpg")
    real = info_cmd.read_metadata

    def flaky(path):
        if Path(path).name == "boom.jpg":
            raise ZeroDivisionError("a bug in a decoder")
        return real(path)

    monkeypatch.setattr(info_cmd, "read_metadata", flaky)
    result = CliRunner().invoke(cli, ["info", "--json", str(tmp_path)])
    bi.assert_clean_failure(result, "boom.jpg")
    rows = _rows(result)
    assert rows["boom.jpg"]["error"] == f"{boom}: ZeroDivisionError: a bug in a decoder"
    assert rows[good.name]["error"] is None


def test_verbose_shows_the_cause_of_an_error(monkeypatch):
    @click.command("reliability-boom")
    def boom():
        try:
            raise ValueError("inner cause")
        except ValueError as exc:
            raise FlashcliError("x.jpg: outer message; fix it") from exc

    monkeypatch.setitem(cli.commands, "reliability-boom", boom)
    quiet = CliRunner().invoke(cli, ["reliability-boom"])
    bi.assert_clean_failure(quiet, "x.jpg: outer message; fix it")
    assert "inner cause" not in quiet.output
    loud = CliRunner().invoke(cli, ["-v", "reliability-boom"])
    assert loud.exit_code == 1
    assert "Traceback" in loud.stderr and "ValueError: inner cause" in loud.stderr
    assert "x.jpg: outer message" in loud.stderr


def test_missing_and_empty_inputs(tmp_path):
    result = CliRunner().invoke(cli, ["info", str(tmp_path / "nope.jpg")])
    bi.assert_clean_failure(result, "nope.jpg", "no such file")
    loop = tmp_path / "only_loops"
    bi.make_symlink_loop(loop)
    (loop / "self.jpg").unlink()
    result = CliRunner().invoke(cli, ["info", "-r", str(loop)])
    bi.assert_clean_failure(result, "no photos found")


_TIFF_HEADERS = st.sampled_from([b"II*\x00\x08\x00\x00\x00", b"MM\x00*\x00\x00\x00\x08", b""])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=_TIFF_HEADERS, body=st.binary(max_size=300))
def test_any_exif_block_reads_or_fails_cleanly(tmp_path, head, body):
    """Random EXIF (after a valid or no TIFF header): metadata and pixels read, or a one-line
    ImageReadError; never another exception, never a warning, and outputs still write."""
    import warnings

    from flashcli.io.imageio import ImageReadError, read_image, write_image

    path = bi._jpeg_with_app1(tmp_path / "fuzz.jpg", b"Exif\x00\x00" + head + body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            image, meta = read_image(path)
        except ImageReadError as exc:
            assert exc.format_message().startswith(str(path))
            return
        assert meta.flash.fired in (True, False, None) and meta.orientation in range(1, 9)
        write_image(tmp_path / "out.jpg", image, meta)
    assert read_image(tmp_path / "out.jpg")[0].shape == image.shape


def test_ctrl_c_is_one_line_and_exit_130(tmp_path, monkeypatch):
    import flashcli.info as info_cmd

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(info_cmd, "inspect_file", interrupted)
    bi.write_one_pixel(tmp_path / "a.jpg")
    result = CliRunner().invoke(cli, ["info", str(tmp_path)])
    assert result.exit_code == 130
    assert "Traceback" not in result.output
    assert result.stderr.strip() == ("flashcli: interrupted; finished files are complete and "
                                     "nothing was left half-written; run the same command again "
                                     "to continue")


def test_a_named_pipe_does_not_block(tmp_path):
    import os

    pipe = tmp_path / "pipe.jpg"
    os.mkfifo(pipe)
    result = CliRunner().invoke(cli, ["info", "--json", str(pipe)])
    bi.assert_clean_failure(result, "pipe.jpg")
    assert "not a regular file" in json.loads(result.stdout)[0]["error"]
