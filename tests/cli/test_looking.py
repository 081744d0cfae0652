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
from tests.relight.test_relight_cli import test_method  # noqa: F401 - fixture: the `test-exposure` method

ROOT = Path(__file__).resolve().parents[2]


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


def test_contact_sheet_shows_each_photo_before_and_after_each_strength(tmp_path, test_method):  # noqa: F811
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


def test_contact_sheet_rows_dry_run_and_refusals(tmp_path, test_method):  # noqa: F811
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
    sheet.unlink()  # a rerun relights nothing (the outputs exist): no sheet, one warning
    again = _run("relight", shoot, "-o", tmp_path / "out", "-m", "test-exposure", "--contact-sheet",
                 sheet)
    assert again.exit_code == 0 and "no contact sheet" in again.output and not sheet.exists()
    for args, words in (((shoot / "IMG_0000.jpg",), "one of the photos"),
                        ((tmp_path / "out2" / "IMG_0001_ambient.jpg",), "where a relit photo goes"),
                        ((tmp_path / "sheet.gif",), ".jpg or .png"),
                        ((sheet, "--sheet-strengths", "0.5,3"), "0 to 2")):
        bad = _run("relight", shoot, "-o", tmp_path / "out2", "-m", "test-exposure",
                   "--contact-sheet", *args)
        assert bad.exit_code == 2 and words in bad.output, bad.output
        assert not (tmp_path / "out2").exists()


def test_contact_sheet_exposures_are_one_stop_apart_in_linear_light(tmp_path, test_method):  # noqa: F811
    import numpy as np
    from PIL import Image

    from flashcli.evaluation.report import CAPTION, HEADER, PAD

    shoot = _sheet_shoot(tmp_path, n=2)
    sheet = tmp_path / "sheet.png"
    r = _run("relight", shoot, "-o", tmp_path / "out", "-m", "test-exposure", "--working-size",
             "400", "--contact-sheet", sheet, "--sheet-strengths", "1", "--sheet-exposures",
             "-1,0,1")
    assert r.exit_code == 0, r.output
    img = Image.open(sheet)
    cw, ch, rows, cols = 320, 240, 2, 4  # flash, then strength 1 at -1, 0 and +1 EV
    assert img.size == (PAD + cols * (cw + PAD), HEADER + rows * (ch + CAPTION + PAD) + PAD)
    px = np.asarray(img.convert("RGB"))

    def linear(cell):  # the sRGB curve, written out here
        x = cell / 255
        return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)

    for i in range(rows):
        dark, plain, bright = (linear(_cell(px, i, c, cw, ch)) for c in (1, 2, 3))
        keep = (bright.max(-1) < 0.9) & (dark.min(-1) > 0.02)  # not clipped, not lost in 8 bits
        assert keep.sum() > 5000
        assert plain[keep].sum() / dark[keep].sum() == pytest.approx(2.0, rel=0.03)
        assert bright[keep].sum() / plain[keep].sum() == pytest.approx(2.0, rel=0.03)
    # the 0 EV column is the sheet a run without --sheet-exposures draws for strength 1
    (tmp_path / "out").rename(tmp_path / "out-first")
    plain_sheet = tmp_path / "plain.png"
    again = _run("relight", shoot, "-o", tmp_path / "out", "-m", "test-exposure", "--working-size",
                 "400", "--contact-sheet", plain_sheet, "--sheet-strengths", "1")
    assert again.exit_code == 0, again.output
    ref = np.asarray(Image.open(plain_sheet).convert("RGB"))
    for i in range(rows):
        assert np.array_equal(_cell(px, i, 2, cw, ch), _cell(ref, i, 1, cw, ch))


def test_sheet_exposures_refusals(tmp_path, test_method):  # noqa: F811
    shoot = _sheet_shoot(tmp_path, n=1, size=(48, 32))
    for args, words in ((("--contact-sheet", tmp_path / "s.png", "--sheet-exposures", "-1,5"),
                         "--sheet-exposures -1,5: use numbers from -4 to 4"),
                        (("--contact-sheet", tmp_path / "s.png", "--sheet-exposures", "nan"),
                         "from -4 to 4"),
                        (("--sheet-exposures", "-1,0,1"), "add --contact-sheet PATH"),
                        (("--sheet-strengths", "0.5"), "add --contact-sheet PATH")):
        bad = _run("relight", shoot, "-o", tmp_path / "out", "-m", "test-exposure", *args)
        assert bad.exit_code == 2 and words in bad.output, bad.output
        assert "Traceback" not in bad.output
        assert not (tmp_path / "out").exists() and not (tmp_path / "s.png").exists()


# --- item 3: eval per category, 80 columns, the contact sheet's columns ------------------------

