"""SIGTERM and SIGHUP leave no partial files; the stale part files of a dead run are removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import bad_inputs as bi
import photo_factory as pf
import pytest

from flashcli.io.imageio import read_image
from tests.clitools import hashes as _hashes
from tests.clitools import jpeg as _jpeg
from tests.clitools import no_temp_files as _no_temp_files
from tests.clitools import run_wide as _run

ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture(scope="module")
def slow_site(tmp_path_factory):
    return bi.make_method_site(tmp_path_factory.mktemp("slow"))


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_leave_no_partial_files(slow_site, tmp_path, sig, status):
    shoot = tmp_path / "shoot"
    for k in range(16):
        _jpeg(shoot / f"f{k:02d}.jpg", 16, 12)
    before = _hashes(shoot)
    out = tmp_path / "out"
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": os.pathsep.join(
        [str(slow_site), str(ROOT), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]),
        bi.HOLD_ENV: str(tmp_path / "never-released")}  # held after the first batch
    proc = subprocess.Popen([sys.executable, "-m", "flashcli", "relight", str(shoot), "-o", str(out),
                             "--method", "slow", "--workers", "1", "--all"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: [signal.signal(s, signal.SIG_DFL)
                                                for s in (signal.SIGTERM, signal.SIGHUP)])
    deadline = time.monotonic() + 60
    try:
        while not (out.is_dir() and any(out.glob("*_ambient.jpg"))):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "relight never wrote an output"
            time.sleep(0.02)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, err
    assert "Traceback" not in err and f"stopped by {signal.Signals(sig).name}" in err
    _no_temp_files(out)
    done = sorted(p for p in out.iterdir() if not p.name.startswith("."))  # not the settings record
    assert 0 < len(done) < 16
    for p in done:
        assert read_image(p)[0].shape == (3, 12, 16)
    assert _hashes(shoot) == before


def test_stale_part_files_of_a_dead_run_are_removed(tmp_path):
    shoot = tmp_path / "shoot"
    _jpeg(shoot / "a.jpg", 16, 12, flash=pf.FLASH_FIRED)
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = out / f".a_ambient.jpg.flashcli-{dead}-abc123.part.jpg"
    stale.write_bytes(b"x" * 1000)
    live = out / f".b_ambient.jpg.flashcli-{os.getpid()}-def456.part.jpg"
    live.write_bytes(b"y")
    foreign = out / ".someone-else.part"
    foreign.write_bytes(b"z")
    result = _run("relight", str(shoot), "-o", str(out), "-m", "identity")
    assert result.exit_code == 0, result.output
    assert not stale.exists() and live.exists() and foreign.exists()
