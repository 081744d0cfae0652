"""Issue 15, reliability round two: short writes, hostile weights and plugins, crashed runs,
signals, output locations, TIFF variants, malformed EXIF tags, odd paths. Every case goes
through the CLI and checks: one line, the exit status, no traceback, inputs unchanged, no
temporary file left."""

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
from types import SimpleNamespace

import bad_inputs as bi
import photo_factory as pf
import pytest
import torch
from click.testing import CliRunner

from flashcli.cli import cli
from flashcli.errors import FlashcliError
from flashcli.io import fsutil
from flashcli.io.imageio import read_image, write_image

ROOT = Path(__file__).resolve().parents[1]


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if fsutil.is_regular(p) and not p.is_symlink()}


def _no_temp_files(folder: Path) -> None:
    left = [p for p in folder.rglob("*") if ".part" in p.name or fsutil.is_part_file(p.name)]
    assert left == [], left


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "400"})  # one line per table row


def _subprocess(args: list[str], site: Path | None = None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", **kw.pop("env", {})}
    paths = [str(site)] if site else []
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(ROOT), str(ROOT / "plugins"),
                                         env.get("PYTHONPATH", "")])
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "flashcli", *args], env=env, text=True,
                          timeout=120, **kw)


def _jpeg(path: Path, *args, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return pf.write_jpeg(path, *args, **kwargs)


def _one_clean_line(stderr: str, *names: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for name in names:
        assert name in stderr, (name, stderr)


# --- 1. short writes ------------------------------------------------------------------------

@pytest.fixture
def lying_disk(monkeypatch):
    """The disk keeps only the first half of every file (a nearly full disk that loses the
    tail of a write without an error)."""
    real = fsutil._fsync_file

    def half(path: Path) -> int:
        size = path.stat().st_size
        os.truncate(path, size // 2)
        return real(path)

    monkeypatch.setattr(fsutil, "_fsync_file", half)


def _writers(folder: Path) -> dict:
    from flashcli.training.logs import CsvLog, save_png
    from flashcli.weights import save_weights

    img = torch.rand(3, 12, 16)
    return {
        "jpeg": lambda: write_image(folder / "a.jpg", img),
        "png": lambda: write_image(folder / "a.png", img),
        "tiff": lambda: write_image(folder / "a.tif", img, bit_depth=16),
        "safetensors": lambda: save_weights(folder / "w.safetensors", {"x": torch.ones(64)}, {}),
        "json": lambda: fsutil.atomic_write_text(folder / "r.json", json.dumps({"a": 1})),
        "csv": lambda: CsvLog(folder / "epochs.csv").write({"epoch": 1, "loss": 0.5}),
        "grid png": lambda: save_png(folder / "grid.png", img),
    }


@pytest.mark.parametrize("kind", ["jpeg", "png", "tiff", "safetensors", "json", "csv", "grid png"])
def test_a_short_write_is_caught_before_the_rename(tmp_path, lying_disk, kind):
    with pytest.raises(FlashcliError, match="cannot write") as info:
        _writers(tmp_path)[kind]()
    assert "cannot write" in info.value.message and "free some disk space" in info.value.message
    assert "incomplete" in info.value.message
    assert [p.name for p in tmp_path.iterdir()] == []  # no output, no temporary file


def test_relight_does_not_report_a_truncated_output_as_processed(tmp_path, monkeypatch):
    shoot = tmp_path / "shoot"
    _jpeg(shoot / "a.jpg", 32, 24, flash=pf.FLASH_FIRED)
    before = _hashes(shoot)
    out = tmp_path / "out"
    real = fsutil._fsync_file
    monkeypatch.setattr(fsutil, "_fsync_file",
                        lambda p: (os.truncate(p, (p.stat().st_size // 2) // 4096 * 4096), real(p))[1])
    result = _run("relight", str(shoot), "-o", str(out), "-m", "identity", "--json")
    bi.assert_clean_failure(result)
    report = json.loads(result.stdout[result.stdout.index("{"):])
    assert report["counts"]["processed"] == 0 and report["counts"]["failed"] == 1
    assert "free some disk space" in report["files"][0]["reason"]
    assert not (out / "a_ambient.jpg").exists()
    _no_temp_files(out)
    monkeypatch.setattr(fsutil, "_fsync_file", real)  # the disk has room again
    rerun = _run("relight", str(shoot), "-o", str(out), "-m", "identity", "--json")
    assert rerun.exit_code == 0, rerun.output
    assert read_image(out / "a_ambient.jpg")[0].shape == (3, 24, 32)
    assert _hashes(shoot) == before


def test_a_full_disk_inside_safetensors_is_one_line(tmp_path, monkeypatch):
    import safetensors.torch
    from safetensors import SafetensorError

    from flashcli.weights import save_weights

    def full(*args, **kwargs):
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                              'message: "No space left on device" })')

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    with pytest.raises(FlashcliError, match="No space left on device") as info:
        save_weights(tmp_path / "w.safetensors", {"x": torch.ones(2)}, {})
    assert info.value.message == (f"{tmp_path / 'w.safetensors'}: cannot write (No space left on "
                                  "device); free some disk space and run again")
    assert list(tmp_path.iterdir()) == []


# --- 2. hostile plugins -----------------------------------------------------------------------

@pytest.fixture
def hostile(tmp_path, monkeypatch):
    site = bi.make_hostile_site(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    yield site
    for mod in [m for m in sys.modules if m.startswith("fx_")]:
        del sys.modules[mod]


def test_plugins_lists_every_hostile_plugin_and_exits_0(hostile):
    result = _run("plugins", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    failed = {f["plugin"]: f["error"] for f in report["failed"]}
    for mod, (_, expected) in bi.HOSTILE_PLUGINS.items():
        if expected is not None:
            assert expected in failed[mod[3:]], failed
    names = {m["name"] for m in report["methods"]}
    assert {"identity", "initraises", "exits", "mutates"} <= names
    assert "../../escape" not in names
    table = _run("plugins")
    assert table.exit_code == 0 and "Traceback" not in table.output


def test_eval_isolates_a_method_that_exits_or_mutates_its_input(hostile, tmp_path):
    data = tmp_path / "data"
    bi.write_pairs(data / "test", 2)
    alone = _run("eval", str(data), "--methods", "identity", "--json")
    assert alone.exit_code == 0, alone.output
    mixed = _run("eval", str(data), "--methods", "mutates,exits,identity", "--json")
    assert "Traceback" not in mixed.output
    assert mixed.exit_code == 1, mixed.output  # `exits` failed its images
    base = json.loads(alone.stdout[alone.stdout.index("{"):])
    got = json.loads(mixed.stdout[mixed.stdout.index("{"):])

    def identity(report: dict) -> tuple:
        s = next(x for x in report["summaries"] if x["method"] == "identity")
        return s["images"], s["psnr_mean"], s["ssim_mean"]

    # identity scores the same as alone: the mutating method ran on its own copy.
    assert identity(got) == identity(base)
    messages = " ".join(f["message"] for f in got["failures"])
    assert "method exits failed: SystemExit: 3" in messages


def test_a_method_whose_init_raises_is_one_line(hostile, tmp_path):
    data = tmp_path / "data"
    bi.write_pairs(data / "test", 1)
    result = _run("eval", str(data), "--methods", "initraises")
    bi.assert_clean_failure(result, "method initraises", "failed to start", "cannot start today")


def test_relight_with_a_method_that_calls_sys_exit(hostile, tmp_path):
    shoot = tmp_path / "shoot"
    _jpeg(shoot / "a.jpg", 16, 12, flash=pf.FLASH_FIRED)
    result = _run("relight", str(shoot), "-o", str(tmp_path / "out"), "-m", "exits")
    bi.assert_clean_failure(result, "SystemExit: 3", "1 of 1 photos failed")


def test_method_names_are_sanitised_in_save_images(tmp_path):
    from flashcli.evaluation.score import save_outputs

    out = tmp_path / "saved"
    pair = SimpleNamespace(stem="a", flash=tmp_path / "f.png", ambient=tmp_path / "a.png")
    batch = [(pair, None, None)]
    save_outputs(out, "../../escape", batch, torch.rand(1, 3, 8, 8), failures := [])
    assert failures == []
    written = [p for p in tmp_path.rglob("*.png")]
    assert len(written) == 1 and out in written[0].parents, written
    assert fsutil.safe_name("guided-cgan") == "guided-cgan"
    assert "/" not in fsutil.safe_name("a/b") and fsutil.safe_name("a/b") != fsutil.safe_name("a_b")


# --- 3. untrusted weights and run folders --------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    return bi.write_tiny_unet(tmp_path_factory.mktemp("w") / "tiny.safetensors")


@pytest.fixture
def photo(tmp_path):
    return _jpeg(tmp_path / "shoot" / "a.jpg", 32, 24, flash=pf.FLASH_FIRED)


@pytest.mark.parametrize("options, expected", [
    ({"width": 2.0}, "weights do not fit method unet"),
    ({"width": 12.0}, "option width=12.0: must be at most 4"),
    ({"width": None}, "expected float (a finite number)"),
    ({"width": [1]}, "expected float (a finite number)"),
    ({"width": "1e400"}, "expected float (a finite number)"),
    ({"lr": True}, "expected float (a finite number)"),
])
def test_weights_metadata_is_checked_before_anything_is_built(tmp_path, photo, options, expected,
                                                              monkeypatch):
    import flashcli_unet

    w = bi.write_tiny_unet(tmp_path / "w.safetensors", options)
    built, init = [], flashcli_unet.UNetEnhancer.__init__
    monkeypatch.setattr(flashcli_unet.UNetEnhancer, "__init__",
                        lambda self, *a, **k: built.append(k) or init(self, *a, **k))
    result = _run("relight", str(photo.parent), "-o", str(tmp_path / "out"), "-m", "unet", "-w", str(w))
    bi.assert_clean_failure(result, str(w), expected)
    assert not (tmp_path / "out").exists()
    # nothing of gigabytes was built: no network wider than the option allows
    assert all(0 < float(k.get("width", 1.0)) <= 4.0 for k in built), built


def test_deeply_nested_metadata_is_refused_and_a_deep_sidecar_ignored(tmp_path, photo):
    deep = bi.write_tiny_unet(tmp_path / "deep.safetensors", embedded=bi.deep_json())
    result = _run("relight", str(photo.parent), "-o", str(tmp_path / "o1"), "-m", "unet", "-w", str(deep))
    bi.assert_clean_failure(result, "embedded metadata is malformed", "nested deeper")
    plain = bi.write_tiny_unet(tmp_path / "plain.safetensors", embedded="")
    plain.with_suffix(".json").write_text(bi.deep_json())
    ok = _run("relight", str(photo.parent), "-o", str(tmp_path / "o2"), "-m", "unet", "-w", str(plain),
              "--opt", "width=0.0625")
    assert ok.exit_code == 0, ok.output


def test_a_safetensors_file_named_pt_is_loaded_not_refused(tmp_path, tiny_weights, photo):
    renamed = tmp_path / "tiny.pt"
    renamed.write_bytes(tiny_weights.read_bytes())
    result = _run("relight", str(photo.parent), "-o", str(tmp_path / "out"), "-m", "unet",
                  "-w", str(renamed))
    assert result.exit_code == 0, result.output
    assert "refused" not in result.output


def _state(tmp_path: Path, **changes) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    state = {"config": {"data": str(tmp_path), "out": str(run), "method": "unet"}, "modules": {},
             "optimizers": {}, "rng": {"cpu": torch.get_rng_state()}, "epoch": 0, "step": 1,
             "batch_in_epoch": 1}
    for key, value in changes.items():
        if key == "crop_size":
            state["config"]["crop_size"] = value
        else:
            state[key] = value
    torch.save(state, run / "state.pt")
    return run


@pytest.mark.parametrize("change, expected", [
    ({"rng": {"cpu": torch.zeros(7, dtype=torch.uint8)}}, "rng.cpu"),
    ({"rng": {"cpu": "garbage"}}, "rng.cpu"),
    ({"crop_size": 10**9}, "--crop-size 1000000000: must be 8 to 8192"),
    ({"crop_size": "big"}, "--crop-size 'big': must be a whole number"),
])
def test_resume_checks_the_saved_state(tmp_path, change, expected):
    run = _state(tmp_path, **change)
    result = _run("train", "--resume", str(run))
    bi.assert_clean_failure(result, expected)


# --- 4. a crashed run resumes ----------------------------------------------------------------------

TINY = ["--no-pretrained", "--opt", "width=0.0625", "--crop-size", "16", "--batch-size", "2",
        "--log-every", "1"]


def test_resume_tolerates_a_torn_log_and_a_garbage_csv(tmp_path):
    data = tmp_path / "data"
    bi.write_pairs(data / "train", 2)
    run = tmp_path / "run"
    first = _run("train", str(data), "--method", "unet", *TINY, "--steps", "1", "--out", str(run))
    assert first.exit_code == 0, first.output
    bi.torn_jsonl(run)
    bi.garbage_csv(run)
    result = _run("train", "--resume", str(run), "--steps", "2")
    assert result.exit_code == 0, result.output
    steps = [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2]


# --- 5. no hang on a FIFO ---------------------------------------------------------------------------

def test_a_fifo_named_safetensors_does_not_block(tmp_path, photo):
    wdir = tmp_path / "weights"
    fifo = bi.make_not_file("fifo", wdir / "x.safetensors")
    for w, expected in ((wdir, "no weights found"), (fifo, "named pipe")):
        proc = _subprocess(["relight", str(photo.parent), "-o", str(tmp_path / "out"), "-m", "unet",
                            "-w", str(w)])
        assert proc.returncode == 1, proc.stderr
        _one_clean_line(proc.stderr, str(w), expected)


# --- 6. output locations -----------------------------------------------------------------------------

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


# --- 7. SIGTERM and SIGHUP ----------------------------------------------------------------------------

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


# --- 8. synth --preview ------------------------------------------------------------------------------

def test_synth_preview_refuses_an_existing_file_and_writes_the_named_format(tmp_path):
    keep = tmp_path / "keep.jpg"
    keep.write_bytes(b"precious")
    result = _run("synth", str(tmp_path / "s1"), "--pairs", "2", "--size", "32x24", "--preview", str(keep))
    bi.assert_clean_failure(result, str(keep), "--overwrite")
    assert keep.read_bytes() == b"precious" and not (tmp_path / "s1").exists()
    fresh = tmp_path / "sheet.jpg"
    ok = _run("synth", str(tmp_path / "s2"), "--pairs", "2", "--size", "32x24", "--preview", str(fresh))
    assert ok.exit_code == 0, ok.output
    assert fresh.read_bytes()[:2] == b"\xff\xd8"  # JPEG, as the name says
    bad = _run("synth", str(tmp_path / "s3"), "--pairs", "2", "--size", "32x24",
               "--preview", str(tmp_path / "sheet.xyz"))
    bi.assert_clean_failure(result, "--overwrite")
    bi.assert_clean_failure(bad, "sheet.xyz", "name the preview .png, .jpg or .tif")


# --- 9. TIFF -----------------------------------------------------------------------------------------

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


# --- 10. malformed EXIF tag ----------------------------------------------------------------------------

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


# --- 11. smaller ---------------------------------------------------------------------------------------

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


def test_eval_default_methods_leave_out_a_method_that_cannot_start(hostile, tmp_path):
    """Without --methods, a broken plugin's method is left out with a warning and the
    others are scored; named explicitly, it is still one clear error (test above)."""
    data = tmp_path / "data"
    bi.write_pairs(data / "test", 2)
    result = _run("eval", str(data), "--metrics", "psnr,ssim", "--json")
    assert "Traceback" not in result.output
    report = json.loads(result.stdout[result.stdout.index("{"):])
    scored = {s["method"] for s in report["summaries"]}
    assert "identity" in scored and "initraises" not in scored
    assert "left out" in result.stderr and "initraises" in result.stderr
