"""Issue 9, ``flashcli relight``: bad inputs fail one by one while the rest is processed;
inputs are never changed; no output is ever half-written (also when the disk fills up or
the rename fails); Ctrl-C leaves only complete outputs and a re-run finishes the job."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import bad_inputs as bi
import photo_factory as pf
import pytest
from click.testing import CliRunner
from PIL import Image

from flashcli.cli import cli
from flashcli.io import fsutil
from flashcli.io.imageio import read_image


@pytest.fixture(scope="module")
def method_site(tmp_path_factory):
    """A fake installed distribution with the ``slow`` and ``flaky`` methods."""
    return bi.make_method_site(tmp_path_factory.mktemp("site"))


@pytest.fixture
def methods(method_site, monkeypatch):
    monkeypatch.syspath_prepend(str(method_site))
    yield method_site
    for mod in [m for m in sys.modules if m.startswith("fx_")]:
        del sys.modules[mod]


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def _no_temp_files(folder: Path) -> None:
    if folder.exists():
        hidden = [p for p in folder.rglob("*") if (p.name.startswith(".") or ".part" in p.name)
                  and p.name != ".flashcli-relight.json"]  # the record of settings is no temp file
        assert hidden == [], hidden


def _relight(*args: str):
    return CliRunner().invoke(cli, ["relight", "--method", "identity", *args])


def _report(result) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{"):])


def _by_name(report: dict) -> dict[str, dict]:
    return {Path(f["source"]).name: f for f in report["files"]}


# --- bad inputs ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    cases = bi.make_corpus(folder)
    bi.make_symlink_loop(folder)
    return folder, cases


def test_corpus_fails_file_by_file_and_goes_on(corpus, tmp_path):
    folder, cases = corpus
    out = tmp_path / "out"
    result = _relight(str(folder), "-r", "--all", "-o", str(out), "--json")
    refused = bi.UNREADABLE | bi.TOO_LARGE
    bi.assert_clean_failure(result, *(cases[c].name for c in refused))
    files = _by_name(_report(result))
    for case, path in cases.items():
        row = files[path.name]
        if case in refused:
            assert row["status"] == "failed" and row["reason"].startswith(str(path)), row
            assert row["output"] is None
        else:
            assert row["status"] == "processed", row
            assert read_image(row["output"])[0].shape[0] == 3
    assert "--max-pixels 2500000000" in files[cases["bomb_jpg"].name]["reason"]
    assert "self.jpg" not in files  # the looping link is passed over, the loop not followed
    assert len(files) == len(cases)
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"Error: {len(refused)} of {len(cases)} photos failed")
    assert (out / "ünï cødé" / "phöto 1 📷_ambient.jpg").is_file()
    _no_temp_files(out)


def test_table_lists_each_failure_with_its_fix(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "good.jpg")
    bi.write_truncated_jpeg(shoot / "cut.jpg")
    result = CliRunner().invoke(cli, ["relight", "--method", "identity", str(shoot), "-o",
                                      str(tmp_path / "out")], env={"COLUMNS": "400"})
    bi.assert_clean_failure(result, "cut.jpg", "re-copy it from the camera")
    lines = [ln for ln in result.stdout.splitlines() if "cut.jpg" in ln]
    assert len(lines) == 1 and "failed" in lines[0]  # one line: file, outcome, reason and fix
    assert result.stderr.strip().splitlines()[-1].startswith("Error: 1 of 2 photos failed")
    assert (tmp_path / "out" / "good_ambient.jpg").is_file()
    assert not (tmp_path / "out" / "cut_ambient.jpg").exists()


def test_glob_over_a_symlink_loop(corpus, tmp_path):
    """A glob that matches a looping link (and descends the loop) neither crashes nor hangs."""
    folder, cases = corpus
    result = _relight(str(folder / "**" / "*.jpg"), "-o", str(tmp_path / "out"), "--json")
    bi.assert_clean_failure(result, cases["text_jpg"].name)  # the bad JPEGs still fail
    files = _by_name(_report(result))
    assert files[cases["one_pixel"].name]["status"] == "processed"
    # Each real JPEG once, however many times the loop (loop/loop/...) lists it.
    assert sorted(files) == sorted(p.name for p in cases.values() if p.suffix == ".jpg")


def test_unexpected_exceptions_become_per_file_failures(methods, tmp_path, monkeypatch):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for name in ("a", "b", "c"):
        pf.write_jpeg(shoot / f"{name}.jpg", 16, 12)
    bi.write_one_pixel(shoot / "tiny.jpg")
    result = CliRunner().invoke(cli, ["relight", str(shoot), "-o", str(tmp_path / "out"),
                                      "--method", "flaky", "--json"])
    bi.assert_clean_failure(result, "tiny.jpg", "RuntimeError: flaky exploded on an odd width")
    files = _by_name(_report(result))
    assert files["tiny.jpg"]["status"] == "failed"
    assert [files[n]["status"] for n in ("a.jpg", "b.jpg", "c.jpg")] == ["processed"] * 3

    import flashcli.relight.run as relight_mod

    real = relight_mod.decode_pixels

    def buggy(path, **kwargs):
        if Path(path).name == "b.jpg":
            raise ZeroDivisionError("decoder bug")
        return real(path, **kwargs)

    monkeypatch.setattr(relight_mod, "decode_pixels", buggy)
    result = _relight(str(shoot), "-o", str(tmp_path / "out2"), "--json")
    bi.assert_clean_failure(result, "b.jpg", "ZeroDivisionError: decoder bug")
    files = _by_name(_report(result))
    assert files["b.jpg"]["status"] == "failed"
    assert files["a.jpg"]["status"] == files["c.jpg"]["status"] == "processed"


# --- data safety -----------------------------------------------------------------------------

def test_inputs_are_never_changed(corpus, tmp_path):
    folder, _ = corpus
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "flash.jpg", 24, 16)
    pf.write_png(shoot / "plain.png", 24, 16)
    pf.write_tiff(shoot / "deep.tif", 24, 16, flash=pf.FLASH_FIRED)
    pf.write_dng(shoot / "raw.dng", 32, 24)
    before = {"corpus": _hashes(folder), "shoot": _hashes(shoot)}
    out = tmp_path / "out"
    first = _relight(str(folder), str(shoot), "-r", "--all", "-o", str(out), "--json")
    assert first.exit_code == 1 and "Traceback" not in first.output
    written = _hashes(out)
    second = _relight(str(folder), str(shoot), "-r", "--all", "-o", str(out), "--overwrite", "--json")
    assert second.exit_code == 1 and "Traceback" not in second.output
    assert set(_hashes(out)) == set(written)
    # Into the input folder itself, twice: outputs beside the inputs, inputs untouched.
    for extra in ((), ("--overwrite",)):
        inside = _relight(str(shoot), "--all", "-o", str(shoot), *extra)
        assert inside.exit_code == 0, inside.output
    # A template naming the outputs exactly like the inputs: refused up front (exit 2).
    same = _relight(str(shoot), "--all", "-o", str(shoot), "--template", "{stem}.{inext}",
                    "--overwrite", "--json")
    bi.assert_clean_failure(same, "names each result exactly like its photo")
    assert same.exit_code == 2
    assert {"corpus": _hashes(folder), "shoot": {k: v for k, v in _hashes(shoot).items()
                                                 if "_ambient" not in k and not k.startswith(".")}} == before
    for path in out.rglob("*_ambient.*"):
        assert read_image(path)[0].numel() > 0  # every output is complete
    _no_temp_files(out)


def _fail_writes_of(monkeypatch, stem: str, exc: OSError, where: str = "encode") -> None:
    """Make writing ``<stem>_ambient.*`` fail: the encoder writes half a file then raises, or
    the final rename raises."""
    if where == "encode":
        real_save = Image.Image.save

        def save(self, fp, *args, **kwargs):
            if f".{stem}_ambient." in str(fp):
                Path(fp).write_bytes(b"\xff\xd8half a jpeg")
                raise exc
            return real_save(self, fp, *args, **kwargs)

        monkeypatch.setattr(Image.Image, "save", save)
    else:
        real_replace = os.replace

        def replace(src, dst):
            if f"{stem}_ambient." in str(dst):
                raise exc
            return real_replace(src, dst)

        monkeypatch.setattr(fsutil.os, "replace", replace)


@pytest.mark.parametrize("where", ["encode", "rename"])
def test_a_write_failing_midway_leaves_nothing_half_written(tmp_path, monkeypatch, where):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for name in ("a", "b", "c"):
        pf.write_jpeg(shoot / f"{name}.jpg", 16, 12)
    out = tmp_path / "out"
    assert _relight(str(shoot), "-o", str(out)).exit_code == 0
    old = _hashes(out)
    with monkeypatch.context() as m:
        _fail_writes_of(m, "b", OSError(errno.ENOSPC, "No space left on device"), where)
        result = _relight(str(shoot), "-o", str(out), "--overwrite", "--json")
        fresh = _relight(str(shoot), "-o", str(tmp_path / "fresh"), "--json")
    for res, folder in ((result, out), (fresh, tmp_path / "fresh")):
        bi.assert_clean_failure(res, "b_ambient.jpg", "No space left on device",
                                "free some disk space")
        files = _by_name(_report(res))
        assert files["b.jpg"]["status"] == "failed"
        assert files["a.jpg"]["status"] == files["c.jpg"]["status"] == "processed"
        _no_temp_files(folder)
    assert _hashes(out)["b_ambient.jpg"] == old["b_ambient.jpg"]  # the old output survives
    assert sorted(_hashes(tmp_path / "fresh")) == [".flashcli-relight.json", "a_ambient.jpg",
                                                   "c_ambient.jpg"]


def test_read_only_output_folder(tmp_path, monkeypatch):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg", 16, 12)
    pf.write_jpeg(shoot / "b.jpg", 16, 12)
    out = tmp_path / "out"
    if bi.is_root():
        out.mkdir()
        real = fsutil.tempfile.mkstemp

        def refuse(*args, dir=None, **kwargs):
            if Path(dir) == out:
                raise PermissionError(errno.EACCES, "Permission denied", str(dir))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(fsutil.tempfile, "mkstemp", refuse)
    else:
        bi.make_readonly(out)
    try:
        result = CliRunner().invoke(cli, ["relight", "--method", "identity", str(shoot), "-o",
                                          str(out)], env={"COLUMNS": "400"})
    finally:
        out.chmod(0o755)
    bi.assert_clean_failure(result, "a.jpg", "b.jpg", "Permission denied",
                            "choose a writable output folder")
    assert "2 of 2 photos failed" in result.output
    assert list(out.iterdir()) == []


# --- interruption ----------------------------------------------------------------------------

#: Frames of the interrupted shoot: batches of 4 at 0.1 s per photo leave time for the signal.
FRAMES = 16


def _run_relight(site: Path, shoot: Path, out: Path, *extra: str) -> subprocess.Popen:
    """The `slow` method in a child process, held after its first batch (bad_inputs.HOLD_ENV)
    until the test has sent its signal."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "NO_COLOR": "1", bi.HOLD_ENV: str(out.parent / "never-released")}
    return subprocess.Popen(
        [sys.executable, "-m", "flashcli", "relight", str(shoot), "-o", str(out),
         "--method", "slow", "--workers", "1", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell may start background jobs with SIGINT ignored; the child must see it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_sigint_leaves_complete_outputs_and_a_rerun_finishes(methods, tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for k in range(FRAMES):
        pf.write_jpeg(shoot / f"f{k:02d}.jpg", 16, 12)
    before = _hashes(shoot)
    out = tmp_path / "out"
    proc = _run_relight(methods, shoot, out)
    deadline = time.monotonic() + 60
    try:
        while not (out.is_dir() and any(out.glob("*_ambient.jpg"))):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "relight never wrote an output"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    done = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert 0 < len(done) < FRAMES, done
    _no_temp_files(out)
    for name in done:
        assert read_image(out / name)[0].shape == (3, 12, 16)  # complete, decodable
    # The re-run (in-process, same command) skips the finished files and does the rest.
    rerun = CliRunner().invoke(cli, ["relight", str(shoot), "-o", str(out), "--method", "slow",
                                     "--workers", "1", "--json"])
    assert rerun.exit_code == 0, rerun.output
    report = _report(rerun)
    assert report["counts"]["skipped-exists"] == len(done)
    assert report["counts"]["processed"] == FRAMES - len(done)
    assert len(list(out.glob("*_ambient.jpg"))) == FRAMES
    assert _hashes(shoot) == before