LONG = "lime@lime-with-a-rather-long-label-name-indeed"


def _two_category_dataset(root):
    from pair_factory import write_pair_dataset

    root = write_pair_dataset(root, n_train=0, n_test=4, size=(40, 32))
    test = root / "test"
    for i, flash in enumerate(sorted(test.glob("*_flash.png"))):
        if i % 2:
            stem = flash.name[:-len("_flash.png")]
            for kind in ("flash", "ambient"):
                (test / f"{stem}_{kind}.png").rename(test / f"People_{i:03d}_{kind}.png")
    return root


def test_eval_reports_means_per_category(tmp_path):
    root = _two_category_dataset(tmp_path / "ds")
    r = _run("eval", root, "-m", "identity,lime", "--json")
    assert r.exit_code == 0, r.output
    data = _json(r)
    cats = {(c["category"], c["method"]): c for c in data["categories"]}
    assert sorted(cats) == [("Objects", "identity"), ("Objects", "lime"),
                            ("People", "identity"), ("People", "lime")]
    people = [i["psnr"] for i in data["images"]
              if i["method"] == "lime" and i["category"] == "People"]
    assert cats[("People", "lime")]["images"] == 2 == len(people)
    assert abs(cats[("People", "lime")]["mean"]["psnr"] - sum(people) / 2) < 1e-9
    table = _run("eval", root, "-m", "identity,lime", COLUMNS="120")
    assert table.exit_code == 0, table.output
    assert "per category" in table.output and "People / lime" in table.output
    report = tmp_path / "report"
    assert _run("eval", root, "-m", "identity,lime", "--report", report, "-q").exit_code == 0
    assert "| People | lime |" in (report / "table.md").read_text()


def test_eval_one_category_shows_its_table_only_with_verbose(tmp_path):
    from pair_factory import write_pair_dataset

    root = write_pair_dataset(tmp_path / "ds", n_train=0, n_test=2, size=(40, 32))
    plain = _run("eval", root, "-m", "identity", COLUMNS="120")
    assert plain.exit_code == 0 and "per category" not in plain.output
    verbose = _run("eval", root, "-m", "identity", "-v", COLUMNS="120")
    assert verbose.exit_code == 0 and "Objects / identity" in verbose.output


def _first_cells(output: str) -> list[str]:
    return [line.split("│")[1].strip() for line in output.splitlines()
            if line.startswith("│") and line.count("│") > 2]


def test_eval_at_80_columns_breaks_no_name_or_path_mid_word(tmp_path):
    root = _two_category_dataset(tmp_path / ("a_folder_with_a_long_name_for_the_photographs_" * 2)
                                 / "dataset")
    report = tmp_path / "report_folder_with_a_rather_long_name" / "and_one_more_level_below"
    r = _run("eval", root, "-m", f"identity,lime,{LONG}", "--report", report, COLUMNS="80")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert all(len(line) <= 80 for line in lines if not line.startswith("wrote "))
    names = {"identity", "lime", LONG}
    joined, piece = [], ""
    for cell in _first_cells(r.output):  # a broken name continues on the next row
        piece += cell
        if not piece or piece[-1] not in "-_@/.":
            joined.append(piece)
            piece = ""
    assert {j for j in joined if j} - {"Objects / identity", "Objects / lime", "People / identity",
                                        "People / lime", f"Objects / {LONG}", f"People / {LONG}"} <= names
    assert LONG in _first_cells(r.output)  # the name whole where the metrics leave it room
    title = next(line for line in lines if "flashcli eval:" in line)
    path_line = title if "/" in title else lines[lines.index(title) + 1]
    shown = path_line.strip().split(" from ")[-1]
    assert shown == str(root) or (shown.startswith("…/") and str(root).endswith(shown[1:]))
    for name in ("results.json", "table.md", "contact_sheet_001.png"):
        assert f"wrote {report / name}" in r.output


def test_eval_contact_sheet_has_no_identity_column(tmp_path):
    from PIL import Image

    from flashcli.evaluation.report import CAPTION, HEADER, PAD

    root = _two_category_dataset(tmp_path / "ds")
    sizes = {}
    for methods in ("identity,lime", "lime"):
        report = tmp_path / methods.replace(",", "_")
        r = _run("eval", root, "-m", methods, "--report", report, "-q")
        assert r.exit_code == 0, r.output
        sizes[methods] = Image.open(report / "contact_sheet_001.png").size
    cw, ch = 40, 32  # flash (= identity), lime, ambient
    assert sizes["identity,lime"] == sizes["lime"] == (
        PAD + 3 * (cw + PAD), HEADER + 4 * (ch + CAPTION + PAD) + PAD)
