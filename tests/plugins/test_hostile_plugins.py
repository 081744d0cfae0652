"""Hostile plugins: methods that exit, mutate their input or fail to start are listed, isolated
or left out with one line; method names are made safe in saved file names."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import bad_inputs as bi
import photo_factory as pf
import pytest
import torch

from flashcli.io import fsutil
from tests.clitools import jpeg as _jpeg
from tests.clitools import run_wide as _run


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
