"""Bad inputs from the independent fault corpus: each ends in one line naming the value or
file and the fix, exit 2 for the command line (UsageError) or 1 for data (FlashcliError),
never a traceback. Every case goes through the CLI."""

from __future__ import annotations

import re
import sys

import photo_factory as pf
import pytest
from click.testing import CliRunner
from plugin_dist import make_dist

from flashcli.cli import cli


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "400"})


def _refused(result, code: int, pattern: str) -> None:
    out = result.output
    assert result.exit_code == code, out
    assert "Traceback" not in out, out
    assert re.search(pattern, out), (pattern, out)


# --- 1. a method returning int, bool, complex or wrong-shaped tensors ----------------------

BAD_OUTPUT_PLUGIN = """
    import torch
    import flashcli
    from flashcli.enhancer import Enhancer, Option

    class BadOutput(Enhancer):
        name = "badout"
        options = (Option("kind", "int", "what to return",
                          choices=("int", "bool", "complex", "uint8", "shape", "float")),)

        def enhance(self, flash):
            kind = self.config["kind"]
            if kind == "int":
                return (flash * 255).long()
            if kind == "bool":
                return flash > 0.5
            if kind == "complex":
                return flash.to(torch.complex64)
            if kind == "uint8":
                return (flash * 255).to(torch.uint8)
            if kind == "shape":
                return flash[:, :, :-1]
            return flash * 0.5

    @flashcli.hookimpl
    def flashcli_register_enhancers(register):
        register(BadOutput)
    """


@pytest.fixture
def bad_output_plugin(tmp_path, monkeypatch):
    site = tmp_path / "site"
    make_dist(site, "fx-badout", "1.0", {"badout": "fx_badout"}, {"fx_badout": BAD_OUTPUT_PLUGIN})
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("fx_badout", None)


@pytest.mark.parametrize(("kind", "why"), [
    ("int", r"returned int64 values; it must return floating-point values"),
    ("bool", r"returned bool values"),
    ("complex", r"returned complex64 values"),
    ("uint8", r"returned uint8 values"),
    ("shape", r"returned shape \(1, 3, 11, 16\) for input \(1, 3, 12, 16\)"),
])
@pytest.mark.parametrize("size", ["auto", "full"])
def test_relight_refuses_a_method_output_that_is_not_float_of_the_input_shape(
        bad_output_plugin, tmp_path, kind, why, size):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg", 16, 12)
    pf.write_jpeg(shoot / "b.jpg", 16, 12)
    out = tmp_path / "out"
    args = ["relight", str(shoot), "-o", str(out), "-m", "badout", "--opt", f"kind={kind}"]
    result = _run(*args, *(["--working-size", "full"] if size == "full" else []))
    _refused(result, 1, rf"method badout {why}")
    assert "2 of 2 photos failed" in result.output
    assert not any(p.is_file() for p in out.rglob("*")) if out.exists() else True


