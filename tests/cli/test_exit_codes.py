"""Exit codes: 2 and one line for a usage error, 1 for failed work, 130 for Ctrl-C."""

from __future__ import annotations

import photo_factory as pf
import pytest
from pair_factory import write_pair_dataset

from tests.clitools import run as _run


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_pair_dataset(tmp_path_factory.mktemp("pairs"), n_train=4, n_test=1, size=(24, 20))


@pytest.mark.parametrize("args", [
    ["relight", "SHOOT", "-o", "OUT", "--device", "gpu"],
    ["relight", "SHOOT", "-o", "OUT", "--working-size", "0"],
    ["relight", "SHOOT", "-o", "OUT", "--template", "{foo}"],
    ["relight", "SHOOT", "-o", "OUT", "--template", "{stem:d}.png"],
    ["relight", "SHOOT", "-o", "OUT", "--opt", "strength"],
    ["relight", "SHOOT", "-o", "OUT", "--method", "lime", "--opt", "gamma=nan"],
    ["relight", "SHOOT", "-o", "OUT", "--bogus-flag"],
    ["synth", "OUT", "--size", "abc"],
    ["train", "DATA", "--epochs", "0"],
    ["train", "DATA", "--batch-size", "0"],
    ["eval", "DATA", "--metrics", "nope"],
])
def test_usage_errors_exit_2_in_one_line(args, tmp_path, pairs):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg")
    names = {"SHOOT": str(shoot), "OUT": str(tmp_path / "out"), "DATA": str(pairs)}
    result = _run(*[names.get(a, a) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "Error" in result.output.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_failed_work_exits_1(tmp_path):
    broken = tmp_path / "shoot"
    broken.mkdir()
    (broken / "a.jpg").write_bytes(b"not a photo")
    result = _run("relight", str(broken), "-o", str(tmp_path / "out"), "--method", "identity", "--all")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "Error: 1 of 1 photos failed; see the report above"


def test_ctrl_c_during_relight_exits_130(tmp_path, monkeypatch):
    import flashcli.relight.run as relight_run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(relight_run, "relight", interrupted)
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg")
    result = _run("relight", str(shoot), "-o", str(tmp_path / "out"))
    assert result.exit_code == 130
    assert result.stderr.strip().startswith("flashcli: interrupted; finished files are complete")
