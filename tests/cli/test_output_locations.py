"""Output locations: a report or run folder below a file or unwritable, standard output to
/dev/full, an ASCII terminal and a non-ASCII file name; one line each."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import bad_inputs as bi
import photo_factory as pf
import pytest

from flashcli.io import fsutil
from tests.clitools import jpeg as _jpeg
from tests.clitools import one_clean_line as _one_clean_line
from tests.clitools import run_subprocess as _subprocess
from tests.clitools import run_wide as _run

ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture
def photo(tmp_path):
    return _jpeg(tmp_path / "shoot" / "a.jpg", 32, 24, flash=pf.FLASH_FIRED)


TINY = ["--no-pretrained", "--opt", "width=0.0625", "--crop-size", "16", "--batch-size", "2",
        "--log-every", "1"]


def test_eval_report_below_a_file_or_unwritable(tmp_path, monkeypatch):
    data = tmp_path / "data"
    bi.write_pairs(data / "test", 1)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _run("eval", str(data), "--methods", "identity", "--report", str(blocker / "rep"))
    bi.assert_clean_failure(result, str(blocker / "rep"), "a file stands where the output folder should be")
    for code, hint in ((errno.EROFS, "the disk is read-only"), (errno.EACCES, "choose a writable output folder")):
        real = fsutil.tempfile.mkstemp

        def refuse(*args, code=code, dir=None, **kwargs):
            raise OSError(code, os.strerror(code), str(dir))

        monkeypatch.setattr(fsutil.tempfile, "mkstemp", refuse)
        result = _run("eval", str(data), "--methods", "identity", "--report", str(tmp_path / "rep"))
        monkeypatch.setattr(fsutil.tempfile, "mkstemp", real)
        bi.assert_clean_failure(result, hint)


def test_train_out_below_a_file(tmp_path):
    data = tmp_path / "data"
    bi.write_pairs(data / "train", 2)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _run("train", str(data), "--method", "unet", *TINY, "--steps", "1",
                  "--out", str(blocker / "run"))
    bi.assert_clean_failure(result, "file")
    assert blocker.read_text() == "x"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_stdout_to_dev_full_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        proc = _subprocess(["plugins", "--json"], stdout=full, stderr=subprocess.PIPE)
    assert proc.returncode == 1
    _one_clean_line(proc.stderr, "No space left on device")


def test_ascii_terminal_and_a_non_ascii_name(tmp_path):
    photo = bi.write_unicode(tmp_path)
    proc = _subprocess(["info", str(photo)], env={"PYTHONIOENCODING": "ascii", "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout.isascii()
    # the photo's row, its name escaped rather than dropped or mangled
    assert "ph\\xf6to 1 \\U0001f4f7.jpg" in proc.stdout
    assert "JPEG 8-bit" in proc.stdout and "32x24" in proc.stdout