def test_relight_writes_a_float_method_output(bad_output_plugin, tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg", 16, 12)
    result = _run("relight", str(shoot), "-o", str(tmp_path / "out"), "-m", "badout",
                  "--opt", "kind=float")
    assert result.exit_code == 0, result.output


def test_eval_refuses_an_int_method_output(bad_output_plugin, tmp_path):
    import bad_inputs as bi

    data = tmp_path / "data"
    bi.write_pairs(data / "test", 1)
    result = _run("eval", str(data), "--methods", "badout,identity", "--opt", "badout.kind=int")
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    assert "method badout returned int64 values" in result.output


# --- 2. an empty method name ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", " "])
def test_relight_refuses_an_empty_method_name(tmp_path, name):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg", 16, 12)
    out = tmp_path / "out"
    result = _run("relight", str(shoot), "-o", str(out), "-m", name)
    _refused(result, 2, r"--method '\s*': empty method name; name one")
    assert not out.exists()


def test_relight_library_refuses_an_empty_method_name(tmp_path):
    from flashcli.errors import UsageError
    from flashcli.relight.run import relight

    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg", 16, 12)
    with pytest.raises(UsageError, match="empty method name"):
        relight([shoot], tmp_path / "out", method="")


def test_train_refuses_an_empty_method_name(tmp_path):
    import bad_inputs as bi

    data = tmp_path / "data"
    bi.write_pairs(data / "train", 1)
    bi.write_pairs(data / "test", 1)
    result = _run("train", str(data), "-m", "", "-o", str(tmp_path / "run"), "--epochs", "1")
    _refused(result, 2, r"--method '': empty method name")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("names", ["", " , "])
def test_eval_refuses_an_empty_methods_list(tmp_path, names):
    import bad_inputs as bi

    data = tmp_path / "data"
    bi.write_pairs(data / "test", 1)
    result = _run("eval", str(data), "--methods", names)
    _refused(result, 2, r"--methods '[ ,]*': no method named; list methods like --methods")


# --- 3. synth --misalign out of range, --preview inside a split ------------------------------

@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e308", "65", "-1"])
def test_synth_refuses_a_non_finite_or_absurd_misalign(tmp_path, value):
    out = tmp_path / "synth"
    result = _run("synth", str(out), "--pairs", "1", "--size", "32x24", "--misalign", value)
    _refused(result, 2, r"--misalign \S+: use a number of pixels from 0 to 64")
    assert not out.exists()


def test_synth_library_refuses_a_non_finite_misalign(tmp_path):
    from flashcli.errors import UsageError
    from flashcli.synth import render_dataset

    with pytest.raises(UsageError, match="from 0 to 64"):
        render_dataset(tmp_path / "synth", 1, (32, 24), misalign=float("nan"))


@pytest.mark.parametrize("split", ["train", "test", "test/deeper"])
def test_synth_refuses_a_preview_inside_a_split_folder(tmp_path, split):
    out = tmp_path / "synth"
    preview = out / split / "preview.png"
    result = _run("synth", str(out), "--pairs", "1", "--size", "32x24", "--preview", str(preview))
    _refused(result, 2, r"--preview .*preview\.png: lies inside the data set's (train|test)/ folder")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_synth_accepts_a_preview_beside_the_splits(tmp_path):
    out = tmp_path / "synth"
    result = _run("synth", str(out), "--pairs", "1", "--size", "32x24", "--misalign", "64",
                  "--preview", str(out / "preview.png"))
    assert result.exit_code == 0, result.output
    assert (out / "preview.png").is_file()


# --- 4. train --seed out of torch's range, learning-rate options <= 0 -----------------------

@pytest.fixture
def dataset(tmp_path):
    import bad_inputs as bi

    data = tmp_path / "data"
    bi.write_pairs(data / "train", 1)
    bi.write_pairs(data / "test", 1)
    return data


@pytest.mark.parametrize("seed", [str(2**64), str(2**32), "-1", str(-2**63)])
def test_train_refuses_a_seed_out_of_range(dataset, tmp_path, seed):
    run = tmp_path / "run"
    result = _run("train", str(dataset), "-o", str(run), "--seed", seed, "--epochs", "1")
    _refused(result, 2, rf"--seed {re.escape(seed)}: must be 0 to 4294967295")
    assert not run.exists()


@pytest.mark.parametrize(("method", "opt"), [
    ("guided-cgan", "lr_g=-1"), ("guided-cgan", "lr_g=0"), ("guided-cgan", "lr_d=-1e-5"),
    ("unet", "lr=0"), ("deepflash", "lr=-0.001"),
])
def test_train_refuses_a_learning_rate_option_that_is_not_positive(dataset, tmp_path, method, opt):
    run = tmp_path / "run"
    result = _run("train", str(dataset), "-m", method, "-o", str(run), "--opt", opt, "--epochs", "1")
    _refused(result, 2, rf"option {re.escape(opt.split('=')[0])}='{re.escape(opt.split('=')[1])}': "
             r"must be > 0")
    assert not run.exists()


def test_learning_rate_options_are_typed_positive():
    from flashcli.plugins import registry

    reg = registry()
    for method, names in {"guided-cgan": ("lr_g", "lr_d"), "unet": ("lr",), "deepflash": ("lr",)}.items():
        options = {o.name: o for o in reg.get(method).cls.options}
        for name in names:
            assert options[name].positive, (method, name)


# --- 5. standard output closed ------------------------------------------------------------------

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


# --- 6. RAW files with degenerate levels -------------------------------------------------------

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


def test_levels_libraw_reports_are_checked_too(tmp_path):
    """Formats without DNG tags: the levels LibRaw unpacks are checked before demosaicing."""
    from types import SimpleNamespace

    from flashcli.io.raw import RawReadError, _check_levels

    with pytest.raises(RawReadError, match=r"x\.nef: the RAW file's black level 600 is at or above"):
        _check_levels(SimpleNamespace(black_level_per_channel=[600] * 4, white_level=512),
                      tmp_path / "x.nef")
    _check_levels(SimpleNamespace(black_level_per_channel=[64] * 4, white_level=4095), tmp_path / "x.nef")


# -- a run folder asking for an absurd network, a VGG file that is not there --------------

def test_resume_refuses_a_run_whose_saved_width_is_absurd(tmp_path):
    import torch

    from tests.train.test_training import make_dataset

    data = make_dataset(tmp_path / "faid")
    run = tmp_path / "run"
    res = _run("train", str(data), "--out", str(run), "--opt", "width=0.0625", "--crop-size", "32",
               "--batch-size", "2", "--steps", "1", "--device", "cpu")
    assert res.exit_code == 0, res.output
    state = torch.load(run / "state.pt", weights_only=True)
    state["config"]["options"]["width"] = 5000.0  # ~1e6 channels: gigabytes before any check
    torch.save(state, run / "state.pt")
    res = _run("train", "--resume", str(run), "--epochs", "2")
    _refused(res, 1, rf"{re.escape(str(run))}: the run's saved options are invalid .*width.*at most 4")


def test_width_is_bounded_on_the_command_line(tmp_path):
    pf.write_jpeg(tmp_path / "IMG_1.jpg")
    res = _run("relight", str(tmp_path), "-o", str(tmp_path / "o"), "--opt", "width=1e6")
    _refused(res, 2, r"width.*at most 4")


def test_missing_vgg_file_names_the_option_that_exists(tmp_path):
    from flashcli.errors import FlashcliError
    from flashcli.nn.vgg import read_vgg16_file

    with pytest.raises(FlashcliError, match=r"not found; pass an existing file to --opt vgg_weights=FILE"):
        read_vgg16_file(tmp_path / "nope.pth")


def test_a_package_with_non_utf8_entry_points_is_named_not_a_traceback(tmp_path):
    """torch's own entry-point scan fails on such a package; flashcli names it."""
    import os
    import subprocess
    from pathlib import Path

    info = tmp_path / "site" / "bad_pkg-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-pkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_bytes(b"[console_scripts]\nx = caf\xe9:main\n")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "IMG_1.jpg")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(root), str(root / "plugins")])}
    done = subprocess.run([sys.executable, "-m", "flashcli", "relight", str(shoot), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert re.search(r"bad-pkg .*entry_points\.txt that is not UTF-8.*uninstall", done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1
