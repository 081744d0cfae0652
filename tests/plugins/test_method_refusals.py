"""A method's output that is not float of the input's shape, an empty method name, a package
with a non-UTF-8 entry_points.txt: each ends in one line naming the value or file and the fix,
exit 2 for the command line or 1 for data, never a traceback. Every case goes through the CLI."""

from __future__ import annotations

import re
import sys

import photo_factory as pf
import pytest
from PIL import Image
from plugin_dist import make_dist

from tests.clitools import run_wide as _run


def _refused(result, code: int, pattern: str) -> None:
    out = result.output
    assert result.exit_code == code, out
    assert "Traceback" not in out, out
    assert re.search(pattern, out), (pattern, out)


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
    written = list((tmp_path / "out").glob("a*.jpg"))
    assert len(written) == 1 and Image.open(written[0]).size == (16, 12)


def test_eval_refuses_an_int_method_output(bad_output_plugin, tmp_path):
    import bad_inputs as bi

    data = tmp_path / "data"
    bi.write_pairs(data / "test", 1)
    result = _run("eval", str(data), "--methods", "badout,identity", "--opt", "badout.kind=int")
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    assert "method badout returned int64 values" in result.output


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
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(root), str(root / "plugins")])}
    done = subprocess.run([sys.executable, "-m", "flashcli", "relight", str(shoot), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert re.search(r"bad-pkg .*entry_points\.txt that is not UTF-8.*uninstall", done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1
