"""Issue 23: `flashcli synth` interrupted, then the same command again, continues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashcli.cli import cli
from flashcli.errors import FlashcliError
from flashcli.synth.dataset import render_dataset

ARGS = dict(pairs=4, size=(32, 24), seed=3, test_fraction=0.25, device="cpu")
CLI = ["--pairs", "4", "--size", "32x24", "--seed", "3", "--test-fraction", "0.25", "--device", "cpu"]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def _interrupted(out: Path, after: int) -> None:
    """A run stopped by Ctrl-C once ``after`` pairs are written."""
    def progress(stage, done, total, **_):
        if done >= after:
            raise KeyboardInterrupt(f"Ctrl-C after {done} pairs")

    with pytest.raises(KeyboardInterrupt, match="Ctrl-C after"):
        render_dataset(out, progress=progress, **ARGS)


def test_the_same_command_continues_an_interrupted_run(tmp_path):
    whole = tmp_path / "whole"
    render_dataset(whole, progress=False, **ARGS)
    out = tmp_path / "out"
    _interrupted(out, 2)
    record = json.loads((out / "synth.json").read_text())
    assert record["complete"] is False and record["seed"] == 3
    assert len(record["done"]) == 4 and record["done"][2:] == ".."
    first = {p: (out / p).stat().st_mtime_ns for p in _files(out)}
    assert len(first) == 4  # two pairs
    result = CliRunner().invoke(cli, ["synth", str(out), *CLI, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["resumed"] == 2
    assert _files(out) == _files(whole)  # exactly what an uninterrupted run writes
    assert all((out / p).stat().st_mtime_ns == t for p, t in first.items())  # kept, not redone
    final = json.loads((out / "synth.json").read_text())
    reference = json.loads((whole / "synth.json").read_text())
    assert final["complete"] is True and final == reference


def test_a_finished_set_is_left_as_it_is(tmp_path):
    out = tmp_path / "out"
    render_dataset(out, progress=False, preview=tmp_path / "p.png", **ARGS)
    before = _files(out)
    again = render_dataset(out, progress=False, preview=tmp_path / "p.png", **ARGS)
    assert again["resumed"] == 4 and _files(out) == before
    assert again["categories"] == json.loads((out / "synth.json").read_text())["categories"]
    assert (tmp_path / "p.png").is_file()


def test_other_settings_are_refused_by_name(tmp_path):
    out = tmp_path / "out"
    _interrupted(out, 1)
    before = _files(out)
    for change, named in ((dict(seed=4), "--seed 4 (the folder was rendered with 3)"),
                          (dict(size=(48, 32)), "--size 48x32 (the folder was rendered with 32x24)"),
                          (dict(pairs=5), "--pairs 5"), (dict(kind="faid"), "--kind faid")):
        with pytest.raises(FlashcliError, match="already holds 2 paired images") as err:
            render_dataset(out, progress=False, **{**ARGS, **change})
        assert named in err.value.message and "--overwrite" in err.value.message
    assert _files(out) == before
    res = CliRunner().invoke(cli, ["synth", str(out), *CLI[:-2], "--seed", "9", "--device", "cpu"])
    assert res.exit_code == 1 and "--seed 9 (the folder was rendered with 3)" in res.output
    assert "Traceback" not in res.output


def test_overwrite_starts_over(tmp_path):
    out = tmp_path / "out"
    _interrupted(out, 2)
    again = render_dataset(out, progress=False, overwrite=True, **{**ARGS, "seed": 5})
    assert again["resumed"] == 0 and again["seed"] == 5
    fresh = tmp_path / "fresh"
    render_dataset(fresh, progress=False, **{**ARGS, "seed": 5})
    assert _files(out) == _files(fresh)


def test_incomplete_or_unrecorded_pairs_are_rendered_again(tmp_path):
    whole = tmp_path / "whole"
    render_dataset(whole, progress=False, **ARGS)
    out = tmp_path / "out"
    _interrupted(out, 3)
    ambient = sorted(out.rglob("*_ambient.png"))
    ambient[0].unlink()  # a pair missing its ambient image
    record = json.loads((out / "synth.json").read_text())
    record["done"] = record["done"][:2] + "." + record["done"][3:]  # written, never recorded
    (out / "synth.json").write_text(json.dumps(record))
    again = render_dataset(out, progress=False, **ARGS)
    assert again["resumed"] == 1
    assert _files(out) == _files(whole)


def test_pairs_without_a_record_are_refused(tmp_path):
    out = tmp_path / "out"
    _interrupted(out, 1)
    (out / "synth.json").unlink()
    with pytest.raises(FlashcliError, match="no readable synth.json"):
        render_dataset(out, progress=False, **ARGS)
