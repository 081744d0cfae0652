"""The library/CLI boundary: plain exceptions, logging, progress callbacks, work done once."""

from __future__ import annotations

import logging

import click
import photo_factory as pf
import pytest
from click.testing import CliRunner

from flashcli import evaluation as ev
from flashcli.cli import FlashcliGroup, cli
from flashcli.errors import FlashcliError, UsageError
from flashcli.info import collect_photos
from flashcli.io import imageio
from flashcli.ops import metrics
from flashcli.relight import relight
from tests.eval.test_evaluate import make_dataset


def test_errors_are_plain_exceptions_turned_into_one_line_and_their_exit_code():
    assert not issubclass(FlashcliError, click.ClickException)
    group = FlashcliGroup("t")

    @group.command("bad")
    def bad():
        raise FlashcliError("x.jpg: broken; re-copy it")

    @group.command("usage")
    def usage():
        raise UsageError("--thing: wrong; use --thing N")

    result = CliRunner().invoke(group, ["bad"])
    assert result.exit_code == 1 and result.stderr == "Error: x.jpg: broken; re-copy it\n"
    result = CliRunner().invoke(group, ["usage"])
    assert result.exit_code == 2 and "--thing: wrong" in result.stderr
    assert "Traceback" not in result.output


def test_library_warnings_go_through_logging_and_the_cli_shows_them(tmp_path, caplog, capsys):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16),))
    (root / "test" / "People_009_flash.png").write_bytes(b"no partner")
    with caplog.at_level(logging.WARNING, logger="flashcli"):
        ev.evaluate(root, ["identity"], metrics="psnr")
    assert "People_009_flash.png" in caplog.text
    assert capsys.readouterr() == ("", "")  # the library printed nothing
    result = CliRunner().invoke(cli, ["eval", str(root), "--methods", "identity",
                                      "--metrics", "psnr", "--json"])
    assert "warning: skipped: " in result.stderr and "People_009_flash.png" in result.stderr


def test_progress_callback_sees_every_image_and_method(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16),) * 3)
    calls = []
    ev.evaluate(root, ["identity"], metrics=["psnr"],
                progress=lambda stage, done, total, **f: calls.append((stage, done, total)))
    assert calls[0] == ("evaluating", 0, 3) and calls[-1] == ("evaluating", 3, 3)
    assert [c[1] for c in calls] == sorted(c[1] for c in calls)


def test_metrics_are_chosen_by_name():
    assert [m.name for m in metrics.select("ssim, psnr")] == ["psnr", "ssim"]
    assert [m.name for m in metrics.select()] == list(metrics.DEFAULT_METRICS)
    with pytest.raises(FlashcliError, match="unknown metric nope; choose from psnr,ssim,loe"):
        metrics.select("psnr,nope")
    loe = metrics.METRICS["loe"]
    assert loe.better(1.0, 2.0) and not loe.better(2.0, 1.0)
    assert metrics.METRICS["psnr"].format(31.234) == "31.23 dB"


def test_eval_scores_only_the_metrics_asked_for(tmp_path):
    root = make_dataset(tmp_path / "ds", sizes=((16, 16),))
    result = ev.evaluate(root, ["identity"], metrics="ssim")
    assert result.metrics == ["ssim"] and set(result.scores[0].values) == {"ssim"}
    assert set(result.to_dict()["summaries"][0]) >= {"ssim_mean", "ssim_std"}
    bad = CliRunner().invoke(cli, ["eval", str(root), "--methods", "identity", "--metrics", "x"])
    assert bad.exit_code == 2 and "unknown metric x" in bad.stderr


def test_relight_parses_each_photo_s_exif_once(tmp_path, monkeypatch):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for name in ("a.jpg", "b.jpg"):
        pf.write_jpeg(shoot / name, 48, 32)
    pf.write_dng(shoot / "c.dng", 64, 48)
    seen = []
    real = imageio._exif.read_exif_tags
    monkeypatch.setattr(imageio._exif, "read_exif_tags", lambda p: seen.append(p.name) or real(p))
    report = relight([shoot], tmp_path / "out", method="identity", working_size=32)
    assert len(report.processed) == 3
    assert sorted(seen) == ["a.jpg", "b.jpg", "c.dng"]


def test_info_and_relight_share_the_discovery_rules(tmp_path):
    (tmp_path / ".cache").mkdir()
    pf.write_jpeg(tmp_path / ".cache" / "thumb.jpg", 16, 16)
    pf.write_jpeg(tmp_path / "a.jpg", 16, 16)
    pf.write_jpeg(tmp_path / "b.jpg", 16, 16)
    assert collect_photos([tmp_path], recursive=True) == [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    assert collect_photos([str(tmp_path / "b*.jpg")]) == [tmp_path / "b.jpg"]
    assert collect_photos([tmp_path / "gone.jpg"]) == [tmp_path / "gone.jpg"]  # reported later
