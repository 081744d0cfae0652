"""Standard output closed: a non-zero exit without a traceback, and no output file ever
written into."""

from __future__ import annotations

import re
import sys

import photo_factory as pf


def _closed_stdout(*args: str):
    import shlex
    import subprocess

    line = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "flashcli", *args])
    return subprocess.run(["sh", "-c", f"{line} >&-"], stderr=subprocess.PIPE, text=True, timeout=120)


def test_info_with_stdout_closed_exits_non_zero_without_a_traceback(tmp_path):
    pf.write_jpeg(tmp_path / "a.jpg", 16, 12)
    done = _closed_stdout("info", str(tmp_path))
    assert "Traceback" not in done.stderr, done.stderr
    assert "AttributeError" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    assert re.search(r"standard output is closed.*run without >&-", done.stderr), done.stderr


def test_relight_with_stdout_closed_never_writes_into_an_output(tmp_path):
    """Descriptor 1 is taken by /dev/null, not by the first file flashcli opens."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg", 16, 12)
    done = _closed_stdout("relight", str(shoot), "-o", str(tmp_path / "out"), "-m", "identity", "--json")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    out = tmp_path / "out" / "a_ambient.jpg"
    assert out.is_file() and out.read_bytes()[:2] == b"\xff\xd8"
    assert b"processed" not in out.read_bytes()
