"""Issue 23, looking before choosing: a method's options, relight's contact sheet, eval's
per-category results and 80-column tables, all checked through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashcli.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, **env: str):
    return CliRunner(env=env or None).invoke(cli, [str(a) for a in args])


def _json(result) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{"):])


# --- item 1: `flashcli plugins METHOD` -------------------------------------------------------

def test_plugins_method_lists_options_with_help_and_ranges():
    r = _run("plugins", "lime", COLUMNS="100")
    assert r.exit_code == 0, r.output
    lines = {line.split()[1]: line for line in r.output.splitlines()
             if line.startswith("│") and len(line.split()) > 1}
    assert "0.15" in lines["lambda"] and "0 <= lambda" in lines["lambda"]
    assert "structure-aware" in lines["lambda"]
    assert "1 <= max_iter" in lines["max_iter"] and "200" in lines["max_iter"]
    assert "0 < sigma" in lines["sigma"]
    choices = _run("plugins", "guided-cgan", COLUMNS="120")
    assert choices.exit_code == 0 and "image | gain" in choices.output


def test_plugins_method_json_and_unknown_method():
    r = _run("plugins", "lime", "--json")
    assert r.exit_code == 0, r.output
    report = _json(r)
    assert [m["name"] for m in report["methods"]] == ["lime"]
    lam = {o["name"]: o for o in report["methods"][0]["option_details"]}["lambda"]
    assert lam == {"name": "lambda", "type": "float", "default": 0.15, "choices": None,
                   "minimum": 0.0, "maximum": None, "positive": False, "range": "0 <= lambda",
                   "help": "weight of the structure-aware smoothing"}
    bad = _run("plugins", "limey")
    assert bad.exit_code == 2
    assert len(bad.output.strip().splitlines()) == 1
    assert "limey" in bad.output and "lime" in bad.output and "guided-cgan" in bad.output


def test_plugins_method_does_not_import_torch():
    code = ("import sys; from click.testing import CliRunner; from flashcli.cli import cli; "
            "r = CliRunner().invoke(cli, ['plugins', 'guided-cgan']); "
            "assert r.exit_code == 0 and 'max_stops' in r.output, r.output; "
            "print('torch' in sys.modules)")
    paths = [str(ROOT), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# --- item 2: relight --contact-sheet ---------------------------------------------------------

def _sheet_shoot(tmp_path, n=3, size=(480, 360)):
    import numpy as np
    import photo_factory as pf

    d = tmp_path / "shoot"
    d.mkdir()
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    smooth = np.stack([xx, yy, 0.5 + 0.4 * np.sin(6 * xx) * np.cos(4 * yy)], axis=-1)
    for i in range(n):
        data = (smooth * 255 * (0.5 + 0.2 * i)).clip(0, 255).astype(np.uint8)
        pf.write_jpeg(d / f"IMG_{i:04d}.jpg", *size, data=data)
    pf.write_jpeg(d / "IMG_off.jpg", *size, flash=pf.FLASH_NOT_FIRED)
    return d


def _cell(px, row, col, cw, ch):
    from flashcli.evaluation.report import CAPTION, HEADER, PAD

    y = HEADER + row * (ch + CAPTION + PAD)
    x = PAD + col * (cw + PAD)
    return px[y:y + ch, x:x + cw].astype(float)


def test_contact_sheet_shows_each_photo_before_and_after_each_strength(tmp_path, test_method):
    import numpy as np
    from PIL import Image

    from flashcli.evaluation.report import CAPTION, HEADER, PAD

    shoot = _sheet_shoot(tmp_path)
    sheet = tmp_path / "look" / "sheet.png"
    r = _run("relight", shoot, "-o", tmp_path / "out", "-m", "test-exposure", "--working-size",
             "400", "--contact-sheet", sheet, "--sheet-strengths", "0.5,1", "--json")
    assert r.exit_code == 0, r.output
    assert _json(r)["contact_sheet"] == str(sheet)
    img = Image.open(sheet)
    cw, ch, rows, cols = 320, 240, 3, 3  # long side 320; flash, 0.5, 1; the unfired frame not
    assert img.size == (PAD + cols * (cw + PAD), HEADER + rows * (ch + CAPTION + PAD) + PAD)
    px = np.asarray(img.convert("RGB"))
    for i in range(rows):
        src = Image.open(shoot / f"IMG_{i:04d}.jpg").convert("RGB").resize((cw, ch), Image.BOX)
        flash = _cell(px, i, 0, cw, ch)
        assert np.abs(flash - np.asarray(src, float)).mean() < 2.0  # the downscaled input
        half, full = _cell(px, i, 1, cw, ch), _cell(px, i, 2, cw, ch)
        assert np.abs(full - flash).mean() > 5  # the method changed something
        lo, hi = sorted((flash.mean(), full.mean()))
        assert lo < half.mean() < hi
    assert sorted(p.name for p in sheet.parent.iterdir()) == ["sheet.png"]  # no temp files


def test_contact_sheet_rows_dry_run_and_refusals(tmp_path, test_method):
    from PIL import Image

    from flashcli.evaluation.report import CAPTION, HEADER, PAD

    shoot = _sheet_shoot(tmp_path, n=3, size=(48, 32))
    sheet = tmp_path / "sheet.jpg"
    dry = _run("relight", shoot, "-o", tmp_path / "out", "-m", "test-exposure", "-n",
               "--contact-sheet", sheet)
    assert dry.exit_code == 0, dry.output
    assert not sheet.exists() and not (tmp_path / "out").exists()
    r = _run("relight", shoot, "-o", tmp_path / "out", "-m", "test-exposure", "--contact-sheet",
             sheet, "--sheet-rows", "2", "--sheet-strengths", "0,0.5,1,1.5")
    assert r.exit_code == 0, r.output
    assert f"contact sheet: {sheet}" in r.output.replace("\n", "")
    img = Image.open(sheet)
    assert img.format == "JPEG"
    assert img.size == (PAD + 5 * (48 + PAD), HEADER + 2 * (32 + CAPTION + PAD) + PAD)
    for args, words in (((shoot / "IMG_0000.jpg",), "one of the photos"),
                        ((tmp_path / "sheet.gif",), ".jpg or .png"),
                        ((sheet, "--sheet-strengths", "0.5,3"), "0 to 2")):
        bad = _run("relight", shoot, "-o", tmp_path / "out2", "-m", "test-exposure",
                   "--contact-sheet", *args)
        assert bad.exit_code == 2 and words in bad.output, bad.output
        assert not (tmp_path / "out2").exists()


@pytest.fixture
def test_method(monkeypatch):
    """The test-only `test-exposure` method (tests/test_relight.py) for the CLI."""
    import types

    from test_relight import Exposure

    import flashcli
    from flashcli import methods, plugins

    plugin = types.SimpleNamespace(
        flashcli_register_enhancers=flashcli.hookimpl(lambda register: register(Exposure)))
    reg = plugins.build_registry(extra_plugins=[("test-exposure", plugin)])
    monkeypatch.setattr(plugins, "registry", lambda: reg)
    monkeypatch.setattr(methods, "registry", lambda: reg)
